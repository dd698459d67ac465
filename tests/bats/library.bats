#!/usr/bin/env bats
# library.bats - libconn as other C programs get it:
# man/examples/example-client (libconn(3)'s example, built by make check
# against the build tree) talks to conn-listen; the build tree's
# libconn.so.0 exports conn_* alone; and after `make install` into a
# scratch DESTDIR, `make installcheck` builds the example against the
# installed header, shared library and conn-tools.pc with pkg-config
# alone, and statically, and runs both against the installed conn-listen
# (tests/install/check-example); make uninstall removes them all.  And
# every function of conn.h with a result is CONN_NODISCARD.

load helpers

# The build tree: the directory above the conn-listen first in PATH.
build_dir() {
	local bin
	bin=$(command -v conn-listen) || return 1
	bin=$(cd "$(dirname "$bin")/.." && pwd) || return 1
	[[ -f $bin/Makefile && -x $bin/man/examples/example-client ]] || return 1
	echo "$bin"
}

@test "library: the example client authenticates and exchanges messages with conn-listen" {
	local top key
	top=$(build_dir) || skip "not run from a build tree with man/examples/example-client"
	key=$(key_file key secret)
	listen L --echo --authkey-file "$key" 127.0.0.1:0
	run_to C "$top/man/examples/example-client" "127.0.0.1:$PORT" "$key" hello '' 'a b'
	expect_exit C 0
	assert_file "$T/C.out" $'hello\n\na b\n'
	expect_exit L 0
}

@test "library: a wrong key fails the example client with exit 4" {
	local top
	top=$(build_dir) || skip "not run from a build tree with man/examples/example-client"
	listen L --echo --authkey-file "$(key_file right right)" 127.0.0.1:0
	run_to C "$top/man/examples/example-client" "127.0.0.1:$PORT" "$(key_file wrong wrong)" hello
	expect_exit C 4
	assert_err C '#FAILURE#'
	expect_exit L 4
}

@test "library: the shared library is libconn.so.0 and exports conn_* alone" {
	local top so
	top=$(build_dir) || skip "not run from a build tree with man/examples/example-client"
	so=$top/src/core/libconn.so.0.0.0
	[[ -f $so ]] || fail "make built no $so"
	command -v readelf >/dev/null && command -v nm >/dev/null || skip "no readelf or nm"
	run readelf -d "$so"
	assert_success
	assert_output --regexp 'SONAME[^[]*\[libconn\.so\.0\]'
	run nm -D --defined-only "$so"
	assert_success
	assert_line --regexp ' T conn_channel_send$'
	assert_line --regexp ' T conn_strerror$'
	# Nothing but conn_*: the core's helpers (chan_, pickle_, ...) are local.
	run awk 'NF != 3 || $3 !~ /^conn_/' <<<"$output"
	assert_success
	assert_output ''
}

@test "library: the tools' front end (src/cli/) uses the public API alone: no core header but conn.h" {
	local src=$BATS_TEST_DIRNAME/../../src
	[[ -d $src/cli && -f $src/core/conn.h ]] || skip "no source tree beside the tests"
	local headers
	headers=$(cd "$src/core" && ls ./*.h | sed 's|^\./||' | grep -vx conn.h | paste -sd'|')
	[[ -n $headers ]] || fail "no private header found in $src/core"
	run grep -nE "^#[[:space:]]*include[[:space:]]*[\"<](${headers//./\\.})[\">]" "$src"/cli/*.c "$src"/cli/*.h
	assert_failure 1
	assert_output ''
}

# nodiscard_check HEADER: every function HEADER declares with a result
# (int, size_t, a pointer, ...) is CONN_NODISCARD, but for the exemptions
# listed here, which conn.h names too; no void function is.
nodiscard_check() {
	"$PYTHON" - "$1" <<'EOF'
import re, sys
# Functions that write a NUL-ended text like snprintf: the length they
# return is extra, and a caller may drop it.
exempt = {'conn_float_repr', 'conn_progress_format', 'conn_escape'}
text = open(sys.argv[1]).read()
text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
text = re.sub(r'(?m)^[ \t]*#(?:.*\\\n)*.*$', ' ', text)
# Bodies (of structs, enums, inline functions) end a statement.
while re.search(r'\{[^{}]*\}', text):
    text = re.sub(r'\{[^{}]*\}', ';', text)
bad, seen = [], set()
for decl in (' '.join(s.split()) for s in text.split(';')):
    m = re.match(r'([^(]*?)\b(conn_\w+)\s*\(', decl)
    if not m or decl.startswith('typedef '):
        continue
    name, marked = m.group(2), 'CONN_NODISCARD' in decl
    seen.add(name)
    result = re.sub(r'\b(CONN_NODISCARD|static|inline|extern)\b', '',
                    m.group(1)).strip()
    if result == 'void':
        if marked:
            bad.append(name + ': void, yet CONN_NODISCARD')
    elif name in exempt:
        if marked:
            bad.append(name + ': exempt, yet CONN_NODISCARD')
    elif not marked:
        bad.append(name + ': returns ' + result + ' without CONN_NODISCARD')
bad += [n + ': exempt, but not declared' for n in sorted(exempt - seen)]
if len(seen) < 40:
    bad.append('only %d functions found: the parser is wrong' % len(seen))
if bad:
    sys.exit('\n'.join(bad))
EOF
}

@test "library: every conn.h function with a result is CONN_NODISCARD (warn_unused_result)" {
	local h=$BATS_TEST_DIRNAME/../../src/core/conn.h
	[[ -f $h ]] || skip "no source tree beside the tests"
	run nodiscard_check "$h"
	assert_success
	assert_output ''
	# The check itself: a declaration without it fails.
	sed '0,/^CONN_NODISCARD$/{//d}' "$h" >"$T/conn.h"
	run nodiscard_check "$T/conn.h"
	assert_failure
	assert_output 'conn_strerror: returns const char * without CONN_NODISCARD'
}

@test "library: installed with make install DESTDIR, it builds with pkg-config and runs" {
	local top
	skip_under_valgrind "installs and compiles; nothing of the tools' own to check"
	top=$(build_dir) || skip "not run from a build tree with man/examples/example-client"
	command -v "${CC:-cc}" >/dev/null || skip "no C compiler"
	# MAKEFLAGS: not the jobserver of a make check that runs us.
	env -u MAKEFLAGS -u MFLAGS make -s -C "$top" install DESTDIR="$T/root" >"$T/install.log" 2>&1 ||
		fail "make install DESTDIR failed: $(tail -20 "$T/install.log")"
	run find "$T/root" -name libconn.a -o -name 'libconn.so*' -o -name conn.h -o -name conn-tools.pc \
		-o -name libconn.3 -o -name conn-protocol.7 -o -name conn-pipe -type l \
		-o -name _conn-tools -o -name conn-pipe.fish -type l
	assert_success
	# LIBDIR may be multiarch (/usr/lib/x86_64-linux-gnu in a Debian build).
	assert_output --regexp '/lib(/[^/]+)?/libconn\.a'
	assert_output --regexp '/lib(/[^/]+)?/libconn\.so\.0\.0\.0'
	assert_output --partial /include/conn-tools/conn.h
	assert_output --regexp '/lib(/[^/]+)?/pkgconfig/conn-tools\.pc'
	assert_output --partial /man3/libconn.3
	assert_output --partial /man7/conn-protocol.7
	assert_output --partial /bash-completion/completions/conn-pipe
	# site-functions by default; Debian's vendor-completions (debian/rules).
	assert_output --regexp '/zsh/(site-functions|vendor-completions)/_conn-tools'
	assert_output --partial /fish/vendor_completions.d/conn-pipe.fish
	run env -u MAKEFLAGS -u MFLAGS make -s -C "$top" installcheck DESTDIR="$T/root"
	assert_success
	assert_line --partial "ok: libconn.a defines conn_* and the core's own helpers, nothing of the command line"
	assert_line --partial "ok: conn.h has no getopt, struct option, options or sessions"
	assert_line --partial "ok: libconn.so.0 (SONAME libconn.so.0) exports conn_* alone, nothing of the command line"
	assert_line --partial "ok: the example builds against the installed header and the shared library"
	assert_line --partial "ok: the example builds against the static library"
	local kind
	for kind in shared static; do
		assert_line --partial "ok: the $kind example authenticates and exchanges messages with conn-listen"
		assert_line --partial "ok: the $kind example: a wrong key fails on both sides with exit status 4"
	done
	run env -u MAKEFLAGS -u MFLAGS make -s -C "$top" uninstall DESTDIR="$T/root"
	assert_success
	run find "$T/root" -name 'libconn*' -o -name conn.h -o -name conn-tools.pc \
		-o -name _conn-tools -o -name 'conn-*.fish'
	assert_success
	assert_output ''
}
