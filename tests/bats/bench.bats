#!/usr/bin/env bats
# conn-bench: the self-contained table, JSON output, remote peers
# (conn-listen --echo, tools/bench-peer.py), --vs-python and usage errors.

load helpers

BENCH_PEER=$BATS_TEST_DIRNAME/../../tools/bench-peer.py

# bench_peer NAME ARGS...: start tools/bench-peer.py, wait for its announce.
bench_peer() {
	local name=$1
	shift
	spawn "$name" "$PYTHON" "$BENCH_PEER" "$@"
	wait_listening "$name"
}

@test "self-contained: a table of all three workloads over unix and tcp" {
	run_to B conn-bench --duration 0.2
	expect_exit B 0 20
	for t in unix tcp; do
		for w in stream pingpong handshake; do
			grep -Eq "^conn +$t +$w " "$T/B.out" ||
				fail "no $t $w row: $(cat "$T/B.out")"
		done
	done
	grep -q 'messages/s' "$T/B.out"
	grep -q 'handshakes/s' "$T/B.out"
	assert_err B 'built-in benchmark key'
}

@test "-t SEC is --duration (iperf3's letter)" {
	run_to B conn-bench --json -t 0.2 -w pingpong --transport unix
	expect_exit B 0 20
	"$PYTHON" - "$T/B.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["start"]["duration"] == 0.2, d["start"]
EOF
	run_to T0 conn-bench -t 0
	expect_exit T0 2
	assert_usage_error T0 "^conn-bench: invalid --duration '0' \\(seconds\\)$"
}

@test "--count: exact message counts in --json, which parses" {
	run_to B conn-bench --json --count 500 --size 1K
	expect_exit B 0 20
	"$PYTHON" - "$T/B.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["start"]["size"] == 1024 and d["start"]["count"] == 500, d["start"]
rows = {(r["transport"], r["workload"]): r for r in d["results"]}
assert len(rows) == 6, rows.keys()
for (t, w), r in rows.items():
    assert r["messages"] == 500, r
    assert r["seconds"] > 0 and r["messages_per_second"] > 0, r
    if w != "handshake":
        assert r["size"] == 1024 and r["mb_per_second"] > 0, r
    if w != "stream":
        lat = r["latency_ns"]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"], lat
EOF
}

# The keys of --json's objects in their order, the reals among them, and
# the check of a real's spelling: Python's repr() of the float.
JSON_KEYS='
START = ["version", "address", "workloads", "transports", "size", "count",
         "duration", "parallel", "authkey", "vs_python", "digest",
         "timestamp", "system_info", "test_start"]
TEST_START = ["protocol", "num_streams", "blksize", "duration", "blocks",
              "reverse", "bidir"]
SUM = ["start", "seconds", "bytes", "bits_per_second"]
END = ["streams", "sum_sent", "sum_received", "sum", "cpu_utilization_percent"]
CPU = ["host_total", "host_user", "host_system", "remote_total",
       "remote_user", "remote_system"]
RESULT = ["peer", "transport", "workload", "size", "messages", "seconds",
          "messages_per_second", "mb_per_second"]
LATENCY = ["p50", "p90", "p99", "p999", "max"]
INTERVAL = ["peer", "transport", "workload", "streams", "sum"]
INTERVAL_SUM = ["start", "end", "seconds", "bytes", "bits_per_second", "messages"]
STREAM = ["socket"] + INTERVAL_SUM
END_STREAM = ["peer", "transport", "workload"] + STREAM
REALS = {"duration", "seconds", "messages_per_second", "mb_per_second",
         "handshakes_per_second", "start", "end", "bits_per_second"} | set(CPU)

def check_end(e, remote=True):
    """The end object of iperf3: three sums, the CPU of both sides."""
    assert list(e) == END, e
    for k in END[1:4]:
        assert list(e[k]) == SUM, e[k]
    for s in e["streams"]:
        assert list(s) == END_STREAM, s
    assert e["sum"]["bytes"] == e["sum_sent"]["bytes"] + e["sum_received"]["bytes"], e
    assert list(e["cpu_utilization_percent"]) == (CPU if remote else CPU[:3]), e
    assert e["cpu_utilization_percent"]["host_total"] > 0, e
    check_types(e)

def shortest_reals(text):
    """Parses text; every real in it must be spelt repr(float) (shortest)."""
    reals = []
    def real(s):
        reals.append(s)
        return float(s)
    v = json.loads(text, parse_float=real)
    bad = [s for s in reals if repr(float(s)) != s]
    assert not bad, bad
    return v, reals

def check_types(o):
    """Reals where reals belong, ints everywhere else (integers stay ints)."""
    for k, v in o.items():
        if isinstance(v, dict):
            check_types(v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            assert type(v) is (float if k in REALS else int), (k, v)
'

@test "--json: reals spelt as Python's repr() (shortest), keys and layout as before" {
	run_to B conn-bench --json --duration 0.1 -w pingpong -w handshake --transport unix
	expect_exit B 0 20
	"$PYTHON" - "$T/B.out" <<EOF
import json, sys
$JSON_KEYS
text = open(sys.argv[1]).read()
d, reals = shortest_reals(text)
assert "0.1" in reals and d["start"]["duration"] == 0.1, d["start"]
assert list(d) == ["start", "results", "intervals", "end"], list(d)
assert list(d["start"]["test_start"]) == TEST_START, d["start"]
assert list(d["start"]["timestamp"]) == ["time", "timesecs"], d["start"]
assert d["start"]["system_info"].split()[0] == "Linux", d["start"]
check_end(d["end"])
assert d["intervals"] == [], d["intervals"]
assert list(d["start"]) == START, list(d["start"])
pingpong, handshake = d["results"]
assert list(pingpong) == RESULT + ["latency_ns"], list(pingpong)
assert list(handshake) == RESULT + ["handshakes_per_second", "latency_ns"], list(handshake)
for r in pingpong, handshake:
    assert list(r["latency_ns"]) == LATENCY, r
    check_types(r)
check_types(d["start"])
# jansson's JSON_INDENT(2) layout is Python's indent=2, floats aside.
assert text == json.dumps(d, indent=2) + "\\n", text
EOF
}

@test "--json-stream: every line is a JSON event, start to end, reals shortest" {
	run_to B conn-bench --json-stream --duration 1.1 -w pingpong --transport unix
	expect_exit B 0 20
	"$PYTHON" - "$T/B.out" <<EOF
import json, sys
$JSON_KEYS
lines = open(sys.argv[1]).read().splitlines()
ev = [shortest_reals(l)[0] for l in lines]
kinds = [e["event"] for e in ev]
assert kinds[0] == "start" and kinds[-1] == "end", kinds
assert "interval" in kinds and kinds.count("result") == 1, kinds
r = [e for e in ev if e["event"] == "result"][0]
assert r["workload"] == "pingpong" and r["transport"] == "unix", r
keys = {"start": ["event", "start"], "end": ["event", "data"],
        "interval": ["event", "data"],
        "result": ["event"] + RESULT + ["latency_ns"]}
for line, e in zip(lines, ev):
    assert list(e) == keys[e["event"]], e
    if e["event"] == "interval":
        assert list(e["data"]) == INTERVAL, e
        assert list(e["data"]["sum"]) == INTERVAL_SUM, e
        assert [list(s) for s in e["data"]["streams"]] == [STREAM], e
    check_types(e)
    # jansson's JSON_COMPACT layout, floats aside.
    assert line == json.dumps(e, separators=(",", ":")), line
assert list(ev[0]["start"]) == START, ev[0]
check_end(ev[-1]["data"])
assert list(r["latency_ns"]) == LATENCY, r
EOF
}

@test "-i: an iperf3 interval line per interval per workload, in --json an intervals array, in --json-stream interval events" {
	run_to B conn-bench -t 0.3 -i 0.1 -w stream -w handshake --transport unix
	expect_exit B 0 20
	[ "$(grep -c '^\[ ID\] Interval  *Transfer  *Bitrate' "$T/B.out")" = 2 ] ||
		fail "not one header per workload: $(cat "$T/B.out")"
	n1=$(grep -cE '^\[ *[0-9]+\] +[0-9.]+-[0-9.]+ +sec .*Bytes .*bits/sec .* conn unix stream$' "$T/B.out")
	n2=$(grep -cE '^\[  1\] +[0-9.]+-[0-9.]+ +sec .* conn unix handshake$' "$T/B.out")
	[ "$n1" -ge 2 ] && [ "$n2" -ge 2 ] || fail "intervals $n1 $n2: $(cat "$T/B.out")"
	# One connection: no [SUM] line, no dashes between intervals.
	if grep -Eq '^\[SUM\]|^- - ' "$T/B.out"; then fail "$(cat "$T/B.out")"; fi
	grep -Eq '^conn +unix +stream ' "$T/B.out"
	run_to J conn-bench --json -t 0.3 -i 0.1 -w stream --transport tcp -P 2
	expect_exit J 0 20
	run_to S conn-bench --json-stream -t 0.3 -i 0.1 -w pingpong --transport unix
	expect_exit S 0 20
	"$PYTHON" - "$T/J.out" "$T/S.out" <<EOF
import json, sys
$JSON_KEYS
d, _ = shortest_reals(open(sys.argv[1]).read())
iv = d["intervals"]
assert len(iv) >= 2, iv
end = 0.0
for i in iv:
    assert list(i) == INTERVAL and list(i["sum"]) == INTERVAL_SUM, i
    s = i["sum"]
    assert s["start"] == end and s["end"] > s["start"], (end, s)
    assert s["bytes"] == 64 * s["messages"] > 0 and s["bits_per_second"] > 0, s
    check_types(i)
    end = s["end"]
assert sum(i["sum"]["messages"] for i in iv) <= d["results"][0]["messages"]
ev = [shortest_reals(l)[0] for l in open(sys.argv[2])]
assert sum(e["event"] == "interval" for e in ev) >= 2, ev
EOF
	run_to Z conn-bench --json-stream -t 0.3 -i 0 -w pingpong --transport unix
	expect_exit Z 0 20
	if grep -q interval "$T/Z.out"; then fail "-i 0: $(cat "$T/Z.out")"; fi
	run_to E conn-bench -i x
	expect_exit E 2
	assert_usage_error E "^conn-bench: invalid --interval 'x' \\(seconds\\)$"
}

@test "-P 3 -i: a line per connection (its socket) and a [SUM] line per interval; --json and --json-stream intervals and end have streams" {
	run_to B conn-bench -P 3 -t 0.4 -i 0.1 -w stream --transport unix
	expect_exit B 0 20
	run_to J conn-bench --json -P 3 -t 0.4 -i 0.1 -w stream -w handshake --transport tcp
	expect_exit J 0 20
	run_to S conn-bench --json-stream -P 3 -t 0.4 -i 0.1 -w pingpong --transport unix
	expect_exit S 0 20
	"$PYTHON" - "$T/B.out" "$T/J.out" "$T/S.out" <<EOF
import json, re, sys
$JSON_KEYS
text = open(sys.argv[1]).read().splitlines()
line = re.compile(r"^\[(SUM|[ 0-9]{3})\] +([0-9.]+)-([0-9.]+) +sec +[0-9.]+ [KMG]?Bytes +[0-9.]+ [KMG]?bits/sec +([0-9]+)  conn unix stream$")
groups, group = [], []
for l in text:
    if l.startswith("[ ID] Interval") or l.startswith("- - -"):
        continue
    m = line.match(l)
    if m is None:
        break
    group.append(m.groups())
    if m.group(1) == "SUM":
        groups.append(group)
        group = []
assert len(groups) >= 3 and group == [], text
assert sum(l.startswith("[ ID]") for l in text) == 1, text
assert sum(l.startswith("- - -") for l in text) == len(groups) - 1, text
ids = None
for g in groups:
    streams, total = g[:-1], g[-1]
    assert len(streams) == 3, g
    mine = [int(s[0]) for s in streams]
    assert len(set(mine)) == 3 and (ids is None or mine == ids), g
    ids = mine
    assert all(s[1:3] == total[1:3] for s in streams), g
    assert sum(int(s[3]) for s in streams) == int(total[3]), g

def check_interval(i, size, ids):
    assert list(i) == INTERVAL and list(i["sum"]) == INTERVAL_SUM, i
    assert [s["socket"] for s in i["streams"]] == ids, i
    for s in i["streams"]:
        assert list(s) == STREAM, s
        assert (s["start"], s["end"], s["seconds"]) == (i["sum"]["start"], i["sum"]["end"], i["sum"]["seconds"]), i
        assert s["bytes"] == size * s["messages"], s
    for k in "bytes", "messages":
        assert sum(s[k] for s in i["streams"]) == i["sum"][k], i
    check_types(i)

d, _ = shortest_reals(open(sys.argv[2]).read())
stream, handshake = d["results"]
iv = d["intervals"]
assert {i["workload"] for i in iv} == {"stream", "handshake"}, iv
sockets = [s["socket"] for s in iv[0]["streams"]]
assert len(set(sockets)) == 3, iv[0]
for i in iv:
    if i["workload"] == "stream":
        check_interval(i, 64, sockets)
    else:
        check_interval(i, 0, [1, 2, 3])
check_end(d["end"])
ends = d["end"]["streams"]
assert [(s["workload"], s["socket"]) for s in ends] == [("stream", k) for k in sockets] + [("handshake", k) for k in (1, 2, 3)], ends
assert sum(s["messages"] for s in ends[:3]) == stream["messages"], (ends, stream)
assert sum(s["messages"] for s in ends[3:]) == handshake["messages"], (ends, handshake)
assert all(s["end"] > s["start"] >= 0 and s["bits_per_second"] > 0 for s in ends[:3]), ends

ev = [shortest_reals(l)[0] for l in open(sys.argv[3])]
iv = [e["data"] for e in ev if e["event"] == "interval"]
assert len(iv) >= 3, ev
for i in iv:
    check_interval(i, 64, [s["socket"] for s in iv[0]["streams"]])
assert len(iv[0]["streams"]) == 3, iv[0]
check_end(ev[-1]["data"])
assert len(ev[-1]["data"]["streams"]) == 3, ev[-1]
EOF
}

@test "-R: our peer sends, we count exactly --count; --bidir: both ways, over -P connections each way" {
	key=$(key_file k sekrit)
	run_to R conn-bench --json -R -c 3000 -P 2 -w stream --authkey-file "$key"
	expect_exit R 0 20
	run_to D conn-bench --json --bidir -t 0.3 -i 0.1 -P 2 -w stream --transport tcp
	expect_exit D 0 20
	"$PYTHON" - "$T/R.out" "$T/D.out" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
assert len(r) == 2, r
for row in r:
    assert row["messages"] == 0 and row["received"] == 6000, row
    assert row["messages_per_second"] > 0 and row["mb_per_second"] > 0, row
d = json.load(open(sys.argv[2]))
row, = d["results"]
assert row["messages"] > 0 and row["received"] > 0, row
assert d["intervals"] and all(i["sum"]["messages"] > 0 for i in d["intervals"]), d
EOF
	run_to T conn-bench -q -R -t 0.2 -w stream -w pingpong --transport unix
	expect_exit T 0 20
	grep -Eq '^conn +unix +stream +64 +[1-9]' "$T/T.out"
	grep -Eq '^conn +unix +pingpong ' "$T/T.out"
}

@test "--bidir against conn-listen --echo counts the echoes; -R with ADDRESS, -R with --bidir, and either with --vs-python are usage errors" {
	listen L --echo 127.0.0.1:0
	run_to B conn-bench --json --bidir -w stream --count 5000 "127.0.0.1:$PORT"
	expect_exit B 0 20
	"$PYTHON" - "$T/B.out" <<'EOF'
import json, sys
row, = json.load(open(sys.argv[1]))["results"]
assert row["messages"] == 5000 and row["received"] == 5000, row
EOF
	run_to A conn-bench -R 127.0.0.1:1
	expect_exit A 2
	assert_usage_error A '^conn-bench: cannot use --reverse with ADDRESS \(an echo peer sends only what it gets; --bidir counts the echoes\)$'
	run_to C conn-bench -R --bidir
	expect_exit C 2
	assert_usage_error C '^conn-bench: cannot use --reverse with --bidir$'
	run_to V conn-bench --bidir --vs-python
	expect_exit V 2
	assert_usage_error V '^conn-bench: cannot use --bidir with --vs-python$'
}

@test "--json on failure: the results so far, end, and an error field; the exit status unchanged; --json-stream an error event" {
	listen L --echo 127.0.0.1:0
	run_to B conn-bench --json -c 100 -w stream -w pingpong "127.0.0.1:$PORT"
	expect_exit B 3 20
	run_to S conn-bench --json-stream -c 100 -w stream 127.0.0.1:1
	expect_exit S 3 20
	"$PYTHON" - "$T/B.out" "$T/S.out" <<EOF
import json, sys
$JSON_KEYS
d = json.load(open(sys.argv[1]))
assert list(d) == ["start", "results", "intervals", "end", "error"], list(d)
assert [r["workload"] for r in d["results"]] == ["stream"], d["results"]
assert "remote tcp pingpong" in d["error"] and "cannot connect" in d["error"], d["error"]
assert d["start"]["connecting_to"]["port"] > 0, d["start"]
check_end(d["end"], remote=False)
assert d["end"]["sum_sent"]["bytes"] == 6400, d["end"]
ev = [json.loads(l) for l in open(sys.argv[2])]
assert [e["event"] for e in ev] == ["start", "error", "end"], ev
assert "cannot connect" in ev[1]["data"], ev
EOF
	assert_err B 'conn-bench: remote tcp pingpong: cannot connect'
}

@test "-P 3 with a key over one transport" {
	key=$(key_file k sekrit)
	run_to B conn-bench -P 3 --count 200 --authkey-file "$key" --transport tcp
	expect_exit B 0 20
	grep -Eq '^conn +tcp +handshake ' "$T/B.out"
	refute_err B 'built-in'
}

@test "against conn-listen --echo: stream (echoes read back) and pingpong" {
	listen L --echo 127.0.0.1:0
	run_to B conn-bench -w stream --count 20000 "127.0.0.1:$PORT"
	expect_exit B 0
	grep -Eq '^remote +tcp +stream ' "$T/B.out"
	listen L2 --echo "$T/s.sock"
	run_to B2 conn-bench -w pingpong --count 300 --size 100K "$ADDR"
	expect_exit B2 0
	grep -Eq '^remote +unix +pingpong +102400 ' "$T/B2.out"
}

@test "against tools/bench-peer.py without a key: handshake skipped" {
	bench_peer P 127.0.0.1:0
	run_to B conn-bench --duration 0.2 "127.0.0.1:$PORT"
	expect_exit B 0
	grep -Eq '^remote +tcp +stream ' "$T/B.out"
	grep -Eq '^remote +tcp +pingpong ' "$T/B.out"
	! grep -q handshake "$T/B.out"
	assert_err B 'handshake workload is skipped'
}

@test "against tools/bench-peer.py with a key: all workloads; a wrong key exits 4" {
	bench_peer P --authkey sekrit 127.0.0.1:0
	CONN_AUTHKEY=sekrit run_to B conn-bench --count 100 -P 2 "127.0.0.1:$PORT"
	expect_exit B 0
	grep -Eq '^remote +tcp +handshake ' "$T/B.out"
	CONN_AUTHKEY=wrong run_to W conn-bench -w handshake --count 1 "127.0.0.1:$PORT"
	expect_exit W 4
	assert_err_only W '^conn-bench: authentication failed: .*#FAILURE#'
}

@test "--vs-python: both peers and a ratio line per workload" {
	run_to B conn-bench --vs-python --count 300 --transport unix
	expect_exit B 0 30
	for w in stream pingpong handshake; do
		grep -Eq "^python +unix +$w " "$T/B.out" || fail "no python $w row"
		grep -Eq "^ratio ours/python unix +$w +[0-9.]+x" "$T/B.out" ||
			fail "no $w ratio: $(cat "$T/B.out")"
	done
}

@test "--vs-python with a missing peer script: a clear error" {
	CONN_BENCH_PEER=/nonexistent/peer.py run_to B conn-bench -q --vs-python --count 1
	expect_exit B 2
	assert_usage_error B '^conn-bench: cannot read the python peer /nonexistent/peer.py'
}

@test "nobody listening: exit 3" {
	port=$(free_port)
	run_to B conn-bench -w pingpong --count 1 "127.0.0.1:$port"
	expect_exit B 3
	assert_err_only B '^conn-bench: remote tcp pingpong: cannot connect'
}

@test "usage errors exit 2" {
	run_to A conn-bench --size 12Q
	expect_exit A 2
	assert_usage_error A "^conn-bench: invalid --size '12Q'"
	run_to B conn-bench -w bogus
	expect_exit B 2
	assert_usage_error B "^conn-bench: unknown workload 'bogus'"
	run_to C conn-bench --transport sctp
	expect_exit C 2
	assert_usage_error C "^conn-bench: unknown transport 'sctp' \\(unix, tcp\\)$"
	run_to D conn-bench --json --json-stream
	expect_exit D 2
	assert_usage_error D '^conn-bench: cannot use --json with --json-stream$'
	run_to E conn-bench -P 0
	expect_exit E 2
	assert_usage_error E "^conn-bench: invalid --parallel '0'"
	run_to F conn-bench --frobnicate
	expect_exit F 2
	assert_usage_error F "^conn-bench: unrecognized option '--frobnicate'"
	run_to G conn-bench --vs-python 127.0.0.1:1
	expect_exit G 2
	assert_usage_error G '^conn-bench: cannot use --vs-python with ADDRESS$'
	run_to H conn-bench a b
	expect_exit H 2
	assert_usage_error H "^conn-bench: unexpected argument 'b'$"
	# Worded as the other tools word it (tool_option_error()).
	run_to I conn-bench -Z
	expect_exit I 2
	assert_usage_error I "^conn-bench: invalid option '-Z'$"
	run_to J conn-bench --duration 0
	expect_exit J 2
	assert_usage_error J "^conn-bench: invalid --duration '0' \\(seconds\\)$"
}

@test "--help and --version" {
	run_to H conn-bench --help
	expect_exit H 0
	grep -q -- '--vs-python' "$T/H.out"
	run_to V conn-bench -V
	expect_exit V 0
	grep -q '^conn-bench (conn-tools)' "$T/V.out"
}

@test "results on a full stdout: exit 1 with 'write error', in the table and in --json" {
	spawn B bash -c 'exec conn-bench -q --count 10 -w pingpong --transport unix >/dev/full'
	expect_exit B 1 20
	assert_err_only B '^conn-bench: write error: No space left on device$'
	spawn J bash -c 'exec conn-bench -q --json --count 10 -w pingpong --transport unix >/dev/full'
	expect_exit J 1 20
	assert_err_only J '^conn-bench: write error: No space left on device$'
}

@test "messages larger than the socket buffers: no deadlock" {
	run_to B conn-bench -q --size 4M --count 4 -w pingpong -w stream --transport unix
	expect_exit B 0 20
	grep -Eq '^conn +unix +pingpong +4194304 ' "$T/B.out"
}

@test "tools/bench --quick: every figure of the performance goals, medians of interleaved rounds, ratios with their min-max" {
	# the plain build's run checks the table
	skip_under_sanitizer "its timings are the sanitizer's, and callgrind cannot run it"
	local build
	build=$(cd "$(dirname "$(command -v conn-bench)")/.." && pwd)
	# run_to would stop it at 25 s: callgrind and a busy machine take more
	SPAWN_TIMEOUT=130 spawn Q "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench" --quick --build "$build" --markdown "$T/table.md"
	expect_exit Q 0 120
	for f in "unix stream 64 B" "unix stream 1 MiB" "unix pingpong p50" \
		"tcp handshakes, 4 at a time" "cli raw file, unix" \
		"cli 100,000 lines, tcp" "cli 256 MiB message -> raw, peak RSS"; do
		grep -q "^$f " "$T/Q.out" || fail "no row '$f': $(cat "$T/Q.out")"
	done
	# Medians of interleaved rounds; each ratio with its min-max.
	grep -Eq '^unix stream 64 B +msg/s +[0-9,]+ +[0-9,]+ +[0-9,]+ +[0-9.]+x \([0-9.]+-[0-9.]+\) +[0-9.]+x \([0-9.]+-[0-9.]+\) +>= 0.6x baseline, >= 100x python +(yes|NO)$' "$T/Q.out" ||
		fail "no figures and ratios: $(head -3 "$T/Q.out")"
	grep -q '^(medians of 2 interleaved rounds; ' "$T/Q.out" || fail "no footer: $(tail -2 "$T/Q.out")"
	# Instruction counts (callgrind), both ends, with their ratio.
	if command -v valgrind >/dev/null; then
		for t in unix tcp; do
			grep -Eq "^$t 64 B message, instructions +instr/msg +[0-9.,]+ +- +[0-9.,]+ +[0-9.]+x +- +<= 1.5x baseline +(yes|NO)$" "$T/Q.out" ||
				fail "no $t instruction row: $(cat "$T/Q.out")"
			grep -Eq "^$t handshake, instructions +instr/hs +- +- +[0-9.,]+ " "$T/Q.out" ||
				fail "no $t handshake instructions: $(cat "$T/Q.out")"
		done
	else
		grep -qx 'instructions: skipped, valgrind is not installed (Debian package valgrind)' "$T/Q.out"
	fi
	# README's Performance table is this table: the same columns, the
	# same rows (sizes and counts aside: --quick makes them smaller).
	"$PYTHON" - "$T/table.md" "$BATS_TEST_DIRNAME/../../README.md" <<'PY'
import re, sys
def table(lines):
    out = []
    for line in lines:
        if line.startswith('| '):
            out.append(line)
        elif out:
            break
    return out
ours = table(open(sys.argv[1]).read().splitlines())
readme = open(sys.argv[2]).read()
section = readme.split('\n## Performance\n', 1)[1].split('\n### ', 1)[0]
theirs = table(section.splitlines())
if not any(', instructions |' in line for line in ours):   # no valgrind
    theirs = [line for line in theirs if ', instructions |' not in line]
assert ours[:2] == theirs[:2], (ours[:2], theirs[:2])
def shape(line):
    cells = line.split(' | ')
    return re.sub(r'[0-9][0-9,.]*', 'N', cells[0]), cells[1], len(cells)
assert [shape(l) for l in ours] == [shape(l) for l in theirs], \
    "\n".join(ours + ["-- README.md:"] + theirs)
assert 'One run of `tools/bench` on ' in section
PY
}

@test "tools/bench-scale --quick: many authenticated clients on one conn-listen -k against a Python Listener, every message whole and in order (10 clients in bursts too), with ratios" {
	local build
	build=$(cd "$(dirname "$(command -v conn-listen)")/.." && pwd)
	[[ -x $build/tools/bench-scale-clients ]] || skip "tools/bench-scale-clients is not built"
	run_to Q "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench-scale" --quick --build "$build"
	expect_exit Q 0 120
	for f in "handshakes/s, 50 clients connecting" "fan-in msg/s, 50 x 20 messages"; do
		grep -Eq "^$f +[0-9,]+ +[0-9,]+ +[0-9.]+x +>= 4x python +(yes|NO)$" "$T/Q.out" ||
			fail "no row '$f': $(cat "$T/Q.out")"
	done
	grep -Eq '^listener RSS per idle connection, KiB +[0-9.]+ ' "$T/Q.out" || fail "no RSS row: $(cat "$T/Q.out")"
	# The goal's row (like for like: 10 clients sending 20 a burst) and the free-running one.
	grep -Eq '^listener CPU per message, 10 clients, 20 a burst, us +[0-9.]+ +- +[0-9.]+x +<= 1.5x \(50 vs 10 clients\) +(yes|NO)$' "$T/Q.out" || fail "no CPU row: $(cat "$T/Q.out")"
	grep -Eq '^listener CPU per message, 10 clients, free-running, us +[0-9.]+ +- +[0-9.]+x ' "$T/Q.out" || fail "no free-running CPU row: $(cat "$T/Q.out")"
}

@test "tools/bench-render --quick: conn-pipe --out repr against CPython, the same text, with ratios" {
	local build
	build=$(cd "$(dirname "$(command -v conn-pipe)")/.." && pwd)
	run_to Q "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench-render" --quick --build "$build" --python "$PYTHON"
	expect_exit Q 0 120
	for f in "small dicts" "floats" "str" "tuples, sets, bytes"; do
		grep -Eq "^[0-9,]+ $f \([0-9.]+ MB\)( +[0-9.]+ +[0-9.]+ +[0-9.]+x){3} +>= 3x cpu" "$T/Q.out" ||
			fail "no row '$f': $(cat "$T/Q.out")"
	done
	grep -q '^(medians of 3 interleaved rounds; python: ' "$T/Q.out" || fail "no footer: $(tail -2 "$T/Q.out")"
}

@test "tools/bench-forward --quick: conn-listen --forward against direct and against socat, with ratios" {
	local build
	build=$(cd "$(dirname "$(command -v conn-listen)")/.." && pwd)
	run_to Q "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench-forward" --quick --build "$build"
	expect_exit Q 0 240
	for f in "64 B stream +msg/s" "1 MiB stream +MB/s" "ping-pong p50 +us" "32 MiB relayed +MB/s"; do
		grep -Eq "^$f +[0-9,.]+ +[0-9,.]+ +[0-9.]+x  (>=|<=) " "$T/Q.out" ||
			fail "no row '$f': $(cat "$T/Q.out")"
	done
}

@test "tools/bench-tls --quick: plaintext, PSK and certificates side by side, with ratios" {
	command -v certtool >/dev/null || skip "no certtool (gnutls-bin)"
	local build
	build=$(cd "$(dirname "$(command -v conn-listen)")/.." && pwd)
	run_to Q "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench-tls" --quick --build "$build"
	expect_exit Q 0 240
	for f in "1 MiB stream, MB/s" "64 B stream, messages/s" "handshakes, connections/s"; do
		grep -Eq "^$f +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x +[0-9.]+x" "$T/Q.out" ||
			fail "no row '$f': $(cat "$T/Q.out")"
	done
}

@test "tools/bench-plot --quick: runs conn-bench, saves its rounds, draws them again; and draws tools/bench --json: panels with medians and min-max whiskers" {
	local build
	build=$(cd "$(dirname "$(command -v conn-bench)")/.." && pwd)
	SPAWN_TIMEOUT=130 spawn Q "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench-plot" --quick --build "$build" --json "$T/p.json" "$T/b.svg"
	expect_exit Q 0 120
	run_to R "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench-plot" "$T/p.json" "$T/r.svg"
	expect_exit R 0 20
	cmp "$T/b.svg" "$T/r.svg" || fail "the saved rounds draw another picture"
	SPAWN_TIMEOUT=130 spawn B "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench" --quick --build "$build" \
		--skip-cli --skip-instructions --skip-scale --json "$T/bench.json"
	expect_exit B 0 120
	run_to S "$PYTHON" "$BATS_TEST_DIRNAME/../../tools/bench-plot" "$T/bench.json" "$T/s.svg"
	expect_exit S 0 20
	"$PYTHON" - "$T/b.svg" "$T/s.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2000/svg}'
def load(path):
    root = ET.parse(path).getroot()
    texts = [t.text for t in root.iter(NS + 'text')]
    def count(tag, cls):
        return sum(1 for e in root.iter(NS + tag) if e.get('class') == cls)
    return root, texts, count
root, texts, count = load(sys.argv[1])
assert any('stream throughput' in t for t in texts), texts
assert any('pingpong latency' in t for t in texts), texts
assert count('g', 'panel') == 2
assert len(list(root.iter(NS + 'polyline'))) == 2
# 9 sizes x 2 transports, then 5 percentiles x 2: a median and a whisker each
assert count('circle', 'median') == 18 + 10, count('circle', 'median')
assert count('path', 'spread') == 18 + 10
# the log axis of microseconds has 1-2-5 ticks
assert any(t in texts for t in ('2', '20', '200')), texts
root, texts, count = load(sys.argv[2])
assert any('conn-tools / C baseline' in t for t in texts), texts
assert any('pingpong latency' in t for t in texts), texts
assert count('g', 'panel') == 2
# the 6 figures held to the baseline (64 B, 1 MiB, p50; unix and tcp)
assert count('path', 'goal') == 6, count('path', 'goal')
assert count('circle', 'median') == 6 + 10
assert count('path', 'spread') == 6 + 10
for f in ('unix stream 64 B', 'tcp stream 1 MiB', 'tcp pingpong p50 \u2193'):
    assert f in texts, (f, texts)
PY
}

# build_dir: the build tree whose conn-bench is first in PATH.
build_dir() {
	local bin
	bin=$(command -v conn-bench) || return 1
	bin=$(cd "$(dirname "$bin")/.." && pwd) || return 1
	[[ -f $bin/Makefile ]] || return 1
	echo "$bin"
}

@test "installed with --prefix: --vs-python finds the installed bench-peer.py, never a tools/bench-peer.py near the binary" {
	local top src inst=$T/inst
	skip_under_valgrind "configures, compiles and installs a second build"
	top=$(build_dir) || skip "not run from a build tree"
	src=$(sed -n 's/^abs_top_srcdir = //p' "$top/Makefile")
	[[ -x $src/configure ]] || skip "no configure in the source tree"
	command -v "${CC:-cc}" >/dev/null || skip "no C compiler"
	mkdir "$T/b"
	# MAKEFLAGS: not the jobserver of a make check that runs us.
	(cd "$T/b" && "$src/configure" -q --prefix="$inst" CFLAGS=-O0 &&
		env -u MAKEFLAGS -u MFLAGS make -s install) >"$T/install.log" 2>&1 ||
		skip "no scratch build here (an in-tree build?): $(tail -5 "$T/install.log")"
	[[ -r $inst/share/conn-tools/bench-peer.py ]] || fail "bench-peer.py is not installed"
	# where conn-bench used to look first, relative to its binary
	mkdir "$inst/tools" "$T/tools"
	printf 'import sys\nsys.exit("decoy peer run")\n' >"$inst/tools/bench-peer.py"
	cp "$inst/tools/bench-peer.py" "$T/tools/bench-peer.py"
	run_to B env -u CONN_BENCH_PEER "$inst/bin/conn-bench" --vs-python -w pingpong \
		--count 20 --transport unix
	expect_exit B 0 30
	grep -Eq '^python +unix +pingpong ' "$T/B.out" || fail "no python row: $(cat "$T/B.out")"
	refute_err B decoy
	# without the installed copy, an installed conn-bench looks nowhere else
	rm "$inst/share/conn-tools/bench-peer.py"
	run_to N env -u CONN_BENCH_PEER "$inst/bin/conn-bench" --vs-python -w pingpong --count 1
	expect_exit N 2
	assert_usage_error N '^conn-bench: --vs-python: cannot find bench-peer.py: give --python-peer=FILE or CONN_BENCH_PEER$'
	# CONN_BENCH_PEER relocates it
	run_to R env CONN_BENCH_PEER="$src/tools/bench-peer.py" "$inst/bin/conn-bench" \
		--vs-python -w pingpong --count 20 --transport unix
	expect_exit R 0 30
}

@test "the build tree's conn-bench finds a python peer without CONN_BENCH_PEER" {
	build_dir >/dev/null || skip "not run from a build tree"
	run_to B env -u CONN_BENCH_PEER conn-bench --vs-python -w pingpong --count 20 --transport unix
	expect_exit B 0 30
	grep -Eq '^python +unix +pingpong ' "$T/B.out" || fail "no python row: $(cat "$T/B.out")"
}

@test "conn-bench against a peer that never challenges: exit 6 naming --handshake-timeout's time, not the 10 s idle limit" {
	local k
	k=$(key_file key sekrit)
	peer P raw_peer listen 127.0.0.1:0 --hold 20
	spawn X conn-bench -q -w stream --handshake-timeout 1 --authkey-file "$k" "127.0.0.1:$PORT"
	expect_exit X 6 10
	((ELAPSED_MS < 5000)) || fail "took ${ELAPSED_MS} ms"
	assert_err_only X '^conn-bench: timeout: remote tcp stream: no challenge from the peer within 1 s: does it expect no authkey\?$'
}
