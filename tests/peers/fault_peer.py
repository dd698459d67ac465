#!/usr/bin/env python3
"""Python peers for faults.bats, over multiprocessing.connection.

  fault_peer.py send ROLE ADDRESS [--authkey K] [--binary] [--tag T]
               [--count N] [--then close|stall|forever]
      send N numbered messages (message(i) below), then: close; or stall
      (write the header of a 10000000-byte message and 100000 bytes of it,
      print "stalled" on stdout, sleep); or forever (go on sending numbered
      messages until killed or the peer goes).
  fault_peer.py read-stall ROLE ADDRESS [--whole N]
      receive N messages whole (print "got I LEN" each), read 1 MiB more
      of the next one, print "stalled", then stop reading (sleep).
  fault_peer.py half-close ROLE ADDRESS [--send TEXT]...
      send each TEXT, shut down the sending side, then read every message
      until EOF: print "COUNT SHA256" of the messages, each + newline.
  fault_peer.py stop-reading ROLE ADDRESS --go DIR
      send "m1", wait for DIR/go1, send "m2", wait for DIR/go2, then close
      without ever reading.
  fault_peer.py check FILE lines|hex [--exact N] [--min N] [--tags TAGS]
      FILE holds whole messages only, in order: message(0), message(1)...
      (--tags: the messages of each tagged sender, interleaved, each in its
      own order); prints the count.

ROLE is listen (announces "fault_peer: listening on ADDR" on stderr, accepts
one connection) or client.  Everything gives up after --timeout (60 s).
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402
import peerlib  # noqa: E402

from multiprocessing import connection as mpc  # noqa: E402

BIG = bytes(range(256)) * 600


def message(i, binary, tag=b''):
    """Message i: 5 to 150000 bytes, so a kill very likely lands inside
    one, yet each fits the tools' output buffer (whole on stdout)."""
    size = (i * 7919) % 150001
    if binary:
        # every byte value, newlines and NULs included
        return tag + struct.pack('>I', i) + BIG[i % 256:i % 256 + size]
    return tag + b'%06d ' % i + b'x' * size


say = peerlib.sayer('fault_peer')


def open_conn(args):
    key = args.authkey.encode() if args.authkey else None
    family, address = addr.parse(args.address, listening=args.role == 'listen')
    if args.role == 'listen':
        lst = mpc.Listener(address, family=family, authkey=key)
        say('listening on ' + addr.show(family, lst.address))
        try:
            return lst.accept()
        finally:
            lst.close()
    return mpc.Client(address, family=family, authkey=key)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def out(text):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def do_send(args):
    conn = open_conn(args)
    tag = args.tag.encode()
    for i in range(args.count):
        conn.send_bytes(message(i, args.binary, tag))
    if args.then == 'stall':
        write_all(conn.fileno(), struct.pack('!i', 10000000) + BIG[:100000])
        out('stalled')
        time.sleep(3600)
    elif args.then == 'forever':
        i = args.count
        while True:
            conn.send_bytes(message(i, args.binary, tag))
            i += 1
    conn.close()


def do_read_stall(args):
    conn = open_conn(args)
    for i in range(args.whole):
        out('got %d %d' % (i, len(conn.recv_bytes())))
    left = 1 << 20
    while left:
        chunk = os.read(conn.fileno(), min(left, 65536))
        if not chunk:
            raise EOFError('EOF before the stall')
        left -= len(chunk)
    out('stalled')
    time.sleep(3600)


def do_half_close(args):
    conn = open_conn(args)
    for text in args.send:
        conn.send_bytes(text.encode())
    s = socket.socket(fileno=os.dup(conn.fileno()))
    s.shutdown(socket.SHUT_WR)
    s.close()
    h, n = hashlib.sha256(), 0
    while True:
        try:
            msg = conn.recv_bytes()
        except EOFError:
            break
        h.update(msg + b'\n')
        n += 1
    out('%d %s' % (n, h.hexdigest()))


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.02)


def do_stop_reading(args):
    conn = open_conn(args)
    conn.send_bytes(b'm1')
    wait_for(os.path.join(args.go, 'go1'))
    conn.send_bytes(b'm2')
    wait_for(os.path.join(args.go, 'go2'))
    conn.close()


def do_check(args):
    data = open(args.file, 'rb').read()
    if data and not data.endswith(b'\n'):
        sys.exit('a partial line at the end: %r' % data[-60:])
    lines = data.split(b'\n')[:-1]
    tags = [t.encode() for t in args.tags.split(',')] if args.tags else [b'']
    nexts = dict.fromkeys(tags, 0)
    for n, line in enumerate(lines):
        try:
            got = bytes.fromhex(line.decode()) if args.format == 'hex' else line
        except ValueError:
            sys.exit('line %d is not hex: %r' % (n + 1, line[:60]))
        tag = next((t for t in tags if got.startswith(t)), None)
        if tag is None:
            sys.exit('line %d is from no sender: %r' % (n + 1, line[:60]))
        want = message(nexts[tag], args.format == 'hex', tag)
        if got != want:
            sys.exit('line %d (%d bytes) is not message %d of %r (%d bytes): %r'
                     % (n + 1, len(got), nexts[tag], tag, len(want), line[:60]))
        nexts[tag] += 1
    if args.exact is not None and len(lines) != args.exact:
        sys.exit('%d messages, expected %d' % (len(lines), args.exact))
    if len(lines) < args.min:
        sys.exit('%d messages, expected at least %d' % (len(lines), args.min))
    out(str(len(lines)))


def main():
    ap = argparse.ArgumentParser(prog='fault_peer')
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('send', 'read-stall', 'half-close', 'stop-reading'):
        p = sub.add_parser(name)
        p.add_argument('role', choices=['listen', 'client'])
        p.add_argument('address')
        p.add_argument('--authkey')
        p.add_argument('--timeout', type=float, default=60)
        if name == 'send':
            p.add_argument('--binary', action='store_true')
            p.add_argument('--tag', default='')
            p.add_argument('--count', type=int, default=0)
            p.add_argument('--then', choices=['close', 'stall', 'forever'],
                           default='close')
        elif name == 'read-stall':
            p.add_argument('--whole', type=int, default=0)
        elif name == 'half-close':
            p.add_argument('--send', action='append', default=[])
        else:
            p.add_argument('--go', required=True)
    p = sub.add_parser('check')
    p.add_argument('file')
    p.add_argument('format', choices=['lines', 'hex'])
    p.add_argument('--exact', type=int)
    p.add_argument('--min', type=int, default=0)
    p.add_argument('--tags')
    args = ap.parse_args()
    if args.cmd == 'check':
        return do_check(args)

    run = {'send': do_send, 'read-stall': do_read_stall,
           'half-close': do_half_close,
           'stop-reading': do_stop_reading}[args.cmd]
    peerlib.give_up_after(args.timeout, say)
    return peerlib.exit_status(say, lambda: run(args))


if __name__ == '__main__':
    sys.exit(main())
