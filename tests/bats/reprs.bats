#!/usr/bin/env bats
# repr() fidelity against real senders: every CPython on the machine
# pickles the objects of each tests/peers/reprs_*.py case file under every
# protocol it has (tests/peers/reprs.py), and `conn-pipe --in hex --out
# repr` must print what that interpreter's repr() prints (or the readable
# form the case documents).  One test per interpreter name; a missing one
# skips by name.

load helpers
load "$BATS_TEST_DIRNAME/../cpython/cpython"

# reprs_check NAME: all case files under the interpreter for NAME.
reprs_check() {
	local found py ver
	found=$(cpython_list | cpython_pick "$1")
	[[ -n $found ]] || skip "$(cpython_title "$1"): not found on this machine"
	py=${found#* }
	# -E only: numpy's cases need the interpreter's site-packages.
	# (numpy's multi-line reprs have their own test below)
	"$py" -E "$CONN_PEERS/reprs.py" $(ls "$CONN_PEERS"/reprs_*.py |
		grep -v /reprs_numpy.py) >"$T/cases" ||
		fail "$py: the oracle failed"
	"$PYTHON" - "$T/cases" "$T" <<'PY'
import json, pickle, sys
with open(sys.argv[2] + '/hex', 'w') as h, open(sys.argv[2] + '/want', 'w') as w:
    for line in open(sys.argv[1]):
        c = json.loads(line)
        if c['repr'] is None:       # Python 2's: what Python 3 loads
            try:
                c['repr'] = repr(pickle.loads(bytes.fromhex(c['pickle'])))
            except Exception:
                continue
        h.write(c['pickle'] + '\n')
        w.write('%s, protocol %d: %s\n' % (c['name'], c['protocol'], c['repr']))
PY
	# OrderedDict's and exceptions' repr() changed: the interpreter's
	# (Python 2's pickles are shown as the suite's python3 loads them)
	ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	[[ $ver != 2.* ]] ||
		ver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	run_to P --in "$T/hex" conn-pipe --keep-going --in hex --out repr --python-repr "$ver"
	expect_exit P 0
	paste -d '\0' <(sed 's/: .*/: /' "$T/want") "$T/P.out" >"$T/got"
	diff "$T/want" "$T/got" >"$T/diff" ||
		fail "$(grep -c '^<' "$T/diff") of $(wc -l <"$T/want") differ (< $py's repr, > conn-pipe):
$(head -60 "$T/diff")"
}

@test "reprs: python2.7's pickles print as its repr()" { reprs_check 2.7; }
@test "reprs: python3.6's pickles print as its repr()" { reprs_check 3.6; }
@test "reprs: python3.7's pickles print as its repr()" { reprs_check 3.7; }
@test "reprs: python3.8's pickles print as its repr()" { reprs_check 3.8; }
@test "reprs: python3.9's pickles print as its repr()" { reprs_check 3.9; }
@test "reprs: python3.10's pickles print as its repr()" { reprs_check 3.10; }
@test "reprs: python3.11's pickles print as its repr()" { reprs_check 3.11; }
@test "reprs: python3.12's pickles print as its repr()" { reprs_check 3.12; }
@test "reprs: python3.13's pickles print as its repr()" { reprs_check 3.13; }
@test "reprs: python3.14's pickles print as its repr()" { reprs_check 3.14; }

# numpy_cases: tests/peers/reprs_numpy.py's pickles under Debian's
# python3 with python3-numpy (every protocol: numpy pickles the same
# recipe from 2 on, 0 and 1 spell it differently) into $T/cases, their
# hex into $T/hex and numpy's reprs one after another into $T/want (2-D
# reprs span lines); skips by name without numpy.
numpy_cases() {
	py=/usr/bin/python3
	[[ -x $py ]] && "$py" -E -c 'import numpy' 2>/dev/null ||
		skip "numpy: not importable by /usr/bin/python3 (python3-numpy)"
	"$py" -E "$CONN_PEERS/reprs.py" "$CONN_PEERS/reprs_numpy.py" >"$T/cases" ||
		fail "$py: the oracle failed"
	"$py" -E - "$T/cases" "$T" <<'PY'
import json, sys
with open(sys.argv[2] + '/hex', 'w') as h, open(sys.argv[2] + '/want', 'w') as w:
    for line in open(sys.argv[1]):
        c = json.loads(line)
        h.write(c['pickle'] + '\n')
        w.write(c['repr'] + '\n')
PY
	[[ $(wc -l <"$T/hex") -ge 300 ]] || fail "too few cases: $(wc -l <"$T/hex")"
}

@test "reprs: numpy's pickles print as numpy's repr()" {
	local py
	numpy_cases
	run_to P --in "$T/hex" conn-pipe --keep-going --in hex --out repr
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" ||
		fail "$(grep -c '^<' "$T/diff") lines differ (< numpy's repr, > conn-pipe):
$(head -60 "$T/diff")"
}

# --out json of the same cases: an array is its dtype.str, shape and
# tolist() (nan and inf tagged), a scalar its item(), a dtype its str.
@test "reprs: numpy's pickles as --out json are dtype, shape and tolist()" {
	local py
	numpy_cases
	run_to P --in "$T/hex" conn-pipe --keep-going --in hex --out json
	expect_exit P 0
	"$py" -E - "$T/cases" "$T/P.out" <<'PY' || fail "$(cat "$T/P.out.bad")"
import base64, json, math, pickle, sys
import numpy as np

def tagged(x):
    if isinstance(x, bytes):
        return {'__bytes__': base64.b64encode(x).decode()}
    if isinstance(x, list):
        return [tagged(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return {'__float__': 'nan' if x != x else ('inf' if x > 0 else '-inf')}
    if isinstance(x, complex):
        return {'__complex__': [tagged(x.real), tagged(x.imag)]}
    return x

# object arrays of items tagged in JSON (a tuple, bytes) or that tolist()
# cannot take (an array holding itself): not compared here
TAGGED = ('object lists, tuples, dicts', 'object array holding itself')
bad = []
for case, got in zip(open(sys.argv[1]), open(sys.argv[2])):
    c = json.loads(case)
    if c['name'] in TAGGED:
        continue
    obj = pickle.loads(bytes.fromhex(c['pickle']))
    if isinstance(obj, np.ndarray):
        want = {'__ndarray__': {'dtype': obj.dtype.str, 'shape': list(obj.shape),
                                'data': tagged(obj.tolist())}}
    elif isinstance(obj, np.dtype):
        want = {'__dtype__': obj.str}
    else:
        want = tagged(obj.item())
    if json.loads(got) != want:
        bad.append('%s, protocol %d: %s' % (c['name'], c['protocol'], got[:200]))
with open(sys.argv[2] + '.bad', 'w') as f:
    f.write('\n'.join(bad[:20]))
sys.exit(1 if bad else 0)
PY
}

# The arrays numpy's repr() cannot be matched on from the pickle alone
# (structured, datetime64 and timedelta64, longdouble, an
# object array whose item spans lines) print as the documented readable
# form, their recipe: _reconstruct(...).__setstate__((1, shape, dtype
# recipe, fortran, data)), or at protocol 5 (for what numpy gives as a
# buffer) _frombuffer(bytearray(...), ...); --out json tags it
# {"__repr__": ...}.
@test "reprs: numpy arrays not matched print as their readable recipe" {
	local py=/usr/bin/python3 name dtype proto want
	[[ -x $py ]] && "$py" -E -c 'import numpy' 2>/dev/null ||
		skip "numpy: not importable by /usr/bin/python3 (python3-numpy)"
	"$py" -E - "$T" <<'PY' || fail "$py: the cases failed"
import pickle, sys
import numpy as np
nested = np.empty(1, dtype=object)
nested[0] = np.array([[1, 2], [3, 4]])
cases = [('structured', np.array([(1, 2.0)], dtype=[('x', 'i4'), ('y', 'f8')])),
         ('datetime64', np.array(['2024-01-01'], dtype='M8[D]')),
         ('timedelta64', np.array([5], dtype='m8[s]')),
         ('longdouble', np.array([1.5], dtype=np.longdouble)),
         ('nested', nested)]
for name, obj in cases:
    for proto in (2, 5):
        with open('%s/%s-%d' % (sys.argv[1], name, proto), 'w') as f:
            f.write(pickle.dumps(obj, proto).hex() + '\n')
PY
	for name in structured:V12 datetime64:M8 timedelta64:m8 \
		longdouble:f16 nested:O8; do
		dtype=${name#*:} name=${name%%:*}
		for proto in 2 5; do
			run_to P --in "$T/$name-$proto" conn-pipe --in hex --out repr
			expect_exit P 0
			grep -Eq "^numpy\.core\.(multiarray\._reconstruct\(<class 'numpy\.ndarray'>, \(0,\), b'b'\)\.__setstate__\(\(1, \(|numeric\._frombuffer\(bytearray\(b')" "$T/P.out" ||
				fail "$name, protocol $proto: $(cat "$T/P.out")"
			[[ $dtype == O8 ]] && want="dtype('O'), False, [array([[1, 2]," ||
				want="numpy.dtype('$dtype', False, True).__setstate__(("
			grep -qF "$want" "$T/P.out" ||
				fail "$name, protocol $proto: no $want: $(cat "$T/P.out")"
			run_to J --in "$T/$name-$proto" conn-pipe --in hex --out json
			expect_exit J 0
			# (the object array's JSON needs no layout: an __ndarray__)
			[[ $dtype == O8 ]] && want='{"__ndarray__": {"dtype": "|O", ' ||
				want='{"__repr__": "numpy.core.'
			[[ $(head -c ${#want} "$T/J.out") == "$want" ]] ||
				fail "$name, protocol $proto, json: $(cat "$T/J.out")"
		done
	done
}

# numpy 2 is not installable here: tests/peers/numpy2_pickles.py renames
# the modules of numpy 1.x's pickles as numpy 2 writes them (numpy._core)
# and states numpy 2's repr() from its rules (NEP 51 scalars:
# np.float64(1.5), np.True_; arrays and dtypes unchanged).  The pickle
# says which numpy made it, and conn-pipe prints that numpy's repr().
@test "reprs: numpy 2's pickles (numpy._core) print as numpy 2's repr()" {
	local py=/usr/bin/python3
	[[ -x $py ]] && "$py" -E -c 'import numpy' 2>/dev/null ||
		skip "numpy: not importable by /usr/bin/python3 (python3-numpy)"
	"$py" -E "$CONN_PEERS/numpy2_pickles.py" "$T/hex" "$T/want" ||
		fail "$py: numpy2_pickles.py failed"
	[[ $(wc -l <"$T/hex") -ge 300 ]] || fail "too few cases: $(wc -l <"$T/hex")"
	grep -q '^np\.float64(1\.5)$' "$T/want" || fail "no numpy 2 scalar in the cases"
	run_to P --in "$T/hex" conn-pipe --keep-going --in hex --out repr
	expect_exit P 0
	diff "$T/want" "$T/P.out" >"$T/diff" ||
		fail "$(grep -c '^<' "$T/diff") lines differ (< numpy 2's repr, > conn-pipe):
$(head -60 "$T/diff")"
}

# ------------------------------------------------------- managers' replies

# mr_create VAR TYPEID-AND-ARGS: one conn-client connection asking the
# manager at $PORT to create an object, its ident into VAR.
mr_create() {
	printf '[null, "create", [%s], {}]\n' "$2" >"$T/create-$1.in"
	run_to "create-$1" --in "$T/create-$1.in" conn-client \
		--authkey-file "$KEYFILE" --in json --out repr "127.0.0.1:$PORT"
	expect_exit "create-$1" 0
	local id
	id=$(sed -n "s/^('#RETURN', ('\([0-9a-f]*\)', .*/\1/p" "$T/create-$1.out")
	[[ -n $id ]] || fail "create $2: $(cat "$T/create-$1.out")"
	printf -v "$1" %s "$id"
}

# manager_replies_check NAME: a real SyncManager server under the
# interpreter for NAME (tests/peers/manager_replies.py) answers one
# connection's requests; conn-client --out repr must print each reply as
# that interpreter's repr() of what it unpickles from the same requests
# (replayed by the script on a connection of its own): '#ERROR' with
# KeyError, _queue.Empty and AttributeError, '#TRACEBACK', '#PROXY' with
# its Token, a dict's keys(), values() and items() (list(...)), a
# Namespace.  Python 2's replies are not covered (Python 3 shows them
# otherwise than Python 2's repr()).
manager_replies_check() {
	local found py ver D Q H N
	found=$(cpython_list | cpython_pick "$1")
	[[ -n $found ]] || skip "$(cpython_title "$1"): not found on this machine"
	py=${found#* }
	spawn M "$py" -E -S "$CONN_PEERS/manager_replies.py" serve \
		--authkey "manager key" --timeout 60
	wait_listening M
	KEYFILE=$(key_file key "manager key")
	mr_create D '"dict", {"a": 1, "b": [2, 3.5]}'
	mr_create Q '"Queue"'
	mr_create H '"Holder"'
	mr_create N '"Namespace"'
	printf '%s\n' '[null, "accept_connection", ["replies"], {}]' \
		"[\"$D\", \"keys\", [], {}]" \
		"[\"$D\", \"values\", [], {}]" \
		"[\"$D\", \"items\", [], {}]" \
		"[\"$D\", \"__getitem__\", [\"missing\"], {}]" \
		"[\"$D\", \"no_such_method\", [], {}]" \
		"[\"$Q\", \"get_nowait\", [], {}]" \
		"[\"$H\", \"child\", [], {}]" \
		"[\"$H\", \"namespace\", [], {}]" \
		"[\"$N\", \"__getattribute__\", [\"missing\"], {}]" >"$T/requests"
	"$py" -E -S "$CONN_PEERS/manager_replies.py" replay "$PORT" "manager key" \
		"$T/requests" >"$T/want" || fail "$py: the replay failed"
	ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	# --count: a 3.6-3.9 server does not close a connection at its EOF
	run_to R --in "$T/requests" conn-client --authkey-file "$KEYFILE" \
		--in json --out repr --python-repr "$ver" \
		--count "$(wc -l <"$T/requests")" "127.0.0.1:$PORT"
	expect_exit R 0
	diff "$T/want" "$T/R.out" >"$T/diff" ||
		fail "$(grep -c '^<' "$T/diff") of $(wc -l <"$T/want") differ (< $py's repr, > conn-client):
$(cat "$T/diff")"
	# the replies are the ones meant
	local want
	for want in "('#RETURN', ['a', 'b'])" "('#RETURN', [1, [2, 3.5]])" \
		"('#RETURN', [('a', 1), ('b', [2, 3.5])])" \
		"('#ERROR', Empty())" \
		"('#RETURN', Namespace(a=1, b='x'))"; do
		grep -qxF "$want" "$T/R.out" || fail "no $want in: $(cat "$T/R.out")"
	done
	# 3.6's exceptions print a trailing comma
	grep -Eqx "\('#ERROR', KeyError\('missing',?\)\)" "$T/R.out" ||
		fail "no KeyError: $(cat "$T/R.out")"
	grep -q "^('#TRACEBACK', 'Traceback (most recent call last):" "$T/R.out" ||
		fail "no #TRACEBACK: $(cat "$T/R.out")"
	grep -q "^('#PROXY', (('keys', 'get'), Token(typeid='Child', address=('127.0.0.1', $PORT), id='[0-9a-f]*')))$" "$T/R.out" ||
		fail "no #PROXY: $(cat "$T/R.out")"
	grep -q "^('#ERROR', AttributeError(" "$T/R.out" ||
		fail "no AttributeError: $(cat "$T/R.out")"
}

@test "manager replies: python3.6's print as its repr()" { manager_replies_check 3.6; }
@test "manager replies: python3.7's print as its repr()" { manager_replies_check 3.7; }
@test "manager replies: python3.8's print as its repr()" { manager_replies_check 3.8; }
@test "manager replies: python3.9's print as its repr()" { manager_replies_check 3.9; }
@test "manager replies: python3.10's print as its repr()" { manager_replies_check 3.10; }
@test "manager replies: python3.11's print as its repr()" { manager_replies_check 3.11; }
@test "manager replies: python3.12's print as its repr()" { manager_replies_check 3.12; }
@test "manager replies: python3.13's print as its repr()" { manager_replies_check 3.13; }
@test "manager replies: python3.14's print as its repr()" { manager_replies_check 3.14; }
