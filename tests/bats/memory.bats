#!/usr/bin/env bats
# Out of memory loses nothing unseen (#14): a message that cannot be held
# or rendered is a non-zero exit, or with -k its client dropped with one
# warning naming it; stdout holds whole messages only, in every format.
# Allocation failures come from tests/faults/failalloc.so (LD_PRELOAD,
# CONN_TEST_FAIL_ALLOC=BYTES: every allocation of BYTES or more fails).

load helpers

BIG=4194304	# bytes of the message that cannot be held
LIMIT=3145728	# allocations this big fail (stdout's queue may take 2 MiB)

setup() {
	T=$BATS_TEST_TMPDIR
	BG_PID=() BG_START=() BG_DONE=() BG_EXIT=()
	skip_under_valgrind "valgrind has its own allocator"
	FAILALLOC=${CONN_FAILALLOC:-$(dirname "$(command -v conn-listen)")/../tests/faults/failalloc.so}
	[[ -f $FAILALLOC ]] || skip "no $FAILALLOC (make check builds it)"
	skip_under_sanitizer "its allocator comes before any LD_PRELOAD"
}

# frames FILE FORMAT SIZE...: one frame per SIZE into FILE, each payload
# SIZE bytes of a pattern; for repr and json, pickles of such bytes.
frames() {
	"$PYTHON" - "$@" <<'PY'
import pickle, struct, sys
path, fmt, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(path, 'wb') as f:
    for i, n in enumerate(sizes):
        data = bytes(b'0123456789abcdef\n'[(i + j) % 17] for j in range(min(int(n), 64)))
        data = (data * (int(n) // 64 + 1))[:int(n)]
        if fmt in ('repr', 'json'):
            data = pickle.dumps(data, 4)
        f.write(struct.pack('!i', len(data)) + data)
PY
}

# listen_failing NAME ARGS...: conn-listen ARGS, big allocations failing.
listen_failing() {
	local name=$1
	shift
	spawn "$name" env LD_PRELOAD="$FAILALLOC" CONN_TEST_FAIL_ALLOC=$LIMIT \
		conn-listen "$@"
	wait_listening "$name"
}

# The rendering of a frames file by conn-pipe, with all the memory it wants.
rendered() { conn-pipe --in frames --out "$1" "$2"; }

# A whole-message format holds the message to render it; the plain ones
# stream it, holding a little at a time, so that it comes out whole.
streams() { [[ $1 == raw || $1 == lines || $1 == frames || $1 == hex ]]; }

one_connection() {
	local f=$1
	frames "$T/in" "$f" 5 $BIG 7
	frames "$T/first" "$f" 5
	listen_failing L --out "$f" 127.0.0.1:0
	run_to C --in "$T/in" conn-client --in frames --close-on-eof "$ADDR"
	if streams "$f"; then
		expect_exit L 0
		rendered "$f" "$T/in" >"$T/want"
	else
		expect_exit L 1
		assert_err_only L '^conn-listen: message 2 \([0-9]+ bytes\) is lost: out of memory$'
		rendered "$f" "$T/first" >"$T/want"
	fi
	cmp "$T/want" "$T/L.out" || fail "stdout is not the whole messages: $(head -c 300 "$T/L.out" | xxd | head)"
}

keep_open() {
	local f=$1
	frames "$T/in" "$f" 5 $BIG 7
	frames "$T/first" "$f" 5
	frames "$T/other" "$f" 9
	listen_failing L -k --max-accepts 2 --out "$f" 127.0.0.1:0
	run_to A --in "$T/in" conn-client --in frames --close-on-eof "$ADDR"
	if streams "$f"; then
		rendered "$f" "$T/in" >"$T/want"
		wait_size "$T/L.out" "$(stat -c %s "$T/want")"
		run_to B --in "$T/other" conn-client --in frames --close-on-eof "$ADDR"
		expect_exit L 0
		rendered "$f" "$T/other" >>"$T/want"
		cmp "$T/want" "$T/L.out" || fail "stdout is not the whole messages: $(head -c 300 "$T/L.out" | xxd | head)"
		return
	fi
	wait_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 2 \([0-9]+ bytes\) is lost: out of memory; the client is dropped$'
	run_to B --in "$T/other" conn-client --in frames --close-on-eof "$ADDR"
	expect_exit L 0
	assert_err_only L 'is lost'
	{ rendered "$f" "$T/first" && rendered "$f" "$T/other"; } >"$T/want"
	cmp "$T/want" "$T/L.out" || fail "stdout is not the whole messages: $(head -c 300 "$T/L.out" | xxd | head)"
}

@test "out of memory, --out raw: the message comes out whole (streamed)" { one_connection raw; }
@test "out of memory, --out lines: the message comes out whole (streamed)" { one_connection lines; }
@test "out of memory, --out frames: the message comes out whole (streamed)" { one_connection frames; }
@test "out of memory, --out hex: the message comes out whole (streamed)" { one_connection hex; }
@test "out of memory, --out quoted: exit 1, one line naming the message, the messages before it whole" { one_connection quoted; }
@test "out of memory, --out repr: exit 1, one line naming the message, the messages before it whole" { one_connection repr; }
@test "out of memory, --out json: exit 1, one line naming the message, the messages before it whole" { one_connection json; }

@test "-k, out of memory, --out raw: the message comes out whole (streamed), the next client's too" { keep_open raw; }
@test "-k, out of memory, --out lines: the message comes out whole (streamed), the next client's too" { keep_open lines; }
@test "-k, out of memory, --out frames: the message comes out whole (streamed), the next client's too" { keep_open frames; }
@test "-k, out of memory, --out hex: the message comes out whole (streamed), the next client's too" { keep_open hex; }
@test "-k, out of memory, --out quoted: the client is dropped with one warning, stdout whole" { keep_open quoted; }
@test "-k, out of memory, --out repr: the client is dropped with one warning, stdout whole" { keep_open repr; }
@test "-k, out of memory, --out json: the client is dropped with one warning, stdout whole" { keep_open json; }

# The message can be held (LIMIT is above it) but not rendered: quoted
# text is up to 4 times the bytes, repr too.
@test "-k --tag, out of memory while rendering (quoted, repr): the client is dropped, stdout whole" {
	local f
	BIG=2097152
	for f in quoted repr; do
		frames "$T/in" "$f" 5 $BIG
		frames "$T/first" "$f" 5
		listen_failing L -k --tag --max-accepts 1 --out "$f" 127.0.0.1:0
		run_to A --in "$T/in" conn-client --in frames --close-on-eof "$ADDR"
		expect_exit L 0
		assert_err_only L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 2 \([0-9]+ bytes\) is lost: out of memory; the client is dropped$'
		rendered "$f" "$T/first" | sed "s/^/${ADDR%:*}:[0-9]* /" >"$T/want"
		grep -Exq -f "$T/want" "$T/L.out" && [[ $(wc -l <"$T/L.out") == 1 ]] ||
			fail "$f: stdout is not the first message alone: $(head -c 300 "$T/L.out")"
	done
}

@test "out of memory while rendering --out quoted: exit 1, one line naming the message" {
	BIG=2097152
	frames "$T/in" quoted 5 $BIG
	frames "$T/first" quoted 5
	listen_failing L --out quoted 127.0.0.1:0
	run_to C --in "$T/in" conn-client --in frames --close-on-eof "$ADDR"
	expect_exit L 1
	assert_err_only L "^conn-listen: message 2 \\($BIG bytes\\) is lost: out of memory$"
	rendered quoted "$T/first" >"$T/want"
	cmp "$T/want" "$T/L.out" || fail "stdout: $(head -c 300 "$T/L.out")"
}

@test "stopped (SIGTERM) with whole messages stdout will not take: exit 1 and one line saying so, with and without -k" {
	local k
	"$PYTHON" -c 'print(("m" * 999 + "\n") * 300, end="")' >"$T/in"
	for k in -k ""; do
		rm -f "$T/fifo"
		mkfifo "$T/fifo"
		# the reader holds the pipe open and never reads
		spawn R bash -c 'exec sleep 30 <"$1"' _ "$T/fifo"
		spawn L bash -c 'exec conn-listen $2 127.0.0.1:0 >"$1"' _ "$T/fifo" "$k"
		wait_listening L
		run_to C --in "$T/in" conn-client --close-on-eof "$ADDR"
		expect_exit C 0
		sleep 0.5
		kill -TERM "$(inner_pid L)"
		expect_exit L 1 15
		assert_err_only L '^conn-listen: stdout took nothing for 5 s: [0-9]+ bytes of whole messages are not written$'
		kill "${BG_PID[R]}" 2>/dev/null || true
	done
}

# --------------------------------------- a single connection's renderings

# bomb FILE [N]: one frame, a pickle of N (3,000,000) empty lists in one
# list, whose objects take about 80 bytes for each of its bytes (240 MB).
bomb() {
	"$PYTHON" - "$1" "${2:-3000000}" <<'PY'
import struct, sys
data = b'\x80\x04(' + b']' * int(sys.argv[2]) + b'l.'
open(sys.argv[1], 'wb').write(struct.pack('!i', len(data)) + data)
PY
}

@test "a pickle bomb through conn-client --out repr: its objects stay within max(--max-size, 32 MiB), exit 5 naming the bound" {
	bomb "$T/bomb"
	listen L --in "$T/bomb" --in frames --send-only 127.0.0.1:0
	run_to C /usr/bin/time -f %M -o "$T/C.rss" conn-client --recv-only --out repr --max-size 4M "$ADDR"
	expect_exit C 5
	expect_exit L 0
	assert_err_only C '^conn-client: message 1: offset [0-9]+, opcode EMPTY_LIST \(0x5d\): the decoded objects take more than 33554432 bytes of memory$'
	# 32 MiB of objects, the 3 MB message, the program itself
	peak_rss_under "$T/C.rss" 65536
	[[ ! -s $T/C.out ]] || fail "stdout: $(head -c 300 "$T/C.out")"
}

@test "a pickle bomb through a single connection: --keep-going shows it in hex, audit judges it, the policy drops it, all within the bound" {
	bomb "$T/bomb"
	run_to K /usr/bin/time -f %M -o "$T/K.rss" conn-pipe --in frames --out repr --keep-going --max-size 4M "$T/bomb"
	expect_exit K 0
	grep -q '^conn-pipe: warning: message 1 is not shown as repr (offset [0-9]*, opcode EMPTY_LIST (0x5d): the decoded objects take more than 33554432 bytes of memory); here it is in hex$' "$T/K.err" || fail "$(cat "$T/K.err")"
	[[ $(head -c 10 "$T/K.out") == 8004285d5d ]] || fail "not hex: $(head -c 20 "$T/K.out")"
	peak_rss_under "$T/K.rss" 65536
	run_to A /usr/bin/time -f %M -o "$T/A.rss" conn-pipe --in frames --out audit --max-size 4M "$T/bomb"
	expect_exit A 11
	assert_file "$T/A.out" "likely unsafe: past the decoder's limits, not audited further: $(sed -n 's/^.*(\(offset [0-9]*, opcode EMPTY_LIST (0x5d): the decoded objects take more than 33554432 bytes of memory\)).*$/\1/p' "$T/K.err"); no globals"$'\n'
	peak_rss_under "$T/A.rss" 65536
	echo 'allow builtins.*' >"$T/policy"
	run_to P /usr/bin/time -f %M -o "$T/P.rss" conn-pipe --in frames --out hex --pickle-policy "$T/policy" --max-size 4M "$T/bomb"
	expect_exit P 0
	grep -q '^conn-pipe: warning: message 1 dropped: not a pickle the policy can vouch for: offset [0-9]*, opcode EMPTY_LIST (0x5d): the decoded objects take more than 33554432 bytes of memory$' "$T/P.err" || fail "$(cat "$T/P.err")"
	[[ ! -s $T/P.out ]] || fail "stdout: $(head -c 300 "$T/P.out")"
	peak_rss_under "$T/P.rss" 65536
}

@test "a single connection's bound follows --max-size: everyday pickles within it render, --max-size 0 lifts it" {
	"$PYTHON" - "$T/ints" <<'PY'
import pickle, struct, sys
data = pickle.dumps(list(range(200000)), 4)
open(sys.argv[1], 'wb').write(struct.pack('!i', len(data)) + data)
PY
	# About 15 MB of objects from a 0.9 MB pickle: within 32 MiB.
	run_to P conn-pipe --in frames --out repr --max-size 1M "$T/ints"
	expect_exit P 0
	[[ $(head -c 9 "$T/P.out") == '[0, 1, 2,' ]] || fail "$(head -c 100 "$T/P.out")"
	# 80 MB of objects: past 32 MiB, but --max-size 0 sets no bound.
	bomb "$T/bomb" 1000000
	run_to Q conn-pipe --in frames --out audit --max-size 0 "$T/bomb"
	expect_exit Q 0
	assert_file "$T/Q.out" "likely safe: no globals"$'\n'
}
