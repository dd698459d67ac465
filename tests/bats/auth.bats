#!/usr/bin/env bats
# Authentication between our two tools: key sources, wrong keys, a key on
# one side only, stalled handshakes, digests, --no-md5, key files.

load helpers

KEY='correct horse battery staple'

# session [listener args] -- [client args]: helpers.bash's two_way.
session() { two_way "$@"; }
assert_passed() { two_way_passed; }

assert_auth_failed_both() {
	expect_exit C 4 10
	expect_exit L 4 10
	assert_file "$T/L.out" ''
	assert_file "$T/C.out" ''
}

@test "same key from --authkey-file on both sides" {
	local k
	k=$(key_file key "$KEY")
	session --authkey-file "$k" -- --authkey-file="$k"
	assert_passed
}

@test "same key from CONN_AUTHKEY on both sides" {
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
	spawn L --in "$T/l.in" env CONN_AUTHKEY="$KEY" conn-listen 127.0.0.1:0
	wait_listening L
	run_to C --in "$T/c.in" env CONN_AUTHKEY="$KEY" conn-client "127.0.0.1:$PORT"
	assert_passed
}

@test "key from a file on one side, CONN_AUTHKEY on the other" {
	local k
	k=$(key_file key "$KEY")
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
	listen L --in "$T/l.in" --authkey-file "$k" 127.0.0.1:0
	run_to C --in "$T/c.in" env CONN_AUTHKEY="$KEY" conn-client "127.0.0.1:$PORT"
	assert_passed
}

@test "--authkey-file and --authkey come before CONN_AUTHKEY" {
	local k
	k=$(key_file key "$KEY")
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
	spawn L --in "$T/l.in" env CONN_AUTHKEY=wrong conn-listen --authkey-file "$k" 127.0.0.1:0
	wait_listening L
	run_to C --in "$T/c.in" env CONN_AUTHKEY=wrong conn-client -q --authkey "$KEY" "127.0.0.1:$PORT"
	assert_passed
}

@test "--authkey TEXT: works, warns, and the key never appears in any output, even with -v" {
	local key='Xyzzy-s3cr3t-Plugh-42'
	session -v --authkey "$key" -- -v --authkey "$key"
	assert_passed
	assert_err L '^conn-listen: warning: --authkey TEXT is visible to other users \(ps\); prefer --authkey-file or CONN_AUTHKEY$'
	assert_err C '^conn-client: warning: --authkey TEXT is visible to other users \(ps\); prefer --authkey-file or CONN_AUTHKEY$'
	refute_err L "$key"
	refute_err C "$key"
	if grep -qF "$key" "$T/L.out" "$T/C.out"; then fail "the key is on stdout"; fi
	# -v did trace something
	assert_err C '^conn-client: connected to 127\.0\.0\.1:[0-9]+$'
	assert_err L '^conn-listen: connection from 127\.0\.0\.1:[0-9]+$'
	assert_err C '^conn-client: authenticated: '
	assert_err L '^conn-listen: authenticated: '
}

@test "-q: no --authkey warning, no notice at all" {
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
	spawn L --in "$T/l.in" conn-listen -q --authkey "$KEY" "$T/s.sock"
	local i
	for i in $(seq 100); do [[ -S $T/s.sock ]] && break; sleep 0.05; done
	run_to C --in "$T/c.in" conn-client -q --authkey "$KEY" "$T/s.sock"
	assert_passed
	[[ ! -s $T/L.err ]] || fail "listener stderr: $(cat "$T/L.err")"
	[[ ! -s $T/C.err ]] || fail "client stderr: $(cat "$T/C.err")"
}

@test "wrong key: exit 4 on both sides with the spec's messages" {
	local a b
	a=$(key_file a "$KEY")
	b=$(key_file b "not the key")
	session --handshake-timeout 5 --authkey-file "$a" -- --handshake-timeout 5 --authkey-file "$b"
	assert_auth_failed_both
	assert_err_only L "^conn-listen: authentication failed: the peer's reply does not match our key\$"
	assert_err_only C '^conn-client: authentication failed: the peer rejected our key \(#FAILURE#\)$'
}

@test "key on the listener only: both exit 4 within seconds, client says no authkey was given" {
	local k
	k=$(key_file key "$KEY")
	listen L --in /dev/null --handshake-timeout 2 --authkey-file "$k" 127.0.0.1:0
	spawn C --idle conn-client --handshake-timeout 2 "127.0.0.1:$PORT"
	expect_exit C 4 10
	expect_exit L 4 10
	((ELAPSED_MS < 5000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only C '^conn-client: the peer asks for authentication \(#CHALLENGE#\) but no authkey was given: use --authkey-file$'
	assert_err_only L '^conn-listen: '
	assert_file "$T/C.out" ''
}

@test "key on the client only, the listener sending data: client exit 4 'sent data instead of a challenge'" {
	local k
	k=$(key_file key "$KEY")
	printf 'plain data\n' >"$T/l.in"
	listen L --in "$T/l.in" 127.0.0.1:0
	spawn C --idle conn-client --handshake-timeout 2 --authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit C 4 10
	((ELAPSED_MS < 5000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only C '^conn-client: authentication failed: the peer sent data instead of a challenge: does it expect no authkey\?$'
	assert_file "$T/C.out" ''
}

# The spec words this case "authentication failed: no challenge from the peer
# within 10 s: does it expect no authkey?" (exit 4, key on one side only) but
# also calls it a handshake timeout (exit 6): either status is accepted here.
@test "key on the client only, a silent listener: client fails 'no challenge' after --handshake-timeout 2, not a hang" {
	local k
	k=$(key_file key "$KEY")
	listen L --idle 127.0.0.1:0
	spawn C --idle conn-client --handshake-timeout 2 --authkey-file "$k" "127.0.0.1:$PORT"
	finish C 10
	[[ $STATUS == 4 || $STATUS == 6 ]] || fail "exit $STATUS, expected 4 (or 6): $(cat "$T/C.err")"
	((ELAPSED_MS >= 1800 && ELAPSED_MS < 6000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only C '^conn-client: .*no challenge from the peer within 2 s: does it expect no authkey\?$'
}

@test "key on the client only, the listener closing its side: client exit 4 at once" {
	local k
	k=$(key_file key "$KEY")
	listen L --in /dev/null 127.0.0.1:0
	spawn C --idle conn-client --handshake-timeout 5 --authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit C 4 10
	((ELAPSED_MS < 8000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only C '^conn-client: '
}

@test "stalled handshake, listener side: a client that sends nothing -> exit 6 after --handshake-timeout 1" {
	local k
	k=$(key_file key "$KEY")
	listen L --handshake-timeout 1 --authkey-file "$k" 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --hold 20
	expect_exit L 6 10
	((ELAPSED_MS >= 900 && ELAPSED_MS < 5000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only L '^conn-listen: timeout: handshake not finished within 1 s$'
}

@test "stalled handshake, client side: a challenge then silence -> exit 6 after --handshake-timeout 1" {
	local k challenge
	k=$(key_file key "$KEY")
	challenge=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["transcript_modern_mutual"]["steps"][0]["frame_hex"])' "$CONN_VECTORS/auth.json")
	peer P raw_peer listen 127.0.0.1:0 --write-hex "$challenge" --hold 20
	spawn C --idle conn-client --handshake-timeout 1 --authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit C 6 10
	((ELAPSED_MS < 5000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only C '^conn-client: timeout: handshake not finished within 1 s$'
}

@test "fractional --handshake-timeout 0.5 is honoured" {
	local k
	k=$(key_file key "$KEY")
	listen L --handshake-timeout 0.5 --authkey-file "$k" 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --hold 20
	expect_exit L 6 10
	((ELAPSED_MS < 8000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only L '^conn-listen: timeout: handshake not finished'
}

@test "every --digest between our two tools (sha256 sha384 sha3_256 sha3_384 md5)" {
	local k d
	k=$(key_file key "$KEY")
	for d in sha256 sha384 sha3_256 sha3_384 md5; do
		session -v --digest "$d" --authkey-file "$k" -- -v --digest="$d" --authkey-file "$k"
		assert_passed
		assert_err L "^conn-listen: authenticated: we asked for $d, the peer answered with $d"
		assert_err C "^conn-client: authenticated: we asked for $d, the peer answered with $d"
	done
}

@test "different digests on each side" {
	local k
	k=$(key_file key "$KEY")
	session -v --digest sha3_384 --authkey-file "$k" -- -v --digest md5 --authkey-file "$k"
	assert_passed
	assert_err L '^conn-listen: authenticated: we asked for sha3_384, the peer answered with sha3_384'
	assert_err C '^conn-client: authenticated: we asked for md5, the peer answered with md5'
}

@test "sha256 is the default digest" {
	local k
	k=$(key_file key "$KEY")
	session -v --authkey-file "$k" -- -v --authkey-file "$k"
	assert_passed
	assert_err L '^conn-listen: authenticated: we asked for sha256, the peer answered with sha256'
	assert_err C '^conn-client: authenticated: we asked for sha256, the peer answered with sha256'
}

@test "--no-md5 on both sides: modern replies are accepted" {
	local k
	k=$(key_file key "$KEY")
	session --no-md5 --authkey-file "$k" -- --no-md5 --authkey-file "$k"
	assert_passed
}

@test "--no-md5 refuses a legacy Python 3.11 client (exit 4)" {
	local k
	k=$(key_file key "$KEY")
	listen L --no-md5 --handshake-timeout 5 --authkey-file "$k" 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --authkey "$KEY" --send hi
	expect_exit L 4 10
	expect_exit P 4 10
	assert_err_only L '^conn-listen: authentication failed'
	assert_file "$T/L.out" ''
}

@test "empty key file, newline-only key file, missing key file: exit 2" {
	: >"$T/empty"
	printf '\n' >"$T/nl"
	local f prog
	for prog in conn-listen conn-client; do
		for f in "$T/empty" "$T/nl" "$T/missing"; do
			spawn X "$prog" --authkey-file "$f" 127.0.0.1:1
			finish X 5
			[[ $STATUS == 2 ]] || fail "$prog --authkey-file $f: exit $STATUS, expected 2: $(cat "$T/X.err")"
			assert_usage_error X "^$prog: "
		done
	done
}

@test "empty --authkey is exit 2; --authkey with --authkey-file is exit 2" {
	local k prog
	k=$(key_file key "$KEY")
	for prog in conn-listen conn-client; do
		spawn X "$prog" --authkey '' 127.0.0.1:1
		finish X 5
		[[ $STATUS == 2 ]] || fail "$prog --authkey '': exit $STATUS: $(cat "$T/X.err")"
		assert_usage_error X "^$prog: --authkey: the key is empty$"
		spawn X "$prog" --authkey "$KEY" --authkey-file "$k" 127.0.0.1:1
		finish X 5
		[[ $STATUS == 2 ]] || fail "$prog --authkey with --authkey-file: exit $STATUS: $(cat "$T/X.err")"
		assert_usage_error X "^$prog: cannot use --authkey with --authkey-file\$"
		refute_err X "$KEY"
	done
}

@test "an empty CONN_AUTHKEY is exit 2 naming it, never a run without a key: conn-listen, conn-client, conn-bench" {
	local prog
	for prog in conn-listen conn-client conn-bench; do
		# conn-listen used to listen there without a key
		spawn X env CONN_AUTHKEY= "$prog" 127.0.0.1:0
		finish X 5
		[[ $STATUS == 2 ]] || fail "$prog with CONN_AUTHKEY='': exit $STATUS, expected 2: $(cat "$T/X.err")"
		assert_usage_error X "^$prog: CONN_AUTHKEY is set but empty: unset it for no key, or give a key\$"
		refute_err X 'listening on'
	done
	# conn-bench without ADDRESS reads the key too (its own peers)
	spawn X env CONN_AUTHKEY= conn-bench -w stream --duration 0.01 --transport unix
	finish X 10
	[[ $STATUS == 2 ]] || fail "conn-bench with CONN_AUTHKEY='': exit $STATUS: $(cat "$T/X.err")"
	assert_usage_error X '^conn-bench: CONN_AUTHKEY is set but empty'
}

@test "an empty key from --authkey or --authkey-file is exit 2 for conn-bench too, naming the source" {
	: >"$T/empty"
	run_to X conn-bench --authkey '' 127.0.0.1:1
	expect_exit X 2
	assert_usage_error X '^conn-bench: --authkey: the key is empty$'
	run_to X conn-bench --authkey-file "$T/empty" 127.0.0.1:1
	expect_exit X 2
	assert_usage_error X "^conn-bench: $T/empty: the key file is empty\$"
}

@test "a key file over 1 MiB, or /dev/zero, is exit 2 saying so, not 'empty'; exactly 1 MiB is a key" {
	head -c $((1024 * 1024 + 1)) /dev/urandom >"$T/big"
	run_to X conn-client --authkey-file "$T/big" 127.0.0.1:1
	expect_exit X 2
	assert_usage_error X "^conn-client: $T/big: the key file is longer than 1 MiB: is it the key\?\$"
	run_to X conn-listen --authkey-file /dev/zero 127.0.0.1:0
	expect_exit X 2
	assert_usage_error X '^conn-listen: /dev/zero: the key file is longer than 1 MiB: is it the key\?$'
	head -c $((1024 * 1024)) /dev/urandom >"$T/1m"
	session --authkey-file "$T/1m" -- --authkey-file "$T/1m"
	assert_passed
}

@test "key file with one trailing newline equals the key without it" {
	printf '%s\n' "$KEY" >"$T/with-nl"
	printf '%s' "$KEY" >"$T/without"
	session --authkey-file "$T/with-nl" -- --authkey-file "$T/without"
	assert_passed
}

@test "only one trailing newline is removed from a key file" {
	printf '%s\n\n' "$KEY" >"$T/two-nl"
	printf '%s' "$KEY" >"$T/without"
	session --handshake-timeout 5 --authkey-file "$T/two-nl" -- --handshake-timeout 5 --authkey-file "$T/without"
	assert_auth_failed_both
}

@test "a binary key file (NUL, 0xff, CR) works" {
	printf 'a\0b\377c\r' >"$T/bin"
	session --authkey-file "$T/bin" -- --authkey-file "$T/bin"
	assert_passed
}

@test "--handshake-timeout 0: no limit" {
	local k
	k=$(key_file key "$KEY")
	listen L --handshake-timeout 0 --authkey-file "$k" 127.0.0.1:0
	peer P raw_peer client "127.0.0.1:$PORT" --hold 20
	sleep 2.5
	alive L || { finish L; fail "listener gave up (exit $STATUS): $(cat "$T/L.err")"; }
}
