#!/usr/bin/env python3
"""xca_bystander.py - does a refused certificate disturb another device?

A bystander device connects (CONNACK 0) and sends the first byte of a
PUBLISH, so that the broker is left waiting in the middle of its packet.
An attacker then connects with another certificate, its TLS Finished and
its MQTT CONNECT in one TCP segment (so that the broker reads them in one
go), and gets its answer. The bystander then sends the rest of its PUBLISH
in two TLS records and a PINGREQ: a broker that did not disturb it answers
PINGRESP.

Both clients run at OpenSSL security level 0 (clients/xca_weak_connect.py).
Prints what each side saw and exits with:

  0  the bystander got PINGRESP       1  the bystander's connection was lost
  2  usage error                      4  the bystander was not accepted
                                         (CONNACK != 0) or could not connect

Usage: xca_bystander.py --port P --cafile SERVER_CA --cert CHAIN --key KEY
       --id CLIENT_ID --topic TOPIC --attack-cert CHAIN --attack-key KEY
       --attack-id CLIENT_ID
"""
import argparse
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xca_weak_connect import connect_packet, mqtt_string, read_exactly  # noqa: E402


def context(cafile, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_verify_locations(cafile)
    ctx.load_cert_chain(cert, key)
    return ctx


def attack(args):
    """One connect whose last handshake flight and CONNECT share a segment;
    returns what the broker answered, as text."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context(args.cafile, args.attack_cert, args.attack_key).wrap_bio(
        incoming, outgoing, server_hostname=args.host)
    with socket.create_connection((args.host, args.port), timeout=10) as raw:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                raw.sendall(outgoing.read())
                data = raw.recv(65536)
                if not data:
                    return "closed during the handshake"
                incoming.write(data)
        tls.write(connect_packet(args.attack_id, None, None))
        raw.sendall(outgoing.read())
        answer = b""
        while len(answer) < 4:
            data = raw.recv(65536)
            if not data:
                break
            incoming.write(data)
            try:
                answer += tls.read(4 - len(answer))
            except ssl.SSLWantReadError:
                continue
            except ssl.SSLError as e:
                return f"tls: {e}"
    if len(answer) == 4 and answer[0] == 0x20:
        return f"connack {answer[3]}"
    return f"no CONNACK (got {answer!r})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    for name in ("port", "cafile", "cert", "key", "id", "topic", "attack-cert", "attack-key",
                 "attack-id"):
        parser.add_argument(f"--{name}", required=True, type=int if name == "port" else str)
    args = parser.parse_args()

    publish_body = mqtt_string(args.topic) + b"bystander"
    try:
        raw = socket.create_connection((args.host, args.port), timeout=10)
        bystander = context(args.cafile, args.cert, args.key).wrap_socket(
            raw, server_hostname=args.host)
        bystander.sendall(connect_packet(args.id, None, None))
        connack = read_exactly(bystander, 4)
    except (ssl.SSLError, OSError) as e:
        print(f"bystander: {e}")
        return 4
    if connack[:1] != b"\x20" or len(connack) < 4 or connack[3] != 0:
        print(f"bystander not accepted (got {connack!r})")
        return 4
    bystander.sendall(b"\x30")  # PUBLISH QoS 0: the broker now waits for the rest
    time.sleep(0.3)
    print(f"attacker: {attack(args)}")
    time.sleep(0.3)
    try:
        bystander.sendall(bytes([len(publish_body)]))  # its remaining length
        time.sleep(0.3)
        bystander.sendall(publish_body)
        bystander.sendall(b"\xc0\x00")  # PINGREQ
        pong = read_exactly(bystander, 2)
    except (ssl.SSLError, OSError) as e:
        print(f"bystander: connection lost: {e}")
        return 1
    if pong != b"\xd0\x00":
        print(f"bystander: connection lost (got {pong!r} instead of PINGRESP)")
        return 1
    print("bystander: PINGRESP")
    return 0


if __name__ == "__main__":
    sys.exit(main())
