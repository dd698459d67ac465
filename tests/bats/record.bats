#!/usr/bin/env bats
# record.bats - conn-listen --forward --record FILE: Python Client ->
# conn-listen --forward --record --trace json -> Python Listener; the
# capture read back by conn-pipe --in pcap equals the trace on both legs,
# handshakes included; tshark follows it with tools/conn-tools.lua; -k's
# connections, a process each, share one valid file.

load helpers

KEY='record key'
LUA="$BATS_TEST_DIRNAME/../../tools/conn-tools.lua"

# fwd NAME TARGET ARGS...: conn-listen --forward TARGET ARGS... on
# 127.0.0.1:0, announced (ADDR).
fwd() {
	local name=$1 target=$2
	shift 2
	listen "$name" --forward "$target" "$@" 127.0.0.1:0
}

# repeat C N: C N times, for a literal of obj_peer.py's (no expressions).
repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; }

# legs_equal_trace CAPTURE TRACE CLIENT_LEG TARGET_LEG KEYED N: conn-pipe
# --in pcap --out json of CAPTURE holds N conversations, two per
# forwarded connection, its client's leg to CLIENT_LEG (the proxy's
# address) and its target's to TARGET_LEG, each with its handshake
# (KEYED: 1) and the messages of the --trace json TRACE, both ways, in
# order.
legs_equal_trace() {
	run_to R conn-pipe --in pcap --out json "$1"
	expect_exit R 0
	[[ ! -s $T/R.err ]] || fail "conn-pipe: $(cat "$T/R.err")"
	"$PYTHON" - "$T/R.out" "$2" "$3" "$4" "$5" "$6" <<'PY' || fail "$(head -c 2000 "$T/R.out")"
import json, sys
from collections import defaultdict
def check(ok, *what):
    if not ok:
        sys.exit('; '.join(repr(w)[:300] for w in what))
recs = [json.loads(l) for l in open(sys.argv[1])]
trace = [json.loads(l) for l in open(sys.argv[2])]
client_leg, target_leg, keyed = sys.argv[3], sys.argv[4], sys.argv[5] == '1'
convs = defaultdict(list)
for r in recs:
    convs[r['conn']].append(r)
servers = {}
for n, rs in convs.items():
    s = rs[0]['dst'] if rs[0]['dir'] == 'client' else rs[0]['src']
    servers[n] = s
clients = [n for n, s in servers.items() if s == client_leg]
targets = [n for n, s in servers.items() if s == target_leg]
check(len(clients) == len(targets) == len(convs) // 2 and
      len(convs) == int(sys.argv[6]), servers)
want = defaultdict(lambda: defaultdict(list))
for t in trace:
    want[t['peer']][t['dir']].append(t['message'])
for n in clients + targets:
    rs = convs[n]
    hs = [r['handshake'] for r in rs if 'handshake' in r]
    if keyed:
        check(hs == ['challenge', 'digest', 'welcome'] * 2, n, hs)
    else:
        check(n in clients or hs == [], n, hs)
    # the client's leg: its client is the traced peer; the target's: the
    # same connection's messages, found by what the client sent
    got = {'c>s': [r['message'] for r in rs if 'handshake' not in r and r['dir'] == 'client'],
           's>c': [r['message'] for r in rs if 'handshake' not in r and r['dir'] == 'server']}
    if n in clients:
        peer = next(r['src'] if r['dir'] == 'client' else r['dst'] for r in rs)
        check(dict(want[peer]) == got, n, peer, dict(want[peer]), got)
    else:
        check(got in [dict(w) for w in want.values()], n, got)
PY
}

@test "record: Python Client -> --forward --record -> Python Listener: both legs, handshakes included, read back equal to the trace" {
	local py
	for py in $(pythons | sed -n '1p;$p' | sort -u); do
		PYTHON=$py peer P obj_peer listen 127.0.0.1:0 --authkey "$KEY" \
			--send "('ok', 1.5, None)" --send "b'$(repeat 0 70000)'" --recv-all
		local target=$ADDR
		fwd F "$target" --authkey-file "$(key_file key "$KEY")" \
			--trace json --trace-file "$T/trace.json" --record "$T/r.pcap"
		local proxy=$ADDR
		PYTHON=$py peer C obj_peer client "$proxy" --authkey "$KEY" \
			--send "[1, 'two', None]" --send "{'a': (True, b'x')}" --recv 2
		expect_exit C 0
		expect_exit P 0
		expect_exit F 0
		refute_err F 'warning'
		legs_equal_trace "$T/r.pcap" "$T/trace.json" "$proxy" "$target" 1 2
	done
}

@test "record: a keyless forward leg: the client's leg has its handshake, the target's none" {
	peer P obj_peer listen 127.0.0.1:0 --send "'reply'" --recv-all
	local target=$ADDR
	fwd F "$target" --authkey-file "$(key_file key "$KEY")" --forward-no-authkey \
		--trace json --trace-file "$T/trace.json" --record "$T/r.pcap"
	peer C obj_peer client "$ADDR" --authkey "$KEY" --send 1 --send "'two'" --recv 1
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	legs_equal_trace "$T/r.pcap" "$T/trace.json" "$ADDR" "$target" 0 2
}

@test "record: tshark with tools/conn-tools.lua reads the capture: the frames and labels conn-pipe --in pcap shows" {
	command -v tshark >/dev/null || skip "no tshark"
	[[ -f $LUA ]] || skip "no tools/conn-tools.lua beside the tests"
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --send reply --recv-all
	fwd F "$ADDR" --authkey-file "$(key_file key "$KEY")" --record "$T/r.pcap"
	peer C mp_peer client "$ADDR" --authkey "$KEY" --send hello --send-size 100000 --recv 1
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	tshark -X "lua_script:$LUA" -r "$T/r.pcap" -Y conn -T fields \
		-E occurrence=a -E aggregator=';' -e conn.kind -e conn.payload \
		>"$T/fields" 2>"$T/tshark" || fail "tshark: $(cat "$T/tshark")"
	tr '\t' '\n' <"$T/fields" | paste - - | awk -F'\t' '{
		n = split($1, k, ";"); split($2, p, ";")
		for (i = 1; i <= n; i++) print (k[i] == "message" ? "" : "(" k[i] ") ") p[i] }' >"$T/D"
	run_to R conn-pipe --in pcap --out hex "$T/r.pcap"
	expect_exit R 0
	cut -d' ' -f3- "$T/R.out" | sort >"$T/want"
	sort "$T/D" >"$T/got"
	cmp -s "$T/want" "$T/got" || fail "$(diff "$T/want" "$T/got" | cut -c1-200)"
	# two legs: 6 handshake messages and 3 messages each
	run grep -c . "$T/got"
	assert_output 18
}

@test "record: -k with several clients at once: one valid file holding every connection's two legs" {
	cat >"$T/target.py" <<'PYEOF'
import sys, threading
from multiprocessing.connection import Listener
l = Listener(('127.0.0.1', 0), authkey=b'record key')
sys.stderr.write('target: listening on 127.0.0.1:%d\n' % l.address[1])
sys.stderr.flush()
def echo(c):
    try:
        while True:
            c.send_bytes(c.recv_bytes())
    except EOFError:
        c.close()
# every connection accepted before any is served: four at once
ts = [threading.Thread(target=echo, args=(l.accept(),)) for _ in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PYEOF
	spawn P "$PYTHON" "$T/target.py"
	wait_listening P
	local target=$ADDR i
	fwd F "$target" -k --max-accepts 4 --authkey-file "$(key_file key "$KEY")" \
		--trace json --trace-file "$T/trace.json" --record "$T/r.pcap"
	for i in 1 2 3 4; do
		peer "C$i" obj_peer client "$ADDR" --authkey "$KEY" --send "'client $i'" \
			--send "b'$(repeat "$i" 100000)'" --send "('end', $i)" --recv 3
	done
	for i in 1 2 3 4; do
		expect_exit "C$i" 0
	done
	expect_exit P 0
	expect_exit F 0
	refute_err F 'warning'
	legs_equal_trace "$T/r.pcap" "$T/trace.json" "$ADDR" "$target" 1 8
	if command -v tshark >/dev/null; then
		run tshark -r "$T/r.pcap" -q -z conv,tcp
		assert_success
		refute_output --partial 'cut short'
		run bash -c "tshark -r '$T/r.pcap' -q -z conv,tcp 2>/dev/null | grep -c '<->'"
		assert_output 8
	fi
}

@test "record: a write that fails stops the recording with one warning; the proxy goes on" {
	peer P mp_peer listen 127.0.0.1:0 --authkey "$KEY" --send reply --recv-all
	# a 2 KiB file size limit, SIGXFSZ ignored: write(2) fails with EFBIG
	spawn F bash -c "trap '' XFSZ; ulimit -f 4; exec conn-listen --forward '$ADDR' \
		--authkey-file '$(key_file key "$KEY")' --record '$T/r.pcap' 127.0.0.1:0"
	wait_listening F
	peer C mp_peer client "$ADDR" --authkey "$KEY" --send one --send-size 5000 \
		--send three --recv 1
	expect_exit C 0
	expect_exit P 0
	expect_exit F 0
	assert_file "$T/C.out" $'reply\n'
	run sed -n '1p;$p' "$T/P.out"
	assert_output $'one\nthree'
	assert_err_only F "^conn-listen: warning: --record $T/r\\.pcap: cannot write the capture: File too large; no more is recorded$"
}

@test "record: --record needs --forward; a FILE that cannot be made: one error, exit status 2 as with --trace-file" {
	run_to U conn-listen --record "$T/r.pcap" 127.0.0.1:0
	expect_exit U 2
	assert_usage_error U '^conn-listen: --record needs --forward$'
	run_to U conn-listen --forward 127.0.0.1:1 --record "$T/no/such/dir/r.pcap" 127.0.0.1:0
	expect_exit U 2
	assert_usage_error U "^conn-listen: --record: cannot create $T/no/such/dir/r\\.pcap: No such file or directory$"
}
