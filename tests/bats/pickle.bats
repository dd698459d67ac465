#!/usr/bin/env bats
# Pickle-aware formats across the tools: repr, json and pickle-dis output
# (a safe decoder, checked against the CPython vectors of pickles.json),
# json input (checked with python3's pickle.loads), --pickle-protocol,
# --keep-going, and interop with Python programs that use send()/recv() and
# with a real multiprocessing.managers server (tests/peers/obj_peer.py,
# tests/peers/manager.py).

load helpers

KEY=secret

# reprs_as_python [OPTION]...: conn-pipe --in hex --out repr OPTION... of
# $T/in, a pickle's hex a line, prints $T/want, Python's repr() of each.
reprs_as_python() {
	run_to P --in "$T/in" conn-pipe --in hex --out repr "$@"
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" || fail "$(grep -c '^<' "$T/diff") lines differ (< python, > conn-pipe):
$(head -c 3000 "$T/diff")"
}

# each_vector CMD...: runs CMD (conn-pipe --in hex --out ...) once for every
# pickle of pickles.json under every protocol, feeding the pickle's hex; the
# python code in $CHECK (a function check(vector, protocol, pickle_bytes,
# status, stdout, stderr) returning None or a complaint) judges each run.
# Every complaint goes to $T/bad; the test fails listing all of them.
each_vector() {
	"$PYTHON" - "$CONN_VECTORS/pickles.json" "$T/bad" "$CHECK" "$@" <<'EOF'
import json, subprocess, sys
vectors = json.load(open(sys.argv[1]))['pickles']
ns = {}
exec(sys.argv[3], ns)
bad, runs = [], 0
for v in vectors:
    for proto, hexdata in sorted(v['by_protocol'].items()):
        runs += 1
        try:
            p = subprocess.run(sys.argv[4:], input=(hexdata + '\n').encode(),
                               capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            bad.append('%s, protocol %s: timed out' % (v['name'], proto))
            continue
        why = ns['check'](v, int(proto), bytes.fromhex(hexdata), p.returncode,
                          p.stdout.decode('utf-8', 'replace'),
                          p.stderr.decode('utf-8', 'replace'))
        if why:
            bad.append('%s, protocol %s: %s' % (v['name'], proto, why))
assert runs >= 200, runs
open(sys.argv[2], 'w').write(''.join(b + '\n' for b in bad))
print('%d runs, %d bad' % (runs, len(bad)))
EOF
	[[ ! -s $T/bad ]] || fail "$(wc -l <"$T/bad") of the vectors fail:
$(head -c 6000 "$T/bad")"
}

# ----------------------------------------------------------------- repr

@test "repr: every pickles.json vector under every protocol prints exactly python_repr" {
	CHECK='
def check(v, proto, data, rc, out, err):
    if rc != 0:
        return "exit %d: %s" % (rc, err.strip())
    if out != v["python_repr"] + "\n":
        return "expected %r, got %r" % (v["python_repr"], out)
    if err:
        return "stderr: %r" % err
'
	each_vector conn-pipe --in hex --out repr
}

@test "repr: all vectors in one stream, one line each, in order (frames input)" {
	"$PYTHON" - "$CONN_VECTORS/pickles.json" "$T" <<'EOF'
import json, struct, sys
vectors = json.load(open(sys.argv[1]))['pickles']
with open(sys.argv[2] + '/in', 'wb') as f, open(sys.argv[2] + '/want', 'w') as w:
    for v in vectors:
        for proto, h in sorted(v['by_protocol'].items()):
            b = bytes.fromhex(h)
            f.write(struct.pack('!i', len(b)) + b)
            w.write(v['python_repr'] + '\n')
EOF
	run_to P --in "$T/in" conn-pipe --in frames --out repr
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" || fail "(< python, > conn-pipe):
$(head -40 "$T/diff")"
}

@test "repr over the network: conn-listen --out repr shows what a Python Client send()s" {
	listen L --out repr 127.0.0.1:0
	peer P obj_peer client "127.0.0.1:$PORT" \
		--send "{'a': 1, 'b': [True, None], 3: 'three', (1, 2): b't'}" \
		--send "[1, [2, [3, []]], {'k': (4,)}]" \
		--send "('#RETURN', 'ok')" \
		--send "(None, 'debug_info', (), {})" \
		--send "{1, 2, 3}" \
		--send "'caf\u00e9 \U0001f600'" \
		--send "-9223372036854775808" \
		--send "2.25"
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/L.out" "{'a': 1, 'b': [True, None], 3: 'three', (1, 2): b't'}
[1, [2, [3, []]], {'k': (4,)}]
('#RETURN', 'ok')
(None, 'debug_info', (), {})
{1, 2, 3}
'café 😀'
-9223372036854775808
2.25
"
}

@test "repr over the network with a key, every protocol: conn-client --out repr from a Python Listener" {
	local proto
	for proto in 0 1 2 3 4 5; do
		peer "P$proto" obj_peer listen 127.0.0.1:0 --authkey "$KEY" --protocol "$proto" \
			--send "{'proto': $proto, 'list': [1, 2.5, None], 'bytes': b'\\x00\\xff'}" \
			--send "(1, 'two', (3,))"
		run_to "C$proto" conn-client --authkey-file "$(key_file key "$KEY")" --out repr "127.0.0.1:$PORT"
		expect_exit "C$proto" 0
		expect_exit "P$proto" 0
		assert_file "$T/C$proto.out" "{'proto': $proto, 'list': [1, 2.5, None], 'bytes': b'\\x00\\xff'}
(1, 'two', (3,))
"
	done
}

@test "repr: shared references, cycles, OrderedDict, floats and every Unicode code point exactly as CPython prints them" {
	"$PYTHON" - "$T" <<'EOF'
import collections, pickle, sys
t = sys.argv[1]
objs = []
l = [1]
objs.append([l, l, (l,), {'k': l}])
c = [1]; c.append(c); objs.append(c)
d = {'a': 1}; d['self'] = d; objs.append(d)
n = [0]; tup = (n,); n.append(tup); objs.append(tup)
objs.append(collections.OrderedDict([('b', 1), ('a', [2])]))
# (sets: small ints only; CPython's order for other elements depends on
# their hashes, and the decoder prints elements in the pickle's order)
objs.append([{3, 1, 2}, frozenset({4, 5})])
objs.append([1e16, 1e-7, 0.1 + 0.2, 1e22, 5e-324, 1.7976931348623157e308, -0.0, 123456789.125])
objs.append([complex(0, -0.0), complex(-1.5, 2), complex(1e300, float('inf'))])
objs.append([2**64, -2**64, 10**4000, -(10**299)])
objs.append(bytearray(range(256)))
objs.append('\ud800 lone surrogate \udfff')
objs.append({(1, (2, 'x')): [None, True, False], b'k': bytearray()})
# every code point, 512 per string
for start in range(0, 0x110000, 512):
    objs.append(''.join(chr(i) for i in range(start, start + 512)))
with open(t + '/in', 'w') as f, open(t + '/want', 'w') as w:
    for proto in (0, 2, 4, 5):
        for o in objs:
            f.write(pickle.dumps(o, proto).hex() + '\n')
            w.write(repr(pickle.loads(pickle.dumps(o, proto))) + '\n')
EOF
	# OrderedDict as python3 prints it
	reprs_as_python --python-repr "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
}

@test "repr: floats from random bits and at every power of two print as CPython's repr(), by either way of finding the digits" {
	"$PYTHON" - "$T" <<'EOF'
import math, os, pickle, random, struct, sys
t = sys.argv[1]
seed = int.from_bytes(os.urandom(4), 'big')
rng = random.Random(seed)
xs = [struct.unpack('<d', struct.pack('<Q', rng.getrandbits(64)))[0]
      for _ in range(60000)]
# where pickle-shortest.c's exact arithmetic applies, and its ends
xs += [rng.random() * 2.0 ** rng.randrange(-45, 160) for _ in range(60000)]
for e in range(-1074, 1024):
    p = math.ldexp(1, e)
    xs += [p, math.nextafter(p, 0) if hasattr(math, 'nextafter') else p]
xs = [x for x in xs if x == x]
with open(t + '/in', 'w') as f, open(t + '/want', 'w') as w:
    for i in range(0, len(xs), 1000):
        chunk = xs[i:i + 1000]
        f.write(pickle.dumps(chunk, 4).hex() + '\n')
        w.write(repr(chunk) + '\n')
print('seed %d' % seed)
EOF
	reprs_as_python
}

@test "limits: a real pickle of more than 1,000,000 memo entries renders; a memo index past one per two bytes is exit 5" {
	"$PYTHON" - "$T" <<'EOF'
import pickle, sys
t = sys.argv[1]
objs = [('k%d' % i, []) for i in range(400000)]
with open(t + '/in', 'w') as f, open(t + '/want', 'w') as w:
    f.write(pickle.dumps(objs, 4).hex() + '\n')
    w.write(repr(objs) + '\n')
EOF
	run_to P --in "$T/in" conn-pipe --in hex --out repr
	expect_exit P 0 60
	cmp -s "$T/want" "$T/P.out" || fail "not Python's repr: $(head -c 300 "$T/P.out")"
	# LONG_BINPUT 1000000 in a 10-byte pickle
	echo 80045d947240420f002e >"$T/bad"
	run_to B --in "$T/bad" conn-pipe --in hex --out repr
	expect_exit B 5
	assert_err B 'memo index 1000000 is over the limit of 1000000 entries'
}

@test "limits: nesting deeper than 1000 and ints over 4300 digits are exit 5 'message N: ...', not a crash" {
	"$PYTHON" -c 'import pickle, sys
sys.setrecursionlimit(10000)
x = []
for i in range(1500):
    x = [x]
print(pickle.dumps(None, 4).hex())
print(pickle.dumps(x, 4).hex())' >"$T/deep"
	run_to D --in "$T/deep" conn-pipe --in hex --out repr
	expect_exit D 5
	assert_err_only D '^conn-pipe: message 2: '
	refute_err D 'max-size'

	"$PYTHON" -c 'import pickle
print(pickle.dumps(10 ** 5000, 4).hex())' >"$T/big"
	run_to B --in "$T/big" conn-pipe --in hex --out repr
	expect_exit B 5
	assert_err_only B '^conn-pipe: message 1: '
	refute_err B 'max-size'

	# --keep-going shows them in hex and goes on
	run_to K --in "$T/deep" conn-pipe --in hex --out repr --keep-going
	expect_exit K 0
	assert_file "$T/K.out" "None
$(sed -n 2p "$T/deep")
"
}

# ----------------------------------------------------------------- safety

@test "dangerous: the REDUCE vector prints posix.system('echo pwned') and runs nothing" {
	"$PYTHON" -c 'import json,sys
print(json.load(open(sys.argv[1]))["dangerous"][0]["pickle_hex"])' "$CONN_VECTORS/pickles.json" >"$T/in.hex"
	run_to P --in "$T/in.hex" conn-pipe --in hex --out repr
	expect_exit P 0
	assert_file "$T/P.out" "posix.system('echo pwned')
"
}

@test "dangerous: a pickle calling os.system('touch FILE') is shown under every protocol, in every output format, and FILE never appears" {
	local marker=$T/pwned
	"$PYTHON" - "$marker" "$T" <<'EOF'
import os, pickle, sys
marker, t = sys.argv[1], sys.argv[2]
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + marker,))
class EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch %s')" % marker,))
with open(t + '/in.hex', 'w') as f, open(t + '/want', 'w') as w:
    for proto in range(6):
        f.write(pickle.dumps(Evil(), proto).hex() + '\n')
        w.write("posix.system('touch %s')\n" % marker)
    for proto in range(6):
        f.write(pickle.dumps([1, EvalEvil()], proto).hex() + '\n')
        w.write("[1, builtins.eval(\"__import__('os').system('touch %s')\")]\n" % marker)
EOF
	local fmt
	for fmt in repr json pickle-dis; do
		run_to "P-$fmt" --in "$T/in.hex" conn-pipe --in hex --out "$fmt"
		expect_exit "P-$fmt" 0
		[[ ! -e $marker ]] || fail "--out $fmt: $marker was created: the pickle was executed"
	done
	sleep 0.2
	[[ ! -e $marker ]] || fail "$marker was created: the pickle was executed"
	diff "$T/want" "$T/P-repr.out" >"$T/diff" || fail "(< expected, > conn-pipe):
$(cat "$T/diff")"
	# also over the network, through conn-listen
	listen L --out repr 127.0.0.1:0
	peer S mp_peer client "127.0.0.1:$PORT" --send-hex "$(head -1 "$T/in.hex")"
	expect_exit S 0
	expect_exit L 0
	assert_file "$T/L.out" "posix.system('touch $marker')
"
	[[ ! -e $marker ]] || fail "conn-listen: $marker was created"
}

# ----------------------------------------------------------------- json out

@test "json out: every vector gives one line of valid JSON (strict: no NaN/Infinity)" {
	CHECK='
import json, base64, math
def reject(c):
    raise ValueError("non-standard JSON constant " + c)
def expected(obj):
    # the rules of conn-pipe(1) (and of the comment atop src/core/pickle.h)
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        if math.isnan(obj):
            return {"__float__": "nan"}
        if math.isinf(obj):
            return {"__float__": "inf" if obj > 0 else "-inf"}
        return obj
    if isinstance(obj, bytes):
        return {"__bytes__": base64.b64encode(obj).decode()}
    if isinstance(obj, bytearray):
        return {"__bytearray__": base64.b64encode(obj).decode()}
    if isinstance(obj, complex):
        return {"__complex__": [expected(obj.real), expected(obj.imag)]}
    if isinstance(obj, list):
        return [expected(x) for x in obj]
    if isinstance(obj, tuple):
        return {"__tuple__": [expected(x) for x in obj]}
    if isinstance(obj, (set, frozenset)):
        return NotImplemented      # tagged, in the order of the pickle
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: expected(x) for k, x in obj.items()}
        return {"__dict__": [[expected(k), expected(x)] for k, x in obj.items()]}
    return {"__repr__": repr(obj)}
def contains_ni(x):
    if x is NotImplemented:
        return True
    if isinstance(x, list):
        return any(contains_ni(i) for i in x)
    if isinstance(x, dict):
        return any(contains_ni(i) for i in x.values())
    return False
def check(v, proto, data, rc, out, err):
    import pickle
    if rc != 0:
        return "exit %d: %s" % (rc, err.strip())
    if not out.endswith("\n") or out.count("\n") != 1:
        return "not one line: %r" % out
    try:
        got = json.loads(out, parse_constant=reject)
    except ValueError as e:
        return "invalid JSON %r: %s" % (out, e)
    obj = pickle.loads(data)
    want = expected(obj)
    if not contains_ni(want) and (got != want or json.dumps(got) != json.dumps(want)):
        return "expected %s, got %s" % (json.dumps(want), out.strip())
    tag = "__set__" if isinstance(obj, set) else "__frozenset__"
    if isinstance(obj, (set, frozenset)) and not (list(got) == [tag] and sorted(got[tag]) == sorted(obj)):
        return "a set should be {%r: [its items]}: %s" % (tag, out.strip())
'
	each_vector conn-pipe --in hex --out json
}

@test "json out: the documented renderings (tuples, sets, bytes, bytearray, non-str keys, floats, big ints, complex, the rest)" {
	"$PYTHON" -c 'import os, pickle
class Evil:
    def __reduce__(self):
        return (os.system, ("echo x",))
for o in [(1, "a"), {3}, frozenset(), b"\x00hi\xff", bytearray(b"ab"),
          {1: "x", (2, 3): None}, {"k": [b"", ()]}, float("nan"), float("inf"),
          float("-inf"), 0.1, 2**100, -2**70, 1+2j, float, Evil(), "\x00\x1f\u00e9"]:
    print(pickle.dumps(o, 4).hex())' >"$T/in.hex"
	run_to P --in "$T/in.hex" conn-pipe --in hex --out json
	expect_exit P 0
	"$PYTHON" - "$T/P.out" <<'EOF' || fail "$(cat "$T/P.out")"
import json, sys
def reject(c):
    raise ValueError(c)
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')
assert lines[-1] == ''
got = [json.loads(l, parse_constant=reject) for l in lines[:-1]]
want = [{'__tuple__': [1, 'a']}, {'__set__': [3]}, {'__frozenset__': []},
        {'__bytes__': 'AGhp/w=='}, {'__bytearray__': 'YWI='},
        {'__dict__': [[1, 'x'], [{'__tuple__': [2, 3]}, None]]},
        {'k': [{'__bytes__': ''}, {'__tuple__': []}]},
        {'__float__': 'nan'}, {'__float__': 'inf'}, {'__float__': '-inf'}, 0.1,
        2**100, -2**70, {'__complex__': [1.0, 2.0]}, {'__repr__': "<class 'float'>"},
        {'__repr__': "posix.system('echo x')"}, '\x00\x1f\u00e9']
bad = 0
for i, (g, w) in enumerate(zip(got, want)):
    if json.dumps(g) != json.dumps(w):
        print('line %d: expected %s, got %s' % (i + 1, json.dumps(w), lines[i]))
        bad += 1
if len(got) != len(want):
    print('%d lines for %d objects' % (len(got), len(want)))
    bad += 1
# numbers keep all their digits; floats are written as repr()
if lines[10] != '0.1' or lines[11] != str(2**100):
    print('numbers: %r %r' % (lines[10], lines[11]))
    bad += 1
sys.exit(1 if bad else 0)
EOF
}

@test "json out: standard library values are their documented tags (isoformat, str, as_posix), every protocol" {
	"$PYTHON" - "$T" <<'EOF'
import array, datetime as dt, decimal, fractions, ipaddress, json, pathlib
import pickle, re, sys, uuid, zoneinfo
utc, td = dt.timezone.utc, dt.timedelta
ist = dt.timezone(td(hours=5, minutes=30), 'IST')
paris = zoneinfo.ZoneInfo('Europe/Paris')
cases = [
    (dt.date(2024, 2, 29), {'__date__': '2024-02-29'}),
    (dt.time(13, 45, 30, 5), {'__time__': '13:45:30.000005'}),
    (dt.time(1, 2, tzinfo=ist), {'__time__': '01:02:00+05:30'}),
    (dt.datetime(2024, 2, 29, 13, 45, 30, 123456),
     {'__datetime__': '2024-02-29T13:45:30.123456'}),
    (dt.datetime(1, 1, 1, tzinfo=utc), {'__datetime__': '0001-01-01T00:00:00+00:00'}),
    (dt.datetime(2024, 1, 1, tzinfo=dt.timezone(-td(seconds=1, microseconds=1))),
     {'__datetime__': '2024-01-01T00:00:00-00:00:01.000001'}),
    (dt.datetime(2024, 7, 1, tzinfo=paris),
     {'__repr__': "datetime.datetime(2024, 7, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))"}),
    (td(microseconds=-1), {'__timedelta__': {'days': -1, 'seconds': 86399,
                                             'microseconds': 999999}}),
    (ist, {'__timezone__': {'offset': '+05:30', 'name': 'IST'}}),
    (utc, {'__timezone__': {'offset': '+00:00', 'name': None}}),
    (paris, {'__zoneinfo__': 'Europe/Paris'}),
    (decimal.Decimal('-1.50E+3'), {'__decimal__': '-1.50E+3'}),
    (decimal.Decimal('-inf'), {'__decimal__': '-Infinity'}),
    (fractions.Fraction(-2, 6), {'__fraction__': '-1/3'}),
    (uuid.UUID(int=1 << 127), {'__uuid__': '80000000-0000-0000-0000-000000000000'}),
    (pathlib.PurePosixPath('/a/./b/'), {'__pureposixpath__': '/a/b'}),
    (pathlib.PureWindowsPath('c:\\x\\y'), {'__purewindowspath__': 'c:/x/y'}),
    (ipaddress.ip_address('2001:db8::1'), {'__ipv6address__': '2001:db8::1'}),
    (ipaddress.ip_network('10.0.0.0/8'), {'__ipv4network__': '10.0.0.0/8'}),
    (re.compile(b'a+', re.I), {'__pattern__': {'pattern': {'__bytes__': 'YSs='},
                                               'flags': 2}}),
    (array.array('d', [0.5, float('nan')]), {'__array__': {
        'typecode': 'd', 'items': [0.5, {'__float__': 'nan'}]}}),
    (array.array('u', 'h\xe9'), {'__array__': {'typecode': 'u', 'items': 'h\xe9'}}),
    ([dt.date(2000, 1, 1), {dt.date(2000, 1, 2): 1}],
     [{'__date__': '2000-01-01'}, {'__dict__': [[{'__date__': '2000-01-02'}, 1]]}]),
]
with open(sys.argv[1] + '/in.hex', 'w') as h, open(sys.argv[1] + '/want', 'w') as w:
    for obj, want in cases:
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            h.write(pickle.dumps(obj, proto).hex() + '\n')
            w.write(json.dumps(want, ensure_ascii=False) + '\n')
EOF
	run_to P --in "$T/in.hex" conn-pipe --in hex --out json
	expect_exit P 0
	diff "$T/want" "$T/P.out" || fail "the tags differ (< expected, > conn-pipe)"
}

# ----------------------------------------------------------------- pickle-dis

@test "pickle-dis: every vector is listed opcode by opcode and ends with 'highest protocol among opcodes'" {
	CHECK='
import pickletools, io
def check(v, proto, data, rc, out, err):
    if rc != 0:
        return "exit %d: %s" % (rc, err.strip())
    ref = io.StringIO()
    pickletools.dis(data, out=ref)
    want_last = ref.getvalue().rstrip("\n").split("\n")[-1]
    lines = out.rstrip("\n").split("\n")
    if not out.endswith("\n"):
        return "output does not end with a newline"
    if lines[-1] != want_last:
        return "last line %r, expected %r" % (lines[-1], want_last)
    # each opcode, in order, on a line of its own with its offset
    i = 0
    for op, arg, pos in pickletools.genops(data):
        while i < len(lines) - 1 and not (op.name in lines[i].split() and str(pos) in lines[i]):
            i += 1
        if i >= len(lines) - 1:
            return "opcode %s at offset %d not listed:\n%s" % (op.name, pos, out)
        i += 1
'
	each_vector conn-pipe --in hex --out pickle-dis
}

@test "pickle-dis: the listing is exactly pickletools.dis() for every vector" {
	CHECK='
import pickletools, io
def check(v, proto, data, rc, out, err):
    if rc != 0:
        return "exit %d: %s" % (rc, err.strip())
    ref = io.StringIO()
    pickletools.dis(data, out=ref)
    if out != ref.getvalue():
        return "differs from pickletools.dis:\n--- python\n%s--- conn-pipe\n%s" % (ref.getvalue(), out)
'
	each_vector conn-pipe --in hex --out pickle-dis
}

# ----------------------------------------------------------------- json in

# json_values FILE: many JSON values, one per line
json_values() {
	cat >"$1" <<'EOF'
null
true
false
0
1
-1
255
256
-256
65535
65536
2147483647
2147483648
-2147483648
-2147483649
4294967295
4294967296
9223372036854775807
-9223372036854775808
0.5
-0.0
1.5e300
-2.5e-300
3.141592653589793
1e16
""
"hello world"
"quote \" backslash \\ slash \/ controls \b\f\n\r\t \u0000 \u001f"
"café 日本 😀"
"\u00e9\ud83d\ude00"
[]
{}
[[]]
[{}]
{"": {}}
[1, "two", 3.0, null, true, false, [], {}]
{"a": 1, "b": [true, null], "c": {"d": ["e", {"f": -1}]}}
{"dup": 1, "dup": 2}
[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]
EOF
	"$PYTHON" -c 'import json
print(json.dumps(list(range(2500))))
print(json.dumps({str(i): i for i in range(1500)}))
print(json.dumps("x" * 300))
print(json.dumps("y" * 70000))
print(json.dumps(["\U0001f600" * 100, "z" * 256]))' >>"$1"
}

@test "json in: every value under every protocol 0-5 unpickles (python3) to json.loads of the line" {
	json_values "$T/values"
	printf '\n   \n' >>"$T/values"      # blank lines are skipped
	local proto
	for proto in 0 1 2 3 4 5 default; do
		local opt=(--pickle-protocol "$proto")
		[[ $proto == default ]] && opt=()
		run_to "P$proto" --in "$T/values" conn-pipe --in json --out frames "${opt[@]}"
		expect_exit "P$proto" 0
		"$PYTHON" - "$T/values" "$T/P$proto.out" "$proto" <<'EOF' >"$T/bad" || fail "protocol $proto: $(head -c 4000 "$T/bad")"
import json, pickle, pickletools, struct, sys
values = [l for l in open(sys.argv[1], encoding='utf-8').read().split('\n') if l.strip()]
data = open(sys.argv[2], 'rb').read()
proto = 4 if sys.argv[3] == 'default' else int(sys.argv[3])
frames, i = [], 0
while i < len(data):
    (n,) = struct.unpack('!i', data[i:i + 4])
    frames.append(data[i + 4:i + 4 + n])
    i += 4 + n
bad = []
if len(frames) != len(values):
    bad.append('%d frames for %d values' % (len(frames), len(values)))
for text, p in zip(values, frames):
    want = json.loads(text)
    try:
        got = pickle.loads(p)
    except Exception as e:
        bad.append('%.60s: pickle.loads fails: %r (%s)' % (text, e, p[:40].hex()))
        continue
    if got != want or type(got) != type(want) or repr(got) != repr(want):
        bad.append('%.60s: unpickled %.80r, expected %.80r' % (text, got, want))
    highest = max(op.proto for op, _, _ in pickletools.genops(p))
    if highest > proto:
        bad.append('%.60s: uses protocol %d opcodes' % (text, highest))
    if proto >= 2 and p[:2] != bytes([0x80, proto]):
        bad.append('%.60s: does not start with PROTO %d: %s' % (text, proto, p[:4].hex()))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
	done
}

@test "json in: conn-client --in json reaches a Python Listener's recv() as the objects" {
	peer P obj_peer listen 127.0.0.1:0 --authkey "$KEY" --recv-all
	printf '%s\n' '{"a": 1, "b": [true, null, 2.5]}' '[1, "two", []]' '"café 😀"' \
		'-9223372036854775808' 'null' '{}' >"$T/in"
	run_to C --in "$T/in" conn-client --authkey-file "$(key_file key "$KEY")" --in json "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" "{'a': 1, 'b': [True, None, 2.5]}
[1, 'two', []]
'café 😀'
-9223372036854775808
None
{}
"
}

@test "json in: conn-listen --in json reaches a Python Client's recv(), every --pickle-protocol" {
	printf '%s\n' '{"x": [1, 2, {"y": "z"}]}' '3.25' '"s"' >"$T/in"
	local proto
	for proto in 0 2 5; do
		listen "L$proto" --in "$T/in" --in json --pickle-protocol "$proto" 127.0.0.1:0
		peer "P$proto" obj_peer client "127.0.0.1:$PORT" --recv-all
		expect_exit "P$proto" 0
		expect_exit "L$proto" 0
		assert_file "$T/P$proto.out" "{'x': [1, 2, {'y': 'z'}]}
3.25
's'
"
	done
}

@test "json in: an integer beyond 64 bits is an int (LONG1/LONG4, or LONG's text in protocols 0-1); over 4300 digits is exit 5 naming the line" {
	local big proto
	for proto in 0 1 2 5; do
		printf '%s\n' 9223372036854775808 -9223372036854775809 \
			123456789012345678901234567890 '[1, 99999999999999999999]' >"$T/in"
		"$PYTHON" -c 'print(7 ** 5000)' >>"$T/in"
		run_to "P$proto" --in "$T/in" conn-pipe --in json --out repr --pickle-protocol "$proto"
		expect_exit "P$proto" 0
		assert_file "$T/P$proto.out" "9223372036854775808
-9223372036854775809
123456789012345678901234567890
[1, 99999999999999999999]
$("$PYTHON" -c 'print(7 ** 5000)')
"
	done
	big=$("$PYTHON" -c 'print("1" + "0" * 4300)')
	printf '1\n"ok"\n%s\n' "$big" >"$T/in"
	spawn P --in "$T/in" conn-pipe --in json --out hex
	finish P 10
	[[ $STATUS == 5 ]] || fail "exit $STATUS, expected 5: $(cat "$T/P.err")"
	assert_err_only P "^conn-pipe: stdin line 3: invalid JSON at column 1: an integer of 4301 digits, more than Python's 4300$"
}

@test "json in: invalid JSON is exit 5 naming the line" {
	local bad
	for bad in '[1,' '{"a" 1}' 'nul' "'single'" '{"a":1}x' '[1] [2]' 'NaN' '01' '"unterminated' \
		'{1: 2}'; do
		printf 'null\n\n[]\n%s\n"after"\n' "$bad" >"$T/in"
		spawn P --in "$T/in" conn-pipe --in json --out hex
		finish P 10
		[[ $STATUS == 5 ]] || fail "'$bad': exit $STATUS, expected 5: $(cat "$T/P.err")"
		assert_err_only P '^conn-pipe: stdin line 4: '
		unset 'BG_PID[P]'
	done
}

@test "--pickle-protocol accepts 0-5 only" {
	local bad
	for bad in 6 -1 x ''; do
		spawn P conn-pipe --in json --pickle-protocol="$bad"
		finish P 10
		[[ $STATUS == 2 ]] || fail "--pickle-protocol='$bad': exit $STATUS, expected 2"
		assert_usage_error P "^conn-pipe: invalid --pickle-protocol '$bad'$"
		unset 'BG_PID[P]'
	done
}

@test "--python-repr X.Y: OrderedDict and exceptions as that CPython prints them (default the newest); a bad version is a usage error" {
	"$PYTHON" -c 'import collections, pickle
print(pickle.dumps([collections.OrderedDict(a=1), KeyError("m")], 2).hex())' >"$T/in"
	run_to N --in "$T/in" conn-pipe --in hex --out repr
	expect_exit N 0
	assert_file "$T/N.out" "[OrderedDict({'a': 1}), KeyError('m')]
"
	local ver want
	for ver in 3.6 3.11 3.12 3.99; do
		case $ver in
		3.6) want="[OrderedDict([('a', 1)]), KeyError('m',)]" ;;
		3.11) want="[OrderedDict([('a', 1)]), KeyError('m')]" ;;
		*) want="[OrderedDict({'a': 1}), KeyError('m')]" ;;
		esac
		run_to "V${ver/./_}" --in "$T/in" conn-pipe --in hex --out repr --python-repr "$ver"
		expect_exit "V${ver/./_}" 0
		assert_file "$T/V${ver/./_}.out" "$want
"
	done
	# and the JSON's inner reprs
	run_to J --in "$T/in" conn-pipe --in hex --out json --python-repr 3.6
	expect_exit J 0
	assert_file "$T/J.out" '[{"a": 1}, {"__exception__": {"type": "KeyError", "args": ["m"]}}]
'
	local bad
	for bad in 2.7 3 3. 3.x 3.100 ' 3.11' 4.0 ''; do
		spawn P conn-pipe --in hex --out repr --python-repr="$bad"
		finish P 10
		[[ $STATUS == 2 ]] || fail "--python-repr='$bad': exit $STATUS, expected 2"
		assert_usage_error P "^conn-pipe: invalid --python-repr '$bad' \\(a Python 3 version X.Y, such as 3.11\\)$"
		unset 'BG_PID[P]'
	done
	run_to L conn-listen --help
	grep -q -- '--python-repr=X.Y' "$T/L.out" || fail "conn-listen --help lacks --python-repr"
	run_to C conn-client --help
	grep -q -- '--python-repr=X.Y' "$T/C.out" || fail "conn-client --help lacks --python-repr"
}

# ----------------------------------------------------------------- not a pickle

@test "repr: builtins CPython prints specially (functions, Ellipsis, NotImplemented, type(None), range, slice), every protocol" {
	"$PYTHON" - "$T" <<'EOF'
import pickle, sys
t = sys.argv[1]
objs = [len, open, print, ..., NotImplemented, type(None), type(...),
        type(NotImplemented), range(3), range(1, 10, 2), range(-5, 2**70),
        slice(1, 2), slice(None), [int, str, dict, ValueError],
        {type(None): range(0), ...: slice(1, None, -1)}]
with open(t + '/in', 'w') as f, open(t + '/want', 'w') as w:
    for proto in range(6):
        for o in objs:
            f.write(pickle.dumps(o, proto).hex() + '\n')
            w.write(repr(o) + '\n')
EOF
	run_to P --in "$T/in" conn-pipe --in hex --out repr
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" || fail "(< python, > conn-pipe):
$(head -c 3000 "$T/diff")"
}

@test "not a pickle with --out repr/json/pickle-dis: exit 5 'message N: offset X, opcode ...'" {
	# message 2: a truncated pickle; message 3 would be fine
	printf '80044b012e\n80044b\n80044e2e\n' >"$T/in"
	local fmt
	for fmt in repr json pickle-dis; do
		run_to "P-$fmt" --in "$T/in" conn-pipe --in hex --out "$fmt"
		expect_exit "P-$fmt" 5
		assert_err_only "P-$fmt" '^conn-pipe: message 2: offset [0-9]+, '
	done
	# garbage that is no opcode at all
	printf '80044b012e\nffff\n' >"$T/in2"
	run_to G --in "$T/in2" conn-pipe --in hex --out repr
	expect_exit G 5
	assert_err_only G '^conn-pipe: message 2: offset 0[,:] .*opcode.*0xff'
	# and over the network
	listen L --out repr 127.0.0.1:0
	peer S mp_peer client "127.0.0.1:$PORT" --send 'plain text'
	expect_exit L 5
	assert_err_only L '^conn-listen: message 1: offset [0-9]+, opcode '
}

@test "not a pickle: messages that merely look like handshake frames are errors, not bytes" {
	# a JSON text, 16 bytes, a #WELCOME# with more after it
	local m
	for m in '{"a": 1}' 0123456789abcdefg '#WELCOME# and more'; do
		printf '%s\n' "$m" >"$T/in"
		run_to P --in "$T/in" conn-pipe --out repr
		expect_exit P 5
		assert_err_only P '^conn-pipe: message 1: offset 0'
	done
	# a live peer's first message is never a handshake frame, even 16 bytes
	for m in '{"x": 1}' 0123456789abcdef; do
		listen L --out repr 127.0.0.1:0
		peer S mp_peer client "127.0.0.1:$PORT" --send "$m"
		expect_exit L 5
		assert_err_only L '^conn-listen: message 1: offset 0'
		unset 'BG_PID[L]' 'BG_PID[S]'
	done
}

@test "--keep-going: a message that is not a pickle is shown in hex with a warning, the stream goes on, exit 0" {
	printf '80044b012e\n80044b\n8004880a\n80044e2e\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out repr --keep-going
	expect_exit P 0
	assert_file "$T/P.out" $'1\n80044b\n8004880a\nNone\n'
	[[ $(grep -c 'warning' "$T/P.err") == 2 ]] || fail "expected two warnings: $(cat "$T/P.err")"
	assert_err P '^conn-pipe: warning: message 2 '
	assert_err P '^conn-pipe: warning: message 3 '

	listen L --out json --keep-going 127.0.0.1:0
	peer S mp_peer client "127.0.0.1:$PORT" --send 'plain text' --send-hex 80044e2e
	expect_exit S 0
	expect_exit L 0
	assert_file "$T/L.out" "$(printf 'plain text' | xxd -p)
null
"
	assert_err L '^conn-listen: warning: message 1 '
}

# ----------------------------------------------------------------- managers

# manager: start tests/peers/manager.py (a BaseManager with type "Calc",
# authkey $KEY) and set PORT, KEYFILE
manager() {
	peer M manager listen --authkey "$KEY" --timeout 60
	KEYFILE=$(key_file key "$KEY")
}

# call NAME JSON...: one conn-client connection to the manager, sending the
# JSON lines, printing the replies as repr
call() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$T/$name.in"
	run_to "$name" --in "$T/$name.in" conn-client --authkey-file "$KEYFILE" \
		--in json --out repr "127.0.0.1:$PORT"
	expect_exit "$name" 0
}

@test "manager: conn-client --in json --out repr calls a real BaseManager (dummy, create, then methods)" {
	manager
	call D '["", "dummy", [], {}]'
	assert_file "$T/D.out" "('#RETURN', None)
"
	call N '[null, "dummy", [], {}]'
	assert_file "$T/N.out" "('#RETURN', None)
"
	# create a Calc: ('#RETURN', (ident, exposed))
	call C '[null, "create", ["Calc"], {}]'
	grep -Eqx "\('#RETURN', \('[0-9a-f]+', \('add', 'greet'\)\)\)" "$T/C.out" ||
		fail "create: $(cat "$T/C.out")"
	local id
	id=$(sed -n "s/^('#RETURN', ('\([0-9a-f]*\)'.*/\1/p" "$T/C.out")
	# a second connection becomes a proxy connection, then calls methods
	call A '[null, "accept_connection", ["shell"], {}]' \
		"[\"$id\", \"add\", [2, 3], {}]" \
		"[\"$id\", \"greet\", [\"world\"], {}]" \
		"[\"$id\", \"add\", [[1], [2, 3]], {}]" \
		"[\"$id\", \"add\", [], {\"a\": \"x\", \"b\": \"y\"}]"
	assert_file "$T/A.out" "('#RETURN', None)
('#RETURN', 5)
('#RETURN', 'hello world')
('#RETURN', [1, 2, 3])
('#RETURN', 'xy')
"
}

@test "manager: the reply to a bad request is ('#TRACEBACK', ...) as Python prints it" {
	manager
	call B '[null, "no_such_method", [], {}]'
	grep -q "^('#TRACEBACK', 'Traceback (most recent call last):\\\\n" "$T/B.out" ||
		fail "$(cat "$T/B.out")"
	grep -q "no_such_method" "$T/B.out" || fail "$(cat "$T/B.out")"
	[[ $(wc -l <"$T/B.out") == 1 ]] || fail "not one line: $(cat "$T/B.out")"
}

@test "manager: an error reply ('#ERROR', exception) prints as Python prints it, and as tagged JSON" {
	manager
	call C '[null, "create", ["Calc"], {}]'
	local id
	id=$(sed -n "s/^('#RETURN', ('\([0-9a-f]*\)'.*/\1/p" "$T/C.out")
	call A '[null, "accept_connection", ["shell"], {}]' \
		"[\"$id\", \"add\", [2, \"x\"], {}]"
	"$PYTHON" -c "
try:
    2 + 'x'
except TypeError as e:
    print(repr(('#RETURN', None)))
    print(repr(('#ERROR', e)))" >"$T/want"
	diff "$T/want" "$T/A.out" || fail "python vs conn-client differ"
	printf '%s\n' '[null, "accept_connection", ["shell"], {}]' \
		"[\"$id\", \"add\", [2, \"x\"], {}]" >"$T/J.in"
	run_to J --in "$T/J.in" conn-client --authkey-file "$KEYFILE" \
		--in json --out json "127.0.0.1:$PORT"
	expect_exit J 0
	assert_file "$T/J.out" '{"__tuple__": ["#RETURN", null]}
{"__tuple__": ["#ERROR", {"__exception__": {"type": "TypeError", "args": ["unsupported operand type(s) for +: '"'int' and 'str'"'"]}}]}
'
}

@test "manager: conn-client's repr equals the repr a Python client computes" {
	manager
	call C '[null, "create", ["Calc"], {}]'
	"$PYTHON" - "$PORT" "$KEY" >"$T/py" <<'EOF'
import sys
from multiprocessing.connection import Client
with Client(('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode()) as c:
    c.send((None, 'number_of_objects', (), {}))
    print(repr(c.recv()))
with Client(('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode()) as c:
    c.send(('', 'dummy', (), {}))
    print(repr(c.recv()))
EOF
	call O '[null, "number_of_objects", [], {}]'
	call D '["", "dummy", [], {}]'
	cat "$T/O.out" "$T/D.out" >"$T/shell"
	diff "$T/py" "$T/shell" || fail "python vs conn-client differ"
}

@test "json in: --max-size bounds the pickle sent, not the JSON text" {
	printf '"%s"\n' "$(printf 'a%.0s' $(seq 40))" >"$T/in"
	run_to P --in "$T/in" conn-pipe --in json --out repr --max-size 30
	expect_exit P 5
	assert_err_only P '^conn-pipe: stdin message 1 is longer than --max-size \(30 bytes\)$'
	printf '"aaaa"\n' >"$T/in2"
	run_to Q --in "$T/in2" conn-pipe --in json --out repr --max-size 30
	expect_exit Q 0
	assert_file "$T/Q.out" $'\'aaaa\'\n'
}
