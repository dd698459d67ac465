#!/usr/bin/env bats
# Transports and addresses: TCP v4/v6, :PORT, Unix paths, abstract sockets,
# the announce line, -4/-6, --wait, connection and address errors.

load helpers

# exchange NAME_L NAME_C: both exited 0 and each got the other's line.
assert_exchanged() {
	expect_exit "$1" 0
	expect_exit "$2" 0
	assert_file "$T/$1.out" $'from client\n'
	assert_file "$T/$2.out" $'from listener\n'
}

mkinputs() {
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
}

@test "tcp 127.0.0.1: one line each way, both exit 0" {
	mkinputs
	listen L --in "$T/l.in" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	assert_exchanged L C
}

@test "announce line: 'conn-listen: listening on 127.0.0.1:PORT' with the real port" {
	listen L 127.0.0.1:0
	[[ $LISTEN_LINE =~ ^conn-listen:\ listening\ on\ 127\.0\.0\.1:[1-9][0-9]*$ ]] ||
		fail "bad announce line: '$LISTEN_LINE'"
	# the announced port is the one bound
	run_to C conn-client "$ADDR"
	expect_exit C 0
	expect_exit L 0
	# announced exactly once
	[[ $(grep -c 'listening on' "$T/L.err") == 1 ]]
}

@test "-q: no announce line and no other notice" {
	printf 'x\n' >"$T/l.in"
	spawn L --in "$T/l.in" conn-listen -q "$T/q.sock"
	local i
	for i in $(seq 100); do [[ -S $T/q.sock ]] && break; sleep 0.05; done
	[[ -S $T/q.sock ]] || fail "socket $T/q.sock never appeared"
	run_to C conn-client "$T/q.sock"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" $'x\n'
	[[ ! -s $T/L.err ]] || fail "stderr not empty with -q: $(cat "$T/L.err")"
}

@test "tcp [::1]: announced as [::1]:PORT, one line each way" {
	have_ipv6 || skip "::1 is not configured"
	mkinputs
	listen L --in "$T/l.in" '[::1]:0'
	[[ $LISTEN_LINE =~ ^conn-listen:\ listening\ on\ \[::1\]:[1-9][0-9]*$ ]] ||
		fail "bad announce line: '$LISTEN_LINE'"
	run_to C --in "$T/c.in" conn-client "[::1]:$PORT"
	assert_exchanged L C
}

@test ":PORT form: listener on all interfaces, client :PORT reaches localhost" {
	mkinputs
	listen L --in "$T/l.in" :0
	[[ -n $PORT && $PORT != 0 ]] || fail "no port in '$LISTEN_LINE'"
	run_to C --in "$T/c.in" conn-client ":$PORT"
	assert_exchanged L C
}

# dual_stack_ok: ":0" binds one [::] socket taking IPv4 too, so IPv4 peers
# arrive as ::ffff:a.b.c.d; without IPv6 it is 0.0.0.0 and nothing to show.
dual_stack_ok() {
	"$PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::", 0))' 2>/dev/null
}

@test ":PORT (dual-stack): an IPv4 peer is 127.0.0.1:PORT in --tag, warnings and -v, never ::ffff:" {
	dual_stack_ok || skip "no IPv6: :PORT listens on IPv4 alone"
	local key
	key=$(key_file key secret)
	listen L --idle -v -k --tag --authkey-file "$key" :0
	[[ $LISTEN_LINE == "conn-listen: listening on [::]:$PORT" ]] ||
		fail "bad announce line: '$LISTEN_LINE'"
	run_to C conn-client --authkey-file "$key" --data hello --close-on-eof "127.0.0.1:$PORT"
	expect_exit C 0
	run_to W conn-client --authkey-file "$(key_file wrong wrong)" "127.0.0.1:$PORT"
	expect_exit W 4
	wait_lines "$T/L.out" 1
	grep -Eqx '127\.0\.0\.1:[0-9]+ hello' "$T/L.out" || fail "--tag: $(cat "$T/L.out")"
	assert_err L '^conn-listen: connection from 127\.0\.0\.1:[0-9]+$'
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: authentication failed: '
	refute_err L 'ffff'
	# an IPv6 peer is still shown as one
	run_to D conn-client --authkey-file "$key" --data six --close-on-eof "[::1]:$PORT"
	expect_exit D 0
	wait_lines "$T/L.out" 2
	grep -Eqx '\[::1\]:[0-9]+ six' "$T/L.out" || fail "--tag: $(cat "$T/L.out")"
}

@test ":PORT (dual-stack): CONN_PEER of an IPv4 peer is 127.0.0.1:PORT, in conn-listen -v's trace too" {
	dual_stack_ok || skip "no IPv6: :PORT listens on IPv4 alone"
	listen L -v :0 --sh-exec 'echo "$CONN_PEER"'
	run_to C conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	grep -Eqx '127\.0\.0\.1:[0-9]+' "$T/C.out" || fail "CONN_PEER: $(cat "$T/C.out")"
	assert_err L "^conn-listen: connection from $(cat "$T/C.out")\$"
}

@test "bare PORT form on both sides" {
	mkinputs
	listen L --in "$T/l.in" 0
	[[ -n $PORT && $PORT != 0 ]] || fail "no port in '$LISTEN_LINE'"
	run_to C --in "$T/c.in" conn-client "$PORT"
	assert_exchanged L C
}

@test "host name: client to localhost:PORT" {
	mkinputs
	listen L --in "$T/l.in" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client "localhost:$PORT"
	assert_exchanged L C
}

@test "unix path: announced as the path, socket mode 0600, removed after exit" {
	mkinputs
	listen L --in "$T/l.in" "$T/s.sock"
	[[ $LISTEN_LINE == "conn-listen: listening on $T/s.sock" ]] ||
		fail "bad announce line: '$LISTEN_LINE'"
	[[ -S $T/s.sock ]] || fail "$T/s.sock is not a socket"
	[[ $(stat -c %a "$T/s.sock") == 600 ]] || fail "mode is $(stat -c %a "$T/s.sock"), not 600"
	[[ -f $T/s.sock.lock && $(stat -c %a "$T/s.sock.lock") == 600 ]] ||
		fail "no lock file $T/s.sock.lock of mode 600 beside the socket"
	run_to C --in "$T/c.in" conn-client "$T/s.sock"
	assert_exchanged L C
	[[ ! -e $T/s.sock ]] || fail "$T/s.sock still exists after the listener exited"
	[[ ! -e $T/s.sock.lock ]] || fail "$T/s.sock.lock still exists after the listener exited"
}

@test "unix: prefix and relative path, removed right after the accept" {
	mkinputs
	spawn L --in "$T/l.in" bash -c 'cd "$1" && exec conn-listen unix:rel.sock' _ "$T"
	wait_listening L
	[[ $LISTEN_LINE == "conn-listen: listening on unix:rel.sock" ]] ||
		fail "a path with no '/' must be announced as unix:NAME, got '$LISTEN_LINE'"
	# the client keeps the connection open (idle stdin): the file must go at accept
	spawn C --idle conn-client "unix:$T/rel.sock"
	local i
	for i in $(seq 100); do [[ -e $T/rel.sock ]] || break; sleep 0.05; done
	[[ ! -e $T/rel.sock ]] || fail "socket file still there 5 s after the accept"
	wait_lines "$T/C.out" 1
	assert_file "$T/C.out" $'from listener\n'
	alive C || fail "client ended although its stdin is still open"
}

@test "unix: refuses to bind over a regular file (exit 3), leaves it intact" {
	printf 'precious data\n' >"$T/file"
	run_to L conn-listen "$T/file"
	expect_exit L 3
	assert_file "$T/file" $'precious data\n'
	assert_err_only L '^conn-listen: '
}

@test "unix: a stale socket file nobody listens on is replaced" {
	"$PYTHON" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/stale.sock"
	[[ -S $T/stale.sock ]]
	mkinputs
	listen L --in "$T/l.in" "$T/stale.sock"
	run_to C --in "$T/c.in" conn-client "$T/stale.sock"
	assert_exchanged L C
}

@test "unix: a second conn-listen on a live one's path exits 3 without connecting; the first keeps waiting for its client" {
	mkinputs
	listen L --in "$T/l.in" -v "$T/s.sock"
	run_to B conn-listen "$T/s.sock"
	expect_exit B 3
	assert_err_only B "^conn-listen: cannot listen on $T/s\\.sock: another process listens there\$"
	sleep 0.3
	alive L || fail "the one-shot listener took the second one's probe for its connection"
	refute_err L 'connection from'
	[[ -S $T/s.sock ]] || fail "the live listener's socket file is gone"
	run_to C --in "$T/c.in" conn-client "$T/s.sock"
	assert_exchanged L C
}

@test "unix: a -k listener logs nothing when a second conn-listen tries its path" {
	listen L --idle -k -v "$T/s.sock"
	run_to B conn-listen "$T/s.sock"
	expect_exit B 3
	assert_err_only B 'another process listens there$'
	sleep 0.3
	# (-v's two lines at the start: where it listens, how it waits)
	[[ $(grep -cv 'serving clients with' "$T/L.err") == 1 ]] ||
		fail "the -k listener logged: $(cat "$T/L.err")"
	alive L || fail "the -k listener exited"
}

@test "unix: a listener that exits leaves alone the socket and lock files a later listener made at its path" {
	mkinputs
	listen A --idle -k "$T/s.sock"
	# the path is taken over while A still runs (A's files removed by hand)
	rm "$T/s.sock" "$T/s.sock.lock"
	listen B --in "$T/l.in" "$T/s.sock"
	kill -TERM "$(inner_pid A)"
	expect_exit A 0
	[[ -S $T/s.sock ]] || fail "A removed B's socket file"
	[[ -f $T/s.sock.lock ]] || fail "A removed B's lock file"
	run_to C --in "$T/c.in" conn-client "$T/s.sock"
	assert_exchanged B C
}

@test "unix: a socket and lock file left by a killed listener are replaced" {
	mkinputs
	listen A --idle "$T/s.sock"
	kill -KILL "$(inner_pid A)"
	finish A
	[[ -S $T/s.sock && -f $T/s.sock.lock ]] || fail "the killed listener left no files"
	listen L --in "$T/l.in" "$T/s.sock"
	run_to C --in "$T/c.in" conn-client "$T/s.sock"
	assert_exchanged L C
}

@test "unix: -k --exec children do not hold the lock: the path is free once the listener is killed" {
	mkinputs
	listen A -k -v "$T/s.sock" --sh-exec 'exec sleep 20'
	spawn C --idle conn-client "$T/s.sock"
	local i
	for i in $(seq 100); do grep -q 'connection from' "$T/A.err" && break; sleep 0.05; done
	sleep 0.2
	kill -KILL "$(inner_pid A)"
	finish A
	alive C || fail "the client lost its connection with the listener"
	listen L --in "$T/l.in" "$T/s.sock"
	run_to D --in "$T/c.in" conn-client "$T/s.sock"
	assert_exchanged L D
}

@test "unix: a lock file that is a symbolic link is never followed (exit 3)" {
	ln -s "$T/target" "$T/s.sock.lock"
	run_to L conn-listen "$T/s.sock"
	expect_exit L 3
	assert_err_only L "^conn-listen: cannot listen on $T/s\\.sock: its lock file $T/s\\.sock\\.lock: it is a symbolic link\$"
	[[ ! -e $T/target && ! -e $T/s.sock ]] || fail "the link was followed, or a socket made"
}

@test "unix: a live Python Listener (it holds no lock) at the path: exit 3, no lock file left" {
	# Found by connecting, as before locks: this one-shot Python listener
	# takes the probe for its connection (a conn-listen would not be probed).
	peer P --idle mp_peer listen "$T/p.sock" --recv-all
	run_to L conn-listen "$T/p.sock"
	expect_exit L 3
	assert_err_only L 'another process listens there$'
	[[ ! -e $T/p.sock.lock ]] || fail "a lock file was left beside the Python listener's socket"
}

@test "abstract @name: announced as @name, no file created" {
	local name="conn-tools-test-$$-$RANDOM"
	mkinputs
	spawn L --in "$T/l.in" bash -c 'cd "$1" && exec conn-listen "$2"' _ "$T" "@$name"
	wait_listening L
	[[ $LISTEN_LINE == "conn-listen: listening on @$name" ]] || fail "bad announce line: '$LISTEN_LINE'"
	[[ ! -e "$T/@$name" && ! -e "$T/$name" ]] || fail "a file was created for an abstract socket"
	run_to C --in "$T/c.in" conn-client "@$name"
	assert_exchanged L C
}

@test "-4: listener on IPv4 only, client -4 to localhost" {
	mkinputs
	listen L --in "$T/l.in" -4 :0
	run_to C --in "$T/c.in" conn-client -4 "localhost:$PORT"
	assert_exchanged L C
}

@test "-6: listener on IPv6 only: [::1] connects, 127.0.0.1 is refused" {
	have_ipv6 || skip "::1 is not configured"
	mkinputs
	listen L --in "$T/l.in" -6 :0
	run_to R conn-client "127.0.0.1:$PORT"
	expect_exit R 3
	run_to C --in "$T/c.in" conn-client -6 "[::1]:$PORT"
	assert_exchanged L C
}

@test "the listener accepts one connection only" {
	printf 'one\n' >"$T/l.in"
	listen L --in "$T/l.in" 127.0.0.1:0
	spawn C1 --idle conn-client "127.0.0.1:$PORT"
	wait_lines "$T/C1.out" 1
	run_to C2 conn-client "127.0.0.1:$PORT"
	expect_exit C2 3
	assert_err C2 '^conn-client: cannot connect to 127\.0\.0\.1:[0-9]+: Connection refused$'
}

@test "--wait 5: client started before the listener connects once it is up (tcp)" {
	mkinputs
	local p
	p=$(free_port)
	spawn C --in "$T/c.in" conn-client --wait 5 "127.0.0.1:$p"
	sleep 1
	alive C || { finish C; fail "client gave up at once (exit $STATUS): $(cat "$T/C.err")"; }
	listen L --in "$T/l.in" "127.0.0.1:$p"
	assert_exchanged L C
}

@test "--wait 5: client started before the listener connects once it is up (unix)" {
	mkinputs
	spawn C --in "$T/c.in" conn-client --wait 5 "$T/w.sock"
	sleep 1
	alive C || { finish C; fail "client gave up at once (exit $STATUS): $(cat "$T/C.err")"; }
	listen L --in "$T/l.in" "$T/w.sock"
	assert_exchanged L C
}

@test "--wait running out: exit 6 after about that time" {
	local p
	p=$(free_port)
	run_to C conn-client --wait 1 "127.0.0.1:$p"
	expect_exit C 6
	((ELAPSED_MS >= 900 && ELAPSED_MS < 5000)) || fail "took ${ELAPSED_MS} ms for --wait 1"
	assert_err_only C '^conn-client: '
}

@test "connection refused: exit 3 with 'cannot connect to ADDR: Connection refused'" {
	local p
	p=$(free_port)
	run_to C conn-client "127.0.0.1:$p"
	expect_exit C 3
	assert_err_only C "^conn-client: cannot connect to 127\\.0\\.0\\.1:$p: Connection refused\$"
}

@test "unix path nobody listens on: exit 3" {
	run_to C conn-client "$T/nobody.sock"
	expect_exit C 3
	assert_err_only C '^conn-client: '
}

@test "bind on a port in use: exit 3" {
	listen L 127.0.0.1:0
	run_to L2 conn-listen "127.0.0.1:$PORT"
	expect_exit L2 3
	assert_err_only L2 '^conn-listen: '
}

@test "bad addresses: exit 2 with one line, both tools" {
	local a prog
	for prog in conn-listen conn-client; do
		for a in '127.0.0.1:notaport' '127.0.0.1:70000' '127.0.0.1:-1' '[::1' '[::1]' \
			'[::1]x:80' 'unix:' ''; do
			spawn X "$prog" "$a"
			finish X 5
			[[ $STATUS == 2 ]] || fail "$prog '$a': exit $STATUS, expected 2: $(cat "$T/X.err")"
			assert_usage_error X "^$prog: "
		done
	done
}

@test "SIGTERM while listening: exit 0 and the socket file is removed" {
	listen L "$T/t.sock"
	[[ -S $T/t.sock ]]
	kill -TERM "$(inner_pid L)"
	expect_exit L 0 5
	[[ ! -e $T/t.sock ]] || fail "socket file left behind after SIGTERM"
}
