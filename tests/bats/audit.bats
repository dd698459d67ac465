#!/usr/bin/env bats
# --out audit and --pickle-policy: hand-made hostile pickles, one for each
# known way past a pickle scanner (tests/peers/hostile.py), must never be
# judged "likely safe", each gets the verdict it deserves; everyday values
# pickled by $PYTHON under every protocol are "likely safe"; conn-pipe
# exits by the worst verdict; the policy drops what it does not allow in
# conn-pipe, conn-client, conn-listen and conn-listen -k, with a warning.

load helpers

hostile() { "$PYTHON" "$CONN_PEERS/hostile.py" "$@"; }

# hex_of_case NAME: the hex of one hostile case.
hex_of_case() { hostile hostile | awk -v n="$1" '$1 == n { print $3 }'; }

# ------------------------------------------------------------------ audit

@test "audit: every hostile pickle gets its verdict, none is likely safe" {
	hostile hostile >"$T/cases"
	awk '{ print $3 }' "$T/cases" >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out audit
	expect_exit P 12
	[[ $(wc -l <"$T/P.out") == $(wc -l <"$T/cases") ]] || fail "$(wc -l <"$T/P.out") lines for $(wc -l <"$T/cases") cases"
	paste -d' ' "$T/cases" "$T/P.out" | while read -r name verdict hex line; do
		want=${verdict//_/ }
		[[ $line == "$want: "* ]] || { echo "$name: want '$want', got: $line"; }
	done >"$T/wrong"
	[[ ! -s $T/wrong ]] || fail "$(cat "$T/wrong")"
	refute grep -q '^likely safe' "$T/P.out"
}

@test "audit: everyday values under every protocol are likely safe" {
	hostile safe >"$T/cases"
	awk '{ print $2 }' "$T/cases" >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out audit
	expect_exit P 0
	paste -d' ' "$T/cases" "$T/P.out" | grep -v ' likely safe: ' >"$T/wrong" || true
	[[ ! -s $T/wrong ]] || fail "not likely safe: $(head -c 3000 "$T/wrong")"
	[[ $(wc -l <"$T/P.out") == $(wc -l <"$T/cases") ]]
}

@test "audit: everyday values pickled by every CPython 3 on the machine are likely safe" {
	local root py n=0
	root=$(pyenv root 2>/dev/null) || root=
	[[ -n $root ]] || root=${PYENV_ROOT:-$HOME/.pyenv}
	for py in "$root"/versions/3.*/bin/python3; do
		[[ -x $py ]] || continue
		"$py" -E -S "$CONN_PEERS/hostile.py" safe >"$T/cases" || fail "$py: hostile.py safe failed"
		awk '{ print $2 }' "$T/cases" >"$T/in"
		run_to P --in "$T/in" conn-pipe --in hex --out audit
		expect_exit P 0
		paste -d' ' "$T/cases" "$T/P.out" | grep -v ' likely safe: ' >"$T/wrong" || true
		[[ ! -s $T/wrong ]] || fail "$py: not likely safe: $(head -c 3000 "$T/wrong")"
		n=$((n + 1))
	done
	((n > 0)) || skip "no CPython 3 under $root/versions"
}

@test "audit: the line names each import and call with its offset and opcode" {
	echo 80049525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e656494859452942e >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out audit
	expect_exit P 12
	assert_file "$T/P.out" "overtly malicious: imports posix.system at 28 (STACK_GLOBAL); calls posix.system('echo pwned') at 45 (REDUCE); globals: posix.system (1 call)"$'\n'
}

@test "audit: a call CPython runs before the pickle turns invalid is judged" {
	hex_of_case memo-get-undefined-after-call >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out audit
	expect_exit P 12
	assert_file "$T/P.out" "overtly malicious: imports os.system at 14 (STACK_GLOBAL); calls os.system('id') at 20 (REDUCE); not a valid pickle after a call, not audited further: offset 22, opcode BINGET (0x68): memo index 7 is not defined; globals: os.system (1 call)"$'\n'
}

@test "audit: exit status by the worst verdict: 0, 10, 11, 12" {
	local safe susp unsafe bad
	safe=$("$PYTHON" -c 'import pickle; print(pickle.dumps({"a": [1]}, 4).hex())')
	susp=$(hex_of_case unused-unknown-global)
	unsafe=$(hex_of_case unknown-class-called)
	bad=$(hex_of_case inst)
	printf '%s\n' "$safe" >"$T/0"
	printf '%s\n' "$safe" "$susp" >"$T/10"
	printf '%s\n' "$susp" "$unsafe" "$safe" >"$T/11"
	printf '%s\n' "$bad" "$unsafe" "$susp" >"$T/12"
	for status in 0 10 11 12; do
		run_to "P$status" --in "$T/$status" conn-pipe --in hex --out audit
		expect_exit "P$status" "$status"
		refute_err "P$status" .
	done
	# Other formats keep their statuses.
	run_to R --in "$T/12" conn-pipe --in hex --out repr
	expect_exit R 0
}

@test "audit: a message that is no pickle is suspicious, not an error" {
	printf 'hello\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --out audit
	expect_exit P 10
	assert_file "$T/P.out" "suspicious: not a valid pickle: offset 0, opcode BINGET (0x68): memo index 101 is not defined; no globals"$'\n'
}

# ------------------------------------------------------------- audit-json

@test "audit-json: every hostile pickle, as valid JSON with the line's verdict" {
	hostile hostile >"$T/cases"
	awk '{ print $3 }' "$T/cases" >"$T/in"
	run_to L --in "$T/in" conn-pipe --in hex --out audit
	expect_exit L 12
	run_to J --in "$T/in" conn-pipe --in hex --out audit-json
	expect_exit J 12
	refute_err J .
	# Each JSON line parses, one object with each field of its type, and
	# says the verdict the line form says.
	python3 -c '
import json, sys
cases = [l.split()[0] for l in open(sys.argv[1])]
lines = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
objs = open(sys.argv[3], encoding="utf-8").read().split("\n")[:-1]
assert len(lines) == len(objs) == len(cases), (len(lines), len(objs))
names = ["likely safe", "suspicious", "likely unsafe", "overtly malicious"]
for name, line, text in zip(cases, lines, objs):
    v = json.loads(text)
    assert isinstance(v, dict), name
    assert line.startswith(v["verdict"] + ": "), (name, line, text)
    assert names.index(v["verdict"]) == v["level"], (name, text)
    assert v["verdict"] != "likely safe", name
    assert isinstance(v["decoded"], bool), name
    for f in v["findings"]:
        assert names.index(f["verdict"]) == f["level"] <= v["level"], (name, f)
        assert f["what"] in line, (name, f, line)
        if f["offset"] is not None:
            assert " at %d (%s)" % (f["offset"], f["opcode"]) in line, (name, f)
    assert max([f["level"] for f in v["findings"]] + [0]) == v["level"] or v["more_findings"], (name, text)
    for g in v["globals"]:
        assert g["name"] in line and isinstance(g["calls"], int), (name, g)
' "$T/cases" "$T/L.out" "$T/J.out" || fail "$(head -c 3000 "$T/J.out")"
}

@test "audit-json: the object names each import and call with its offset and opcode" {
	echo 80049525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e656494859452942e >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out audit-json
	expect_exit P 12
	assert_file "$T/P.out" '{"verdict": "overtly malicious", "level": 3, "decoded": true, "findings": [{"what": "imports posix.system", "verdict": "overtly malicious", "level": 3, "offset": 28, "opcode": "STACK_GLOBAL"}, {"what": "calls posix.system('"'echo pwned'"')", "verdict": "overtly malicious", "level": 3, "offset": 45, "opcode": "REDUCE"}], "more_findings": 0, "globals": [{"name": "posix.system", "calls": 1, "offset": 28, "opcode": "STACK_GLOBAL"}], "more_globals": false}'$'\n'
}

@test "audit-json: everyday values are likely safe; exit status by the worst verdict" {
	local safe susp unsafe bad
	hostile safe | awk '{ print $2 }' >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out audit-json
	expect_exit P 0
	python3 -c '
import json, sys
for text in open(sys.argv[1], encoding="utf-8"):
    assert json.loads(text)["verdict"] == "likely safe", text
' "$T/P.out" || fail "$(head -c 3000 "$T/P.out")"
	safe=$("$PYTHON" -c 'import pickle; print(pickle.dumps({"a": [1]}, 4).hex())')
	susp=$(hex_of_case unused-unknown-global)
	unsafe=$(hex_of_case unknown-class-called)
	bad=$(hex_of_case inst)
	printf '%s\n' "$safe" "$susp" >"$T/10"
	printf '%s\n' "$susp" "$unsafe" "$safe" >"$T/11"
	printf '%s\n' "$bad" "$unsafe" "$susp" >"$T/12"
	for status in 10 11 12; do
		run_to "P$status" --in "$T/$status" conn-pipe --in hex --out audit-json
		expect_exit "P$status" "$status"
		refute_err "P$status" .
	done
}

@test "audit-json: a message that is no pickle: no place, decoded false" {
	printf 'hello\n' >"$T/in"
	run_to P --in "$T/in" conn-pipe --out audit-json
	expect_exit P 10
	assert_file "$T/P.out" '{"verdict": "suspicious", "level": 1, "decoded": false, "findings": [{"what": "not a valid pickle: offset 0, opcode BINGET (0x68): memo index 101 is not defined", "verdict": "suspicious", "level": 1, "offset": null, "opcode": null}], "more_findings": 0, "globals": [], "more_globals": false}'$'\n'
}

@test "audit-json: conn-client and conn-listen -k --tag" {
	listen L -k --tag --out audit-json --max-accepts 1 127.0.0.1:0
	hex_of_case inst >"$T/in"
	run_to C --in "$T/in" conn-client --in hex "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	run grep -c '^127\.0\.0\.1:[0-9]* {"verdict": "overtly malicious", "level": 3, .*"offset": 7, "opcode": "INST"' "$T/L.out"
	assert_output 1
	# A single connection: conn-client judges what the peer sends.
	hex_of_case inst >"$T/in2"
	listen L2 --in "$T/in2" --in hex --send-only 127.0.0.1:0
	run_to C2 conn-client --recv-only --out audit-json "127.0.0.1:$PORT"
	expect_exit C2 0
	expect_exit L2 0
	python3 -c '
import json, sys
v = json.loads(open(sys.argv[1]).read())
assert v["verdict"] == "overtly malicious" and v["findings"][0]["opcode"] == "INST", v
' "$T/C2.out" || fail "$(cat "$T/C2.out")"
}

@test "audit: -k --tag prefixes each verdict with its client" {
	listen L -k --tag --out audit --max-accepts 1 127.0.0.1:0
	hex_of_case inst >"$T/in"
	run_to C --in "$T/in" conn-client --in hex "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	run grep -c '^127\.0\.0\.1:[0-9]* overtly malicious: imports os.system at 7 (INST)' "$T/L.out"
	assert_output 1
}

# ----------------------------------------------------------------- policy

policy() {
	cat >"$T/policy" <<'EOF'
# what a manager's clients may send
allow builtins.*          # ints, lists, ValueError...
allow datetime.date*
allow collections.OrderedDict
deny os.**
EOF
}

# messages FILE: an allowed pickle, a denied one, an allowed one.
messages() {
	"$PYTHON" - >"$1" <<'EOF'
import collections, datetime, pickle
print(pickle.dumps([1, datetime.date(2024, 2, 29)], 4).hex())
print('80049525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e656494859452942e')
print(pickle.dumps(collections.OrderedDict(a=1), 2).hex())
EOF
}

@test "policy: conn-pipe drops what the policy denies, with a warning, and goes on" {
	policy
	messages "$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out hex --pickle-policy "$T/policy"
	expect_exit P 0
	assert_file "$T/P.out" "$(sed -n '1p;3p' "$T/in")"$'\n'
	assert_err_only P '^conn-pipe: warning: message 2 dropped: imports posix\.system at 28 \(STACK_GLOBAL\), which the policy does not allow$'
}

@test "policy: a global no rule matches is denied; ** makes a deny list" {
	printf 'deny posix.system\nallow **\n' >"$T/policy"
	messages "$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out repr --pickle-policy "$T/policy"
	expect_exit P 0
	[[ $(wc -l <"$T/P.out") == 2 ]]
	printf 'allow builtins.list\n' >"$T/policy"
	run_to Q --in "$T/in" conn-pipe --in hex --out repr --pickle-policy "$T/policy"
	expect_exit Q 0
	[[ ! -s $T/Q.out ]]
	assert_err Q 'message 1 dropped: imports datetime\.date at [0-9]+ \(STACK_GLOBAL\)'
	assert_err Q 'message 3 dropped: imports collections\.OrderedDict at [0-9]+ \(GLOBAL\)'
}

@test "policy: persistent ids, EXT codes and what is no pickle are dropped" {
	printf 'allow **\n' >"$T/policy"
	{ hex_of_case persistent-id-text; hex_of_case ext2; echo 6869; } >"$T/in"
	run_to P --in "$T/in" conn-pipe --in hex --out hex --pickle-policy "$T/policy"
	expect_exit P 0
	[[ ! -s $T/P.out ]]
	assert_err P 'message 1 dropped: uses a persistent id at 0 \(PERSID\)'
	assert_err P 'message 2 dropped: imports an EXT code.s global at 2 \(EXT2\)'
	assert_err P 'message 3 dropped: not a pickle the policy can vouch for: '
}

@test "policy: a bad policy file is a usage error naming its line" {
	printf 'allow builtins.*\n\npermit os.system\n' >"$T/policy"
	run_to P conn-pipe --pickle-policy "$T/policy"
	expect_exit P 2
	assert_usage_error P "^conn-pipe: --pickle-policy $T/policy: line 3: 'permit' is not 'allow' or 'deny'$"
	printf 'allow os.**.x\n' >"$T/policy"
	run_to Q conn-client --pickle-policy "$T/policy" 127.0.0.1:1
	expect_exit Q 2
	assert_usage_error Q "line 1: '\*\*' must be the pattern's last part$"
	run_to R conn-listen --pickle-policy "$T/nothere" 127.0.0.1:0
	expect_exit R 2
	assert_usage_error R 'nothere: No such file or directory$'
	printf 'allow **\n' >"$T/policy"
	run_to E conn-listen --echo --pickle-policy "$T/policy" 127.0.0.1:0
	expect_exit E 2
	assert_usage_error E '^conn-listen: cannot use --pickle-policy with --echo$'
}

@test "policy: conn-client drops a denied message from the peer" {
	policy
	messages "$T/in"
	listen L --in "$T/in" --in hex --send-only 127.0.0.1:0
	run_to C conn-client --recv-only --out hex --pickle-policy "$T/policy" "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" "$(sed -n '1p;3p' "$T/in")"$'\n'
	assert_err_only C "^conn-client: warning: 127\.0\.0\.1:$PORT: message 2 dropped: imports posix\.system at 28 \(STACK_GLOBAL\)"
}

@test "policy: conn-listen -k --exec: the command gets only what the policy allows" {
	policy
	messages "$T/in"
	listen L -k --max-accepts 1 --pickle-policy "$T/policy" --in hex --out hex 127.0.0.1:0 --exec cat
	run_to C --in "$T/in" conn-client --in hex --out hex "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/C.out" "$(sed -n '1p;3p' "$T/in")"$'\n'
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 2 dropped: imports posix\.system at 28 \(STACK_GLOBAL\), which the policy does not allow$'
}

@test "policy: conn-listen and conn-listen -k drop a denied message, name the client" {
	policy
	messages "$T/in"
	listen L --pickle-policy "$T/policy" --out hex 127.0.0.1:0
	run_to C --in "$T/in" conn-client --in hex "127.0.0.1:$PORT"
	expect_exit C 0
	expect_exit L 0
	assert_file "$T/L.out" "$(sed -n '1p;3p' "$T/in")"$'\n'
	assert_err L '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 2 dropped: imports posix\.system at 28 \(STACK_GLOBAL\), which the policy does not allow$'
	listen K -k --max-accepts 1 --pickle-policy "$T/policy" --out hex 127.0.0.1:0
	run_to D --in "$T/in" conn-client --in hex "127.0.0.1:$PORT"
	expect_exit D 0
	expect_exit K 0
	assert_file "$T/K.out" "$(sed -n '1p;3p' "$T/in")"$'\n'
	assert_err K '^conn-listen: warning: 127\.0\.0\.1:[0-9]+: message 2 dropped: imports posix\.system at 28 \(STACK_GLOBAL\), which the policy does not allow$'
}
