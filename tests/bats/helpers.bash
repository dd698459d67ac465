# Shared helpers for the conn-tools bats suites.  Every file does `load helpers`.
#
# Environment (set by `make check`, defaulted here when bats is run by hand):
#   PATH          starts with the build's src/ (conn-listen, conn-client)
#   CONN_PEERS    tests/peers (mp_peer.py, modern_peer.py, raw_peer.py)
#   CONN_VECTORS  the test vectors (frames.json, auth.json, pickles.json),
#                 computed with CPython by tests/vectors/generate.py: make
#                 check generates them into the build tree; run by hand,
#                 helpers.bash generates them once per bats run, with
#                 $PYTHON, into the run's temporary directory
#   CONN_SHARED_VECTORS  reference vectors that vectors.bats compares the
#                 generated ones with (configure --with-vectors; by hand,
#                 ../shared/vectors beside the source tree; empty: none,
#                 configure --without-vectors); they may be absent, and
#                 nothing else reads them
#   PYTHON        python3
#
# Background processes, in the manner of OpenBSD's nc regress:
#   spawn NAME [--in FILE|--idle] CMD...
#                                   run CMD in the background, bounded by
#                                   $SPAWN_TIMEOUT (default 30 s), stdin FILE
#                                   (default /dev/null; --idle: a pipe that
#                                   stays open), stdout $T/NAME.out, stderr
#                                   $T/NAME.err
#   finish NAME [SEC]               wait (bounded) for NAME; sets STATUS (124
#                                   when it had to be killed) and ELAPSED_MS
#   expect_exit NAME CODE [SEC]     finish NAME and assert its exit status
#   run_to NAME [--in FILE] CMD...  spawn + finish (a bounded foreground run)
#   listen NAME [--in FILE] ARGS... conn-listen ARGS in the background, then wait
#                                   for its "listening on" line: sets ADDR, PORT
#   peer NAME PEER ROLE ADDRESS ARGS...  a python peer (mp_peer, modern_peer,
#                                   raw_peer); waits for "listening on" if ROLE
#                                   is listen
# teardown kills whatever is left and prints every NAME.err (shown on failure).

bats_require_minimum_version 1.5.0

if [[ -f /usr/lib/bats/bats-support/load.bash ]]; then
	# Their load.bash runs dirname for each of its files, 18 programs
	# started at every test: a function does it without.
	dirname() { [[ $1 == */* ]] && printf '%s\n' "${1%/*}" || echo .; }
	load /usr/lib/bats/bats-support/load.bash
	load /usr/lib/bats/bats-assert/load.bash
	unset -f dirname
else
	bats_load_library bats-support
	bats_load_library bats-assert
fi

_abs() { (cd "$1" 2>/dev/null && pwd) || printf '%s\n' "$1"; }

: "${CONN_PEERS:=$(_abs "$BATS_TEST_DIRNAME/../peers")}"
# Set but empty (configure --without-vectors): no cross-check at all.
: "${CONN_SHARED_VECTORS=$(_abs "$BATS_TEST_DIRNAME/../../../shared/vectors")}"
: "${PYTHON:=python3}"
if [[ -z ${CONN_VECTORS:-} ]]; then
	# Run by hand: generated once for the whole run (generate.py writes
	# pickles.json last, each file under a temporary name first).
	CONN_VECTORS=$BATS_RUN_TMPDIR/vectors
	if [[ ! -f $CONN_VECTORS/pickles.json ]] &&
		! "$PYTHON" "$BATS_TEST_DIRNAME/../vectors/generate.py" "$CONN_VECTORS"; then
		echo "helpers.bash: $PYTHON could not generate the test vectors into $CONN_VECTORS" >&2
		return 1
	fi
fi
if ! command -v conn-listen >/dev/null 2>&1; then
	# Run by hand: the tools/build tree, else an in-tree build.
	for _d in build/src src; do
		if [ -x "$BATS_TEST_DIRNAME/../../$_d/conn-listen" ]; then
			PATH="$(_abs "$BATS_TEST_DIRNAME/../../$_d"):$PATH"
			break
		fi
	done
fi
export CONN_PEERS CONN_VECTORS CONN_SHARED_VECTORS PYTHON PATH
# A key from the caller's environment must not leak into tests.
unset CONN_AUTHKEY

declare -gA BG_PID=() BG_START=() BG_DONE=() BG_EXIT=()
STATUS=
ELAPSED_MS=
ADDR=
PORT=

setup() {
	T=$BATS_TEST_TMPDIR
	BG_PID=() BG_START=() BG_DONE=() BG_EXIT=()
}

teardown() {
	local name pid
	for name in "${!BG_PID[@]}"; do
		pid=${BG_PID[$name]}
		# the whole process group (timeout makes one), even when its leader
		# is done: --idle's sleep and pipeline members may linger
		kill -TERM -- "-$pid" 2>/dev/null || true
		[[ -n ${BG_DONE[$name]:-} ]] && continue
		kill -TERM "$pid" 2>/dev/null || true
	done
	for name in "${!BG_PID[@]}"; do
		[[ -n ${BG_DONE[$name]:-} ]] && continue
		pid=${BG_PID[$name]}
		local i
		for i in 1 2 3 4 5 6 7 8 9 10; do
			_alive "$pid" || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# Shown by bats only when the test failed.
	for name in "${!BG_PID[@]}"; do
		if [[ -s $T/$name.err ]]; then
			echo "--- stderr of $name (exit ${BG_EXIT[$name]:-?}):"
			head -c 3000 "$T/$name.err"
			echo
		fi
	done
}

# skip_under_valgrind WHY: make check-valgrind (CONN_VALGRIND set) runs the
# tools 20 to 50 times slower: a test moving GiBs, or timing the tools
# closely, would only measure valgrind.
skip_under_valgrind() {
	[[ -z ${CONN_VALGRIND:-} ]] || skip "under valgrind: $1"
}

# sanitized: the tools are built with a sanitizer (make check of a
# --enable-sanitizers build), whose shadow memory and address space count
# in RSS and against ulimit -v.
sanitized() {
	ldd "$(command -v conn-listen)" 2>/dev/null | grep -q 'libasan\|libtsan'
}

# peak_rss_under FILE KIB: /usr/bin/time -f %M wrote a peak under KIB KiB.
peak_rss_under() {
	local kb
	kb=$(tail -1 "$1")
	[[ $kb =~ ^[0-9]+$ ]] || fail "no peak RSS in $1: $(cat "$1")"
	((kb < $2)) || fail "peak RSS $kb KiB, over $2 KiB"
}

# skip_under_sanitizer WHY: for a test of memory limits a sanitizer upsets.
skip_under_sanitizer() {
	! sanitized || skip "under a sanitizer: $1"
}

# to_ms SEC: SEC (fractions allowed) in milliseconds; whole seconds
# without running awk, since finish and wait_listening ask at every call.
to_ms() {
	if [[ $1 =~ ^[0-9]+$ ]]; then
		echo $((10#$1 * 1000))
	else
		awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'
	fi
}

now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }

# The polling loops below run 50 times a second: each round costs more
# CPU than the programs a test waits for (the CPython matrix has 600
# tests), so past_ms and nap start no process, and finish and
# wait_listening poll untraced.
# past_ms END: true once the clock is past END (in ms, as now_ms).
past_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	((t / 1000 > $1))
}

# untraced CMD...: CMD in a subshell without bats' DEBUG trap, which costs
# about 1 ms for each command a polling loop runs; CMD's status and stdout.
untraced() { (
	trap - DEBUG
	set +T
	"$@"
); }

# _await_exit PID END: wait until PID ends (0) or the clock passes END (1).
_await_exit() {
	while _alive "$1"; do
		past_ms "$2" && return 1
		nap
	done
	return 0
}

# _await_line FILE PID END: print the first complete line of FILE that
# announces "listening on " (read fails on a line without its newline
# yet); 2 if PID ends without one, 1 when the clock passes END.
_await_line() {
	local line dead=
	while :; do
		while IFS= read -r line; do
			if [[ $line == *'listening on '* ]]; then
				printf '%s\n' "$line"
				return 0
			fi
		done 2>/dev/null <"$1"
		[[ -z $dead ]] || return 2
		_alive "$2" || dead=1 # read FILE once more: it may have announced
		[[ -n $dead ]] && continue
		past_ms "$3" && return 1
		nap
	done
}

# nap: sleep 20 ms: a read that times out on a FIFO nobody writes to
# (opened read-write, it does not block; it is closed again at once).
nap() {
	local f=$T/.nap
	if [[ ! -p $f ]] && ! mkfifo "$f" 2>/dev/null; then
		sleep 0.02
		return 0
	fi
	read -rt 0.02 <>"$f" || true
}

# _alive PID: true while PID runs (a zombie counts as dead).
_alive() {
	local st
	# read, not $(cat ...): the polling loops call this every 20 ms
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[[ ${st:0:1} != Z ]]
}

spawn() {
	local name=$1
	shift
	local in=/dev/null tmo=${SPAWN_TIMEOUT:-30}
	if [[ ${1:-} == --in ]]; then
		in=$2
		shift 2
	elif [[ ${1:-} == --idle ]]; then
		# stdin: a pipe that stays open (and silent) until teardown
		set -- bash -c 'exec "$@" < <(exec sleep "$0")' "$tmo" "${@:2}"
	fi
	BG_START[$name]=$(now_ms)
	# Emptied here, not only by the background job's redirections: a name
	# used again must not show the last run's "listening on" line to a
	# reader that looks before the job has started.
	: >"$T/$name.out"
	: >"$T/$name.err"
	# -k 10: a SIGTERM (the test's, which timeout passes on, or its own)
	# has 10 s to end the command before SIGKILL: a sanitized program
	# on a loaded machine can take seconds to exit, and a slow exit must
	# not look like a killed one (a hang still fails, by finish()'s wait).
	timeout -k 10 "$tmo" "$@" <"$in" >"$T/$name.out" 2>"$T/$name.err" \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	BG_PID[$name]=$!
	unset "BG_DONE[$name]"
}

finish() {
	local name=$1 secs=${2:-25}
	local pid=${BG_PID[$name]:?no process named $1}
	if [[ -n ${BG_DONE[$name]:-} ]]; then
		STATUS=${BG_EXIT[$name]}
		return 0
	fi
	local end=$(($(now_ms) + $(to_ms "$secs")))
	if ! untraced _await_exit "$pid" "$end"; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		sleep 0.3
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		BG_DONE[$name]=1
		BG_EXIT[$name]=124
		STATUS=124
		ELAPSED_MS=$(($(now_ms) - BG_START[$name]))
		echo "# $name still running after ${secs}s: killed" >&2
		return 0
	fi
	ELAPSED_MS=$(($(now_ms) - BG_START[$name]))
	STATUS=0
	wait "$pid" || STATUS=$?
	BG_DONE[$name]=1
	BG_EXIT[$name]=$STATUS
}

# expect_exit NAME CODE [SEC]
expect_exit() {
	finish "$1" "${3:-25}"
	if [[ $STATUS != "$2" ]]; then
		fail "$1: expected exit status $2, got $STATUS (124: killed after timeout)
--- stderr of $1:
$(head -c 2000 "$T/$1.err")
--- stdout of $1 (first 300 bytes):
$(head -c 300 "$T/$1.out" | cat -v)"
	fi
}

run_to() {
	local name=$1
	shift
	spawn "$name" "$@"
	finish "$name"
}

alive() { _alive "${BG_PID[$1]}"; }

# inner_pid NAME: the pid of the command under NAME's timeout wrapper.
inner_pid() { ps -o pid= --ppid "${BG_PID[$1]}" | head -1 | tr -d ' '; }

# wait_listening NAME [SEC]: wait for NAME's complete "listening on ADDR" line.
wait_listening() {
	local name=$1 secs=${2:-10} f=$T/$1.err line n
	local end=$(($(now_ms) + $(to_ms "$secs"))) rc=0
	line=$(untraced _await_line "$f" "${BG_PID[$name]}" "$end") || rc=$?
	if ((rc == 2)); then
		finish "$name"
		fail "$name exited ($STATUS) before announcing: $(cat "$f")"
		return 1
	elif ((rc != 0)); then
		fail "$name: no 'listening on' line within ${secs}s: $(cat "$f")"
		return 1
	fi
	LISTEN_LINE=$line
	ADDR=${line##*listening on }
	PORT=
	if [[ $line =~ listening\ on\ .*:([0-9]*)$ ]]; then
		PORT=${BASH_REMATCH[1]}
	fi
}

listen() {
	local name=$1
	shift
	local in=()
	if [[ ${1:-} == --in ]]; then
		in=(--in "$2")
		shift 2
	elif [[ ${1:-} == --idle ]]; then
		in=(--idle)
		shift
	fi
	spawn "$name" "${in[@]}" conn-listen "$@"
	wait_listening "$name"
}

# peer NAME [--in FILE|--idle] PEER ROLE ADDRESS ARGS...
peer() {
	local name=$1
	shift
	local in=()
	if [[ ${1:-} == --in ]]; then
		in=(--in "$2")
		shift 2
	elif [[ ${1:-} == --idle ]]; then
		in=(--idle)
		shift
	fi
	local p=$1 role=$2
	shift
	spawn "$name" "${in[@]}" "$PYTHON" "$CONN_PEERS/$p.py" "$@"
	if [[ $role == listen ]]; then
		wait_listening "$name"
	fi
}

# wait_lines FILE N [SEC]: wait until FILE has at least N complete lines.
wait_lines() {
	local end=$(($(now_ms) + ${3:-10} * 1000))
	while (($(wc -l <"$1" 2>/dev/null || echo 0) < $2)); do
		if past_ms "$end"; then
			fail "$1: fewer than $2 lines after ${3:-10}s: $(head -c 500 "$1")"
			return 1
		fi
		nap
	done
	return 0
}

# wait_size FILE BYTES: until FILE has BYTES at least (10 s at most).
wait_size() {
	local i
	for i in $(seq 200); do
		(($(stat -c %s "$1") >= $2)) && return 0
		sleep 0.05
	done
	fail "$1: $(stat -c %s "$1") bytes, not $2, after 10 s"
}

# wait_err NAME ERE [SEC]: wait (bounded, default 10 s) until a line of
# NAME's stderr matches ERE; fail naming what it says otherwise.  For
# events whose time depends on the machine's load, instead of a sleep.
wait_err() {
	local end=$(($(now_ms) + $(to_ms "${3:-10}")))
	until grep -Eq -- "$2" "$T/$1.err" 2>/dev/null; do
		if (($(now_ms) > end)); then
			fail "stderr of $1 has no line matching /$2/ after ${3:-10}s:
$(head -c 2000 "$T/$1.err")"
			return 1
		fi
		sleep 0.02
	done
}

# wait_gone NAME SEC: true if NAME ends within SEC (without reaping it).
wait_gone() {
	local end=$(($(now_ms) + $(to_ms "$2")))
	while alive "$1"; do
		past_ms "$end" && return 1
		nap
	done
}

free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

have_ipv6() {
	"$PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null
}

sha() { sha256sum "$@" | cut -d' ' -f1; }

# mixed_frames FILE: frames of sizes around the sender's thresholds (16 KiB,
# where a piece may go out unqueued; 256 KiB, the queue's size), among
# small ones, random bytes.
mixed_frames() {
	"$PYTHON" -c 'import os, struct, sys
sizes = [0, 5, 16383, 16384, 16385, 20000, 3, 262139, 262140, 262144,
         300000, 1, 1048576, 7, 2000000, 16384, 0]
with open(sys.argv[1], "wb") as f:
    for n in sizes * 4:
        f.write(struct.pack("!i", n) + os.urandom(n))' "$1"
}

# slow_sink FILE: writes at FILE a Python program that copies stdin to
# stdout, pausing 10 ms after each 128 KiB, so that what writes to it waits
# on a full pipe, and its sender on a socket full at times, empty at others.
slow_sink() {
	cat >"$1" <<'EOF'
import os, time
n = 0
while True:
    b = os.read(0, 65536)
    if not b:
        break
    os.write(1, b)
    n += len(b)
    if n >= 131072:
        n = 0
        time.sleep(0.01)
EOF
}

# assert_file FILE CONTENT: FILE holds exactly CONTENT (printf %b escapes allowed
# when given as $'...').
assert_file() {
	if ! cmp -s "$1" <(printf '%s' "$2"); then
		fail "$1 differs from the expected content
--- expected:
$(printf '%s' "$2" | xxd | head -20)
--- got:
$(xxd "$1" | head -20)"
	fi
}

# two_way [listener args] -- [client args]: a listener L (stdin "from
# listener") on 127.0.0.1 and a client C (stdin "from client") to it, at
# $HOST (default 127.0.0.1); two_way_passed: both got the other's line.
two_way() {
	local largs=() cargs=()
	while [[ $# -gt 0 && $1 != -- ]]; do largs+=("$1"); shift; done
	shift
	cargs=("$@")
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
	listen L --in "$T/l.in" "${largs[@]}" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client "${cargs[@]}" "${HOST:-127.0.0.1}:$PORT"
}

two_way_passed() {
	expect_exit L 0
	expect_exit C 0
	assert_file "$T/L.out" $'from client\n'
	assert_file "$T/C.out" $'from listener\n'
}

# assert_err NAME ERE: NAME's stderr has a line matching ERE.
assert_err() {
	grep -Eq -- "$2" "$T/$1.err" || fail "stderr of $1 has no line matching /$2/:
$(head -c 2000 "$T/$1.err")"
}

# assert_err_only NAME ERE: apart from a listener's "listening on" notice,
# NAME's stderr is exactly one line, matching ERE.
assert_err_only() {
	local n
	n=$(grep -cv '^conn-listen: listening on ' "$T/$1.err" || true)
	[[ $n == 1 ]] || fail "stderr of $1 has $n lines instead of one (besides the announce):
$(head -c 2000 "$T/$1.err")"
	assert_err "$1" "$2"
}

# assert_usage_error NAME ERE: apart from a listener's "listening on" notice,
# NAME's stderr is the two lines of a usage error, as GNU tools print them:
# "PROG: ..." matching ERE, then "Try 'PROG --help' for more information."
assert_usage_error() {
	local lines prog
	mapfile -t lines < <(grep -v '^conn-listen: listening on ' "$T/$1.err")
	prog=${lines[0]%%:*}
	[[ ${#lines[@]} == 2 ]] || fail "stderr of $1 has ${#lines[@]} lines instead of two (besides the announce):
$(head -c 2000 "$T/$1.err")"
	grep -Eq -- "$2" <<<"${lines[0]}" || fail "the first line of $1's stderr does not match /$2/: ${lines[0]}"
	[[ ${lines[1]} == "Try '$prog --help' for more information." ]] ||
		fail "the second line of $1's stderr is not the --help hint for $prog: ${lines[1]}"
}

refute_err() {
	! grep -Fq -- "$2" "$T/$1.err" || fail "stderr of $1 contains '$2':
$(head -c 2000 "$T/$1.err")"
}

key_file() { # key_file NAME CONTENT -> path on stdout
	printf '%s' "$2" >"$T/$1"
	echo "$T/$1"
}

# hexstream HEX: write the bytes HEX (spaces allowed) to stdout.
hexstream() { printf '%s' "$*" | tr -d ' \n' | xxd -r -p; }

# frames.json helpers
vector_frames() { # the concatenated frame_hex of all entries that have one
	"$PYTHON" -c 'import json,sys
d=json.load(open(sys.argv[1]))
print("".join(f["frame_hex"] for f in d["frames"] if f.get("frame_hex") is not None))' \
		"$CONN_VECTORS/frames.json"
}

# tcpdump_start NAME PORT: tcpdump capturing port PORT on loopback into
# $T/NAME.pcap, once it says it listens; skips the test where it cannot.
tcpdump_start() {
	command -v tcpdump >/dev/null || skip "no tcpdump"
	spawn "$1" tcpdump -i lo -U --immediate-mode -w "$T/$1.pcap" "tcp port $2"
	local i
	for i in $(seq 100); do
		grep -q '^tcpdump: listening on' "$T/$1.err" && return 0
		alive "$1" || skip "tcpdump cannot capture on lo: $(head -1 "$T/$1.err")"
		nap
	done
	fail "tcpdump did not start: $(cat "$T/$1.err")"
}

# tcpdump_stop NAME: the capture ends (tcpdump writes what it has).
tcpdump_stop() {
	sleep 0.3	# the last packets, from the kernel's buffer
	kill -INT "$(inner_pid "$1")"
	finish "$1"
}

# pythons: the CPython 3.11 (legacy HMAC-MD5 handshake) and 3.12+ (modern,
# {digest} prefixed) interpreters of the machine, one a line.
pythons() {
	local root v py
	root=$(pyenv root 2>/dev/null) || root=
	[[ -n $root ]] || root=${PYENV_ROOT:-$HOME/.pyenv}
	for v in 3.11 3.12 3.13 3.14; do
		for py in "$root"/versions/$v.*/bin/python3; do
			[[ -x $py ]] && { echo "$py"; break; }
		done
	done
}
