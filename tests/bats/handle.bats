#!/usr/bin/env bats
# conn-client --send-fd and --recv-fd (#18): descriptors as messages over
# a Unix socket, against every CPython's multiprocessing.reduction
# recv_handle() and send_handle().

load helpers
# The interpreters, found as the CPython matrix finds them.
source "$BATS_TEST_DIRNAME/../cpython/cpython.bash"

HKEY='handle key'

# Both ways with python NAME: its recv_handle() reads the file we pass;
# the file its send_handle() passes is read by our --exec command.
handle_cpython() {
	cpython_need "$1"
	printf 'passed by conn-client\n' >"$T/ours.txt"
	spawn P "$CPY" -E -S "$CONN_PEERS/handle_peer.py" recv "$T/r.sock" "$HKEY"
	wait_listening P
	CONN_AUTHKEY=$HKEY run_to C bash -c 'exec conn-client --send-fd 7 --recv-only "$0" 7<"$1"' "$T/r.sock" "$T/ours.txt"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" $'passed by conn-client\n'
	assert_file "$T/C.out" $'done\n'

	printf 'passed by python\n' >"$T/theirs.txt"
	spawn Q "$CPY" -E -S "$CONN_PEERS/handle_peer.py" send "$T/s.sock" "$HKEY" "$T/theirs.txt"
	wait_listening Q
	CONN_AUTHKEY=$HKEY run_to D conn-client --recv-fd "$T/s.sock" \
		--sh-exec 'printf "CONN_FD=%s\n" "$CONN_FD"; cat <&"$CONN_FD"'
	expect_exit D 0
	expect_exit Q 0
	[[ $(head -1 "$T/Q.out") =~ ^CONN_FD=[0-9]+$ ]]
	[[ $(sed -n 2p "$T/Q.out") == 'passed by python' ]]
}

@test "fd passing: python2.7's recv_handle() and send_handle()" { handle_cpython 2.7; }
@test "fd passing: python3.6's recv_handle() and send_handle()" { handle_cpython 3.6; }
@test "fd passing: python3.7's recv_handle() and send_handle()" { handle_cpython 3.7; }
@test "fd passing: python3.8's recv_handle() and send_handle()" { handle_cpython 3.8; }
@test "fd passing: python3.9's recv_handle() and send_handle()" { handle_cpython 3.9; }
@test "fd passing: python3.10's recv_handle() and send_handle()" { handle_cpython 3.10; }
@test "fd passing: python3.11's recv_handle() and send_handle()" { handle_cpython 3.11; }
@test "fd passing: python3.12's recv_handle() and send_handle()" { handle_cpython 3.12; }
@test "fd passing: python3.13's recv_handle() and send_handle()" { handle_cpython 3.13; }
@test "fd passing: python3.14's recv_handle() and send_handle()" { handle_cpython 3.14; }

@test "fd passing: a peer that sends a message instead of a descriptor" {
	peer P mp_peer listen "$T/m.sock" --send hello
	run_to C conn-client --recv-fd "$T/m.sock" --sh-exec 'cat >/dev/null'
	expect_exit C 5
	assert_err_only C 'conn-client: the peer sent a byte alone instead of one descriptor'
}

@test "fd passing: usage errors" {
	run_to A conn-client --send-fd 0 127.0.0.1:1
	expect_exit A 2
	assert_usage_error A '^conn-client: --send-fd needs a Unix socket ADDRESS \(a path, unix:PATH or @NAME\): descriptors do not cross TCP$'
	run_to B conn-client --send-fd 9 "$T/x.sock"
	expect_exit B 2
	assert_usage_error B '^conn-client: --send-fd 9: Bad file descriptor$'
	run_to C conn-client --recv-fd "$T/x.sock"
	expect_exit C 2
	assert_usage_error C '^conn-client: --recv-fd needs --exec or --sh-exec'
	run_to D conn-client --send-fd=-1 "$T/x.sock"
	expect_exit D 2
	run_to E conn-client --probe --send-fd 0 "$T/x.sock"
	expect_exit E 2
	assert_usage_error E '^conn-client: cannot use --probe with --send-fd$'
	run_to F conn-client --recv-fd --tls-psk --authkey k "$T/x.sock" --exec cat
	expect_exit F 2
	assert_usage_error F '^conn-client: cannot use --recv-fd with --tls-psk$'
}
