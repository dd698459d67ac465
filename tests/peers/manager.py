#!/usr/bin/env python3
"""Test peer: a real multiprocessing.managers.BaseManager server, for calling
a Python manager from the shell with `conn-client --in json --out repr`.

  manager.py [listen] [--authkey KEY] [--address ADDRESS] [--timeout SEC]

Registers the type "Calc" (class Calc below, exposing add and greet), binds
ADDRESS (default 127.0.0.1:0), announces "manager: listening on HOST:PORT" on
stderr, and serves until killed or SEC seconds (default 60) have passed.

Protocol reminder (Lib/multiprocessing/managers.py): on each new connection
the server runs the handshake, then Server.handle_request does
    ignore, funcname, args, kwds = conn.recv()
with funcname a public method of Server ("dummy", "create",
"accept_connection", ...) and answers ('#RETURN', result) or
('#TRACEBACK', text).  After accept_connection, the connection serves
    ident, methodname, args, kwds = conn.recv()
calls on the objects made by "create" (ident is the string it returned).
A JSON array unpacks like the tuples Python's proxies send.
"""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402

from multiprocessing.managers import BaseManager  # noqa: E402


class Calc:
    def add(self, a, b):
        return a + b

    def greet(self, name):
        return 'hello ' + name


class CalcManager(BaseManager):
    pass


CalcManager.register('Calc', Calc, exposed=('add', 'greet'))


def main():
    ap = argparse.ArgumentParser(prog='manager', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('role', nargs='?', choices=['listen'],
                    help='ignored (for the bats "peer" helper)')
    ap.add_argument('--authkey', default='secret')
    ap.add_argument('--address', default='127.0.0.1:0')
    ap.add_argument('--timeout', type=float, default=60)
    args = ap.parse_args()

    def alarm(*_):
        os._exit(0)
    signal.signal(signal.SIGALRM, alarm)
    signal.signal(signal.SIGTERM, alarm)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)

    family, address = addr.parse(args.address, listening=True)
    manager = CalcManager(address=address, authkey=args.authkey.encode())
    server = manager.get_server()
    sys.stderr.write('manager: listening on %s\n' % addr.show(family, server.address))
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main())
