#!/usr/bin/env python3
"""Test peer: TLS with Python's ssl module, the multiprocessing framing done
by hand (struct), no multiprocessing.connection at all: another TLS stack
and another framer than ours, for tests/bats/tls.bats.

  tls_peer.py listen CERT KEY      bind 127.0.0.1:0, announce
                                   "tls_peer: listening on ADDR", accept one
                                   TLS connection; answer each message M
                                   with b"py:" + M until the peer's end
  tls_peer.py client ADDRESS CA    connect, verify the server against CA
                                   (name localhost), send "from python",
                                   print the first message that comes back,
                                   read the rest until the peer's end

Exit 0 on success, 3 on OSError (ssl.SSLError too), with one line
"tls_peer: ..." on stderr.
"""

import os
import socket
import ssl
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib  # noqa: E402

PROG = 'tls_peer'
say = peerlib.sayer(PROG)


def recv_frame(s):
    """One frame's payload, or None at the peer's end."""
    try:
        (length,) = struct.unpack('!i', peerlib.recv_exact(s, 4))
        return peerlib.recv_exact(s, length)
    except EOFError:
        return None


def send_frame(s, payload):
    s.sendall(struct.pack('!i', len(payload)) + payload)


def listen(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    say('listening on 127.0.0.1:%d' % srv.getsockname()[1])
    sys.stderr.flush()
    conn, _ = srv.accept()
    srv.close()
    with ctx.wrap_socket(conn, server_side=True) as s:
        while True:
            m = recv_frame(s)
            if m is None:
                break
            send_frame(s, b'py:' + m)


def client(address, ca):
    host, port = address.rsplit(':', 1)
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection((host, int(port))) as raw:
        with ctx.wrap_socket(raw, server_hostname='localhost') as s:
            send_frame(s, b'from python')
            m = recv_frame(s)
            sys.stdout.write(m.decode() + '\n')
            while recv_frame(s) is not None:  # to the peer's end
                pass


def main():
    peerlib.give_up_after(20, say)
    if sys.argv[1] == 'listen':
        return peerlib.exit_status(say, lambda: listen(*sys.argv[2:4]))
    return peerlib.exit_status(say, lambda: client(*sys.argv[2:4]))


if __name__ == '__main__':
    sys.exit(main())
