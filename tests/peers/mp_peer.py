#!/usr/bin/env python3
"""Test peer: a thin wrapper over Python's own multiprocessing.connection.

It never frames or authenticates by itself: Listener, Client, send_bytes,
recv_bytes, deliver_challenge and answer_challenge do (so with python3.11 the
handshake is the legacy HMAC-MD5 one).

  mp_peer.py listen ADDRESS [actions]   bind (port 0 is fine), announce
                                        "mp_peer: listening on ADDR" on stderr,
                                        accept one connection
  mp_peer.py client ADDRESS [actions]   connect
  mp_peer.py pattern N                  write the --send-size pattern of N bytes

Actions, in this order: every --send/--send-hex/--send-size/--send-file in the
order given; then --recv N, --recv-all or --echo; then every --after-send; then
--hold SEC; then close.  Exit 0 on success, 4 on AuthenticationError, 3 on
EOFError/OSError, 1 otherwise, with one line "mp_peer: ..." on stderr.
"""

import argparse
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402
import peerlib  # noqa: E402

from multiprocessing import connection as mpc  # noqa: E402

PROG = 'mp_peer'


def pattern(n):
    block = bytes(range(256)) * 256          # 64 KiB
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


say = peerlib.sayer(PROG)


def listen(args, key):
    family, address = addr.parse(args.address, listening=True, family=args.family)
    if family == 'AF_INET6':
        # multiprocessing.Listener only binds AF_INET tuples: bind ourselves,
        # then let multiprocessing do everything on the accepted socket.
        c = peerlib.accept_one(family, address, say)
        conn = mpc.Connection(c.detach())
        if key:
            mpc.deliver_challenge(conn, key)
            mpc.answer_challenge(conn, key)
        return conn
    lst = mpc.Listener(address, family=family, authkey=key)
    say('listening on ' + addr.show(family, lst.address))
    try:
        return lst.accept()
    finally:
        lst.close()


def connect(args, key):
    family, address = addr.parse(args.address, listening=False, family=args.family)
    if family == 'AF_INET6':
        s = socket.create_connection(address)
        conn = mpc.Connection(s.detach())
        if key is not None:
            mpc.answer_challenge(conn, key)
            mpc.deliver_challenge(conn, key)
        return conn
    return mpc.Client(address, family=family, authkey=key)


def emit(out, msg, args):
    if args.digest_out:
        out.write(b'%d %s\n' % (len(msg), hashlib.sha256(msg).hexdigest().encode()))
    elif args.hex_out:
        out.write(msg.hex().encode() + b'\n')
    else:
        out.write(msg + b'\n')
    out.flush()


def send_item(conn, item):
    kind, value = item
    if kind == 'text':
        data = value.encode('utf-8', 'surrogateescape')
    elif kind == 'hex':
        data = bytes.fromhex(value)
    elif kind == 'size':
        data = pattern(int(value))
    else:
        with open(value, 'rb') as f:
            data = f.read()
    conn.send_bytes(data)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('role', choices=['listen', 'client', 'pattern'])
    ap.add_argument('address', help='ADDRESS, or N for "pattern"')
    ap.add_argument('--family', choices=['AF_INET', 'AF_INET6', 'AF_UNIX'])
    ap.add_argument('--authkey', help='key text (none: no handshake)')
    ap.add_argument('--send', dest='sends', action='append', default=[],
                    type=lambda s: ('text', s), help='send TEXT as one message')
    ap.add_argument('--send-hex', dest='sends', action='append',
                    type=lambda s: ('hex', s), help='send the bytes HEX as one message')
    ap.add_argument('--send-size', dest='sends', action='append',
                    type=lambda s: ('size', s), help='send N pattern bytes as one message')
    ap.add_argument('--send-file', dest='sends', action='append',
                    type=lambda s: ('file', s), help="send FILE's bytes as one message")
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--recv', type=int, metavar='N', help='receive N messages')
    g.add_argument('--recv-all', action='store_true', help='receive until EOF')
    g.add_argument('--echo', action='store_true', help='echo every message until EOF')
    ap.add_argument('--after-send', action='append', default=[], metavar='TEXT',
                    help='send TEXT after the receive phase')
    ap.add_argument('--digest-out', action='store_true',
                    help='print "LEN SHA256" for each received message')
    ap.add_argument('--hex-out', action='store_true',
                    help='print each received message in hex')
    ap.add_argument('--hold', type=float, default=0, metavar='SEC',
                    help='wait SEC seconds before closing')
    ap.add_argument('--timeout', type=float, default=60, metavar='SEC',
                    help='give up (exit 124) after SEC seconds in all')
    args = ap.parse_args()

    if args.role == 'pattern':
        sys.stdout.buffer.write(pattern(int(args.address)))
        return 0

    peerlib.give_up_after(args.timeout, say)
    return peerlib.exit_status(say, lambda: session(args),
                               peerlib.STATUSES + ((Exception, 1, None),))


def session(args):
    """The connection and the actions, in their order."""
    key = args.authkey.encode('utf-8', 'surrogateescape') if args.authkey is not None else None
    out = sys.stdout.buffer
    got = 0
    try:
        conn = listen(args, key) if args.role == 'listen' else connect(args, key)
        for item in args.sends:
            send_item(conn, item)
        if args.recv is not None:
            for got in range(args.recv):
                emit(out, conn.recv_bytes(), args)
            got = args.recv
        elif args.recv_all or args.echo:
            while True:
                try:
                    msg = conn.recv_bytes()
                except EOFError:
                    break
                got += 1
                if args.echo:
                    conn.send_bytes(msg)
                else:
                    emit(out, msg, args)
        for text in args.after_send:
            conn.send_bytes(text.encode('utf-8', 'surrogateescape'))
        if args.hold:
            time.sleep(args.hold)
        conn.close()
    except EOFError as e:
        say('EOFError after %d messages: %s' % (got, e))
        return 3


if __name__ == '__main__':
    sys.exit(main())
