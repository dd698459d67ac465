#!/usr/bin/env bats
# Fair delivery in conn-listen -k (issue #14, finding 6): stdin goes to
# its target without waiting for an unrelated client that stopped
# reading; a handshake never waits on stdout; with --broadcast a client
# that stops reading is dropped with one warning (--max-sendq,
# --send-timeout) while the others get everything.  Unix sockets (small
# kernel buffers, so a stalled client fills up fast), bounded in time.

load helpers

KEY=secret

# stalled NAME SOCKET: a client (no key) that sends one message, its
# NAME, and never reads.
stalled() {
	spawn "$1" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(len(sys.argv[2]).to_bytes(4, "big") + sys.argv[2].encode())
time.sleep(30)' "$2" "$1"
}

# lines FILE FILLER MARKS: FILLER 100-byte lines "f..." then MARKS lines
# "m1" .. "mMARKS".
lines() {
	"$PYTHON" -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write(("f" * 99 + "\n") * int(sys.argv[2]))
    f.writelines("m%d\n" % i for i in range(1, int(sys.argv[3]) + 1))' "$@"
}

# stdin_still NAME: wait (bounded) until NAME has read at least 1 MiB of
# its stdin file and has stopped reading it (the same offset 0.3 s on).
stdin_still() {
	local pid pos last= i
	pid=$(inner_pid "$1")
	for i in $(seq 100); do
		pos=$(awk '/^pos:/ { print $2 }' "/proc/$pid/fdinfo/0")
		((pos >= 1048576)) && [[ $pos == "$last" ]] && return 0
		last=$pos
		sleep 0.3
	done
	fail "$1 did not stop reading stdin (offset $pos)"
}

# wait_last FILE LINE [SEC]: wait until the last line of FILE is LINE.
wait_last() {
	local end=$(($(now_ms) + ${3:-15} * 1000))
	until [[ $(tail -n 1 "$1" 2>/dev/null) == "$2" ]]; do
		if past_ms "$end"; then
			fail "$1 does not end with '$2' after ${3:-15}s ($(wc -l <"$1") lines, the last: $(tail -n 1 "$1" | head -c 100))"
			return 1
		fi
		nap
	done
}

# marks FILE N: FILE's lines "m..." are exactly m1 .. mN, in order.
marks() {
	grep '^m' "$1" >"$1.marks" || true
	cmp -s "$1.marks" <(seq 1 "$2" | sed 's/^/m/') ||
		fail "$1: $(wc -l <"$1.marks") of the $2 marked lines, or out of order"
}

@test "an older client that stopped reading does not hold up stdin to the newest: all 27,000 lines arrive" {
	lines "$T/in" 40000 27000
	listen L --in "$T/in" -k "unix:$T/s.sock"
	# the oldest client takes stdin until it is 1 MiB behind, and stalls
	stalled A "$T/s.sock"
	wait_lines "$T/L.out" 1
	stdin_still L
	spawn B conn-client --recv-only "$T/s.sock"
	wait_last "$T/B.out" m27000
	marks "$T/B.out" 27000
	alive A || fail "the stalled client was gone too early"
	refute_err L 'warning'
}

@test "a stdout nobody reads does not stop a new client's handshake: done within a second" {
	skip_under_valgrind "times the handshake"
	key_file k "$KEY" >/dev/null
	lines "$T/in" 40000 0
	mkfifo "$T/out"
	# stdout: a pipe whose reader never reads
	spawn R --in "$T/out" sleep 30
	spawn L bash -c 'exec conn-listen -k --handshake-timeout 3 --authkey-file "$0" "unix:$1" >"$2"' \
		"$T/k" "$T/s.sock" "$T/out"
	wait_listening L
	# a client fills stdout's pipe and the listener's 1 MiB behind it
	spawn W --in "$T/in" conn-client --authkey-file "$T/k" --send-only "$T/s.sock"
	stdin_still W
	run_to C conn-client --authkey-file "$T/k" --data hello --close-on-eof "$T/s.sock"
	expect_exit C 0 5
	((ELAPSED_MS < 1000)) || fail "the handshake took ${ELAPSED_MS} ms"
	refute_err L 'warning'
	alive L || fail "the listener exited"
}

# broadcast_stalled ARGS...: conn-listen -k --broadcast ARGS with two
# readers and, third, a stalled client; 12 MB of stdin; each reader must
# get it whole, and the listener must say one warning.
broadcast_stalled() {
	lines "$T/in" 120000 1000
	mkfifo "$T/fifo"
	spawn L --in "$T/fifo" conn-listen -k --broadcast "$@" "unix:$T/s.sock"
	exec 7>"$T/fifo"
	wait_listening L
	# each says who it is: in, in this order, before stdin flows
	spawn R1 --idle conn-client --data R1 "$T/s.sock"
	wait_lines "$T/L.out" 1
	spawn R2 --idle conn-client --data R2 "$T/s.sock"
	wait_lines "$T/L.out" 2
	stalled S "$T/s.sock"
	wait_lines "$T/L.out" 3
	assert_file "$T/L.out" $'R1\nR2\nS\n'
	spawn FEED bash -c 'cat "$0" >"$1"' "$T/in" "$T/fifo"
	expect_exit FEED 0 20
	exec 7>&-
	wait_last "$T/R1.out" m1000
	wait_last "$T/R2.out" m1000
	cmp "$T/in" "$T/R1.out" || fail "R1 did not get stdin whole"
	cmp "$T/in" "$T/R2.out" || fail "R2 did not get stdin whole"
	[[ $(grep -c warning "$T/L.err") == 1 ]] || fail "not one warning: $(grep warning "$T/L.err")"
}

@test "--broadcast: a client that stops reading is dropped past --max-sendq (4 MiB) with one warning; the readers get every line" {
	broadcast_stalled
	assert_err L "^conn-listen: warning: $T/s.sock#3: dropped: it fell [0-9]+ bytes behind \(--max-sendq 4194304\)$"
}

@test "--broadcast --max-sendq=0: stdin waits for the slowest; a stalled client holds the others up until --send-timeout" {
	broadcast_stalled --max-sendq=0 --send-timeout=1
	assert_err L "^conn-listen: warning: $T/s.sock#3: dropped: it read nothing for 1 s \([0-9]+ bytes queued\)$"
}

@test "the newest client stalls: dropped after --send-timeout with one warning, then stdin goes to the next newest" {
	lines "$T/in" 40000 27000
	mkfifo "$T/fifo"
	spawn L --in "$T/fifo" conn-listen -k --send-timeout 1 "unix:$T/s.sock"
	exec 7>"$T/fifo"
	wait_listening L
	spawn B --idle conn-client --data B "$T/s.sock"
	wait_lines "$T/L.out" 1
	stalled A "$T/s.sock"
	wait_lines "$T/L.out" 2
	# A, the newest, takes stdin until it is 1 MiB behind, and stalls
	spawn FEED bash -c 'cat "$0" >"$1"' "$T/in" "$T/fifo"
	wait_err L "^conn-listen: warning: $T/s.sock#2: dropped: it read nothing for 1 s \([0-9]+ bytes queued\)$"
	expect_exit FEED 0 20
	exec 7>&-
	wait_last "$T/B.out" m27000
	marks "$T/B.out" 27000
	[[ $(grep -c warning "$T/L.err") == 1 ]] || fail "not one warning: $(grep warning "$T/L.err")"
}

@test "usage: --max-sendq and --send-timeout need -k, not with --exec; bad values" {
	run_to A conn-listen --max-sendq 1M :0
	expect_exit A 2
	assert_usage_error A '^conn-listen: --max-sendq needs -k \(--keep-open\)$'
	run_to B conn-listen -k --send-timeout 5 :0 --exec cat
	expect_exit B 2
	assert_usage_error B '^conn-listen: cannot use --send-timeout with --exec$'
	run_to C conn-listen -k --max-sendq lots :0
	expect_exit C 2
	assert_usage_error C "^conn-listen: invalid --max-sendq 'lots'$"
	run_to D conn-listen -k --send-timeout -1 :0
	expect_exit D 2
	assert_usage_error D "^conn-listen: invalid --send-timeout '-1' \(seconds\)$"
}
