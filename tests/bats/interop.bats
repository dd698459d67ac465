#!/usr/bin/env bats
# Interoperability with the real python3 multiprocessing.connection
# (tests/peers/mp_peer.py: legacy HMAC-MD5 handshake on Python <= 3.11) and
# with a modern-handshake peer (tests/peers/modern_peer.py, as CPython 3.12+).

load helpers

KEY='interop key'
DIGESTS='sha256 sha384 sha3_256 sha3_384 md5'

kf() { key_file key "$KEY"; }

@test "modern_peer.py selftest recomputes every response of auth.json and its transcript" {
	run_to S "$PYTHON" "$CONN_PEERS/modern_peer.py" selftest --vectors "$CONN_VECTORS"
	expect_exit S 0
	grep -q ' 0 failed$' "$T/S.out" || fail "$(cat "$T/S.out")"
}

@test "Python Listener <-> conn-client, no key: messages both ways" {
	peer P mp_peer listen 127.0.0.1:0 --send hello --send-hex '' --send 'from python' --recv-all
	printf 'a\nb c\n' >"$T/in"
	run_to C --in "$T/in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/C.out" $'hello\n\nfrom python\n'
	assert_file "$T/P.out" $'a\nb c\n'
}

@test "conn-listen <-> Python Client, no key: messages both ways" {
	printf 'z\n' >"$T/in"
	listen L --in "$T/in" 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send x --send y --recv-all
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/L.out" $'x\ny\n'
	assert_file "$T/P.out" $'z\n'
}

@test "Python Listener <-> conn-client with a key (legacy MD5 challenge)" {
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --send hello --recv-all
	printf 'a\n' >"$T/in"
	run_to C --in "$T/in" conn-client -v --authkey-file "$(kf)" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/C.out" $'hello\n'
	assert_file "$T/P.out" $'a\n'
	assert_err C '^conn-client: authenticated: we asked for sha256, the peer answered with md5 \(legacy\)'
}

@test "conn-listen <-> Python Client with a key (legacy MD5 reply)" {
	printf 'z\n' >"$T/in"
	listen L --in "$T/in" -v --authkey-file "$(kf)" 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --authkey "$KEY" --send x --recv-all
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/L.out" $'x\n'
	assert_file "$T/P.out" $'z\n'
	assert_err L '^conn-listen: authenticated: we asked for sha256, the peer answered with md5 \(legacy\)'
}

@test "Unix path and abstract socket with Python on the other end" {
	peer P mp_peer listen "$T/py.sock" --send over-unix --recv 1
	[[ $ADDR == "$T/py.sock" ]]
	printf 'back\n' >"$T/in"
	run_to C --in "$T/in" conn-client "$T/py.sock"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/C.out" $'over-unix\n'
	assert_file "$T/P.out" $'back\n'

	local name="conn-tools-interop-$$-$RANDOM"
	printf 'abstract\n' >"$T/l.in"
	listen L --in "$T/l.in" --authkey-file "$(kf)" "@$name"
	peer P2 mp_peer client "@$name" --authkey "$KEY" --send hi --recv-all
	expect_exit P2 0
	expect_exit L 0
	assert_file "$T/L.out" $'hi\n'
	assert_file "$T/P2.out" $'abstract\n'
}

@test "IPv6 with Python on the other end" {
	have_ipv6 || skip "::1 is not configured"
	peer P mp_peer listen '[::1]:0' --authkey "$KEY" --send six --recv 1
	printf 'back\n' >"$T/in"
	run_to C --in "$T/in" conn-client --authkey-file "$(kf)" "[::1]:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/C.out" $'six\n'
	assert_file "$T/P.out" $'back\n'
}

@test "messages over 64 KiB both ways with Python (200000 bytes, sha256)" {
	head -c 200000 /dev/urandom >"$T/blob"
	{
		printf '\000\003\015\100' # 200000
		cat "$T/blob"
	} >"$T/blob.frame"
	local want_pattern
	want_pattern=$("$PYTHON" "$CONN_PEERS/mp_peer.py" pattern 200000 | sha)

	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --send-size 200000 --recv 1 --digest-out
	run_to C --in "$T/blob.frame" conn-client --authkey-file "$(kf)" --in frames --out raw "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	[[ $(sha "$T/C.out") == "$want_pattern" ]] || fail "conn-client received $(wc -c <"$T/C.out") bytes, differ"
	assert_file "$T/P.out" "200000 $(sha "$T/blob")
"

	listen L --in "$T/blob.frame" --in frames --out frames 127.0.0.1:0
	peer P2 mp_peer client "127.0.0.1:$PORT" --send-size 200000 --recv 1 --digest-out
	expect_exit P2 0
	expect_exit L 0
	assert_file "$T/P2.out" "200000 $(sha "$T/blob")
"
	[[ $(head -c 4 "$T/L.out" | xxd -p) == 00030d40 ]] || fail "bad frame header $(head -c 4 "$T/L.out" | xxd -p)"
	[[ $(tail -c +5 "$T/L.out" | sha) == "$want_pattern" ]] || fail "conn-listen received something else"
}

@test "wrong key against a Python Listener: both fail, conn-client exit 4" {
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --recv-all
	run_to C conn-client --handshake-timeout 5 --authkey-file "$(key_file bad 'not it')" "127.0.0.1:$PORT"
	expect_exit C 4 10
	expect_exit P 4 10
	assert_err_only C '^conn-client: authentication failed: the peer rejected our key \(#FAILURE#\)$'
	assert_err P 'AuthenticationError'
}

@test "wrong key against a Python Client: both fail, conn-listen exit 4" {
	listen L --handshake-timeout 5 --authkey-file "$(key_file bad 'not it')" 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --authkey "$KEY" --send x
	expect_exit L 4 10
	expect_exit P 4 10
	assert_err_only L "^conn-listen: authentication failed: the peer's reply does not match our key\$"
	assert_err P 'AuthenticationError'
	assert_file "$T/L.out" ''
}

@test "Python Listener with a key, conn-client without: exit 4 'no authkey was given'" {
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --recv-all
	spawn C --idle conn-client "127.0.0.1:$PORT"
	expect_exit C 4 10
	assert_err_only C '^conn-client: the peer asks for authentication \(#CHALLENGE#\) but no authkey was given: use --authkey-file$'
}

@test "conn-client with a key, Python Listener without that sends data: exit 4" {
	peer P mp_peer listen 127.0.0.1:0 --send 'plain hello' --hold 10
	spawn C --idle conn-client --handshake-timeout 5 --authkey-file "$(kf)" "127.0.0.1:$PORT"
	expect_exit C 4 10
	assert_err_only C '^conn-client: authentication failed: the peer sent data instead of a challenge: does it expect no authkey\?$'
}

@test "--digest md5 against Python 3.11 in both roles" {
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --send one --recv 1
	printf 'two\n' >"$T/in"
	run_to C --in "$T/in" conn-client --digest md5 --authkey-file "$(kf)" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/C.out" $'one\n'

	listen L --digest md5 --authkey-file "$(kf)" 127.0.0.1:0
	peer P2 mp_peer client "127.0.0.1:$PORT" --authkey "$KEY" --send three
	expect_exit P2 0
	expect_exit L 0
	assert_file "$T/L.out" $'three\n'
}

@test "modern peer as listener, each digest, against conn-client" {
	local d
	for d in $DIGESTS; do
		peer P modern_peer listen 127.0.0.1:0 --authkey "$KEY" --digest "$d" --send "hi $d" --recv-all
		printf 'yo %s\n' "$d" >"$T/in"
		run_to C --in "$T/in" conn-client -v --digest "$d" --authkey-file "$(kf)" "127.0.0.1:$PORT"
		expect_exit C 0
		expect_exit P 0
		assert_file "$T/C.out" "hi $d
"
		assert_file "$T/P.out" "yo $d
"
		assert_err C "^conn-client: authenticated: we asked for $d, the peer answered with $d"
	done
}

@test "modern peer as client, each digest, against conn-listen" {
	local d
	for d in $DIGESTS; do
		printf 'yo %s\n' "$d" >"$T/in"
		listen L --in "$T/in" -v --digest "$d" --authkey-file "$(kf)" 127.0.0.1:0
		peer P modern_peer client "127.0.0.1:$PORT" --authkey "$KEY" --digest "$d" --send "hi $d" --recv-all
		expect_exit P 0
		expect_exit L 0
		assert_file "$T/L.out" "hi $d
"
		assert_file "$T/P.out" "yo $d
"
		assert_err L "^conn-listen: authenticated: we asked for $d, the peer answered with $d"
	done
}

@test "modern peer: wrong key in both roles is exit 4" {
	peer P modern_peer listen 127.0.0.1:0 --authkey other --recv-all
	run_to C conn-client --handshake-timeout 5 --authkey-file "$(kf)" "127.0.0.1:$PORT"
	expect_exit C 4 10
	expect_exit P 4 10
	assert_err_only C '^conn-client: authentication failed: the peer rejected our key \(#FAILURE#\)$'

	listen L --handshake-timeout 5 --authkey-file "$(kf)" 127.0.0.1:0
	peer P2 modern_peer client "127.0.0.1:$PORT" --authkey other --send x
	expect_exit L 4 10
	expect_exit P2 4 10
	assert_err_only L "^conn-listen: authentication failed: the peer's reply does not match our key\$"
}

@test "modern peer's legacy raw-MD5 reply is accepted (both roles)" {
	listen L -v --authkey-file "$(kf)" 127.0.0.1:0
	peer P modern_peer client "127.0.0.1:$PORT" --authkey "$KEY" --legacy-reply --send legacy
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/L.out" $'legacy\n'
	assert_err L '^conn-listen: authenticated: we asked for sha256, the peer answered with md5 \(legacy\)'

	peer P2 modern_peer listen 127.0.0.1:0 --authkey "$KEY" --legacy-reply --send legacy2
	run_to C conn-client --authkey-file "$(kf)" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P2 0
	assert_file "$T/C.out" $'legacy2\n'
}

@test "--no-md5 refuses the modern peer's legacy raw-MD5 reply (both roles)" {
	listen L --no-md5 --handshake-timeout 5 --authkey-file "$(kf)" 127.0.0.1:0
	peer P modern_peer client "127.0.0.1:$PORT" --authkey "$KEY" --legacy-reply --send legacy
	expect_exit L 4 10
	expect_exit P 4 10
	assert_file "$T/L.out" ''
	assert_err_only L '^conn-listen: authentication failed'

	peer P2 modern_peer listen 127.0.0.1:0 --authkey "$KEY" --legacy-reply --send legacy2
	run_to C conn-client --no-md5 --handshake-timeout 5 --authkey-file "$(kf)" "127.0.0.1:$PORT"
	expect_exit C 4 10
	expect_exit P2 4 10
	assert_file "$T/C.out" ''
	assert_err_only C '^conn-client: authentication failed'
}

@test "--no-md5 refuses a {md5} reply too" {
	listen L --no-md5 --handshake-timeout 5 --authkey-file "$(kf)" 127.0.0.1:0
	peer P modern_peer client "127.0.0.1:$PORT" --authkey "$KEY" --reply-digest md5 --send x
	expect_exit L 4 10
	expect_exit P 4 10
	assert_file "$T/L.out" ''
	assert_err_only L '^conn-listen: authentication failed'
}

@test "--no-md5 still answers the modern peer's own challenge with the digest it asks" {
	printf 'ok\n' >"$T/in"
	listen L --in "$T/in" --no-md5 --authkey-file "$(kf)" 127.0.0.1:0
	peer P modern_peer client "127.0.0.1:$PORT" --authkey "$KEY" --digest sha3_256 --recv-all
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/P.out" $'ok\n'
}

@test "a keyless conn-listen and a keyed Python Client both wait (as the key table says); --data makes the Client fail at once" {
	listen L --idle 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --authkey "$KEY" --recv 1
	sleep 1
	# CPython's answer_challenge() has no timeout: the Client waits for
	# a challenge, and sends nothing that conn-listen could print.
	alive P || fail "the Python Client ended: $(cat "$T/P.err")"
	alive L || fail "conn-listen ended: $(cat "$T/L.err")"
	[[ ! -s $T/L.out ]] || fail "conn-listen printed: $(cat "$T/L.out")"
	# The remedy the table gives: let conn-listen speak first.
	listen M --idle --data hi 127.0.0.1:0
	peer Q mp_peer client "127.0.0.1:$PORT" --authkey "$KEY" --recv 1
	finish Q 10
	[[ $STATUS != 0 && $STATUS != 124 ]] || fail "the keyed Client did not refuse --data: exit $STATUS"
	assert_err Q "message = b'hi'"
}
