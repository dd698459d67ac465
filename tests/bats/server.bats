#!/usr/bin/env bats
# Servers in shell: conn-listen -k (many clients at once, fan-in, fan-out,
# --broadcast, --tag, --max-accepts), bad clients that must not hurt good
# ones, --exec / --sh-exec per connection (conn-client --exec too), and
# SIGTERM.  Clients are conn-client, python3's multiprocessing.connection
# and tests/peers/swarm.py (many raw asyncio clients at once).

load helpers

KEY=secret

# swarm NAME MODE ARGS...: tests/peers/swarm.py in the background
swarm() {
	local name=$1
	shift
	spawn "$name" "$PYTHON" "$CONN_PEERS/swarm.py" "$@"
}

# in_order FILE CLIENTS MESSAGES: FILE holds exactly CLIENTS x MESSAGES
# lines "c<i> m<j>", whole, each client's in its own order.
in_order() {
	"$PYTHON" - "$@" <<'EOF'
import re, sys
path, clients, messages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
last, bad, n = {}, [], 0
for line in open(path, 'rb'):
    n += 1
    m = re.fullmatch(rb'c(\d+) m(\d+)\n', line)
    if not m:
        bad.append('not a whole message: %r' % line[:60])
        continue
    c, j = int(m[1]), int(m[2])
    if last.get(c, -1) != j - 1:
        bad.append('client %d: m%d after m%d' % (c, j, last.get(c, -1)))
    last[c] = j
if n != clients * messages:
    bad.append('%d messages, expected %d' % (n, clients * messages))
if len(last) != clients:
    bad.append('%d clients seen, expected %d' % (len(last), clients))
if bad:
    sys.exit('\n'.join(bad[:20]))
EOF
}

@test "-k: connection after connection; stdin goes to the newest client" {
	listen L --idle -k 127.0.0.1:0
	run_to A conn-client --data first --close-on-eof "$ADDR"
	expect_exit A 0
	run_to B conn-client --data second --close-on-eof "$ADDR"
	expect_exit B 0
	wait_lines "$T/L.out" 2
	assert_file "$T/L.out" $'first\nsecond\n'
	alive L || fail "the listener exited after its clients"
}

@test "-k --max-accepts 2: serves two connections, stops listening, exits 0" {
	printf 'to the newest\n' >"$T/in"
	listen L --in "$T/in" -k --max-accepts 2 "unix:$T/s.sock"
	# A, the only client when stdin is read, gets its line
	run_to A conn-client --data a --count 1 "$T/s.sock"
	expect_exit A 0
	assert_file "$T/A.out" $'to the newest\n'
	run_to B conn-client --data b --close-on-eof "$T/s.sock"
	expect_exit B 0
	expect_exit L 0
	assert_file "$T/L.out" $'a\nb\n'
	[[ ! -e $T/s.sock ]] || fail "the socket file is still there"
}

@test "1000 clients at once, 100 messages each: 100,000 whole messages, each client's in order" {
	# the listener outlives the waits below (60 s, then 60 s)
	local SPAWN_TIMEOUT=150
	skip_under_valgrind "1000 connections"
	ulimit -n 8192
	listen L --idle -k --max-conns 1000 127.0.0.1:0
	swarm S good "$ADDR" --clients 1000 --messages 100
	expect_exit S 0 60
	wait_lines "$T/L.out" 100000 60
	in_order "$T/L.out" 1000 100 || fail "$(in_order "$T/L.out" 1000 100 2>&1)"
	alive L || fail "the listener exited"
}

@test "with a key: 1000 clients authenticate at once, 100 messages each" {
	# the listener outlives the waits below (60 s, then 60 s)
	local SPAWN_TIMEOUT=150
	skip_under_valgrind "1000 connections"
	ulimit -n 8192
	key_file k "$KEY" >/dev/null
	# (a burst of honest clients: --max-startups would drop those still
	# in the handshake after 1 s, as a loaded or sanitized run can be)
	listen L --idle -k --max-conns 1000 --max-startups 1000 --authkey-file "$T/k" 127.0.0.1:0
	swarm S good "$ADDR" --clients 1000 --messages 100 --authkey "$KEY"
	expect_exit S 0 60
	wait_lines "$T/L.out" 100000 60
	in_order "$T/L.out" 1000 100 || fail "$(in_order "$T/L.out" 1000 100 2>&1)"
}

@test "epoll and poll (CONN_TOOLS_POLL=poll) alike: 300 clients authenticate at once, 100 messages each, whole and in order" {
	# the listener outlives the waits below (60 s, then 60 s)
	local SPAWN_TIMEOUT=150
	skip_under_valgrind "300 connections, twice"
	ulimit -n 4096
	key_file k "$KEY" >/dev/null
	local mode
	for mode in epoll poll; do
		# -v names the wait (a listener of its own: -v traces every frame)
		CONN_TOOLS_POLL=$mode listen "V$mode" --idle -v -k 127.0.0.1:0
		wait_err "V$mode" "^conn-listen: serving clients with $mode\$"
		kill -TERM "${BG_PID[V$mode]}"
		expect_exit "V$mode" 0
		CONN_TOOLS_POLL=$mode listen "L$mode" --idle -k --max-conns 300 --max-startups 300 --authkey-file "$T/k" 127.0.0.1:0
		swarm "S$mode" good "$ADDR" --clients 300 --messages 100 --authkey "$KEY"
		expect_exit "S$mode" 0 60
		wait_lines "$T/L$mode.out" 30000 60
		in_order "$T/L$mode.out" 300 100 || fail "$mode: $(in_order "$T/L$mode.out" 300 100 2>&1)"
		alive "L$mode" || fail "$mode: the listener exited"
		kill -TERM "${BG_PID[L$mode]}"
		expect_exit "L$mode" 0
	done
}

@test "200 bad clients (wrong key, no handshake, stalled, HTTP, random bytes, probes) do not delay good ones" {
	ulimit -n 8192
	key_file k "$KEY" >/dev/null
	listen L --idle -k --max-conns 1000 --handshake-timeout 30 --authkey-file "$T/k" 127.0.0.1:0
	# the bad ones stay connected (stalled, or after their garbage) 20 s
	swarm BAD bad "$ADDR" --clients 200 --authkey "$KEY" --hold 20
	local i
	for i in $(seq 200); do
		grep -q 'bad: 200 connected' "$T/BAD.err" 2>/dev/null && break
		sleep 0.05
	done
	grep -q 'bad: 200 connected' "$T/BAD.err" || fail "the bad clients did not connect"
	# good clients, and a Python Client, are served while they hold on
	swarm GOOD good "$ADDR" --clients 20 --messages 100 --authkey "$KEY"
	expect_exit GOOD 0 10
	peer P mp_peer client "$ADDR" --authkey "$KEY" --send 'from python'
	expect_exit P 0 10
	wait_lines "$T/L.out" 2001 10
	grep -v '^from python$' "$T/L.out" >"$T/good"
	in_order "$T/good" 20 100 || fail "$(in_order "$T/good" 20 100 2>&1)"
	alive L || fail "the listener exited"
	alive BAD || fail "the bad clients were gone before the good ones were served"
	# each dropped client is logged with its address and the reason
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: authentication failed: the peer.s reply does not match our key$'
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: the peer announced a 1195725856-byte message during the handshake'
	! grep -q "$KEY" "$T/L.err" || fail "the key appears on stderr"
}

@test "a stalled handshake times out on its own clock; the listener goes on" {
	key_file k "$KEY" >/dev/null
	listen L --idle -k --handshake-timeout 0.5 --authkey-file "$T/k" 127.0.0.1:0
	swarm BAD bad "$ADDR" --clients 3 --authkey "$KEY" --hold 3
	# the stalled client's own 0.5 s, however long the swarm took to start
	wait_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: timeout: handshake not finished within 0\.5 s$'
	alive BAD || fail "the bad clients left before their --hold 3"
	run_to C conn-client --authkey-file "$T/k" --data after --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'after\n'
}

@test "--broadcast: three clients each receive every stdin message once" {
	mkfifo "$T/fifo"
	spawn L --in "$T/fifo" conn-listen -v -k --broadcast "unix:$T/s.sock"
	exec 7>"$T/fifo"
	wait_listening L
	swarm R recv "$T/s.sock" --clients 3 --expect 3
	# every client is in before the messages go
	local i
	for i in $(seq 100); do
		[[ $(grep -c 'connection from' "$T/L.err" || true) == 3 ]] && break
		sleep 0.05
	done
	printf 'one\ntwo\nthree\n' >&7
	expect_exit R 0 10
	exec 7>&-
	sort "$T/R.out" >"$T/got"
	assert_file "$T/got" $'0 one\n0 three\n0 two\n1 one\n1 three\n1 two\n2 one\n2 three\n2 two\n'
}

@test "--tag: each message on stdout is prefixed with its peer's address" {
	listen L --idle -k --tag 127.0.0.1:0
	run_to C conn-client --data hello --data world --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 2
	grep -Eq '^127\.0\.0\.1:[0-9]+ hello$' "$T/L.out" || fail "$(cat "$T/L.out")"
	grep -Eq '^127\.0\.0\.1:[0-9]+ world$' "$T/L.out" || fail "$(cat "$T/L.out")"
	listen U --idle -k --tag --out repr "unix:$T/u.sock"
	peer P obj_peer client "$T/u.sock" --send "[1, 'x']"
	expect_exit P 0
	wait_lines "$T/U.out" 1
	grep -Eq "^$T/u\\.sock#1 \\[1, 'x'\\]\$" "$T/U.out" || fail "$(cat "$T/U.out")"
}

@test "--tag cannot be forged: each line of a message holding newlines (NULs with --out null) carries its sender's tag" {
	listen L --idle -k --tag 127.0.0.1:0
	run_to C conn-client --data $'hi\n127.0.0.1:1 forged\n' --data '' --data two --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 5
	local name
	name=$(head -1 "$T/L.out" | cut -d' ' -f1)
	[[ $name =~ ^127\.0\.0\.1:[0-9]+$ && $name != 127.0.0.1:1 ]] || fail "$(cat "$T/L.out")"
	assert_file "$T/L.out" "$name hi
$name 127.0.0.1:1 forged
$name 
$name 
$name two
"
	listen N --idle -k --tag --out null 127.0.0.1:0
	peer P mp_peer client "$ADDR" --send-hex 6100313237 --send b
	expect_exit P 0
	for _ in $(seq 100); do [[ $(tr -cd '\0' <"$T/N.out" | wc -c) -ge 3 ]] && break; sleep 0.05; done
	name=$(tr '\0' '\n' <"$T/N.out" | head -1 | cut -d' ' -f1)
	cmp <(printf '%s a\0%s 127\0%s b\0' "$name" "$name" "$name") "$T/N.out" || fail "$(xxd "$T/N.out")"
	# a message too big to hold is streamed: still every line tagged
	"$PYTHON" -c 'import struct, sys
m = b"x" * 99 + b"\n127.0.0.1:1 forged\n" + b"y" * 1000000
sys.stdout.buffer.write(struct.pack("!i", len(m)) + m)' >"$T/big"
	listen B --idle -k --tag --max-accepts 1 127.0.0.1:0
	run_to C --in "$T/big" conn-client --in frames --close-on-eof "$ADDR"
	expect_exit B 0
	[[ $(wc -l <"$T/B.out") == 3 ]] || fail "$(cut -c1-40 "$T/B.out")"
	name=$(head -1 "$T/B.out" | cut -d' ' -f1)
	[[ $(grep -c "^$name " "$T/B.out") == 3 && $(tail -1 "$T/B.out" | wc -c) == $((${#name} + 1 + 1000000 + 1)) ]] ||
		fail "$(cut -c1-40 "$T/B.out")"
}

# tagged_json FILE N PEER_ERE: FILE has N lines, each one JSON object (as
# Python's json reads it) with exactly "peer" (matching PEER_ERE) and
# "message"; the messages, one JSON value a line, go to FILE.messages.
tagged_json() {
	"$PYTHON" - "$@" <<'EOF'
import json, re, sys
path, n, peer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path, encoding='utf-8').read().splitlines()
if len(lines) != n:
    sys.exit('%d lines, expected %d' % (len(lines), n))
with open(path + '.messages', 'w') as out:
    for line in lines:
        try:
            d = json.loads(line)
        except ValueError as e:
            sys.exit('not JSON: %r: %s' % (line, e))
        if not isinstance(d, dict) or sorted(d) != ['message', 'peer']:
            sys.exit('not {"peer", "message"}: %r' % line)
        if not re.fullmatch(peer, d['peer']):
            sys.exit('peer %r does not match /%s/' % (d['peer'], peer))
        out.write(json.dumps(d['message']) + '\n')
EOF
}

@test "--tag --out json: one JSON object a message, {\"peer\": NAME, \"message\": what --out json prints}" {
	listen L --idle -k --tag --out json 127.0.0.1:0
	peer P obj_peer client "$ADDR" --send "{'a': [1, 2.5, None], 'b': b'\\x00'}" --send "'say \"hi\"\\n'"
	expect_exit P 0
	wait_lines "$T/L.out" 2
	tagged_json "$T/L.out" 2 '127\.0\.0\.1:[0-9]+' || fail "$(cat "$T/L.out")"
	assert_file "$T/L.out.messages" '{"a": [1, 2.5, null], "b": {"__bytes__": "AA=="}}
"say \"hi\"\n"
'
	# the message is the text of --out json, as it is
	grep -Eq '^\{"peer": "127\.0\.0\.1:[0-9]+", "message": \{"a": \[1, 2\.5, null\], "b": \{"__bytes__": "AA=="\}\}\}$' "$T/L.out" ||
		fail "$(cat "$T/L.out")"

	# a Unix peer: the listener's path and a number, escaped as JSON
	mkdir "$T/a\"b"
	listen U --idle -k --tag --out json "unix:$T/a\"b/u.sock"
	peer Q obj_peer client "$T/a\"b/u.sock" --send "[1, 'x']"
	expect_exit Q 0
	wait_lines "$T/U.out" 1
	tagged_json "$T/U.out" 1 "${T//./\\.}/a\"b/u\\.sock#1" || fail "$(cat "$T/U.out")"
	assert_file "$T/U.out.messages" $'[1, "x"]\n'
}

@test "--tag --out json: a peer name that is not UTF-8 (a Unix path) gets U+FFFD, the line stays JSON" {
	local dir=$T/$'\xff'
	mkdir "$dir"
	listen U --idle -k --tag --out json "unix:$dir/u.sock"
	peer P obj_peer client "$dir/u.sock" --send "[1, 'x']"
	expect_exit P 0
	wait_lines "$T/U.out" 1
	tagged_json "$T/U.out" 1 "${T//./\\.}/"$'\xef\xbf\xbd'"/u\\.sock#1" || fail "$(cat "$T/U.out")"
	assert_file "$T/U.out.messages" $'[1, "x"]\n'
}

@test "--tag --out json --keep-going: a message that is not a pickle is {\"__hex__\": ...}, every line stays JSON" {
	listen L --idle -k --tag --out json --keep-going 127.0.0.1:0
	run_to C conn-client --data 'not a pickle' --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 1
	peer P obj_peer client "$ADDR" --send "(1, 'two')"
	expect_exit P 0
	wait_lines "$T/L.out" 2
	tagged_json "$T/L.out" 2 '127\.0\.0\.1:[0-9]+' || fail "$(cat "$T/L.out")"
	assert_file "$T/L.out.messages" "{\"__hex__\": \"$(printf 'not a pickle' | xxd -p)\"}
{\"__tuple__\": [1, \"two\"]}
"
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 1 is not shown as json \(.*\); here it is in hex$'

	# the other formats: the hex line is tagged like the rest
	listen R --idle -k --tag --out repr --keep-going 127.0.0.1:0
	run_to D conn-client --data 'not a pickle' --close-on-eof "$ADDR"
	expect_exit D 0
	wait_lines "$T/R.out" 1
	grep -Eq "^127\.0\.0\.1:[0-9]+ $(printf 'not a pickle' | xxd -p)\$" "$T/R.out" || fail "$(cat "$T/R.out")"
}

@test "-k --out repr --python-repr 3.11: the server's rendering follows it, conn-listen without -k's too" {
	"$PYTHON" -c 'import collections, pickle
print(pickle.dumps(collections.OrderedDict(a=1), 4).hex())' >"$T/od"
	listen L --idle -k --out repr --python-repr 3.11 127.0.0.1:0
	run_to C --in "$T/od" conn-client --in hex --close-on-eof "$ADDR"
	expect_exit C 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" "OrderedDict([('a', 1)])
"
	# a message too big to render in place: a job's rendering follows it
	"$PYTHON" -c 'import collections, pickle
print(pickle.dumps([list(range(300000)), collections.OrderedDict(a=1)], 4).hex())' >"$T/big"
	run_to B --in "$T/big" conn-client --in hex --close-on-eof "$ADDR"
	expect_exit B 0
	wait_lines "$T/L.out" 2
	[[ $(tail -n 1 "$T/L.out") == *"299999], OrderedDict([('a', 1)])]" ]] ||
		fail "$(tail -c 100 "$T/L.out")"
	listen S --out repr --python-repr 3.11 127.0.0.1:0
	run_to D --in "$T/od" conn-client --in hex --close-on-eof "$ADDR"
	expect_exit D 0
	expect_exit S 0
	assert_file "$T/S.out" "OrderedDict([('a', 1)])
"
	# and conn-client's
	listen R --in "$T/od" --in hex 127.0.0.1:0
	run_to E conn-client --out repr --python-repr 3.11 -c 1 "$ADDR"
	expect_exit E 0
	assert_file "$T/E.out" "OrderedDict([('a', 1)])
"
}

@test "usage: --tag, --broadcast and --max-conns need -k; --tag with raw or frames output" {
	run_to A conn-listen --tag :0
	expect_exit A 2
	assert_usage_error A '^conn-listen: --tag needs -k \(--keep-open\)$'
	run_to B conn-listen --broadcast :0
	expect_exit B 2
	assert_usage_error B '^conn-listen: --broadcast needs -k \(--keep-open\)$'
	run_to C conn-listen -k --tag --out frames :0
	expect_exit C 2
	assert_usage_error C '^conn-listen: cannot use --tag with --out frames$'
	run_to D conn-listen -k --max-conns 0 :0
	expect_exit D 2
	assert_usage_error D "^conn-listen: invalid --max-conns '0'$"
	run_to E conn-listen -k --echo :0 --exec cat
	expect_exit E 2
	assert_usage_error E '^conn-listen: cannot use --echo with --exec$'
	run_to F conn-listen :0 --sh-exec true --exec cat
	expect_exit F 2
	assert_usage_error F '^conn-listen: cannot use --exec with --sh-exec$'
}

@test "--exec: a shell one-liner server serves a Python Client with a key and several of ours at once" {
	key_file k "$KEY" >/dev/null
	listen L -k --authkey-file "$T/k" 127.0.0.1:0 --sh-exec \
		'echo "peer=$CONN_PEER digest=$CONN_DIGEST"; while read -r l; do printf "%s\n" "$l" | tr a-z A-Z; done'
	local i
	for i in 1 2 3 4 5; do
		printf 'hello %s\nbye\n' "$i" >"$T/in$i"
		spawn "C$i" --in "$T/in$i" conn-client --authkey-file "$T/k" "$ADDR"
	done
	peer P mp_peer client "$ADDR" --authkey "$KEY" --send 'from python' \
		--recv 2
	expect_exit P 0 10
	grep -Eq "peer=127\\.0\\.0\\.1:[0-9]+ digest=md5" "$T/P.out" || fail "$(cat "$T/P.out")"
	grep -q 'FROM PYTHON' "$T/P.out" || fail "$(cat "$T/P.out")"
	for i in 1 2 3 4 5; do
		expect_exit "C$i" 0 10
		grep -Eq '^peer=127\.0\.0\.1:[0-9]+ digest=sha256$' "$T/C$i.out" ||
			fail "C$i: $(cat "$T/C$i.out")"
		grep -q "^HELLO $i\$" "$T/C$i.out" || fail "C$i: $(cat "$T/C$i.out")"
		grep -q '^BYE$' "$T/C$i.out" || fail "C$i: $(cat "$T/C$i.out")"
	done
	alive L || fail "the listener exited"
}

@test "--exec CMD ARG...: the arguments after CMD are its own; a failed handshake runs nothing" {
	key_file k "$KEY" >/dev/null
	listen L -k --authkey-file "$T/k" 127.0.0.1:0 -e "$PYTHON" -c \
		'import sys; [print(l.strip()[::-1], flush=True) for l in sys.stdin]' -v
	run_to C conn-client --authkey-file "$T/k" --data 'abc' --data 'xyz' "$ADDR"
	expect_exit C 0
	assert_file "$T/C.out" $'cba\nzyx\n'
	printf 'wrong\n' >"$T/bad"
	run_to W conn-client --authkey-file "$T/bad" --data 'no' "$ADDR"
	expect_exit W 4
	assert_err L 'authentication failed'
}

@test "conn-client --exec: the command talks to the listener" {
	printf 'abc\n' >"$T/in"
	listen L --in "$T/in" 127.0.0.1:0
	run_to C conn-client "$ADDR" --exec sh -c 'read -r l; echo "got $l"; echo bye'
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/L.out" $'got abc\nbye\n'
	# a command that fails is exit 1
	listen M --idle 127.0.0.1:0
	run_to D conn-client "$ADDR" --sh-exec 'exit 3'
	expect_exit D 1
	assert_err_only D '^conn-client: /bin/sh exited with status 3$'
}

@test "SIGTERM during traffic: exit 0, socket file removed, whole messages only" {
	listen L --idle -k "unix:$T/s.sock"
	swarm S good "$T/s.sock" --clients 20 --messages 5000
	wait_lines "$T/L.out" 1000 10
	kill -TERM "$(inner_pid L)"
	expect_exit L 0 10
	[[ ! -e $T/s.sock ]] || fail "the socket file is still there"
	grep -Evq '^c[0-9]+ m[0-9]+$' "$T/L.out" && fail "a partial message: $(grep -Ev '^c[0-9]+ m[0-9]+$' "$T/L.out" | head -3)"
	true
}

@test "SIGTERM with --exec children: they are ended, reaped, the socket file goes" {
	listen L -k "unix:$T/s.sock" --sh-exec 'exec sleep 60'
	local i
	for i in 1 2 3; do
		spawn "C$i" --idle conn-client "$T/s.sock"
	done
	local pid
	pid=$(inner_pid L)
	for i in $(seq 100); do
		[[ $(ps -o pid= --ppid "$pid" | wc -l) -ge 3 ]] && break
		sleep 0.05
	done
	[[ $(ps -o pid= --ppid "$pid" | wc -l) -ge 3 ]] || fail "no children"
	kill -TERM "$pid"
	expect_exit L 0 15
	[[ ! -e $T/s.sock ]] || fail "the socket file is still there"
	[[ -z $(ps -o pid=,stat= --ppid "$pid") ]] || fail "children left: $(ps -o pid=,stat=,args= --ppid "$pid")"
}

# stubborn_exec PIDFILE: a command that records its pid and ignores SIGTERM.
stubborn_exec() {
	printf '%s' "echo \$\$ >'$1'; trap '' TERM; while :; do sleep 0.2; done"
}

# wait_pidfile FILE: the pid a command wrote, once it has.
wait_pidfile() {
	local i
	for i in $(seq 100); do
		[[ -s $1 ]] && break
		sleep 0.05
	done
	[[ -s $1 ]] || fail "the command never started"
	cat "$1"
}

@test "--exec: a command that ignores SIGTERM does not outlive the listener (SIGTERM, 2 s, SIGKILL), with and without -k" {
	local cmd pid
	listen L "unix:$T/s.sock" --sh-exec "$(stubborn_exec "$T/one.pid")"
	spawn C --idle conn-client "$T/s.sock"
	pid=$(wait_pidfile "$T/one.pid")
	kill -TERM "$(inner_pid L)"
	expect_exit L 0 10
	((ELAPSED_MS >= 1500)) || fail "the command was not given its grace (${ELAPSED_MS} ms)"
	! kill -0 "$pid" 2>/dev/null || fail "the command $pid outlived conn-listen"
	listen M -k "unix:$T/k.sock" --sh-exec "$(stubborn_exec "$T/k.pid")"
	spawn D --idle conn-client "$T/k.sock"
	pid=$(wait_pidfile "$T/k.pid")
	kill -TERM "$(inner_pid M)"
	expect_exit M 0 20
	! kill -0 "$pid" 2>/dev/null || fail "the command $pid outlived conn-listen -k"
	[[ ! -e $T/k.sock ]] || fail "the socket file is still there"
}

@test "--exec: the command starts with every signal at its default and none blocked (SIGPIPE is not ignored), as from a shell" {
	listen L 127.0.0.1:0 --sh-exec 'grep -E "^Sig(Ign|Blk):" /proc/self/status'
	run_to C --in /dev/null conn-client "$ADDR"
	expect_exit C 0
	expect_exit L 0
	# signals 1-31 (bits 0-30); glibc keeps 32 and 33 for itself
	local blk ign
	blk=$(awk '$1 == "SigBlk:" { print $2 }' "$T/C.out")
	ign=$(awk '$1 == "SigIgn:" { print $2 }' "$T/C.out")
	[[ -n $blk && -n $ign ]] || fail "no masks: $(cat "$T/C.out")"
	(((16#$blk & 0x7fffffff) == 0)) || fail "blocked in the command: $blk"
	(((16#$ign & 0x7fffffff) == 0)) || fail "ignored in the command: $ign (SIGPIPE is 0x1000)"
}

@test "SIGHUP stops conn-listen as SIGTERM does: exit 0, the socket file removed" {
	listen L --idle "unix:$T/s.sock"
	kill -HUP "$(inner_pid L)"
	expect_exit L 0 10
	[[ ! -e $T/s.sock ]] || fail "the socket file is still there"
	listen M --idle -k "unix:$T/k.sock"
	kill -HUP "$(inner_pid M)"
	expect_exit M 0 10
	[[ ! -e $T/k.sock ]] || fail "the socket file is still there"
}

@test "--exec: the command gets CONN_PEER and CONN_DIGEST, never CONN_AUTHKEY" {
	CONN_AUTHKEY=$KEY listen L 127.0.0.1:0 --sh-exec \
		'echo "keys=$(env | grep -c "^CONN_AUTHKEY=")"; echo "peer=$CONN_PEER digest=$CONN_DIGEST"'
	CONN_AUTHKEY=$KEY run_to C --in /dev/null conn-client "$ADDR"
	expect_exit C 0
	expect_exit L 0
	grep -qx 'keys=0' "$T/C.out" || fail "$(cat "$T/C.out")"
	grep -Eqx 'peer=127\.0\.0\.1:[0-9]+ digest=sha256' "$T/C.out" || fail "$(cat "$T/C.out")"
}

@test "-k: a message too big to hold (ulimit -v) drops its client with one warning naming it; the others go on" {
	skip_under_valgrind "ulimit -v would limit valgrind"
	skip_under_sanitizer "it reserves more address space than ulimit -v leaves"
	# quoted holds a message whole; --max-buffer lets it try to
	spawn L --idle bash -c 'ulimit -v 200000 && exec conn-listen -k "$@"' _ --out quoted --max-buffer 1G 127.0.0.1:0
	wait_listening L
	# 300,000,000 bytes (0x11e1a300): more than the 200 MB the listener may map
	spawn A bash -c '{ printf "\021\341\243\000"; head -c 300000000 /dev/zero; } |
		conn-client --in frames --close-on-eof "$1"' _ "$ADDR"
	finish A 60
	wait_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 1 \(300000000 bytes\) is lost: out of memory; the client is dropped$' 30
	run_to B conn-client --data after --close-on-eof "$ADDR"
	expect_exit B 0
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'b\'after\'\n'
	[[ $(grep -c 'is lost' "$T/L.err") == 1 ]] || fail "not one warning: $(cat "$T/L.err")"
	alive L || fail "the listener exited"
}

@test "-k --max-buffer 1M --out repr, json: a pickle whose objects or text would take more than half of it drops its client with one warning; the others go on" {
	# 100,000 references to one memoized list: a 200 KB pickle whose list
	# takes 800 KB; and bytes whose repr is four times their length
	"$PYTHON" - "$T" <<'PY'
import pickle, struct, sys
x = []
many = pickle.dumps([x] * 100000, 4)
wide = pickle.dumps(bytes(range(256)) * 2000, 4)
for name, data in (('many', many), ('wide', wide)):
    open(sys.argv[1] + '/' + name, 'wb').write(struct.pack('!i', len(data)) + data)
PY
	local f
	for f in repr json; do
		listen L --idle -k --max-buffer 1M --out "$f" 127.0.0.1:0
		run_to A --in "$T/many" conn-client --in frames --close-on-eof "$ADDR"
		wait_err L "^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 1: offset [0-9]+, opcode .*: the decoded objects take more than 524288 bytes of memory\$" 10
		run_to B --in "$T/wide" conn-client --in frames --close-on-eof "$ADDR"
		wait_err L "^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 1: the rendering is longer than 524288 bytes\$" 10
		echo '"after"' >"$T/after"
		run_to C --in "$T/after" conn-client --in json --close-on-eof "$ADDR"
		expect_exit C 0
		wait_lines "$T/L.out" 1
		[[ $(tail -1 "$T/L.out") == *after* ]] || fail "$(cat "$T/L.out")"
		(($(grep -c warning "$T/L.err") == 2)) || fail "$(cat "$T/L.err")"
		alive L || fail "the listener exited"
		kill -TERM "${BG_PID[L]}"
		finish L 5
	done
}

@test "-k: a client that resets after sending a message whole (spilled to its file, or being rendered) does not lose it" {
	skip_under_valgrind "a costly rendering"
	mkdir "$T/tmp"
	TMPDIR=$T/tmp listen L --idle -k --out frames 127.0.0.1:0
	# 1 MiB, over a client's share: it waits in a file until whole
	run_to A "$PYTHON" -c 'import socket, struct, sys, time
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)))
s.sendall(struct.pack("!i", 1 << 20) + bytes(1 << 20))
time.sleep(1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$ADDR"
	expect_exit A 0
	wait_size "$T/L.out" $(((1 << 20) + 4))
	(($(stat -c %s "$T/L.out") == (1 << 20) + 4)) || fail "stdout: $(stat -c %s "$T/L.out") bytes"
	[[ -z $(ls -A "$T/tmp") ]] || fail "left in TMPDIR: $(ls -A "$T/tmp")"
	# a pickle whose repr takes seconds to make: rendered in a job
	listen R --idle -k --out repr 127.0.0.1:0
	run_to B "$PYTHON" -c 'import pickle, random, socket, struct, sys, time
h, p = sys.argv[1].rsplit(":", 1)
data = pickle.dumps([random.getrandbits(14280) | 1 << 14279 for _ in range(4000)], 4)
s = socket.create_connection((h, int(p)))
s.sendall(struct.pack("!i", len(data)) + data)
time.sleep(0.5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$ADDR"
	expect_exit B 0
	wait_lines "$T/R.out" 1 60
	[[ $(head -c 1 "$T/R.out") == '[' && $(tail -c 2 "$T/R.out" | head -c 1) == ']' ]] || fail "$(head -c 100 "$T/R.out")"
	alive R || fail "the listener exited"
}

@test "-k: stopped (SIGTERM) while a message is being rendered: a warning names it, exit 1" {
	skip_under_valgrind "a costly rendering"
	listen L --idle -k --out repr 127.0.0.1:0
	spawn S --idle "$PYTHON" "$CONN_PEERS/chaos.py" slowpickles "$ADDR" --ints 15000 --seconds 1
	wait_err S '^slowpickles: 1 connected$' 20
	sleep 1.5	# sent whole (25 MB), its rendering takes seconds
	kill -TERM "$(inner_pid L)"
	expect_exit L 1 20
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 1 \([0-9]+ bytes\) is not shown: stopped while it was being rendered$'
	assert_err L '^conn-listen: 1 message is not shown: stopped while being rendered$'
	[[ ! -s $T/L.out ]] || fail "stdout: $(head -c 100 "$T/L.out")"
}

@test "-k: a big message with no room for its file (TMPDIR that does not exist) drops its client with one warning naming the directory; the others go on" {
	TMPDIR=$T/none listen L --idle -k --out frames 127.0.0.1:0
	# the listener drops A as soon as it knows the size, and may reset A's
	# connection while A still sends: that is the drop, not a failure
	run_to A "$PYTHON" -c 'import socket, struct, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)))
try:
    s.sendall(struct.pack("!i", 1 << 20) + bytes(1 << 20))
except (BrokenPipeError, ConnectionResetError):
    pass
s.close()' "$ADDR"
	expect_exit A 0
	wait_err L "^conn-listen: warning: 127\.0\.0\.1:[0-9]+: .*message 1 \(1048576 bytes\) is lost: cannot make a file in $T/none to hold it \(No such file or directory\); the client is dropped\$" 10
	printf '\0\0\0\5after' >"$T/after"
	run_to B --in "$T/after" conn-client --in frames --close-on-eof "$ADDR"
	expect_exit B 0
	wait_size "$T/L.out" 9
	cmp "$T/after" "$T/L.out" || fail "stdout: $(xxd "$T/L.out" | head)"
	(($(grep -c warning "$T/L.err") == 1)) || fail "$(cat "$T/L.err")"
}

# frames_of FILE: the payload sizes and sha256s of the frames in FILE, one
# "SIZE SHA" a line; exit 1 at a cut frame.
frames_of() {
	"$PYTHON" - "$1" <<'EOF'
import hashlib, struct, sys
data = open(sys.argv[1], 'rb').read()
i = 0
while i < len(data):
    n, = struct.unpack('!i', data[i:i + 4])
    body = data[i + 4:i + 4 + n]
    if len(body) != n:
        sys.exit('frame cut at offset %d: %d of %d bytes' % (i, len(body), n))
    print(n, hashlib.sha256(body).hexdigest())
    i += 4 + n
EOF
}

@test "-k --out frames streams big messages: four 16 MiB ones at once come out whole, one after another; a 64 MiB one in under 40 MiB of RSS" {
	skip_under_valgrind "moves 128 MiB"
	listen L --idle -k --out frames 127.0.0.1:0
	local i
	for i in 1 2 3 4; do
		spawn "C$i" bash -c '{ printf "\001\000\000\000"; head -c 16777216 /dev/zero | tr "\0" "$2"; } |
			conn-client --in frames --close-on-eof "$1"' _ "$ADDR" "$i"
	done
	for i in 1 2 3 4; do finish "C$i" 30; done
	for i in $(seq 300); do (($(stat -c %s "$T/L.out") >= 4 * 16777220)) && break; sleep 0.1; done
	frames_of "$T/L.out" | sort >"$T/got" || fail "$(frames_of "$T/L.out" 2>&1 | tail -1)"
	for i in 1 2 3 4; do
		echo "16777216 $(head -c 16777216 /dev/zero | tr '\0' "$i" | sha)"
	done | sort >"$T/want"
	cmp "$T/want" "$T/got" || fail "$(cat "$T/got")"
	# one of 64 MiB: the listener's peak RSS stays small
	spawn D bash -c '{ printf "\004\000\000\000"; head -c 67108864 /dev/zero; } |
		conn-client --in frames --close-on-eof "$1"' _ "$ADDR"
	finish D 30
	for i in $(seq 300); do (($(stat -c %s "$T/L.out") >= 4 * 16777220 + 67108868)) && break; sleep 0.1; done
	(($(stat -c %s "$T/L.out") == 4 * 16777220 + 67108868)) || fail "stdout: $(stat -c %s "$T/L.out") bytes"
	local pid hwm
	pid=$(inner_pid L)
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
	((hwm < 40960)) || fail "peak RSS ${hwm} kB"
	alive L || fail "the listener exited"
}

@test "-k: a big message's sender that stalls is dropped after 10 s while the others go on; one cut while spilled to its file is lost with its client alone, the listener goes on" {
	# quoted holds the big message whole: nothing of it is on stdout
	listen L --idle -k --out quoted 127.0.0.1:0
	# a 1 MiB message (0x00100000), of which 1000 bytes come (conn-client
	# would send no half frame)
	spawn A "$PYTHON" -c 'import socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)))
s.sendall(b"\0\x10\0\0" + bytes(1000))
time.sleep(20)' "$ADDR"
	sleep 0.5
	# a small message does not wait for the big one
	run_to B conn-client --data "did not wait" --close-on-eof "$ADDR"
	expect_exit B 0
	wait_lines "$T/L.out" 1 5
	assert_file "$T/L.out" $'b\'did not wait\'\n'
	refute_err L warning
	wait_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: timeout: sent nothing for 10 s inside a big message, which holds half of --max-buffer; the client is dropped$' 15
	alive L || fail "the listener exited"
	# frames: the big message waits in a file until whole; a cut one is
	# the client's loss, said once, and the listener goes on
	mkdir "$T/tmp"
	TMPDIR=$T/tmp listen F --idle -k --out frames 127.0.0.1:0
	run_to C "$PYTHON" -c 'import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)))
s.sendall(b"\0\x10\0\0" + bytes(300000))
s.close()' "$ADDR"
	expect_exit C 0
	wait_err F '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: connection closed in the middle of a message \(300000 of 1048576 bytes received\)$' 10
	printf '\0\0\0\5after' >"$T/after"
	run_to D --in "$T/after" conn-client --in frames --close-on-eof "$ADDR"
	expect_exit D 0
	wait_size "$T/F.out" 9
	cmp "$T/after" "$T/F.out" || fail "stdout: $(xxd "$T/F.out" | head)"
	alive F || fail "the listener exited: $(cat "$T/F.err")"
	(($(grep -c warning "$T/F.err") == 1)) || fail "$(cat "$T/F.err")"
	[[ -z $(ls -A "$T/tmp") ]] || fail "left in TMPDIR: $(ls -A "$T/tmp")"
}
