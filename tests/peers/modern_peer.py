#!/usr/bin/env python3
"""Test peer speaking the MODERN multiprocessing.connection handshake (as
CPython 3.12+ does), written with hmac/hashlib over a plain socket with its own
framing, so that it can be run on python3.11 too.

  challenge  #CHALLENGE# + b'{digest}' + 40 random bytes
  reply      b'{digest}' + HMAC(key, whole challenge payload after #CHALLENGE#)
             (a 16-byte reply with no '{' is a legacy raw HMAC-MD5)
  verdict    #WELCOME# or #FAILURE#
  Handshake frames over 256 bytes are rejected.

  modern_peer.py listen ADDRESS [options]   deliver our challenge, then answer
  modern_peer.py client ADDRESS [options]   answer first, then deliver
  modern_peer.py selftest [--vectors DIR]   recompute every response and the
                                            mutual transcript of auth.json

Options: --authkey TEXT (none: no handshake), --digest NAME (of our challenge),
--reply-digest NAME (force the digest of our reply), --legacy-reply (reply with
the raw 16-byte HMAC-MD5), then --send/--send-hex/--send-size, --recv N,
--recv-all, --echo, --digest-out, --hex-out, --hold like mp_peer.py.
Exit 0 ok, 4 authentication failed, 3 connection closed/error, 5 protocol error.
"""

import argparse
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import addr  # noqa: E402
import peerlib  # noqa: E402

PROG = 'modern_peer'
CHALLENGE = b'#CHALLENGE#'
WELCOME = b'#WELCOME#'
FAILURE = b'#FAILURE#'
MESSAGE_LENGTH = 40
HANDSHAKE_MAX = 256
DIGESTS = ('md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384')
LEGACY_LENGTHS = (16, 20)


class AuthError(Exception):
    pass


class ProtocolError(Exception):
    pass


# ---------------------------------------------------------------- framing

class Framed:
    def __init__(self, sock):
        self.sock = sock
        self.sent = None        # a list in the self-test: every frame written

    def send(self, payload):
        n = len(payload)
        if n > 0x7fffffff:
            header = struct.pack('!i', -1) + struct.pack('!Q', n)
        else:
            header = struct.pack('!i', n)
        if self.sent is not None:
            self.sent.append(header + payload)
        self.sock.sendall(header + payload)

    def _exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                if buf:
                    raise EOFError('connection closed in the middle of a frame')
                raise EOFError('connection closed')
            buf += chunk
        return bytes(buf)

    def recv(self, maxsize=None):
        (n,) = struct.unpack('!i', self._exact(4))
        if n == -1:
            (n,) = struct.unpack('!Q', self._exact(8))
        elif n < 0:
            raise ProtocolError('negative length %d' % n)
        if maxsize is not None and n > maxsize:
            raise ProtocolError('frame of %d bytes over the limit of %d' % (n, maxsize))
        return self._exact(n)


# ---------------------------------------------------------------- handshake

def digest_and_payload(message):
    """('', message) for legacy 16/20-byte messages, else (digest, payload)."""
    if len(message) in LEGACY_LENGTHS:
        return '', message
    if message.startswith(b'{'):
        end = message.find(b'}', 1, 20)
        if end > 0:
            name = message[1:end].decode('ascii', 'replace')
            if name in DIGESTS:
                return name, message[end + 1:]
    raise AuthError('unsupported message length, missing digest prefix, '
                    'or unsupported digest: %r' % message[:40])


def create_response(key, message, reply_digest=None, legacy=False):
    """Our reply to the challenge payload MESSAGE (after #CHALLENGE#)."""
    if legacy:
        return hmac.new(key, message, 'md5').digest()
    name = reply_digest or digest_and_payload(message)[0]
    if not name:
        return hmac.new(key, message, 'md5').digest()
    return b'{%s}' % name.encode() + hmac.new(key, message, name).digest()


def verify(key, message, response):
    name, mac = digest_and_payload(response)
    name = name or 'md5'
    expected = hmac.new(key, message, name).digest()
    if len(expected) != len(mac):
        raise AuthError('expected %s of length %d, got %d' % (name, len(expected), len(mac)))
    if not hmac.compare_digest(expected, mac):
        raise AuthError('digest received was wrong')
    return name


def deliver_challenge(conn, key, digest='sha256', rand=None):
    rand = os.urandom(MESSAGE_LENGTH) if rand is None else rand
    message = b'{%s}' % digest.encode() + rand
    conn.send(CHALLENGE + message)
    response = conn.recv(HANDSHAKE_MAX)
    try:
        name = verify(key, message, response)
    except AuthError:
        conn.send(FAILURE)
        raise
    conn.send(WELCOME)
    return name


def answer_challenge(conn, key, reply_digest=None, legacy=False):
    message = conn.recv(HANDSHAKE_MAX)
    if not message.startswith(CHALLENGE):
        raise AuthError('expected a challenge, got %r' % message[:40])
    message = message[len(CHALLENGE):]
    if len(message) < 20:
        raise AuthError('challenge too short: %d bytes' % len(message))
    conn.send(create_response(key, message, reply_digest, legacy))
    verdict = conn.recv(HANDSHAKE_MAX)
    if verdict != WELCOME:
        raise AuthError('digest sent was rejected (%r)' % verdict[:40])


def handshake(conn, role, key, args, rand_ours=None):
    if role == 'listen':
        deliver_challenge(conn, key, args.digest, rand_ours)
        answer_challenge(conn, key, args.reply_digest, args.legacy_reply)
    else:
        answer_challenge(conn, key, args.reply_digest, args.legacy_reply)
        deliver_challenge(conn, key, args.digest, rand_ours)


# ---------------------------------------------------------------- self-test

def selftest(vectors):
    with open(os.path.join(vectors, 'auth.json')) as f:
        data = json.load(f)
    bad = 0
    count = 0
    for r in data['responses']:
        key = bytes.fromhex(r['authkey_hex'])
        payload = bytes.fromhex(r['challenge_payload_hex'])
        want = bytes.fromhex(r['response_hex'])
        got = create_response(key, payload)
        checks = [('response', got == want)]
        try:
            checks.append(('verify', verify(key, payload, want) == r['digest']))
        except AuthError:
            checks.append(('verify', False))
        if 'legacy_md5_reply_hex' in r:
            legacy = bytes.fromhex(r['legacy_md5_reply_hex'])
            checks.append(('legacy reply', create_response(key, payload, legacy=True) == legacy))
            try:
                checks.append(('verify legacy', verify(key, payload, legacy) == 'md5'))
            except AuthError:
                checks.append(('verify legacy', False))
        if r['style'] == 'modern':
            wrong = bytearray(want)
            wrong[-1] ^= 1
            try:
                verify(key, payload, bytes(wrong))
                checks.append(('reject tampered', False))
            except AuthError:
                checks.append(('reject tampered', True))
        for what, ok in checks:
            count += 1
            if not ok:
                bad += 1
                print('FAIL %s: %s %s key=%s' % (what, r['style'], r['digest'],
                                                r['authkey_hex'][:16]))
    bad += selftest_transcript(data['transcript_modern_mutual'])
    count += 1
    print('%s selftest: %d checks, %d failed' % (PROG, count, bad))
    return 1 if bad else 0


def selftest_transcript(t):
    """Run both roles over a socketpair with the transcript's random bytes and
    compare every frame with the recorded one."""
    import threading
    key = t['authkey_text'].encode()
    steps = [bytes.fromhex(s['frame_hex']) for s in t['steps']]
    rand_listener = steps[0][4 + len(CHALLENGE) + len(b'{sha256}'):]
    rand_client = steps[3][4 + len(CHALLENGE) + len(b'{sha256}'):]
    a, b = socket.socketpair()
    la, cb = Framed(a), Framed(b)
    la.sent, cb.sent = [], []
    opts = argparse.Namespace(digest='sha256', reply_digest=None, legacy_reply=False)
    err = []

    def run_listener():
        try:
            handshake(la, 'listen', key, opts, rand_listener)
        except Exception as e:  # noqa: BLE001
            err.append(e)
    th = threading.Thread(target=run_listener)
    th.start()
    try:
        handshake(cb, 'client', key, opts, rand_client)
    except Exception as e:  # noqa: BLE001
        err.append(e)
    th.join(10)
    a.close()
    b.close()
    want_listener = [s for s, st in zip(steps, t['steps']) if st['from'] == 'listener']
    want_client = [s for s, st in zip(steps, t['steps']) if st['from'] == 'client']
    ok = not err and la.sent == want_listener and cb.sent == want_client
    if not ok:
        print('FAIL transcript: errors=%r' % err)
        for got, want in zip(la.sent + cb.sent, want_listener + want_client):
            if got != want:
                print('  got  %s\n  want %s' % (got.hex(), want.hex()))
    return 0 if ok else 1


# ---------------------------------------------------------------- main

say = peerlib.sayer(PROG)


def open_conn(args):
    family, address = addr.parse(args.address, listening=args.role == 'listen')
    if args.role == 'listen':
        c = peerlib.accept_one(family, address, say)
        if family == 'AF_UNIX' and not address.startswith('\0'):
            os.unlink(address)
    else:
        c = socket.socket(addr.sock_family(family), socket.SOCK_STREAM)
        c.connect(address)
    return Framed(c)


def pattern(n):
    block = bytes(range(256)) * 256
    return (block * (n // len(block) + 1))[:n]


def emit(out, msg, args):
    if args.digest_out:
        out.write(b'%d %s\n' % (len(msg), hashlib.sha256(msg).hexdigest().encode()))
    elif args.hex_out:
        out.write(msg.hex().encode() + b'\n')
    else:
        out.write(msg + b'\n')
    out.flush()


def session(args):
    """The connection's handshake and messages, as the options say."""
    out = sys.stdout.buffer
    conn = open_conn(args)
    if args.authkey is not None:
        handshake(conn, args.role, args.authkey.encode('utf-8', 'surrogateescape'), args)
        say('authenticated')
    for payload in args.sends:
        conn.send(payload)
    if args.recv is not None:
        for _ in range(args.recv):
            emit(out, conn.recv(), args)
    elif args.recv_all or args.echo:
        while True:
            try:
                msg = conn.recv()
            except EOFError as e:
                if str(e) != 'connection closed':
                    raise
                break
            if args.echo:
                conn.send(msg)
            else:
                emit(out, msg, args)
    for text in args.after_send:
        conn.send(text.encode('utf-8', 'surrogateescape'))
    if args.hold:
        time.sleep(args.hold)
    conn.sock.close()


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('role', choices=['listen', 'client', 'selftest'])
    ap.add_argument('address', nargs='?')
    ap.add_argument('--vectors', default=os.environ.get('CONN_VECTORS'),
                    help='directory holding auth.json (selftest)')
    ap.add_argument('--authkey')
    ap.add_argument('--digest', default='sha256', choices=DIGESTS)
    ap.add_argument('--reply-digest', choices=DIGESTS)
    ap.add_argument('--legacy-reply', action='store_true')
    ap.add_argument('--send', dest='sends', action='append', default=[],
                    type=lambda s: s.encode('utf-8', 'surrogateescape'))
    ap.add_argument('--send-hex', dest='sends', action='append', type=bytes.fromhex)
    ap.add_argument('--send-size', dest='sends', action='append',
                    type=lambda s: pattern(int(s)))
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--recv', type=int, metavar='N')
    g.add_argument('--recv-all', action='store_true')
    g.add_argument('--echo', action='store_true')
    ap.add_argument('--after-send', action='append', default=[])
    ap.add_argument('--digest-out', action='store_true')
    ap.add_argument('--hex-out', action='store_true')
    ap.add_argument('--hold', type=float, default=0)
    ap.add_argument('--timeout', type=float, default=60)
    args = ap.parse_args()

    if args.role == 'selftest':
        if not args.vectors:
            ap.error('selftest needs --vectors DIR or CONN_VECTORS')
        return selftest(args.vectors)
    if not args.address:
        ap.error('ADDRESS is required')

    peerlib.give_up_after(args.timeout, say)
    return peerlib.exit_status(say, lambda: session(args), (
        (AuthError, 4, 'AuthenticationError'),
        (ProtocolError, 5, 'protocol error')) + peerlib.STATUSES)


if __name__ == '__main__':
    sys.exit(main())
