#!/usr/bin/env python3
"""xca_weak_connect.py - one MQTT 3.1.1 CONNECT over TLS from a client that
accepts weak crypto itself, so that a refusal can only come from the broker.

The client runs at OpenSSL security level 0: it loads RSA-512/1024 keys and
MD5/SHA-1-signed certificates (Debian's default level 2 refuses to load them)
and sends them. It prints one line and exits with:

  0  CONNACK 0 (accepted)            5  CONNACK 5 (not authorized)
  1  another CONNACK return code     6  TLS handshake or connection failure
  3  connection closed, no CONNACK   4  the client could not load its own
  2  usage error                        certificate or key (never the broker)
  7  the --between command failed

Usage: xca_weak_connect.py --port P --cafile SERVER_CA --cert CHAIN --key KEY
       --id CLIENT_ID [--username U] [--password P] [--tls12] [--timeout S]
       [--between CMD]
--between CMD runs CMD (a shell command) after the TLS handshake and before
the MQTT CONNECT: what happens between the two is what it tests.
--tls12 caps the protocol at TLS 1.2: TLS 1.3 signs with RSA-PSS, which an
RSA-512 key is too short for (SHA-256 PSS needs 528 bits); TLS 1.2 uses
PKCS#1 v1.5 signatures, which fit.
"""
import argparse
import socket
import ssl
import subprocess
import sys


def mqtt_string(text):
    data = text.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


def remaining_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id, username, password, keepalive=30):
    flags = 0x02  # clean session
    payload = mqtt_string(client_id)
    if username is not None:
        flags |= 0x80
        payload += mqtt_string(username)
    if password is not None:
        flags |= 0x40
        payload += mqtt_string(password)
    body = mqtt_string("MQTT") + bytes([4, flags]) + keepalive.to_bytes(2, "big") + payload
    return bytes([0x10]) + remaining_length(len(body)) + body


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Before loading anything: the level is checked when the key is loaded.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(args.cafile)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--tls12", action="store_true")
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--between")
    args = parser.parse_args()

    try:
        ctx = tls_context(args)
    except (ssl.SSLError, OSError) as e:
        print(f"client: cannot load its own certificate or key: {e}")
        return 4
    try:
        with socket.create_connection((args.host, args.port), timeout=args.timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=args.host) as tls:
                version = tls.version()
                if args.between and subprocess.run(args.between, shell=True).returncode != 0:
                    print(f"--between command failed: {args.between}")
                    return 7
                tls.sendall(connect_packet(args.id, args.username, args.password))
                connack = read_exactly(tls, 4)
                if len(connack) == 4 and connack[0] == 0x20:
                    tls.sendall(b"\xe0\x00")  # DISCONNECT
    except (ssl.SSLError, OSError) as e:
        print(f"tls: {e}")
        return 6
    if len(connack) < 4 or connack[0] != 0x20:
        print(f"no CONNACK (got {connack!r})")
        return 3
    rc = connack[3]
    print(f"connack {rc} ({version})")
    return {0: 0, 5: 5}.get(rc, 1)


if __name__ == "__main__":
    sys.exit(main())
