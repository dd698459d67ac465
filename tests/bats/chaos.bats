#!/usr/bin/env bats
# Chaos: cheap attacks on conn-listen -k (issue #14), each asserting that
# honest clients are still served and that the listener's CPU and log stay
# bounded.  Loopback only; every attack is bounded in count and time
# (tests/peers/chaos.py).  The figures (clients served, CPU, log lines)
# are printed on fd 3, so that a bats run shows them.

load helpers

KEY='chaos key'

CHAOS=$CONN_PEERS/chaos.py

# figure TEXT: a measured figure, shown in the test run's output.
figure() { echo "# $BATS_TEST_DESCRIPTION: $*" >&3; }

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() {
	local st
	read -r st <"/proc/$1/stat"
	st=${st##*) }
	# fields 14 and 15 of stat, 12 and 13 after "S PPID ..." is cut off
	set -- $st
	echo $((${12} + ${13}))
}

# quiet_when_out_of_fds N: N connections held on the listener L (at
# $ADDR) run it out of descriptors, with more waiting; it must use under
# 0.5 s of CPU in 3 s (far above a paused loop, far below a spinning one)
# and log under 20 lines.  Then the connections go.
quiet_when_out_of_fds() {
	local pid t0 t1 ms lines
	pid=$(inner_pid L)
	[[ $(cat "/proc/$pid/comm") == conn-listen ]] || fail "no conn-listen at $pid"
	spawn H --idle "$PYTHON" "$CHAOS" hold "$ADDR" --conns "$1" --seconds 30
	wait_err H '^hold: [0-9]+ connected$' 15
	wait_err L '^conn-listen: warning: out of file descriptors'
	t0=$(cpu_ticks "$pid")
	sleep 3
	t1=$(cpu_ticks "$pid")
	ms=$(((t1 - t0) * 1000 / $(getconf CLK_TCK)))
	lines=$(wc -l <"$T/L.err")
	figure "CPU $ms ms over 3 s, $lines lines on stderr"
	((ms < 500)) || fail "$ms ms of CPU in 3 s"
	((lines < 20)) || fail "$lines lines on stderr: $(head -c 1000 "$T/L.err")"
	kill -TERM -- "-${BG_PID[H]}" 2>/dev/null || true
	finish H 5
}

# honest N KEYFILE ADDRESS BUDGET: N keyed clients one after another, each
# sending one numbered message; at most BUDGET seconds in all.  Prints
# how many exited 0 (the test checks that their messages arrived).
honest() {
	local n=$1 k=$2 addr=$3 end=$(($(now_ms) + $4 * 1000)) i served=0
	for ((i = 1; i <= n; i++)); do
		past_ms "$end" && break
		timeout 10 conn-client --handshake-timeout 3 --authkey-file "$k" \
			--data "honest $i" --close-on-eof "$addr" \
			</dev/null >/dev/null 2>>"$T/honest.err" && ((served += 1))
	done
	echo "$served"
}

@test "slowloris: 300 silent connections, reopened as they are dropped; >= 95% of 50 honest keyed clients are served" {
	skip_under_valgrind "300 connections"
	ulimit -n 4096
	local k served
	k=$(key_file k "$KEY")
	listen L --idle -k --authkey-file "$k" 127.0.0.1:0
	SPAWN_TIMEOUT=60 spawn S --idle "$PYTHON" "$CHAOS" slowloris "$ADDR" --conns 300 --seconds 50
	wait_err S '^slowloris: 300 connected$' 20
	served=$(honest 50 "$k" "$ADDR" 30)
	figure "$served/50 honest clients served $(sort "$T/honest.err" 2>/dev/null | uniq -c | tr -s " \n" " ")"
	alive S || fail "the slowloris ended early: $(cat "$T/S.err")"
	((served >= 48)) || fail "only $served of 50 honest clients were served: $(sort "$T/honest.err" | uniq -c)"
	wait_lines "$T/L.out" "$served"
	alive L || fail "the listener exited"
	# the drops are logged, bounded: a summary, not one line each
	assert_err L '^conn-listen: warning: .*--max-startups'
	(($(wc -l <"$T/L.err") < 200)) || fail "$(wc -l <"$T/L.err") lines on stderr"
}

@test "EMFILE: out of descriptors under 'ulimit -n 32', the listener pauses accepting: little CPU, a few log lines; served again after" {
	skip_under_valgrind "CPU time"
	local k
	k=$(key_file k "$KEY")
	spawn L --idle bash -c 'ulimit -n 32 && exec conn-listen -k --authkey-file "$0" 127.0.0.1:0' "$k"
	wait_listening L
	quiet_when_out_of_fds 60
	# the held connections are gone: a new client is served
	run_to C conn-client --handshake-timeout 5 --authkey-file "$k" --data after --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'after\n'
}

@test "a reset flood: 500 connections reset at once; bounded warning lines with a summary count; honest clients still served" {
	skip_under_valgrind "500 connections"
	local k lines
	k=$(key_file k "$KEY")
	listen L --idle -k --authkey-file "$k" 127.0.0.1:0
	run_to R "$PYTHON" "$CHAOS" resets "$ADDR" --conns 500
	expect_exit R 0
	assert_err R '^resets: 500 sent$'
	run_to C conn-client --handshake-timeout 5 --authkey-file "$k" --data after --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'after\n'
	# every dropped connection is counted, in a summary line or its own
	wait_err L 'and [0-9]+ more like it' 5
	lines=$(wc -l <"$T/L.err")
	figure "$lines lines on stderr for 500 resets"
	((lines < 40)) || fail "$lines lines on stderr: $(head -c 1000 "$T/L.err")"
	local said counted
	said=$(grep -c 'warning: 127\.0\.0\.1:[0-9]*: ' "$T/L.err" || true)
	counted=$(grep -o 'and [0-9]* more like it' "$T/L.err" | awk '{ n += $2 } END { print n + 0 }')
	((said + counted >= 400)) || fail "$said lines and $counted counted for 500 resets"
}

@test "slowloris against -k --exec: 300 silent connections; >= 95% of 20 honest keyed clients are served" {
	skip_under_valgrind "300 connections, a process each"
	ulimit -n 4096
	local k served
	k=$(key_file k "$KEY")
	listen L --idle -k --authkey-file "$k" 127.0.0.1:0 --sh-exec "cat >>'$T/got'"
	SPAWN_TIMEOUT=60 spawn S --idle "$PYTHON" "$CHAOS" slowloris "$ADDR" --conns 300 --seconds 50
	wait_err S '^slowloris: 300 connected$' 20
	served=$(honest 20 "$k" "$ADDR" 30)
	figure "$served/20 honest clients served"
	alive S || fail "the slowloris ended early: $(cat "$T/S.err")"
	((served >= 19)) || fail "only $served of 20 honest clients were served: $(sort "$T/honest.err" | uniq -c)"
	wait_lines "$T/got" "$served"
	assert_err L '^conn-listen: warning: .*--max-startups'
	# the children's warnings too are counted, not said one by one
	(($(wc -l <"$T/L.err") < 200)) || fail "$(wc -l <"$T/L.err") lines on stderr"
}

@test "EMFILE with -k --exec: under 'ulimit -n 11' (a few children at a time) the listener pauses accepting: little CPU, one warning; served again after" {
	skip_under_valgrind "CPU time"
	# 11: stdin, stdout, stderr, the listener and a report pipe for each
	# child leave room for a few children; 20 connections run out
	spawn L --idle bash -c 'ulimit -n 11 && exec conn-listen -k 127.0.0.1:0 --exec cat'
	wait_listening L
	quiet_when_out_of_fds 20
	run_to C conn-client --data after --count 1 "$ADDR"
	expect_exit C 0
	assert_file "$T/C.out" $'after\n'
}

# latency_listener ARGS...: conn-listen -k --out repr ARGS on loopback
# (L), its stdout read by chaos.py latency, which writes the delay of
# each honest message to $T/lat as it comes.
latency_listener() {
	spawn L --idle bash -c 'py=$0 chaos=$1 lat=$2 && shift 2 &&
		conn-listen -k --out repr "$@" 127.0.0.1:0 |
		exec "$py" "$chaos" latency "$lat"' "$PYTHON" "$CHAOS" "$T/lat" "$@"
	wait_listening L
}

# p99 FILE: the 99th percentile of the delays (ms) in FILE's second column.
p99() { sort -k2 -n "$1" | awk '{ d[NR] = $2 } END { print d[int(NR * 0.99)] + 0 }'; }

@test "slow pickles: while 2 clients send 11 MB pickles of 6000 4300-digit ints, an honest client's 100 messages come out at once (p99 well under 50 ms), and nothing is lost" {
	skip_under_valgrind "CPU-bound renderings"
	local p99 slow
	# (no CPU limit: a slow machine must not turn this into the next test)
	SPAWN_TIMEOUT=120 latency_listener --render-timeout 0
	spawn S --idle "$PYTHON" "$CHAOS" slowpickles "$ADDR" --conns 2 --ints 6000 --seconds 4
	wait_err S '^slowpickles: 2 connected$' 20
	sleep 1	# the first costly pickles are in, rendering
	run_to H "$PYTHON" "$CHAOS" honest "$ADDR" --messages 100 --interval 20
	expect_exit H 0
	wait_lines "$T/lat" 100 20
	p99=$(p99 "$T/lat")
	figure "honest latency p99 $p99 ms, max $(sort -k2 -n "$T/lat" | tail -1 | cut -d' ' -f2) ms"
	# The goal is 50 ms; a loaded machine is given ten times that, far
	# below the seconds one costly rendering holds a loop that waits.  (A
	# message that comes while a 26 MB rendering is being written waits
	# for it, stdout being one stream: some 80 ms here.)
	awk -v p="$p99" 'BEGIN { exit !(p < 500) }' || fail "honest p99 $p99 ms"
	# every costly pickle sent is rendered in the end, whole
	wait_err S '^slowpickles: [0-9]+ sent$' 30
	slow=$(grep -o '[0-9]* sent' "$T/S.err" | cut -d' ' -f1)
	wait_lines "$T/L.out" $((100 + slow)) 90
	(($(grep -c '^\[' "$T/L.out") == slow)) || fail "$slow costly pickles sent, $(grep -c '^\[' "$T/L.out") shown"
	refute_err L warning
}

@test "--render-timeout 1: a pickle that takes more CPU than that to render is canceled, its client dropped with one warning; an honest client is served meanwhile and after" {
	skip_under_valgrind "CPU-bound renderings"
	SPAWN_TIMEOUT=60 latency_listener --render-timeout 1
	spawn S --idle "$PYTHON" "$CHAOS" slowpickles "$ADDR" --ints 15000 --seconds 2
	wait_err S '^slowpickles: 1 connected$' 20
	run_to H "$PYTHON" "$CHAOS" honest "$ADDR" --messages 50 --interval 20
	expect_exit H 0
	wait_err L 'warning: 127\.0\.0\.1:[0-9]+: timeout: message 1 takes more than 1 s of CPU to render as repr \(--render-timeout\); the client is dropped$' 30
	run_to A "$PYTHON" "$CHAOS" honest "$ADDR" --messages 1 --interval 0
	expect_exit A 0
	wait_lines "$T/lat" 51 10
	alive L || fail "the listener exited"
	(($(grep -c '^\[' "$T/L.out") == 0)) || fail "a canceled rendering was shown"
	(($(grep -c warning "$T/L.err") == 1)) || fail "$(cat "$T/L.err")"
}

@test "--pickle-policy: judging costly pickles does not hold the others up either; one that imports what the policy denies is dropped, judged in its thread" {
	skip_under_valgrind "CPU-bound judgements"
	local p99
	printf 'allow builtins.*\n' >"$T/policy"
	SPAWN_TIMEOUT=120 latency_listener --render-timeout 0 --pickle-policy "$T/policy"
	spawn S --idle "$PYTHON" "$CHAOS" slowpickles "$ADDR" --ints 6000 --seconds 2
	wait_err S '^slowpickles: 1 connected$' 20
	sleep 1
	run_to H "$PYTHON" "$CHAOS" honest "$ADDR" --messages 50 --interval 20
	expect_exit H 0
	wait_lines "$T/lat" 50 20
	p99=$(p99 "$T/lat")
	figure "honest latency p99 $p99 ms behind a policy"
	awk -v p="$p99" 'BEGIN { exit !(p < 500) }' || fail "honest p99 $p99 ms"
	# 6,000 big ints, then os.system: past the loop's budget, judged in a
	# job, and dropped
	run_to B "$PYTHON" -c 'import os, pickle, random, socket, struct, sys
h, p = sys.argv[1].rsplit(":", 1)
data = pickle.dumps([random.getrandbits(14280) for _ in range(6000)] + [os.system], 4)
s = socket.create_connection((h, int(p)))
s.sendall(struct.pack("!i", len(data)) + data)
s.close()' "$ADDR"
	expect_exit B 0
	wait_err L 'warning: 127\.0\.0\.1:[0-9]+: message 1 dropped: imports posix\.system' 60
	alive L || fail "the listener exited"
}

@test "usage: --render-timeout needs -k, not with --exec; seconds" {
	run_to A conn-listen --render-timeout 5 :0
	assert_usage_error A '^conn-listen: --render-timeout needs -k \(--keep-open\)$'
	run_to B conn-listen -k --render-timeout 5 :0 --exec cat
	assert_usage_error B '^conn-listen: cannot use --render-timeout with --exec$'
	run_to C conn-listen -k --render-timeout x :0
	assert_usage_error C "^conn-listen: invalid --render-timeout 'x' \(seconds\)$"
}

@test "usage: --max-startups needs -k; START:RATE:FULL with START <= FULL and RATE 0-100" {
	run_to A conn-listen --max-startups 10:30:100 127.0.0.1:0
	expect_exit A 2
	assert_usage_error A "^conn-listen: --max-startups needs -k \(--keep-open\)$"
	run_to B conn-listen -k --max-startups 10:30:5 127.0.0.1:0
	expect_exit B 2
	assert_usage_error B "^conn-listen: invalid --max-startups '10:30:5' \(START:RATE:FULL, 1 <= START <= FULL, RATE 0-100\)$"
}
