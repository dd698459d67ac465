#!/usr/bin/env bats
# conn-pipe itself, whatever the format: converting between formats (no
# network), the quoted format against Python's repr(bytes), --exec with a
# frames-speaking Python program (tests/peers/frame_echo.py), and reading a
# capture of a real authenticated session (tests/peers/capture.py).

load helpers

# py_frames OUT MSG...: OUT holds the MSGs (UTF-8 text) framed as Python's
# Connection.send_bytes() frames them.
py_frames() {
	"$PYTHON" - "$@" <<'EOF'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    for m in sys.argv[2:]:
        b = m.encode('utf-8', 'surrogateescape')
        f.write(struct.pack('!i', len(b)) + b)
EOF
}

# random_frames OUT: random binary messages (NUL, newlines, quotes,
# backslashes, every byte value, empty messages) framed by Python.
random_frames() {
	"$PYTHON" - "$1" <<'EOF'
import os, random, struct, sys
rnd = random.Random(4)
special = b'\x00\n\r\t\'"\\ \x7f\x80\xff'
msgs = [b'', bytes(range(256)), b'\n', b'\x00', b"'", b'"', b'\'"', b'\\',
        b'line\nbreak\r\n', b'\x00' * 1000, os.urandom(70000)]
for _ in range(300):
    n = rnd.choice([0, 1, 2, 5, 17, 100, 1000])
    msgs.append(bytes(rnd.choice(special) if rnd.random() < 0.5 else rnd.randrange(256)
                      for _ in range(n)))
with open(sys.argv[1], 'wb') as f:
    for m in msgs:
        f.write(struct.pack('!i', len(m)) + m)
EOF
}

hex_of() { xxd -p "$1" | tr -d '\n'; }

# ----------------------------------------------------------------- convert

@test "convert: lines -> frames is exactly Python's framing" {
	printf 'alpha\n\nbeta gamma\n\xc3\xa9t\xc3\xa9\n\tx \x01\nlast' >"$T/in"
	py_frames "$T/want" alpha '' 'beta gamma' 'été' $'\tx \x01' last
	run_to P --in "$T/in" conn-pipe --out frames
	expect_exit P 0
	cmp "$T/want" "$T/P.out" || fail "frames differ: $(xxd "$T/P.out" | head)"
}

@test "convert: hex -> frames gives the frames of frames.json" {
	"$PYTHON" - "$CONN_VECTORS/frames.json" "$T" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
hexlines, frames, n = '', '', 0
for f in d['frames']:
    if f.get('payload_hex') is not None and f.get('frame_hex') is not None:
        hexlines += f['payload_hex'] + '\n'
        frames += f['frame_hex']
        n += 1
    elif f.get('payload_desc') == "b'x' * 70000":
        hexlines += (b'x' * 70000).hex() + '\n'
        frames += f['header_hex'] + (b'x' * 70000).hex()
        n += 1
assert n >= 5, n
open(sys.argv[2] + '/in.hex', 'w').write(hexlines)
open(sys.argv[2] + '/want.hex', 'w').write(frames)
EOF
	run_to P --in "$T/in.hex" conn-pipe --in hex --out frames
	expect_exit P 0
	[[ $(hex_of "$T/P.out") == "$(cat "$T/want.hex")" ]] ||
		fail "frames differ; got (start): $(xxd "$T/P.out" | head -5)"
}

@test "convert: frames -> lines, and lines -> frames -> lines round trip" {
	py_frames "$T/frames" one '' 'two words' 'x'
	run_to P --in "$T/frames" conn-pipe --in frames
	expect_exit P 0
	assert_file "$T/P.out" $'one\n\ntwo words\nx\n'

	{ seq 1 2000; printf '\n\ttab\n\xff\xfe\n'; } >"$T/lines"
	run_to A --in "$T/lines" conn-pipe --out frames
	expect_exit A 0
	run_to B --in "$T/A.out" conn-pipe --in frames --out lines
	expect_exit B 0
	cmp "$T/lines" "$T/B.out" || fail "lines -> frames -> lines changed the data"
}

@test "convert: random binary messages round-trip through quoted and through hex (byte-identical)" {
	random_frames "$T/frames"
	local via
	for via in quoted hex; do
		run_to "to-$via" --in "$T/frames" conn-pipe --in frames --out "$via"
		expect_exit "to-$via" 0
		run_to "from-$via" --in "$T/to-$via.out" conn-pipe --in "$via" --out frames
		expect_exit "from-$via" 0
		[[ $(sha "$T/frames") == "$(sha "$T/from-$via.out")" ]] ||
			fail "frames -> $via -> frames differs: $(cmp "$T/frames" "$T/from-$via.out")"
	done
	# one line per message in both text formats
	local n
	n=$("$PYTHON" -c 'import struct,sys
d=open(sys.argv[1],"rb").read(); i=n=0
while i < len(d): i += 4 + struct.unpack("!i", d[i:i+4])[0]; n += 1
print(n)' "$T/frames")
	[[ $(wc -l <"$T/to-quoted.out") == "$n" ]] || fail "quoted: $(wc -l <"$T/to-quoted.out") lines for $n messages"
	[[ $(wc -l <"$T/to-hex.out") == "$n" ]] || fail "hex: $(wc -l <"$T/to-hex.out") lines for $n messages"
}

@test "convert: FILE operand, and '-' for stdin" {
	printf 'a\nbc\n' >"$T/in"
	run_to F conn-pipe --out hex "$T/in"
	expect_exit F 0
	assert_file "$T/F.out" $'61\n6263\n'

	run_to S --in "$T/in" conn-pipe --out hex -
	expect_exit S 0
	assert_file "$T/S.out" $'61\n6263\n'

	run_to D --in "$T/in" conn-pipe --out hex
	expect_exit D 0
	assert_file "$T/D.out" $'61\n6263\n'
}

@test "convert: a missing FILE is exit 1 with a message naming it" {
	run_to P conn-pipe "$T/no-such-file"
	expect_exit P 1
	assert_err_only P "^conn-pipe: .*no-such-file.*No such file or directory"
	[[ ! -s $T/P.out ]] || fail "stdout: $(cat "$T/P.out")"
}

@test "convert: null format (-0, --in null, --out null)" {
	printf 'a\nb\0\0tail' >"$T/in"
	run_to P --in "$T/in" conn-pipe -0 --out hex
	expect_exit P 0
	assert_file "$T/P.out" $'610a62\n\n7461696c\n'

	printf 'x\ny\n' >"$T/l"
	run_to N --in "$T/l" conn-pipe --out null
	expect_exit N 0
	printf 'x\0y\0' >"$T/want"
	cmp "$T/want" "$T/N.out" || fail "got: $(xxd "$T/N.out")"

	run_to Z --in "$T/in" conn-pipe -0
	expect_exit Z 0
	printf 'a\nb\0\0tail\0' >"$T/want0"
	cmp "$T/want0" "$T/Z.out" || fail "got: $(xxd "$T/Z.out")"
}

@test "convert: --count N stops after N output messages" {
	seq 1 100 >"$T/in"
	run_to P --in "$T/in" conn-pipe --count 3
	expect_exit P 0
	assert_file "$T/P.out" $'1\n2\n3\n'

	run_to Q --in "$T/in" conn-pipe -c 1 --out hex
	expect_exit Q 0
	assert_file "$T/Q.out" $'31\n'
}

@test "convert: --data messages come first, in order" {
	printf 'stdin\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --data first --data 'second one' --data ''
	expect_exit P 0
	assert_file "$T/P.out" $'first\nsecond one\n\nstdin\n'
}

@test "convert: -v traces each frame's direction, length and first bytes" {
	printf 'hello\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe -v
	expect_exit P 0
	assert_file "$T/P.out" $'hello\n'
	assert_err P '^conn-pipe: > 5 bytes "hello"$'
	assert_err P '^conn-pipe: < 5 bytes "hello"$'

	run_to Q --in "$T/in" conn-pipe
	expect_exit Q 0
	[[ ! -s $T/Q.err ]] || fail "stderr without -v: $(cat "$T/Q.err")"
}

@test "convert: --max-size bounds messages read from frames and from lines" {
	printf '\0\0\0\12abcdefghij' >"$T/frames"
	run_to P --in "$T/frames" conn-pipe --in frames --out hex --max-size 4
	expect_exit P 5
	assert_err_only P '^conn-pipe: .*--max-size'

	printf 'abcdefghij\n' >"$T/lines"
	run_to Q --in "$T/lines" conn-pipe --max-size 4
	expect_exit Q 5
	assert_err_only Q '^conn-pipe: .*--max-size'
}

@test "convert: truncated frames input is exit 5" {
	printf '\0\0\0\2hi\0\0\0\20ab' >"$T/in"
	run_to P --in "$T/in" conn-pipe --in frames --out hex
	expect_exit P 5
	assert_err_only P '^conn-pipe: '

	printf '\0\0' >"$T/in2"
	run_to Q --in "$T/in2" conn-pipe --in frames --out hex
	expect_exit Q 5
	assert_err_only Q '^conn-pipe: '
}

@test "--in repr and --in pickle-dis are usage errors (output only)" {
	local f
	for f in repr pickle-dis; do
		run_to "P-$f" conn-pipe --in "$f"
		expect_exit "P-$f" 2
		assert_usage_error "P-$f" "^conn-pipe: format '$f' is for output only$"
		run_to "F-$f" conn-pipe -f "$f"
		expect_exit "F-$f" 2
		assert_usage_error "F-$f" "^conn-pipe: format '$f' is for output only$"
	done
	run_to U conn-pipe --in nosuchformat
	expect_exit U 2
	assert_usage_error U "^conn-pipe: unknown format 'nosuchformat' \\(lines, "
}

@test "network options are unrecognized by conn-pipe (exit 2)" {
	local opt
	for opt in --authkey=x --authkey-file=/dev/null --digest=sha256 --no-md5 \
		--handshake-timeout=1 --wait=1 -4 -6; do
		spawn P conn-pipe "$opt"
		finish P 10
		[[ $STATUS == 2 ]] || fail "$opt: exit $STATUS, expected 2: $(cat "$T/P.err")"
		assert_usage_error P '^conn-pipe: (unrecognized|invalid) option'
		unset 'BG_PID[P]'
	done
}

@test "--help lists every option, --version prints the version (both exit 0)" {
	run_to H conn-pipe --help
	expect_exit H 0
	local opt
	for opt in -f --format= --in= --out= -0 --chunk-size= --max-size= \
		--pickle-protocol= --python-repr= --keep-going --data= -c --count= --send-only \
		--recv-only --close-on-eof -v --verbose -q --quiet -h --help \
		-V --version --exec 'conn-pipe [OPTION]... [FILE]' \
		'conn-pipe [OPTION]... --exec CMD [ARG]...' quoted json repr pickle-dis; do
		grep -qF -- "$opt" "$T/H.out" || fail "--help does not mention '$opt'"
	done
	! grep -q -- '--authkey\|--wait\|--digest' "$T/H.out" ||
		fail "--help mentions network options"
	run_to h conn-pipe -h
	expect_exit h 0
	cmp "$T/H.out" "$T/h.out"

	run_to V conn-pipe --version
	expect_exit V 0
	[[ $(head -1 "$T/V.out") == 'conn-pipe (conn-tools) 0.1.0' ]] || fail "$(cat "$T/V.out")"
	run_to v conn-pipe -V
	expect_exit v 0
	cmp "$T/V.out" "$T/v.out"
}

# ----------------------------------------------------------------- quoted

@test "quoted out: exactly Python's repr(bytes) (every byte value, quotes, random strings)" {
	"$PYTHON" - "$T" <<'EOF'
import random, sys
t = sys.argv[1]
rnd = random.Random(7)
msgs = [bytes([i]) for i in range(256)]
msgs += [bytes(range(256)), b'', b"'", b'"', b'\'"', b"it's", b'say "hi"',
         b'it\'s "both"', b'\\', b"\\'", b'\\"', b'\t\n\r', b'\x7f\x80\xff',
         b'plain ascii text', b'\x00' * 3]
special = b'\'"\\\n\r\t\x00\x1f\x20\x7e\x7f\x80\xff'
for _ in range(500):
    n = rnd.randrange(0, 40)
    msgs.append(bytes(rnd.choice(special) if rnd.random() < 0.6 else rnd.randrange(256)
                      for _ in range(n)))
with open(t + '/in.hex', 'w') as f:
    f.write(''.join(m.hex() + '\n' for m in msgs))
with open(t + '/want', 'w') as f:
    f.write(''.join(repr(m) + '\n' for m in msgs))
EOF
	run_to P --in "$T/in.hex" conn-pipe --in hex --out quoted
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" ||
		fail "quoted output differs from Python's repr (< python, > conn-pipe):
$(head -40 "$T/diff")"
}

@test "quoted in: b'..', b\"..\", '..' and \"..\" with every escape" {
	# each line: a quoted form; expected: the bytes Python's literal gives
	cat >"$T/in" <<'EOF'
b'plain'
b"double"
'no prefix'
"no prefix double"
b'\\ \' \" \n \r \t \a \b \f \v \0 \x41\xff\x00\x7F'
b"\\ \' \" \n \r \t \a \b \f \v \0 \xfe"
'\\ \' \" \n \r \t \a \b \f \v \0 \x80'
"\\ \' \" \n \r \t \a \b \f \v \0 \x01"
b''
""
b"it's"
'say "hi"'
b'trailing spaces'   
b'octal \1 \01 \012 \101 \177 \200 \377 \777 \1234 \08'
EOF
	printf "b'trailing CR'\r\n" >>"$T/in"
	"$PYTHON" - "$T/in" "$T/want" <<'EOF'
import ast, sys
out = []
for line in open(sys.argv[1], encoding='ascii').read().split('\n')[:-1]:
    line = line.rstrip(' \r')
    src = line if line.startswith('b') else 'b' + line
    out.append(ast.literal_eval(src).hex())
open(sys.argv[2], 'w').write(''.join(h + '\n' for h in out))
EOF
	run_to P --in "$T/in" conn-pipe --in quoted --out hex
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" || fail "(< python, > conn-pipe):
$(cat "$T/diff")"
}

@test "quoted in: Python's repr() of random bytes parses back to the same bytes" {
	"$PYTHON" - "$T" <<'EOF'
import os, random, sys
rnd = random.Random(11)
msgs = [bytes(range(256)), b"'", b'"', b'\'"'] + \
       [os.urandom(rnd.randrange(0, 60)) for _ in range(500)] + \
       [bytes(rnd.choice(b'\'"\\ab\n') for _ in range(10)) for _ in range(200)]
open(sys.argv[1] + '/in', 'w').write(''.join(repr(m) + '\n' for m in msgs))
open(sys.argv[1] + '/want', 'w').write(''.join(m.hex() + '\n' for m in msgs))
EOF
	run_to P --in "$T/in" conn-pipe --in quoted --out hex
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" || fail "$(head -20 "$T/diff")"
}

@test "quoted in: a malformed line is exit 5 naming the line" {
	local bad i=0
	for bad in "b'unterminated" 'no quotes' "b'\\xZZ'" "b'a'trailing" "b'it's'" \
		"x'a'" "b'ends in backslash\\'" "b'\\x4'" '"mixed'"'"; do
		i=$((i + 1))
		printf "b'ok'\n\"fine\"\n%s\nb'after'\n" "$bad" >"$T/in"
		spawn "P$i" --in "$T/in" conn-pipe --in quoted --out hex
		finish "P$i" 10
		[[ $STATUS == 5 ]] || fail "quoted line '$bad': exit $STATUS, expected 5: $(cat "$T/P$i.err")"
		assert_err_only "P$i" '^conn-pipe: .*line 3'
		assert_file "$T/P$i.out" $'6f6b\n66696e65\n'
	done
}

@test "malformed input: every message before the bad line still comes out, then exit 5" {
	local fmt bad
	for fmt in hex quoted json lines-to-frames; do
		case $fmt in
		hex) bad=zz ;; quoted) bad="b'x" ;; json) bad='[1,' ;;
		esac
		if [[ $fmt == lines-to-frames ]]; then
			# frames input cut short after 20000 whole messages
			seq 20000 | conn-pipe --out frames >"$T/in"
			printf '\0\0\0\011abc' >>"$T/in"
			run_to P --in "$T/in" conn-pipe --in frames --out lines
		else
			"$PYTHON" -c 'import sys
for i in range(20000):
    print({"hex": "%04x" % i, "quoted": repr(b"%d" % i), "json": str(i)}[sys.argv[1]])
print(sys.argv[2])' "$fmt" "$bad" >"$T/in"
			run_to P --in "$T/in" conn-pipe --in "$fmt" --out hex
		fi
		expect_exit P 5
		[[ $(wc -l <"$T/P.out") == 20000 ]] ||
			fail "$fmt: $(wc -l <"$T/P.out") of 20000 messages came out"
	done
	# and through a command
	"$PYTHON" -c 'print("\n".join("%04x" % i for i in range(5000))); print("zz")' >"$T/in2"
	run_to E --in "$T/in2" conn-pipe -f hex --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" --echo
	expect_exit E 5
	[[ $(wc -l <"$T/E.out") == 5000 ]] || fail "--exec: $(wc -l <"$T/E.out") of 5000"
}

# ----------------------------------------------------------------- --exec

@test "--exec: lines typed here reach a frames-speaking Python program and its answers come back" {
	printf 'a\nb\nhello world\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --exec "$PYTHON" "$CONN_PEERS/frame_echo.py"
	expect_exit P 0
	assert_file "$T/P.out" $'A\nB\nHELLO WORLD\n'
}

@test "--exec: everything after CMD is CMD's arguments; options before it apply" {
	printf 'x\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --out hex --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" \
		--argv -v --count=1 'two words' '' --exec --help
	expect_exit P 0
	assert_file "$T/P.out" "$(printf '%s' -v | xxd -p)
$(printf '%s' --count=1 | xxd -p)
$(printf 'two words' | xxd -p)

$(printf '%s' --exec | xxd -p)
$(printf '%s' --help | xxd -p)
78
"
	run_to Q --in "$T/in" conn-pipe --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" --prefix 'got: '
	expect_exit Q 0
	assert_file "$T/Q.out" $'got: X\n'
}

@test "-e is --exec: CMD and its arguments, options before it apply" {
	printf 'x\ny\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --out hex -e "$PYTHON" "$CONN_PEERS/frame_echo.py" --prefix '-e: '
	expect_exit P 0
	assert_file "$T/P.out" "$(printf '%s' '-e: X' | xxd -p)
$(printf '%s' '-e: Y' | xxd -p)
"
	run_to Q conn-pipe -e
	expect_exit Q 2
	assert_usage_error Q "^conn-pipe: option '-e' requires an argument$"
}

@test "--exec: a CMD that cannot be found is exit 2 'cannot run'" {
	# valgrind runs posix_spawn's vfork as a fork: the failed exec comes
	# back as the child's exit status 127, not as posix_spawn's error.
	skip_under_valgrind "posix_spawn cannot report a failed exec"
	run_to P conn-pipe --exec "$T/no-such-command" arg
	expect_exit P 2
	assert_usage_error P "^conn-pipe: cannot run .*no-such-command.*: No such file or directory$"

	run_to Q conn-pipe --exec no-such-command-in-path-xyz
	expect_exit Q 2
	assert_usage_error Q "^conn-pipe: cannot run no-such-command-in-path-xyz: No such file or directory$"

	run_to R conn-pipe --exec
	expect_exit R 2
	assert_usage_error R "^conn-pipe: option '--exec' requires an argument$"
}

@test "--exec: CMD exiting with status 3 is exit 1 'exited with status 3'" {
	printf 'x\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" --bye bye --exit 3
	expect_exit P 1
	assert_err P '^conn-pipe: .*exited with status 3$'
	assert_file "$T/P.out" $'X\nbye\n'

	run_to Q conn-pipe --exec sh -c 'exit 3'
	expect_exit Q 1
	assert_err_only Q '^conn-pipe: sh exited with status 3$'
}

@test "--exec: our stdin EOF reaches CMD (it sees EOF, says bye, exits; we exit 0)" {
	printf 'one\ntwo\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" --bye 'bye after eof'
	expect_exit P 0
	assert_file "$T/P.out" $'ONE\nTWO\nbye after eof\n'
	assert_err P '^frame_echo: stdin EOF after 2 messages$'

	# empty stdin: the child still gets EOF at once
	run_to Q conn-pipe --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" --bye bye
	expect_exit Q 0 10
	assert_file "$T/Q.out" $'bye\n'
}

@test "--exec: when CMD exits we exit, even though our stdin stays open" {
	spawn P --idle conn-pipe --exec sh -c 'exit 0'
	wait_gone P 5 || fail "conn-pipe still running 5 s after CMD exited"
	expect_exit P 0 1

	spawn Q --idle conn-pipe --exec "$PYTHON" -c 'import sys; from multiprocessing.connection import Connection
Connection(1).send_bytes(b"only one")'
	wait_gone Q 5 || fail "conn-pipe still running 5 s after CMD exited"
	expect_exit Q 0 1
	assert_file "$T/Q.out" $'only one\n'
}

@test "--exec: 10 MB both ways through CMD (raw, sha256), and a 3 MB frame" {
	head -c 10M /dev/urandom >"$T/in"
	run_to P --in "$T/in" conn-pipe --in raw --out raw --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" --echo
	expect_exit P 0
	[[ $(sha "$T/P.out") == "$(sha "$T/in")" ]] ||
		fail "10 MB through --exec: $(wc -c <"$T/P.out") bytes back, sha differs"

	"$PYTHON" -c 'import os,struct,sys
m=os.urandom(3<<20); sys.stdout.buffer.write(struct.pack("!i",len(m))+m+struct.pack("!i",0))' >"$T/frames"
	run_to F --in "$T/frames" conn-pipe -f frames --exec "$PYTHON" "$CONN_PEERS/frame_echo.py" --echo
	expect_exit F 0
	cmp "$T/frames" "$T/F.out" || fail "3 MB frame through --exec differs"
}

# ----------------------------------------------------------------- captures

# capture [--modern]: record a real authenticated Python session in $T
capture() {
	run_to CAP "$PYTHON" "$CONN_PEERS/capture.py" "$T" "$@"
	expect_exit CAP 0
}

@test "capture: a client's view of a real authenticated session reads back with --in frames --out repr" {
	local mode
	for mode in legacy modern; do
		if [[ $mode == modern ]]; then capture --modern; else capture; fi
		run_to "R-$mode" conn-pipe --in frames --out repr "$T/l2c.bin"
		expect_exit "R-$mode" 0
		diff "$T/l2c.expected" "$T/R-$mode.out" >"$T/diff" ||
			fail "$mode capture, listener -> client (< expected, > conn-pipe):
$(cat "$T/diff")"
		head -1 "$T/R-$mode.out" | grep -q "^b[\"']#CHALLENGE#" || fail "first line: $(head -1 "$T/R-$mode.out")"
		grep -qx "b'#WELCOME#'" "$T/R-$mode.out" || fail "no b'#WELCOME#' line"
		if [[ $mode == modern ]]; then
			head -1 "$T/R-$mode.out" | grep -q "^b[\"']#CHALLENGE#{sha256}" ||
				fail "modern challenge: $(head -1 "$T/R-$mode.out")"
		fi
		unset 'BG_PID[CAP]'
	done
}

@test "capture: a listener's view of a real authenticated session reads back with --in frames --out repr" {
	local mode
	for mode in legacy modern; do
		if [[ $mode == modern ]]; then capture --modern; else capture; fi
		run_to "R-$mode" conn-pipe --in frames --out repr "$T/c2l.bin"
		expect_exit "R-$mode" 0
		diff "$T/c2l.expected" "$T/R-$mode.out" >"$T/diff" ||
			fail "$mode capture, client -> listener (< expected, > conn-pipe):
$(cat "$T/diff")"
		grep -q "^b[\"']#CHALLENGE#" "$T/R-$mode.out" || fail "no challenge line"
		grep -qx "b'#WELCOME#'" "$T/R-$mode.out" || fail "no b'#WELCOME#' line"
		unset 'BG_PID[CAP]'
	done
}

@test "capture: handshake frames are shown as bytes in json and pickle-dis output too" {
	capture
	run_to J conn-pipe --in frames --out json "$T/l2c.bin"
	expect_exit J 0
	run_to D conn-pipe --in frames --out pickle-dis "$T/l2c.bin"
	expect_exit D 0
	local f
	for f in J D; do
		head -1 "$T/$f.out" | grep -q "^b[\"']#CHALLENGE#" || fail "$f: first line $(head -1 "$T/$f.out")"
		sed -n 2p "$T/$f.out" | grep -qx "b'#WELCOME#'" || fail "$f: second line $(sed -n 2p "$T/$f.out")"
	done
}
