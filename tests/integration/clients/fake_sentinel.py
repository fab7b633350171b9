#!/usr/bin/env python3
"""fake_sentinel.py PORT HOST NODE_PORT: a stand-in Redis Sentinel on
127.0.0.1:PORT that answers every SENTINEL get-master-addr-by-name with
HOST:NODE_PORT, whatever the master name, and any other command with an
error. tests/integration/test_sentinel.sh points it at a replica to show
that the plugin checks ROLE instead of trusting the answer. Prints
"listening" once it accepts connections."""

import socket
import sys
import threading


def read_command(stream):
    """One RESP array of bulk strings, as hiredis sends commands; None at EOF."""
    line = stream.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        raise ValueError("not a RESP array: %r" % line)
    args = []
    for _ in range(int(line[1:])):
        size = int(stream.readline()[1:])
        args.append(stream.read(size + 2)[:-2])
    return args


def bulk(value):
    data = value.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


def serve(conn, host, node_port):
    with conn, conn.makefile("rb") as stream:
        while True:
            args = read_command(stream)
            if args is None:
                return
            if [a.lower() for a in args[:2]] == [b"sentinel", b"get-master-addr-by-name"]:
                conn.sendall(b"*2\r\n" + bulk(host) + bulk(str(node_port)))
            else:
                conn.sendall(b"-ERR fake sentinel: unsupported command\r\n")


def main():
    port, host, node_port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    print("listening", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, host, node_port), daemon=True).start()


if __name__ == "__main__":
    main()
