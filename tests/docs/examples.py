#!/usr/bin/env python3
"""examples.py - the shell and Python examples of README.md and of the man
pages, taken from the text users read, for tests/bats/examples.bats.

  examples.py list TOP
      every block of TOP/README.md and TOP/man/*: FILE:LINE, its kind and
      its first line
  examples.py coverage TOP BATSFILE
      every example (shell or python block) is claimed by a `doc` line of
      BATSFILE, each command of a shell example by one at least; every
      other block is in NOT_EXAMPLES below, with why it is not run; every
      claim and every NOT_EXAMPLES entry names exactly one block
  examples.py script TOP FILE KEY OUTDIR NAME WORKDIR [OPTION]...
      the block of FILE that contains KEY (or is KEY), rewritten: a Python
      block is written to WORKDIR/NAME; a shell transcript becomes the
      session OUTDIR/NAME.sh, which runs its commands in order in one shell
      in WORKDIR, the output of its Nth command (stdout and stderr
      together, as a terminal shows them) in OUTDIR/NAME.N.out and its exit
      status in OUTDIR/NAME.N.rc, and OUTDIR/NAME.json, what `check`
      compares.  When the session exists, the block's commands continue it
      (a later block of the text, typed in the same shell)
  examples.py check OUTDIR NAME
      compare each command's output with the output the text shows

What a block is.  README.md: a fenced block (```python is a Python
example) or a block indented by 4 spaces (a shell transcript when a line
starts with "$ ").  Man pages: each .EX/.EE block, roff escapes undone; a
shell transcript when a line starts with "$ ", Python when it starts with
"from " or "import ".

A transcript: "$ COMMAND", its continuation lines (after a trailing "\\" or
"|", inside a quote or a here-document), then the output shown.  A command
shown without output is run, but its output is not compared (the text shows
output where it is the point; the scenario checks the rest).  Output shown
is compared line by line (trailing blanks aside) with what the command
printed, with these wildcards only:
  - a line "..." stands for any number of lines, and "..." within a line
    for any text: the text's own elisions;
  - --vary TEXT REGEX: TEXT, where it occurs in the shown output, matches
    REGEX (ports, object ids, random bytes: whatever varies by nature);
  - --numbers: any number (with a unit: 7.99us, 93.47x) matches any
    number, and runs of blanks any run of blanks (benchmark figures).
A command ending in "&" runs in the background: its output is not compared
(it comes whenever it comes), nor its status.  Every other command must
exit 0 unless --status says otherwise.

Options of `script` (each scenario says which it uses, and why):
  --cmd N[,N]...     run only these commands of the block (1-based):
                     the others are run by another terminal of the scenario
  --port FROM TO     the number FROM, not part of a longer number, becomes TO
  --sub FROM TO      the text FROM becomes TO
  --vary TEXT REGEX  see above
  --numbers          see above
  --status N CODE    command N of the block exits CODE
  --await-bg         after a background command, wait (up to 10 s) for the
                     "listening on" line a person would wait for
  --append PROG ARGS append ARGS to each command line running PROG (only for
                     conn-bench's durations)
  --then SHELL       run SHELL after the block's commands, in the same shell (to look
                     at the variables they set); output in OUTDIR/NAME.then.out
"""

import json
import os
import re
import shlex
import sys

# Blocks that are not examples, by file and a text only that block
# contains, and why they are not run.
NOT_EXAMPLES = [
    ('man/conn-pipe.1', '{"verdict": "overtly malicious", "level": 3, "decoded": true,',
     'audit-json\'s object abridged and on several lines; README.md runs it whole'),
    ('README.md', 'tools/demo     #',
     'setup on a fresh machine (installs Debian packages); tools/check is the suite itself'),
    ('README.md', 'tools/deps                  #',
     'build and install commands: what CI (.ci/run) runs'),
    ('README.md', 'tools/deb-build     #',
     'builds and installs Debian packages as root: what CI (.ci/run) runs, with tests/install/deb-smoke'),
    ('README.md', 'tar xzf conn-tools-0.1.0.tar.gz',
     'installs from a release tarball: make distcheck builds, checks and installs one'),
    ('README.md', 'autoreconf -fi      # makes configure',
     'installs from git: CI (.ci/run) runs these in a clone'),
    ('README.md', 'autoreconf -fi && ./configure',
     'build commands: what make distcheck runs'),
    ('README.md', 'conn-listen [OPTION]... ADDRESS [--exec CMD [ARG]...]',
     'usage synopsis'),
    ('README.md', 'conn-listen: warning: 127.0.0.1:51324',
     'an error message quoted by the text; errors.bats and server.bats test it'),
    ('README.md', 'dropped: it fell 4194400 bytes behind',
     'warnings quoted by the text; fairness.bats tests them'),
    ('README.md', 'conn-client: warning: --authkey TEXT is visible',
     'a warning quoted by the text; auth.bats tests it'),
    ('README.md', 'dropped after 0.1 s in the handshake',
     'a warning quoted by the text; chaos.bats makes and tests it'),
    ('README.md', 'warning: out of file descriptors: not accepting',
     'a warning quoted by the text; chaos.bats makes and tests it'),
    ('README.md', '... and 490 more like it',
     'a summary line quoted by the text; chaos.bats makes and tests it'),
    ('man/conn-listen.1', 'dropped after 0.1 s in the handshake',
     'a warning quoted by the text; chaos.bats makes and tests it'),
    ('man/conn-listen.1', '... and 490 more like it',
     'a summary line quoted by the text; chaos.bats makes and tests it'),
    ('README.md', 'conn-client: cannot use --send-only with --recv-only',
     'a usage error quoted by the text; errors.bats tests it'),
    ('README.md', 'conn-client: authenticated: we asked for sha256',
     'a -v trace quoted by the text; auth.bats tests it'),
    ('README.md', 'workload                               conn s',
     'tools/bench-render output, measured once (bench.bats runs it --quick)'),
    ('README.md', 'figure                     unit         direct',
     'tools/bench-forward output, measured once (bench.bats runs it --quick)'),
    ('README.md', 'figure                                                  conn-tools',
     'tools/bench-scale output, measured once (bench.bats runs it --quick)'),
    ('README.md', 'plain     tls-psk    tls-cert  psk/plain',
     'tools/bench-tls output, measured once (bench.bats runs it --quick)'),
    ('README.md', '#include <conn.h>',
     'C fragment; its full program man/examples/example-client.c is built and run by make check'),
    ('README.md', 'cc -o example-client man/examples/example-client.c',
     'a build command of the installed library: make installcheck runs it (library.bats)'),
    ('README.md', '. tools/conn-tools.bash-completion',
     'sourcing the completion script: completion.bats does'),
    ('README.md', 'src/core/               the library',
     'the project layout'),
    ('README.md', 'CPython interop: 2.7.18',
     "the line tools/check prints, quoted by the text; the tests of tests/cpython/ make it"),
    ('man/conn-bench.1', 'ratio ours/python unix  pingpong',
     'one output line quoted by the text'),
    ('man/conn-bench.1', '[ ID] Interval           Transfer',
     'two output lines of -i quoted by the text; bench.bats checks their form'),
    ('man/conn-bench.1', "conn-bench: unknown workload 'bogus'",
     'a usage error quoted by the text; bench.bats tests it'),
    ('man/conn-bench.1', '"start": {"version"',
     'the JSON format, annotated (...); bench.bats checks the format'),
    ('man/conn-bench.1', 'python3 tools/bench-peer.py [--authkey TEXT]',
     'usage synopsis'),
    ('man/conn-client.1', 'authenticated: we asked for sha256',
     'a -v trace quoted by the text'),
    ('man/conn-client.1', 'the peer rejected our key (#FAILURE#)',
     'an error message quoted by the text'),
    ('man/conn-client.1', 'but no authkey was given',
     'an error message quoted by the text'),
    ('man/conn-client.1', 'the peer sent data instead of a challenge',
     'error messages quoted by the text'),
    ('man/conn-client.1', 'cannot connect to 127.0.0.1:9',
     'error messages quoted by the text'),
    ('man/conn-listen.1', 'conn-listen: listening on 127.0.0.1:43117',
     'the announce line, quoted by the text (the EXAMPLES show it again, and run it)'),
    ('man/conn-listen.1', 'warning: 127.0.0.1:51324',
     'an error message quoted by the text'),
    ('man/conn-listen.1', 'authenticated: we asked for sha256',
     'a -v trace quoted by the text'),
    ('man/conn-listen.1', "conn-listen: authentication failed: the peer's reply",
     'an error message quoted by the text'),
    ('man/conn-listen.1', 'handshake not finished within 1 s',
     'error messages quoted by the text'),
    ('man/conn-pipe.1', '1 127.0.0.1:41234>127.0.0.1:5000 hello',
     'the prefix of --in pcap, with elided bytes: README.md\'s "Reading a capture" runs a real capture'),
    ('man/conn-pipe.1', '"dir": "client", "time": 1700000000.000123',
     'the fields of an --in pcap --out json record; capture.bats checks them'),
    ('man/conn-pipe.1', 'stdin line 3: {"__bytes__": ...} at column 1',
     'an error message quoted by the text'),
    ('man/conn-pipe.1', 'warning: message 2 dropped: imports posix.system',
     'a warning quoted by the text; audit.bats makes and tests it'),
    ('man/conn-listen.1', 'warning: 127.0.0.1:51330: message 2 dropped',
     'a warning quoted by the text; audit.bats makes and tests it'),
    ('man/conn-client.1', 'warning: 127.0.0.1:6000: message 2 dropped',
     'a warning quoted by the text; audit.bats makes and tests it'),
    ('man/conn-pipe.1', 'likely safe: globals: datetime.datetime (1 call)',
     'lines of --out audit quoted by the text; audit.bats makes and tests them'),
    ('man/conn-pipe.1', "# what a manager's clients may send",
     'a policy file, annotated; audit.bats tests the rules'),
    ('man/conn-pipe.1', "line 3: 'permit' is not 'allow' or 'deny'",
     'a usage error quoted by the text; audit.bats tests it'),
    ('man/conn-pipe.1', 'message 2: offset 2, opcode BININT1',
     'an error message quoted by the text'),
    ('man/conn-pipe.1', 'cannot open capture.bin',
     'error messages quoted by the text'),
    ('man/conn-protocol.7', "listener: M1 (a 59-byte frame)",
     'an annotated listing of a handshake (a note beside each frame), not a transcript'),
    ('man/conn-protocol.7', '00 00 00 3b                          length 59',
     'an annotated hex listing of a frame, not a transcript'),
    ('man/libconn.3', 'cc prog.c $(pkg-config',
     'synopsis'),
    ('man/libconn.3', 'cc -o prog prog.c $(pkg-config --cflags conn-tools)',
     'the static link of the installed library: make installcheck runs it (library.bats)'),
    ('man/libconn.3', 'int conn_exit_status(int err);',
     'synopsis (the prototypes)'),
    ('man/libconn.3', '(rc = conn_channel_take_message(&p, c))',
     'a fragment of a non-blocking loop: the poll() around it is the reader\'s'),
    ('man/libconn.3', ' * example-client.c - the smallest',
     'man/examples/example-client.c itself, which docs.bats checks and make check builds'),
]

DOC_FILES = ['README.md']
MAN_DIR = 'man'


class Block:
    def __init__(self, file, line, kind, lines):
        self.file, self.line, self.kind, self.lines = file, line, kind, lines
        self.text = '\n'.join(lines)

    def where(self):
        return '%s:%d' % (self.file, self.line)


def doc_files(top):
    files = list(DOC_FILES)
    mandir = os.path.join(top, MAN_DIR)
    for name in sorted(os.listdir(mandir)):
        if re.search(r'\.[1-8]$', name):
            files.append(MAN_DIR + '/' + name)
    return files


def kind_of(lines, python=False):
    if python:
        return 'python'
    if any(line.startswith('$ ') for line in lines):
        return 'shell'
    return 'other'


def readme_blocks(name, text):
    """The fenced and the indented blocks of a Markdown text."""
    lines = text.split('\n')
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r'```(\w*)\s*$', lines[i])
        if fence:
            j = i + 1
            while j < len(lines) and not lines[j].startswith('```'):
                j += 1
            body = lines[i + 1:j]
            blocks.append(Block(name, i + 2, kind_of(body, fence.group(1) == 'python'), body))
            i = j + 1
            continue
        if lines[i].startswith('    ') and (i == 0 or not lines[i - 1].strip()):
            j = i
            while j < len(lines) and (lines[j].startswith('    ') or not lines[j].strip()):
                j += 1
            while not lines[j - 1].strip():
                j -= 1
            body = [line[4:] for line in lines[i:j]]
            blocks.append(Block(name, i + 1, kind_of(body), body))
            i = j
            continue
        i += 1
    return blocks


ROFF = [('\\(aq', "'"), ('\\(dq', '"'), ('\\-', '-'), ('\\&', ''), ('\\ ', ' '),
        ('\\e', '\\')]


def unroff(line):
    out, i = [], 0
    while i < len(line):
        for esc, plain in ROFF:
            if line.startswith(esc, i):
                out.append(plain)
                i += len(esc)
                break
        else:
            out.append(line[i])
            i += 1
    return ''.join(out)


def man_blocks(name, text):
    """The .EX/.EE blocks of a man page, as a reader sees them."""
    lines = text.split('\n')
    blocks, i = [], 0
    while i < len(lines):
        if lines[i] == '.EX':
            j = i + 1
            while j < len(lines) and lines[j] != '.EE':
                j += 1
            body = [unroff(line) for line in lines[i + 1:j]]
            python = bool(body) and re.match(r'(from|import) ', body[0]) is not None
            blocks.append(Block(name, i + 2, kind_of(body, python), body))
            i = j
        i += 1
    return blocks


def all_blocks(top):
    blocks = []
    for name in doc_files(top):
        with open(os.path.join(top, name), encoding='utf-8') as f:
            text = f.read()
        parse = readme_blocks if name.endswith('.md') else man_blocks
        blocks.extend(parse(name, text))
    return blocks


def find(blocks, file, key):
    """The blocks of FILE whose text contains KEY (the one that is KEY, if
    one is)."""
    found = [b for b in blocks if b.file == file and key in b.text]
    return [b for b in found if b.text == key] or found


# ------------------------------------------------------------- transcripts

HEREDOC = re.compile(r"""<<-?\s*['"]?(\w+)""")


def incomplete(command):
    """True when COMMAND needs its next line: after a trailing backslash,
    pipe, && or ||, inside a quote or a here-document."""
    quote, body, last = None, None, ''
    for line in command.split('\n'):
        if body is not None:
            if line.strip() == body:
                body = None
            continue
        i, code = 0, []
        while i < len(line):
            c = line[i]
            if quote == "'":
                quote = None if c == "'" else quote
            elif c == '\\':
                code.append(line[i:i + 2])
                i += 1
            elif quote == '"':
                quote = None if c == '"' else quote
            elif c in '\'"':
                quote = c
            elif c == '#' and (i == 0 or line[i - 1] in ' \t'):
                break
            else:
                m = HEREDOC.match(line, i)
                if m:
                    body = m.group(1)
                code.append(c)
            i += 1
        last = ''.join(code).rstrip()
    if quote or body is not None:
        return True
    return re.search(r'(\\|\||&&)$', last) is not None


def commands_of(block):
    """[(line, command text, [output lines])] of a transcript."""
    out, cur = [], None
    for n, line in enumerate(block.lines):
        if cur is not None and incomplete(cur[1]):
            cur[1] += '\n' + line
        elif line.startswith('$ '):
            cur = [block.line + n, line[2:], []]
            out.append(cur)
        elif cur is not None:
            cur[2].append(line)
    for c in out:
        while c[2] and not c[2][-1].strip():
            c[2].pop()
    return [tuple(c) for c in out]


def background(command):
    return re.search(r'(?<!&)&\s*(#[^\n]*)?$', command) is not None


def rewrite(text, opts):
    for src, dst in opts['port']:
        text = re.sub(r'(?<![0-9])%s(?![0-9])' % re.escape(src), dst, text)
    for src, dst in opts['sub']:
        text = text.replace(src, dst)
    return text


def append_args(command, prog, args):
    """ARGS appended to each simple command of COMMAND that runs PROG."""
    pat = re.compile(r'((?:^|[|;&]\s*)(?:\w+=\S*\s+)*%s\b[^|;&>#\n]*?)(\s*(?:[|;&>#]|$))'
                     % re.escape(prog), re.M)
    return pat.sub(lambda m: m.group(1) + ' ' + args + m.group(2), command)


AWAIT = r'''_await() { # _await FILE: a person waits for the listener to come up
	local i
	for i in $(seq 500); do
		grep -q 'listening on ' "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	echo "examples: no 'listening on' line in $1 within 10 s" >&2
}
'''


def shell_script(block, opts, outdir, name, workdir):
    """OUTDIR/NAME.sh and NAME.json for BLOCK; when they exist, BLOCK's
    commands continue the session, numbered after its commands."""
    commands = commands_of(block)
    chosen = opts['cmd'] or list(range(1, len(commands) + 1))
    base = os.path.join(outdir, name)
    if os.path.exists(base + '.json'):
        with open(base + '.json') as f:
            old = json.load(f)
        plan = old['commands']
        opts['vary'] = old['vary'] + opts['vary']
        opts['numbers'] = old['numbers'] or opts['numbers']
        with open(base + '.sh') as f:
            script = [f.read().rstrip('\n')]
    else:
        plan = []
        script = ['# made by tests/docs/examples.py', AWAIT,
                  'cd %s || exit 99' % quote(workdir)]
    for n in chosen:
        if not 1 <= n <= len(commands):
            sys.exit('examples: %s has %d commands, not %d' % (block.where(), len(commands), n))
        line, command, shown = commands[n - 1]
        command = rewrite(command, opts)
        for prog, args in opts['append']:
            command = append_args(command, prog, args)
        out = '%s.%d' % (base, len(plan) + 1)
        bg = background(command)
        script.append('# %s:%d' % (block.file, line))
        script.append('{\n%s\n} >%s 2>&1' % (command, quote(out + '.out')))
        if bg:
            if opts['await_bg']:
                script.append('_await %s' % quote(out + '.out'))
        else:
            script.append('echo $? >%s' % quote(out + '.rc'))
        plan.append({'n': len(plan) + 1, 'where': '%s:%d' % (block.file, line), 'command': command,
                     'shown': [rewrite(s, opts) for s in shown], 'background': bg,
                     'status': opts['status'].get(n, 0)})
    if opts['then']:
        script.append('{\n%s\n} >%s 2>&1' % (opts['then'],
                                             quote(os.path.join(outdir, name + '.then.out'))))
    with open(os.path.join(outdir, name + '.sh'), 'w') as f:
        f.write('\n'.join(script) + '\n')
    with open(os.path.join(outdir, name + '.json'), 'w') as f:
        json.dump({'commands': plan, 'vary': opts['vary'], 'numbers': opts['numbers']}, f)


def quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# ------------------------------------------------------------- comparing

NUMBER = r'[0-9][0-9.,]*(?:ns|us|ms|s|x)?'


def line_regex(line, vary, numbers):
    """The regex an output line shown in the text stands for."""
    pieces, i = [], 0
    while i < len(line):
        for text, regex in vary:
            if text and line.startswith(text, i):
                pieces.append('(?:%s)' % regex)
                i += len(text)
                break
        else:
            if line.startswith('...', i):
                pieces.append('.*')
                i += 3
                continue
            m = re.match(NUMBER, line[i:]) if numbers else None
            if m and (i == 0 or not line[i - 1].isalnum()):
                pieces.append(NUMBER)
                i += m.end()
            elif numbers and line[i] == ' ':
                while i < len(line) and line[i] == ' ':
                    i += 1
                pieces.append(' +')
            else:
                pieces.append(re.escape(line[i]))
                i += 1
    return re.compile(''.join(pieces) + r'\Z')


def matches(shown, got, vary, numbers):
    """True when the lines GOT are what the lines SHOWN stand for ("..."
    alone on a line: any number of lines)."""
    pats = [None if s.strip() == '...' else line_regex(s.rstrip(), vary, numbers)
            for s in shown]
    memo = {}

    def m(i, j):
        if (i, j) in memo:
            return memo[i, j]
        if i == len(pats):
            r = j == len(got)
        elif pats[i] is None:
            r = any(m(i + 1, k) for k in range(j, len(got) + 1))
        else:
            r = j < len(got) and pats[i].match(got[j].rstrip()) is not None and m(i + 1, j + 1)
        memo[i, j] = r
        return r
    return m(0, 0)


def check(outdir, name):
    with open(os.path.join(outdir, name + '.json')) as f:
        plan = json.load(f)
    bad = []
    for c in plan['commands']:
        if c['background']:
            continue
        base = os.path.join(outdir, '%s.%d' % (name, c['n']))
        try:
            with open(base + '.rc') as f:
                status = int(f.read())
        except (OSError, ValueError):
            bad.append('%s: `%s` did not finish' % (c['where'], c['command']))
            continue
        with open(base + '.out', 'rb') as f:
            got = f.read().decode('utf-8', 'backslashreplace')
        got_lines = got.split('\n')
        if got_lines and got_lines[-1] == '':
            got_lines.pop()
        if status != c['status']:
            bad.append('%s: `%s` exited %d, not %d; it printed:\n%s'
                       % (c['where'], c['command'], status, c['status'], got))
        if c['shown'] and not matches(c['shown'], got_lines, plan['vary'], plan['numbers']):
            bad.append('%s: `%s` printed:\n%s--- the text shows:\n%s'
                       % (c['where'], c['command'], got, '\n'.join(c['shown'])))
    for b in bad:
        print(b)
    return 1 if bad else 0


# ------------------------------------------------------------- coverage

def claims(batsfile):
    """[(bats line, FILE, KEY, commands or None)] of the `doc` lines: a line
    `doc NAME FILE KEY [OPTION]...` (continued after a backslash), its words
    quoted as the shell quotes them, KEY without expansions."""
    out = []
    with open(batsfile) as f:
        lines = f.read().split('\n')
    for n, line in enumerate(lines, 1):
        if not re.match(r'\s*doc\s', line):
            continue
        i = n
        while line.endswith('\\') and i < len(lines):
            line = line[:-1] + lines[i]
            i += 1
        words = shlex.split(line)
        if len(words) < 4:
            out.append((n, '', '', None))
            continue
        chosen = None
        if '--cmd' in words:
            chosen = [int(x) for x in words[words.index('--cmd') + 1].split(',')]
        out.append((n, words[2], words[3], chosen))
    return out


def coverage(top, batsfile):
    blocks = all_blocks(top)
    bad, claimed = [], {}
    bats = os.path.basename(batsfile)
    for n, file, key, chosen in claims(batsfile):
        found = find(blocks, file, key)
        if len(found) != 1:
            bad.append('%s:%d: %s blocks of %s contain %r: a claim names one example'
                       % (bats, n, 'no' if not found else len(found), file, key))
            continue
        b = found[0]
        if b.kind == 'other':
            bad.append('%s:%d: %s is not an example (no "$ " line, not Python)'
                       % (bats, n, b.where()))
        total = len(commands_of(b)) if b.kind == 'shell' else 1
        claimed.setdefault(b.where(), set()).update(chosen or range(1, total + 1))
    listed = set()
    others = [b for b in blocks if b.kind == 'other']
    for file, key, why in NOT_EXAMPLES:
        found = find(others, file, key)
        if len(found) != 1:
            bad.append('examples.py NOT_EXAMPLES: %s blocks of %s that are not examples contain %r'
                       % ('no' if not found else len(found), file, key))
        else:
            listed.add(found[0].where())
    for b in blocks:
        if b.kind == 'other':
            if b.where() not in listed:
                bad.append('%s: a block neither example nor listed in NOT_EXAMPLES: %s'
                           % (b.where(), b.lines[0] if b.lines else ''))
            continue
        if b.kind == 'shell':
            for i, (line, command, _) in enumerate(commands_of(b), 1):
                if i not in claimed.get(b.where(), ()):
                    bad.append('%s:%d: no scenario of %s runs `%s`' % (b.file, line, bats, command))
        elif b.where() not in claimed:
            bad.append('%s: no scenario of %s runs this Python example: %s'
                       % (b.where(), bats, b.lines[0]))
    for b in bad:
        print(b)
    return 1 if bad else 0


# ------------------------------------------------------------- main

def script_options(argv):
    opts = {'cmd': [], 'port': [], 'sub': [], 'vary': [], 'numbers': False, 'status': {},
            'await_bg': False, 'append': [], 'then': ''}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--cmd':
            opts['cmd'] = [int(x) for x in argv[i + 1].split(',')]
            i += 2
        elif a in ('--port', '--sub', '--vary', '--append'):
            opts[a[2:]].append((argv[i + 1], argv[i + 2]))
            i += 3
        elif a == '--status':
            opts['status'][int(argv[i + 1])] = int(argv[i + 2])
            i += 3
        elif a == '--then':
            opts['then'] = argv[i + 1]
            i += 2
        elif a == '--numbers':
            opts['numbers'] = True
            i += 1
        elif a == '--await-bg':
            opts['await_bg'] = True
            i += 1
        else:
            sys.exit('examples: unknown option ' + a)
    return opts


def main(argv):
    if len(argv) == 2 and argv[0] == 'list':
        for b in all_blocks(argv[1]):
            print('%s\t%s\t%s' % (b.where(), b.kind, b.lines[0] if b.lines else ''))
        return 0
    if len(argv) == 3 and argv[0] == 'coverage':
        return coverage(argv[1], argv[2])
    if len(argv) >= 7 and argv[0] == 'script':
        top, file, key, outdir, name, workdir = argv[1:7]
        opts = script_options(argv[7:])
        found = find(all_blocks(top), file, key)
        if len(found) != 1:
            sys.exit('examples: %d blocks of %s contain %r' % (len(found), file, key))
        b = found[0]
        if b.kind == 'python':
            with open(os.path.join(workdir, name), 'w') as f:
                f.write(rewrite(b.text, opts) + '\n')
        elif b.kind == 'shell':
            shell_script(b, opts, outdir, name, workdir)
        else:
            sys.exit('examples: %s is not an example' % b.where())
        return 0
    if len(argv) == 3 and argv[0] == 'check':
        return check(argv[1], argv[2])
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
