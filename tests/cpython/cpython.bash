# The CPython interop matrix: every CPython on the machine against
# conn-listen and conn-client.  Loaded, after tests/bats/helpers.bash, by
# the files tests/cpython/gen-bats writes (one per interpreter name), and
# sourced by gen-bats itself for the discovery.
#
# Discovery happens when the tests run: the interpreters under
# $(pyenv root)/versions (else $PYENV_ROOT, else ~/.pyenv), python2.7 and
# python3.N anywhere on PATH, and $PYTHON; each is identified by running
# it (sys.version_info, the real path of sys.executable) and listed once
# per version and real path.  `make check` does it once into the file
# $CONN_CPYTHON_LIST; without that file each test file does it again.
#
# Each name of CPYTHON_NAMES is tested against the first interpreter of
# that version in the list ($PYTHON first, then pyenv's, then PATH's);
# a missing one makes its tests skip with "pythonX.Y: not found on this
# machine".  Interpreters left over (a second 3.11, a 3.15) are tested by
# one more file, cpython-leftovers.bats, named by version and path.

CPYTHON_NAMES='2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13 3.14'
CPYTHON_DIGESTS='sha256 md5 sha384 sha3_256 sha3_384'
CPYTHON_KEY='cpython matrix key'
# How every interpreter is run: without PYTHON* variables (-E) and without
# site-packages (-S): the peer needs the standard library only, and the
# .pth files of a site-packages can cost 90 ms at each start.
CPYTHON_FLAGS=(-E -S)
CPYTHON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The JSON lines conn-tools sends with --in json.
CPYTHON_OBJECTS=$CPYTHON_DIR/conn-objects.jsonl

# The candidate interpreters, one path a line, in order of preference.
cpython_candidates() {
	local root dir f
	[[ -n ${PYTHON:-} ]] && command -v "$PYTHON"
	root=$(pyenv root 2>/dev/null) || root=
	[[ -n $root ]] || root=${PYENV_ROOT:-$HOME/.pyenv}
	for f in "$root"/versions/*/bin/python; do
		[[ -x $f ]] && printf '%s\n' "$f"
	done
	local IFS=:
	for dir in $PATH; do
		for f in "${dir:-.}"/python2.7 "${dir:-.}"/python3.*; do
			[[ ${f##*/} =~ ^python(2\.7|3\.[0-9]+)$ && -x $f ]] &&
				printf '%s\n' "$f"
		done
	done
	return 0
}

# cpython_discover: "VERSION REALPATH" for each CPython that runs, once per
# version and real path (a pyenv shim for a version pyenv has not selected
# fails, and is left out).
cpython_discover() {
	local c line
	declare -A seen=()
	while IFS= read -r c; do
		line=$(timeout 20 "$c" "${CPYTHON_FLAGS[@]}" -c 'import os, sys
impl = getattr(getattr(sys, "implementation", None), "name", "cpython")
if impl == "cpython" and "PyPy" not in sys.version:
    print("%d.%d.%d %s" % (tuple(sys.version_info[:3]) + (os.path.realpath(sys.executable),)))' \
			2>/dev/null </dev/null) || continue
		[[ -n $line && -z ${seen[$line]:-} ]] || continue
		seen[$line]=1
		printf '%s\n' "$line"
	done < <(cpython_candidates)
}

# cpython_list: the discovered interpreters, from $CONN_CPYTHON_LIST when
# make check wrote it.
cpython_list() {
	if [[ -n ${CONN_CPYTHON_LIST:-} && -r $CONN_CPYTHON_LIST ]]; then
		cat "$CONN_CPYTHON_LIST"
	else
		cpython_discover
	fi
}

# cpython_pick NAME < LIST: "VERSION PATH" of the interpreter for NAME (an
# X.Y of CPYTHON_NAMES, or a leftover's "VERSION@PATH"), nothing if none.
cpython_pick() {
	local name=$1 v p
	while read -r v p; do
		case $name in
		*@*) [[ $name == "$v@$p" ]] || continue ;;
		*) [[ $v == "$name".* ]] || continue ;;
		esac
		printf '%s %s\n' "$v" "$p"
		return 0
	done
}

# cpython_need NAME: CPY and CPY_VERSION for python NAME (an X.Y of
# CPYTHON_NAMES), for a test file of its own (probe.bats, handle.bats);
# without one the test skips, naming it.
cpython_need() {
	local found
	found=$(cpython_list | cpython_pick "$1")
	[[ -n $found ]] || skip "python$1: not found on this machine"
	CPY=${found#* }
	CPY_VERSION=${found%% *}
}

# cpython_leftovers < LIST: "VERSION@PATH" of each interpreter no name of
# CPYTHON_NAMES picks.
cpython_leftovers() {
	local list v p n picked
	list=$(cat)
	while read -r v p; do
		[[ -n $v ]] || continue
		picked=
		for n in $CPYTHON_NAMES; do
			[[ $(cpython_pick "$n" <<<"$list") == "$v $p" ]] && picked=1
		done
		[[ -n $picked ]] || printf '%s@%s\n' "$v" "$p"
	done <<<"$list"
}

# cpython_title NAME: how tests and skips name it.
cpython_title() {
	case $1 in
	*@*) printf 'python %s (%s)' "${1%%@*}" "${1#*@}" ;;
	*) printf 'python%s' "$1" ;;
	esac
}

# cpython_use NAME ORDER: finds NAME's interpreter (CPY, CPY_VERSION), or
# the skip text of its tests (CPY_MISSING), once per test file: the
# first cell of NAME also computes the oracles its cells share into
# CPY_DATA, and records the result for tools/check's summary line in
# $CONN_CPYTHON_SUMMARY/ORDER.
cpython_use() {
	local name=$1 order=$2 found
	CPY_DATA=$BATS_FILE_TMPDIR/cpython-$order
	if [[ ! -f $CPY_DATA/found ]]; then
		mkdir -p "$CPY_DATA"
		found=$(cpython_list | cpython_pick "$name")
		[[ -z $found ]] || cpython_oracles "${found#* }" || return 1
		printf '%s\n' "$found" >"$CPY_DATA/found"
		cpython_summary "$name" "$order" "$found"
	fi
	# (read, not $(<...): each cell counts, and a subshell is a fork)
	read -r CPY_VERSION CPY <"$CPY_DATA/found" || true
	CPY_MISSING=
	[[ -n $CPY ]] ||
		CPY_MISSING="$(cpython_title "$name"): not found on this machine"
	# Python 2 or 3; modern (>= 3.12: a {digest} prefix to its challenge)
	local minor=${CPY_VERSION#*.}
	CPY_MAJOR=${CPY_VERSION%%.*}
	CPY_MODERN=
	((CPY_MAJOR > 3 || (CPY_MAJOR == 3 && ${minor%%.*} >= 12))) && CPY_MODERN=1
	return 0
}

# cpython_oracles PYTHON: what PYTHON makes of the JSON lines conn-tools
# sends (and a Python 2 the pickles of what it sends), by PYTHON itself;
# the bytes sets (and how Python 3 reads Python 2's pickles) by the
# suite's python3.
cpython_oracles() {
	local peer=$CONN_PEERS/cpython_peer.py
	"$1" "${CPYTHON_FLAGS[@]}" "$peer" oracles "$CPY_DATA" --expect "$CPYTHON_OBJECTS" &&
		"$PYTHON" "${CPYTHON_FLAGS[@]}" "$peer" python3-oracles "$CPY_DATA" &&
		printf '%s' "$CPYTHON_KEY" >"$CPY_DATA/key"
}

cpython_summary() {
	local name=$1 order=$2 found=$3
	[[ -n ${CONN_CPYTHON_SUMMARY:-} ]] || return 0
	mkdir -p "$CONN_CPYTHON_SUMMARY"
	if [[ -n $found ]]; then
		echo "found ${found%% *}"
	else
		echo "missing ${name%%@*}"
	fi >"$CONN_CPYTHON_SUMMARY/$order"
}

# cpython_address TRANSPORT: sets ADDRESS, a fresh one for one cell.
cpython_address() {
	case $1 in
	tcp) ADDRESS=127.0.0.1:0 ;;
	unix) ADDRESS=$T/cpython.sock ;;
	abstract) ADDRESS=@conn-tools-cpython-$$-$BATS_TEST_NUMBER-$RANDOM ;;
	esac
}

# cpython_cell NAME ORDER ROLE DIGEST MODE TRANSPORT: one connection
# between NAME's interpreter (see cpython_use) and conn-tools: ROLE
# py-listen (its Listener, conn-client) or py-client (conn-listen, its
# Client); conn-tools challenges with DIGEST, and so does a modern Python;
# MODE bytes or objects; TRANSPORT tcp, unix or abstract.  Both sides send
# their set, both sets are checked exactly, and the digests of conn-tools'
# -v trace.
cpython_cell() {
	local role=$3 digest=$4 mode=$5 transport=$6 in ADDRESS
	cpython_use "$1" "$2" || fail "cannot compute the oracles of $1"
	[[ -n $CPY ]] || skip "$CPY_MISSING"
	local conn=(-v --digest "$digest" --authkey-file "$CPY_DATA/key")
	local py=(--mode "$mode" --authkey "$CPYTHON_KEY" --digest "$digest"
		--timeout 20)
	if [[ $mode == bytes ]]; then
		in=$CPY_DATA/conn.hex
		conn+=(--in hex --out hex)
		py+=(--expect "$in")
	else
		in=$CPYTHON_OBJECTS
		conn+=(--in json --out repr)
		((CPY_MAJOR >= 3)) || conn+=(--pickle-protocol=2)
		py+=(--expect "$in" --sent "$T/sent")
	fi
	cpython_address "$transport"
	if [[ $role == py-listen ]]; then
		spawn P "$CPY" "${CPYTHON_FLAGS[@]}" "$CONN_PEERS/cpython_peer.py" listen "$ADDRESS" "${py[@]}"
		wait_listening P
		run_to C --in "$in" conn-client "${conn[@]}" "$ADDR"
	else
		spawn C --in "$in" conn-listen "${conn[@]}" "$ADDRESS"
		wait_listening C
		run_to P "$CPY" "${CPYTHON_FLAGS[@]}" "$CONN_PEERS/cpython_peer.py" client "$ADDR" "${py[@]}"
	fi
	expect_exit P 0
	expect_exit C 0
	cpython_check_outputs "$mode"
	cpython_check_trace "$digest"
}

# What each side received: the other side's set, exactly.
cpython_check_outputs() {
	if [[ $1 == bytes ]]; then
		cpython_same "$T/C.out" "$CPY_DATA/py.hex" "conn-tools received"
		cpython_same "$T/P.out" "$CPY_DATA/conn.hex" "python received"
		return
	fi
	# The oracle of what Python sent: its own repr() of each object; for a
	# Python 2 peer, the suite's python3's of the pickles it sent.
	if ((CPY_MAJOR >= 3)); then
		cpython_same "$T/C.out" "$T/sent" "conn-tools --out repr"
	else
		cpython_same "$T/sent" "$CPY_DATA/sent.pickles" "the pickles python sent"
		cpython_same "$T/C.out" "$CPY_DATA/sent.repr" "conn-tools --out repr"
	fi
	cpython_same "$T/P.out" "$CPY_DATA/json.repr" "python's recv()"
}

cpython_same() {
	cmp -s "$1" "$2" || fail "$3 differs from the expected:
$(diff "$2" "$1" | cut -c1-200 | head -20)"
}

# conn-tools' -v trace names the digests both ways: a modern Python answers
# in our digest and challenges in it; a legacy one answers and is answered
# with raw HMAC-MD5.
cpython_check_trace() {
	local d=$1 them=$1 us=$1
	[[ -n $CPY_MODERN ]] || them='md5 (legacy)' us='md5 (legacy)'
	local want="authenticated: we asked for $d, the peer answered with $them; we answered with $us"
	grep -Fq -- ": $want" "$T/C.err" || fail "no trace '$want' in:
$(head -c 2000 "$T/C.err")"
}
