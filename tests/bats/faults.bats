#!/usr/bin/env bats
# Faults: peers killed mid-message (SIGKILL, both directions), connection
# resets, half-open peers, closed or full stdout, unreadable stdin, stop
# signals mid-transfer, clients that skip the handshake, hostile pickles and
# JSON (deep nesting, huge announced lengths, huge memo indexes) in bounded
# memory, and the testable security properties.
#
# Covered elsewhere, so not repeated here:
#   errors.bats  raw peer killed mid-message (conn-client), truncated frames,
#                conn-client: stdout on /dev/full, stdin a directory;
#                a 300-byte handshake frame to a keyed conn-listen
#   relay.bats   conn-client | head -1; SIGTERM to an idle conn-client
#   server.bats  SIGTERM to conn-listen -k during traffic (socket file goes);
#                swarm.py's bad clients (no handshake among them) do not
#                delay good ones
#   transport.bats  SIGTERM while listening; Unix socket 0600 (default umask)
#   auth.bats    --authkey warning; --authkey TEXT absent from -v output;
#                --no-md5 refusing a Python 3.11 Client (conn-listen)
#   interop.bats --no-md5 refusing raw-MD5 and {md5} replies (both roles)
#   pickle.bats  pickle nesting 1500 deep, ints over 4300 digits
#
# "stdin unreadable" is tested two ways: a directory (read(2) fails with
# EISDIR: exit 1, one line) and a closed descriptor (<&-: /dev/null holds
# its place, so it reads as empty, as README's Usage says); a file without
# read permission cannot be made unreadable for root, who runs the suite.
#
# Peers: tests/peers/*.py; fault_peer.py's numbered messages let a test
# check that stdout holds whole messages only, in order: a prefix of the
# stream.  Sizes and
# peak RSS bounds are generous; no test asserts how fast anything happens,
# and every wait is bounded.

load helpers

KEY='faults key'

# fpeer NAME [--idle] SUBCOMMAND ROLE ADDRESS ARGS...: fault_peer.py in the
# background; waits for its "listening on" line when ROLE is listen.
fpeer() {
	local name=$1
	shift
	local in=()
	if [[ $1 == --idle ]]; then
		in=(--idle)
		shift
	fi
	spawn "$name" "${in[@]}" "$PYTHON" "$CONN_PEERS/fault_peer.py" "$@"
	if [[ $2 == listen ]]; then
		wait_listening "$name"
	fi
}

# check_messages FILE lines|hex [--exact N] [--min N] [--tags A,B]: FILE
# holds fault_peer.py's numbered messages, whole, in order, nothing else.
check_messages() {
	"$PYTHON" "$CONN_PEERS/fault_peer.py" check "$@" >"$T/check.out" 2>&1 ||
		fail "$1: $(cat "$T/check.out")"
}

# no_stderr NAME: NAME wrote nothing to stderr, a listener's announce aside.
no_stderr() {
	! grep -v '^conn-listen: listening on ' "$T/$1.err" >"$T/$1.err.rest" ||
		fail "stderr of $1 is not empty: $(head -c 2000 "$T/$1.err.rest")"
}

# wait_grep FILE ERE [SEC]: wait (bounded) until FILE has a line matching ERE.
wait_grep() {
	local end=$(($(now_ms) + ${3:-10} * 1000))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		if (($(now_ms) > end)); then
			fail "$1: no line matching /$2/ after ${3:-10}s: $(head -c 2000 "$1")"
			return 1
		fi
		sleep 0.02
	done
}
wait_out() { wait_grep "$T/$1.out" "$2" "${3:-10}"; }
wait_err() { wait_grep "$T/$1.err" "$2" "${3:-10}"; }

# ------------------------------------------------- 1. SIGKILL mid-message

@test "SIGKILL: a Python Listener killed mid-message -> conn-client exit 5, one line, the 50 whole messages before it (with a key)" {
	fpeer P send listen 127.0.0.1:0 --authkey "$KEY" --count 50 --then stall
	spawn C --idle conn-client --authkey-file "$(key_file k "$KEY")" "$ADDR"
	wait_lines "$T/P.out" 1 20
	wait_lines "$T/C.out" 50 20
	kill -KILL "$(inner_pid P)"
	expect_exit C 5 10
	assert_err_only C '^conn-client: connection closed in the middle of a message \(100000 of 10000000 bytes received\)$'
	check_messages "$T/C.out" lines --exact 50
}

@test "SIGKILL: a Python Client killed mid-message -> conn-listen exit 5, one line, the 40 whole binary messages before it (Unix socket, hex)" {
	listen L --idle --out hex "unix:$T/s.sock"
	fpeer P send client "$ADDR" --binary --count 40 --then stall
	wait_lines "$T/P.out" 1 20
	wait_lines "$T/L.out" 40 20
	kill -KILL "$(inner_pid P)"
	expect_exit L 5 10
	assert_err_only L '^conn-listen: connection closed in the middle of a message \(100000 of 10000000 bytes received\)$'
	check_messages "$T/L.out" hex --exact 40
}

# Killed wherever it happens to be in a stream of 5-150000-byte messages:
# between two messages the stream just ends (exit 0: stdin is at EOF, so
# nothing is left to send), inside one it is truncated (exit 5).  Either
# way stdout is a prefix of the stream.
@test "SIGKILL at an arbitrary point of a stream: exit 0 or 5, stdout whole messages in order (conn-client; conn-listen -k with two senders)" {
	fpeer P send listen 127.0.0.1:0 --then forever
	spawn C conn-client "$ADDR"
	wait_lines "$T/C.out" 300 20
	kill -KILL "$(inner_pid P)"
	finish C 10
	case $STATUS in
	0) no_stderr C ;;
	5) assert_err_only C '^conn-client: connection closed in the middle of a message \([0-9]+ of [0-9]+ bytes received\)$' ;;
	*) fail "conn-client: exit $STATUS, expected 0 or 5: $(cat "$T/C.err")" ;;
	esac
	check_messages "$T/C.out" lines --min 300

	# -k: a killed client is one dropped connection; the listener goes on
	listen L --idle -k --out hex "unix:$T/k.sock"
	fpeer A send client "$ADDR" --binary --tag a --then forever
	fpeer B send client "$ADDR" --binary --tag b --then forever
	wait_lines "$T/L.out" 300 20
	kill -KILL "$(inner_pid A)"
	kill -KILL "$(inner_pid B)"
	run_to X conn-client --data probe --close-on-eof "$ADDR"
	expect_exit X 0
	wait_out L '^70726f6265$'
	alive L || { finish L; fail "conn-listen -k exited ($STATUS) when its clients were killed"; }
	kill -TERM "$(inner_pid L)"
	expect_exit L 0 10
	grep -v '^70726f6265$' "$T/L.out" >"$T/L.msgs" || true
	check_messages "$T/L.msgs" hex --tags a,b --min 300
}

# The peer reads 3 messages and 1 MiB of the 64 MiB one, then stops; killed
# with unread bytes in its socket, its kernel answers with a reset.
big_frames() {
	{
		printf '\0\0\0\001a\0\0\0\002bb\0\0\0\003ccc\004\0\0\0'
		head -c 64M /dev/zero
	} >"$1"
}

@test "SIGKILL of a peer in the middle of reading a 64 MiB message: the sender exits 3 with one line (conn-client over TCP, conn-listen over a Unix socket)" {
	big_frames "$T/in"
	fpeer P read-stall listen 127.0.0.1:0 --whole 3
	spawn C --in "$T/in" conn-client --in frames "$ADDR"
	wait_lines "$T/P.out" 4 20
	kill -KILL "$(inner_pid P)"
	expect_exit C 3 10
	assert_err_only C '^conn-client: cannot (send|receive): (Connection reset by peer|Broken pipe)$'
	assert_file "$T/P.out" $'got 0 1\ngot 1 2\ngot 2 3\nstalled\n'
	assert_file "$T/C.out" ''

	listen L --in "$T/in" --in=frames "unix:$T/s.sock"
	fpeer Q read-stall client "$ADDR" --whole 3
	wait_lines "$T/Q.out" 4 20
	kill -KILL "$(inner_pid Q)"
	expect_exit L 3 10
	assert_err_only L '^conn-listen: cannot (send|receive): (Connection reset by peer|Broken pipe)$'
	assert_file "$T/Q.out" $'got 0 1\ngot 1 2\ngot 2 3\nstalled\n'
}

# --------------------------------- 2. resets, half-open peers, stdin/stdout

@test "connection reset (SO_LINGER 0): exit 3 'Connection reset by peer', the whole messages before it on stdout (both tools)" {
	local whole=000000036f6e650000000374776f cut=0000000a6162
	printf 'to the peer\n' >"$T/in"
	# after two whole messages and 2 bytes of a third
	listen L --in "$T/in" 127.0.0.1:0
	peer P raw_peer client "$ADDR" --write-hex "$whole$cut" --read-all --rst
	expect_exit L 3 10
	assert_err_only L '^conn-listen: cannot receive: Connection reset by peer$'
	assert_file "$T/L.out" $'one\ntwo\n'
	[[ $(xxd -p "$T/P.out" | tr -d '\n') == "0000000b$(printf 'to the peer' | xxd -p)" ]] ||
		fail "the peer received: $(xxd "$T/P.out")"
	# at a message boundary it is a reset all the same, not an end
	peer Q raw_peer listen 127.0.0.1:0 --write-hex "$whole" --read-all --rst
	run_to C --in "$T/in" conn-client "$ADDR"
	expect_exit C 3 10
	assert_err_only C '^conn-client: cannot receive: Connection reset by peer$'
	assert_file "$T/C.out" $'one\ntwo\n'
}

@test "half-open peer: it shuts down its sending side at once and keeps reading; all 100,000 lines still reach it, exit 0 (both tools)" {
	seq -f 'line %g, some padding to make it longer' 1 100000 >"$T/in"
	local want
	want="100000 $(sha "$T/in")"
	fpeer P half-close listen 127.0.0.1:0 --send hello --send bye
	run_to C --in "$T/in" conn-client "$ADDR"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/C.out" $'hello\nbye\n'
	assert_file "$T/P.out" "$want"$'\n'
	no_stderr C

	listen L --in "$T/in" "unix:$T/s.sock"
	fpeer Q half-close client "$ADDR" --send hi
	expect_exit L 0
	expect_exit Q 0
	assert_file "$T/L.out" $'hi\n'
	assert_file "$T/Q.out" "$want"$'\n'
	no_stderr L
}

@test "a peer that stops reading: the sender blocks in bounded memory, still prints what the peer sends, and exits 3 when it goes (both tools)" {
	skip_under_valgrind "peak RSS"
	# conn-client floods 64 KiB messages from /dev/zero
	mkdir "$T/c" "$T/l"
	fpeer P stop-reading listen 127.0.0.1:0 --go "$T/c"
	spawn C --in /dev/zero /usr/bin/time -f %M -o "$T/C.rss" conn-client --in raw "$ADDR"
	wait_lines "$T/C.out" 1
	sleep 0.5 # the flood fills every buffer on the way
	touch "$T/c/go1"
	wait_lines "$T/C.out" 2
	alive C || { finish C; fail "conn-client exited ($STATUS) while the peer was not reading"; }
	touch "$T/c/go2"
	expect_exit C 3 10
	assert_err_only C '^conn-client: '
	assert_file "$T/C.out" $'m1\nm2\n'
	peak_rss_under "$T/C.rss" 65536

	spawn L --in /dev/zero /usr/bin/time -f %M -o "$T/L.rss" conn-listen --in raw "unix:$T/s.sock"
	wait_listening L
	fpeer Q stop-reading client "$ADDR" --go "$T/l"
	wait_lines "$T/L.out" 1
	sleep 0.5
	touch "$T/l/go1"
	wait_lines "$T/L.out" 2
	alive L || { finish L; fail "conn-listen exited ($STATUS) while the peer was not reading"; }
	touch "$T/l/go2"
	expect_exit L 3 10
	assert_err_only L '^conn-listen: '
	assert_file "$T/L.out" $'m1\nm2\n'
	peak_rss_under "$T/L.rss" 65536
}

@test "stdout closed early (| head -1): conn-listen (single and -k) and conn-pipe end quietly with exit 0" {
	local k
	for k in '' -k; do
		spawn L bash -c 'conn-listen $2 --out hex 127.0.0.1:0 | head -1; echo "${PIPESTATUS[0]}" >"$1/L.status"' _ "$T" "$k"
		wait_listening L
		fpeer P send client "$ADDR" --binary --then forever
		expect_exit L 0 10
		assert_file "$T/L.status" $'0\n'
		no_stderr L
		check_messages "$T/L.out" hex --exact 1
	done
	seq 1000000 >"$T/seq"
	spawn Q bash -c 'conn-pipe --out hex <"$1/seq" | head -1; echo "${PIPESTATUS[0]}" >"$1/Q.status"' _ "$T"
	expect_exit Q 0 10
	assert_file "$T/Q.status" $'0\n'
	assert_file "$T/Q.out" $'31\n'
	no_stderr Q
	yes '[1, 2]' | head -n 20000 >"$T/many"
	spawn R bash -c 'conn-pipe --in json --out repr <"$1/many" | head -1; echo "${PIPESTATUS[0]}" >"$1/R.status"' _ "$T"
	expect_exit R 0 10
	assert_file "$T/R.status" $'0\n'
	assert_file "$T/R.out" $'[1, 2]\n'
	no_stderr R
}

@test "stdout on /dev/full: conn-listen (single and -k) and conn-pipe exit 1 'cannot write stdout: No space left on device'" {
	local k
	for k in '' -k; do
		spawn L bash -c 'exec conn-listen $1 127.0.0.1:0 >/dev/full' _ "$k"
		wait_listening L
		run_to C conn-client --data hello --close-on-eof "$ADDR"
		expect_exit L 1 10
		assert_err_only L '^conn-listen: cannot write stdout: No space left on device$'
	done
	spawn P bash -c 'seq 10 | exec conn-pipe >/dev/full'
	expect_exit P 1 10
	assert_err_only P '^conn-pipe: cannot write stdout: No space left on device$'
}

@test "stdin a directory: conn-listen and conn-pipe exit 1 'cannot read stdin: Is a directory'" {
	listen L --in / 127.0.0.1:0
	peer P mp_peer client "$ADDR" --send hello --recv-all
	expect_exit L 1 10
	assert_err_only L '^conn-listen: cannot read stdin: Is a directory$'
	run_to Q --in / conn-pipe
	expect_exit Q 1 10
	assert_err_only Q '^conn-pipe: cannot read stdin: Is a directory$'
	assert_file "$T/Q.out" ''
}

@test "conn-pipe FILE a directory: exit 1 'cannot read FILE: Is a directory'" {
	mkdir "$T/dir"
	run_to P conn-pipe "$T/dir"
	expect_exit P 1 10
	assert_err_only P "^conn-pipe: cannot read $T/dir: Is a directory\$"
	assert_file "$T/P.out" ''
}

# Closed standard descriptors (<&-, >&-, 2>&-): the first socket a tool
# opens must not take their place, or it would read the connection as its
# stdin, write stdout into it, or its -v traces.  README: a closed stdin
# reads as empty, a closed stdout is exit 1 where it is used, a closed
# stderr swallows notices.  (Before 45a994c the socket did take the place:
# conn-client ate the peer's message as stdin and sent it back, conn-pipe
# hung, stdout and -v traces went into the connection.)
@test "stdin closed (<&-) reads as empty: nothing is sent, the peer's messages still come, exit 0, no hang (conn-client, conn-listen, conn-pipe)" {
	peer P mp_peer listen 127.0.0.1:0 --send hello --recv-all --hex-out
	spawn C bash -c 'exec conn-client "$1" <&-' _ "$ADDR"
	expect_exit C 0 10
	expect_exit P 0 10
	assert_file "$T/C.out" $'hello\n'
	assert_file "$T/P.out" ''
	no_stderr C

	spawn L bash -c 'exec conn-listen 127.0.0.1:0 <&-'
	wait_listening L
	peer R mp_peer client "$ADDR" --send hello --recv-all --hex-out
	expect_exit L 0 10
	expect_exit R 0 10
	assert_file "$T/L.out" $'hello\n'
	assert_file "$T/R.out" ''
	no_stderr L

	spawn Q bash -c 'exec conn-pipe <&-'
	expect_exit Q 0 10
	assert_file "$T/Q.out" ''
	no_stderr Q
}

@test "stdout closed (>&-): exit 1 'cannot write stdout: Bad file descriptor' before connecting; fine with --send-only (conn-client, conn-listen, conn-pipe)" {
	printf 'abc\n' >"$T/in"
	peer P mp_peer listen 127.0.0.1:0 --send hello --recv-all --hex-out
	spawn C --in "$T/in" bash -c 'exec conn-client "$1" >&-' _ "$ADDR"
	expect_exit C 1 10
	assert_err_only C '^conn-client: cannot write stdout: Bad file descriptor$'
	# nothing written to stdout: a closed one is no problem
	spawn D --in "$T/in" bash -c 'exec conn-client --send-only "$1" >&-' _ "$ADDR"
	expect_exit D 0 10
	expect_exit P 0 10
	assert_file "$T/P.out" $'616263\n'
	no_stderr D

	spawn L bash -c 'exec conn-listen 127.0.0.1:0 >&-'
	expect_exit L 1 10
	assert_err_only L '^conn-listen: cannot write stdout: Bad file descriptor$'
	spawn Q --in "$T/in" bash -c 'exec conn-pipe >&-'
	expect_exit Q 1 10
	assert_err_only Q '^conn-pipe: cannot write stdout: Bad file descriptor$'
}

@test "stderr closed (2>&-) with -v: the session is unharmed, the traces go nowhere (conn-client, conn-listen, conn-pipe)" {
	printf 'abc\n' >"$T/in"
	peer P mp_peer listen 127.0.0.1:0 --send hello --recv-all --hex-out
	spawn C --in "$T/in" bash -c 'exec conn-client -v "$1" 2>&-' _ "$ADDR"
	expect_exit C 0 10
	expect_exit P 0 10
	assert_file "$T/C.out" $'hello\n'
	assert_file "$T/P.out" $'616263\n'

	# no announce line to wait for: a Unix socket whose file shows up
	spawn L --in "$T/in" bash -c 'exec conn-listen -v "unix:$1/s.sock" 2>&-' _ "$T"
	local i
	for i in $(seq 250); do
		[[ -S $T/s.sock ]] && break
		sleep 0.02
	done
	peer R mp_peer client "$T/s.sock" --send hello --recv-all --hex-out
	expect_exit L 0 10
	expect_exit R 0 10
	assert_file "$T/L.out" $'hello\n'
	assert_file "$T/R.out" $'616263\n'

	spawn Q --in "$T/in" bash -c 'exec conn-pipe -v 2>&-'
	expect_exit Q 0 10
	assert_file "$T/Q.out" $'abc\n'
}

# ------------------------------------------- 3. SIGINT/SIGTERM mid-transfer

@test "SIGINT and SIGTERM during a transfer: conn-client exits 0, nothing on stderr, stdout whole messages only" {
	local sig
	for sig in INT TERM; do
		fpeer P send listen 127.0.0.1:0 --then forever
		spawn C --idle conn-client "$ADDR"
		wait_lines "$T/C.out" 300 20
		kill -"$sig" "$(inner_pid C)"
		expect_exit C 0 10
		no_stderr C
		check_messages "$T/C.out" lines --min 300
	done
}

@test "SIGINT and SIGTERM during a transfer: conn-listen on a Unix socket exits 0, the socket file is gone, stdout whole messages only" {
	local sig
	for sig in INT TERM; do
		rm -f "$T/L.out"
		listen L --idle --out hex "unix:$T/s.sock"
		fpeer P send client "$ADDR" --binary --then forever
		wait_lines "$T/L.out" 300 20
		kill -"$sig" "$(inner_pid L)"
		expect_exit L 0 10
		[[ ! -e $T/s.sock ]] || fail "SIG$sig: the socket file is still there"
		no_stderr L
		check_messages "$T/L.out" hex --min 300
	done
}

@test "SIGINT to conn-listen -k during transfers from two clients: exit 0, the socket file is gone, each client's messages whole and in order" {
	listen L --idle -k "unix:$T/s.sock"
	fpeer A send client "$ADDR" --tag a --then forever
	fpeer B send client "$ADDR" --tag b --then forever
	wait_lines "$T/L.out" 300 20
	kill -INT "$(inner_pid L)"
	expect_exit L 0 10
	[[ ! -e $T/s.sock ]] || fail "the socket file is still there"
	no_stderr L
	check_messages "$T/L.out" lines --tags a,b --min 300
}

# ------------------------------------------------ 4. no handshake at all

@test "a client that skips the handshake (frames straight away) to a keyed conn-listen: exit 4 naming the cause, nothing on stdout" {
	local k
	k=$(key_file k "$KEY")
	# a Python Client without authkey: send_bytes() at once
	listen L --authkey-file "$k" 127.0.0.1:0
	peer P mp_peer client "$ADDR" --send 'not authenticated' --send 'second' --hold 5
	expect_exit L 4 10
	assert_err_only L "^conn-listen: authentication failed: the peer's reply is not a digest: does it use no authkey\\?\$"
	assert_file "$T/L.out" ''
	# a Python Client without authkey: send() of a pickle, then recv(),
	# which fails on the challenge (were it to close at once, writing the
	# challenge to the Unix socket could fail first: 'the peer closed')
	listen M --authkey-file "$k" "unix:$T/s.sock"
	peer Q obj_peer client "$ADDR" --send "{'secret': [1, 2]}" --recv 1
	expect_exit M 4 10
	assert_err_only M "^conn-listen: authentication failed: the peer's reply is not a digest: does it use no authkey\\?\$"
	assert_file "$T/M.out" ''
	# 16 bytes, the size of a legacy MD5 reply
	listen N --authkey-file "$k" 127.0.0.1:0
	peer R raw_peer client "$ADDR" --write-hex "00000010$(printf 'sixteen byte msg' | xxd -p)" --hold 5
	expect_exit N 4 10
	assert_err_only N "^conn-listen: authentication failed: the peer's reply does not match our key\$"
	assert_file "$T/N.out" ''
}

@test "-k: clients that skip the handshake are each logged with address and cause and dropped; nothing of theirs on stdout; a keyed client is served" {
	local k i
	k=$(key_file k "$KEY")
	listen L --idle -k --authkey-file "$k" 127.0.0.1:0
	peer P mp_peer client "$ADDR" --send 'not authenticated 1' --send 'more' --hold 5
	peer Q obj_peer client "$ADDR" --send "'not authenticated 2'" --recv 1
	finish Q 10
	peer R raw_peer client "$ADDR" --write-hex "00000010$(printf 'not authentic 3!' | xxd -p)" --read-frame --read-all
	finish R 10
	wait_err L "does not match our key"
	for i in $(seq 500); do
		[[ $(grep -c 'is not a digest' "$T/L.err") -ge 2 ]] && break
		sleep 0.02
	done
	run_to C conn-client --authkey-file "$k" --data good --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'good\n'
	alive L || fail "the listener exited"
	[[ $(grep -Ec "^conn-listen: warning: 127\\.0\\.0\\.1:[0-9]+: authentication failed: the peer's reply is not a digest: does it use no authkey\\?\$" "$T/L.err") == 2 ]] ||
		fail "not two 'not a digest' warnings: $(cat "$T/L.err")"
	assert_err L "^conn-listen: warning: 127\\.0\\.0\\.1:[0-9]+: authentication failed: the peer's reply does not match our key\$"
	refute_err L 'not authentic'
}

# ---------------------------------------- 5. hostile pickles and JSON

# pipe_rss NAME FILE ARGS...: conn-pipe ARGS < FILE, peak RSS in $T/NAME.rss
pipe_rss() {
	local name=$1 file=$2
	shift 2
	run_to "$name" --in "$file" /usr/bin/time -f %M -o "$T/$name.rss" conn-pipe "$@"
}

@test "a million MARK opcodes: exit 5 'more than 1000 nested MARKs', one line, bounded memory (repr, json, pickle-dis; and conn-listen --out repr)" {
	skip_under_valgrind "a million opcodes, peak RSS"
	"$PYTHON" -c 'print("8004" + "28" * 1000000 + "2e")' >"$T/marks.hex"
	local o
	for o in repr json pickle-dis; do
		pipe_rss P "$T/marks.hex" --in hex --out "$o"
		expect_exit P 5
		assert_err_only P '^conn-pipe: message 1: offset 1002, opcode MARK \(0x28\): more than 1000 nested MARKs$'
		assert_file "$T/P.out" ''
		peak_rss_under "$T/P.rss" 524288
	done
	# over the network, from a Python Client's send_bytes()
	xxd -r -p "$T/marks.hex" >"$T/marks.bin"
	listen L --out repr 127.0.0.1:0
	peer Q mp_peer client "$ADDR" --send-file "$T/marks.bin" --hold 5
	expect_exit L 5 10
	assert_err_only L '^conn-listen: message 1: offset 1002, opcode MARK \(0x28\): more than 1000 nested MARKs$'
}

@test "a million EMPTY_LIST opcodes: '[]' as Python's pickle.loads gives, bounded memory (repr, json, pickle-dis)" {
	skip_under_valgrind "a million opcodes, peak RSS"
	"$PYTHON" -c 'print("8004" + "5d" * 1000000 + "2e")' >"$T/lists.hex"
	"$PYTHON" -c 'import pickle, sys; print(repr(pickle.loads(bytes.fromhex(open(sys.argv[1]).read()))))' "$T/lists.hex" >"$T/want"
	assert_file "$T/want" $'[]\n'
	pipe_rss P "$T/lists.hex" --in hex --out repr
	expect_exit P 0
	assert_file "$T/P.out" $'[]\n'
	peak_rss_under "$T/P.rss" 524288
	pipe_rss J "$T/lists.hex" --in hex --out json
	expect_exit J 0
	assert_file "$T/J.out" $'[]\n'
	peak_rss_under "$T/J.rss" 524288
	pipe_rss D "$T/lists.hex" --in hex --out pickle-dis
	expect_exit D 0
	[[ $(grep -c 'EMPTY_LIST$' "$T/D.out") == 1000000 ]] || fail "$(grep -c 'EMPTY_LIST$' "$T/D.out") EMPTY_LIST lines"
	peak_rss_under "$T/D.rss" 524288
}

@test "a million nested lists (EMPTY_LIST, then APPENDs): exit 5 'nests deeper than 1000 levels', bounded memory" {
	skip_under_valgrind "two million opcodes, peak RSS"
	"$PYTHON" -c 'print("8004" + "5d" * 1000000 + "61" * 999999 + "2e")' >"$T/nest.hex"
	local o
	for o in repr json; do
		pipe_rss P "$T/nest.hex" --in hex --out "$o"
		expect_exit P 5
		assert_err_only P '^conn-pipe: message 1: the object nests deeper than 1000 levels$'
		assert_file "$T/P.out" ''
		peak_rss_under "$T/P.rss" 524288
	done
}

@test "JSON a million levels deep ([, {\"a\":, unclosed): exit 5 'stdin line N: nesting deeper than 1000', earlier lines converted; 1000 levels pass" {
	skip_under_valgrind "peak RSS"
	"$PYTHON" - "$T" <<'EOF'
import sys
d = sys.argv[1]
n = 1000000
open(d + '/brackets', 'w').write('[1]\n' + '[' * n + ']' * n + '\n[2]\n')
open(d + '/objects', 'w').write('{"a": ' * n + '1' + '}' * n + '\n')
open(d + '/unclosed', 'w').write('[' * n + '\n')
open(d + '/deep1000', 'w').write('[' * 1000 + ']' * 1000 + '\n')
EOF
	pipe_rss P "$T/brackets" --in json --out repr
	expect_exit P 5
	assert_err_only P '^conn-pipe: stdin line 2: nesting deeper than 1000$'
	assert_file "$T/P.out" $'[1]\n'
	peak_rss_under "$T/P.rss" 524288
	local f
	for f in objects unclosed; do
		pipe_rss Q "$T/$f" --in json --out hex
		expect_exit Q 5
		assert_err_only Q '^conn-pipe: stdin line 1: nesting deeper than 1000$'
		assert_file "$T/Q.out" ''
		peak_rss_under "$T/Q.rss" 524288
	done
	# 1000 levels: pickled, and read back by Python as 1000 nested lists
	run_to D --in "$T/deep1000" conn-pipe --in json --out frames
	expect_exit D 0
	"$PYTHON" -c 'import pickle, struct, sys
data = open(sys.argv[1], "rb").read()
n, = struct.unpack("!i", data[:4])
x, depth = pickle.loads(data[4:4 + n]), 0
while x:
    x, depth = x[0], depth + 1
assert depth == 999 and len(data) == 4 + n, (depth, len(data), n)' "$T/D.out" || fail "not 1000 nested lists"
	run_to R --in "$T/deep1000" conn-pipe --in json --out repr
	expect_exit R 0
	assert_file "$T/R.out" "$(cat "$T/deep1000")"$'\n'
}

@test "--in json holds no tree: 8 MB of [{}, ...] (2 million dicts), of [[], ...] and 17 MB of ints convert in under 64 MiB, the pickles Python's own" {
	skip_under_valgrind "peak RSS"
	"$PYTHON" - "$T" <<'EOF'
import json, sys
d = sys.argv[1]
n = 2000000
open(d + '/dicts', 'w').write('[' + ', '.join(['{}'] * n) + ']\n')
open(d + '/lists', 'w').write('[' + ', '.join(['[]'] * n) + ']\n')
open(d + '/ints', 'w').write(json.dumps(list(range(n))) + '\n')
EOF
	# ASan's shadow memory and quarantine count in RSS: a looser bound
	local f bound=65536
	! sanitized || bound=262144
	for f in dicts lists ints; do
		pipe_rss P "$T/$f" --in json --out frames --pickle-protocol 5
		expect_exit P 0
		peak_rss_under "$T/P.rss" "$bound"
		"$PYTHON" - "$T/$f" "$T/P.out" <<'EOF' || fail "$f: not Python's pickle"
import json, pickle, pickletools, sys
# the same opcodes once both are framed alike (CPython frames each 64 KiB,
# we frame the body once)
want = pickletools.optimize(pickle.dumps(json.loads(open(sys.argv[1]).read()), 5))
got = pickletools.optimize(open(sys.argv[2], 'rb').read()[4:])
sys.exit(got != want)
EOF
	done
}

@test "--in json: a repeated key keeps its first place and takes its last value, at every depth, as json.loads() does" {
	cat >"$T/in" <<'EOF'
{"a": 1, "b": 2, "a": 3}
{"a": {"x": 1, "x": 2}, "b": [1, {"c": 1, "c": [2]}], "a": {"y": 5, "z": {"q": 1, "q": 2}}}
[{"k": 0, "k": 1}, {"k": 1, "j": 0, "k": 2}, {"\u00e9": 1, "é": 2}]
{"big": {"k0": 0, "k1": 1, "k0": 2, "k2": 3, "k1": 4}, "big": [], "big": {"k": {"k": {"k": 1, "k": 2}}}}
EOF
	local p
	for p in 0 2 5; do
		run_to P --in "$T/in" conn-pipe --in json --out frames --pickle-protocol $p
		expect_exit P 0
		"$PYTHON" - "$T/in" "$T/P.out" <<'EOF' || fail "protocol $p: the objects differ from json.loads()"
import json, pickle, struct, sys
lines = open(sys.argv[1], encoding='utf-8').read().splitlines()
data = open(sys.argv[2], 'rb').read()
got = []
while data:
    n, = struct.unpack('>i', data[:4])
    got.append(pickle.loads(data[4:4 + n]))
    data = data[4 + n:]
want = [json.loads(l) for l in lines]
# equal values, and keys in the same order: repr() shows both
sys.exit(repr(got) != repr(want))
EOF
	done
}

@test "pickles announcing huge sizes (BINBYTES8 2^62 and 2^64-1, BINUNICODE8, BINUNICODE, FRAME, LONG4 2^31 and 2^31-1) and memo indexes (LONG_BINPUT/GET 2^32-1): exit 5, one line, small memory" {
	skip_under_valgrind "peak RSS"
	"$PYTHON" - "$T/cases" <<'EOF'
import sys
le = lambda n, w: n.to_bytes(w, 'little').hex()
cases = [
    ('BINBYTES8', '8004' + '8e' + le(2**62, 8) + '2e',
     r'offset 2, opcode BINBYTES8 \(0x8e\): the pickle ends inside the argument \(4611686018427387904 bytes announced, 1 left\)$'),
    ('BINBYTES8max', '8004' + '8e' + le(2**64 - 1, 8) + '2e',
     r'offset 2, opcode BINBYTES8 \(0x8e\): the pickle ends inside the argument \(18446744073709551615 bytes announced, 1 left\)$'),
    ('BINUNICODE8', '8004' + '8d' + le(2**63 - 1, 8) + '2e',
     r'offset 2, opcode BINUNICODE8 \(0x8d\): the pickle ends inside the argument \(9223372036854775807 bytes announced, 1 left\)$'),
    ('BINUNICODE', '8004' + '58' + le(2**32 - 1, 4) + '2e',
     r'offset 2, opcode BINUNICODE \(0x58\): the pickle ends inside the argument \(4294967295 bytes announced, 1 left\)$'),
    ('FRAME', '8004' + '95' + le(2**62, 8) + '4e2e',
     r'offset 2, opcode FRAME \(0x95\): the pickle ends inside the frame \(4611686018427387904 bytes announced, 2 left\)$'),
    ('LONG4', '8004' + '8b' + le(2**31, 4) + '2e',
     r'offset 2, opcode LONG4 \(0x8b\): negative byte count$'),
    ('LONG4max', '8004' + '8b' + le(2**31 - 1, 4) + '2e',
     r'offset 2, opcode LONG4 \(0x8b\): the pickle ends inside the argument \(2147483647 bytes announced, 1 left\)$'),
    ('LONG_BINPUT', '8004' + '4e' + '72' + le(2**32 - 1, 4) + '2e',
     r'offset 3, opcode LONG_BINPUT \(0x72\): memo index 4294967295 is over the limit of 1000000 entries$'),
    ('LONG_BINGET', '8004' + '6a' + le(2**32 - 1, 4) + '2e',
     r'offset 2, opcode LONG_BINGET \(0x6a\): memo index 4294967295 is not defined$'),
]
with open(sys.argv[1], 'w') as f:
    for name, hexdata, ere in cases:
        f.write('%s %s %s\n' % (name, hexdata, ere))
EOF
	local name hex ere o bad=
	while read -r name hex ere; do
		printf '%s\n' "$hex" >"$T/$name.hex"
		for o in repr json pickle-dis; do
			pipe_rss P "$T/$name.hex" --in hex --out "$o"
			if [[ $STATUS != 5 ]]; then
				bad+="$name --out $o: exit $STATUS: $(cat "$T/P.err")"$'\n'
			elif [[ $(wc -l <"$T/P.err") != 1 ]] || ! grep -Eq "^conn-pipe: message 1: $ere" "$T/P.err"; then
				bad+="$name --out $o: $(cat "$T/P.err")"$'\n'
			elif (($(tail -1 "$T/P.rss") >= 65536)); then
				bad+="$name --out $o: peak RSS $(tail -1 "$T/P.rss") KiB"$'\n'
			fi
		done
	done <"$T/cases"
	[[ -z $bad ]] || fail "$bad"
}

# ---------------------------------------------------- 6. security

@test "the key never appears in any output with -v: --authkey-file and CONN_AUTHKEY, both tools, right and wrong keys" {
	local key='Zq9-never-SHOWN-key-41' kf wrong khex
	kf=$(key_file k "$key")
	wrong=$(key_file w 'another key')
	khex=$(printf '%s' "$key" | xxd -p)
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
	local how
	for how in file env file-wrong env-wrong; do
		case $how in
		file)
			listen L --in "$T/l.in" -v --authkey-file "$kf" 127.0.0.1:0
			run_to C --in "$T/c.in" conn-client -v --authkey-file "$kf" "$ADDR"
			;;
		env)
			spawn L --in "$T/l.in" env CONN_AUTHKEY="$key" conn-listen -v 127.0.0.1:0
			wait_listening L
			run_to C --in "$T/c.in" env CONN_AUTHKEY="$key" conn-client -v "$ADDR"
			;;
		file-wrong)
			listen L --in "$T/l.in" -v --authkey-file "$kf" 127.0.0.1:0
			run_to C --in "$T/c.in" conn-client -v --authkey-file "$wrong" "$ADDR"
			;;
		env-wrong)
			spawn L --in "$T/l.in" env CONN_AUTHKEY="$key" conn-listen -v 127.0.0.1:0
			wait_listening L
			run_to C --in "$T/c.in" env CONN_AUTHKEY='another key' conn-client -v "$ADDR"
			;;
		esac
		if [[ $how == *-wrong ]]; then
			expect_exit C 4 10
			expect_exit L 4 10
		else
			expect_exit C 0
			expect_exit L 0
			assert_file "$T/L.out" $'from client\n'
			assert_file "$T/C.out" $'from listener\n'
		fi
		assert_err C '^conn-client: connected to '
		assert_err L '^conn-listen: connection from '
		local f
		for f in L.out L.err C.out C.err; do
			! grep -qiF -e "$key" -e "$khex" "$T/$f" || fail "$how: the key is in $f: $(cat "$T/$f")"
		done
	done
}

@test "--authkey TEXT is overwritten in /proc/PID/cmdline once read (both tools)" {
	skip_under_valgrind "/proc/PID/cmdline is valgrind's own"
	local key='Cmdline-S3cret-99'
	listen L --idle -v --authkey "$key" 127.0.0.1:0
	spawn C --idle conn-client -v --authkey "$key" "$ADDR"
	local i
	for i in $(seq 250); do
		grep -q 'authenticated' "$T/C.err" && grep -q 'authenticated' "$T/L.err" && break
		sleep 0.02
	done
	assert_err C '^conn-client: authenticated: '
	local name cmd
	for name in L C; do
		cmd=$(tr '\0' ' ' <"/proc/$(inner_pid "$name")/cmdline")
		[[ $cmd == *--authkey* ]] || fail "$name: not the right process: $cmd"
		[[ $cmd != *"$key"* ]] || fail "$name: the key is in /proc/PID/cmdline: $cmd"
	done
}

@test "Unix socket files are created 0600 even with umask 000 (single and -k), in a world-writable directory too" {
	mkdir -m 1777 "$T/pub"
	local k
	for k in '' -k; do
		rm -f "$T/probe"
		spawn L --idle bash -c 'umask 000; : >"$1/probe"; exec conn-listen $2 "unix:$1/pub/s.sock"' _ "$T" "$k"
		wait_listening L
		[[ $(stat -c %a "$T/probe") == 666 ]] || fail "umask 000 was not in effect"
		[[ -S $T/pub/s.sock ]] || fail "no socket"
		[[ $(stat -c %a "$T/pub/s.sock") == 600 ]] || fail "mode $(stat -c %a "$T/pub/s.sock") with umask 000 ($k)"
		kill -TERM "$(inner_pid L)"
		expect_exit L 0 10
		[[ ! -e $T/pub/s.sock ]] || fail "the socket file is still there"
	done
}

@test "--no-md5: conn-client refuses a Python 3.11 Listener's legacy challenge; conn-listen -k drops a Python 3.11 Client and serves a modern one" {
	local k
	k=$(key_file k "$KEY")
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --send hi
	run_to C conn-client --no-md5 --handshake-timeout 5 --authkey-file "$k" "$ADDR"
	expect_exit C 4 10
	expect_exit P 3 10
	assert_err_only C '^conn-client: authentication failed: the peer challenges with MD5 \(a legacy peer\) and --no-md5 refuses it$'
	assert_file "$T/C.out" ''

	listen L --idle -k --no-md5 --authkey-file "$k" 127.0.0.1:0
	peer Q mp_peer client "$ADDR" --authkey "$KEY" --send legacy
	expect_exit Q 4 10
	run_to D conn-client --no-md5 --authkey-file "$k" --data modern --close-on-eof "$ADDR"
	expect_exit D 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'modern\n'
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: authentication failed'
}

@test "handshake frames: 256 bytes are read and answered, 257 announced are refused at once (exit 5, before the payload) on the client, and dropped by conn-listen -k" {
	local k c256
	k=$(key_file k "$KEY")
	c256=$(printf '#CHALLENGE#{sha256}%0237d' 0 | xxd -p | tr -d '\n')
	peer P raw_peer listen 127.0.0.1:0 --write-hex "00000100$c256" --read-frame
	run_to C conn-client --handshake-timeout 20 --authkey-file "$k" "$ADDR"
	expect_exit C 4 10
	expect_exit P 0 10
	# the answer: {sha256} and a 32-byte HMAC
	[[ $(cat "$T/P.out") =~ ^7b7368613235367d[0-9a-f]{64}$ ]] || fail "the 256-byte challenge was not answered: $(cat "$T/P.out")"
	refute_err C 'announced'

	# 257 announced, nothing more sent: refused without waiting for it
	peer Q raw_peer listen 127.0.0.1:0 --write-hex 00000101 --hold 30
	spawn D --idle conn-client --handshake-timeout 20 --authkey-file "$k" "$ADDR"
	expect_exit D 5 10
	assert_err_only D '^conn-client: the peer announced a 257-byte message during the handshake \(the limit is 256\): it does not speak this protocol$'

	listen L --idle -k --handshake-timeout 20 --authkey-file "$k" 127.0.0.1:0
	peer R raw_peer client "$ADDR" --read-frame --write-hex 00000101 --hold 30
	wait_lines "$T/R.out" 1
	run_to E conn-client --authkey-file "$k" --data after --close-on-eof "$ADDR"
	expect_exit E 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'after\n'
	wait_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: the peer announced a 257-byte message during the handshake \(the limit is 256\)'
	alive L || fail "the listener exited"
}
