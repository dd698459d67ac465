#!/usr/bin/env python3
"""generate.py - the test vectors of conn-tools, computed by the CPython
that runs this script: struct frames the messages, hmac answers the
challenges, pickle and repr() give the objects' bytes and text.

Usage: generate.py OUTDIR

Writes OUTDIR/frames.json, OUTDIR/auth.json and OUTDIR/pickles.json (OUTDIR
is created if need be).  make check runs it into the build tree before the
tests, which read the files from CONN_VECTORS; tests/bats/helpers.bash runs
it into a temporary directory when bats is run by hand.  Other scripts may
import it and call frames(), auth() and pickles() for the same documents.

The facts are those of multiprocessing.connection: the framing of
_send_bytes(), the challenges of deliver_challenge() and the answers of
answer_challenge(), legacy (Python <= 3.11) and modern (3.12+).  The
"random" bytes of the challenges are fixed, so that the output depends only
on the interpreter.  Runs on Python 3.6 and later, standard library only.
"""
import hashlib
import hmac
import json
import os
import pickle
import platform
import struct
import sys

# ---------------------------------------------------------------- frames

FRAMES_ABOUT = ("4-byte big-endian signed length, or -1 then 8-byte "
                "big-endian unsigned length, then the payload")

# Payloads small enough to write out in full.
PAYLOADS = [b"", b"hello", b"\x00\xff\n", bytes(range(256))]
LONG_PAYLOAD = 70000  # b'x' * 70000: described, not written out
SHORT_MAX = 0x7fffffff  # the largest length with a 4-byte header


def frame_header(length):
    """The header multiprocessing.connection puts before a payload."""
    if length > SHORT_MAX:
        return struct.pack("!i", -1) + struct.pack("!Q", length)
    return struct.pack("!i", length)


def frame_entry(payload):
    header = frame_header(len(payload))
    return {"payload_hex": payload.hex(), "payload_desc": None,
            "length": len(payload), "header_hex": header.hex(),
            "frame_hex": (header + payload).hex()}


def boundary_entry(length, desc):
    """A length at the long-header boundary: its header only."""
    return {"payload_desc": desc, "length": length,
            "header_hex": frame_header(length).hex(), "frame_hex": None}


def frames():
    entries = [frame_entry(p) for p in PAYLOADS]
    entries.append({"payload_hex": None,
                    "payload_desc": "b'x' * %d" % LONG_PAYLOAD,
                    "length": LONG_PAYLOAD,
                    "header_hex": frame_header(LONG_PAYLOAD).hex(),
                    "frame_hex": None})
    entries.append(boundary_entry(
        SHORT_MAX + 1, "any payload of %d bytes (2 GiB), the smallest that "
        "needs the long header" % (SHORT_MAX + 1)))
    entries.append(boundary_entry(
        SHORT_MAX, "any payload of %d bytes, the largest with a 4-byte "
        "header" % SHORT_MAX))
    return {"about": FRAMES_ABOUT, "frames": entries}


# ------------------------------------------------------------------ auth

AUTH_ABOUT = (
    "HMAC responses computed with CPython's hmac module. 'modern' challenges "
    "carry a {digest} prefix and the MAC covers the whole challenge payload, "
    "prefix included; a legacy (Python <= 3.11) peer answers any challenge "
    "with the raw 16-byte HMAC-MD5 of the whole challenge payload.")

CHALLENGE = b"#CHALLENGE#"
WELCOME = b"#WELCOME#"
FAILURE = b"#FAILURE#"
DIGESTS = ["sha256", "md5", "sha384", "sha3_256", "sha3_384"]
KEYS = [b"secret password", b"", b"k" * 100, bytes(range(32))]
# The fixed "random" bytes: a legacy challenge is 20 of them, a modern one
# 40 after its {digest} prefix (one run for the listener, one for the
# client of the transcript).
LEGACY_RANDOM = bytes(range(1, 21))
LISTENER_RANDOM = bytes(range(100, 140))
CLIENT_RANDOM = bytes(range(200, 240))
TRANSCRIPT_KEY = "secret password"


def mac(key, message, digest):
    return hmac.new(key, message, digest).digest()


def modern_challenge(digest, random):
    """The payload after #CHALLENGE#: {digest} then the random bytes."""
    return b"{" + digest.encode() + b"}" + random


def modern_reply(key, challenge, digest):
    """What a 3.12+ peer answers: the prefix, then the MAC of the whole
    challenge payload, prefix included."""
    return b"{" + digest.encode() + b"}" + mac(key, challenge, digest)


def legacy_response(key):
    return {"style": "legacy", "authkey_hex": key.hex(),
            "challenge_payload_hex": LEGACY_RANDOM.hex(), "digest": "md5",
            "response_hex": mac(key, LEGACY_RANDOM, "md5").hex()}


def modern_response(key, digest):
    challenge = modern_challenge(digest, LISTENER_RANDOM)
    return {"style": "modern", "authkey_hex": key.hex(),
            "challenge_payload_hex": challenge.hex(), "digest": digest,
            "response_hex": modern_reply(key, challenge, digest).hex(),
            "legacy_md5_reply_hex": mac(key, challenge, "md5").hex()}


def transcript_step(side, payload):
    text = payload.decode() if payload in (WELCOME, FAILURE) else None
    return {"from": side, "frame_hex": (frame_header(len(payload)) +
                                        payload).hex(),
            "payload_text": text}


def transcript():
    """Both halves of the mutual handshake of two 3.12+ peers with
    sha256: the listener challenges first, then the client."""
    key = TRANSCRIPT_KEY.encode()
    ours = modern_challenge("sha256", LISTENER_RANDOM)
    theirs = modern_challenge("sha256", CLIENT_RANDOM)
    steps = [("listener", CHALLENGE + ours),
             ("client", modern_reply(key, ours, "sha256")),
             ("listener", WELCOME),
             ("client", CHALLENGE + theirs),
             ("listener", modern_reply(key, theirs, "sha256")),
             ("client", WELCOME)]
    return {"authkey_text": TRANSCRIPT_KEY,
            "steps": [transcript_step(side, p) for side, p in steps]}


def auth():
    responses = []
    for key in KEYS:
        responses.append(legacy_response(key))
        responses += [modern_response(key, d) for d in DIGESTS]
    return {"about": AUTH_ABOUT,
            "constants": {"challenge": CHALLENGE.decode(),
                          "welcome": WELCOME.decode(),
                          "failure": FAILURE.decode()},
            "responses": responses,
            "transcript_modern_mutual": transcript()}


# --------------------------------------------------------------- pickles

def shared_reference():
    inner = [1, 2]
    return [inner, inner]


# (name, builder): the objects pickled under every protocol.  The names are
# those the tests and their failure messages use.
OBJECTS = [
    ("seed example", lambda: [2.25, None, "junk", float]),
    ("none", lambda: None),
    ("true", lambda: True),
    ("false", lambda: False),
    ("small int", lambda: 42),
    ("negative int", lambda: -7),
    ("int 255", lambda: 255),
    ("int 65535", lambda: 65535),
    ("int 2**31", lambda: 2 ** 31),
    ("int -2**63", lambda: -2 ** 63),
    ("big int", lambda: 2 ** 100 + 12345),
    ("big negative", lambda: -3 ** 90),
    ("float", lambda: 1.5),
    ("float 0.1", lambda: 0.1),
    ("float 1e300", lambda: 1e300),
    ("float -0.0", lambda: -0.0),
    ("float inf", lambda: float("inf")),
    ("float nan", lambda: float("nan")),
    ("str ascii", lambda: "hello world"),
    ("str empty", lambda: ""),
    ("str quotes", lambda: "it's \"quoted\""),
    ("str escapes", lambda: "tab\tnl\nbs\\"),
    ("str unicode", lambda: "caf\u00e9 \u65e5\u672c \U0001f600"),
    ("str long", lambda: "y" * 300),
    ("bytes", lambda: b"\x00\x01hello\xff"),
    ("bytes empty", lambda: b""),
    ("bytes long", lambda: b"z" * 300),
    ("bytearray", lambda: bytearray(b"abc")),
    ("tuple empty", lambda: ()),
    ("tuple 1", lambda: (1,)),
    ("tuple 2", lambda: (1, "a")),
    ("tuple 3", lambda: (1, 2, 3)),
    ("tuple 4", lambda: (1, 2, 3, 4)),
    ("list empty", lambda: []),
    ("list nested", lambda: [1, [2, [3, []]], {"k": (4,)}]),
    ("list 2000", lambda: list(range(2000))),
    ("dict", lambda: {"a": 1, "b": [True, None], 3: "three",
                      (1, 2): b"t"}),
    ("dict empty", lambda: {}),
    ("set", lambda: {1, 2, 3}),
    ("frozenset", lambda: frozenset({5, 6})),
    ("set empty", lambda: set()),
    ("complex", lambda: 1 + 2j),
    ("shared reference", shared_reference),
    ("manager request", lambda: (None, "debug_info", (), {})),
    ("manager reply", lambda: ("#RETURN", "ok")),
]

# Pickle protocols 0-5, those this interpreter has (5 from Python 3.8).
PROTOCOLS = range(min(5, pickle.HIGHEST_PROTOCOL) + 1)


class SystemCall:
    """Pickles as a call of os.system(COMMAND): what a hostile peer
    sends.  Pickling it runs nothing."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def interpreter():
    return "%s %s" % (platform.python_implementation(),
                      platform.python_version())


def pickles_about():
    return ("pickle.dumps(obj, protocol=N) from %s; "
            "multiprocessing.connection.Connection.send uses the default "
            "protocol (4 on 3.8-3.13, 5 from 3.14). python_repr is "
            "repr(obj) in CPython." % interpreter())


def pickle_entry(name, build):
    obj = build()
    return {"name": name, "python_repr": repr(obj),
            "by_protocol": {str(n): pickle.dumps(obj, protocol=n).hex()
                            for n in PROTOCOLS}}


def pickles():
    dangerous = {"name": "REDUCE calling os.system('echo pwned')",
                 "protocol": 4,
                 "pickle_hex": pickle.dumps(SystemCall("echo pwned"),
                                            protocol=4).hex(),
                 "note": "a safe decoder shows the call without making it"}
    return {"about": pickles_about(),
            "pickles": [pickle_entry(n, b) for n, b in OBJECTS],
            "dangerous": [dangerous]}


# ------------------------------------------------------------------ main

DOCUMENTS = [("frames.json", frames), ("auth.json", auth),
             ("pickles.json", pickles)]


def write(path, document):
    """Writes through a temporary name, so that a reader (a parallel test
    run) sees the whole file or none."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: generate.py OUTDIR\n")
        return 2
    outdir = argv[1]
    try:
        os.makedirs(outdir, exist_ok=True)
        # pickles.json last: once it is there, all three are.
        for name, make in DOCUMENTS:
            write(os.path.join(outdir, name), make())
    except OSError as e:
        sys.stderr.write("generate.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
