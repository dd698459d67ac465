#!/usr/bin/env bats
# Relaying: --data, --count, half-close, --send-only/--recv-only,
# --close-on-eof, closed stdout, volume and large messages.

load helpers

@test "--data messages are sent first, in order, before stdin" {
	printf 'three\nfour\n' >"$T/in"
	peer P mp_peer listen 127.0.0.1:0 --recv-all
	run_to C --in "$T/in" conn-client --data one --data=two "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" $'one\ntwo\nthree\nfour\n'
}

@test "--data with stdin at EOF, from the listener side" {
	listen L --data 'hello there' --data '' 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --recv-all --hex-out
	expect_exit P 0
	expect_exit L 0
	assert_file "$T/P.out" "$(printf 'hello there' | xxd -p)

"
}

@test "-c N: exit 0 right after the Nth message, stdin still open" {
	peer P mp_peer listen 127.0.0.1:0 --send m1 --send m2 --send m3 --send m4 --hold 20
	spawn C --idle conn-client -c 2 "127.0.0.1:$PORT"
	expect_exit C 0 5
	assert_file "$T/C.out" $'m1\nm2\n'
}

@test "--count=1 on the listener side" {
	listen L --idle --count=1 127.0.0.1:0
	peer P mp_peer client "127.0.0.1:$PORT" --send first --send second --hold 20
	expect_exit L 0 5
	assert_file "$T/L.out" $'first\n'
}

@test "half-close: the client's stdin ends, the listener still answers after receiving everything" {
	mkfifo "$T/l.fifo"
	printf 'a\nb\n' >"$T/c.in"
	spawn L --in "$T/l.fifo" conn-listen 127.0.0.1:0
	exec 8>"$T/l.fifo"
	wait_listening L
	spawn C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	wait_lines "$T/L.out" 2
	sleep 0.3
	alive C || { finish C; fail "client exited ($STATUS) before the listener answered"; }
	alive L || fail "listener exited before answering"
	printf 'reply\n' >&8
	exec 8>&-
	expect_exit C 0 10
	expect_exit L 0 10
	assert_file "$T/L.out" $'a\nb\n'
	assert_file "$T/C.out" $'reply\n'
}

@test "half-close against Python: the peer replies after our EOF" {
	peer P mp_peer listen 127.0.0.1:0 --recv-all --after-send 'got them' --after-send bye
	printf 'a\nb\n' >"$T/c.in"
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_file "$T/P.out" $'a\nb\n'
	assert_file "$T/C.out" $'got them\nbye\n'
}

@test "peer EOF: the listener keeps sending its stdin until EOF, then exits 0" {
	mkfifo "$T/l.fifo"
	spawn L --in "$T/l.fifo" conn-listen 127.0.0.1:0
	exec 8>"$T/l.fifo"
	wait_listening L
	printf 'early\n' >&8
	spawn C conn-client "127.0.0.1:$PORT"
	wait_lines "$T/C.out" 1
	sleep 0.3
	alive L || { finish L; fail "listener exited ($STATUS) at the peer's EOF, its stdin still open"; }
	printf 'late\n' >&8
	exec 8>&-
	expect_exit L 0 10
	expect_exit C 0 10
	assert_file "$T/C.out" $'early\nlate\n'
}

@test "--send-only: received messages are read and discarded" {
	printf 'to client\n' >"$T/l.in"
	printf 'to listener\n' >"$T/c.in"
	listen L --in "$T/l.in" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client --send-only "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/L.out" $'to listener\n'
	assert_file "$T/C.out" ''
}

@test "--recv-only: stdin is not read and nothing is sent" {
	printf 'to client\n' >"$T/l.in"
	printf 'must not be sent\n' >"$T/c.in"
	listen L --in "$T/l.in" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client --recv-only "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" $'to client\n'
	assert_file "$T/L.out" ''
}

@test "--echo: every message comes back, in order, then both exit 0" {
	seq 1000 >"$T/c.in"
	listen L --echo 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" "$(seq 1000)"$'\n'
	assert_file "$T/L.out" ''
}

@test "--echo: 20 MB of raw messages both ways at once, no deadlock" {
	head -c 20000000 /dev/urandom >"$T/c.in"
	listen L --echo 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client -f raw "127.0.0.1:$PORT"
	expect_exit C 0 60
	expect_exit L 0
	[ "$(sha "$T/C.out")" = "$(sha "$T/c.in")" ] || fail "echoed bytes differ"
}

@test "--echo with --send-only or --recv-only is a usage error" {
	run conn-listen --echo --recv-only 127.0.0.1:0
	[ "$status" -eq 2 ] || fail "exit $status"
	[ "$output" = "conn-listen: cannot use --echo with --recv-only
Try 'conn-listen --help' for more information." ] || fail "$output"
}

@test "without --close-on-eof the client waits for the peer after its stdin EOF" {
	listen L --idle 127.0.0.1:0
	printf 'bye\n' >"$T/c.in"
	spawn C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	wait_lines "$T/L.out" 1
	sleep 1
	alive C || { finish C; fail "client exited ($STATUS) without waiting for the peer"; }
}

@test "--close-on-eof: exit 0 right after sending, the peer never closing" {
	listen L --idle 127.0.0.1:0
	printf 'bye\n' >"$T/c.in"
	spawn C --in "$T/c.in" conn-client --close-on-eof "127.0.0.1:$PORT"
	expect_exit C 0 5
	wait_lines "$T/L.out" 1
	assert_file "$T/L.out" $'bye\n'
}

@test "stdout closed early (| head -1): exit 0, nothing on stderr" {
	seq -f 'line %g' 1 100000 >"$T/l.in"
	listen L --in "$T/l.in" 127.0.0.1:0
	spawn C bash -c 'conn-client "$1" 2>"$2/client.err" | head -1; echo "${PIPESTATUS[0]}" >"$2/client.status"' \
		_ "127.0.0.1:$PORT" "$T"
	expect_exit C 0 10
	assert_file "$T/C.out" $'line 1\n'
	assert_file "$T/client.status" $'0\n'
	[[ ! -s $T/client.err ]] || fail "stderr not empty: $(cat "$T/client.err")"
}

@test "both sides send 50 MB at the same time: no deadlock, both arrive intact" {
	local n=50000000
	local want_l want_c
	want_c=$(yes 'from the client, 0123456789' | head -c $n | sha)
	want_l=$(yes 'from the listener' | head -c $n | sha)
	spawn L bash -c 'yes "from the listener" | head -c "$1" | conn-listen -f raw 127.0.0.1:0 | sha256sum >"$2/L.sum"; echo "${PIPESTATUS[2]}" >"$2/L.status"' _ $n "$T"
	wait_listening L
	spawn C bash -c 'yes "from the client, 0123456789" | head -c "$1" | conn-client -f raw "$3" | sha256sum >"$2/C.sum"; echo "${PIPESTATUS[2]}" >"$2/C.status"' _ $n "$T" "127.0.0.1:$PORT"
	expect_exit C 0 40
	expect_exit L 0 10
	assert_file "$T/C.status" $'0\n'
	assert_file "$T/L.status" $'0\n'
	[[ $(cut -d' ' -f1 "$T/L.sum") == "$want_c" ]] || fail "listener received something else"
	[[ $(cut -d' ' -f1 "$T/C.sum") == "$want_l" ]] || fail "client received something else"
}

@test "100,000 lines each way arrive identical (sha256)" {
	seq -f 'client line %g with some padding text' 1 100000 >"$T/c.in"
	seq -f 'listener line %g' 1 100000 >"$T/l.in"
	listen L --in "$T/l.in" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	[[ $(sha "$T/L.out") == "$(sha "$T/c.in")" ]] || fail "listener: $(wc -l <"$T/L.out") lines, differ"
	[[ $(sha "$T/C.out") == "$(sha "$T/l.in")" ]] || fail "client: $(wc -l <"$T/C.out") lines, differ"
}

@test "64 MiB random file arrives identical in raw mode" {
	head -c 64M /dev/urandom >"$T/big"
	listen L --out raw 127.0.0.1:0
	run_to C --in "$T/big" conn-client --in raw "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	[[ $(sha "$T/L.out") == "$(sha "$T/big")" ]] || fail "received $(wc -c <"$T/L.out") bytes, differ"
}

@test "64 MiB random file as one message arrives identical in frames mode" {
	head -c 64M /dev/urandom >"$T/big"
	{
		printf '\004\000\000\000'
		cat "$T/big"
	} >"$T/big.frame"
	listen L --out frames 127.0.0.1:0
	run_to C --in "$T/big.frame" conn-client --in frames "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	[[ $(sha "$T/L.out") == "$(sha "$T/big.frame")" ]] || fail "received $(wc -c <"$T/L.out") bytes, differ"
	rm -f "$T/big" "$T/big.frame" "$T/L.out"
}

@test "frames of sizes around the sender's thresholds, to a slow reader, arrive whole and in order" {
	mixed_frames "$T/in"
	slow_sink "$T/sink.py"
	spawn L bash -c 'conn-listen --out frames --max-size 4M "$@" | "$PYTHON" "$0"' \
		"$T/sink.py" 127.0.0.1:0
	wait_listening L
	run_to C --in "$T/in" conn-client --in frames --max-size 4M --send-only "$ADDR"
	expect_exit C 0 60
	expect_exit L 0 60
	[[ $(sha "$T/L.out") == "$(sha "$T/in")" ]] || fail "received $(wc -c <"$T/L.out") of $(wc -c <"$T/in") bytes, differ"
}

@test "3 GiB single message (long header) in frames mode: passes with peak RSS under 256 MiB each" {
	skip_under_valgrind "3 GiB, and the peak RSS measured would be valgrind's"
	local size=3221225472 # 0xC0000000: -1 then 8-byte length
	SPAWN_TIMEOUT=90
	spawn L bash -c '/usr/bin/time -f %M -o "$1/L.rss" conn-listen --max-size 0 --out raw 127.0.0.1:0 | wc -c >"$1/L.count"; echo "${PIPESTATUS[0]}" >"$1/L.status"' _ "$T"
	wait_listening L
	spawn C bash -c '{ printf "\377\377\377\377\000\000\000\000\300\000\000\000"; head -c "$2" /dev/zero; } |
		/usr/bin/time -f %M -o "$1/C.rss" conn-client --max-size 0 --in frames "$3"; echo "${PIPESTATUS[1]}" >"$1/C.status"' _ "$T" $size "127.0.0.1:$PORT"
	expect_exit C 0 80
	expect_exit L 0 10
	local sc sl
	sc=$(cat "$T/C.status") sl=$(cat "$T/L.status")
	[[ $sc == 0 && $sl == 0 ]] || fail "conn-client exit $sc, conn-listen exit $sl (want 0 and 0)"
	assert_file "$T/L.count" "$size
"
	local rl rc
	rl=$(tail -1 "$T/L.rss")
	rc=$(tail -1 "$T/C.rss")
	((rl < 262144)) || fail "conn-listen peak RSS ${rl} KiB"
	((rc < 262144)) || fail "conn-client peak RSS ${rc} KiB"
}

@test "SIGTERM mid-session: exit 0, complete messages flushed" {
	peer P mp_peer listen 127.0.0.1:0 --send first --send second --hold 20
	spawn C --idle conn-client "127.0.0.1:$PORT"
	wait_lines "$T/C.out" 2
	kill -TERM "$(inner_pid C)"
	expect_exit C 0 5
	assert_file "$T/C.out" $'first\nsecond\n'
}

@test "-v traces each frame: direction, length, first bytes escaped" {
	peer P mp_peer listen 127.0.0.1:0 --send-hex 610a620901 --recv-all
	run_to C conn-client -v --data hello "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit P 0
	assert_err C '^conn-client: connected to 127\.0\.0\.1:[0-9]+$'
	assert_err C '^conn-client: > 5 bytes "hello"$'
	assert_err C '^conn-client: < 5 bytes "a\\nb\\t\\x01"$'
	assert_err C '^conn-client: end of input, all sent: shutting down our sending side$'
	assert_err C '^conn-client: the peer closed its sending side after 1 messages$'
}

@test "-v: the end-of-connection count is of messages, not handshake frames (a keyed exchange, one message each way)" {
	local key
	key=$(key_file key secret)
	printf 'from listener\n' >"$T/l.in"
	printf 'from client\n' >"$T/c.in"
	listen L --in "$T/l.in" -v --authkey-file "$key" 127.0.0.1:0
	run_to C --in "$T/c.in" conn-client -v --authkey-file "$key" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" $'from listener\n'
	assert_file "$T/L.out" $'from client\n'
	assert_err C '^conn-client: authenticated: '
	assert_err C '^conn-client: the peer closed its sending side after 1 messages$'
	assert_err L '^conn-listen: the peer closed its sending side after 1 messages$'
	# the same in a -k server
	listen S --in "$T/l.in" -k --max-accepts 1 -v --authkey-file "$key" 127.0.0.1:0
	run_to D --in "$T/c.in" conn-client --authkey-file "$key" "127.0.0.1:$PORT"
	expect_exit D 0
	expect_exit S 0
	assert_err S '^conn-listen: 127\.0\.0\.1:[0-9]+: closed after 1 messages$'
}

# in_pty FILE CMD: run the shell command CMD with a terminal as its stdin,
# stdout and stderr (script(1)); FILE gets what the terminal showed.
in_pty() {
	script -qec "$2" "$1" >/dev/null </dev/null
}

@test "--progress on a terminal: lines redrawn in place, then a summary; nothing on a pipe" {
	head -c 3000000 /dev/zero >"$T/zeros"
	# script's terminal has no size: the width is $COLUMNS, wide enough here
	in_pty "$T/tty" "sh -c '(for i in 1 2 3; do cat \"$T/zeros\"; sleep 0.6; done) | COLUMNS=200 conn-pipe --progress -f raw > /dev/null'"
	grep -q $'conn-pipe: [0-9]* messages ([0-9.]* [kMG]*B) sent, [0-9]* messages ([0-9.]* [kMG]*B) received, .*/s, [0-9.]* s\r\e\[K' "$T/tty" ||
		fail "no progress line redrawn in place: $(cat -v "$T/tty")"
	grep -q 'conn-pipe: done: 138 messages (9.0 MB) sent, 138 messages (9.0 MB) received, ' "$T/tty" ||
		fail "no summary: $(cat -v "$T/tty")"
	# auto: stderr is no terminal here, so nothing
	run_to P --in "$T/zeros" conn-pipe --progress -f raw
	expect_exit P 0
	[[ ! -s $T/P.err ]] || fail "progress on a pipe: $(cat "$T/P.err")"
	# always: plain lines, the summary last
	run_to A --in "$T/zeros" conn-pipe --progress=always -f raw
	expect_exit A 0
	[[ $(tail -1 "$T/A.err") == 'conn-pipe: done: 46 messages (3.0 MB) sent, 46 messages (3.0 MB) received, '* ]] ||
		fail "$(cat "$T/A.err")"
	run_to B conn-pipe --progress=sometimes
	expect_exit B 2
	assert_usage_error B "^conn-pipe: invalid --progress 'sometimes' \\(auto, always, never\\)$"
}

# sized_pty COLS ROWS FILE CMD...: run CMD on a terminal COLS wide (0: of
# no known size), without $COLUMNS unless CMD sets it; what it draws there
# goes to FILE.
sized_pty() {
	"$PYTHON" - "$@" <<'EOF'
import fcntl, os, pty, struct, sys, termios
cols, rows, path, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.environ.pop('COLUMNS', None)
    os.execvp(cmd[0], cmd)
out = b''
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
open(path, 'wb').write(out)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
EOF
}

# progress_fits FILE WIDTH: every progress line drawn in FILE (each ends
# at the next "\r\e[K") is at most WIDTH - 1 columns, so none wrapped; there
# are some, and the summary comes last, whole.  Prints the drawn lines.
progress_fits() {
	"$PYTHON" - "$@" <<'EOF'
import re, sys
text = open(sys.argv[1], 'rb').read().decode()
width = int(sys.argv[2])
parts = text.replace('\r\n', '\n').split('\r\x1b[K')
drawn, last = parts[:-1], parts[-1]
if not drawn:
    sys.exit('no progress line redrawn: %r' % text)
for line in drawn:
    print(line)
    if '\n' in line or len(line) > width - 1:
        sys.exit('%d columns (more than %d): %r' % (len(line), width - 1, line))
if not re.fullmatch(r'conn-pipe: done: \d+ messages \([\d.]+ k?M?B\) sent, \d+ messages '
                    r'\([\d.]+ k?M?B\) received, [\d.]+ [kMG]?B/s, [\d.]+ s\n', last):
    sys.exit('no whole summary last: %r' % last)
EOF
}

@test "--progress on a terminal fits its width: at 40, 80 and 200 columns no redrawn line wraps" {
	head -c 3000000 /dev/zero >"$T/zeros"
	local feed="for i in 1 2; do cat '$T/zeros'; sleep 0.7; done"
	local w
	for w in 40 80 200; do
		sized_pty "$w" 24 "$T/tty$w" sh -c "($feed) | conn-pipe --progress=always -f raw >/dev/null" ||
			fail "exit $? at $w columns: $(cat -v "$T/tty$w")"
		progress_fits "$T/tty$w" "$w" >"$T/lines$w" || fail "at $w columns: $(cat "$T/lines$w")"
	done
	# what goes first: the rate, then the time, then the bytes
	grep -Eq '^conn-pipe: [0-9]+ messages \([0-9.]+ [kM]?B\) sent, [0-9]+ messages \([0-9.]+ [kM]?B\) received, [0-9.]+ [kMG]?B/s, [0-9.]+ s$' "$T/lines200" ||
		fail "200 columns: not all of it: $(cat "$T/lines200")"
	grep -Eq '^conn-pipe: [0-9]+ messages \([0-9.]+ [kM]?B\) sent, [0-9]+ messages \([0-9.]+ [kM]?B\) received, [0-9.]+ s$' "$T/lines80" ||
		fail "80 columns: not without the rate: $(cat "$T/lines80")"
	grep -Eq '^conn-pipe: [0-9]+ sent, [0-9]+ received$' "$T/lines40" ||
		fail "40 columns: not the counts alone: $(cat "$T/lines40")"
	# a terminal of no known size: $COLUMNS, else 80
	sized_pty 0 0 "$T/ttyenv" sh -c "($feed) | COLUMNS=50 conn-pipe --progress -f raw >/dev/null"
	progress_fits "$T/ttyenv" 50 >"$T/linesenv" || fail "COLUMNS=50: $(cat "$T/linesenv")"
	sized_pty 0 0 "$T/tty0" sh -c "($feed) | conn-pipe --progress -f raw >/dev/null"
	progress_fits "$T/tty0" 80 >"$T/lines0" || fail "no size, no COLUMNS: $(cat "$T/lines0")"
	grep -Eq ' received, [0-9.]+ s$' "$T/lines0" || fail "no size, no COLUMNS: not 80 columns: $(cat "$T/lines0")"
}

@test "--progress=always on conn-client and conn-listen (-k too): the summary counts both ways" {
	listen L --progress=always --data hi 127.0.0.1:0
	run_to C --in /dev/null conn-client --progress=always --data a --data b "$ADDR"
	expect_exit C 0
	expect_exit L 0
	assert_err C '^conn-client: done: 2 messages \(2 B\) sent, 1 messages \(2 B\) received, '
	assert_err L '^conn-listen: done: 1 messages \(2 B\) sent, 2 messages \(2 B\) received, '
	listen K --progress=always -k --max-accepts 1 127.0.0.1:0
	run_to D conn-client --data xyz --close-on-eof "$ADDR"
	expect_exit D 0
	expect_exit K 0
	assert_err K '^conn-listen: done: 0 messages \(0 B\) sent, 1 messages \(3 B\) received, '
}
