#!/usr/bin/env bats
# docs.bats - the documentation says what the programs do: each man page's
# OPTIONS are exactly the options of the tool's --help, --version is in
# GNU form with configure.ac's version (which NEWS and the man pages
# carry), the man pages render without warnings, libconn(3)'s example
# is man/examples/example-client.c, and README.md quotes no test counts.

load helpers

TOP=$BATS_TEST_DIRNAME/../..
TOOLS="conn-listen conn-client conn-pipe conn-bench"

# options_agree TOOL: every option of TOOL --help (long and short) heads
# an entry of man/TOOL.1's OPTIONS section, and every entry there is an
# option of --help.
options_agree() {
	local tool=$1 man=$TOP/man/$1.1
	[[ -f $man ]] || skip "no man pages beside the tests"
	run_to "H-$tool" "$tool" --help
	expect_exit "H-$tool" 0
	"$PYTHON" - "$T/H-$tool.out" "$man" >"$T/diff" <<'EOF' || fail "$tool: $(cat "$T/diff")"
import re, sys

# --help: option lines are indented 2 to 6 spaces (descriptions go on
# deeper); the options end at two spaces, or at the first word that is
# neither an option (--name, --name=ARG, --name[=ARG]) nor a placeholder
# (FILE, CMD, [ARG]...).
word = re.compile(r'(--?[0-9A-Za-z][-0-9A-Za-z]*)(\[?=\S*)?,?$')
placeholder = re.compile(r'\[?[A-Z][A-Z_]*\]?(\.\.\.)?,?$')
helped = set()
for line in open(sys.argv[1]):
    if not re.match(r' {2,6}-', line):
        continue
    for w in re.split(r'\s{2,}', line.strip())[0].split():
        m = word.match(w)
        if m:
            helped.add(m.group(1))
        elif not placeholder.match(w):
            break

# The man page: the head line of each .TP (and .TQ) entry of OPTIONS.
opt = re.compile(r'(?<![\w-])(--[a-z0-9][a-z0-9-]*|-[0-9A-Za-z])(?![\w-])')
text = open(sys.argv[2]).read()
if '\n.SH OPTIONS\n' not in text:
    sys.exit('no OPTIONS section in ' + sys.argv[2])
section = text.split('\n.SH OPTIONS\n', 1)[1].split('\n.SH ', 1)[0]
lines = section.split('\n')
documented = set()
for i, line in enumerate(lines[:-1]):
    if line in ('.TP', '.TQ'):
        head = re.sub(r'\\f[BIRP]|\\&|\\c', '', lines[i + 1]).replace('\\-', '-')
        head = re.sub(r'^\.[A-Z]+ ', '', head).replace('"', ' ')
        documented |= set(opt.findall(head))

bad = False
if not helped or not documented:
    print('no options found: help %s, man %s' % (sorted(helped), sorted(documented)))
    bad = True
if helped - documented:
    print('in --help, not in the man page:', sorted(helped - documented))
    bad = True
if documented - helped:
    print('in the man page, not in --help:', sorted(documented - helped))
    bad = True
sys.exit(1 if bad else 0)
EOF
}

@test "docs: conn-listen(1)'s OPTIONS are exactly the options of its --help" {
	options_agree conn-listen
}

@test "docs: conn-client(1)'s OPTIONS are exactly the options of its --help" {
	options_agree conn-client
}

@test "docs: conn-pipe(1)'s OPTIONS are exactly the options of its --help" {
	options_agree conn-pipe
}

@test "docs: conn-bench(1)'s OPTIONS are exactly the options of its --help" {
	options_agree conn-bench
}

@test "docs: --version in GNU form with configure.ac's version, which NEWS and every man page carry" {
	local version tool page
	[[ -f $TOP/configure.ac ]] || skip "no source tree beside the tests"
	version=$(sed -n 's/^AC_INIT(\[conn-tools\], *\[\([^]]*\)\].*/\1/p' "$TOP/configure.ac")
	[[ -n $version ]] || fail "no version in configure.ac's AC_INIT"
	for tool in $TOOLS; do
		run_to "V-$tool" "$tool" --version
		expect_exit "V-$tool" 0
		# PROGRAM (PACKAGE) VERSION, then copyright, license, warranty.
		[[ $(sed -n 1p "$T/V-$tool.out") == "$tool (conn-tools) $version" ]] ||
			fail "$tool --version starts: $(sed -n 1p "$T/V-$tool.out")"
		sed -n 2p "$T/V-$tool.out" | grep -Eq '^Copyright \(C\) [0-9]{4}' ||
			fail "$tool --version: no copyright line: $(cat "$T/V-$tool.out")"
		grep -q '^License GPLv3+' "$T/V-$tool.out" ||
			fail "$tool --version: no license line"
	done
	# NEWS begins with this version, or with the changes since it under
	# GNU's unreleased heading, "release ?.? (????-??-??) [?]".
	grep '^\* Noteworthy changes in release ' "$TOP/NEWS" |
		grep -vF 'release ?.? (????-??-??) [?]' | head -n 1 |
		grep -qF "release $version (" ||
		fail "NEWS does not begin with release $version: $(grep -m1 '^\*' "$TOP/NEWS")"
	! grep '^\* Noteworthy changes in release ' "$TOP/NEWS" | sed -n '2,$p' |
		grep -qF 'release ?.?' || fail "NEWS: the unreleased heading is not first"
	for page in "$TOP"/man/*.[1-8]; do
		grep -q "^\.TH .* \"conn-tools $version\"" "$page" ||
			fail "$page: .TH does not say conn-tools $version"
	done
}

@test "docs: every man page renders without groff warnings" {
	local page
	command -v man >/dev/null && command -v groff >/dev/null ||
		skip "man and groff are needed"
	man -l "$TOP/man/conn-pipe.1" 2>/dev/null | grep -q 'conn-pipe' ||
		skip "man cannot render pages here"
	for page in "$TOP"/man/*.[1-8]; do
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" \
			>"$T/page.txt" 2>"$T/warnings" || fail "$page: man failed: $(cat "$T/warnings")"
		[[ ! -s $T/warnings ]] || fail "$page: $(cat "$T/warnings")"
		[[ -s $T/page.txt ]] || fail "$page: renders empty"
	done
}

@test "docs: the example of libconn(3) is man/examples/example-client.c" {
	[[ -f $TOP/man/libconn.3 && -f $TOP/man/examples/example-client.c ]] ||
		skip "no source tree beside the tests"
	"$PYTHON" - "$TOP/man/libconn.3" "$TOP/man/examples/example-client.c" >"$T/diff" <<'EOF' || fail "$(cat "$T/diff")"
import difflib, re, sys
page = open(sys.argv[1]).read()
marker = '.\\" The block below is man/examples/example-client.c'
if marker not in page:
    sys.exit('libconn.3 has no example block')
block = page.split(marker, 1)[1].split('\n.EX\n', 1)[1].split('\n.EE\n', 1)[0]
shown = []
for line in block.split('\n'):
    line = re.sub(r'^\\&', '', line)
    line = line.replace('\\(aq', "'").replace('\\-', '-').replace('\\e', '\\')
    shown.append(line)
source = [l.expandtabs(8) for l in open(sys.argv[2]).read().split('\n')[:-1]]
if shown != source:
    print('libconn.3 and man/examples/example-client.c differ (regenerate '
          'the block with the command in the comment above it):')
    sys.stdout.writelines(l + '\n' for l in difflib.unified_diff(
        source, shown, 'man/examples/example-client.c', 'man/libconn.3', lineterm=''))
    sys.exit(1)
EOF
}

# doc_text FILE: README.md as it is, a man page as plain words (roff
# requests and escapes dropped, lines joined), for claims that span lines.
doc_text() {
	"$PYTHON" - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
if not sys.argv[1].endswith('.md'):
    text = re.sub(r'(?m)^\.(B|I|BR|RB|IR|BI)\s+', '', text)
    text = re.sub(r'(?m)^\.[A-Za-z]+.*$', '', text)
    text = re.sub(r'\\f[BIRP]|\\&|\\c', '', text)
    text = text.replace('\\-', '-').replace('\\(aq', "'").replace('\\(dq', '"')
print(re.sub(r'\s+', ' ', text))
EOF
}

@test "docs: --in json is an equivalent pickle; no page says it is the bytes Python's send() writes" {
	local f
	[[ -f $TOP/README.md ]] || skip "no source tree beside the tests"
	for f in "$TOP/README.md" "$TOP"/man/*.[1-8]; do
		doc_text "$f" >"$T/text"
		! grep -Eiq "(pickles? |as )Python's \`?send\(\)\`? would send" "$T/text" ||
			fail "$f claims --in json writes send()'s own bytes"
	done
	doc_text "$TOP/README.md" | grep -q 'The pickle is an equivalent one' ||
		fail "README.md does not say --in json's pickle is an equivalent one"
	doc_text "$TOP/man/conn-pipe.1" | grep -q 'The pickle is equivalent to, not the same bytes as' ||
		fail "conn-pipe(1) does not say --in json's pickle is an equivalent one"
}

@test "docs: the key table says a keyless conn-listen and a keyed Python Client both wait, with the remedy" {
	[[ -f $TOP/README.md ]] || skip "no source tree beside the tests"
	grep -q '^| a Python `Client` has a key, conn-listen has none | none: both wait.*Remedy: give conn-listen the key' \
		"$TOP/README.md" || fail "README.md's key table has no row for a keyed Python Client"
	doc_text "$TOP/man/conn-listen.1" |
		grep -q "Client() with a key waits for one with no time limit" ||
		fail "conn-listen(1) does not say a keyed Python Client waits"
}

@test "docs: tools/check's last line is quoted without counts, which change with every test added" {
	[[ -f $TOP/README.md ]] || skip "no source tree beside the tests"
	! grep -En '[0-9]+ passed, [0-9]+ failed' "$TOP/README.md" >"$T/counts" ||
		fail "README.md quotes counts of the suite: $(cat "$T/counts")"
	grep -q '^    N passed, 0 failed, N skipped$' "$TOP/README.md" ||
		fail "README.md does not show tools/check's last line"
}

@test "build: configure.ac does not make automake warnings errors (newer automake would fail the build)" {
	[[ -f $TOP/configure.ac ]] || skip "no source tree beside the tests"
	local opts
	opts=$(sed -n 's/^AM_INIT_AUTOMAKE(\[\(.*\)\])/\1/p' "$TOP/configure.ac")
	[[ -n $opts ]] || fail "no AM_INIT_AUTOMAKE in configure.ac"
	[[ " $opts " != *" -Werror "* ]] || fail "AM_INIT_AUTOMAKE has -Werror: $opts"
}
