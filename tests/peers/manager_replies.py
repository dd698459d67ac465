"""Test peer: the replies of a real multiprocessing.managers.SyncManager
server, for tests/bats/reprs.bats's "manager replies" tests (every
CPython 3 on the machine).

  manager_replies.py serve [--authkey KEY] [--timeout SEC]
      Serves a SyncManager (its dict, Queue, Namespace...) with two more
      types: "Holder" (child() answers '#PROXY' for a "Child", its same
      dict each time; namespace() answers a Namespace(a=1, b='x')) and
      "Child".  Binds 127.0.0.1:0, announces "manager_replies: listening
      on HOST:PORT" on stderr, serves until killed or SEC seconds.
  manager_replies.py replay PORT KEY FILE
      One connection as conn-client makes it: sends each JSON line of FILE
      (a request, JSON arrays as lists, as conn-client --in json sends
      them) and prints repr() of each reply as this Python unpickles it.

The server's replies are the manager's own (Lib/multiprocessing/
managers.py, Server.handle_request and serve_client): ('#RETURN', value)
with dict views pickled as list(...), ('#ERROR', exception) of a method
that raised, ('#TRACEBACK', text) of a bad request, ('#PROXY', (exposed,
Token(...))) for a method of method_to_typeid.
"""

import json
import os
import signal
import sys
from multiprocessing.connection import Client
from multiprocessing.managers import Namespace, SyncManager


class Holder:
    def __init__(self):
        self._child = {'k': [1, 2]}

    def child(self):
        return self._child

    def namespace(self):
        return Namespace(a=1, b='x')


class RepliesManager(SyncManager):
    pass


RepliesManager.register('Holder', Holder, exposed=('child', 'namespace'),
                        method_to_typeid={'child': 'Child'})
# callable None: the server serves the object child() returned, so its
# ident (and the Token) is the same at each call
RepliesManager.register('Child', None, exposed=('keys', 'get'),
                        create_method=False)


def serve(argv):
    key, timeout = b'secret', 60.0
    while argv:
        opt, value = argv[0], argv[1]
        argv = argv[2:]
        if opt == '--authkey':
            key = value.encode()
        elif opt == '--timeout':
            timeout = float(value)
        else:
            sys.exit('manager_replies: unknown option %s' % opt)

    def alarm(*_):
        os._exit(0)
    signal.signal(signal.SIGALRM, alarm)
    signal.signal(signal.SIGTERM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    server = RepliesManager(address=('127.0.0.1', 0), authkey=key).get_server()
    sys.stderr.write('manager_replies: listening on %s:%d\n' % server.address)
    sys.stderr.flush()
    server.serve_forever()


def replay(port, key, path):
    with open(path) as f:
        requests = [json.loads(line) for line in f if line.strip()]
    conn = Client(('127.0.0.1', int(port)), authkey=key.encode())
    try:
        for request in requests:
            conn.send(request)
            sys.stdout.write(repr(conn.recv()) + '\n')
    finally:
        conn.close()


def main():
    if sys.argv[1:2] == ['serve']:
        serve(sys.argv[2:])
    elif sys.argv[1:2] == ['replay'] and len(sys.argv) == 5:
        replay(*sys.argv[2:])
    else:
        sys.exit('usage: manager_replies.py serve [--authkey KEY] '
                 '[--timeout SEC] | replay PORT KEY FILE')


if __name__ == '__main__':
    main()
