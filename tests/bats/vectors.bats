#!/usr/bin/env bats
# The test vectors: tests/vectors/generate.py computes them with this
# machine's CPython (every other test reads them from CONN_VECTORS), and
# tests/vectors/compare.py compares them, section by section and entry by
# entry, with reference vectors computed elsewhere (CONN_SHARED_VECTORS:
# configure --with-vectors, default ../shared/vectors).  Without the
# reference directory the cross-check tests skip, saying so.

load helpers

GENERATE=$BATS_TEST_DIRNAME/../vectors/generate.py
COMPARE=$BATS_TEST_DIRNAME/../vectors/compare.py
FILES="frames.json auth.json pickles.json"

# cross_check SECTION: compare.py's verdict on SECTION of the generated
# vectors against the shared ones; a difference fails, naming its entry.
cross_check() {
	[[ -n $CONN_SHARED_VECTORS ]] ||
		skip "the cross-check is off (configure --without-vectors); the generated ones were checked by the other tests"
	[[ -d $CONN_SHARED_VECTORS ]] ||
		skip "no shared vectors at $CONN_SHARED_VECTORS; the generated ones were checked by the other tests"
	run_to X "$PYTHON" "$COMPARE" "$CONN_VECTORS" "$CONN_SHARED_VECTORS" "$1"
	[[ $STATUS == 0 ]] || fail "the generated vectors ($CONN_VECTORS) differ from $CONN_SHARED_VECTORS (exit $STATUS):
$(head -c 6000 "$T/X.out")$(cat "$T/X.err")"
	grep -q ' 0 differences$' "$T/X.out" || fail "$(cat "$T/X.out")"
}

# tampered SECTION EDIT: a copy of the generated vectors in $T/ref, with the
# python statement EDIT applied to the document d of pickles.json; then
# compare.py's run on SECTION as X.
tampered() {
	mkdir -p "$T/ref"
	for f in $FILES; do cp "$CONN_VECTORS/$f" "$T/ref/$f"; done
	"$PYTHON" - "$T/ref/pickles.json" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(d, open(sys.argv[1], 'w'), indent=1)
EOF
	run_to X "$PYTHON" "$COMPARE" "$CONN_VECTORS" "$T/ref" "$1"
}

# ------------------------------------------------------ the generator

@test "vectors: generate.py writes the three files, each run the same (fixed random bytes), as CONN_VECTORS holds" {
	run_to G "$PYTHON" "$GENERATE" "$T/gen/new"
	expect_exit G 0
	[[ ! -s $T/G.out && ! -s $T/G.err ]] || fail "output: $(cat "$T/G.out" "$T/G.err")"
	for f in $FILES; do
		cmp "$T/gen/new/$f" "$CONN_VECTORS/$f" || fail "$f differs from $CONN_VECTORS/$f"
	done
	[[ $(ls "$T/gen/new") == $'auth.json\nframes.json\npickles.json' ]] ||
		fail "left behind: $(ls "$T/gen/new")"
}

@test "vectors: generate.py covers every digest in both challenge styles, the 2 GiB boundary and pickle protocols 0-5" {
	"$PYTHON" - "$CONN_VECTORS" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1] + '/auth.json'))
styles = {(r['style'], r['digest']) for r in a['responses']}
want = {('legacy', 'md5')} | {('modern', d) for d in
                              ('md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384')}
assert styles == want, styles
assert len(a['transcript_modern_mutual']['steps']) == 6
f = json.load(open(sys.argv[1] + '/frames.json'))
headers = {x['length']: x['header_hex'] for x in f['frames']}
assert headers[2**31] == 'ffffffff0000000080000000', headers
assert headers[2**31 - 1] == '7fffffff', headers
p = json.load(open(sys.argv[1] + '/pickles.json'))
assert len(p['pickles']) >= 45, len(p['pickles'])
for v in p['pickles']:
    assert sorted(v['by_protocol']) == ['0', '1', '2', '3', '4', '5'], v['name']
assert p['dangerous'][0]['pickle_hex'].startswith('8004'), p['dangerous']
EOF
}

@test "vectors: generate.py without OUTDIR, or with an unwritable one, fails with one line" {
	run_to U "$PYTHON" "$GENERATE"
	expect_exit U 2
	assert_file "$T/U.err" "usage: generate.py OUTDIR
"
	: >"$T/file"
	run_to W "$PYTHON" "$GENERATE" "$T/file/sub"
	expect_exit W 1
	[[ $(wc -l <"$T/W.err") == 1 ]] && grep -q "^generate.py: .*$T/file/sub" "$T/W.err" ||
		fail "stderr: $(cat "$T/W.err")"
}

# ------------------------------------------------------- the comparer

@test "vectors: compare.py names each entry and field that differs, and what is missing" {
	tampered pickles-3 "
v = d['pickles'][[v['name'] for v in d['pickles']].index('dict')]['by_protocol']
v['3'] = v['3'][:20] + 'x' + v['3'][21:]
v['4'] = '80042e'
d['pickles'] = [v for v in d['pickles'] if v['name'] != 'complex']
d['pickles'].append({'name': 'extra', 'python_repr': '0', 'by_protocol': {'3': '80034b002e'}})"
	expect_exit X 1
	grep -q "^'dict', protocol 3: pickle_hex: differ from character 20 (lengths 118 and 118): generated ...\"[0-9a-f]*\.\.\., shared ...\"x[0-9a-f]*\.\.\.$" "$T/X.out" ||
		fail "$(cat "$T/X.out")"
	grep -q "^'complex', protocol 3: only in the generated vectors$" "$T/X.out" || fail "$(cat "$T/X.out")"
	grep -q "^'extra', protocol 3: only in the shared vectors$" "$T/X.out" || fail "$(cat "$T/X.out")"
	grep -q "^pickles.json pickles-3: 43 of 45 entries agree, 3 differences$" "$T/X.out" ||
		fail "$(cat "$T/X.out")"
	grep -q "^note: both made by CPython [0-9.]*: a real difference$" "$T/X.out" || fail "$(cat "$T/X.out")"
	# Each protocol is its own section.
	run_to Y "$PYTHON" "$COMPARE" "$CONN_VECTORS" "$T/ref" pickles-4
	expect_exit Y 1
	grep -q "^'dict', protocol 4: pickle_hex: differ from character 4 (lengths 104 and 6): generated ...\"9529[0-9a-f]*\.\.\., shared ...\"2e\"$" "$T/Y.out" ||
		fail "$(cat "$T/Y.out")"
	run_to Z "$PYTHON" "$COMPARE" "$CONN_VECTORS" "$T/ref" pickles-2
	expect_exit Z 1
	grep -q "^'complex', protocol 2: only in the generated vectors$" "$T/Z.out" || fail "$(cat "$T/Z.out")"
	! grep -q "'dict'" "$T/Z.out" || fail "$(cat "$T/Z.out")"
}

@test "vectors: compare.py says when the reference came from another Python version" {
	tampered pickles-repr "
d['about'] = d['about'].replace('from CPython', 'from CPython 2.0.1; was')
d['pickles'][0]['python_repr'] = 'something else'"
	expect_exit X 1
	grep -q "^'seed example': python_repr: generated \"\[2.25" "$T/X.out" || fail "$(cat "$T/X.out")"
	grep -q "^note: generated by CPython [0-9.]*, the shared vectors by CPython 2.0.1: pickle bytes (and, rarely, repr) legitimately differ across Python versions$" "$T/X.out" ||
		fail "$(cat "$T/X.out")"
}

@test "vectors: compare.py agrees with itself, and fails with one line on a missing file or a bad section" {
	run_to S "$PYTHON" "$COMPARE" "$CONN_VECTORS" "$CONN_VECTORS" auth-modern
	expect_exit S 0
	assert_file "$T/S.out" "auth.json auth-modern: 20 of 20 entries agree, 0 differences
"
	run_to M "$PYTHON" "$COMPARE" "$CONN_VECTORS" "$T/none" frames
	expect_exit M 1
	[[ $(wc -l <"$T/M.err") == 1 ]] && grep -q "^compare.py: cannot read $T/none/frames.json: " "$T/M.err" ||
		fail "stderr: $(cat "$T/M.err")"
	run_to B "$PYTHON" "$COMPARE" "$CONN_VECTORS" "$CONN_VECTORS" pickles-6
	expect_exit B 2
	grep -q '^usage: compare.py ' "$T/B.err" || fail "stderr: $(cat "$T/B.err")"
}

# -------------------------------- the cross-check with shared/vectors

@test "cross-check: frames.json, every frame and header, as the shared vectors" {
	cross_check frames
}

@test "cross-check: auth.json constants, as the shared vectors" {
	cross_check auth-constants
}

@test "cross-check: auth.json legacy (raw HMAC-MD5) responses, as the shared vectors" {
	cross_check auth-legacy
}

@test "cross-check: auth.json modern ({digest}) responses, as the shared vectors" {
	cross_check auth-modern
}

@test "cross-check: auth.json mutual handshake transcript, as the shared vectors" {
	cross_check auth-transcript
}

@test "cross-check: pickles.json bytes under protocol 0, as the shared vectors" {
	cross_check pickles-0
}

@test "cross-check: pickles.json bytes under protocol 1, as the shared vectors" {
	cross_check pickles-1
}

@test "cross-check: pickles.json bytes under protocol 2, as the shared vectors" {
	cross_check pickles-2
}

@test "cross-check: pickles.json bytes under protocol 3, as the shared vectors" {
	cross_check pickles-3
}

@test "cross-check: pickles.json bytes under protocol 4, as the shared vectors" {
	cross_check pickles-4
}

@test "cross-check: pickles.json bytes under protocol 5, as the shared vectors" {
	cross_check pickles-5
}

@test "cross-check: pickles.json repr() of every object, as the shared vectors" {
	cross_check pickles-repr
}

@test "cross-check: pickles.json dangerous pickle, as the shared vectors" {
	cross_check pickles-dangerous
}
