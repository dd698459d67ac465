"""What the test peers share: their one-line diagnostics, the alarm that
bounds each run, and the exit statuses their exceptions become.

  say = peerlib.sayer(PROG)        say(msg) writes "PROG: msg" on stderr
  sock = peerlib.accept_one(FAMILY, ADDRESS, say)
        a plain socket bound to ADDRESS (addr.parse()'s), announced as
        "PROG: listening on ADDR", that accepts one connection and closes
  peerlib.give_up_after(SEC, say)  after SEC seconds: "PROG: timeout after
                                   SEC s", exit 124 at once (as timeout(1))
  return peerlib.exit_status(say, body[, statuses])
        runs body(): 0, or what it returns if not None; an exception is
        said in one line "PROG: LABEL: text" and gives the status of the
        first (classes, status, LABEL) of statuses it is an instance of
        (LABEL None: its class name); any other is raised.  statuses is
        peerlib.STATUSES (AuthenticationError 4, EOFError and OSError 3),
        or a tuple made of it and a peer's own, e.g.
        ((Mismatch, 1, 'mismatch'),) + peerlib.STATUSES.

Runs unchanged on Python 2.7 and 3.6+ (cpython_peer.py imports it under
every CPython of the matrix): standard library only, no 3-only syntax.
"""

import os
import signal
import socket
import sys

import addr
from multiprocessing import connection as mpc

TIMEOUT_STATUS = 124

STATUSES = (
    (mpc.AuthenticationError, 4, 'AuthenticationError'),
    ((EOFError, OSError), 3, None),
)


def sayer(prog):
    def say(msg):
        sys.stderr.write('%s: %s\n' % (prog, msg))
        sys.stderr.flush()
    return say


def recv_exact(sock, n):
    """Exactly n bytes from sock; EOFError if the peer closes first."""
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError('connection closed')
        buf += chunk
    return buf


def accept_one(family, address, say):
    s = socket.socket(addr.sock_family(family), socket.SOCK_STREAM)
    if family != 'AF_UNIX':
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(address)
    s.listen(1)
    say('listening on ' + addr.show(family, s.getsockname()))
    c, _ = s.accept()
    s.close()
    return c


def give_up_after(seconds, say):
    def alarm(*_):
        say('timeout after %g s' % seconds)
        os._exit(TIMEOUT_STATUS)
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def exit_status(say, body, statuses=STATUSES):
    try:
        status = body()
    except Exception as e:  # noqa: BLE001 - matched below, else raised
        for classes, status, label in statuses:
            if isinstance(e, classes):
                say('%s: %s' % (label or type(e).__name__, e))
                return status
        raise
    return 0 if status is None else status
