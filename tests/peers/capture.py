#!/usr/bin/env python3
"""Records a real authenticated multiprocessing.connection session, for
reading back with `conn-pipe --in frames --out repr`.

  capture.py OUTDIR [--modern] [--authkey KEY] [--listener-objects N]

A Python Listener side and a Python Client side (threads of this process)
talk through a recording relay made of two socketpairs; nothing touches the
network.  Both sides run the mutual handshake (multiprocessing.connection's
deliver_challenge/answer_challenge: on python3.11 the legacy 20-byte challenge
and raw HMAC-MD5; with --modern the listener side uses modern_peer.py's
{sha256} challenge, as CPython 3.12+ does), then exchange pickled objects with
Connection.send()/recv():

  listener -> client:  LISTENER_OBJECTS      client -> listener:  CLIENT_OBJECTS

(with --listener-objects N, the first N of LISTENER_OBJECTS only).

Writes, in OUTDIR:
  l2c.bin, c2l.bin            every byte each direction carried (frames format)
  l2c.expected, c2l.expected  what `conn-pipe --in frames --out repr` should
                              print for them: repr(bytes) of each handshake
                              frame, then repr() of each unpickled object
  l2c.count, c2l.count        the number of frames, and of handshake frames
Exit 0 on success, 1 with one line "capture: ..." on stderr otherwise
(124 after 30 s).
"""

import argparse
import os
import pickle
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modern_peer  # noqa: E402
import peerlib  # noqa: E402

from multiprocessing import connection as mpc  # noqa: E402

LISTENER_OBJECTS = [
    {'greeting': 'hello', 'n': [1, 2.5, None, True]},
    ('#RETURN', 'ok'),
    b'\x00bytes\xff',
]
CLIENT_OBJECTS = [
    ['ping', 1, -2],
    (None, 'debug_info', (), {}),
    'caf\xe9 \U0001f600',
]


def frames_of(data):
    out, i = [], 0
    while i < len(data):
        (n,) = struct.unpack('!i', data[i:i + 4])
        i += 4
        if n == -1:
            (n,) = struct.unpack('!Q', data[i:i + 8])
            i += 8
        out.append(data[i:i + n])
        i += n
    return out


def relay(src, dst, record):
    while True:
        chunk = src.recv(65536)
        if not chunk:
            dst.shutdown(socket.SHUT_WR)
            return
        record.extend(chunk)
        dst.sendall(chunk)


def main():
    ap = argparse.ArgumentParser(prog='capture', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('outdir')
    ap.add_argument('--modern', action='store_true')
    ap.add_argument('--authkey', default='capture key')
    ap.add_argument('--listener-objects', type=int, metavar='N')
    args = ap.parse_args()
    listener_objects = LISTENER_OBJECTS[:args.listener_objects]
    key = args.authkey.encode()
    peerlib.give_up_after(30, peerlib.sayer('capture'))

    lsock, lrelay = socket.socketpair()     # listener side <-> relay
    crelay, csock = socket.socketpair()     # relay <-> client side
    l2c, c2l = bytearray(), bytearray()
    threads = [threading.Thread(target=relay, args=(lrelay, crelay, l2c)),
               threading.Thread(target=relay, args=(crelay, lrelay, c2l))]
    for t in threads:
        t.start()
    errors, got_by_listener = [], []

    def listener():
        try:
            if args.modern:
                framed = modern_peer.Framed(lsock)
                modern_peer.deliver_challenge(framed, key, 'sha256')
                modern_peer.answer_challenge(framed, key)
                conn = mpc.Connection(lsock.detach())
            else:
                conn = mpc.Connection(lsock.detach())
                mpc.deliver_challenge(conn, key)
                mpc.answer_challenge(conn, key)
            for obj in listener_objects:
                conn.send(obj)
            for _ in CLIENT_OBJECTS:
                got_by_listener.append(conn.recv())
            conn.close()
        except Exception as e:  # noqa: BLE001
            errors.append('listener: %r' % e)

    lt = threading.Thread(target=listener)
    lt.start()
    conn = mpc.Connection(csock.detach())
    mpc.answer_challenge(conn, key)
    mpc.deliver_challenge(conn, key)
    for obj in CLIENT_OBJECTS:
        conn.send(obj)
    got = [conn.recv() for _ in listener_objects]
    conn.close()
    lt.join()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit('capture: ' + '; '.join(errors))
    assert got == listener_objects and got_by_listener == CLIENT_OBJECTS

    for name, data, objects in (('l2c', l2c, listener_objects),
                                ('c2l', c2l, CLIENT_OBJECTS)):
        frames = frames_of(bytes(data))
        hs = len(frames) - len(objects)
        assert hs == 3, (name, frames)
        lines = [repr(f) for f in frames[:hs]]
        for f, obj in zip(frames[hs:], objects):
            assert pickle.loads(f) == obj
            lines.append(repr(obj))
        with open(os.path.join(args.outdir, name + '.bin'), 'wb') as f:
            f.write(data)
        with open(os.path.join(args.outdir, name + '.expected'), 'w') as f:
            f.write(''.join(line + '\n' for line in lines))
        with open(os.path.join(args.outdir, name + '.count'), 'w') as f:
            f.write('%d %d\n' % (len(frames), hs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
