#!/usr/bin/env bats
# Message formats on stdin and stdout: lines, null (-0), raw, frames, hex.
# Python's multiprocessing.connection (tests/peers/mp_peer.py) is the other end
# wherever message boundaries must be seen exactly.

load helpers

# py_listen [--in FILE] ARGS...: mp_peer listening on 127.0.0.1:0 (sets PORT)
py_listen() { peer P mp_peer listen 127.0.0.1:0 "$@"; }

# vectors: $T/payload-N files and $T/payloads (their list) for every payload of
# frames.json we can build, $T/expected.hex (their frames as one hex string,
# taken from frame_hex / header_hex) and $T/expected.hexlines.
vectors() {
	"$PYTHON" - "$CONN_VECTORS/frames.json" "$T" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
t = sys.argv[2]
frames_hex, paths, hexlines = '', [], ''
for i, f in enumerate(d['frames']):
    if f.get('payload_hex') is not None and f.get('frame_hex') is not None:
        p, fh = bytes.fromhex(f['payload_hex']), f['frame_hex']
    elif f.get('payload_desc') == "b'x' * 70000":
        p = b'x' * 70000
        fh = f['header_hex'] + p.hex()
    else:
        continue
    path = os.path.join(t, 'payload-%d' % i)
    with open(path, 'wb') as out:
        out.write(p)
    frames_hex += fh
    paths.append(path)
    hexlines += p.hex() + '\n'
assert len(paths) >= 5, paths
open(os.path.join(t, 'payloads'), 'w').write('\n'.join(paths) + '\n')
open(os.path.join(t, 'expected.hex'), 'w').write(frames_hex)
open(os.path.join(t, 'expected.hexlines'), 'w').write(hexlines)
EOF
	SEND_ARGS=()
	local f
	while read -r f; do SEND_ARGS+=(--send-file "$f"); done <"$T/payloads"
}

hex_of() { xxd -p "$1" | tr -d '\n'; }

# ----------------------------------------------------------------- lines

@test "lines in: one message per line, newline not sent, empty line is a message, last line without newline counts" {
	printf 'alpha\nbeta gamma\n\nlast' >"$T/in"
	py_listen --recv-all --hex-out
	run_to C --in "$T/in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" "$(printf 'alpha' | xxd -p)
$(printf 'beta gamma' | xxd -p)

$(printf 'last' | xxd -p)
"
}

@test "lines out: each message followed by a newline (both tools)" {
	listen L --out lines 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send one --send-hex '' --send 'two words'
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/L.out" $'one\n\ntwo words\n'

	py_listen --send x --send y
	run_to C conn-client --out lines "127.0.0.1:$PORT"
	expect_exit C 0
	assert_file "$T/C.out" $'x\ny\n'
}

@test "lines: the listener's last line without newline arrives as a message" {
	printf 'first\nlast' >"$T/l.in"
	listen L --in "$T/l.in" 127.0.0.1:0
	run_to C conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" $'first\nlast\n'
}

# ----------------------------------------------------------------- null

@test "null (-0) in: NUL separates messages, newlines are payload" {
	printf 'a\nb\0second\0\0tail' >"$T/in"
	py_listen --recv-all --hex-out
	run_to C --in "$T/in" conn-client -0 "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" "610a62
7365636f6e64

7461696c
"
}

@test "null out: --format=null writes each message followed by NUL" {
	listen L --format=null 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send $'x\ny' --send-hex '' --send z
	expect_exit P 0
	expect_exit L 0
	printf 'x\ny\0\0z\0' >"$T/want"
	cmp "$T/want" "$T/L.out" || fail "got: $(xxd "$T/L.out")"
}

# ----------------------------------------------------------------- raw

@test "raw in: a file is cut into --chunk-size messages" {
	printf '0123456789' >"$T/in"
	py_listen --recv-all --hex-out
	run_to C --in "$T/in" conn-client --in raw --chunk-size 4 "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" $'30313233\n34353637\n3839\n'
}

@test "raw in: --max-size bounds the chunks: the default one shrinks to it, a larger --chunk-size is a usage error" {
	head -c 2500 /dev/urandom >"$T/in"
	py_listen --recv-all --digest-out
	run_to C --in "$T/in" conn-client --in raw --max-size 1K "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" "1024 $(head -c 1024 "$T/in" | sha)
1024 $(head -c 2048 "$T/in" | tail -c 1024 | sha)
452 $(tail -c 452 "$T/in" | sha)
"
	local p
	for p in conn-client conn-listen conn-pipe; do
		run_to E --in "$T/in" $p --in raw --chunk-size 2K --max-size 1K 127.0.0.1:1
		expect_exit E 2
		assert_usage_error E "^$p: --chunk-size \(2048 bytes\) is over --max-size \(1024 bytes\): no message may be larger\$"
	done
	# --max-size 0 is no limit; a chunk equal to it is fine
	run_to E --in "$T/in" conn-pipe --in raw --out hex --chunk-size 2K --max-size 0
	expect_exit E 0
	run_to E --in "$T/in" conn-pipe --in raw --out hex --chunk-size 1K --max-size 1K
	expect_exit E 0
	[[ $(wc -l <"$T/E.out") == 3 ]] || fail "$(cat "$T/E.out")"
}

@test "raw in: --chunk-size takes K suffixes" {
	head -c 2500 /dev/urandom >"$T/in"
	py_listen --recv-all --digest-out
	run_to C --in "$T/in" conn-client --in=raw --chunk-size=1K "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" "1024 $(head -c 1024 "$T/in" | sha)
1024 $(head -c 2048 "$T/in" | tail -c 1024 | sha)
452 $(tail -c 452 "$T/in" | sha)
"
}

@test "raw out: payloads back to back, nothing added" {
	listen L --out raw 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send ab --send-hex '' --send-hex 00ff0a --send cd
	expect_exit P 0
	expect_exit L 0
	printf 'ab\0\377\ncd' >"$T/want"
	cmp "$T/want" "$T/L.out" || fail "got: $(xxd "$T/L.out")"
}

# ----------------------------------------------------------------- frames

@test "frames out: conn-listen writes exactly Python's framing (frames.json)" {
	vectors
	listen L --out frames 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" "${SEND_ARGS[@]}"
	expect_exit P 0
	expect_exit L 0
	[[ $(hex_of "$T/L.out") == "$(cat "$T/expected.hex")" ]] ||
		fail "frames differ; got (start): $(xxd "$T/L.out" | head -5)"
}

@test "frames out: conn-client writes exactly Python's framing (frames.json)" {
	vectors
	py_listen "${SEND_ARGS[@]}"
	run_to C conn-client --out frames "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	[[ $(hex_of "$T/C.out") == "$(cat "$T/expected.hex")" ]] ||
		fail "frames differ; got (start): $(xxd "$T/C.out" | head -5)"
}

@test "frames in: framed stdin reaches Python as the same messages" {
	vectors
	xxd -r -p "$T/expected.hex" >"$T/in"
	py_listen --recv-all --hex-out
	run_to C --in "$T/in" conn-client --in frames "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	cmp "$T/expected.hexlines" "$T/P.out" || fail "messages differ"
}

@test "frames in: a truncated frame on stdin is exit 5" {
	printf '\0\0\0\2hi\0\0\0\20ab' >"$T/in"
	py_listen --recv-all --hex-out
	run_to C --in "$T/in" conn-client --in frames "127.0.0.1:$PORT"
	expect_exit C 5
	assert_err_only C '^conn-client: stdin ends inside frame 2 \(2 of 16 bytes\)$'
}

@test "frames in: stdin cut inside a header says how much of the header came (4 bytes, or 12 after -1)" {
	printf '\0\0\0\2hi\377\377\377\377\0\0\0' >"$T/in"
	run_to P --in "$T/in" conn-pipe --in frames --out hex
	expect_exit P 5
	assert_file "$T/P.out" $'6869\n'
	assert_err_only P '^conn-pipe: stdin ends inside the header of frame 2 \(7 of 12 bytes\)$'
	printf '\0\0\0\2hi\0\0' >"$T/in"
	run_to P --in "$T/in" conn-pipe --in frames --out hex
	expect_exit P 5
	assert_err_only P '^conn-pipe: stdin ends inside the header of frame 2 \(2 of 4 bytes\)$'
}

@test "frames in: a negative length on stdin is exit 5" {
	printf '\377\377\377\376hello' >"$T/in"
	py_listen --recv-all --hex-out
	run_to C --in "$T/in" conn-client --in frames "127.0.0.1:$PORT"
	expect_exit C 5
	assert_err_only C '^conn-client: '
}

# ----------------------------------------------------------------- hex

@test "hex in: upper and lower case, spaces, tabs and CR ignored, empty line is an empty message" {
	printf '68656C6C6F\n68 65\t6c6C 6f\r\n\n00FFab\n' >"$T/in"
	py_listen --recv-all --hex-out
	run_to C --in "$T/in" conn-client --in hex "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" $'68656c6c6f\n68656c6c6f\n\n00ffab\n'
}

@test "hex out: lowercase hex, one message per line" {
	listen L --out hex 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send-hex 00FF0A --send AB --send-hex ''
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/L.out" $'00ff0a\n4142\n\n'
}

@test "hex in: an odd number of digits or a non-hex character is exit 5" {
	local bad
	for bad in 'abc' 'zz' '12 3' '0x41'; do
		printf '%s\n' "$bad" >"$T/in"
		py_listen --recv-all --hex-out
		spawn C --in "$T/in" conn-client --in hex "127.0.0.1:$PORT"
		finish C 10
		[[ $STATUS == 5 ]] || fail "hex line '$bad': exit $STATUS, expected 5: $(cat "$T/C.err")"
		finish P 10
	done
}

# ----------------------------------------------------------------- mixed

@test "--in and --out differ: lines in, frames out and hex out" {
	listen L --out frames 127.0.0.1:0
	printf 'hi\n' >"$T/in"
	run_to C --in "$T/in" conn-client --in lines --out hex "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	[[ $(hex_of "$T/L.out") == 000000026869 ]] || fail "got $(hex_of "$T/L.out")"

	printf 'hi\n' >"$T/l.in"
	listen L2 --in "$T/l.in" 127.0.0.1:0
	run_to C2 conn-client --out hex "127.0.0.1:$PORT"
	expect_exit C2 0
	assert_file "$T/C2.out" $'6869\n'
}

# roundtrip FMT LISTENER_INPUT CLIENT_INPUT: both tools in FMT; each side's
# stdout must equal the other side's stdin.
roundtrip() {
	local fmt=$1
	listen L --in "$2" -f "$fmt" 127.0.0.1:0
	run_to C --in "$3" conn-client -f "$fmt" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	cmp "$3" "$T/L.out" || fail "$fmt: listener's stdout differs from the client's stdin"
	cmp "$2" "$T/C.out" || fail "$fmt: client's stdout differs from the listener's stdin"
}

@test "round trip between the two tools: lines" {
	printf 'one\n\ntwo  spaces\t\x01\xff utf-8 \xc3\xa9\n' >"$T/a"
	seq 1 1000 >"$T/b"
	roundtrip lines "$T/a" "$T/b"
}

@test "round trip between the two tools: null" {
	printf 'x\ny\0\0z\0' >"$T/a"
	seq 1 1000 | tr '\n' '\0' >"$T/b"
	roundtrip null "$T/a" "$T/b"
}

@test "round trip between the two tools: raw" {
	head -c 300000 /dev/urandom >"$T/a"
	head -c 200001 /dev/urandom >"$T/b"
	roundtrip raw "$T/a" "$T/b"
}

@test "round trip between the two tools: frames" {
	"$PYTHON" - "$T/a" "$T/b" <<'EOF'
import os, struct, sys
for path, sizes in ((sys.argv[1], [0, 1, 5, 70000, 0, 3]), (sys.argv[2], [256, 0, 100000])):
    with open(path, 'wb') as f:
        for n in sizes:
            f.write(struct.pack('!i', n) + os.urandom(n))
EOF
	roundtrip frames "$T/a" "$T/b"
}

@test "round trip between the two tools: hex" {
	printf '00ff\n\n68656c6c6f\n' >"$T/a"
	head -c 3000 /dev/urandom | xxd -p >"$T/b"
	roundtrip hex "$T/a" "$T/b"
}
