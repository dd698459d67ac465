#!/usr/bin/env bats
# --tls and --tls-psk: both modes between our tools, every format, large
# messages, -k and --forward; every failure with its exit status (7) and
# line; interop with stunnel4, Python's ssl module and openssl s_server.
# Certificates are made at test time (pki.bash).

load helpers
load pki

KEY='correct horse battery staple'

setup_file() {
	PKI=$BATS_FILE_TMPDIR/pki
	export PKI
	pki_make "$PKI"
}

SERVER=()
server_cert() { SERVER=(--tls-cert "$PKI/$1.pem" --tls-key "$PKI/$1.key"); }

# session [listener args] -- [client args]: helpers.bash's two_way, the
# client to ${HOST:-127.0.0.1}.
session() { two_way "$@"; }
assert_passed() { two_way_passed; }

# assert_failed NAME STATUS TEXT: NAME exited STATUS saying TEXT.
assert_failed() {
	expect_exit "$1" "$2" 15
	assert_file_contains "$T/$1.err" "$3"
}

assert_file_contains() {
	grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(head -c 600 "$1")"
}

# stunnel_to_python: a Python Listener with $KEY (P) behind stunnel4 (S)
# with the server certificate, at 127.0.0.1:$STUNNEL_PORT.
stunnel_to_python() {
	local st i
	st=$(command -v stunnel4 || command -v stunnel)
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --echo
	local target=$PORT
	STUNNEL_PORT=$(free_port)
	cat >"$T/stunnel.conf" <<-CONF
	foreground = yes
	pid =
	[conn]
	accept = 127.0.0.1:$STUNNEL_PORT
	connect = 127.0.0.1:$target
	cert = $PKI/server.pem
	key = $PKI/server.key
	CONF
	spawn S "$st" "$T/stunnel.conf"
	for i in $(seq 50); do
		bash -c "exec 3<>/dev/tcp/127.0.0.1/$STUNNEL_PORT" 2>/dev/null && break
		sleep 0.1
	done
}

@test "certificate mode: both ways, verified by CA and address, -v says what" {
	server_cert server
	session "${SERVER[@]}" -v -- --tls --tls-ca "$PKI/ca.pem" -v
	assert_passed
	assert_file_contains "$T/C.err" "TLS: TLS1.3, "
	assert_file_contains "$T/C.err" "peer CN=server, pin sha256//"
	assert_file_contains "$T/L.err" "TLS: TLS1.3, "
}

@test "certificate mode by host name: localhost is checked against the certificate" {
	server_cert server
	HOST=localhost session "${SERVER[@]}" -- --tls --tls-ca "$PKI/ca.pem"
	assert_passed
}

@test "certificate mode with an authkey: the handshake runs inside TLS" {
	local k
	k=$(key_file key "$KEY")
	server_cert server
	session "${SERVER[@]}" --authkey-file "$k" -- --tls --tls-ca "$PKI/ca.pem" --authkey-file "$k" -v
	assert_passed
	assert_file_contains "$T/C.err" "authenticated: "
}

@test "PSK mode: both ways with the authkey, no certificates" {
	local k
	k=$(key_file key "$KEY")
	session --tls-psk --authkey-file "$k" -- --tls-psk --authkey-file "$k" -v
	assert_passed
	assert_file_contains "$T/C.err" "PSK from the authkey"
}

@test "TLS 1.2 with --tls-min 1.2 on both sides" {
	server_cert server
	session "${SERVER[@]}" --tls-min 1.2 -- --tls --tls-ca "$PKI/ca.pem" --tls-min 1.2
	assert_passed
}

@test "mutual TLS: --tls-ca on the listener requires the client's certificate" {
	server_cert server
	session "${SERVER[@]}" --tls-ca "$PKI/ca.pem" -v -- --tls-ca "$PKI/ca.pem" \
		--tls-cert "$PKI/client.pem" --tls-key "$PKI/client.key"
	assert_passed
	assert_file_contains "$T/L.err" "peer CN=client"
}

@test "pinned key: --tls-pin with the pin -v printed, no CA needed" {
	server_cert server
	session "${SERVER[@]}" -- --tls --tls-insecure -v
	assert_passed
	pin=$(grep -o 'pin sha256//[^ ]*' "$T/C.err" | cut -d' ' -f2)
	assert [ -n "$pin" ]
	session "${SERVER[@]}" -- --tls-pin "$pin"
	assert_passed
}

# format_case NAME FILE OUT-FORMAT IN-OPTION...: FILE sent by a PSK
# client with the IN-OPTIONs, received in OUT-FORMAT as FILE's bytes.
format_case() {
	local name=$1 file=$2 out=$3 k
	shift 3
	k=$(key_file key "$KEY")
	listen "L$name" --out "$out" --tls-psk --authkey-file "$k" 127.0.0.1:0
	run_to "C$name" --in "$file" conn-client "$@" --send-only --tls-psk \
		--authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit "C$name" 0
	expect_exit "L$name" 0
	cmp "$file" "$T/L$name.out"
}

@test "json, hex and frames formats over TLS" {
	printf '{"a": [1, 2, "x"]}\n' >"$T/j.in"
	format_case json "$T/j.in" json -f json
	printf '68656c6c6f\n00ff\n' >"$T/h.in"
	format_case hex "$T/h.in" hex -f hex
	printf 'one\ntwo\n' | conn-pipe --out frames >"$T/f.in"
	format_case frames "$T/f.in" frames --in frames
}

@test "an 8 MiB message and back through --echo over TLS" {
	server_cert server
	head -c 8388608 /dev/urandom >"$T/big"
	listen L --echo "${SERVER[@]}" --max-size 16M 127.0.0.1:0
	run_to C --in "$T/big" conn-client -f raw --chunk-size 8M --max-size 16M \
		--tls --tls-ca "$PKI/ca.pem" "127.0.0.1:$PORT"
	expect_exit C 0 30
	expect_exit L 0 30
	cmp "$T/big" "$T/C.out"
}

@test "--tls-psk: frames of sizes around the record and queue sizes, to a slow reader, arrive whole and in order" {
	local k
	k=$(key_file key "$KEY")
	mixed_frames "$T/in"
	slow_sink "$T/sink.py"
	spawn L bash -c 'conn-listen --tls-psk --out frames --max-size 4M "$@" | "$PYTHON" "$0"' \
		"$T/sink.py" --authkey-file "$k" 127.0.0.1:0
	wait_listening L
	run_to C --in "$T/in" conn-client --tls-psk --authkey-file "$k" --in frames --max-size 4M --send-only "$ADDR"
	expect_exit C 0 60
	expect_exit L 0 60
	[[ $(sha "$T/L.out") == "$(sha "$T/in")" ]] || fail "received $(wc -c <"$T/L.out") of $(wc -c <"$T/in") bytes, differ"
}

@test "-k: several TLS clients at once, each message whole" {
	local k i
	k=$(key_file key "$KEY")
	listen L -k --max-accepts 4 --tls-psk --authkey-file "$k" 127.0.0.1:0
	for i in 1 2 3 4; do
		seq -f "c$i-%g" 1 50 >"$T/c$i.in"
		spawn "C$i" --in "$T/c$i.in" conn-client --send-only --tls-psk --authkey-file "$k" "127.0.0.1:$PORT"
	done
	for i in 1 2 3 4; do expect_exit "C$i" 0 20; done
	expect_exit L 0 20
	assert_equal "$(wc -l <"$T/L.out")" 200
	for i in 1 2 3 4; do
		assert_equal "$(grep -c "^c$i-" "$T/L.out")" 50
	done
}

@test "-k --exec over TLS: each child's session is TLS too" {
	server_cert server
	listen L -k --max-accepts 1 "${SERVER[@]}" 127.0.0.1:0 --exec tr a-z A-Z
	printf 'shout\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client --tls --tls-ca "$PKI/ca.pem" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" $'SHOUT\n'
}

@test "--forward: TLS on the clients' side, plain to the target" {
	server_cert server
	listen S --echo 127.0.0.1:0
	local target=127.0.0.1:$PORT
	listen F "${SERVER[@]}" --forward "$target" 127.0.0.1:0
	printf 'via forward\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client --tls --tls-ca "$PKI/ca.pem" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit F 0
	assert_file "$T/C.out" $'via forward\n'
}

@test "--forward-tls-psk: TLS on both legs, each with its own mode" {
	local k
	k=$(key_file key "$KEY")
	server_cert server
	listen S --echo --tls-psk --authkey-file "$k" 127.0.0.1:0
	local target=127.0.0.1:$PORT
	listen F "${SERVER[@]}" --authkey-file "$k" --forward "$target" --forward-tls-psk 127.0.0.1:0
	printf 'both legs\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client --tls --tls-ca "$PKI/ca.pem" --authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit F 0
	assert_file "$T/C.out" $'both legs\n'
	run conn-listen --forward-tls-psk 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "--forward-tls-psk needs --forward"
}

@test "--forward-tls: a plain client, TLS to a certificate target verified by CA and address" {
	server_cert server
	listen S --echo "${SERVER[@]}" 127.0.0.1:0
	local target=127.0.0.1:$PORT
	listen F -v --forward "$target" --forward-tls --forward-tls-ca "$PKI/ca.pem" 127.0.0.1:0
	printf 'to a TLS target\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit F 0
	assert_file "$T/C.out" $'to a TLS target\n'
	assert_file_contains "$T/F.err" "TLS to TARGET: TLS1.3, "
	assert_file_contains "$T/F.err" "peer CN=server, pin sha256//"
}

@test "--forward-tls with mutual TLS, a name and a pin: each from its own option" {
	server_cert wrong-name
	listen S --echo "${SERVER[@]}" --tls-ca "$PKI/ca.pem" 127.0.0.1:0
	local target=127.0.0.1:$PORT
	listen F -v --forward "$target" --forward-tls --forward-tls-ca "$PKI/ca.pem" \
		--forward-tls-name elsewhere.example \
		--forward-tls-cert "$PKI/client.pem" --forward-tls-key "$PKI/client.key" 127.0.0.1:0
	printf 'client certificate\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit F 0
	assert_file "$T/C.out" $'client certificate\n'
	# the pin printed by -v is the one --forward-tls-pin takes
	local pin
	pin=$(sed -n 's/.*TLS to TARGET: .*, pin //p' "$T/F.err")
	[[ $pin == sha256//* ]] || fail "no pin in -v's line: $(cat "$T/F.err")"
	listen S --echo "${SERVER[@]}" 127.0.0.1:0
	target=127.0.0.1:$PORT
	listen F --forward "$target" --forward-tls-pin "$pin" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit F 0
	assert_file "$T/C.out" $'client certificate\n'
}

@test "--forward-tls: a plain client with a key, through stunnel4, to a Python Listener with the key" {
	command -v stunnel4 >/dev/null || command -v stunnel >/dev/null || skip "no stunnel4"
	local k
	k=$(key_file key "$KEY")
	stunnel_to_python
	listen F --authkey-file "$k" --forward "127.0.0.1:$STUNNEL_PORT" --forward-tls --forward-tls-ca "$PKI/ca.pem" 127.0.0.1:0
	printf 'through forward and stunnel\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client --authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit F 0
	assert_file "$T/C.out" $'through forward and stunnel\n'
}

# forward_refused WHAT [F's TLS options]: a -k forwarder to a target with
# the server certificate WHAT refuses it for each client, in one warning.
forward_refused() {
	local cert=$1
	shift
	server_cert "$cert"
	listen S -k --echo "${SERVER[@]}" 127.0.0.1:0
	local target=127.0.0.1:$PORT
	listen F -k --forward "$target" "$@" 127.0.0.1:0
	local fport=$PORT n
	for n in 1 2; do
		printf 'refused\n' >"$T/c.in"
		# closed: an end of stream or a reset, as the close races
		# with what the client sent
		run_to C$n --in "$T/c.in" conn-client "127.0.0.1:$fport"
		[[ $STATUS != 124 ]] || fail "client $n was not closed"
		[[ ! -s $T/C$n.out ]] || fail "client $n got an answer: $(cat "$T/C$n.out")"
	done
	wait_err F "^conn-listen: warning: .*--forward $target: " 5
	alive F || fail "the -k forwarder ended"
	n=$(grep -c "warning: .*--forward $target: " "$T/F.err" || true)
	[[ $n == 2 ]] || fail "$n warnings for 2 refused clients: $(cat "$T/F.err")"
}

@test "--forward-tls, unknown CA on the target leg: one warning a client, -k goes on" {
	forward_refused server --forward-tls --forward-tls-ca "$PKI/other-ca.pem"
	assert_file_contains "$T/F.err" "is not signed by a CA we trust: give --forward-tls-ca FILE, or pin its key with --forward-tls-pin sha256//"
}

@test "--forward-tls, name mismatch on the target leg: both names said" {
	forward_refused wrong-name --forward-tls --forward-tls-ca "$PKI/ca.pem"
	assert_file_contains "$T/F.err" "the peer's certificate is for elsewhere.example, not 127.0.0.1 (--forward-tls-name NAME sets the name expected)"
}

@test "--forward-tls-pin mismatch on the target leg: the pin seen said" {
	forward_refused server --forward-tls-pin sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	assert_file_contains "$T/F.err" "the peer's public key is not the pinned one: it is sha256//"
}

@test "--forward-tls-insecure warns, and the target leg works" {
	server_cert stranger
	listen S --echo "${SERVER[@]}" 127.0.0.1:0
	local target=127.0.0.1:$PORT
	listen F --forward "$target" --forward-tls --forward-tls-insecure 127.0.0.1:0
	printf 'insecure\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit F 0
	assert_file "$T/C.out" $'insecure\n'
	assert_file_contains "$T/F.err" "warning: --forward-tls-insecure: TARGET's certificate is not checked"
}

@test "--forward-tls usage errors name the --forward-tls options (2)" {
	run conn-listen --forward-tls-ca "$PKI/ca.pem" 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "--forward-tls-ca needs --forward"
	run conn-listen --forward 127.0.0.1:1 --forward-tls-psk --forward-tls-ca "$PKI/ca.pem" --authkey k 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "cannot use --forward-tls-psk with --forward-tls-ca"
	run conn-listen --forward 127.0.0.1:1 --forward-tls-cert "$PKI/client.pem" 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "--forward-tls-cert needs --forward-tls-key"
	run conn-listen --forward 127.0.0.1:1 --forward-tls-insecure --forward-tls-pin sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "cannot use --forward-tls-insecure with --forward-tls-pin"
	run conn-listen --forward 127.0.0.1:1 --forward-tls-min 1.1 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "invalid --forward-tls-min '1.1' (1.2, 1.3)"
	run conn-listen --forward 127.0.0.1:1 --forward-tls-ca /nonexistent 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "no CA certificate in /nonexistent"
	run conn-listen --forward /tmp/no-host.sock --forward-tls --forward-tls-ca "$PKI/ca.pem" 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "no host name in TARGET to check the certificate with: give --forward-tls-name NAME"
}

# ----------------------------------------------------------- failures

@test "unknown CA: exit 7 and the pin to use" {
	server_cert stranger
	session "${SERVER[@]}" -- --tls --tls-ca "$PKI/ca.pem"
	assert_failed C 7 "is not signed by a CA we trust: give --tls-ca FILE, or pin its key with --tls-pin sha256//"
	assert_failed L 7 "the peer refused our certificate"
}

@test "the system's CAs do not know a private CA" {
	server_cert server
	session "${SERVER[@]}" -- --tls
	assert_failed C 7 "is not signed by a CA we trust"
}

@test "name mismatch: both names said" {
	server_cert wrong-name
	session "${SERVER[@]}" -- --tls --tls-ca "$PKI/ca.pem"
	assert_failed C 7 "the peer's certificate is for elsewhere.example, not 127.0.0.1"
}

@test "--tls-name sets the name checked" {
	server_cert wrong-name
	session "${SERVER[@]}" -- --tls --tls-ca "$PKI/ca.pem" --tls-name elsewhere.example
	assert_passed
}

@test "expired certificate: the date said" {
	server_cert expired
	session "${SERVER[@]}" -- --tls --tls-ca "$PKI/ca.pem"
	assert_failed C 7 "the peer's certificate (CN=expired) expired on 2020-02-01 00:00:00 UTC"
}

@test "pin mismatch: the pin seen said" {
	server_cert server
	session "${SERVER[@]}" -- --tls-pin sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	assert_failed C 7 "the peer's public key is not the pinned one: it is sha256//"
}

@test "wrong PSK: 'wrong key (TLS PSK)' on both sides" {
	local k1 k2
	k1=$(key_file k1 "$KEY")
	k2=$(key_file k2 'another key')
	session --tls-psk --authkey-file "$k1" -- --tls-psk --authkey-file "$k2"
	assert_failed C 7 "wrong key (TLS PSK)"
	assert_failed L 7 "wrong key (TLS PSK)"
}

@test "TLS client to a plain listener: 'drop --tls?', and the listener says TLS" {
	local k
	k=$(key_file key "$KEY")
	session --authkey-file "$k" -- --tls --tls-ca "$PKI/ca.pem" --authkey-file "$k"
	assert_failed C 7 "the peer sent a multiprocessing frame, not TLS: drop --tls?"
	assert_failed L 7 "the peer started a TLS handshake: use --tls"
}

@test "plain client to a TLS listener: the listener sees a frame, not TLS" {
	server_cert server
	session "${SERVER[@]}" --
	assert_failed L 7 "the peer sent a multiprocessing frame, not TLS: is the client without --tls?"
}

@test "mutual TLS without a client certificate" {
	server_cert server
	session "${SERVER[@]}" --tls-ca "$PKI/ca.pem" -- --tls-ca "$PKI/ca.pem"
	assert_failed L 7 "the peer sent no certificate"
	assert_failed C 7 "the peer asks for our certificate"
}

@test "a TLS handshake that stalls hits --handshake-timeout (6)" {
	listen L --idle 127.0.0.1:0
	run_to C conn-client --tls --tls-ca "$PKI/ca.pem" --handshake-timeout 1 "127.0.0.1:$PORT"
	assert_failed C 6 "timeout: no TLS handshake from the peer within 1 s: does it use TLS?"
}

@test "a silent TLS client hits the listener's --handshake-timeout, also with -k" {
	server_cert server
	listen L "${SERVER[@]}" --handshake-timeout 1 127.0.0.1:0
	spawn C --idle bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; sleep 5"
	assert_failed L 6 "no TLS handshake from the peer within 1 s"
	listen K -k --max-accepts 1 "${SERVER[@]}" --handshake-timeout 1 127.0.0.1:0
	spawn C2 --idle bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; sleep 5"
	expect_exit K 0 10
	assert_file_contains "$T/K.err" "TLS handshake not finished within 1 s"
}

@test "usage errors: conflicts and bad values (2)" {
	run conn-client --tls-psk --tls-cert x --tls-key y --authkey k 127.0.0.1:1
	assert_equal "$status" 2
	assert_output --partial "cannot use --tls-psk with --tls-cert"
	run conn-client --tls-pin sha256//short 127.0.0.1:1
	assert_equal "$status" 2
	assert_output --partial "invalid --tls-pin"
	run conn-client --tls-min 1.1 127.0.0.1:1
	assert_equal "$status" 2
	assert_output --partial "invalid --tls-min '1.1' (1.2, 1.3)"
	run conn-listen --tls 127.0.0.1:0
	assert_equal "$status" 2
	assert_output --partial "conn-listen --tls needs --tls-cert FILE and --tls-key FILE"
	run env -u CONN_AUTHKEY conn-client --tls-psk 127.0.0.1:1
	assert_equal "$status" 2
	assert_output --partial "--tls-psk needs a key"
	run conn-client --tls-ca /nonexistent 127.0.0.1:1
	assert_equal "$status" 2
	assert_output --partial "no CA certificate in /nonexistent"
	run conn-client --tls-psk --tls-min 1.2 --authkey k 127.0.0.1:1
	assert_equal "$status" 2
	assert_output --partial "--tls-psk is TLS 1.3 only"
}

@test "--tls-insecure warns" {
	server_cert server
	session "${SERVER[@]}" -- --tls --tls-insecure
	assert_passed
	assert_file_contains "$T/C.err" "warning: --tls-insecure: the peer's certificate is not checked"
}

# ------------------------------------------------------------- interop

@test "interop: conn-client --tls -> stunnel4 -> a Python Listener with a key" {
	command -v stunnel4 >/dev/null || command -v stunnel >/dev/null || skip "no stunnel4"
	stunnel_to_python
	printf 'through stunnel\n' >"$T/c.in"
	run_to C --in "$T/c.in" env CONN_AUTHKEY="$KEY" conn-client --tls --tls-ca "$PKI/ca.pem" "127.0.0.1:$STUNNEL_PORT"
	expect_exit C 0
	assert_file "$T/C.out" $'through stunnel\n'
}

@test "interop: Python's ssl module with framing by hand, both roles" {
	"$PYTHON" -c 'import ssl' 2>/dev/null || skip "no ssl module in $PYTHON"
	peer P tls_peer listen "$PKI/server.pem" "$PKI/server.key"
	printf 'from conn\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client --tls --tls-ca "$PKI/ca.pem" "localhost:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/C.out" $'py:from conn\n'
	server_cert server
	printf 'from conn-listen\n' >"$T/l.in"
	listen L --in "$T/l.in" "${SERVER[@]}" 127.0.0.1:0
	run_to Q "$PYTHON" "$CONN_PEERS/tls_peer.py" client "127.0.0.1:$PORT" "$PKI/ca.pem"
	expect_exit Q 0
	expect_exit L 0
	assert_file "$T/Q.out" $'from conn-listen\n'
	assert_file "$T/L.out" $'from python\n'
}

@test "interop: openssl s_server as the raw TLS side" {
	command -v openssl >/dev/null || skip "no openssl"
	spawn S --idle openssl s_server -naccept 1 -cert "$PKI/server.pem" \
		-key "$PKI/server.key" -accept 127.0.0.1:0
	local i port=
	for i in $(seq 50); do
		port=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)$/\1/p' "$T/S.out")
		[[ -n $port ]] && break
		sleep 0.1
	done
	[[ -n $port ]] || fail "no ACCEPT line from openssl s_server"
	printf 'hi\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client --send-only --tls --tls-ca "$PKI/ca.pem" "127.0.0.1:$port"
	expect_exit C 0
	# s_server prints what it received: the frame, a 4-byte length and "hi".
	for i in $(seq 50); do
		xxd -p "$T/S.out" | tr -d '\n' | grep -q 000000026869 && return 0
		sleep 0.1
	done
	fail "s_server did not print the frame: $(xxd "$T/S.out" | tail -5)"
}

@test "interop: openssl s_client reads a frame from conn-listen --tls" {
	command -v openssl >/dev/null || skip "no openssl"
	server_cert server
	printf 'to s_client\n' >"$T/l.in"
	listen L --in "$T/l.in" "${SERVER[@]}" --send-only 127.0.0.1:0
	run_to O --in /dev/null openssl s_client -quiet -CAfile "$PKI/ca.pem" \
		-verify_return_error -connect "127.0.0.1:$PORT"
	expect_exit L 0
	assert_equal "$(xxd -p "$T/O.out")" "0000000b746f20735f636c69656e74"
}

@test "interop: openssl s_client with the documented KDF's PSK gets the #CHALLENGE#" {
	command -v openssl >/dev/null || skip "no openssl"
	local k psk
	k=$(key_file key secret)
	# HMAC-SHA256(key=authkey, "conn-tools tls-psk v1"), conn-protocol(7)
	psk=$("$PYTHON" -c 'import hmac, hashlib
print(hmac.new(b"secret", b"conn-tools tls-psk v1", hashlib.sha256).hexdigest())')
	# s_client -quiet stays until the peer closes: at the timeout.
	listen L --tls-psk --authkey-file "$k" --handshake-timeout 1 127.0.0.1:0
	run_to O --in /dev/null openssl s_client -quiet -tls1_3 -psk "$psk" \
		-psk_identity conn-tools -connect "127.0.0.1:$PORT"
	expect_exit L 6
	[[ $(head -c 15 "$T/O.out" | tail -c 11) == '#CHALLENGE#' ]] ||
		fail "no #CHALLENGE# through openssl: $(xxd "$T/O.out" | head -3)"
}

@test "SSLKEYLOGFILE: the session's secrets for Wireshark, only when set" {
	local k
	k=$(key_file key "$KEY")
	printf 'logged\n' >"$T/c.in"
	listen L --tls-psk --authkey-file "$k" 127.0.0.1:0
	run_to C --in "$T/c.in" env SSLKEYLOGFILE="$T/keylog" conn-client \
		--tls-psk --authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	grep -q '^CLIENT_TRAFFIC_SECRET_0 ' "$T/keylog" ||
		fail "no traffic secret in the key log: $(head -c 300 "$T/keylog")"
	assert [ ! -e "$T/L.keylog" ]
}
