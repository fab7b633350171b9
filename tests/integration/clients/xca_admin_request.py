#!/usr/bin/env python3
"""xca_admin_request.py - sends one admin request, byte for byte, and prints
the reply.

mosquitto_rr 2.0.11 sends an empty payload for -f FILE and -s, and -m
cannot carry NUL bytes or more than 128 KB; this client sends the exact
bytes of FILE (any size, empty included) as one MQTT 3.1.1 PUBLISH (QoS 0)
to the request topic, after subscribing to the reply topic, and prints the
first message that arrives there. Exits with:

  0  a reply arrived (printed)        3  CONNACK refused (code printed)
  1  no reply within the timeout      2  usage error
  4  the connection failed or was closed

Usage: xca_admin_request.py --port P --username U --password PW --file FILE
       [--topic T] [--reply-topic T] [--timeout S]
"""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xca_weak_connect import connect_packet, mqtt_string, read_exactly, remaining_length  # noqa: E402


REQUEST_TOPIC = "$CONTROL/x509ca/v1"
REPLY_TOPIC = "$CONTROL/x509ca/v1/response"


def packet(first_byte, body):
    return bytes([first_byte]) + remaining_length(len(body)) + body


def read_packet(sock):
    """(first byte, body) of the next packet; None when the connection closed."""
    head = read_exactly(sock, 1)
    if not head:
        return None
    length, shift = 0, 0
    while True:
        byte = read_exactly(sock, 1)
        if not byte:
            return None
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = read_exactly(sock, length)
    return (head[0], body) if len(body) == length else None


def request(host, port, username, password, payload, topic=REQUEST_TOPIC,
            reply_topic=REPLY_TOPIC, timeout=5):
    """Sends payload (bytes) to topic and waits for the first message on
    reply_topic. Returns (status, text): (0, the reply's bytes) or one of
    the exit statuses above with what happened."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(connect_packet(f"xca-admin-request-{time.monotonic_ns()}", username,
                                        password))
            connack = read_packet(sock)
            if connack is None or connack[0] != 0x20:
                return 4, f"no CONNACK (got {connack!r})"
            if connack[1][1] != 0:
                return 3, f"connack {connack[1][1]}"
            sock.sendall(packet(0x82, b"\x00\x01" + mqtt_string(reply_topic) + b"\x00"))
            suback = read_packet(sock)
            if suback is None or suback[0] != 0x90 or suback[1][2:] != b"\x00":
                return 4, f"subscription to the reply topic refused (got {suback!r})"
            sock.sendall(packet(0x30, mqtt_string(topic) + payload))
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                got = read_packet(sock)
                if got is None:
                    return 4, "connection closed before a reply"
                first, body = got
                if first >> 4 != 3:
                    continue
                topic_len = int.from_bytes(body[:2], "big")
                start = 2 + topic_len + (2 if first & 0x06 else 0)  # packet id for QoS > 0
                sock.sendall(b"\xe0\x00")  # DISCONNECT
                return 0, body[start:]
    except socket.timeout:
        return 1, f"no reply within {timeout} s"
    except OSError as e:
        return 4, f"connection: {e}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--topic", default=REQUEST_TOPIC)
    parser.add_argument("--reply-topic", default=REPLY_TOPIC)
    parser.add_argument("--timeout", type=float, default=5)
    args = parser.parse_args()
    with open(args.file, "rb") as f:
        payload = f.read()
    status, text = request(args.host, args.port, args.username, args.password, payload,
                           args.topic, args.reply_topic, args.timeout)
    if status == 0:
        sys.stdout.buffer.write(text + b"\n")
    else:
        print(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
