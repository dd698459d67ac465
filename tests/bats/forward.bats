#!/usr/bin/env bats
# conn-listen --forward TARGET: Python Client -> conn-listen --forward ->
# Python Listener (or manager), with real CPythons on both ends: messages
# both ways, the keys of each leg, --trace, and the faults of either side.

load helpers

KEY='forward key'

kf() { key_file key "$KEY"; }

# fwd NAME TARGET ARGS...: conn-listen --forward TARGET ARGS... on
# 127.0.0.1:0, announced (ADDR, PORT).
fwd() {
	local name=$1 target=$2
	shift 2
	listen "$name" --forward "$target" "$@" 127.0.0.1:0
}

# traced NAME DIR: the messages of NAME's --trace hex records going DIR.
traced() {
	awk -v d="$2" '$3 == d && !/listening on/ { print $6 }' "$T/$1.err"
}

# bytes_through PY_CLIENT PY_LISTENER: a Python Client of one interpreter
# through conn-listen --forward to a Listener of another, both keyed:
# each side gets what the other sent, and the trace shows both ways.
bytes_through() {
	PYTHON=$2 peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" \
		--send from-listener --send-hex 000aff --recv-all --hex-out
	fwd F "$ADDR" --authkey-file "$(kf)" --trace hex
	PYTHON=$1 peer C mp_peer client "$ADDR" --authkey "$KEY" \
		--send from-client --send-hex '' --send-size 300000 --recv 2 --hex-out
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C.out" $'66726f6d2d6c697374656e6572\n000aff\n'
	"$PYTHON" "$CONN_PEERS/mp_peer.py" pattern 300000 | xxd -p | tr -d '\n' >"$T/big"
	printf '66726f6d2d636c69656e74\n\n%s\n' "$(cat "$T/big")" >"$T/want"
	cmp -s "$T/P.out" "$T/want" || fail "$1 -> $2: the listener got $(head -c 200 "$T/P.out")"
	cmp -s <(traced F 'c>s') "$T/P.out" || fail "$1 -> $2: c>s trace: $(traced F 'c>s' | head -c 200)"
	cmp -s <(traced F 's>c') "$T/C.out" || fail "$1 -> $2: s>c trace: $(traced F 's>c')"
}

@test "forward: Python Client -> --forward -> Python Listener, keyed, legacy and modern: bytes, the trace is what each sent" {
	local pys=() a b n=0
	mapfile -t pys < <(pythons)
	((${#pys[@]} > 0)) || pys=("$PYTHON")
	for a in "${pys[@]}"; do
		bytes_through "$a" "$a"
		n=$((n + 1))
	done
	# a legacy client in front of a modern listener, and the other way
	if ((${#pys[@]} > 1)); then
		bytes_through "${pys[0]}" "${pys[-1]}"
		bytes_through "${pys[-1]}" "${pys[0]}"
	fi
	((n > 0))
}

@test "forward: objects both ways; --trace repr shows what each side's repr() shows, --trace json is JSON lines" {
	local py
	for py in $(pythons | sed -n '1p;$p' | sort -u) ; do
		PYTHON=$py peer P obj_peer listen 127.0.0.1:0 --authkey "$KEY" \
			--send "('ok', 1.5, None)" --send "{'n': [1, 2]}" --recv-all
		fwd F "$ADDR" --authkey-file "$(kf)" --trace repr
		PYTHON=$py peer C obj_peer client "$ADDR" --authkey "$KEY" \
			--send "[1, 'two', None]" --send "{'a': (True, b'x')}" --recv 2
		expect_exit C 0
		expect_exit P 0
		expect_exit F 0
		assert_file "$T/C.out" $'(\'ok\', 1.5, None)\n{\'n\': [1, 2]}\n'
		assert_file "$T/P.out" $'[1, \'two\', None]\n{\'a\': (True, b\'x\')}\n'
		cmp -s <(grep ' c>s ' "$T/F.err" | cut -d' ' -f6-) "$T/P.out" ||
			fail "$py: c>s: $(cat "$T/F.err")"
		cmp -s <(grep ' s>c ' "$T/F.err" | cut -d' ' -f6-) "$T/C.out" ||
			fail "$py: s>c: $(cat "$T/F.err")"
	done

	peer P obj_peer listen 127.0.0.1:0 --send "[1, 'two', None]" --recv-all
	fwd F "$ADDR" --trace json --trace-file "$T/trace.json"
	peer C obj_peer client "$ADDR" --send "{'a': 1.5}" --send "'end'" --recv 1
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	"$PYTHON" - "$T/trace.json" <<'EOF' || fail "$(cat "$T/trace.json")"
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
assert [r['dir'] for r in recs if r['dir'] == 'c>s'] == ['c>s', 'c>s'], recs
assert [r['message'] for r in recs if r['dir'] == 'c>s'] == [{'a': 1.5}, 'end'], recs
assert [r['message'] for r in recs if r['dir'] == 's>c'] == [[1, 'two', None]], recs
for r in recs:
    assert sorted(r) == ['conn', 'dir', 'message', 'peer', 'size', 't'], r
    assert r['conn'] == 1 and r['peer'].startswith('127.0.0.1:'), r
    assert isinstance(r['t'], float) and 0 <= r['t'] < 30 and r['size'] > 0, r
EOF
}

@test "forward: one keyless leg: auth added in front of a keyless Listener, or ended at the proxy" {
	# the client authenticates with us; the Listener has no key
	peer P mp_peer listen 127.0.0.1:0 --send plain --recv-all
	fwd F "$ADDR" --authkey-file "$(kf)" --forward-no-authkey
	peer C mp_peer client "$ADDR" --authkey "$KEY" --send keyed --recv 1
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C.out" $'plain\n'
	assert_file "$T/P.out" $'keyed\n'

	# a keyless client; the Listener wants a key of its own
	key_file key2 'the other key' >/dev/null
	peer P mp_peer listen 127.0.0.1:0 --authkey 'the other key' --send keyed --recv-all
	fwd F "$ADDR" --forward-authkey-file "$T/key2" --forward-digest sha384
	peer C mp_peer client "$ADDR" --send plain --recv 1
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C.out" $'keyed\n'
	assert_file "$T/P.out" $'plain\n'

	# a modern Listener, a digest of ours and no MD5 on the forward leg
	local modern
	modern=$(pythons | tail -1)
	[[ -n $modern && $modern != *3.11* ]] || return 0
	PYTHON=$modern peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --send m --recv-all
	fwd F "$ADDR" --authkey-file "$(kf)" --forward-digest sha3_256 --forward-no-md5 -v
	peer C mp_peer client "$ADDR" --authkey "$KEY" --send l --recv 1
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C.out" $'m\n'
	assert_err F 'we asked for sha3_256, the peer answered with sha3_256'
}

# A manager of a registered dict, announcing its address.
manager_script() {
	cat >"$T/mgr.py" <<'EOF'
import sys
from multiprocessing.managers import BaseManager

class DictManager(BaseManager):
    pass

shared = {}
DictManager.register('get_dict', callable=lambda: shared)

if sys.argv[1] == 'serve':
    m = DictManager(address=('127.0.0.1', 0), authkey=b'forward key')
    server = m.get_server()
    sys.stderr.write('mgr: listening on 127.0.0.1:%d\n' % server.address[1])
    sys.stderr.flush()
    server.serve_forever()
else:
    host, port = sys.argv[2].rsplit(':', 1)
    m = DictManager(address=(host, int(port)), authkey=b'forward key')
    m.connect()
    d = m.get_dict()
    d.update(a=1)
    d.update(b=[2, 3])
    print(sorted(d.items()))
EOF
}

@test "forward: a Python manager behind the proxy, called from a Python proxy object, every call traced" {
	manager_script
	local py
	for py in $(pythons | sed -n '1p;$p' | sort -u); do
		spawn M "$py" "$T/mgr.py" serve
		wait_listening M
		fwd F "$ADDR" -k --authkey-file "$(kf)" --trace json
		run_to C "$py" "$T/mgr.py" call "$ADDR"
		expect_exit C 0
		assert_file "$T/C.out" $'[(\'a\', 1), (\'b\', [2, 3])]\n'
		wait_err F '"dir":"s>c".*"message":\{"__tuple__": \["#RETURN", \[\{"__tuple__": \["a", 1\]\}'
		grep -q '"dir":"c>s".*"update", {"__tuple__": \[\]}, {"b": \[2, 3\]}' "$T/F.err" ||
			fail "$py: no update call in the trace: $(cat "$T/F.err")"
		# every record is JSON, the connections numbered from 1
		grep -v 'listening on' "$T/F.err" | "$PYTHON" -c 'import json, sys
ids = set(json.loads(line)["conn"] for line in sys.stdin)
assert min(ids) == 1 and len(ids) > 2, ids' || fail "$py: $(cat "$T/F.err")"
		kill -TERM "$(inner_pid F)" "$(inner_pid M)"
		expect_exit F 0
	done
}

@test "forward: TARGET down: the client's connection closes, one warning; with -k the listener goes on" {
	local port
	port=$(free_port)
	fwd F "127.0.0.1:$port" -k --max-accepts 2 --authkey-file "$(kf)"
	local f=$ADDR
	peer C mp_peer client "$f" --authkey "$KEY" --send x --recv 1
	expect_exit C 3
	wait_err F "warning: 127\.0\.0\.1:[0-9]+: cannot connect to 127\.0\.0\.1:$port: Connection refused"
	# the next client is served once TARGET is up
	peer P mp_peer listen "127.0.0.1:$port" --authkey "$KEY" --send up --recv-all
	peer C2 mp_peer client "$f" --authkey "$KEY" --send y --recv 1
	expect_exit C2 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C2.out" $'up\n'
	assert_file "$T/P.out" $'y\n'
	assert_err_only F 'cannot connect to'

	# without -k, the error is the listener's own, with its status
	fwd G "127.0.0.1:$port"
	peer C3 mp_peer client "$ADDR" --send x --recv 1
	expect_exit C3 3
	expect_exit G 3
	assert_err_only G "^conn-listen: cannot connect to 127\.0\.0\.1:$port: Connection refused$"
}

@test "forward: TARGET refusing our key, or asking for one we do not have: closed, one warning" {
	peer P mp_peer listen 127.0.0.1:0 --authkey 'not ours' --recv-all
	fwd F "$ADDR" --authkey-file "$(kf)"
	peer C mp_peer client "$ADDR" --authkey "$KEY" --send x --recv 1
	expect_exit C 3
	expect_exit F 4
	expect_exit P 4
	assert_err_only F '^conn-listen: authentication failed: --forward 127\.0\.0\.1:[0-9]+: the peer rejected our key \(#FAILURE#\)$'

	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --recv-all
	fwd F "$ADDR" -k --max-accepts 1 --authkey-file "$(kf)" --forward-no-authkey
	peer C mp_peer client "$ADDR" --authkey "$KEY" --send x --recv 1
	expect_exit C 3
	expect_exit F 0
	assert_err_only F 'warning: 127\.0\.0\.1:[0-9]+: authentication failed: --forward 127\.0\.0\.1:[0-9]+ asks for a key \(#CHALLENGE#\) but the forward leg has none'
}

@test "forward: a client dying inside a message: the Listener gets the whole ones before it, then EOF" {
	peer P mp_peer listen 127.0.0.1:0 --recv-all --hex-out
	fwd F "$ADDR" --trace hex
	# "hi", then the header of 100 bytes and 4 of them, and gone
	run_to C "$PYTHON" "$CONN_PEERS/raw_peer.py" client "$ADDR" \
		--write-hex '00000002 6869 00000064 00112233'
	expect_exit P 0
	expect_exit F 5
	assert_file "$T/P.out" $'6869\n'
	assert_err F '^conn-listen: c>s: 127\.0\.0\.1:[0-9]+ closed inside a message: not forwarded$'
	[[ $(grep -c ' c>s ' "$T/F.err") == 1 ]] || fail "$(cat "$T/F.err")"
}

@test "forward: TARGET dying inside a message: the client gets the whole ones before it, then EOF" {
	peer P raw_peer listen 127.0.0.1:0 --write-hex '00000003 616263 00000064 0011'
	fwd F "$ADDR"
	peer C mp_peer client "$ADDR" --recv-all --hex-out
	expect_exit C 0
	expect_exit P 0
	expect_exit F 5
	assert_file "$T/C.out" $'616263\n'
	assert_err F 's>c: 127\.0\.0\.1:[0-9]+ closed inside a message: not forwarded'
}

# slow_reader WANT FWD_ARGS -- SENDS...: a Listener that takes nothing for
# 3 s, then everything, frames and all; a client sending SENDS (mp_peer
# options) through conn-listen --forward FWD_ARGS (maybe none): the
# proxy's peak RSS stays under 20 MB, and the Listener gets the frames of
# WANT (a Python list of messages, with mp_peer's pattern()).
slow_reader() {
	local want=$1 fwd_args=() pid rss
	shift
	while [[ $1 != -- ]]; do
		fwd_args+=("$1")
		shift
	done
	shift
	peer P raw_peer listen 127.0.0.1:0 --hold 3 --read-all
	fwd F "$ADDR" "${fwd_args[@]}"
	pid=$(inner_pid F)
	peer C mp_peer client "$ADDR" "$@"
	sleep 1.5
	rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	# a sanitizer's shadow memory counts in RSS
	sanitized || ((rss < 20000)) || fail "the proxy's peak RSS is ${rss} kB"
	"$PYTHON" - "$T/P.out" "$want" <<'EOF' || fail "the Listener got $(stat -c %s "$T/P.out") bytes"
import os, struct, sys
sys.path.insert(0, os.environ['CONN_PEERS'])
from mp_peer import pattern
want = b''.join(struct.pack('!i', len(m)) + m for m in eval(sys.argv[2]))
assert open(sys.argv[1], 'rb').read() == want
EOF
}

@test "forward: a message over 1 MiB streams through in constant memory, with back-pressure from a Listener that does not read" {
	skip_under_valgrind "40 MB through the proxy"
	slow_reader "[pattern(40000000), b'tail']" --trace quoted -- \
		--send-size 40000000 --send tail
	assert_err F " c>s [0-9.]+ 40000000 \\(streamed, not shown\\)$"
	assert_err F " c>s [0-9.]+ 4 b'tail'$"
}

@test "forward: --pickle-policy judges both ways: what it denies is dropped with a warning naming the direction" {
	printf 'allow builtins.*\n' >"$T/policy"
	local evil=80049525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e656494859452942e
	local ok=80044b012e
	peer P mp_peer listen 127.0.0.1:0 --send-hex "$evil" --send-hex "$ok" --recv-all --hex-out
	fwd F "$ADDR" --pickle-policy "$T/policy"
	peer C mp_peer client "$ADDR" --send-hex "$ok" --send-hex "$evil" --send-hex "$ok" --recv 1 --hex-out
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C.out" "$ok"$'\n'
	assert_file "$T/P.out" "$ok"$'\n'"$ok"$'\n'
	assert_err F '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: c>s message 2 dropped: imports posix\.system'
	assert_err F '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: s>c message 1 dropped: imports posix\.system'
}

@test "forward: stdin and stdout have no part: their options are usage errors, and the --trace options need --forward" {
	local a
	for a in "--out json" "--format hex" "--data x" "--echo" "--tag -k" "--count 1" "--exec cat"; do
		# shellcheck disable=SC2086
		run_to U conn-listen --forward 127.0.0.1:1 127.0.0.1:0 $a
		expect_exit U 2
		assert_usage_error U "^conn-listen: cannot use --forward with ${a%% *}$"
	done
	run_to U conn-listen --trace json 127.0.0.1:0
	expect_exit U 2
	assert_usage_error U '^conn-listen: --trace needs --forward$'
	run_to U conn-listen --forward-no-authkey 127.0.0.1:0
	expect_exit U 2
	assert_usage_error U '^conn-listen: --forward-no-authkey needs --forward$'
	run_to U conn-listen --forward 127.0.0.1:1 --trace frames 127.0.0.1:0
	expect_exit U 2
	assert_usage_error U "^conn-listen: unknown --trace format 'frames' \(repr, json, hex, quoted, pickle-dis, audit\)$"
	run_to U conn-listen --forward 'no port' 127.0.0.1:0
	expect_exit U 2
	assert_usage_error U "^conn-listen: --forward: invalid address 'no port'"
	run_to U conn-listen --forward 127.0.0.1:1 --trace-file "$T/t" 127.0.0.1:0
	expect_exit U 2
	assert_usage_error U '^conn-listen: --trace-file needs --trace$'
}

@test "forward: any address: to a Unix socket and from an abstract one; --trace quoted, pickle-dis, audit and json of bytes" {
	peer P mp_peer listen "$T/py.sock" --send-hex 80044b012e --recv-all
	local name="conn-tools-forward-$$-$RANDOM"
	spawn F conn-listen --forward "$T/py.sock" --trace pickle-dis "@$name"
	wait_listening F
	peer C mp_peer client "@$name" --send 'a b' --recv 1 --hex-out
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C.out" $'80044b012e\n'
	assert_file "$T/P.out" $'a b\n'
	# pickle-dis: the record's head, then the listing on the lines after
	grep -A3 -E "^1 @$name s>c [0-9.]+ 5$" "$T/F.err" >"$T/dis" ||
		fail "$(cat "$T/F.err")"
	grep -q 'BININT1' "$T/dis" || fail "$(cat "$T/dis")"
	# what is no pickle shows in hex, as with --keep-going
	grep -A1 -E "^1 @$name c>s [0-9.]+ 3$" "$T/F.err" | grep -qx 612062 ||
		fail "$(cat "$T/F.err")"

	local fmt want
	for fmt in quoted audit json; do
		peer P mp_peer listen 127.0.0.1:0 --send-hex 80044b012e --recv-all
		fwd F "$ADDR" --trace "$fmt"
		peer C mp_peer client "$ADDR" --send 'a b' --recv 1
		expect_exit C 0
		expect_exit P 0
		expect_exit F 0
		case $fmt in
		quoted) want=" c>s [0-9.]+ 3 b'a b'$" ;;
		audit) want=' s>c [0-9.]+ 5 likely safe: ' ;;
		json) want='"dir":"c>s","t":[0-9.]+,"size":3,"message":\{"__hex__": "612062"\}\}$' ;;
		esac
		assert_err F "$want"
	done
}

@test "forward: with -k a TARGET that stalls one connection's handshake holds up no other; --handshake-timeout ends it" {
	# TARGET: the first connection is never challenged, the second is
	# served (a keyed handshake, then one message echoed)
	cat >"$T/target.py" <<'PYEOF'
import socket, sys
from multiprocessing import connection as mpc
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(4)
sys.stderr.write('target: listening on 127.0.0.1:%d\n' % s.getsockname()[1])
sys.stderr.flush()
stalled, _ = s.accept()
served, _ = s.accept()
conn = mpc.Connection(served.detach())
mpc.deliver_challenge(conn, b'forward key')
mpc.answer_challenge(conn, b'forward key')
conn.send_bytes(conn.recv_bytes())
conn.close()
stalled.recv(1)
PYEOF
	spawn P "$PYTHON" "$T/target.py"
	wait_listening P
	fwd F "$ADDR" -k --max-accepts 2 --handshake-timeout 4 --authkey-file "$(kf)"
	peer C1 mp_peer client "$ADDR" --authkey "$KEY" --recv 1
	sleep 0.5
	peer C2 mp_peer client "$ADDR" --authkey "$KEY" --send echoed --recv 1
	expect_exit C2 0 3
	assert_file "$T/C2.out" $'echoed\n'
	alive C1 || fail "the stalled client's connection ended already"
	expect_exit C1 3 10
	expect_exit F 0
	assert_err_only F '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: timeout: --forward 127\.0\.0\.1:[0-9]+: '
}

# The fast path (no --trace, --record or --pickle-policy): whole frames go
# on as they came, a message over the hold size (512 KiB) streams, its rest
# spliced socket -> pipe -> socket.

# echo_check.py ADDRESS KEY: a Python Client that sends messages of every
# size, from a thread, while it reads the echoes: each must be what was
# sent (sha256), in order.
echo_check() {
	cat >"$T/echo_check.py" <<'EOF'
import hashlib, os, sys, threading
from multiprocessing.connection import Client
host, port = sys.argv[1].rsplit(':', 1)
conn = Client((host, int(port)), authkey=sys.argv[2].encode())
sizes = [0, 1, 3, 4, 5, 63, 64, 65, 4095, 4096, 65535, 65536, 65537,
         262144, 300000, 524287, 524288, 524289, 1048576, 1048577,
         3000000, 5000000]
sizes += [64] * 2000 + sizes[::-1] + [0, 7] * 500
# spliced messages next to each other and to tiny ones (the header read)
sizes += [1048577, 1, 1048577, 0, 1048577, 1048577, 600000, 5]
sums = []
def send():
    for i, n in enumerate(sizes):
        m = os.urandom(n)
        sums.append(hashlib.sha256(m).digest())
        conn.send_bytes(m)
t = threading.Thread(target=send)
t.start()
for i in range(len(sizes)):
    m = conn.recv_bytes()
    assert len(m) == sizes[i], (i, len(m), sizes[i])
    while len(sums) <= i:
        pass
    assert hashlib.sha256(m).digest() == sums[i], i
t.join()
conn.close()
print('ok %d' % len(sizes))
EOF
}

@test "forward: fast path: 0 B to 5 MB both ways through a Python echo, pipelined, each message as sent (sha256), in order" {
	skip_under_valgrind "26 MB through the proxy"
	local pys=() py
	mapfile -t pys < <(pythons | sed -n '1p;$p' | sort -u)
	((${#pys[@]} > 0)) || pys=("$PYTHON")
	echo_check
	for py in "${pys[@]}"; do
		PYTHON=$py peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --echo
		fwd F "$ADDR" --authkey-file "$(kf)"
		run_to C "$py" "$T/echo_check.py" "$ADDR" "$KEY"
		[[ $STATUS == 0 ]] || fail "$py: $(cat "$T/C.err")"
		assert_file "$T/C.out" $'ok 3052\n'
		expect_exit P 0
		expect_exit F 0
	done
}

# cut.py ADDRESS SIZE SENT: a raw client that sends "hi", then SENT bytes
# of a SIZE-byte message, and dies.
cut_client() {
	cat >"$T/cut.py" <<'EOF'
import socket, struct, sys, time
host, port = sys.argv[1].rsplit(':', 1)
size, sent = int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, int(port)))
s.sendall(struct.pack('!i', 2) + b'hi' + struct.pack('!i', size))
time.sleep(0.2)
s.sendall(b'x' * sent)
time.sleep(0.5)
s.close()
EOF
	run_to C "$PYTHON" "$T/cut.py" "$ADDR" "$@"
}

@test "forward: fast path: a sender dying inside a held message (under 512 KiB) or a spliced one: the Python Listener gets hi, then EOFError or a cut message" {
	cut_client_case() {
		peer P mp_peer listen 127.0.0.1:0 --recv 2 --hex-out
		fwd F "$ADDR"
		cut_client "$1" "$2"
		expect_exit C 0
		expect_exit P 3
		expect_exit F 5
		assert_file "$T/P.out" $'6869\n'
		assert_err P "$4"
		assert_err F "^conn-listen: c>s: 127\\.0\\.0\\.1:[0-9]+ closed inside a message: $3\$"
	}
	# held whole: nothing of it goes on, the Listener sees end of stream
	cut_client_case 500000 300000 'not forwarded' 'EOFError after 1 messages'
	# over the hold size: streamed, its rest spliced, then cut, which
	# CPython's recv_bytes() tells from end of stream
	cut_client_case 3000000 2000000 'the other side got it cut short' \
		'OSError: got end of file during message'
}

@test "forward: fast path: back-pressure from a Listener that does not read: 40 MB and 300 messages of 64 KiB in bounded memory" {
	skip_under_valgrind "60 MB through the proxy"
	local sends=() i
	for ((i = 0; i < 300; i++)); do
		sends+=(--send-size 65536)
	done
	slow_reader "[pattern(40000000)] + [pattern(65536)] * 300 + [b'tail']" \
		-- --send-size 40000000 "${sends[@]}" --send tail
}
