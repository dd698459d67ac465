#!/usr/bin/env python3
"""Test program for `conn-pipe --exec`: speaks multiprocessing.connection
frames on its stdin (fd 0) and stdout (fd 1), which conn-pipe connects to one
end of a socketpair.  It reads with Connection(0) and writes with
Connection(1), so both descriptors must carry the channel.

  frame_echo.py [OPTIONS]        answer every message (upper-cased by default)
  frame_echo.py --argv ARG...    first send each ARG as one message (so a test
                                 sees the arguments exactly as received), then
                                 echo every message unchanged

Options:
  --echo         answer each message unchanged instead of upper-cased
  --prefix TEXT  put TEXT before each answer
  --bye TEXT     after stdin EOF, send TEXT as a last message
  --exit N       exit with status N when done (default 0)
  --timeout SEC  give up (exit 124) after SEC seconds in all (default 60)

Diagnostics go to stderr, prefixed "frame_echo: ".
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib  # noqa: E402

from multiprocessing.connection import Connection  # noqa: E402

PROG = 'frame_echo'


say = peerlib.sayer(PROG)


def main(argv):
    mode, prefix, bye, status, timeout, first = 'upper', b'', None, 0, 60.0, []
    if argv and argv[0] == '--argv':
        mode = 'echo'
        first = [os.fsencode(a) for a in argv[1:]]
        argv = []
    while argv:
        opt = argv.pop(0)
        if opt == '--echo':
            mode = 'echo'
        elif opt in ('--prefix', '--bye', '--exit', '--timeout') and argv:
            val = argv.pop(0)
            if opt == '--prefix':
                prefix = os.fsencode(val)
            elif opt == '--bye':
                bye = os.fsencode(val)
            elif opt == '--exit':
                status = int(val)
            else:
                timeout = float(val)
        else:
            say('unknown option %r' % opt)
            return 2

    peerlib.give_up_after(timeout, say)

    rx = Connection(0, writable=False)
    tx = Connection(1, readable=False)
    for msg in first:
        tx.send_bytes(msg)
    n = 0
    while True:
        try:
            msg = rx.recv_bytes()
        except EOFError:
            break
        n += 1
        tx.send_bytes(prefix + (msg.upper() if mode == 'upper' else msg))
    if bye is not None:
        tx.send_bytes(bye)
    say('stdin EOF after %d messages' % n)
    tx.close()
    rx.close()
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
