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
	run_to C --in "$T/c.in" conn-client "$T/s.sock"
	assert_exchanged L C
	[[ ! -e $T/s.sock ]] || fail "$T/s.sock still exists after the listener exited"
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
