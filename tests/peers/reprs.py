"""tests/peers/reprs.py - the repr() oracle of tests/bats/reprs.bats.

Run by each CPython on the machine (2.7 and 3.x) as
    python reprs.py CASES.py ... > cases.jsonl
Each CASES.py (tests/peers/reprs_*.py) defines cases(), which yields
(name, obj) or (name, obj, expect): obj is pickled under every protocol
this interpreter has, and conn-tools' --out repr must print repr(obj),
or expect where conn-tools documents a readable form instead (expect may
be a function of the interpreter's repr).  A case module may skip what
this interpreter lacks by not yielding it.  One JSON line per pickle:
    {"name": ..., "protocol": N, "pickle": HEX, "repr": TEXT}
Python 2's repr() is not what a Python 3 receiver shows (u'', 10L), so
under 2.7 "repr" is null but for an expect string: reprs.bats asks the
suite's python3 what pickle.loads() makes of the pickle instead.
"""
import binascii
import json
import pickle
import sys


def load(path):
    ns = {'__name__': 'reprs_case', '__file__': path}
    with open(path) as f:
        code = compile(f.read(), path, 'exec')
    exec(code, ns)
    return ns['cases']


def main():
    out = sys.stdout
    for path in sys.argv[1:]:
        for case in load(path)():
            name, obj = case[0], case[1]
            want = repr(obj) if sys.version_info[0] > 2 else None
            if len(case) > 2 and (want is not None or not callable(case[2])):
                want = case[2](want) if callable(case[2]) else case[2]
            for proto in range(pickle.HIGHEST_PROTOCOL + 1):
                data = pickle.dumps(obj, proto)
                line = {'name': name, 'protocol': proto,
                        'pickle': binascii.hexlify(data).decode('ascii'),
                        'repr': want}
                out.write(json.dumps(line, sort_keys=True) + '\n')


main()
