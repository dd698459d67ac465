#!/usr/bin/env python3
"""Test peer: Python's multiprocessing.connection with objects, i.e.
Connection.send(obj) / Connection.recv() (pickles), the way Python programs
normally use it.

  obj_peer.py listen ADDRESS [actions]   Listener on ADDRESS (port 0 is fine),
                                         announces "obj_peer: listening on ADDR"
                                         on stderr, accepts one connection
  obj_peer.py client ADDRESS [actions]   Client(ADDRESS)

Actions, in this order: every --send LITERAL (a Python literal, evaluated
with ast.literal_eval, sent with conn.send() -- or, with --protocol N, with
send_bytes(pickle.dumps(obj, N))); then --recv N or --recv-all, printing
repr(obj) of each received object on its own line; then close.
--authkey TEXT: handshake with that key.  Exit 0 on success, 4 on
AuthenticationError, 3 on EOFError/OSError, 1 otherwise (one line
"obj_peer: ..." on stderr).
"""

import argparse
import ast
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402
import peerlib  # noqa: E402

from multiprocessing import connection as mpc  # noqa: E402

PROG = 'obj_peer'


say = peerlib.sayer(PROG)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('role', choices=['listen', 'client'])
    ap.add_argument('address')
    ap.add_argument('--authkey')
    ap.add_argument('--send', action='append', default=[], metavar='LITERAL')
    ap.add_argument('--protocol', type=int)
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--recv', type=int, metavar='N')
    g.add_argument('--recv-all', action='store_true')
    ap.add_argument('--timeout', type=float, default=60)
    args = ap.parse_args()

    peerlib.give_up_after(args.timeout, say)
    return peerlib.exit_status(say, lambda: session(args),
                               peerlib.STATUSES + ((Exception, 1, None),))


def session(args):
    """The connection, the objects sent, then those received."""
    key = args.authkey.encode() if args.authkey is not None else None
    objects = [ast.literal_eval(text) for text in args.send]
    got = 0
    try:
        family, address = addr.parse(args.address, listening=args.role == 'listen')
        if args.role == 'listen':
            lst = mpc.Listener(address, family=family, authkey=key)
            say('listening on ' + addr.show(family, lst.address))
            try:
                conn = lst.accept()
            finally:
                lst.close()
        else:
            conn = mpc.Client(address, family=family, authkey=key)
        for obj in objects:
            if args.protocol is None:
                conn.send(obj)
            else:
                conn.send_bytes(pickle.dumps(obj, args.protocol))
        while args.recv_all or got < (args.recv or 0):
            try:
                obj = conn.recv()
            except EOFError:
                if args.recv_all:
                    break
                raise
            got += 1
            print(repr(obj), flush=True)
        conn.close()
    except (EOFError, OSError) as e:
        say('%s after %d objects: %s' % (type(e).__name__, got, e))
        return 3


if __name__ == '__main__':
    sys.exit(main())
