#!/usr/bin/env python3
"""Test peer that writes raw bytes (no framing of its own): for garbage,
broken frames and stalled handshakes.

  raw_peer.py listen ADDRESS [options]   bind (port 0 is fine), announce
                                         "raw_peer: listening on ADDR" on stderr,
                                         accept one connection
  raw_peer.py client ADDRESS [options]   connect

Then, in this order: every --write-hex HEX / --write TEXT (C escapes such as
\\r\\n are decoded) in the order given; --read-frame (read one whole frame and
print its payload in hex, e.g. to swallow a handshake challenge); --hold SEC (sleep,
keeping the connection open; default 0); --read-all (read until EOF and write
what came to stdout); then close.  With --rst the close is an abortive one (RST).
"""

import argparse
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402
import peerlib  # noqa: E402

PROG = 'raw_peer'


say = peerlib.sayer(PROG)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('role', choices=['listen', 'client'])
    ap.add_argument('address')
    ap.add_argument('--write-hex', dest='writes', action='append', default=[],
                    type=bytes.fromhex)
    ap.add_argument('--write', dest='writes', action='append',
                    type=lambda s: s.encode('latin-1').decode('unicode_escape').encode('latin-1'))
    ap.add_argument('--read-frame', action='store_true')
    ap.add_argument('--hold', type=float, default=0)
    ap.add_argument('--read-all', action='store_true')
    ap.add_argument('--rst', action='store_true')
    ap.add_argument('--timeout', type=float, default=60)
    args = ap.parse_args()

    peerlib.give_up_after(args.timeout, say)
    return peerlib.exit_status(say, lambda: session(args))


def session(args):
    """The connection: the writes, reads and holds, then the close."""
    family, address = addr.parse(args.address, listening=args.role == 'listen')
    if args.role == 'listen':
        c = peerlib.accept_one(family, address, say)
    else:
        c = socket.socket(addr.sock_family(family), socket.SOCK_STREAM)
        c.connect(address)
        say('connected')
    for data in args.writes:
        c.sendall(data)
    if args.read_frame:
        (n,) = struct.unpack('!i', peerlib.recv_exact(c, 4))
        sys.stdout.write(peerlib.recv_exact(c, n).hex() + '\n')
        sys.stdout.flush()
    if args.hold:
        time.sleep(args.hold)
    if args.read_all:
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    if args.rst:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    c.close()


if __name__ == '__main__':
    sys.exit(main())
