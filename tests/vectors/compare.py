#!/usr/bin/env python3
"""compare.py - compares one section of two vector directories, entry by
entry: the vectors generate.py made with this machine's CPython, and
reference ones (../shared/vectors, or configure --with-vectors=DIR).

Usage: compare.py GENERATED_DIR SHARED_DIR SECTION

SECTION is one of frames, auth-constants, auth-legacy, auth-modern,
auth-transcript, pickles-0 ... pickles-5 (the pickle bytes under that
protocol), pickles-repr, pickles-dangerous.

Prints one line per difference, naming the entry and the field, then a
summary; exits 0 when the section agrees, 1 when it does not (or a file
cannot be read), 2 on a usage error.  tests/bats/vectors.bats runs it.
"""
import json
import os
import re
import sys

WIDTH = 60  # characters of a value shown in a difference


def key_text(hexed):
    key = bytes.fromhex(hexed)
    shown = repr(key[:20]) + ("..." if len(key) > 20 else "")
    return "key %s (%d bytes)" % (shown, len(key))


def response_name(r):
    return "%s %s response, %s" % (r.get("style"), r.get("digest"),
                                   key_text(r.get("authkey_hex", "")))


def responses(style):
    def entries(doc):
        return [(response_name(r), r) for r in doc["responses"]
                if r.get("style") == style]
    return entries


def frames(doc):
    return [("frame of length %s" % f.get("length"), f)
            for f in doc["frames"]]


def constants(doc):
    return [("constant %s" % k, {"text": v})
            for k, v in doc["constants"].items()]


def transcript(doc):
    t = doc["transcript_modern_mutual"]
    steps = [("step %d (from the %s)" % (i + 1, s.get("from")), s)
             for i, s in enumerate(t["steps"])]
    return [("authkey", {"authkey_text": t["authkey_text"]})] + steps


def pickle_bytes(protocol):
    def entries(doc):
        return [("%r, protocol %s" % (p["name"], protocol),
                 {"pickle_hex": p["by_protocol"].get(protocol)})
                for p in doc["pickles"]]
    return entries


def pickle_reprs(doc):
    return [(repr(p["name"]), {"python_repr": p["python_repr"]})
            for p in doc["pickles"]]


def dangerous(doc):
    return [(repr(p["name"]), p) for p in doc["dangerous"]]


# section -> (file, entries of a document, whether the interpreter's
# version may change the facts)
SECTIONS = {
    "frames": ("frames.json", frames, False),
    "auth-constants": ("auth.json", constants, False),
    "auth-legacy": ("auth.json", responses("legacy"), False),
    "auth-modern": ("auth.json", responses("modern"), False),
    "auth-transcript": ("auth.json", transcript, False),
    "pickles-repr": ("pickles.json", pickle_reprs, True),
    "pickles-dangerous": ("pickles.json", dangerous, True),
}
for _n in range(6):
    SECTIONS["pickles-%d" % _n] = ("pickles.json", pickle_bytes(str(_n)),
                                   True)


def load(directory, name):
    path = os.path.join(directory, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit("compare.py: cannot read %s: %s" % (path, e))


def shown(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= WIDTH else text[:WIDTH] + "..."


def difference(ours, theirs):
    """How two values of a field differ, in one short phrase."""
    if isinstance(ours, str) and isinstance(theirs, str) and \
            max(len(ours), len(theirs)) > WIDTH:
        i = next((i for i, (a, b) in enumerate(zip(ours, theirs))
                  if a != b), min(len(ours), len(theirs)))
        return ("differ from character %d (lengths %d and %d): "
                "generated ...%s, shared ...%s"
                % (i, len(ours), len(theirs), shown(ours[i:]),
                   shown(theirs[i:])))
    return "generated %s, shared %s" % (shown(ours), shown(theirs))


def by_name(pairs, side, problems):
    """The entries as a dict; a name given twice is a problem."""
    entries = {}
    for name, entry in pairs:
        if name in entries:
            problems.append("%s: twice in the %s vectors" % (name, side))
        entries[name] = entry
    return entries


def compare_entry(name, ours, theirs):
    problems = []
    for field in list(theirs) + [f for f in ours if f not in theirs]:
        if field not in ours:
            problems.append("%s: %s: missing from the generated vectors"
                            % (name, field))
        elif field not in theirs:
            problems.append("%s: %s: missing from the shared vectors"
                            % (name, field))
        elif ours[field] != theirs[field]:
            problems.append("%s: %s: %s" % (name, field,
                                            difference(ours[field],
                                                       theirs[field])))
    return problems


def interpreters(generated, shared):
    """The versions the two pickles.json were made with, from "about"."""
    def version(doc):
        m = re.search(r"from (\S+ [0-9][^;\s]*)", doc.get("about", ""))
        return m.group(1) if m else "an unknown Python"
    return version(generated), version(shared)


def compare(generated_dir, shared_dir, section):
    name, entries, versioned = SECTIONS[section]
    ours_doc, theirs_doc = load(generated_dir, name), load(shared_dir, name)
    problems = []
    ours = by_name(entries(ours_doc), "generated", problems)
    theirs = by_name(entries(theirs_doc), "shared", problems)
    agree = 0
    for entry in list(theirs) + [e for e in ours if e not in theirs]:
        if entry not in ours:
            problems.append("%s: only in the shared vectors" % entry)
        elif entry not in theirs:
            problems.append("%s: only in the generated vectors" % entry)
        else:
            found = compare_entry(entry, ours[entry], theirs[entry])
            agree += not found
            problems += found
    for p in problems:
        print(p)
    print("%s %s: %d of %d entries agree, %d differences"
          % (name, section, agree, len(theirs), len(problems)))
    if problems and versioned:
        mine, reference = interpreters(ours_doc, theirs_doc)
        if mine != reference:
            print("note: generated by %s, the shared vectors by %s: pickle "
                  "bytes (and, rarely, repr) legitimately differ across "
                  "Python versions" % (mine, reference))
        else:
            print("note: both made by %s: a real difference" % mine)
    return 1 if problems else 0


def main(argv):
    if len(argv) != 4 or argv[3] not in SECTIONS:
        sys.stderr.write("usage: compare.py GENERATED_DIR SHARED_DIR "
                         "SECTION\nsections: %s\n"
                         % " ".join(sorted(SECTIONS)))
        return 2
    return compare(argv[1], argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
