"""Test peer for conn-client --probe: a Listener of this interpreter's own
multiprocessing.connection (Python 2.7 and 3.6+), or a server that does
not speak the protocol.

  probe_peer.py listener [KEY]   a Listener on 127.0.0.1:0 (keyed when KEY
                                 is given); accepts connection after
                                 connection, each failed handshake noted
                                 on stderr ("probe_peer: accept: ...")
  probe_peer.py http             writes "HTTP/1.1 200 OK ..." to each
                                 connection, then closes it
  probe_peer.py stall            writes 3 bytes of a frame header to each
                                 connection, then nothing

Each announces "probe_peer: listening on ADDRESS" on stderr and serves
until it is killed.
"""

import socket
import sys
import time

PROG = 'probe_peer'


def say(text):
    sys.stderr.write('%s: %s\n' % (PROG, text))
    sys.stderr.flush()


def listener(key):
    from multiprocessing.connection import Listener
    l = Listener(('127.0.0.1', 0), authkey=key)
    say('listening on %s:%d' % l.address)
    while True:
        try:
            c = l.accept()
        except Exception as e:  # a probe's connection ends so
            say('accept: %s: %s' % (type(e).__name__, e))
            continue
        try:
            c.recv_bytes()
        except Exception:
            pass
        c.close()


def raw(first):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(8)
    say('listening on %s:%d' % s.getsockname())
    held = []
    while True:
        c, _ = s.accept()
        c.sendall(first)
        if first.startswith(b'HTTP/'):
            time.sleep(0.2)
            c.close()
        else:
            held.append(c)


def main():
    what = sys.argv[1]
    if what == 'listener':
        key = sys.argv[2].encode('ascii') if len(sys.argv) > 2 else None
        listener(key)
    elif what == 'http':
        raw(b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
    elif what == 'stall':
        raw(b'\0\0\0')
    else:
        say('unknown role %s' % what)
        sys.exit(2)


main()
