#!/usr/bin/env bats
# Protocol errors (garbage, oversized and negative lengths, truncated frames,
# a peer killed mid-message), local I/O errors, usage errors, --help, --version.

load helpers

HTTP='GET / HTTP/1.1\r\nHost: x\r\n\r\n'

# rss_listen ARGS...: conn-listen under /usr/bin/time (peak RSS in $T/L.rss)
rss_listen() {
	spawn L /usr/bin/time -f %M -o "$T/L.rss" conn-listen "$@"
	wait_listening L
}

assert_small_rss() { # FILE: peak RSS under 64 MiB
	local kb
	kb=$(tail -1 "$1")
	((kb < 65536)) || fail "peak RSS $kb KiB"
}

@test "HTTP request to a listener without key: exit 5 at once, the message names the absurd length" {
	rss_listen 127.0.0.1:0
	spawn S bash -c 'printf "$1" | exec socat -t 5 - "TCP:127.0.0.1:$2"' _ "$HTTP" "$PORT"
	expect_exit L 5 10
	((ELAPSED_MS < 8000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only L '^conn-listen: the peer announced a 1195725856-byte message \(header "GET "\), over the --max-size limit of 1073741824: it does not speak this protocol$'
	assert_small_rss "$T/L.rss"
	assert_file "$T/L.out" ''
}

@test "HTTP request to a listener with a key: exit 5 at once, no huge allocation" {
	rss_listen --authkey-file "$(key_file key secret)" 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --write "$HTTP" --hold 10
	expect_exit L 5 10
	((ELAPSED_MS < 8000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only L '^conn-listen: '
	assert_small_rss "$T/L.rss"
}

@test "HTTP response to a client: exit 5" {
	peer P raw_peer listen 127.0.0.1:0 --write 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' --hold 10
	spawn C /usr/bin/time -f %M -o "$T/C.rss" conn-client "127.0.0.1:$PORT"
	expect_exit C 5 10
	assert_err_only C '^conn-client: the peer announced a [0-9]+-byte message \(header "HTTP"\)'
	assert_small_rss "$T/C.rss"
}

@test "a handshake frame over 256 bytes is rejected (exit 5)" {
	rss_listen --authkey-file "$(key_file key secret)" 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --read-frame --write-hex "0000012c$(printf '%0600d' 0)" --hold 10
	expect_exit L 5 10
	((ELAPSED_MS < 8000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only L '^conn-listen: '
}

@test "--max-size smaller than a message: exit 5 before any of it reaches stdout" {
	listen L --max-size 100 --out raw 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send ok --send-size 1000 --send after --hold 5
	expect_exit L 5 10
	assert_file "$T/L.out" 'ok'
	assert_err_only L '^conn-listen: the peer announced a 1000-byte message .*over the --max-size limit of 100'
}

@test "--max-size: a message exactly at the limit passes, K suffix" {
	listen L --max-size 1K --out lines 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send-size 1024 --send-size 1025 --hold 5
	expect_exit L 5 10
	[[ $(wc -c <"$T/L.out") == 1025 ]] || fail "stdout has $(wc -c <"$T/L.out") bytes, not the 1024-byte message + newline"
	assert_err_only L 'over the --max-size limit of 1024'
}

@test "a negative length other than -1: exit 5, earlier messages intact" {
	local bad
	for bad in fffffffe 80000000; do
		listen L 127.0.0.1:0
		peer P raw_peer client "127.0.0.1:$PORT" --write-hex "000000026869${bad}00000000" --hold 10
		expect_exit L 5 10
		assert_file "$T/L.out" $'hi\n'
		assert_err_only L '^conn-listen: '
	done
}

@test "a -1 long header over --max-size: exit 5 at once, no allocation" {
	rss_listen 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --write-hex ffffffff0000000100000000 --hold 10
	expect_exit L 5 10
	((ELAPSED_MS < 8000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only L '^conn-listen: the peer announced a 4294967296-byte message'
	assert_small_rss "$T/L.rss"
}

@test "truncated frame (header for 1000000 bytes, 100 bytes, close): exit 5, earlier messages whole" {
	local trunc
	trunc="000f4240$(printf '%0200d' 0)"
	listen L 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --write-hex "000000036f6e650000000374776f${trunc}"
	expect_exit L 5 10
	assert_file "$T/L.out" $'one\ntwo\n'
	assert_err_only L '^conn-listen: connection closed in the middle of a message \(100 of 1000000 bytes received\)$'
}

@test "truncated frame in raw output mode: nothing of the cut message on stdout" {
	local trunc
	trunc="000f4240$(printf '%0200d' 0)"
	listen L --out raw 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --write-hex "000000036f6e650000000374776f${trunc}"
	expect_exit L 5 10
	assert_file "$T/L.out" 'onetwo'
}

@test "truncated frame seen by the client: exit 5" {
	local trunc
	trunc="000f4240$(printf '%0200d' 0)"
	peer P raw_peer listen 127.0.0.1:0 --write-hex "000000036f6e65${trunc}"
	spawn C --idle conn-client "127.0.0.1:$PORT"
	expect_exit C 5 10
	assert_file "$T/C.out" $'one\n'
	assert_err_only C '^conn-client: connection closed in the middle of a message \(100 of 1000000 bytes received\)$'
}

@test "a peer killed mid-message (SIGKILL): exit 5 or 3 with a message" {
	local trunc
	trunc="000f4240$(printf '%0200d' 0)"
	peer P raw_peer listen 127.0.0.1:0 --write-hex "00000003616263${trunc}" --hold 30
	spawn C --idle conn-client "127.0.0.1:$PORT"
	wait_lines "$T/C.out" 1
	sleep 0.2
	kill -KILL "$(inner_pid P)"
	finish C 10
	[[ $STATUS == 5 || $STATUS == 3 ]] || fail "exit $STATUS, expected 5 or 3: $(cat "$T/C.err")"
	assert_file "$T/C.out" $'abc\n'
	assert_err_only C '^conn-client: '
}

@test "stdout on /dev/full: exit 1 with a message" {
	peer P mp_peer listen 127.0.0.1:0 --send hello --hold 5
	spawn C bash -c 'exec conn-client "$1" >/dev/full' _ "127.0.0.1:$PORT"
	expect_exit C 1 10
	assert_err_only C '^conn-client: '
}

@test "stdin unreadable (a directory): exit 1 with a message" {
	listen L --idle 127.0.0.1:0
	run_to C --in / conn-client "127.0.0.1:$PORT"
	expect_exit C 1 10
	assert_err_only C '^conn-client: '
}

# usage PROG ERE ARGS...: exit 2, stdout empty, exactly two stderr lines:
# "PROG: ..." matching ERE, then GNU's "Try 'PROG --help' for more
# information.".  Problems are collected in USAGE_FAILS so that one run lists
# them all; usage_done fails the test if there are any.
USAGE_FAILS=
usage() {
	local prog=$1 ere=$2
	shift 2
	spawn X "$prog" "$@"
	finish X 5
	local what="$prog $*:"
	if [[ $STATUS != 2 ]]; then
		USAGE_FAILS+="$what exit $STATUS, expected 2 ($(head -1 "$T/X.err"))"$'\n'
		return 0
	fi
	[[ ! -s $T/X.out ]] || USAGE_FAILS+="$what stdout not empty"$'\n'
	local n
	n=$(wc -l <"$T/X.err")
	[[ $n == 2 ]] || USAGE_FAILS+="$what $n lines on stderr instead of two"$'\n'
	head -1 "$T/X.err" | grep -Eq "^$prog: ($ere)" ||
		USAGE_FAILS+="$what first line does not match /^$prog: $ere/: $(head -1 "$T/X.err")"$'\n'
	[[ $(sed -n 2p "$T/X.err") == "Try '$prog --help' for more information." ]] ||
		USAGE_FAILS+="$what second line is not the --help hint: $(sed -n 2p "$T/X.err")"$'\n'
}

usage_done() {
	[[ -z $USAGE_FAILS ]] || fail "$USAGE_FAILS"
}

@test "usage errors exit 2 with the message and GNU's --help hint: unknown option, missing address, extra argument" {
	local p
	for p in conn-listen conn-client; do
		usage $p '' --bogus 127.0.0.1:1
		usage $p '' -Z 127.0.0.1:1
		usage $p ''
		usage $p '' 127.0.0.1:1 extra
	done
	usage_done
}

@test "usage errors of conn-pipe and conn-bench end with the --help hint too" {
	usage conn-pipe "unrecognized option '--bogus'" --bogus
	usage conn-pipe "invalid option '-Z'" -Z
	usage conn-pipe "option '--in' requires an argument" --in
	usage conn-pipe '' a b
	usage conn-pipe 'cannot use --send-only with --recv-only' --send-only --recv-only
	usage conn-bench "unrecognized option '--bogus'" --bogus
	usage conn-bench "option '--size' requires an argument" --size
	usage conn-bench "invalid --size '1X'" --size 1X
	usage conn-listen "option '-e' requires an argument" :0 -e
	usage conn-client 'cannot use -4 or -6 with a Unix socket' -4 /tmp/conn-tools-none.sock
	usage_done
}

@test "usage errors: conflicting options are 'cannot use --x with --y'" {
	local p
	for p in conn-listen conn-client; do
		usage $p 'cannot use --send-only with --recv-only' --send-only --recv-only 127.0.0.1:1
		usage $p 'cannot use -4 with -6' -4 -6 127.0.0.1:1
		usage $p 'cannot use --data with --recv-only' --data x --recv-only 127.0.0.1:1
	done
	usage_done
}

@test "usage errors: bad numbers for --count, --max-size, --chunk-size, --handshake-timeout, --wait" {
	local p v
	for p in conn-listen conn-client; do
		for v in abc -1 '' 5x; do
			usage $p '' -c "$v" 127.0.0.1:1
		done
		usage $p '' --count=1.5 127.0.0.1:1
		for v in abc -1 12Q 1KK ''; do
			usage $p '' --max-size "$v" 127.0.0.1:1
		done
		usage $p '' --chunk-size abc 127.0.0.1:1
		usage $p '' --chunk-size 0 127.0.0.1:1
		usage $p '' --handshake-timeout abc 127.0.0.1:1
		usage $p '' --handshake-timeout -1 127.0.0.1:1
	done
	usage conn-client '' --wait abc 127.0.0.1:1
	usage_done
}

@test "usage errors: bad --format/--in/--out and --digest names, --wait on conn-listen" {
	local p
	for p in conn-listen conn-client; do
		usage $p '' -f yaml 127.0.0.1:1
		usage $p '' --in bogus 127.0.0.1:1
		usage $p '' --out=bogus 127.0.0.1:1
		usage $p '' --digest sha1 --authkey-file /dev/null 127.0.0.1:1
		usage $p '' --digest sha1 127.0.0.1:1
	done
	usage conn-listen '' --wait 5 127.0.0.1:0
	usage_done
}

@test "--help and -h: exit 0, Usage: on stdout" {
	local p o
	for p in conn-listen conn-client; do
		for o in --help -h; do
			run_to X "$p" "$o"
			expect_exit X 0 5
			grep -q 'Usage:' "$T/X.out" || fail "$p $o: no 'Usage:' on stdout"
		done
	done
}

@test "--version and -V: first line 'PROG (conn-tools) 0.1.0', exit 0" {
	local p o
	for p in conn-listen conn-client; do
		for o in --version -V; do
			run_to X "$p" "$o"
			expect_exit X 0 5
			[[ $(head -1 "$T/X.out") == "$p (conn-tools) 0.1.0" ]] ||
				fail "$p $o: first line is '$(head -1 "$T/X.out")'"
		done
	done
}

@test "--help and --version on a full disk: a write error, exit 1" {
	local p o
	for p in conn-listen conn-client conn-pipe conn-bench; do
		for o in --help --version; do
			run bash -c "$p $o >/dev/full"
			[[ $status -eq 1 ]] || fail "$p $o >/dev/full: exit $status"
		done
	done
	run bash -c "conn-client --help 2>&1 >/dev/full"
	[[ $output == "conn-client: write error: No space left on device" ]] ||
		fail "got: $output"
}
