#!/usr/bin/env bats
# conn-client --probe (#18): what a peer speaks, with no message sent:
# every CPython's keyed and keyless Listener, conn-listen itself, and
# servers that do not speak the protocol.

load helpers
# The interpreters, found as the CPython matrix finds them.
source "$BATS_TEST_DIRNAME/../cpython/cpython.bash"

PKEY='probe key'

# err_is NAME LINE: NAME's stderr is LINE alone, taken literally.
err_is() {
	assert_file "$T/$1.err" "$2
"
}

# A field of the JSON report in $T/NAME.out: json_field NAME EXPR
# (a Python expression over the object j).
json_field() {
	"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2])))' "$T/$1.out" "$2"
}

# The whole probe of python NAME: its keyed Listener without our key,
# with it (--probe-all), with a wrong one, then its keyless Listener.
probe_cpython() {
	cpython_need "$1"
	local style=modern digest=sha256 accepts
	if [[ $CPY_VERSION == 2.* || $CPY_VERSION == 3.[0-9].* ||
		$CPY_VERSION == 3.1[01].* ]]; then
		style=legacy digest=md5
	fi
	spawn P "$CPY" -E -S "$CONN_PEERS/probe_peer.py" listener "$PKEY"
	wait_listening P

	run_to C conn-client --probe "$ADDR"
	expect_exit C 0
	assert_file "$T/C.out" "address: $ADDR
protocol: multiprocessing.connection
authentication: required ($style challenge, $digest)
key: not given
257-byte handshake frame: $(if [[ $CPY_VERSION == 2.* ]]; then
		echo 'refused (no answer, the connection left open)'
	else echo 'refused (closed the connection)'; fi)
connect: $(sed -n 's/^connect: //p' "$T/C.out")
challenge: $(sed -n 's/^challenge: //p' "$T/C.out")
"
	grep -q '^challenge: [0-9.]* ms$' "$T/C.out"

	CONN_AUTHKEY=$PKEY run_to K conn-client --probe --probe-all --json "$ADDR"
	expect_exit K 0
	[[ $(json_field K '[j["protocol"], j["authentication"], j["style"],
		j["digest"], j["key"], j["refuses_257"]]') == \
		"[true, \"required\", \"$style\", \"$digest\", true, true]" ]]
	[[ $(json_field K 'j["handshake_ms"] >= j["challenge_ms"] >= 0') == true ]]
	if [[ $style == legacy ]]; then
		accepts='{"md5-legacy": true, "md5": false, "sha256": false, "sha384": false, "sha3_256": false, "sha3_384": false}'
	else
		accepts='{"md5-legacy": true, "md5": true, "sha256": true, "sha384": true, "sha3_256": true, "sha3_384": true}'
	fi
	[[ $(json_field K 'j["accepts"]') == "$accepts" ]]

	CONN_AUTHKEY=wrong run_to W conn-client --probe "$ADDR"
	expect_exit W 4
	grep -qx 'key: refused: the peer rejected our key (#FAILURE#)' "$T/W.out"
	err_is W "conn-client: authentication failed: the peer speaks the protocol, but our key is refused: the peer rejected our key (#FAILURE#)"
	# The Listener saw each probe's connection fail, and served on.
	alive P
	grep -q 'accept: .*bad message length' "$T/P.err"

	spawn Q "$CPY" -E -S "$CONN_PEERS/probe_peer.py" listener
	wait_listening Q
	run_to N conn-client --probe --probe-wait 0.3 "$ADDR"
	expect_exit N 0
	assert_file "$T/N.out" "address: $ADDR
protocol: multiprocessing.connection
authentication: none (silent for 0.3 s, as a keyless Listener waits for the first message)
"
}

@test "probe: python2.7's Listener, keyed (legacy) and keyless" { probe_cpython 2.7; }
@test "probe: python3.6's Listener, keyed (legacy) and keyless" { probe_cpython 3.6; }
@test "probe: python3.7's Listener, keyed (legacy) and keyless" { probe_cpython 3.7; }
@test "probe: python3.8's Listener, keyed (legacy) and keyless" { probe_cpython 3.8; }
@test "probe: python3.9's Listener, keyed (legacy) and keyless" { probe_cpython 3.9; }
@test "probe: python3.10's Listener, keyed (legacy) and keyless" { probe_cpython 3.10; }
@test "probe: python3.11's Listener, keyed (legacy) and keyless" { probe_cpython 3.11; }
@test "probe: python3.12's Listener, keyed (modern) and keyless" { probe_cpython 3.12; }
@test "probe: python3.13's Listener, keyed (modern) and keyless" { probe_cpython 3.13; }
@test "probe: python3.14's Listener, keyed (modern) and keyless" { probe_cpython 3.14; }

@test "probe: conn-listen keyed, its --digest and --no-md5, and keyless" {
	listen L -k --digest sha3_384 --no-md5 --authkey-file "$(key_file k "$PKEY")" 127.0.0.1:0
	CONN_AUTHKEY=$PKEY run_to C conn-client --probe --probe-all "$ADDR"
	expect_exit C 0
	grep -qx 'authentication: required (modern challenge, sha3_384)' "$T/C.out"
	grep -qx 'key: accepted (mutual handshake done; we answered with sha3_384, it with sha256)' "$T/C.out"
	grep -qx 'accepts: sha256 sha384 sha3_256 sha3_384' "$T/C.out"
	grep -qx 'refuses: md5-legacy md5' "$T/C.out"
	grep -qx '257-byte handshake frame: refused (closed the connection)' "$T/C.out"
	grep -q '^handshake: [0-9.]* ms$' "$T/C.out"

	listen M --idle 127.0.0.1:0
	run_to N conn-client --probe --probe-wait 0.2 --json "$ADDR"
	expect_exit N 0
	[[ $(json_field N '[j["protocol"], j["first"], j["authentication"], j["key"]]') == \
		'[true, "silent", "none", null]' ]]
}

@test "probe: a keyless conn-listen that speaks first" {
	listen L --idle --data hello 127.0.0.1:0
	run_to C conn-client --probe "$ADDR"
	expect_exit C 0
	grep -qx 'authentication: none (it sent a message of 5 bytes first)' "$T/C.out"
}

@test "probe: an HTTP server is not the protocol (exit 5, naming what it sent)" {
	spawn H "$PYTHON" "$CONN_PEERS/probe_peer.py" http
	wait_listening H
	run_to C conn-client --probe "$ADDR"
	expect_exit C 5
	assert_file "$T/C.out" "address: $ADDR
protocol: no: it sent \"HTTP/1.1 200 OK\" (http)
"
	err_is C 'conn-client: not the protocol: it sent "HTTP/1.1 200 OK" (http)'
	run_to J conn-client --probe --json "$ADDR"
	expect_exit J 5
	[[ $(json_field J '[j["protocol"], j["first"], j["sent"]]') == \
		'[false, "http", "\"HTTP/1.1 200 OK\""]' ]]
}

@test "probe: a peer that stops inside its first frame times out (exit 6)" {
	spawn S "$PYTHON" "$CONN_PEERS/probe_peer.py" stall
	wait_listening S
	run_to C conn-client --probe --probe-wait 0.3 "$ADDR"
	expect_exit C 6
	assert_err_only C 'conn-client: timeout: the peer sent 3 bytes of something, then nothing for 0.3 s'
}

@test "probe: nobody listening is a connection error (exit 3)" {
	run_to C conn-client --probe "127.0.0.1:$(free_port)"
	expect_exit C 3
	[[ ! -s $T/C.out ]]
}

@test "probe: usage errors" {
	run_to A conn-client --probe --probe-all 127.0.0.1:1
	expect_exit A 2
	assert_usage_error A "^conn-client: --probe-all needs a key \\(--authkey-file, --authkey or CONN_AUTHKEY\\): without it every reply is refused alike$"
	for opt in --json --probe-all '--probe-wait=1'; do
		run_to B conn-client "$opt" 127.0.0.1:1
		expect_exit B 2
		assert_usage_error B "${opt%%=*} needs --probe"
	done
	run_to D conn-client --probe --data x 127.0.0.1:1
	expect_exit D 2
	assert_usage_error D "cannot use --probe with --data"
	run_to E conn-client --probe --probe-wait 0 127.0.0.1:1
	expect_exit E 2
	run_to F conn-client --probe --tls-psk --authkey k 127.0.0.1:1
	expect_exit F 2
	assert_usage_error F "cannot use --probe with --tls-psk"
}
