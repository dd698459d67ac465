"""Interop peer for the CPython matrix (tests/cpython/): the interpreter that
runs it, any CPython from 2.7 to 3.13 and later, on one end of a
multiprocessing.connection, exchanging a fixed set of messages both ways.

  cpython_peer.py listen ADDRESS [options]   a Listener on ADDRESS (port 0 is
        fine); announces "cpython_peer: listening on ADDR" on stderr and
        accepts one connection
  cpython_peer.py client ADDRESS [options]   a Client connecting to ADDRESS

  --mode bytes      send the "py" bytes set with send_bytes(), then print
                    the hex of each message recv_bytes() gets until EOF
  --mode objects    send the object set with send(), then print repr() of
                    each object recv() gets until EOF
  --authkey TEXT    authenticate.  Python >= 3.12 opens its Listener or
                    Client without a key and runs deliver_challenge(conn,
                    key, digest_name=--digest) and answer_challenge(conn,
                    key) itself, in the order Listener.accept() and Client()
                    do; older ones pass authkey= (their challenge is 20
                    bytes, their answers raw HMAC-MD5) and ignore --digest
  --expect FILE     what the other side sends: the hex lines (bytes), or the
                    JSON lines (objects: each recv() must equal json.loads()
                    of its line, type for type); any difference exits 1
  --sent FILE       objects: the oracle of what we sent, one line each:
                    repr(obj) on Python 3; on Python 2 the hex of the pickle
                    send() made (cPickle.dumps(obj, 2)), for python3 to load

Oracles, written into the directory DIR for the tests:
  cpython_peer.py oracles DIR --expect FILE   by the interpreter under test:
        json.repr, repr(json.loads(line)) of each line of FILE (Python 2:
        with the longs a LONG1 pickle gives); on Python 2, sent.pickles,
        the pickles in hex of the objects we send (cPickle.dumps(obj, 2),
        what its send() makes)
  cpython_peer.py python3-oracles DIR         by the suite's python3: py.hex
        and conn.hex, the bytes sets one message a line in hex; sent.repr
        from sent.pickles, as Python 3 loads Python 2's pickles

Exit 0 on success, 1 on a mismatch, 4 on AuthenticationError, 3 on
EOFError/OSError, 124 on --timeout; one line "cpython_peer: ..." on stderr.
Runs unchanged on Python 2.7 and 3.6+: no f-strings, no 3-only syntax.
"""

import binascii
import io
import math
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402
import peerlib  # noqa: E402

from multiprocessing import connection as mpc  # noqa: E402

PROG = 'cpython_peer'
PY2 = sys.version_info[0] == 2
MODERN = sys.version_info >= (3, 12)

if PY2:
    TEXT = unicode  # noqa: F821
    INTS = (int, long)  # noqa: F821
else:
    TEXT = str
    INTS = (int,)


# ---------------------------------------------------------------- data

def pattern(n, mul, add):
    """n bytes of (i * mul + add) mod 256: a period of 256 bytes, repeated."""
    period = bytes(bytearray((i * mul + add) & 0xff for i in range(256)))
    return (period * (n // 256 + 1))[:n]


def bytes_set(which):
    """The binary payloads each side sends: empty, NUL and newline bytes,
    handshake look-alikes, every byte value, and one of 100 KiB."""
    every = bytes(bytearray(range(256)))
    if which == 'py':
        return [b'', b'\x00', b'\n', b'#WELCOME#', b'a\x00b\nc\r\n\xff',
                every, pattern(100 * 1024, 7, 3)]
    return [b'', b'\n\n', b'\x00\x00', b'#CHALLENGE#', every[::-1],
            pattern(100 * 1024, 13, 5), b'end']


def object_set():
    """What the Python side send()s: every kind a pickle of send() holds."""
    shared = u'shared'
    objs = [
        None, True, False,
        0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1, 2 ** 31,
        2 ** 63 - 1, -2 ** 63, 2 ** 64, -(2 ** 64) - 1, 10 ** 40, -(7 ** 90),
        0.0, -0.0, 1.5, -2.25, 0.1, 1e-310, 1.7976931348623157e308,
        float('inf'), float('-inf'),
        u'', u'plain', u'h\xe9llo \u2603 \U0001d11e', u'a\nb\x00c\'"\\',
        [], [1, [2, [3, u'x']]], (), (1,), (1, u'two', None, (3.5,)),
        {}, {u'a': 1, u'b': [True, None]}, {(1, 2): u't', 3: None, 2.5: u'f'},
        set(), {1, 2, 3}, frozenset([u'x']), bytearray(b'\x00\xff ab'),
        [shared, shared, (shared,)], list(range(1200)),
        dict((i, -i) for i in range(1100)),
    ]
    if PY2:
        # str is bytes there: python3 loads it as str when it is ASCII
        objs += ['native str', 'a\x00\n', long(7), long(2) ** 70]  # noqa: F821
    else:
        objs += [b'', b'\x00\xff\n', b'abc' * 100]
    return objs


# ---------------------------------------------------------------- output

def write_line(f, text):
    """text and a newline, as UTF-8 (repr() of a str is not ASCII on 3)."""
    if not isinstance(text, bytes):
        text = text.encode('utf-8')
    f.write(text + b'\n')
    f.flush()


def stdout_bytes():
    return sys.stdout if PY2 else sys.stdout.buffer


def to_hex(b):
    return binascii.hexlify(b).decode('ascii')


say = peerlib.sayer(PROG)


class Mismatch(Exception):
    pass


def same(a, b):
    """a == b type for type (True is not 1, 1.0 is not 1, -0.0 is not 0.0);
    int and long are one type, as Python 2's pickles make either."""
    if isinstance(a, INTS) and isinstance(b, INTS) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or \
            (a != a and b != b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        keys = dict((k, k) for k in b)
        return all(k in keys and same(k, keys[k]) and same(v, b[k])
                   for k, v in a.items())
    return a == b


# ---------------------------------------------------------------- session

def handshake_note(args):
    if args.authkey is None:
        return 'no key'
    if MODERN:
        return 'modern handshake, challenging with %s' % args.digest
    return 'legacy handshake (authkey=)'


def key_bytes(text):
    return text if isinstance(text, bytes) else text.encode('utf-8')


def close_listener(lst, address):
    try:
        lst.close()
    except (OSError, TypeError, ValueError) as e:
        # Older CPythons unlink a Unix listener's path when it closes, even
        # an abstract one, which has no file: not a protocol matter.
        if not address.startswith('\0'):
            raise
        say('note: Listener.close() on an abstract address: %s: %s'
            % (type(e).__name__, e))


def open_conn(args):
    """The connection, authenticated the way this Python does it."""
    family, address = addr.parse(args.address, listening=args.role == 'listen')
    key = key_bytes(args.authkey) if args.authkey is not None else None
    legacy_key = key if not MODERN else None
    if args.role == 'listen':
        lst = mpc.Listener(address, family=family, authkey=legacy_key)
        say('python %s, %s' % (version(), handshake_note(args)))
        say('listening on ' + addr.show(family, lst.address))
        try:
            conn = lst.accept()
        finally:
            close_listener(lst, address if family == 'AF_UNIX' else '')
        if key is not None and MODERN:
            mpc.deliver_challenge(conn, key, digest_name=args.digest)
            mpc.answer_challenge(conn, key)
    else:
        conn = mpc.Client(address, family=family, authkey=legacy_key)
        if key is not None and MODERN:
            mpc.answer_challenge(conn, key)
            mpc.deliver_challenge(conn, key, digest_name=args.digest)
    return conn


def version():
    return '%d.%d.%d' % tuple(sys.version_info[:3])


def sent_oracle(obj):
    if PY2:
        import cPickle  # what _multiprocessing's send() pickles with
        return to_hex(cPickle.dumps(obj, cPickle.HIGHEST_PROTOCOL))
    return repr(obj)


def read_lines(path):
    with io.open(path, encoding='utf-8') as f:
        return [line.rstrip(u'\n') for line in f]


def expected(args):
    if args.expect is None:
        return None
    lines = read_lines(args.expect)
    if args.mode == 'bytes':
        return [binascii.unhexlify(line.strip()) for line in lines]
    import json
    return [json.loads(line) for line in lines if line.strip()]


def exchange(conn, args):
    """Send our set, then receive until EOF; returns how many we got."""
    want = expected(args)
    out = stdout_bytes()
    if args.mode == 'bytes':
        for payload in bytes_set('py'):
            conn.send_bytes(payload)
    else:
        sent = open(args.sent, 'wb') if args.sent else None
        for obj in object_set():
            conn.send(obj)
            if sent:
                write_line(sent, sent_oracle(obj))
        if sent:
            sent.close()
    got = 0
    while True:
        try:
            msg = conn.recv_bytes() if args.mode == 'bytes' else conn.recv()
        except EOFError:
            break
        if want is not None:
            if got >= len(want):
                raise Mismatch('message %d: more than the %d expected: %r'
                               % (got + 1, len(want), msg))
            ok = msg == want[got] if args.mode == 'bytes' \
                else same(msg, want[got])
            if not ok:
                raise Mismatch('message %d: got %r, expected %r'
                               % (got + 1, msg, want[got]))
        write_line(out, to_hex(msg) if args.mode == 'bytes' else repr(msg))
        got += 1
    if want is not None and got != len(want):
        raise Mismatch('got %d messages, expected %d' % (got, len(want)))
    return got


def session(args):
    def run():
        conn = open_conn(args)
        got = exchange(conn, args)
        conn.close()
        say('python %s: %d messages received, EOF' % (version(), got))
    peerlib.give_up_after(args.timeout, say)
    return peerlib.exit_status(
        say, run, ((Mismatch, 1, 'mismatch'),) + peerlib.STATUSES)


# ---------------------------------------------------------------- oracles

def write_lines(path, lines):
    with open(path, 'wb') as f:
        for line in lines:
            write_line(f, line)


def as_unpickled(obj):
    """obj as recv() gives it from a pickle of it made by conn-tools (or
    Python 3): on Python 2, an int beyond 32 bits comes as LONG1, which
    Python 2 loads as a long."""
    if not PY2:
        return obj
    if isinstance(obj, list):
        return [as_unpickled(x) for x in obj]
    if isinstance(obj, dict):
        return dict((k, as_unpickled(v)) for k, v in obj.items())
    if isinstance(obj, int) and not isinstance(obj, bool) and \
            not -2 ** 31 <= obj < 2 ** 31:
        return long(obj)  # noqa: F821
    return obj


def own_oracles(args):
    """Into DIR: json.repr, the repr() of json.loads() of each line of
    --expect FILE (on Python 2 with the longs LONG1 gives); on Python 2,
    sent.pickles, the pickles of the objects we send, in hex."""
    import json
    objs = [as_unpickled(json.loads(line)) for line in read_lines(args.expect)
            if line.strip()]
    write_lines(os.path.join(args.address, 'json.repr'), map(repr, objs))
    if PY2:
        write_lines(os.path.join(args.address, 'sent.pickles'),
                    map(sent_oracle, object_set()))
    return 0


def python3_oracles(args):
    """Into DIR, by the suite's python3: py.hex and conn.hex, the bytes sets
    in hex; and sent.repr from a Python 2 peer's sent.pickles."""
    d = args.address
    write_lines(os.path.join(d, 'py.hex'), map(to_hex, bytes_set('py')))
    write_lines(os.path.join(d, 'conn.hex'), map(to_hex, bytes_set('conn')))
    pickles = os.path.join(d, 'sent.pickles')
    if os.path.exists(pickles):
        write_lines(os.path.join(d, 'sent.repr'),
                    [repr(pickle.loads(binascii.unhexlify(line)))
                     for line in read_lines(pickles)])
    return 0


USAGE = ('usage: cpython_peer.py {listen|client} ADDRESS [--mode bytes|objects] '
         '[--authkey TEXT] [--digest NAME] [--expect FILE] [--sent FILE] '
         '[--timeout SEC]\n'
         '       cpython_peer.py oracles DIR --expect FILE\n'
         '       cpython_peer.py python3-oracles DIR')


class Args(object):
    """The command line (argparse alone would double our start-up time,
    which every cell of the matrix pays)."""
    OPTIONS = ('--mode', '--authkey', '--digest', '--expect', '--sent',
               '--timeout')

    def __init__(self, argv):
        self.mode, self.authkey, self.digest = 'bytes', None, 'sha256'
        self.expect = self.sent = None
        self.timeout = 30.0
        words = list(argv)
        if len(words) < 2 or len(words) % 2:
            raise ValueError('wrong number of arguments')
        self.role, self.address = words[0], words[1]
        for i in range(2, len(words), 2):
            if words[i] not in self.OPTIONS:
                raise ValueError('unknown option %s' % words[i])
            setattr(self, words[i][2:], words[i + 1])
        self.timeout = float(self.timeout)
        if self.mode not in ('bytes', 'objects'):
            raise ValueError('--mode is bytes or objects')


ORACLES = {'oracles': own_oracles, 'python3-oracles': python3_oracles}


def main():
    try:
        args = Args(sys.argv[1:])
        if args.role not in ORACLES and args.role not in ('listen', 'client'):
            raise ValueError('unknown command %s' % args.role)
    except ValueError as e:
        say(str(e))
        sys.stderr.write(USAGE + '\n')
        return 2
    if args.role in ORACLES:
        return ORACLES[args.role](args)
    return session(args)


if __name__ == '__main__':
    sys.exit(main())
