#!/usr/bin/env python3
"""make-seeds.py - writes the fuzz harnesses' seed corpora, built from the
test vectors, into OUTDIR/HARNESS/.

Usage: make-seeds.py [VECTORS_DIR] OUTDIR

The vectors are those tests/vectors/generate.py computes with the python3
running this script, or those of VECTORS_DIR (frames.json, auth.json,
pickles.json) when it is given.  tools/fuzz runs this into its build
directory each time.  Each seed is laid out as its harness reads its input
(see the comment at the top of tests/fuzz/fuzz-*.c).
"""
import ast
import base64
import hashlib
import importlib.util
import json
import math
import os
import struct
import sys

GENERATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "vectors", "generate.py")
PCAPGEN = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "peers", "pcapgen.py")

# Input formats as the decoder harness numbers them (enum conn_format).
FORMATS = {"lines": 0, "null": 1, "raw": 2, "frames": 3, "hex": 4,
           "quoted": 5, "json": 6}
DIGESTS = ["md5", "sha256", "sha384", "sha3_256", "sha3_384"]
NO_MD5 = 16
CLIENT = 1


def load(vectors, name):
    with open(os.path.join(vectors, name)) as f:
        return json.load(f)


def generated():
    """frames.json, auth.json and pickles.json as generate.py makes them,
    without writing them anywhere."""
    spec = importlib.util.spec_from_file_location("generate", GENERATOR)
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    return generate.frames(), generate.auth(), generate.pickles()


class Corpus:
    """Seed files of one harness; a name is the hash of the bytes, as
    libFuzzer names its own, so that equal seeds are written once."""

    def __init__(self, outdir, harness):
        self.dir = os.path.join(outdir, harness)
        os.makedirs(self.dir, exist_ok=True)
        self.count = 0

    def add(self, data):
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.count += 1


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def payloads(frames):
    return [bytes.fromhex(f["payload_hex"]) for f in frames["frames"]
            if f.get("payload_hex") is not None]


def frame_seeds(out, frames):
    streams = [bytes.fromhex(f["frame_hex"]) for f in frames["frames"]
               if f.get("frame_hex")]
    streams.append(b"".join(streams))
    # The long header: -1, then 8 bytes, even for a short payload.
    streams.append(b"\xff\xff\xff\xff" + struct.pack(">Q", 5) + b"hello")
    # Headers announcing the boundary lengths, with no payload after.
    streams += [bytes.fromhex(f["header_hex"]) for f in frames["frames"]]
    for stream in streams:
        for control in (b"\0\0\0", b"\0\0\1", b"\x05\x12\x34",
                        b"\x0e\xbe\xef"):
            out.add(control + stream)


def handshake(setup, key, messages):
    data = bytes([setup, key])
    for m in messages:
        data += struct.pack(">H", len(m)) + m
    return data


def auth_seeds(out, auth):
    consts = auth["constants"]
    challenge = consts["challenge"].encode()
    welcome = consts["welcome"].encode()
    failure = consts["failure"].encode()
    steps = [bytes.fromhex(s["frame_hex"])[4:]
             for s in auth["transcript_modern_mutual"]["steps"]]
    sha256 = DIGESTS.index("sha256") << 1
    # The whole mutual handshake in each role, then a message too many.
    out.add(handshake(sha256, 0, steps[1::2]))
    out.add(handshake(sha256 | CLIENT, 0, steps[0::2]))
    out.add(handshake(sha256, 0, steps[1::2] + [welcome]))
    out.add(handshake(sha256 | CLIENT, 0, steps[0::2] + [welcome]))
    out.add(handshake(sha256 | CLIENT, 0, [steps[0], failure]))
    for r in auth["responses"]:
        c = bytes.fromhex(r["challenge_payload_hex"])
        reply = bytes.fromhex(r["response_hex"])
        for d in range(len(DIGESTS)):
            for flags in (0, NO_MD5):
                setup = d << 1 | flags
                out.add(handshake(setup | CLIENT, 0,
                                  [challenge + c, welcome, steps[4]]))
                out.add(handshake(setup, 0, [reply, challenge + c,
                                             failure]))
        if "legacy_md5_reply_hex" in r:
            out.add(handshake(0, 0,
                              [bytes.fromhex(r["legacy_md5_reply_hex"])]))


def pickle_seeds(out, pickles):
    for p in pickles["pickles"]:
        for hexed in p["by_protocol"].values():
            out.add(bytes.fromhex(hexed))
    for p in pickles["dangerous"]:
        out.add(bytes.fromhex(p["pickle_hex"]))


POLICIES = (b"allow builtins.*", b"deny os.**\tallow **", b"allow a.b?.c*.**",
            b"# none", b"")


def audit_seeds(out, pickles):
    """A policy line, then a pickle: the vectors' under a few policies."""
    for i, p in enumerate(pickles["pickles"] + pickles["dangerous"]):
        hexes = (p["by_protocol"].values() if "by_protocol" in p
                 else [p["pickle_hex"]])
        for hexed in hexes:
            out.add(POLICIES[i % len(POLICIES)] + b"\n" +
                    bytes.fromhex(hexed))


def jsonable(value):
    """The value as --out json writes it (conn-pipe(1)), tags and all,
    which --in json reads back; ValueError if it has no JSON form."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return {"__float__": "nan" if math.isnan(value) else
                    "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, (bytes, bytearray)):
        tag = "__bytes__" if isinstance(value, bytes) else "__bytearray__"
        return {tag: base64.b64encode(value).decode()}
    if isinstance(value, complex):
        return {"__complex__": [jsonable(value.real), jsonable(value.imag)]}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (tuple, set, frozenset)):
        tag = ("__tuple__" if isinstance(value, tuple) else
               "__set__" if isinstance(value, set) else "__frozenset__")
        return {tag: [jsonable(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {"__dict__": [[jsonable(k), jsonable(v)]
                             for k, v in value.items()]}
    raise ValueError(value)


def json_texts(pickles):
    """JSON for each vector object whose repr is a plain literal; parsed
    with ast.literal_eval, which runs nothing."""
    texts = []
    for p in pickles["pickles"]:
        try:
            value = jsonable(ast.literal_eval(p["python_repr"]))
        except (ValueError, SyntaxError, RecursionError, TypeError):
            continue
        texts.append(json.dumps(value).encode())
        texts.append(json.dumps(value, ensure_ascii=False).encode())
    return texts


def json_seeds(out, texts):
    for t in texts:
        if len(t) < 8192:
            out.add(t)


def decoder_seeds(out, frames, texts):
    messages = payloads(frames) + [b"", b"a\tb c", b"\\x00'\""]
    short = [m for m in messages if len(m) < 300]
    streams = {
        "lines": b"\n".join(m.replace(b"\n", b"") for m in short) + b"\n",
        "null": b"\0".join(m.replace(b"\0", b"") for m in short),
        "raw": b"".join(short),
        "frames": b"".join(frame(m) for m in short),
        "hex": b"\n".join(m.hex().encode() for m in short) +
               b"\n0a 0B\t0c\r\n",
        "quoted": b"\n".join(repr(m).encode() for m in short) +
                  b"\n'\\101\\x41\\n'\n\"a'b\"\n",
        "json": b"\n".join(t for t in texts if len(t) < 300) + b"\n\n[1]",
    }
    for name, stream in streams.items():
        f = FORMATS[name]
        for control in (b"\0\x0f\x04\0\0", b"\0\x3a\x02\0\1",
                        b"\0\x2d\x05\xab\xcd", b"\0\x17\x00\x12\x34"):
            out.add(bytes([f]) + control[1:] + stream)


# The capture harness's link types, by its setup byte's bits 0-2.
CAPTURE_LINKS = [1, 113, 276, 0, 101, 108, 228, 229]


def capture_seeds(out):
    """pcapgen.py's scenarios, as the capture harness reads packets."""
    spec = importlib.util.spec_from_file_location("pcapgen", PCAPGEN)
    pcapgen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pcapgen)
    for name in ("inorder", "reorder", "retransmit", "midstream", "ipv6",
                 "sll2", "null", "gap", "http", "evil"):
        linktype, packets = pcapgen.scenario(name)
        data = b"".join(struct.pack(">H", len(p)) + p for p in packets)
        setup = CAPTURE_LINKS.index(linktype)
        for extra in (0x00, 0x08, 0x10, 0x30):
            out.add(bytes([setup | extra]) + data)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make-seeds.py [VECTORS_DIR] OUTDIR")
    outdir = sys.argv[-1]
    if len(sys.argv) == 3:
        frames, auth, pickles = (load(sys.argv[1], name) for name in
                                 ("frames.json", "auth.json", "pickles.json"))
    else:
        frames, auth, pickles = generated()
    texts = json_texts(pickles)
    corpora = {h: Corpus(outdir, h) for h in
               ("frame", "auth", "pickle-render", "pickle-json",
                "decoder", "pickle-audit", "capture")}
    frame_seeds(corpora["frame"], frames)
    auth_seeds(corpora["auth"], auth)
    pickle_seeds(corpora["pickle-render"], pickles)
    audit_seeds(corpora["pickle-audit"], pickles)
    json_seeds(corpora["pickle-json"], texts)
    decoder_seeds(corpora["decoder"], frames, texts)
    capture_seeds(corpora["capture"])
    for h, c in sorted(corpora.items()):
        print("%s: %d seeds" % (h, c.count))


if __name__ == "__main__":
    main()
