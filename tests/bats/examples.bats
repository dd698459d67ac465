#!/usr/bin/env bats
# examples.bats - every shell example and Python snippet of README.md and of
# the man pages' EXAMPLES runs as written, taken from the text itself by
# tests/docs/examples.py (which says what a block is, how a transcript is
# run and compared, and which blocks are not examples, and why).
#
# Each @test is a scenario: it claims examples with `doc` lines and says
# how they run together (which "terminal" starts first, what is typed,
# which files exist first).  The coverage test fails for an example no
# `doc` line claims, and for a `doc` line whose example is gone.
#
# Every run rewrites the fixed names of the text: the ports 6000, 50000,
# 5000 and 5001 become free ports, /tmp/NAME becomes $W/NAME (the run's
# work directory, where every example runs), @demo (Python's '\0demo') a
# name of this run.  `key` holds "secret", made by the README's own
# `(umask 077; echo secret > key)`.

load helpers
load pki

TOP=$(_abs "$BATS_TEST_DIRNAME/../..")
EXAMPLES=$TOP/tests/docs/examples.py

# examples.py runs a few times per test: by the interpreter itself, not
# through a wrapper such as pyenv's shim (a third of a second each)
setup_file() {
	EX_PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)') || EX_PYTHON=$PYTHON
	export EX_PYTHON
}

# doc NAME FILE 'KEY' [OPTION]...: the example of FILE that contains KEY
# (a literal in single quotes: the coverage test reads these lines),
# rewritten for this run: a Python block is written to $W/NAME; a shell
# transcript becomes the session $T/NAME.sh (a second doc with the same
# NAME continues it, in the same shell), command N of the session printing
# to $T/NAME.N.out.  The OPTIONs are examples.py's.
doc() {
	local name=$1 file=$2 key=$3
	shift 3
	[[ -n ${W:-} ]] || doc_init
	"$EX_PYTHON" "$EXAMPLES" script "$TOP" "$file" "$key" "$T" "$name" "$W" \
		--port 6000 "$P6000" --port 50000 "$P50000" \
		--port 5000 "$P5000" --port 5001 "$P5001" \
		--sub /tmp/ "$W/" --sub @demo "@$ABSTRACT" --sub '\0demo' "\\0$ABSTRACT" \
		"$@" || fail "examples.py script $file '$key' failed"
}

doc_init() {
	W=$T/w
	mkdir -p "$W"
	local ports
	ports=$("$PYTHON" -c 'import socket
ss = [socket.socket() for _ in range(4)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
	read -r P6000 P50000 P5000 P5001 <<<"$ports"
	ABSTRACT=conn-examples-$$-$RANDOM
}

# session NAME [--in FILE|--idle]: start NAME's session in the background,
# in a terminal of its own.
session() {
	local name=$1
	shift
	spawn "$name" "$@" bash "$T/$name.sh"
}

# shown NAME [SEC]: NAME's session ended, each command with its status, and
# printed the output the text shows.
shown() {
	expect_exit "$1" 0 "${2:-25}"
	compare "$1"
}

# compare NAME: each command of NAME's session exited as it should and
# printed the output the text shows.
compare() {
	"$EX_PYTHON" "$EXAMPLES" check "$T" "$1" >"$T/$1.check" || fail "$(cat "$T/$1.check")"
}

# run_doc NAME [--in FILE]: run NAME's session in the foreground, then shown.
run_doc() {
	session "$@"
	shown "$1"
}

# the key of the examples: the README's own command makes it
make_key() {
	doc KEY README.md '$ (umask 077; echo secret > key)'
	run_doc KEY
	assert_file "$W/key" $'secret\n'
}

# exchange LISTENER CLIENT [N]: two terminals, the sessions LISTENER and
# CLIENT (made by doc), in which "to the client" and "to the listener" are
# typed; the listener's Nth command (default 1) comes up first; each
# prints the line the other typed.
exchange() {
	local l=$1 c=$2 n=${3:-1}
	printf 'to the client\n' >"$T/$l.typed"
	printf 'to the listener\n' >"$T/$c.typed"
	session "$l" --in "$T/$l.typed"
	wait_out "$l" "$n" 'listening on'
	run_doc "$c" --in "$T/$c.typed"
	shown "$l"
	assert_file "$T/$c.$n.out" $'to the client\n'
	grep -qx 'to the listener' "$T/$l.$n.out" || fail "$l: $(cat "$T/$l.$n.out")"
}

# wait_out NAME N ERE [SEC]: command N of NAME printed a line matching ERE.
wait_out() {
	local f=$T/$1.$2.out end=$(($(now_ms) + ${4:-10} * 1000))
	until grep -Eq -- "$3" "$f" 2>/dev/null; do
		if (($(now_ms) > end)); then
			fail "$1: command $2 printed no line matching /$3/ within ${4:-10}s: $(cat "$f" 2>&1)"
			return 1
		fi
		sleep 0.02
	done
}

# wait_port PORT [free]: something listens on TCP PORT (without connecting
# to it: a Python Listener would take the probe for its one client); with
# free, nothing does any more.  10 s at most.
wait_port() {
	local end=$(($(now_ms) + 10000)) want=0 got
	[[ ${2:-} != free ]] || want=1
	while :; do
		got=0
		port_listening "$1" || got=1
		((got == want)) && return 0
		(($(now_ms) > end)) && { fail "port $1: not ${2:-listening} within 10s"; return 1; }
		sleep 0.02
	done
}

# port_listening PORT: a TCP socket listens on PORT.
port_listening() {
	local hex
	hex=$(printf ':%04X ' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p="$hex" 'index($2 " ", p) && $4 == "0A" { f = 1 } END { exit !f }'
}

# stop NAME: SIGTERM to the command NAME's session is running (a server
# that runs until stopped), as Ctrl-C would end it.
stop() {
	local sh pid
	sh=$(inner_pid "$1")
	for pid in $(ps -o pid= --ppid "$sh"); do
		kill -TERM "$pid" 2>/dev/null || true
	done
}

# py NAME FILE [ARG]...: run the Python file $W/FILE in $W, bounded.
py() {
	local name=$1
	shift
	run_to "$name" bash -c 'cd "$0" && exec "$1" "${@:2}"' "$W" "$PYTHON" "$@"
	expect_exit "$name" 0
}

# a capture of a whole connection between two Python 3.11 peers, handshake
# included, with the key secret, as a proxy records it: the listener's side,
# the first two of tests/peers/capture.py's objects
handshake_capture() {
	"$PYTHON" "$CONN_PEERS/capture.py" "$T" --authkey secret --listener-objects 2 ||
		fail "capture.py failed"
	cp "$T/l2c.bin" "$W/capture.bin"
}

# =========================================================== coverage

@test "examples: every example of README.md and the man pages is run here, every claim names one" {
	[[ -f $TOP/README.md && -d $TOP/man ]] || skip "no documentation beside the tests"
	"$EX_PYTHON" "$EXAMPLES" coverage "$TOP" "$BATS_TEST_FILENAME" >"$T/coverage" ||
		fail "$(cat "$T/coverage")"
}

@test "examples: the runner compares output, with only the wildcards it documents" {
	mkdir -p "$T/top/man"
	cat >"$T/top/README.md" <<'EOF'
A transcript:

    $ printf 'a\nb\n'
    a
    b
    $ printf 'seven 7 more\nlines\n'
    seven ... more
    ...
    $ false
EOF
	: >"$T/top/man/x.1"
	W=$T/w
	mkdir -p "$W"
	# as shown, "..." standing for text and for lines; false exits 1
	"$EX_PYTHON" "$EXAMPLES" script "$T/top" README.md "printf 'a" "$T" A "$W" --status 3 1
	run_to A bash "$T/A.sh"
	compare A
	# a status other than the one expected fails, naming the line
	"$EX_PYTHON" "$EXAMPLES" script "$T/top" README.md "printf 'a" "$T" B "$W"
	run_to B bash "$T/B.sh"
	run "$EX_PYTHON" "$EXAMPLES" check "$T" B
	assert_failure
	assert_output "README.md:9: \`false\` exited 1, not 0; it printed:"
	# a line that differs fails, naming the command's line
	sed -i 's/^    b$/    c/' "$T/top/README.md"
	"$EX_PYTHON" "$EXAMPLES" script "$T/top" README.md "printf 'a" "$T" C "$W" --status 3 1
	run_to C bash "$T/C.sh"
	run "$EX_PYTHON" "$EXAMPLES" check "$T" C
	assert_failure
	assert_line "README.md:3: \`printf 'a\nb\n'\` printed:"
	refute_output --partial 'README.md:6'
	# unless --vary lets it stand for what varies
	"$EX_PYTHON" "$EXAMPLES" script "$T/top" README.md "printf 'a" "$T" D "$W" --status 3 1 \
		--vary c '[a-z]'
	run_to D bash "$T/D.sh"
	compare D
}

@test "examples: a claim of an example that is gone, and an unclaimed example, fail naming file:line" {
	mkdir -p "$T/top/man"
	printf 'Text.\n\n    $ echo one\n    one\n\nMore.\n\n    $ echo two\n' >"$T/top/README.md"
	printf '.SH EXAMPLES\n.EX\n$ echo three\n.EE\n' >"$T/top/man/x.1"
	printf '%s\n' "doc A README.md 'echo one'" "doc B README.md 'echo gone'" >"$T/claims.bats"
	run "$EX_PYTHON" "$EXAMPLES" coverage "$T/top" "$T/claims.bats"
	assert_failure
	assert_line "claims.bats:2: no blocks of README.md contain 'echo gone': a claim names one example"
	assert_line "README.md:8: no scenario of claims.bats runs \`echo two\`"
	assert_line "man/x.1:3: no scenario of claims.bats runs \`echo three\`"
	refute_output --partial 'echo one`'
}

# =========================================================== README.md

@test "README: conn-bench --vs-python prints its table (each run 0.05 s)" {
	skip_under_valgrind "measures speed"
	# The figures vary by nature (--numbers); the default second per
	# measurement would take 12 s, so --duration 0.05 is appended.
	doc B README.md '$ conn-bench --vs-python' --numbers --append conn-bench '--duration 0.05'
	run_doc B
}

@test "README: the shell talks to a Python Listener (upper.py): one session, then one request" {
	make_key
	doc upper.py README.md "Listener(('127.0.0.1', 6000)"
	spawn PY "$PYTHON" "$W/upper.py"
	wait_port "$P6000"
	doc C README.md "printf 'hello\nworld\n' | conn-client --authkey-file key :6000"
	run_doc C
	expect_exit PY 0
	# "In a script ... One request, one reply": upper.py again
	spawn PY2 "$PYTHON" "$W/upper.py"
	wait_port "$P6000"
	doc R README.md '--data ping --count=1 :6000 </dev/null' --then 'printf "%s\n" "$reply"'
	run_doc R
	assert_file "$T/R.then.out" $'PING\n'
}

@test "README: --probe (#18) on a Python Listener (serve.py) that serves client after client" {
	make_key
	doc serve.py README.md "Listener(('127.0.0.1', 5001)"
	# The times vary by nature (--numbers).
	doc P README.md '$ python3 serve.py &' --numbers
	run_doc P
}

@test "README: passing descriptors (#18) to Python's recv_handle(), from its send_handle()" {
	make_key
	printf 'a report\n' >"$W/report.txt"
	spawn P "$PYTHON" "$CONN_PEERS/handle_peer.py" recv "$W/demo.sock" secret
	wait_listening P
	doc F README.md '--send-fd=3 /tmp/demo.sock 3<report.txt' --cmd 1
	run_doc F
	expect_exit P 0
	assert_file "$T/P.out" $'a report\n'
	spawn Q "$PYTHON" "$CONN_PEERS/handle_peer.py" send "$W/demo.sock" secret "$W/report.txt"
	wait_listening Q
	doc G README.md '--send-fd=3 /tmp/demo.sock 3<report.txt' --cmd 2
	run_doc G
	expect_exit Q 0
	assert_file "$T/Q.out" $'a report\n'
}

@test "README: a Python Client talks to the shell, which types one line" {
	make_key
	printf 'typed in the shell\n' >"$T/typed"
	doc L README.md '$ conn-listen --authkey-file key 127.0.0.1:6000'
	session L --in "$T/typed"
	wait_out L 1 'listening on'
	doc client.py README.md "b'hello from Python'"
	py PY client.py
	assert_file "$T/PY.out" $'b\'typed in the shell\'\n'
	shown L
}

@test "README: two shells, each printing what the other typed" {
	doc S1 README.md '# shell 1' --cmd 1
	doc S2 README.md '# shell 2' --cmd 2
	exchange S1 S2
}

@test "README: between machines: TLS keyed by the authkey, then with certificates" {
	make_key
	# hosta.example is this host; the certificates are made for it
	# (127.0.0.1) by tls.bats's pki.bash.
	doc L README.md '$ conn-listen --tls-psk --authkey-file key :6000 ' --cmd 1
	doc C README.md '$ conn-listen --tls-psk --authkey-file key :6000 ' --cmd 2 \
		--sub hosta.example 127.0.0.1
	exchange L C
	pki_make "$W/pki"
	cp "$W/pki/server.pem" "$W/pki/server.key" "$W/pki/ca.pem" "$W/"
	doc CL README.md '$ conn-client --tls --tls-ca ca.pem --authkey-file key hosta' --cmd 1
	doc CC README.md '$ conn-client --tls --tls-ca ca.pem --authkey-file key hosta' --cmd 2 \
		--sub hosta.example 127.0.0.1
	exchange CL CC
}

@test "README: between machines: a plain client, --forward-tls to the certificate's host" {
	make_key
	pki_make "$W/pki"
	cp "$W/pki/server.pem" "$W/pki/server.key" "$W/pki/ca.pem" "$W/"
	doc A README.md '--forward-tls --forward-tls-ca ca.pem :5000' --cmd 1
	doc B README.md '--forward-tls --forward-tls-ca ca.pem :5000' --cmd 2 \
		--sub hosta.example 127.0.0.1
	doc C README.md '--forward-tls --forward-tls-ca ca.pem :5000' --cmd 3
	printf 'to the client\n' >"$T/A.typed"
	printf 'to the listener\n' >"$T/C.typed"
	session A --in "$T/A.typed"
	wait_out A 1 'listening on'
	session B
	wait_out B 1 'listening on'
	run_doc C --in "$T/C.typed"
	shown B
	shown A
	assert_file "$T/C.1.out" $'to the client\n'
	grep -qx 'to the listener' "$T/A.1.out" || fail "A: $(cat "$T/A.1.out")"
}

@test "README, conn-client(1): a Unix socket and an abstract socket" {
	make_key
	doc L README.md '/tmp/demo.sock       # or unix:' --cmd 1
	doc C README.md '/tmp/demo.sock       # or unix:' --cmd 2
	exchange L C
	[[ ! -e $W/demo.sock ]] || fail "the socket file is left"
	doc A README.md '/tmp/demo.sock       # or unix:' --cmd 3
	doc AC man/conn-client.1 '$ conn-client --authkey-file key @demo'
	exchange A AC
}

@test "README: capturing frames, reading them in Python, replaying them to the next client" {
	make_key
	peer P mp_peer listen "127.0.0.1:$P6000" --authkey secret --send 'first message' \
		--send-hex 00ff0a
	doc C README.md '--recv-only --out frames --authkey-file key :6000 > capture.bin'
	run_doc C
	expect_exit P 0
	doc read.py README.md "os.open('capture.bin'"
	py PY read.py
	assert_file "$T/PY.out" $'b\'first message\'\nb\'\\x00\\xff\\n\'\n'
	doc R README.md '--send-only --in frames --authkey-file key :6000 < capture.bin'
	session R
	wait_out R 1 'listening on'
	run_to N conn-client --recv-only --out quoted --authkey-file "$W/key" "127.0.0.1:$P6000"
	expect_exit N 0
	assert_file "$T/N.out" $'b\'first message\'\nb\'\\x00\\xff\\n\'\n'
	shown R
}

@test "README: conn-pipe shows a capture with its handshake as Python prints it" {
	# capture.bin: a whole connection as a proxy records it (the random
	# challenge varies: its bytes, and the quotes repr() chooses)
	doc_init
	handshake_capture
	doc P README.md '$ conn-pipe --in frames --out repr capture.bin' \
		--vary "b'#CHALLENGE#\xa8tXtl\xa9P\x00\xc6Z\xe9d\x02\xde\xfao}\xbdIA'" "b['\"]#CHALLENGE#.+['\"]"
	run_doc P
}

@test "README: conn-pipe reads tcpdump's capture of a Python Client and Listener" {
	doc_init
	local v py name
	for name in 3.13 3.12; do
		read -r v py < <(bash "$TOP/tests/cpython/gen-bats" "$TOP" --list | sort -V |
			awk -v n="$name" 'index($1, n ".") == 1 { print; exit }') || true
		[[ -n ${py:-} ]] && break
	done
	tcpdump_start D "$P6000"
	run_to M "${py:-$PYTHON}" "$CONN_PEERS/mp_pair.py" "$P6000" secret greeting
	expect_exit M 0
	tcpdump_stop D
	cp "$T/D.pcap" "$W/lo.pcap"
	doc P README.md '$ conn-pipe --in pcap --out repr lo.pcap' \
		--vary 41234 '[0-9]+' \
		--vary "b'#CHALLENGE#{sha256}...'" "b['\"]#CHALLENGE#.+['\"]" \
		--vary "b'{sha256}...'" "b['\"].+['\"]"
	run_doc P
	# tshark with the dissector, from the source tree instead of the
	# data directory
	command -v tshark >/dev/null || skip "no tshark"
	doc S README.md '-r lo.pcap -Y conn' --sub /usr/local/share/conn-tools/ "$TOP/tools/"
	run_doc S
	grep -q ' conn .*challenge' "$T/S.1.out" || fail "tshark: $(cat "$T/S.1.out")"
}

@test "README, conn-client(1), conn-listen(1): hex and quoted payloads" {
	printf 'a reply\n' >"$T/typed"
	doc L README.md '$ conn-listen --out quoted :6000' --cmd 2
	session L --in "$T/typed"
	wait_out L 1 'listening on'
	doc C README.md "$ echo 'de ad be ef' | conn-client -f hex :6000" --cmd 1
	run_doc C
	assert_file "$T/C.1.out" $'61207265706c79\n'
	shown L
	grep -qxF "b'\\xde\\xad\\xbe\\xef'" "$T/L.1.out" || fail "listener: $(cat "$T/L.1.out")"

	doc HL man/conn-listen.1 '$ conn-listen --out hex :6000'
	session HL --in "$T/typed"
	wait_out HL 1 'listening on'
	doc HC man/conn-client.1 '$ echo "de ad be ef" | conn-client -f hex :6000'
	run_doc HC
	assert_file "$T/HC.1.out" $'61207265706c79\n'
	shown HL
	grep -qx 'deadbeef' "$T/HL.1.out" || fail "listener: $(cat "$T/HL.1.out")"
}

@test "README, conn-listen(1): pickles: a Python Client's send() and recv() against --in json --out repr" {
	make_key
	doc L README.md '$ echo '"'"'{"status": "ok", "n": [1, 2]}'"'"' | conn-listen --authkey-file key'
	session L
	wait_out L 1 'listening on'
	doc client.py README.md "conn.send({'a': 1, 'b': [True, None], (1, 2): b't'})"
	py PY client.py
	assert_file "$T/PY.out" $'{\'status\': \'ok\', \'n\': [1, 2]}\n'
	shown L

	# conn-listen(1), without a key: the same exchange
	doc M man/conn-listen.1 '$ echo '"'"'{"status": "ok", "n": [1, 2]}'"'"' |'
	session M
	wait_out M 1 'listening on'
	run_to PM "$PYTHON" -c 'import sys
from multiprocessing.connection import Client
with Client(("127.0.0.1", int(sys.argv[1]))) as conn:
    conn.send({"a": 1})
    print(conn.recv())' "$P6000"
	expect_exit PM 0
	assert_file "$T/PM.out" $'{\'status\': \'ok\', \'n\': [1, 2]}\n'
	shown M
	grep -qxF "{'a': 1}" "$T/M.1.out" || fail "listener: $(cat "$T/M.1.out")"
}

@test "README, conn-pipe(1): a pickle that would run code is shown, never run" {
	doc R README.md '$ echo 80049525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e656494859452942e |'
	run_doc R
	doc M man/conn-pipe.1 '$ echo 80044b2a2e | conn-pipe --in hex --out pickle-dis'
	run_doc M
}

@test "README: is this pickle safe to load? --out audit, then --pickle-policy" {
	doc A README.md "globals: datetime.date (1 call)" --status 1 12
	run_doc A
	doc J README.md '$ echo 636f730a73797374656d0a2853276964270a74522e | conn-pipe --in hex --out audit-json' --status 1 12
	run_doc J
	doc F README.md '$ cat > policy <<'"'EOF'"
	run_doc F
}

@test "README, conn-listen(1): a chat: lines typed go to every client, each client's lines come tagged" {
	make_key
	# typed lines come from a pipe, written once the client is there; the
	# client is a Python Client that says hello and prints what it hears.
	# The listener's address and the client's vary (by nature, and
	# whether IPv4 peers show as such or as ::ffff: addresses).
	mkfifo "$T/typed"
	doc L README.md '$ conn-listen -k --broadcast --tag --authkey-file key :6000' \
		--vary '[::]' '\[::\]|0\.0\.0\.0' \
		--vary 127.0.0.1:51330 '(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):[0-9]+'
	session L --in "$T/typed"
	exec 7>"$T/typed"
	wait_out L 1 'listening on'
	spawn PY "$PYTHON" -c 'import sys
from multiprocessing.connection import Client
with Client(("127.0.0.1", int(sys.argv[1])), authkey=b"secret") as conn:
    conn.send_bytes(b"hello from a Python Client")
    print(conn.recv_bytes())' "$P6000"
	wait_out L 1 'hello from a Python Client'
	echo 'hello from the shell' >&7
	expect_exit PY 0
	assert_file "$T/PY.out" $'b\'hello from the shell\'\n'
	exec 7>&-
	stop L
	shown L

	doc M man/conn-listen.1 '$ conn-listen -k --broadcast --tag --authkey-file key :6000'
	session M --idle
	wait_out M 1 'listening on'
	run_to PM "$PYTHON" -c 'import sys
from multiprocessing.connection import Client
with Client(("127.0.0.1", int(sys.argv[1])), authkey=b"secret") as conn:
    conn.send_bytes(b"hello again")' "$P6000"
	expect_exit PM 0
	wait_out M 1 ' hello again$'
	stop M
	shown M
}

@test "README, conn-listen(1): an exec server upper-cases each line for Python clients" {
	make_key
	doc L README.md "--sh-exec \\"
	session L
	wait_out L 1 'listening on'
	doc client.py README.md "b'HELLO'"
	py PY client.py
	assert_file "$T/PY.out" $'b\'HELLO\'\n'
	py PY2 client.py
	assert_file "$T/PY2.out" $'b\'HELLO\'\n'
	stop L
	shown L

	doc M man/conn-listen.1 '--sh-exec \'
	session M
	wait_out M 1 'listening on'
	py PM client.py
	assert_file "$T/PM.out" $'b\'HELLO\'\n'
	stop M
	shown M
}

@test "README, conn-listen(1): a log collector: each record one JSON line {peer, message}" {
	# Three Python processes send() their records at once, then the one
	# the README shows; the last line of app.log is the one shown, the
	# peer's name aside (it depends on the connections' order).
	doc L README.md '>> app.log'
	session L
	wait_out L 1 'listening on'
	doc send.py README.md "conn.send({'level': 'warning', 'text': 'disk 91% full'})"
	local i
	for i in 1 2 3; do
		spawn "S$i" "$PYTHON" -c 'import sys
from multiprocessing.connection import Client
with Client(sys.argv[1]) as conn:
    conn.send({"level": "info", "n": int(sys.argv[2]), "text": "caf\u00e9"})' "$W/app.sock" "$i"
	done
	for i in 1 2 3; do expect_exit "S$i" 0; done
	py PY send.py
	wait_lines "$W/app.log" 4
	doc T README.md '$ tail -n 1 app.log' --vary "\"$W/app.sock#3\"" '"[^"]+"'
	run_doc T
	stop L
	shown L
	"$PYTHON" - "$W/app.log" <<'EOF' || fail "app.log: $(cat "$W/app.log")"
import json, sys
lines = open(sys.argv[1]).read().split('\n')
assert lines[-1] == '' and len(lines) == 5, lines
records = []
for line in lines[:-1]:
    obj = json.loads(line)
    assert isinstance(obj, dict) and sorted(obj) == ['message', 'peer'], line
    assert isinstance(obj['peer'], str) and obj['peer'], line
    records.append(obj['message'])
want = [{'level': 'info', 'n': n, 'text': 'caf\u00e9'} for n in (1, 2, 3)]
assert sorted(records[:3], key=lambda r: r['n']) == want, records
assert records[3] == {'level': 'warning', 'text': 'disk 91% full'}, records
EOF

	doc M man/conn-listen.1 '>> app.log'
	session M
	wait_out M 1 'listening on'
	py PM send.py
	wait_lines "$W/app.log" 5
	stop M
	shown M
	tail -n 1 "$W/app.log" | "$PYTHON" -c 'import json, sys
obj = json.loads(sys.stdin.read())
assert sorted(obj) == ["message", "peer"] and obj["message"]["level"] == "warning", obj' ||
		fail "app.log: $(cat "$W/app.log")"
}

@test "README: sockets handed over: systemd-socket-activate hands conn-listen -k --echo its socket" {
	command -v systemd-socket-activate >/dev/null ||
		skip "systemd-socket-activate: not found on this machine"
	doc A README.md '$ systemd-socket-activate -l 127.0.0.1:6000 conn-listen -k --echo &'
	run_doc A
}

@test "README: bounding every wait: -i ends a connection silent both ways with exit 6" {
	make_key
	doc B README.md '$ conn-client -w 5 -i 2 -s 127.0.0.1' --status 2 6
	run_doc B --idle
}

@test "README: calling a Python manager (calc_server.py) from the shell, as written" {
	make_key
	doc calc_server.py README.md 'class CalcManager(BaseManager):'
	doc M README.md '$ python3 calc_server.py &' --vary 7f4cb5e38e50 '[0-9a-f]+'
	doc M README.md '"accept_connection", ["shell"], {}]'"'"' \'
	run_doc M
}

# calc_behind_proxy: the key, calc_server.py running on port 50000 and
# calc_client.py beside it, as "Watching an exchange" starts.
calc_behind_proxy() {
	make_key
	doc calc_server.py README.md 'class CalcManager(BaseManager):'
	doc calc_client.py README.md 'class CalcClient(BaseManager):'
	spawn S bash -c 'cd "$0" && exec "$1" calc_server.py' "$W" "$PYTHON"
	wait_port "$P50000"
}

@test "README, conn-listen(1): watching an exchange: calc_client.py through --forward, traced" {
	calc_behind_proxy
	doc X README.md '--trace repr --trace-file trace.txt' --await-bg \
		--vary 7f4cb5e38e50 '[0-9a-f]+'
	run_doc X
	# its conn-listen, in the background of a session that is over
	kill -TERM -- "-${BG_PID[X]}" 2>/dev/null || true
	wait_port "$P6000" free

	doc M man/conn-listen.1 '--trace json 127.0.0.1:6000'
	session M
	wait_out M 1 'listening on'
	py PM calc_client.py
	assert_file "$T/PM.out" $'5 hello proxy\n'
	wait_out M 1 '"dir":"s>c",.*"message":\{"__tuple__": \["#RETURN", "hello proxy"\]\}\}$'
	stop M
	shown M
}

@test "README: watching an exchange: calc_client.py through --forward --record, read back by conn-pipe and tshark" {
	calc_behind_proxy
	doc X README.md '--record calc.pcap 127.0.0.1:6000 &' --await-bg \
		--vary 7f4cb5e38e50 '[0-9a-f]+' --vary 41234 '[0-9]+' --vary 41236 '[0-9]+' \
		--vary "b'#CHALLENGE#{sha256}...'" "b['\"]#CHALLENGE#.+['\"]" \
		--vary "b'...'" "b['\"].+['\"]"
	run_doc X
	kill -TERM -- "-${BG_PID[X]}" 2>/dev/null || true
	wait_port "$P6000" free
	# tshark with the dissector, from the source tree instead of the
	# data directory
	command -v tshark >/dev/null || skip "no tshark"
	doc R README.md '-r calc.pcap -Y conn' --sub /usr/local/share/conn-tools/ "$TOP/tools/"
	run_doc R
	grep -q "127\.0\.0\.1 → 127\.0\.0\.1 .*conn .*challenge" "$T/R.1.out" || fail "tshark: $(head -c 2000 "$T/R.1.out")"
	[[ $(grep -c ' conn .* message' "$T/R.1.out") -ge 8 ]] || fail "tshark: $(head -c 2000 "$T/R.1.out")"
}

@test "README, conn-pipe(1): conn-pipe converts lines, frames, quoted, JSON and drives upper.py" {
	doc_init
	# capture.bin: two messages, a and b
	printf 'a\nb\n' | conn-pipe --out frames >"$W/capture.bin"
	doc upper.py README.md 'conn = Connection(0)'
	doc P README.md "od -An -tx1    # Python's framing"
	run_doc P
	assert_file "$T/P.2.out" $'b\'a\'\nb\'b\'\n'
	"$PYTHON" -c 'import pickle, sys
assert pickle.loads(bytes.fromhex(open(sys.argv[1]).read())) == [1, "two", None]' "$T/P.3.out" ||
		fail "not the pickle of [1, 'two', None]: $(cat "$T/P.3.out")"
	assert_file "$T/P.4.out" $'A\nB\n'

	doc M man/conn-pipe.1 '$ conn-pipe --in frames capture.bin'
	run_doc M
	assert_file "$T/M.2.out" $'a\nb\n'
	doc RT man/conn-pipe.1 '| cmp - capture.bin'
	run_doc RT
	doc J man/conn-pipe.1 '--pickle-protocol=0 --out quoted'
	run_doc J
	doc upper.py man/conn-pipe.1 'conn = Connection(0)'
	doc X man/conn-pipe.1 '$ printf '"'"'a\nb\n'"'"' | conn-pipe --exec python3 upper.py'
	run_doc X
}

# =========================================================== conn-listen(1)

@test "conn-listen(1): a port picked by the system, announced, and conn-client to it" {
	# the client types nothing: the listener's terminal shows what the page shows
	printf 'from the listener\n' >"$T/typed1"
	doc L man/conn-listen.1 '$ conn-listen 127.0.0.1:0' --vary 43117 '[0-9]+'
	session L --in "$T/typed1"
	wait_out L 1 'listening on'
	local port
	port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/L.1.out")
	doc C man/conn-listen.1 '$ conn-client 127.0.0.1:43117' --port 43117 "$port"
	run_doc C
	shown L
	assert_file "$T/C.1.out" $'from the listener\n'
}

@test "conn-listen(1): a key, and a Python client that sends a line and prints the one typed" {
	printf 'typed\n' >"$T/typed"
	doc L man/conn-listen.1 '$ conn-listen --authkey-file key 127.0.0.1:6000'
	session L --in "$T/typed"
	wait_out L 2 'listening on'
	doc client.py man/conn-listen.1 'conn.send_bytes(b"hello from Python")'
	py PY client.py
	assert_file "$T/PY.out" $'b\'typed\'\n'
	shown L
	grep -qx 'hello from Python' "$T/L.2.out" || fail "listener: $(cat "$T/L.2.out")"
}

@test "conn-listen(1), conn-client(1): a Unix socket, an abstract socket, and --wait" {
	make_key
	doc U man/conn-listen.1 '$ conn-listen --authkey-file key /tmp/demo.sock'
	doc UC man/conn-client.1 '$ conn-client --authkey-file key /tmp/demo.sock'
	exchange U UC
	doc A man/conn-listen.1 '$ conn-listen --authkey-file key @demo'
	doc AC man/conn-client.1 '$ conn-client --authkey-file key @demo'
	exchange A AC
	# --wait: the client first, the listener (no key) a moment later
	printf 'to the client\n' >"$T/typed"
	doc WC man/conn-client.1 '$ conn-client --wait=30 /tmp/demo.sock'
	session WC
	sleep 0.3
	listen WL --in "$T/typed" "$W/demo.sock"
	shown WC
	expect_exit WL 0
	assert_file "$T/WC.1.out" $'to the client\n'
}

@test "conn-listen(1): capture one client's messages, replay them to the next" {
	doc L man/conn-listen.1 '$ conn-listen --recv-only --out frames :6000 > capture.bin'
	session L
	wait_out L 1 'listening on'
	peer P mp_peer client "127.0.0.1:$P6000" --send one --send-hex 00ff
	expect_exit P 0
	wait_out L 2 'listening on'
	run_to N conn-client --recv-only --out quoted "127.0.0.1:$P6000"
	expect_exit N 0
	assert_file "$T/N.out" $'b\'one\'\nb\'\\x00\\xff\'\n'
	shown L
}

@test "conn-listen(1): one message into a shell variable" {
	make_key
	doc L man/conn-listen.1 '$ msg=$(conn-listen -q --recv-only --count=1' --then 'printf "%s\n" "$msg"'
	session L
	wait_port "$P6000"
	printf 'the message\nnot read\n' >"$T/in"
	run_to C --in "$T/in" conn-client --authkey-file "$W/key" "127.0.0.1:$P6000"
	shown L
	assert_file "$T/L.then.out" $'the message\n'
}

# =========================================================== conn-client(1)

@test "conn-client(1): upper.py and the transcript that starts it, then one request" {
	doc upper.py man/conn-client.1 'Listener(("127.0.0.1", 6000)'
	doc C man/conn-client.1 '$ python3 upper.py &'
	run_doc C
	spawn PY "$PYTHON" "$W/upper.py"
	wait_port "$P6000"
	doc R man/conn-client.1 '--data ping --count=1 :6000 < /dev/null' --then 'printf "%s\n" "$reply"'
	run_doc R
	expect_exit PY 0
	assert_file "$T/R.then.out" $'PING\n'
}

@test "conn-client(1): conn-listen in another shell, the key in the environment" {
	make_key
	doc L man/conn-client.1 '$ conn-listen :6000'
	doc C man/conn-client.1 '$ conn-client :6000'
	exchange L C 2
}

@test "conn-client(1): capture what the peer sends and read it back with Python" {
	doc_init
	peer P mp_peer listen "127.0.0.1:$P6000" --send 'captured'
	doc C man/conn-client.1 '$ conn-client --recv-only --out frames :6000 > capture.bin'
	run_doc C
	expect_exit P 0
	assert_file "$T/C.2.out" $'b\'captured\'\n'
}

@test "conn-client(1), conn-pipe(1): calling calc_server.py, the README's manager" {
	doc_init
	doc calc_server.py README.md 'class CalcManager(BaseManager):'
	spawn M bash -c 'cd "$0" && exec "$1" calc_server.py' "$W" "$PYTHON"
	wait_port "$P50000"
	make_key
	doc C man/conn-client.1 '$ echo '"'"'["", "dummy", [], {}]'"'"' |'
	run_doc C
	doc P man/conn-pipe.1 '"accept_connection", ["shell"], {}]' --vary 7f3a9c2e1d50 '[0-9a-f]+'
	run_doc P
}

# =========================================================== conn-bench(1)

@test "conn-bench(1): its own peers, the JSON report, conn-listen --echo (each run 0.05 s)" {
	skip_under_valgrind "measures speed"
	# A second per workload and transport would take 10 s: --duration
	# 0.05 is appended to the runs that have no --count.
	doc B man/conn-bench.1 '$ conn-bench' --append conn-bench '--duration 0.05'
	run_doc B
	grep -Eq '^conn +tcp +handshake' "$T/B.1.out" || fail "$(cat "$T/B.1.out")"
	doc J man/conn-bench.1 '$ conn-bench -w pingpong --size 4K -P 4 --json' \
		--append conn-bench '--duration 0.05'
	run_doc J
	"$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["start"]["parallel"] == 4 and d["start"]["size"] == 4096, d["start"]
assert {r["transport"] for r in d["results"]} == {"unix", "tcp"}, d["results"]' "$T/J.1.out" ||
		fail "$(cat "$T/J.1.out")"
	doc E man/conn-bench.1 '$ conn-listen --echo 127.0.0.1:5000 &' --await-bg
	run_doc E
	grep -Eq '^remote +tcp +stream' "$T/E.2.out" || fail "$(cat "$T/E.2.out")"
}

@test "conn-bench(1): the Python peer, with a key over a Unix socket; --vs-python (each run 0.05 s)" {
	skip_under_valgrind "measures speed"
	doc_init
	# tools/bench-peer.py, as in the source tree
	ln -s "$TOP/tools" "$W/tools"
	doc P man/conn-bench.1 '$ python3 tools/bench-peer.py 127.0.0.1:5001 &' --await-bg \
		--append conn-bench '--duration 0.05'
	run_doc P
	grep -Eq '^remote +tcp +pingpong' "$T/P.2.out" || fail "$(cat "$T/P.2.out")"
	grep -Eq '^remote +unix +handshake' "$T/P.4.out" || fail "$(cat "$T/P.4.out")"
	doc V man/conn-bench.1 '$ conn-bench --vs-python --transport tcp' \
		--append conn-bench '--duration 0.05'
	run_doc V
	grep -Eq '^ratio ours/python tcp +handshake' "$T/V.1.out" || fail "$(cat "$T/V.1.out")"
}

# =========================================================== conn-pipe(1), conn-protocol(7), libconn(3)

@test "conn-pipe(1): a capture with its handshake, as Python prints it" {
	doc_init
	handshake_capture
	doc P man/conn-pipe.1 '$ conn-pipe --in frames --out repr capture.bin' \
		--vary "b'#CHALLENGE#\x8f...'" "b['\"]#CHALLENGE#.+['\"]"
	run_doc P
}

@test "conn-protocol(7): the answer computed by hand is welcomed by conn-listen" {
	make_key
	# A raw peer reads conn-listen's challenge, writes its body to m.bin,
	# runs the page's command there and sends what it prints.
	doc H man/conn-protocol.7 'hmac.digest(b"secret", m, "sha256")'
	listen L --authkey-file "$W/key" 127.0.0.1:0
	cat >"$T/raw.py" <<'EOF'
import socket, struct, subprocess, sys
port, work, script, out = sys.argv[1:]
s = socket.create_connection(('127.0.0.1', int(port)))
def recv():
    (n,) = struct.unpack('!i', s.recv(4, socket.MSG_WAITALL))
    return s.recv(n, socket.MSG_WAITALL)
m = recv()
assert m.startswith(b'#CHALLENGE#{sha256}'), m
open(work + '/m.bin', 'wb').write(m[len(b'#CHALLENGE#'):])
subprocess.run(['bash', script], check=True)
answer = open(out, 'rb').read()
s.sendall(struct.pack('!i', len(answer)) + answer)
print(recv())
EOF
	run_to R "$PYTHON" "$T/raw.py" "$PORT" "$W" "$T/H.sh" "$T/H.1.out"
	expect_exit R 0
	assert_file "$T/R.out" $'b\'#WELCOME#\'\n'
	compare H
}

@test "libconn(3): the example builds with pkg-config and talks to conn-listen --echo" {
	local build flags
	command -v "${CC:-cc}" >/dev/null && command -v pkg-config >/dev/null ||
		skip "no C compiler or pkg-config"
	build=$(cd "$(dirname "$(command -v conn-listen)")/.." && pwd)
	[[ -f $build/src/core/libconn.a && -f $build/Makefile ]] || skip "not run from a build tree"
	doc_init
	# example-client.c is man/examples/example-client.c; conn-tools.pc is
	# the build tree's library (with the build's sanitizer flags, if any)
	cp "$TOP/man/examples/example-client.c" "$W/"
	flags=$(sed -n 's/^SANITIZER_CFLAGS = //p' "$build/Makefile")
	mkdir "$T/pc"
	cat >"$T/pc/conn-tools.pc" <<EOF
Name: conn-tools
Description: the build tree's libconn
Version: 0
Requires: libsodium nettle jansson
Cflags: -I$TOP/src/core $flags
Libs: $build/src/core/libconn.a -lm $flags
EOF
	doc E man/libconn.3 '$ ./example-client 127.0.0.1:6000 key hello world'
	export PKG_CONFIG_PATH=$T/pc
	run_doc E
}
