#!/usr/bin/env python3
"""bench-peer.py - a multiprocessing.connection peer for conn-bench(1).

    python3 tools/bench-peer.py [--authkey TEXT] [--sink] ADDRESS

Listens on ADDRESS (HOST:PORT, :PORT, unix:PATH, a path with '/', or
@NAME) with multiprocessing.connection.Listener, announces
"listening on ADDRESS" on stderr, and serves every connection in a
thread of its own:

- by default it echoes every message back (recv_bytes / send_bytes);
- with --sink it counts the messages and, when the client half-closes,
  sends back one message: the count in decimal (conn-bench's one-way
  stream protocol).

The key comes from --authkey TEXT or the CONN_AUTHKEY environment
variable; without one, connections are not authenticated.  Port 0 picks
a free port.  SIGTERM or ^C stops it.
"""
import argparse
import os
import sys
import threading
from multiprocessing.connection import Listener


def parse_address(text):
    if text.startswith("unix:"):
        return text[5:], "AF_UNIX"
    if text.startswith("@"):
        return "\0" + text[1:], "AF_UNIX"
    if "/" in text:
        return text, "AF_UNIX"
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    family = "AF_INET6" if ":" in host else "AF_INET"
    return (host, int(port)), family


def format_address(address):
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if address.startswith("\0"):
        return "@" + address[1:]
    return address if "/" in address else "unix:" + address


def echo(conn):
    while True:
        conn.send_bytes(conn.recv_bytes())


def sink(conn):
    count = 0
    try:
        while True:
            conn.recv_bytes()
            count += 1
    except EOFError:
        conn.send_bytes(str(count).encode())


def serve(conn, handler):
    try:
        handler(conn)
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("address")
    parser.add_argument("--authkey", help="the key (else CONN_AUTHKEY)")
    parser.add_argument("--sink", action="store_true",
                        help="count messages, reply the count at EOF")
    args = parser.parse_args()
    key = args.authkey if args.authkey is not None else \
        os.environ.get("CONN_AUTHKEY")
    address, family = parse_address(args.address)
    listener = Listener(address, family,
                        authkey=key.encode() if key else None)
    print(f"listening on {format_address(listener.address)}",
          file=sys.stderr, flush=True)
    handler = sink if args.sink else echo
    while True:
        try:
            conn = listener.accept()
        except Exception:  # a failed handshake: serve the next one
            continue
        threading.Thread(target=serve, args=(conn, handler),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
