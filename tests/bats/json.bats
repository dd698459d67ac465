#!/usr/bin/env bats
# --in json reads back the tags --out json writes (README's JSON table,
# conn-pipe(1)): the round trip of every pickles.json vector under every
# protocol, judged by python3's repr(pickle.loads()); each tag alone, byte
# for byte against CPython's pickle of its object; the errors of bad tags;
# and a tuple key and bytes sent to a Python Listener.

load helpers
load "$BATS_TEST_DIRNAME/../cpython/cpython"

KEY=secret

# frames_check FRAMES_FILE WANT_FILE PROTOCOL: python3 loads each frame of
# FRAMES_FILE; its repr() must be the line of WANT_FILE in the same place,
# and the pickle must use no opcode past PROTOCOL. Complaints on stdout.
frames_check() {
	"$PYTHON" - "$@" <<'EOF'
import os, pickle, pickletools, sys
sys.path.insert(0, os.environ['CONN_PEERS'])
from capture import frames_of
frames = frames_of(open(sys.argv[1], 'rb').read())
want = open(sys.argv[2], encoding='utf-8').read().split('\n')[:-1]
proto = int(sys.argv[3])
bad = []
if len(frames) != len(want):
    bad.append('%d frames for %d objects' % (len(frames), len(want)))
for n, (p, w) in enumerate(zip(frames, want)):
    try:
        got = repr(pickle.loads(p))
    except Exception as e:
        bad.append('line %d: pickle.loads fails: %r (%s)' % (n + 1, e, p[:40].hex()))
        continue
    if got != w:
        bad.append('line %d: repr %.200s, expected %.200s' % (n + 1, got, w))
    highest = max(op.proto for op, _, _ in pickletools.genops(p))
    if highest > proto:
        bad.append('line %d: protocol %d opcodes' % (n + 1, highest))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

# cpython_bytes_check CASES: each line of CASES, "JSON<tab>EXPR", through
# --in json under every protocol 0-5, must be python3's
# pickletools.optimize(pickle.dumps(EXPR, protocol)) byte for byte, or
# where the README says how it differs, of the same repr().
cpython_bytes_check() {
	cut -f1 "$1" >"$T/in"
	local proto
	for proto in 0 1 2 3 4 5; do
		run_to "P$proto" --in "$T/in" conn-pipe --in json --out frames --pickle-protocol "$proto"
		expect_exit "P$proto" 0
		"$PYTHON" - "$1" "$T/P$proto.out" "$proto" <<'PY' >"$T/bad" || fail "protocol $proto: $(head -c 4000 "$T/bad")"
import array, collections, datetime, decimal, fractions, ipaddress, os, pathlib, pickle, pickletools, queue, re, sys, uuid, warnings, zoneinfo
warnings.simplefilter('ignore', DeprecationWarning)  # array('u') from 3.13
sys.path.insert(0, os.environ['CONN_PEERS'])
from capture import frames_of
td, tz = datetime.timedelta, datetime.timezone
cases = [l.split('\t') for l in open(sys.argv[1]).read().split('\n')[:-1]]
frames, proto = frames_of(open(sys.argv[2], 'rb').read()), int(sys.argv[3])
bad = 0
if len(frames) != len(cases):
    print('%d frames for %d cases' % (len(frames), len(cases)))
    bad += 1
for (text, expr), got in zip(cases, frames):
    obj = eval(expr)
    want = pickletools.optimize(pickle.dumps(obj, proto))
    # Below protocol 3, OSError's subclasses and ModuleNotFoundError,
    # which CPython writes as exceptions.OSError and ImportError, that
    # Python 3 loads as such (OSError('a') for ConnectionError('a')).
    # And paths, whole where 3.11 gives their parts, and arrays from
    # protocol 3, as a list where CPython gives the machine's bytes.
    lossy = (proto < 3 and expr.startswith(('ModuleNotFound', 'FileNotFound', 'Connection'))
             or expr.startswith('pathlib.') or (proto >= 3 and expr.startswith('array.')))
    if lossy:
        same = repr(pickle.loads(got)) == repr(obj)
    else:
        same = got == want
    if not same:
        print('%.60s: %s, CPython %s' % (text, got[:80].hex(), want[:80].hex()))
        bad += 1
sys.exit(1 if bad else 0)
PY
	done
}

@test "round trip: --out json | --in json gives every vector back, every protocol 0-5 in and out, repr() as python3 prints the original" {
	# Every pickle of every vector, one hex line each, and the repr() it
	# must come back with.
	"$PYTHON" - "$CONN_VECTORS/pickles.json" "$T/in.hex" "$T/all.want" <<'EOF'
import json, sys
vectors = json.load(open(sys.argv[1]))['pickles']
with open(sys.argv[2], 'w') as h, open(sys.argv[3], 'w', encoding='utf-8') as w:
    for v in vectors:
        for proto, hexdata in sorted(v['by_protocol'].items()):
            h.write(hexdata + '\n')
            w.write(v['python_repr'] + '\n')
EOF
	run_to J --in "$T/in.hex" conn-pipe --in hex --out json
	expect_exit J 0
	# Less those that hold {"__repr__": ...}, which cannot come back (a
	# class: the "seed example" vector, tested below); all the others.
	"$PYTHON" - "$T/J.out" "$T/all.want" "$T/json" "$T/want" <<'EOF'
import json, sys
def shows_repr(x):
    if isinstance(x, dict):
        return list(x) == ['__repr__'] or any(shows_repr(v) for v in x.values())
    return isinstance(x, list) and any(shows_repr(v) for v in x)
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')[:-1]
want = open(sys.argv[2], encoding='utf-8').read().split('\n')[:-1]
assert len(lines) == len(want), (len(lines), len(want))
kept = [(l, w) for l, w in zip(lines, want) if not shows_repr(json.loads(l))]
assert len(kept) >= 200 and len(lines) - len(kept) <= 6, (len(kept), len(lines))
with open(sys.argv[3], 'w', encoding='utf-8') as j, open(sys.argv[4], 'w', encoding='utf-8') as w:
    for l, x in kept:
        j.write(l + '\n')
        w.write(x + '\n')
EOF
	local proto
	for proto in 0 1 2 3 4 5; do
		run_to "P$proto" --in "$T/json" conn-pipe --in json --out frames --pickle-protocol "$proto"
		expect_exit "P$proto" 0
		frames_check "$T/P$proto.out" "$T/want" "$proto" >"$T/bad" ||
			fail "protocol $proto: $(head -c 4000 "$T/bad")"
	done
}

@test "round trip: a vector holding a class renders as {\"__repr__\": ...}, which --in json refuses, exit 5" {
	"$PYTHON" - "$CONN_VECTORS/pickles.json" >"$T/in.hex" <<'EOF'
import json, sys
for v in json.load(open(sys.argv[1]))['pickles']:
    if v['name'] == 'seed example':
        print(v['by_protocol']['4'])
EOF
	run_to J --in "$T/in.hex" conn-pipe --in hex --out json
	expect_exit J 0
	assert_file "$T/J.out" '[2.25, null, "junk", {"__repr__": "<class '"'float'"'>"}]
'
	spawn P --in "$T/J.out" conn-pipe --in json --out hex
	finish P 10
	[[ $STATUS == 5 ]] || fail "exit $STATUS, expected 5: $(cat "$T/P.err")"
	assert_err_only P '^conn-pipe: stdin line 1: \{"__repr__": \.\.\.\} at column 22: what only Python can make, it cannot be sent back$'
}

@test "each tag alone is the object's pickle as CPython writes it, byte for byte (pickletools.optimize), every protocol 0-5" {
	"$PYTHON" - "$T/cases" <<'EOF'
import base64, json, sys
b64 = lambda b: base64.b64encode(b).decode()
cases = [
    ('{"__bytes__": "%s"}' % b64(b'\x00hi\xff\n\\'), "b'\\x00hi\\xff\\n\\\\'"),
    ('{"__bytes__": ""}', "b''"),
    ('{"__bytes__": "%s"}' % b64(bytes(range(256)) * 2), 'bytes(range(256)) * 2'),
    ('{"__bytearray__": "%s"}' % b64(b'ab\x80'), "bytearray(b'ab\\x80')"),
    ('{"__bytearray__": ""}', 'bytearray()'),
    ('{"__float__": "nan"}', 'float("nan")'),
    ('{"__float__": "inf"}', 'float("inf")'),
    ('{"__float__": "-inf"}', 'float("-inf")'),
    ('{"__tuple__": []}', '()'),
    ('{"__tuple__": [1]}', '(1,)'),
    ('{"__tuple__": [1, "a", null]}', '(1, "a", None)'),
    ('{"__tuple__": [1, 2, 3, [4]]}', '(1, 2, 3, [4])'),
    ('{"__set__": []}', 'set()'),
    ('{"__set__": [7]}', '{7}'),
    ('{"__set__": %s}' % json.dumps(list(range(1001))), 'set(range(1001))'),
    ('{"__frozenset__": []}', 'frozenset()'),
    ('{"__frozenset__": [1, 2]}', 'frozenset([1, 2])'),
    ('{"__complex__": [1.5, -2.0]}', '1.5-2j'),
    ('{"__complex__": [0, 1]}', '1j'),
    ('{"__complex__": [100000000000000000000000, -1]}', 'complex(10 ** 23, -1)'),
    ('{"__complex__": [{"__float__": "inf"}, {"__float__": "nan"}]}',
     'complex(float("inf"), float("nan"))'),
    ('{"__dict__": []}', '{}'),
    ('{"__dict__": [[1, "one"], [[2, [3]], null], [{"__tuple__": []}, 0.5]]}',
     '{1: "one", (2, (3,)): None, (): 0.5}'),
    ('{"__dict__": [[{"__frozenset__": [1]}, {"__bytes__": "AA=="}]]}',
     '{frozenset([1]): b"\\x00"}'),
    # one item each: CPython writes a set in its hash order
    ('{"__set__": [[1, [2]]]}', '{(1, (2,))}'),
    ('{"__frozenset__": [{"__bytes__": "eA=="}]}', 'frozenset([b"x"])'),
    ('{"__set__": [{"__float__": "inf"}]}', '{float("inf")}'),
    ('18446744073709551616', '2 ** 64'),
    ('-18446744073709551617', '-2 ** 64 - 1'),
    ('-170141183460469231731687303715884105728', '-2 ** 127'),
    ('340282366920938463463374607431768211455', '2 ** 128 - 1'),
    (str(7 ** 1500), '7 ** 1500'),
    (str(-3 ** 2000), '-3 ** 2000'),
]
with open(sys.argv[1], 'w') as f:
    for text, expr in cases:
        f.write(text + '\t' + expr + '\n')
EOF
	cpython_bytes_check "$T/cases"
}

@test "standard library tags: each is the object's pickle as CPython writes it, byte for byte (pickletools.optimize), the memo of its globals too, every protocol 0-5" {
	cat >"$T/cases" <<'EOF'
{"__date__": "2024-02-29"}	datetime.date(2024, 2, 29)
{"__date__": "0001-01-01"}	datetime.date.min
{"__time__": "13:45:30.123456"}	datetime.time(13, 45, 30, 123456)
{"__time__": "23:59:59"}	datetime.time(23, 59, 59)
{"__time__": "13:45:00+00:00"}	datetime.time(13, 45, tzinfo=tz.utc)
{"__time__": "13:45:00-05:30:15.000001"}	datetime.time(13, 45, tzinfo=tz(-td(hours=5, minutes=30, seconds=15, microseconds=1)))
{"__datetime__": "2024-02-29T13:45:30.123456"}	datetime.datetime(2024, 2, 29, 13, 45, 30, 123456)
{"__datetime__": "9999-12-31T23:59:59.999999"}	datetime.datetime.max
{"__datetime__": "2024-02-29T13:45:30+01:00"}	datetime.datetime(2024, 2, 29, 13, 45, 30, tzinfo=tz(td(hours=1)))
{"__timedelta__": {"days": -1, "seconds": 86399, "microseconds": 999999}}	td(microseconds=-1)
{"__timedelta__": {"microseconds": 5, "days": 999999999}}	td(days=999999999, microseconds=5)
{"__timedelta__": {}}	td(0)
{"__timezone__": {"offset": "+05:30", "name": "IST"}}	tz(td(hours=5, minutes=30), "IST")
{"__timezone__": {"offset": "+00:00", "name": null}}	tz.utc
{"__timezone__": {"offset": "-01:00"}}	tz(-td(hours=1))
{"__decimal__": "3.14"}	decimal.Decimal("3.14")
{"__decimal__": "-Infinity"}	decimal.Decimal("-Infinity")
{"__decimal__": "sNaN12"}	decimal.Decimal("sNaN12")
{"__decimal__": "-1.5E+10"}	decimal.Decimal("-1.5E+10")
{"__fraction__": "1/3"}	fractions.Fraction(1, 3)
{"__fraction__": "-7"}	fractions.Fraction(-7)
{"__fraction__": "1000000000000000000000000000000/3"}	fractions.Fraction(10 ** 30, 3)
{"__uuid__": "12345678-1234-5678-1234-567812345678"}	uuid.UUID("12345678-1234-5678-1234-567812345678")
{"__uuid__": "00000000-0000-0000-0000-000000000005"}	uuid.UUID(int=5)
{"__uuid__": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"}	uuid.UUID(int=2 ** 128 - 1)
{"__defaultdict__": {"default_factory": {"__repr__": "<class 'list'>"}, "items": {"x": [1]}}}	collections.defaultdict(list, {"x": [1]})
{"__defaultdict__": {"default_factory": {"__repr__": "<class 'int'>"}, "items": {"a": 1, "b": 2}}}	collections.defaultdict(int, {"a": 1, "b": 2})
{"__defaultdict__": {"items": {"__dict__": [[1, 2]]}, "default_factory": null}}	collections.defaultdict(None, {1: 2})
{"__defaultdict__": {"default_factory": {"__repr__": "<class 'collections.OrderedDict'>"}, "items": {}}}	collections.defaultdict(collections.OrderedDict)
{"__deque__": {"items": [1, 2], "maxlen": 3}}	collections.deque([1, 2], 3)
{"__deque__": {"items": [1], "maxlen": null}}	collections.deque([1])
{"__deque__": {"items": []}}	collections.deque()
{"__deque__": {"maxlen": 0}}	collections.deque(maxlen=0)
{"__counter__": {"b": 2, "a": 1}}	collections.Counter({"b": 2, "a": 1})
{"__counter__": {"__dict__": [[1, 2]]}}	collections.Counter({1: 2})
{"__counter__": {}}	collections.Counter()
{"__exception__": {"type": "KeyError", "args": ["missing"]}}	KeyError("missing")
{"__exception__": {"type": "FileNotFoundError", "args": [2, "No such file or directory"]}}	FileNotFoundError(2, "No such file or directory")
{"__exception__": {"type": "ValueError", "args": []}}	ValueError()
{"__exception__": {"type": "ModuleNotFoundError", "args": ["x"]}}	ModuleNotFoundError("x")
{"__exception__": {"type": "ConnectionError", "args": ["a"]}}	ConnectionError("a")
{"__exception__": {"type": "_queue.Empty", "args": []}}	queue.Empty()
{"__dict__": [[{"__date__": "2024-02-29"}, {"__tuple__": [{"__decimal__": "1"}]}]]}	{datetime.date(2024, 2, 29): (decimal.Decimal("1"),)}
{"__pureposixpath__": "/a/b"}	pathlib.PurePosixPath("/a/b")
{"__posixpath__": "rel/x"}	pathlib.PosixPath("rel/x")
{"__purewindowspath__": "c:/x"}	pathlib.PureWindowsPath("c:/x")
{"__ipv4address__": "192.168.1.1"}	ipaddress.IPv4Address("192.168.1.1")
{"__ipv6address__": "2001:db8::1"}	ipaddress.IPv6Address("2001:db8::1")
{"__ipv4network__": "10.0.0.0/8"}	ipaddress.IPv4Network("10.0.0.0/8")
{"__ipv6network__": "2001:db8::/32"}	ipaddress.IPv6Network("2001:db8::/32")
{"__ipv4interface__": "1.2.3.4/24"}	ipaddress.IPv4Interface("1.2.3.4/24")
{"__ipv6interface__": "::1/128"}	ipaddress.IPv6Interface("::1/128")
{"__pattern__": {"pattern": "a+", "flags": 34}}	re.compile("a+", re.I)
{"__pattern__": {"flags": 0, "pattern": {"__bytes__": "eA=="}}}	re.compile(b"x")
{"__array__": {"typecode": "i", "items": [1, 2]}}	array.array("i", [1, 2])
{"__array__": {"typecode": "d", "items": [0.5, {"__float__": "inf"}]}}	array.array("d", [0.5, float("inf")])
{"__array__": {"typecode": "u", "items": "h\u00e9"}}	array.array("u", "h\xe9")
{"__array__": {"typecode": "u", "items": ""}}	array.array("u")
{"__zoneinfo__": "Europe/Paris"}	zoneinfo.ZoneInfo("Europe/Paris")
[{"__date__": "2024-02-29"}, {"__time__": "12:00:00+00:00"}, {"__datetime__": "2024-02-29T13:45:30+00:00"}, {"__date__": "2024-03-01"}]	[datetime.date(2024, 2, 29), datetime.time(12, tzinfo=tz.utc), datetime.datetime(2024, 2, 29, 13, 45, 30, tzinfo=tz.utc), datetime.date(2024, 3, 1)]
[{"__uuid__": "00000000-0000-0000-0000-000000000001"}, {"__uuid__": "00000000-0000-0000-0000-000000000002"}]	[uuid.UUID(int=1), uuid.UUID(int=2)]
[{"__bytes__": "AA=="}, {"__bytes__": "AQ=="}, {"__complex__": [1, 2]}, {"__complex__": [3, 4]}, {"__set__": [1]}, {"__frozenset__": [2]}]	[b"\x00", b"\x01", 1+2j, 3+4j, {1}, frozenset([2])]
[{"__exception__": {"type": "KeyError", "args": ["a"]}}, {"__exception__": {"type": "ValueError", "args": []}}, {"__exception__": {"type": "KeyError", "args": []}}]	[KeyError("a"), ValueError(), KeyError()]
[{"__zoneinfo__": "UTC"}, {"__zoneinfo__": "Europe/Paris"}, {"__decimal__": "1"}, {"__decimal__": "2"}]	[zoneinfo.ZoneInfo("UTC"), zoneinfo.ZoneInfo("Europe/Paris"), decimal.Decimal(1), decimal.Decimal(2)]
EOF
	cpython_bytes_check "$T/cases"
}

@test "tags: an object with other keys beside a tag, or one __x__ key that is no tag, is a dict; --out json writes such a dict back as {\"__dict__\": ...}" {
	printf '%s\n' '{"__x__": 1}' '{"__tuple__": [1], "b": 2}' '{"__tuple__": [1], "__tuple__": [2]}' \
		'{"__dict__": [["__set__", []]]}' '{"____": 0, "__": 1}' >"$T/in"
	run_to P --in "$T/in" conn-pipe --in json --out hex
	expect_exit P 0
	run_to R --in "$T/P.out" conn-pipe --in hex --out repr
	expect_exit R 0
	assert_file "$T/R.out" "{'__x__': 1}
{'__tuple__': [1], 'b': 2}
{'__tuple__': [2]}
{'__set__': []}
{'____': 0, '__': 1}
"
	run_to J --in "$T/P.out" conn-pipe --in hex --out json
	expect_exit J 0
	assert_file "$T/J.out" '{"__dict__": [["__x__", 1]]}
{"__tuple__": [1], "b": 2}
{"__dict__": [["__tuple__", [2]]]}
{"__dict__": [["__set__", []]]}
{"____": 0, "__": 1}
'
	# and that JSON reads back as the same dicts
	run_to Q --in "$T/J.out" conn-pipe --in json --out repr
	expect_exit Q 0
	assert_file "$T/Q.out" "$(cat "$T/R.out")
"
}

@test "tags: a value --out json would show as {\"__repr__\": ...} is refused; what --in json takes, --out json writes back the same" {
	# The pickle-json fuzzer's find: a WindowsPath of "zc:/x" was taken,
	# then written back as a call.
	printf '%s\n' '[{"__pureposixpath__": "/a/b"}, {"__windowspath__": "zc:/x"}, {"__ipv6address__": "fe80::1%eth0"}]' >"$T/bad"
	run_to P --in "$T/bad" conn-pipe --in json --out json
	expect_exit P 5
	assert_err_only P '^conn-pipe: stdin line 1: \{"__windowspath__": \.\.\.\} at column 33: written back as a call: pathlib\.WindowsPath\('"'zc:/x'"'\)$'
	[[ ! -s $T/P.out ]] || fail "stdout: $(cat "$T/P.out")"
	printf '%s\n' '[{"__pureposixpath__": "/a/b"}, {"__windowspath__": "c:/x"}, {"__ipv6address__": "fe80::1%eth0"}, {"__pattern__": {"pattern": {"__bytes__": "eA=="}, "flags": 2}}, {"__defaultdict__": {"default_factory": {"__repr__": "<class '"'list'"'>"}, "items": {"x": [{"__date__": "2024-02-29"}]}}}]' >"$T/good"
	run_to A --in "$T/good" conn-pipe --in json --out json
	expect_exit A 0
	run_to B --in "$T/A.out" conn-pipe --in json --out json
	expect_exit B 0
	assert_file "$T/B.out" "$(cat "$T/A.out")"$'\n'
	refute grep -q '"__repr__": "pathlib' "$T/A.out"
}

@test "tags: a bad tag is exit 5 with one line naming the line, the column and what is wrong" {
	local case bad want
	local -a cases=(
		'{"__repr__": "<class '"'float'"'>"}|\{"__repr__": \.\.\.\} at column 1: what only Python can make, it cannot be sent back$'
		'{"__bytes__": 5}|\{"__bytes__": \.\.\.\} at column 1: its value must be a base64 string'
		'{"__defaultdict__": {"default_factory": {"__repr__": "<class '"'os.system'"'>"}, "items": {}}}|\{"__defaultdict__": \.\.\.\} at column 1: default_factory not null nor a builtin type'"'"'s class$'
		'{"__array__": {"typecode": "d", "items": [1.5, {"x": 1}]}}|\{"__array__": \.\.\.\} at column 1: not \{"typecode"'
		'{"__array__": {"typecode": "i", "items": [1.5]}}|\{"__array__": \.\.\.\} at column 1: not \{"typecode"'
		'{"__exception__": {"type": "KeyErr;or", "args": []}}|\{"__exception__": \.\.\.\} at column 1: not an exception class conn-tools knows$'
		'{"__exception__": {"type": "os.system", "args": ["ls"]}}|\{"__exception__": \.\.\.\} at column 1: not an exception class conn-tools knows$'
		'{"__bytes__": "AAH"}|\{"__bytes__": \.\.\.\} at column 1: its value is not padded base64$'
		'{"__bytearray__": "A A="}|\{"__bytearray__": \.\.\.\} at column 1: its value is not padded base64$'
		'{"__float__": "NaN"}|\{"__float__": \.\.\.\} at column 1: its value must be "nan", "inf" or "-inf"'
		'{"__float__": 1.5}|\{"__float__": \.\.\.\} at column 1: '
		'{"__complex__": [1]}|\{"__complex__": \.\.\.\} at column 1: its value must be \[real, imag\]'
		'{"__complex__": [1, "2"]}|\{"__complex__": \.\.\.\} at column 1: '
		"{\"__complex__\": [1$(printf '0%.0s' {1..400}), 0]}|\\{\"__complex__\": \\.\\.\\.\\} at column 1: a part too large for a float\$"
		'{"__tuple__": {}}|\{"__tuple__": \.\.\.\} at column 1: its value must be an array'
		'{"__set__": null}|\{"__set__": \.\.\.\} at column 1: its value must be an array'
		'{"__dict__": [[1, 2, 3]]}|\{"__dict__": \.\.\.\} at column 1: its items must be \[key, value\] arrays'
		'{"__dict__": [1]}|\{"__dict__": \.\.\.\} at column 1: its items must be'
		'{"__dict__": [[{"a": 1}, 2]]}|a dict at column 16: unhashable: no dict key or set item$'
		'{"__set__": [[1, {"__set__": []}]]}|\{"__set__": \.\.\.\} at column 18: unhashable'
		'{"__frozenset__": [{"__bytearray__": ""}]}|\{"__bytearray__": \.\.\.\} at column 20: unhashable'
		'{"__dict__": [[{"__dict__": []}, 1]]}|\{"__dict__": \.\.\.\} at column 16: unhashable'
		'[1, {"a": [{"__repr__": "x"}]}]|\{"__repr__": \.\.\.\} at column 12: '
		'{"__object__": {"class": "a.B", "args": [], "fields": {}}}|\{"__object__": \.\.\.\} at column 1: what only Python can make, it cannot be sent back$'
		'[{"__windowspath__": "zc:/x"}]|\{"__windowspath__": \.\.\.\} at column 2: written back as a call: pathlib\.WindowsPath\('"'zc:/x'"'\)$'
		'{"__date__": "2023-02-29"}|\{"__date__": \.\.\.\} at column 1: not a date as "YYYY-MM-DD"$'
		'{"__time__": "24:00:00"}|\{"__time__": \.\.\.\} at column 1: not a time as '
		'{"__datetime__": "2024-02-29 13:45:30"}|\{"__datetime__": \.\.\.\} at column 1: not a datetime as '
		'{"__timedelta__": {"seconds": 86400}}|\{"__timedelta__": \.\.\.\} at column 1: not \{"days": D, "seconds": S, "microseconds": U\} normalized$'
		'{"__timedelta__": {"hours": 1}}|\{"__timedelta__": \.\.\.\} at column 1: no field "hours" in it$'
		'{"__timezone__": {"offset": "+24:00"}}|\{"__timezone__": \.\.\.\} at column 1: not \{"offset": '
		'{"__timezone__": {"name": "x"}}|\{"__timezone__": \.\.\.\} at column 1: not \{"offset": '
		'{"__decimal__": "3.1.4"}|\{"__decimal__": \.\.\.\} at column 1: not a str Decimal\(\) takes'
		'{"__fraction__": "1/0"}|\{"__fraction__": \.\.\.\} at column 1: not "N/D" or "N" \(D not zero\)$'
		'{"__uuid__": "1234"}|\{"__uuid__": \.\.\.\} at column 1: not a UUID as '
		'{"__defaultdict__": {"default_factory": {"__repr__": "<function f>"}}}|\{"__defaultdict__": \.\.\.\} at column 1: default_factory not null nor a builtin type'
		'{"__deque__": {"items": [], "maxlen": -1}}|\{"__deque__": \.\.\.\} at column 1: not \{"items": '
		'{"__counter__": [1]}|\{"__counter__": \.\.\.\} at column 1: its items must be a dict$'
		'{"__exception__": {"type": "KeyError"}}|\{"__exception__": \.\.\.\} at column 1: not \{"type": "KeyError", "args": \[\.\.\.\]\}$'
		'{"__set__": [{"__deque__": {}}]}|\{"__deque__": \.\.\.\} at column 14: unhashable'
		'{"__ipv4address__": "1.2.3.04"}|\{"__ipv4address__": \.\.\.\} at column 1: its value must be an address as str\(\) writes it$'
		'{"__posixpath__": 1}|\{"__posixpath__": \.\.\.\} at column 1: its value must be a str$'
		'{"__pattern__": {"pattern": {"__tuple__": []}}}|\{"__pattern__": \.\.\.\} at column 1: not \{"pattern": a str or bytes, "flags": N\}$'
		'{"__array__": {"typecode": "i", "items": "ab"}}|\{"__array__": \.\.\.\} at column 1: not \{"typecode": "i", "items": \[\.\.\.\] or a str\}$'
		'{"__array__": {"typecode": "x", "items": []}}|\{"__array__": \.\.\.\} at column 1: not \{"typecode": '
	)
	for case in "${cases[@]}"; do
		bad=${case%%|*}
		want=${case#*|}
		printf '1\n"ok"\n%s\n"after"\n' "$bad" >"$T/in"
		spawn P --in "$T/in" conn-pipe --in json --out hex
		finish P 10
		[[ $STATUS == 5 ]] || fail "'$bad': exit $STATUS, expected 5: $(cat "$T/P.err")"
		assert_err_only P "^conn-pipe: stdin line 3: $want"
		[[ $(wc -l <"$T/P.out") == 2 ]] || fail "'$bad': the lines before it should be sent: $(cat "$T/P.out")"
		unset 'BG_PID[P]'
	done
}

@test "tags over the network: conn-client --in json sends a Python Listener a tuple key, bytes, a set and a big int" {
	peer P obj_peer listen 127.0.0.1:0 --authkey "$KEY" --recv-all
	printf '%s\n' '{"__dict__": [[{"__tuple__": [1, "a"]}, {"__bytes__": "AP8="}]]}' \
		'[{"__set__": [3]}, {"__frozenset__": []}, {"__tuple__": []}, 123456789012345678901234567890]' \
		'{"__complex__": [0.5, -1]}' '{"__bytearray__": "eHk="}' >"$T/in"
	run_to C --in "$T/in" conn-client --authkey-file "$(key_file key "$KEY")" --in json "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" "{(1, 'a'): b'\\x00\\xff'}
[{3}, frozenset(), (), 123456789012345678901234567890]
(0.5-1j)
bytearray(b'xy')
"
}

# std_round_trip NAME: the standard library values of reprs_values.py and
# reprs_collections.py, pickled by the interpreter for NAME under each of
# its protocols, through --out json | --in json under every protocol it
# has, must load in it with the original's repr(). Left out: what has no
# tag that --in json reads (enums, cycles, a datetime of a ZoneInfo:
# {"__repr__": ...}), and what the JSON drops by design:
# OrderedDict (a dict), fold, a datetime's or time's timezone name.
std_round_trip() {
	local found py proto highest
	found=$(cpython_list | cpython_pick "$1")
	[[ -n $found ]] || skip "$(cpython_title "$1"): not found on this machine"
	py=${found#* }
	"$py" -E "$CONN_PEERS/reprs.py" "$CONN_PEERS/reprs_values.py" \
		"$CONN_PEERS/reprs_collections.py" >"$T/cases" || fail "$py: the oracle failed"
	"$py" -E - "$T/cases" "$T" <<'PY'
import json, sys
with open(sys.argv[2] + '/hex', 'w') as h, open(sys.argv[2] + '/want', 'w') as w:
    for line in open(sys.argv[1]):
        c = json.loads(line)
        h.write(c['pickle'] + '\n')
        w.write(json.dumps([c['name'], c['protocol'], c['repr']]) + '\n')
PY
	run_to J --in "$T/hex" conn-pipe --in hex --out json
	expect_exit J 0
	"$py" -E - "$T/J.out" "$T/want" "$T" <<'PY'
import json, re, sys
UNREAD = re.compile(r'"__(repr|object)__"')
DROPPED = re.compile(r'^(OrderedDict|empty OrderedDict|nested OrderedDict|'
                     r'datetime named|datetime fold|time fold)$')
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')[:-1]
want = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')]
assert len(lines) == len(want), (len(lines), len(want))
kept = [(l, w) for l, w in zip(lines, want)
        if not UNREAD.search(l) and not DROPPED.match(w[0])]
assert len(kept) >= 300, len(kept)
with open(sys.argv[3] + '/json', 'w', encoding='utf-8') as j, \
        open(sys.argv[3] + '/kept', 'w', encoding='utf-8') as k:
    for l, w in kept:
        j.write(l + '\n')
        k.write(json.dumps(w) + '\n')
PY
	highest=$("$py" -c 'import pickle; print(pickle.HIGHEST_PROTOCOL)')
	for proto in $(seq 0 "$highest"); do
		run_to "P$proto" --in "$T/json" conn-pipe --in json --out frames --pickle-protocol "$proto"
		expect_exit "P$proto" 0
		"$py" -E - "$T/P$proto.out" "$T/kept" "$T/json" <<'PY' >"$T/bad" ||
import os, pickle, sys
sys.path.insert(0, os.environ['CONN_PEERS'])
from capture import frames_of
import json
frames = frames_of(open(sys.argv[1], 'rb').read())
kept = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')]
texts = open(sys.argv[3], encoding='utf-8').read().split('\n')
bad = 0
if len(frames) != len(kept):
    print('%d frames for %d values' % (len(frames), len(kept)))
    bad += 1
for (name, proto, want), frame, text in zip(kept, frames, texts):
    try:
        got = repr(pickle.loads(frame))
    except Exception as e:
        got = 'pickle.loads fails: %r' % e
    if got != want:
        print('%s (protocol %d): %s gives %s, expected %s' % (name, proto, text, got, want))
        bad += 1
sys.exit(1 if bad else 0)
PY
			fail "$1, --pickle-protocol $proto: $(head -c 4000 "$T/bad")"
	done
}

@test "round trip: the standard library values of python3 come back, every protocol in and out" { std_round_trip 3.11; }
@test "round trip: the standard library values of python3.8 come back, every protocol in and out" { std_round_trip 3.8; }
@test "round trip: the standard library values of python3.13 come back, every protocol in and out" { std_round_trip 3.13; }
