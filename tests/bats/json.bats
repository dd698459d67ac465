#!/usr/bin/env bats
# --in json reads back the tags --out json writes (README's JSON table,
# conn-pipe(1)): the round trip of every pickles.json vector under every
# protocol, judged by python3's repr(pickle.loads()); each tag alone, byte
# for byte against CPython's pickle of its object; the errors of bad tags;
# and a tuple key and bytes sent to a Python Listener.

load helpers

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
	cut -f1 "$T/cases" >"$T/in"
	local proto
	for proto in 0 1 2 3 4 5; do
		run_to "P$proto" --in "$T/in" conn-pipe --in json --out frames --pickle-protocol "$proto"
		expect_exit "P$proto" 0
		"$PYTHON" - "$T/cases" "$T/P$proto.out" "$proto" <<'EOF' >"$T/bad" || fail "protocol $proto: $(head -c 4000 "$T/bad")"
import os, pickle, pickletools, sys
sys.path.insert(0, os.environ['CONN_PEERS'])
from capture import frames_of
cases = [l.split('\t') for l in open(sys.argv[1]).read().split('\n')[:-1]]
frames, proto = frames_of(open(sys.argv[2], 'rb').read()), int(sys.argv[3])
bad = 0
if len(frames) != len(cases):
    print('%d frames for %d cases' % (len(frames), len(cases)))
    bad += 1
for (text, expr), got in zip(cases, frames):
    want = pickletools.optimize(pickle.dumps(eval(expr), proto))
    if got != want:
        print('%.60s: %s, CPython %s' % (text, got[:60].hex(), want[:60].hex()))
        bad += 1
sys.exit(1 if bad else 0)
EOF
	done
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

@test "tags: a bad tag is exit 5 with one line naming the line, the column and what is wrong" {
	local case bad want
	local -a cases=(
		'{"__repr__": "<class '"'float'"'>"}|\{"__repr__": \.\.\.\} at column 1: what only Python can make, it cannot be sent back$'
		'{"__bytes__": 5}|\{"__bytes__": \.\.\.\} at column 1: its value must be a base64 string'
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
