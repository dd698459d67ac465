#!/usr/bin/env bats
# capture.bats - conn-pipe --in pcap: hand-built captures
# (tests/peers/pcapgen.py: out of order, retransmitted, mid-stream, a gap,
# IPv6, pcapng, Linux cooked and loopback link types), then real ones:
# tcpdump on loopback while a Python Listener and Client of each
# handshake talk (tests/peers/mp_pair.py), skipped where tcpdump cannot
# capture.

load helpers
load "$BATS_TEST_DIRNAME/../cpython/cpython"

# gen SCENARIO: $T/SCENARIO.pcap made by pcapgen.py.
gen() {
	"$PYTHON" "$CONN_PEERS/pcapgen.py" "$1" "$T/$1.pcap" || fail "pcapgen.py $1"
}

C4=127.0.0.1:40000 S4=127.0.0.2:5000
C6='[::1]:40000' S6='[::2]:5000'

# The messages of pcapgen.py's exchange between client C and server S,
# --out quoted.
exchange() {
	local c=$1 s=$2 cc=cccccccccccccccccccccccccccccccccccccccc
	printf '%s\n' \
		"1 $s>$c (challenge) b'#CHALLENGE#{sha256}$cc'" \
		"1 $c>$s (digest) b'{sha256}dddddddddddddddddddddddddddddddd'" \
		"1 $s>$c (welcome) b'#WELCOME#'" \
		"1 $c>$s (challenge) b'#CHALLENGE#{sha256}${cc//c/e}'" \
		"1 $s>$c (digest) b'{sha256}ffffffffffffffffffffffffffffffff'" \
		"1 $c>$s (welcome) b'#WELCOME#'" \
		"1 $c>$s b'hello'" \
		"1 $s>$c b'world'"
}

# reads_exchange SCENARIO CLIENT SERVER: conn-pipe --in pcap reads
# SCENARIO's capture as exchange() says, with nothing on stderr.
reads_exchange() {
	gen "$1"
	run_to P conn-pipe --in pcap --out quoted "$T/$1.pcap"
	expect_exit P 0
	assert_file "$T/P.out" "$(exchange "$2" "$3")"$'\n'
	[[ ! -s $T/P.err ]] || fail "$1: $(cat "$T/P.err")"
}

@test "capture: a whole connection, its handshake labelled, in every link type and in pcapng" {
	local s
	for s in inorder pcapng sll2; do
		reads_exchange "$s" "$C4" "$S4"
	done
	for s in ipv6 null; do
		reads_exchange "$s" "$C6" "$S6"
	done
}

@test "capture: segments out of order and retransmitted are put back in order, once" {
	reads_exchange reorder "$C4" "$S4"
	reads_exchange retransmit "$C4" "$S4"
}

@test "capture: one starting mid-stream skips to the first plausible frame header and says so" {
	gen midstream
	run_to P conn-pipe --in pcap --out quoted "$T/midstream.pcap"
	expect_exit P 0
	# The client's digest was cut: its challenge is the first whole frame.
	exchange "$C4" "$S4" | sed 1,2d >"$T/want"
	cmp -s "$T/P.out" "$T/want" || fail "$(diff "$T/want" "$T/P.out")"
	assert_err_only P "^conn-pipe: warning: connection 1 $C4>$S4: skipped 34 bytes at stream offset 0 to the first plausible frame header$"
}

@test "capture: bytes missing from the capture: a warning, and the messages after the gap" {
	gen gap
	run_to P conn-pipe --in pcap "$T/gap.pcap"
	expect_exit P 0
	assert_file "$T/P.out" "1 $C4>$S4 after the gap"$'\n'
	assert_err_only P "^conn-pipe: warning: connection 1 $C4>$S4: 8 bytes missing from the capture at stream offset 0: looking for the next frame header$"
}

@test "capture: a conversation of another protocol is left out; --port reads it anyway, as broken" {
	gen http
	run_to P conn-pipe --in pcap "$T/http.pcap"
	expect_exit P 0
	assert_file "$T/P.out" ''
	assert_err_only P '^conn-pipe: warning: .*/http.pcap: no message of this protocol in the capture \(--port N reads'
	run_to P conn-pipe --in pcap --port 5000 "$T/http.pcap"
	expect_exit P 0
	assert_err P "^conn-pipe: warning: connection 1 $C4>$S4: no frame header at stream offset 0: looking for the next$"
	gen inorder
	run_to P conn-pipe --in pcap --port 5001 "$T/inorder.pcap"
	expect_exit P 0
	assert_file "$T/P.out" ''
}

@test "capture: --out json, one record a message with conn, src, dst, dir, time and handshake" {
	gen inorder
	run_to P conn-pipe --in pcap --out json --count 6 "$T/inorder.pcap"
	expect_exit P 0
	run sed -n 3p "$T/P.out"
	assert_output "{\"conn\": 1, \"src\": \"$S4\", \"dst\": \"$C4\", \"dir\": \"server\", \"time\": 1700000000.005000, \"handshake\": \"welcome\", \"message\": {\"__hex__\": \"2357454c434f4d4523\"}}"
	"$PYTHON" -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert set(r) >= {"conn", "src", "dst", "dir", "time", "message"}, r' "$T/P.out" ||
		fail "not JSON records: $(cat "$T/P.out")"
	# "hello" is no pickle: --keep-going shows it in hex, with a warning.
	run_to P conn-pipe --in pcap --out json --keep-going "$T/inorder.pcap"
	expect_exit P 0
	run sed -n 7p "$T/P.out"
	assert_output "{\"conn\": 1, \"src\": \"$C4\", \"dst\": \"$S4\", \"dir\": \"client\", \"time\": 1700000000.009000, \"message\": {\"__hex__\": \"68656c6c6f\"}}"
	assert_err P "^conn-pipe: warning: connection 1 $C4>$S4: message 7 is not shown as json"
	run_to P conn-pipe --in pcap --out json "$T/inorder.pcap"
	expect_exit P 5
	assert_err P "^conn-pipe: connection 1 $C4>$S4: message 7: "
}

@test "capture: --out audit judges each pickle, and the worst verdict is the exit status" {
	gen evil
	run_to P conn-pipe --in pcap --out audit "$T/evil.pcap"
	expect_exit P 12
	assert_file "$T/P.out" "1 $C4>$S4 likely safe: no globals
1 $C4>$S4 overtly malicious: imports os.system at 0 (GLOBAL); calls os.system('echo hi') at 24 (REDUCE); globals: os.system (1 call)
"
}

@test "capture: usage errors, and files that are no capture" {
	run_to P conn-pipe --port 5000
	expect_exit P 2
	assert_usage_error P '^conn-pipe: --port needs --in pcap$'
	run_to P conn-pipe --in pcap --out frames x.pcap
	expect_exit P 2
	assert_usage_error P '^conn-pipe: .*--in pcap.*--out frames'
	run_to P conn-pipe --in pcap --port 70000 x.pcap
	expect_exit P 2
	run_to L conn-listen --in pcap 127.0.0.1:0
	expect_exit L 2
	assert_usage_error L "^conn-listen: --in pcap is conn-pipe's alone$"
	run_to P conn-pipe --in pcap "$T/none.pcap"
	expect_exit P 1
	assert_err_only P "^conn-pipe: cannot open $T/none.pcap: No such file or directory$"
	printf 'not a capture at all\n' >"$T/text"
	run_to P conn-pipe --in pcap "$T/text"
	expect_exit P 5
	assert_err_only P "^conn-pipe: $T/text: "
	# A capture of 802.11 frames (link type 105): not one we read.
	"$PYTHON" -c 'import struct, sys
sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 105))' >"$T/wifi.pcap"
	run_to P conn-pipe --in pcap "$T/wifi.pcap"
	expect_exit P 5
	assert_err_only P "^conn-pipe: $T/wifi.pcap: link type 105 \(IEEE802_11\) is not one conn-pipe reads"
	# From stdin too.
	gen inorder
	spawn P --in "$T/inorder.pcap" conn-pipe --in pcap --count 1
	expect_exit P 0
	run cat "$T/P.out"
	assert_output --regexp "^1 $S4>$C4 \(challenge\) b'#CHALLENGE#"
}

# --------------------------------------------------------- real captures

# real_capture PYTHON: mp_pair.py run by PYTHON, captured; conn-pipe
# --in pcap prints the handshake labelled, then every message both ways
# as each side sent it.
real_capture() {
	local py=$1 port
	port=$(free_port)
	tcpdump_start D "$port"
	run_to M "$py" "$CONN_PEERS/mp_pair.py" "$port" secret
	expect_exit M 0
	tcpdump_stop D
	run_to P conn-pipe --in pcap --out hex --port "$port" "$T/D.pcap"
	expect_exit P 0
	[[ ! -s $T/P.err ]] || fail "$(cat "$T/P.err")"
	grep -v '^1 [^ ]* (' "$T/P.out" | sed 's/^1 //' >"$T/got"
	cmp -s "$T/got" "$T/M.out" || fail "$(diff "$T/M.out" "$T/got")"
	# The handshake: each side's challenge, the other's digest, welcome.
	run sed -n '1,6s/^1 [^ ]* (\([a-z]*\)) .*/\1/p' "$T/P.out"
	assert_output $'challenge\ndigest\nwelcome\nchallenge\ndigest\nwelcome'
}

@test "capture: tcpdump on loopback, a legacy (HMAC-MD5) Python Listener and Client: every message both ways" {
	local v py
	read -r v py < <(cpython_list | cpython_pick 3.11) || true
	[[ -n ${py:-} ]] || py=$PYTHON
	"$py" -c 'import sys; sys.exit(sys.version_info >= (3, 12))' ||
		skip "no Python 3.11 or older"
	real_capture "$py"
	# Legacy: a 20-byte challenge, a raw 16-byte MD5 digest.
	run sed -n '1s/.* (challenge) 234348414c4c454e474523//p;2s/.* (digest) //p' "$T/P.out"
	[[ ${#lines[0]} == 40 && ${#lines[1]} == 32 ]] || fail "not legacy: $output"
}

@test "capture: tcpdump on loopback, a modern (3.12+) Python Listener and Client: every message both ways" {
	local v py name
	for name in 3.13 3.12; do
		read -r v py < <(cpython_list | cpython_pick "$name") || true
		[[ -n ${py:-} ]] && break
	done
	[[ -n ${py:-} ]] || skip "no Python 3.12 or newer"
	real_capture "$py"
	run sed -n '1p' "$T/P.out"
	assert_output --regexp ' \(challenge\) 234348414c4c454e4745237b7368613235367d'
}

# ------------------------------------------------------ the capture writer

# sample_capture: $T/sample.pcap, the writer's sample (tests/unit/
# test-capture.c's write_sample(): three connections, IPv4, IPv6 and a
# Unix socket's synthetic addresses, a message of 150000 bytes).
sample_capture() {
	local unit
	unit=$(dirname "$(command -v conn-pipe)")/../tests/unit/test-capture
	[[ -x $unit ]] || skip "not run from a build tree with tests/unit/test-capture"
	"$unit" "$T/sample.pcap" >"$T/unit.out" || fail "$(grep -v '^ok' "$T/unit.out")"
}

@test "capture writer: conn-pipe --in pcap reads back every connection it recorded" {
	sample_capture
	run_to P conn-pipe --in pcap --out quoted --max-size 100 --keep-going "$T/sample.pcap"
	expect_exit P 0
	run cat "$T/P.out"
	assert_output "1 127.0.0.1:5000>127.0.0.1:40000 (challenge) b'#CHALLENGE#{sha256}0123456789012345678901234567890123456789'
1 127.0.0.1:40000>127.0.0.1:5000 (digest) b'{sha256}01234567890123456789012345678901'
1 127.0.0.1:5000>127.0.0.1:40000 (welcome) b'#WELCOME#'
2 [::1]:40001>[::1]:5001 b'over IPv6'
1 127.0.0.1:40000>127.0.0.1:5000 b'hello'
3 127.0.0.1:49155>127.0.0.2:5000 b'over a Unix socket'
3 127.0.0.2:5000>127.0.0.1:49155 b'reply'"
	# The big message is over --max-size 100: no frame of this protocol,
	# and nothing after it looks like one.
	assert_err P "^conn-pipe: warning: connection 1 127.0.0.1:5000>127.0.0.1:40000: no frame header at stream offset 76: looking for the next$"
	assert_err P "^conn-pipe: warning: connection 1 127.0.0.1:5000>127.0.0.1:40000: 150004 bytes at stream offset 76 hold no frame header$"
	run_to P conn-pipe --in pcap --out hex --port 5000 "$T/sample.pcap"
	expect_exit P 0
	run awk '/>127.0.0.1:40000 / { n = length($3) } END { print n }' "$T/P.out"
	assert_output 300000
}

@test "capture writer: tshark follows its streams, the same bytes both ways" {
	command -v tshark >/dev/null || skip "no tshark"
	sample_capture
	follow() {
		tshark -r "$T/sample.pcap" -q -z "follow,tcp,raw,$1" 2>/dev/null |
			sed -n '/^Node 1:/,/^=====/p' | sed '1d;$d'
	}
	run follow 2
	assert_output "$(printf '00000012%s\n\t00000005%s' \
		"$(printf 'over a Unix socket' | xxd -p)" "$(printf reply | xxd -p)")"
	run follow 1
	assert_output "00000009$(printf 'over IPv6' | xxd -p)"
	# Stream 0: the client's 53 bytes, the server's 150080 in all.
	follow 0 >"$T/follow0"
	run bash -c "grep -v \$'^\\t' '$T/follow0' | tr -d '\\n' | wc -c"
	assert_output $((53 * 2))
	run bash -c "grep \$'^\\t' '$T/follow0' | tr -d '\\t\\n' | wc -c"
	assert_output $((150080 * 2))
}

# ------------------------------------------------ the Wireshark dissector

LUA=$BATS_TEST_DIRNAME/../../tools/conn-tools.lua

# dissected NAME FILE PORT: tshark with tools/conn-tools.lua on FILE (PORT
# its preference), each frame as conn-pipe --in pcap --out hex prints it
# without the conversation's number, "SRC>DST [(LABEL) ]HEX", into
# $T/NAME; and the first pickle opcodes of each message, "OPCODES", in
# $T/NAME.opcodes.
dissected() {
	command -v tshark >/dev/null || skip "no tshark"
	[[ -f $LUA ]] || skip "no tools/conn-tools.lua beside the tests"
	tshark -X "lua_script:$LUA" -o "conn.port:$3" -r "$2" -Y conn -T fields \
		-E occurrence=a -E aggregator=';' -e ip.src -e ipv6.src -e tcp.srcport \
		-e ip.dst -e ipv6.dst -e tcp.dstport -e conn.kind -e conn.payload \
		-e conn.pickle.opcodes >"$T/$1.fields" 2>"$T/$1.tshark" ||
		fail "tshark: $(cat "$T/$1.tshark")"
	"$PYTHON" - "$T/$1.fields" "$T/$1" <<'PY'
import sys
out, ops = open(sys.argv[2], "w"), open(sys.argv[2] + ".opcodes", "w")
for line in open(sys.argv[1]):
    s4, s6, sp, d4, d6, dp, kinds, payloads, opcodes = line.rstrip("\n").split("\t")
    src = "%s:%s" % (s4, sp) if s4 else "[%s]:%s" % (s6, sp)
    dst = "%s:%s" % (d4, dp) if d4 else "[%s]:%s" % (d6, dp)
    for kind, payload in zip(kinds.split(";"), payloads.split(";")):
        label = "" if kind == "message" else "(%s) " % kind
        if payload == "<MISSING>":    # an empty message's payload
            payload = ""
        out.write("%s>%s %s%s\n" % (src, dst, label, payload))
    for o in filter(None, opcodes.split(";")):
        ops.write(o + "\n")
PY
}

# first_opcodes FILE: the first 5 opcode names of each pickle of conn-pipe
# --out pickle-dis's FILE, a line each.
first_opcodes() {
	"$PYTHON" - "$1" <<'PY'
import re, sys
names = []
for line in open(sys.argv[1]):
    m = re.match(r"^\S+ \S+ +\d+: \S+\s+([A-Z_0-9]+)", line)
    if m:
        names.append(m.group(1))
    elif "highest protocol among opcodes" in line:
        print(" ".join(names[:5]))
        names = []
PY
}

@test "dissector: tshark with tools/conn-tools.lua shows the frames conn-pipe --in pcap shows, on the writer's capture" {
	sample_capture
	dissected D "$T/sample.pcap" 5000
	run_to P conn-pipe --in pcap --out hex --port 5000 "$T/sample.pcap"
	expect_exit P 0
	sed 's/^[0-9]* //' "$T/P.out" >"$T/want"
	cmp -s "$T/want" "$T/D" || fail "$(diff "$T/want" "$T/D" | cut -c1-200)"
	run grep -c . "$T/D"
	assert_output 7
}

@test "dissector: tshark with tools/conn-tools.lua on tcpdump's capture of Python: frames, labels and first opcodes as conn-pipe" {
	local v py name port
	for name in 3.13 3.12 3.11; do
		read -r v py < <(cpython_list | cpython_pick "$name") || true
		[[ -n ${py:-} ]] && break
	done
	port=$(free_port)
	tcpdump_start T "$port"
	run_to M "${py:-$PYTHON}" "$CONN_PEERS/mp_pair.py" "$port" secret
	expect_exit M 0
	tcpdump_stop T
	dissected D "$T/T.pcap" "$port"
	run_to P conn-pipe --in pcap --out hex --port "$port" "$T/T.pcap"
	expect_exit P 0
	sed 's/^[0-9]* //' "$T/P.out" >"$T/want"
	cmp -s "$T/want" "$T/D" || fail "$(diff "$T/want" "$T/D" | cut -c1-200)"
	run_to P conn-pipe --in pcap --out pickle-dis --keep-going --port "$port" "$T/T.pcap"
	expect_exit P 0
	first_opcodes "$T/P.out" >"$T/want.opcodes"
	[[ -s $T/want.opcodes ]] || fail "no pickles: $(cat "$T/P.out")"
	cmp -s "$T/want.opcodes" "$T/D.opcodes" ||
		fail "$(diff "$T/want.opcodes" "$T/D.opcodes")"
}
