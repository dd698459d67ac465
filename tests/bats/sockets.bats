#!/usr/bin/env bats
# Sockets handed over and timeouts (#18): --backlog, --fd on both tools,
# systemd socket activation (LISTEN_FDS, --fd-name), --inetd, and
# -w/--connect-timeout, -i/--idle-timeout, -s/--source.  The sockets are
# made by tests/peers/handover.py (Python), which then becomes the tool.

load helpers

HANDOVER=$CONN_PEERS/handover.py

# listen_queue PORT: the Send-Q ss shows for a listening socket on PORT,
# which for a listener is its backlog.
listen_queue() {
	ss -ltnH "sport = :$1" | awk '{ print $3; exit }'
}

# full_listener NAME: a Python listener with listen(0) whose accept queue
# is filled and never drained, so that a new connect() waits: the
# kernel drops its SYNs.  Sets PORT.
full_listener() {
	spawn "$1" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except Exception: pass
    held.append(c)
time.sleep(0.3)
sys.stderr.write("full: listening on 127.0.0.1:%d\n" % port); sys.stderr.flush()
time.sleep(60)'
	wait_listening "$1"
}

# refused NAME STATUS TEXT CMD...: CMD exits STATUS, and a line of its
# stderr is TEXT (-x: the whole line) or holds it.
refused() {
	local name=$1 status=$2 text=$3 how=-qF
	shift 3
	if [[ $text == -x ]]; then
		how=-qxF
		text=$1
		shift
	fi
	run_to "$name" "$@"
	expect_exit "$name" "$status"
	grep $how -- "$text" "$T/$name.err" || fail "$name: $(cat "$T/$name.err")"
}

# --------------------------------------------------------------- backlog

@test "--backlog N reaches listen(): ss shows it as the listener's Send-Q" {
	command -v ss >/dev/null || skip "ss (iproute2) is not installed"
	listen L --idle --backlog 7 127.0.0.1:0
	[[ $(listen_queue "$PORT") == 7 ]] || fail "Send-Q $(listen_queue "$PORT"), not 7"
}

@test "--backlog: the default is SOMAXCONN (4096, capped by net.core.somaxconn)" {
	command -v ss >/dev/null || skip "ss (iproute2) is not installed"
	local cap want=4096
	cap=$(cat /proc/sys/net/core/somaxconn)
	((cap < want)) && want=$cap
	listen L --idle 127.0.0.1:0
	[[ $(listen_queue "$PORT") == "$want" ]] || fail "Send-Q $(listen_queue "$PORT"), not $want"
}

@test "--backlog: out of 1-65535 or not a number is a usage error" {
	local bad
	for bad in 0 65536 x -1; do
		run_to B conn-listen --backlog "$bad" 127.0.0.1:0
		expect_exit B 2
		grep -q "invalid --backlog '$bad' (1 to 65535)" "$T/B.err" || fail "$(cat "$T/B.err")"
	done
}

# ---------------------------------------------------------------- --fd

@test "conn-listen --fd N: accepts on a TCP socket Python bound and handed over" {
	printf 'from listener\n' >"$T/l.in"
	spawn L --in "$T/l.in" "$PYTHON" "$HANDOVER" --fd 5 listen -- conn-listen --fd 5
	wait_listening L
	[[ $ADDR == 127.0.0.1:* ]] || fail "announced '$ADDR'"
	run_to C --in <(printf 'from client\n') conn-client "$ADDR"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/L.out" $'from client\n'
	assert_file "$T/C.out" $'from listener\n'
}

@test "conn-listen --fd N: any family: an abstract Unix socket" {
	local name=conn-fd-$$-$RANDOM
	spawn L "$PYTHON" "$HANDOVER" listen-unix "$name" -- conn-listen --fd 3 --echo
	wait_listening L
	[[ $ADDR == "@$name" ]] || fail "announced '$ADDR'"
	run_to C conn-client --data ping --count 1 "@$name"
	expect_exit C 0
	assert_file "$T/C.out" $'ping\n'
	expect_exit L 0
}

@test "conn-listen --fd N: not open, not a socket, a datagram socket, not listening: usage errors naming fd N" {
	refused A 2 -x 'conn-listen: fd 9 is not open' conn-listen --fd 9
	refused B 2 -x 'conn-listen: fd 3 is not a socket' "$PYTHON" "$HANDOVER" file -- conn-listen --fd 3
	refused D 2 -x 'conn-listen: fd 3 is not a stream socket (SOCK_STREAM)' "$PYTHON" "$HANDOVER" udp -- conn-listen --fd 3
	refused E 2 -x 'conn-listen: fd 3 is not listening' "$PYTHON" "$HANDOVER" bound -- conn-listen --fd 3
}

@test "conn-client --fd N: a connection to a Python multiprocessing.connection peer, handed over" {
	run_to C "$PYTHON" "$HANDOVER" unix-pair -- conn-client --fd 3 --data abc --data xyz --count 2
	expect_exit C 0
	assert_file "$T/C.out" $'ABC\nXYZ\n'
}

@test "conn-client --fd N: a TCP connection handed over, the peer named by -v" {
	listen L --in <(printf 'hi\n') 127.0.0.1:0
	run_to C "$PYTHON" "$HANDOVER" --fd 7 connect "127.0.0.1:$PORT" -- conn-client -v --fd 7
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" $'hi\n'
	grep -q "connected to 127.0.0.1:$PORT" "$T/C.err" || fail "$(cat "$T/C.err")"
}

@test "conn-client --fd N: a listening socket or a file is a usage error" {
	refused A 2 -x 'conn-client: fd 3 is not connected' "$PYTHON" "$HANDOVER" listen -- conn-client --fd 3
	refused B 2 -x 'conn-client: fd 3 is not a socket' "$PYTHON" "$HANDOVER" file -- conn-client --fd 3
}

@test "--fd: with ADDRESS, --wait, -w, -s or --backlog is a usage error" {
	refused A 2 "unexpected argument '127.0.0.1:1'" conn-client --fd 3 127.0.0.1:1
	refused B 2 'cannot use --wait with --fd' conn-client --fd 3 --wait 1
	refused D 2 'cannot use --connect-timeout with --fd' conn-client --fd 3 -w 1
	refused E 2 'cannot use --source with --fd' conn-client --fd 3 -s 127.0.0.1
	refused F 2 'cannot use --backlog with --fd' conn-listen --fd 3 --backlog 5
}

# ------------------------------------------------------ socket activation

@test "LISTEN_FDS: with no ADDRESS conn-listen accepts on fd 3; --exec does not see the variables" {
	spawn L "$PYTHON" "$HANDOVER" --systemd listen -- \
		conn-listen --sh-exec 'env | grep "^LISTEN_" | tr "\n" " "; echo end; cat'
	wait_listening L
	run_to C conn-client --data hello --count 2 "$ADDR"
	expect_exit C 0
	assert_file "$T/C.out" $'end\nhello\n'
	expect_exit L 0
}

@test "LISTEN_FDS: --fd-name picks a socket by its LISTEN_FDNAMES name" {
	spawn L "$PYTHON" "$HANDOVER" --systemd --sockets 3 --names one:two:three listen -- \
		conn-listen --fd-name two --echo
	wait_listening L
	# fd 4 is "two": the announced port is that socket's
	run_to C conn-client --data x --count 1 "$ADDR"
	expect_exit C 0
	assert_file "$T/C.out" $'x\n'
	expect_exit L 0
}

@test "LISTEN_FDS: several sockets and no --fd-name, a name not there, --fd-name without LISTEN_FDS: usage errors" {
	refused A 2 'LISTEN_FDS passes 2 sockets: pick one with --fd-name (LISTEN_FDNAMES: a:b)' "$PYTHON" "$HANDOVER" --systemd --sockets 2 --names a:b listen -- conn-listen --echo
	refused B 2 '--fd-name zz: no socket of that name in LISTEN_FDNAMES (a)' "$PYTHON" "$HANDOVER" --systemd --names a listen -- conn-listen --fd-name zz --echo
	refused D 2 '--fd-name a needs LISTEN_FDS (systemd socket activation)' conn-listen --fd-name a --echo
}

@test "LISTEN_FDS: for another pid (LISTEN_PID) it is not ours: ADDRESS is missing" {
	LISTEN_PID=1 LISTEN_FDS=1 run_to A conn-listen --echo
	expect_exit A 2
	grep -q 'missing ADDRESS' "$T/A.err" || fail "$(cat "$T/A.err")"
}

@test "systemd-socket-activate -l PORT conn-listen --echo serves a client" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	local port
	port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	spawn S systemd-socket-activate -l "127.0.0.1:$port" conn-listen --echo
	local i
	for i in $(seq 100); do
		[[ -n $(ss -ltnH "sport = :$port" 2>/dev/null) ]] && break
		sleep 0.05
	done
	run_to C conn-client --data activated --count 1 "127.0.0.1:$port"
	expect_exit C 0
	assert_file "$T/C.out" $'activated\n'
	grep -q "listening on 127.0.0.1:$port" "$T/S.err" || fail "$(cat "$T/S.err")"
}

# ---------------------------------------------------------------- --inetd

@test "--inetd: the connection on stdin/stdout (accepted by Python, as inetd does), messages to --sh-exec" {
	spawn L "$PYTHON" "$HANDOVER" --stdio accept -- conn-listen --inetd -v --sh-exec 'tr a-z A-Z'
	wait_listening L
	run_to C conn-client --data hello --count 1 "$ADDR"
	expect_exit C 0
	assert_file "$T/C.out" $'HELLO\n'
	expect_exit L 0
	grep -q 'connection from 127.0.0.1:[0-9]* (inetd)' "$T/L.err" || fail "$(cat "$T/L.err")"
}

@test "--inetd: under socat EXEC (a socketpair on stdin/stdout), with a key" {
	command -v socat >/dev/null || skip "socat is not installed"
	printf 'secret\n' >"$T/key"
	spawn S socat TCP-LISTEN:0,bind=127.0.0.1 EXEC:"conn-listen --inetd --authkey-file $T/key --echo"
	local i port=
	for i in $(seq 100); do
		port=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$(inner_pid S)," 'index($0, p) { sub(/.*:/, "", $4); print $4; exit }')
		[[ -n $port ]] && break
		sleep 0.05
	done
	[[ -n $port ]] || fail "socat's port not found"
	run_to C conn-client --authkey-file "$T/key" --data one --count 1 "127.0.0.1:$port"
	expect_exit C 0
	assert_file "$T/C.out" $'one\n'
}

@test "--inetd: without --exec/--echo/--forward, with ADDRESS, -k or --fd: usage errors" {
	refused A 2 '--inetd needs --exec, --sh-exec, --echo or --forward (stdin and stdout are the connection)' conn-listen --inetd
	refused B 2 "unexpected argument ':0'" conn-listen --inetd --echo :0
	refused D 2 'cannot use --inetd with -k' conn-listen --inetd -k --echo
	refused E 2 'cannot use --inetd with --fd' conn-listen --inetd --fd 3 --echo
}

# ------------------------------------------------------------- timeouts

@test "-w SEC: a connect that gets no answer (a full accept queue) ends with exit 6 after SEC" {
	full_listener F
	run_to C conn-client -w 0.5 "127.0.0.1:$PORT"
	expect_exit C 6
	((ELAPSED_MS >= 450 && ELAPSED_MS < 5000)) || fail "took $ELAPSED_MS ms"
	grep -qx "conn-client: timeout: cannot connect to 127.0.0.1:$PORT: no answer in time" "$T/C.err" ||
		fail "$(cat "$T/C.err")"
}

@test "-w SEC with --wait: each attempt has SEC, --wait bounds them all" {
	full_listener F
	run_to C conn-client --connect-timeout 0.3 --wait 1 "127.0.0.1:$PORT"
	expect_exit C 6
	((ELAPSED_MS >= 900 && ELAPSED_MS < 5000)) || fail "took $ELAPSED_MS ms"
	grep -q '(gave up after --wait)' "$T/C.err" || fail "$(cat "$T/C.err")"
}

@test "-w SEC: a listener that answers is connected to as before, by name too (the lookup under the limit); a bad SEC is a usage error" {
	listen L --in <(printf 'up\n') 127.0.0.1:0
	run_to C conn-client -w 2 "localhost:$PORT"
	expect_exit C 0
	assert_file "$T/C.out" $'up\n'
	refused B 2 "invalid --connect-timeout '0' (seconds)" conn-client -w 0 :1
}

@test "-i SEC: no message either way for SEC: exit 6, both tools" {
	listen L --idle -i 0.5 127.0.0.1:0
	spawn C --idle conn-client "$ADDR"
	expect_exit L 6
	((ELAPSED_MS < 5000)) || fail "took $ELAPSED_MS ms"
	grep -qx 'conn-listen: timeout: no message either way for 0.5 s (idle timeout)' "$T/L.err" ||
		fail "$(cat "$T/L.err")"
	listen M --idle 127.0.0.1:0
	run_to D --idle conn-client --idle-timeout 0.5 "$ADDR"
	expect_exit D 6
}

@test "-i SEC: messages more often than SEC keep the connection" {
	listen L --idle -i 0.6 --echo 127.0.0.1:0
	run_to C --in <(for i in 1 2 3 4 5; do echo "m$i"; sleep 0.25; done) conn-client "$ADDR"
	expect_exit C 0
	assert_file "$T/C.out" $'m1\nm2\nm3\nm4\nm5\n'
}

@test "-i SEC with -k: the idle client is dropped with a warning, the server and a busy client go on" {
	listen L --idle -k -i 0.5 127.0.0.1:0
	# A says nothing and its stdin stays open: it outlives its drop
	spawn A --idle conn-client "$ADDR"
	spawn B --in <(for i in 1 2 3 4 5 6; do echo "b$i"; sleep 0.2; done; sleep 0.2) conn-client --close-on-eof "$ADDR"
	expect_exit B 0
	alive L || fail "the server stopped"
	grep -q 'dropped: no message either way for 0.5 s (--idle-timeout)' "$T/L.err" || fail "$(cat "$T/L.err")"
	[[ $(grep -c 'dropped' "$T/L.err") == 1 ]] || fail "$(cat "$T/L.err")"
	[[ $(grep -c '^b' "$T/L.out") == 6 ]] || fail "$(cat "$T/L.out")"
}

@test "-i SEC with -k --exec: the idle connection's process ends with a warning, the server goes on" {
	listen L --idle -k -i 0.5 --sh-exec cat 127.0.0.1:0
	spawn A --idle conn-client "$ADDR"
	local i
	for i in $(seq 100); do
		grep -q 'no message either way' "$T/L.err" && break
		sleep 0.05
	done
	grep -q 'warning: 127.0.0.1:[0-9]*: timeout: no message either way for 0.5 s (idle timeout)' "$T/L.err" ||
		fail "$(cat "$T/L.err")"
	run_to B conn-client --data still --count 1 "$ADDR"
	expect_exit B 0
	assert_file "$T/B.out" $'still\n'
}

@test "-i with --forward is a usage error" {
	refused A 2 'cannot use --idle-timeout with --forward' conn-listen -i 1 --forward 127.0.0.1:1 :0
}

@test "-s ADDR: conn-client connects from 127.0.0.2, as the listener sees it" {
	listen L -v 127.0.0.1:0
	run_to C conn-client -s 127.0.0.2 "$ADDR"
	expect_exit C 0
	expect_exit L 0
	grep -q 'connection from 127\.0\.0\.2:[0-9]' "$T/L.err" || fail "$(cat "$T/L.err")"
}

@test "-s ADDR: a bad address, a Unix target, another family: errors" {
	refused A 2 "invalid --source '/tmp/x' (HOST, HOST:PORT or [IPV6]:PORT)" conn-client -s /tmp/x :1
	refused B 2 'cannot use --source with a Unix socket address' conn-client -s 127.0.0.1 "$T/no.sock"
	listen L 127.0.0.1:0
	refused D 3 'the source address is not of its family' conn-client -s ::1 "$ADDR"
}

# ------------------------------------------------------ the example units

UNITS=$BATS_TEST_DIRNAME/../../doc/examples

# unit_command SERVICE: its ExecStart, run from the build with the key of
# $T/creds: the words in "$@" after `eval set --`.
unit_command() {
	local line
	line=$(sed -n 's/^ExecStart=//p' "$UNITS/$1")
	[[ -n $line ]] || fail "no ExecStart in $1"
	line=${line//'/usr/local/bin/conn-listen'/conn-listen}
	line=${line//'${CREDENTIALS_DIRECTORY}'/$T/creds}
	printf '%s\n' "$line"
}

# unit_key: the credential the units load, "secret".
unit_key() {
	mkdir -p "$T/creds"
	printf 'secret\n' >"$T/creds/key"
}

# free_port: a TCP port nobody listens on now.
free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# await_port PORT: until something listens on 127.0.0.1:PORT (5 s).
await_port() {
	local i
	for i in $(seq 100); do
		[[ -n $(ss -ltnH "sport = :$1" 2>/dev/null) ]] && return 0
		sleep 0.05
	done
	fail "nothing listens on port $1"
}

@test "doc/examples: the units are valid for systemd-analyze verify (no warning)" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	local f
	mkdir -p "$T/units"
	for f in "$UNITS"/*.socket "$UNITS"/*.service; do
		sed "s|/usr/local/bin/conn-listen|$(command -v conn-listen)|" "$f" >"$T/units/${f##*/}"
	done
	(cd "$T/units" && timeout 30 systemd-analyze verify --man=no ./*.socket ./*.service) >"$T/verify" 2>&1 ||
		fail "$(cat "$T/verify")"
	[[ ! -s $T/verify ]] || fail "$(cat "$T/verify")"
}

# unit_serves SERVICE ARG...: SERVICE's command, started by
# systemd-socket-activate -l 127.0.0.1:PORT ARG... (what its .socket
# unit says), serves two clients in turn, with the units' key.
unit_serves() {
	local service=$1 port cmd
	shift
	unit_key
	port=$(free_port)
	cmd=$(unit_command "$service")
	eval "set -- \"\$@\" $cmd"
	spawn S systemd-socket-activate -l "127.0.0.1:$port" "$@"
	await_port "$port"
	run_to A conn-client --authkey-file "$T/creds/key" --data one --count 1 "127.0.0.1:$port"
	run_to B conn-client --authkey-file "$T/creds/key" --data two --count 1 "127.0.0.1:$port"
	expect_exit A 0
	expect_exit B 0
	assert_file "$T/A.out" $'one\n'
	assert_file "$T/B.out" $'two\n'
}

@test "doc/examples: conn-listen.service's command, activated as conn-listen.socket says (Accept=no, FileDescriptorName)" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	grep -qx 'FileDescriptorName=conn' "$UNITS/conn-listen.socket" || fail "the socket unit names no fd 'conn'"
	unit_serves conn-listen.service --fdname=conn
}

@test "doc/examples: conn-listen-inetd@.service's command, one per connection (Accept=yes, the connection on stdin/stdout)" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	grep -qx 'Accept=yes' "$UNITS/conn-listen-inetd.socket" || fail "the socket unit does not accept"
	grep -qx 'StandardInput=socket' "$UNITS/conn-listen-inetd@.service" || fail "the service's stdin is not the socket"
	unit_serves conn-listen-inetd@.service -a --inetd
}
