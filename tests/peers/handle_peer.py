"""Test peer for conn-client --send-fd and --recv-fd: a Listener of this
interpreter's multiprocessing.connection (Python 2.7 and 3.6+) on a Unix
socket that takes or passes a descriptor with multiprocessing.reduction's
recv_handle() / send_handle() right after accept().

  handle_peer.py recv PATH KEY        prints what the descriptor it
                                      receives reads to its end, then
                                      sends the message "done"
  handle_peer.py send PATH KEY FILE   passes FILE, open for reading, then
                                      prints each message it receives

Each announces "handle_peer: listening on PATH" on stderr and serves one
connection.
"""

import os
import sys
from multiprocessing.connection import Listener
from multiprocessing.reduction import recv_handle, send_handle


def main():
    what, path, key = sys.argv[1], sys.argv[2], sys.argv[3].encode('ascii')
    l = Listener(path, authkey=key)
    sys.stderr.write('handle_peer: listening on %s\n' % path)
    sys.stderr.flush()
    c = l.accept()
    if what == 'recv':
        fd = recv_handle(c)
        data = b''
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
        os.close(fd)
        sys.stdout.write(data.decode('ascii'))
        sys.stdout.flush()
        c.send_bytes(b'done')
    else:
        f = open(sys.argv[4], 'rb')
        send_handle(c, f.fileno(), os.getpid())
        f.close()
        try:
            while True:
                sys.stdout.write(c.recv_bytes().decode('ascii') + '\n')
                sys.stdout.flush()
        except EOFError:
            pass
    c.close()
    l.close()


main()
