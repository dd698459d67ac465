#!/usr/bin/env bats
# completion.bats - the bash completion of tools/conn-tools.bash-completion:
# options and values from each tool's --list-options (its option table), the
# same options as its --help, values of the options that have a fixed
# set, files and commands where they belong.  Completions are computed as
# bash computes them on <TAB>: the completion function runs with
# COMP_WORDS split at COMP_WORDBREAKS, in a bash that has loaded
# bash-completion, and its COMPREPLY is printed.

load helpers

COMPLETION=$BATS_TEST_DIRNAME/../../tools/conn-tools.bash-completion
BASH_COMPLETION=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}

# Each test starts with it (helpers.bash owns setup()).
need_completion() {
	skip_under_valgrind "every <TAB> runs the tool's --list-options; nothing else of the tools runs"
	[[ -f $COMPLETION ]] || skip "no completion/ beside the tests"
	[[ -f $BASH_COMPLETION ]] ||
		skip "bash-completion is not installed (apt-get install bash-completion)"
}

# tab LINE: prints what <TAB> at the end of LINE offers, one per line,
# sorted and without duplicates, then "(nospace)" if no space is to follow.
# It runs in an empty directory, where file names complete to nothing.
tab() {
	mkdir -p "$T/empty"
	(cd "$T/empty" && bash --norc --noprofile -c '
		. "$1" || exit 2
		. "$2" || exit 2
		line=$3
		COMP_LINE=$line COMP_POINT=${#line} COMP_TYPE=9 COMP_KEY=9
		COMP_WORDS=() w=
		for ((k = 0; k < ${#line}; k++)); do
			c=${line:k:1}
			case $c in
			" ") [[ -n $w ]] && COMP_WORDS+=("$w"); w= ;;
			[=:]) [[ -n $w ]] && COMP_WORDS+=("$w"); COMP_WORDS+=("$c"); w= ;;
			*) w+=$c ;;
			esac
		done
		[[ -n $w || $line == *" " ]] && COMP_WORDS+=("$w")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		nospace=
		compopt() { [[ $* == *nospace* ]] && nospace=1; return 0; }
		_conn_tools "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
			"${COMP_WORDS[COMP_CWORD - 1]}"
		((${#COMPREPLY[@]})) && printf "%s\n" "${COMPREPLY[@]}" | sort -u
		[[ -z $nospace ]] || echo "(nospace)"
	' tab "$BASH_COMPLETION" "$COMPLETION" "$1")
}

# expect LINE WORD... [(nospace)]: <TAB> after LINE offers exactly the
# WORDs, and no space after them if "(nospace)" is given.
expect() {
	local line=$1 nospace=
	shift
	if [[ ${!#} == "(nospace)" ]]; then
		nospace=$'\n(nospace)'
		set -- "${@:1:$#-1}"
	fi
	run tab "$line"
	assert_success
	if (($#)); then
		assert_output "$(printf '%s\n' "$@" | sort -u)$nospace"
	else
		assert_output ""
	fi
}

@test "completion: the script loads and registers the four tools" {
	need_completion
	run bash --norc --noprofile -c '. "$1" && . "$2" && complete -p conn-listen conn-client conn-pipe conn-bench' \
		x "$BASH_COMPLETION" "$COMPLETION"
	assert_success
	assert_line --index 0 "complete -F _conn_tools conn-listen"
	assert_line --index 3 "complete -F _conn_tools conn-bench"
}

@test "completion: conn-client --dig<TAB> is --digest=, with no space after" {
	need_completion
	expect "conn-client --dig" --digest= "(nospace)"
	expect "conn-client --no-" --no-md5
}

@test "completion: --digest values, after a space or an =" {
	need_completion
	expect "conn-client --digest " sha256 sha384 sha3_256 sha3_384 md5
	expect "conn-listen --digest=sha3_" sha3_256 sha3_384
	expect "conn-bench --digest m" md5
}

@test "completion: formats: --in and -f offer the input formats, --out all" {
	need_completion
	expect "conn-client --in " lines null raw frames hex quoted json
	expect "conn-pipe -f " lines null raw frames hex quoted json
	expect "conn-pipe --format=" lines null raw frames hex quoted json
	expect "conn-listen --out " lines null raw frames hex quoted json repr pickle-dis audit audit-json
	expect "conn-pipe --out=p" pickle-dis
}

@test "completion: conn-bench workloads and transports" {
	need_completion
	expect "conn-bench -w " stream pingpong handshake
	expect "conn-bench --workload=p" pingpong
	expect "conn-bench --transport " unix tcp
}

@test "completion: files for --authkey-file and --python-peer" {
	need_completion
	mkdir "$T/d"
	: >"$T/d/key1"
	: >"$T/d/key2"
	: >"$T/d/other"
	expect "conn-client --authkey-file $T/d/k" "$T/d/key1" "$T/d/key2"
	expect "conn-listen --authkey-file=$T/d/o" "$T/d/other"
	expect "conn-bench --python-peer $T/d/key" "$T/d/key1" "$T/d/key2"
}

@test "completion: nothing to offer for a value that is free text or a number" {
	need_completion
	expect "conn-client --authkey "
	expect "conn-pipe --max-size="
	expect "conn-bench --size 6"
	# --exec is --data's text here, not an option: no commands follow.
	expect "conn-pipe --data --exec conn-pi"
}

@test "completion: an optional value only after its =" {
	need_completion
	run_to H conn-pipe --help
	grep -q -- '--progress\[=WHEN\]' "$T/H.out" || skip "no --progress[=WHEN] in conn-pipe --help"
	expect "conn-pipe --progress=a" auto always
	: >"$T/empty/input"
	# Without '=', the next word is an operand: conn-pipe's FILE.
	expect "conn-pipe --progress in" input
}

@test "completion: commands for --exec, then the command's own completion" {
	need_completion
	run tab "conn-pipe --exec conn-pi"
	assert_success
	assert_line conn-pipe
	# The words after --exec CMD are CMD's: here conn-client's own options.
	expect "conn-listen :0 --exec conn-client --dig" --digest= "(nospace)"
	expect "conn-pipe --exec conn-pipe --out=r" raw repr
}

@test "completion: TOOL -<TAB> offers exactly the options of TOOL --help" {
	need_completion
	local tool
	for tool in conn-listen conn-client conn-pipe conn-bench; do
		run_to "H-$tool" "$tool" --help
		expect_exit "H-$tool" 0
		# Every word that starts an option line, and a long one after
		# "-x, ", with its "=" if it takes "=ARG".
		sed -nE 's/^ {2,6}(-[0-9A-Za-z])?(, )?(--[-0-9a-z]+=?)?.*/\1 \3/p' \
			"$T/H-$tool.out" | tr ' ' '\n' | grep . | sort -u >"$T/want"
		tab "$tool -" | grep -v '^(nospace)$' >"$T/got"
		diff "$T/want" "$T/got" >"$T/diff" ||
			fail "$tool: --help (<) and the completion (>) differ: $(cat "$T/diff")"
	done
}

@test "completion: every option of TOOL --list-options completes, and so do its values" {
	need_completion
	local tool word arg values line
	for tool in conn-listen conn-client conn-pipe conn-bench; do
		run_to "L-$tool" "$tool" --list-options
		expect_exit "L-$tool" 0
		cut -d' ' -f1 "$T/L-$tool.out" | sort -u >"$T/want"
		[[ -s $T/want ]] || fail "$tool --list-options lists nothing"
		tab "$tool -" | grep -v '^(nospace)$' >"$T/got"
		diff "$T/want" "$T/got" >"$T/diff" ||
			fail "$tool: --list-options (<) and the completion (>) differ: $(cat "$T/diff")"
		while read -r word arg values; do
			[[ -n $values && $values != @* ]] || continue
			# A value after "--name=", "--name[=" or "-x ".
			line="$tool $word"
			[[ $word == *= ]] || { [[ $arg == \?* ]] && line+="=" || line+=" "; }
			# shellcheck disable=SC2086 # the values are words
			expect "$line" $values
		done <"$T/L-$tool.out"
	done
}

@test "completion: --list-options is hidden from --help and from -<TAB>" {
	need_completion
	run_to H conn-client --help
	expect_exit H 0
	run grep -c -- --list-options "$T/H.out"
	assert_output 0
	run tab "conn-client --list"
	assert_success
	assert_output ""
}

# ------------------------------------------------------------ zsh and fish
# tools/conn-tools.zsh-completion and tools/conn-tools.fish-completion read
# the same --list-options; each is checked on a few prefixes in the shell
# itself: zsh through compinit and a real <TAB> (in a zpty), fish through
# complete -C.
ZSH_COMPLETION=$BATS_TEST_DIRNAME/../../tools/conn-tools.zsh-completion
FISH_COMPLETION=$BATS_TEST_DIRNAME/../../tools/conn-tools.fish-completion

need_shell() {
	skip_under_valgrind "every <TAB> runs the tool's --list-options; nothing else of the tools runs"
	command -v "$1" >/dev/null || skip "$1 is not installed (apt-get install $1)"
	[[ -f $2 ]] || skip "no completion/ beside the tests"
}

# ztab LINE: the matches zsh's <TAB> offers after LINE, sorted, one per
# line.  An interactive zsh -f in a zpty runs compinit with the completion
# installed as _conn-tools in its fpath; compadd is wrapped to print
# each match it adds (after its matching against the word), and <TAB>
# prints TABDONE after completing.
ztab() {
	mkdir -p "$T/zfunc" "$T/empty"
	cp "$ZSH_COMPLETION" "$T/zfunc/_conn-tools"
	cat >"$T/tab.zsh" <<'ZSH'
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1='' PROMPT_EOL_MARK=''; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd() { local -a __h; builtin compadd -O __h "$@"; (( $#__h )) && print -rl -- "" ${(@)^__h/#/MATCH:}; builtin compadd "$@"; }'
zpty -w z 'tab_done() { zle complete-word; print -r -- TAB""DONE; }; zle -N tab_done; bindkey "^I" tab_done'
zpty -w z "zstyle ':completion:*' menu no; print -r -- RE''ADY"
zpty -r -m z line '*READY*' || exit 2
# Nothing typed ahead of the completion: <TAB> says when it is done.
zpty -n -w z "$2"$'\t'
out=
for ((n = 0; n < 600; n++)); do
	if zpty -r -t z l; then out+=$l; [[ $out == *TABDONE* ]] && break; else sleep 0.05; fi
done
[[ $out == *TABDONE* ]] || exit 3
print -r -- "$out" | tr -d '\r' | grep -a -o 'MATCH:[^ ]*' | sed 's/^MATCH://' | sort -u
ZSH
	(cd "$T/empty" && timeout 20 zsh -f "$T/tab.zsh" "$T/zfunc" "$1")
}

# zexpect LINE WORD...: zsh's <TAB> after LINE offers exactly the WORDs.
zexpect() {
	local line=$1
	shift
	run ztab "$line"
	assert_success
	assert_output "$(printf '%s\n' "$@" | sort -u)"
}

# ftab LINE: what fish's complete -C offers for LINE (the words, without
# their descriptions), sorted.
ftab() {
	mkdir -p "$T/empty"
	(cd "$T/empty" && timeout 20 fish --no-config -c 'source $argv[1]; or exit 2; complete -C $argv[2]' \
		"$FISH_COMPLETION" "$1") | cut -f1 | sort -u
}

fexpect() {
	local line=$1
	shift
	run ftab "$line"
	assert_success
	if (($#)); then
		assert_output "$(printf '%s\n' "$@" | sort -u)"
	else
		assert_output ""
	fi
}

@test "completion: zsh: compinit binds _conn-tools to the four tools" {
	need_shell zsh "$ZSH_COMPLETION"
	mkdir -p "$T/zfunc"
	cp "$ZSH_COMPLETION" "$T/zfunc/_conn-tools"
	run zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -D;
		for t in conn-listen conn-client conn-pipe conn-bench; do print -r -- "$t ${_comps[$t]}"; done' \
		x "$T/zfunc"
	assert_success
	assert_output "conn-listen _conn-tools
conn-client _conn-tools
conn-pipe _conn-tools
conn-bench _conn-tools"
}

@test "completion: zsh: options, values after a space or an =, --exec's command" {
	need_shell zsh "$ZSH_COMPLETION"
	zexpect "conn-client --dig" --digest
	zexpect "conn-client --no-" --no-md5
	zexpect "conn-client --digest " sha256 sha384 sha3_256 sha3_384 md5
	zexpect "conn-listen --digest=sha3_" sha3_256 sha3_384
	zexpect "conn-pipe -f " lines null raw frames hex quoted json
	zexpect "conn-pipe --out=p" pickle-dis
	zexpect "conn-pipe --progress=a" auto always
	zexpect "conn-bench -w " stream pingpong handshake
	zexpect "conn-pipe --exec conn-pi" conn-pipe
	# The words after --exec CMD are CMD's: here conn-client's own options.
	zexpect "conn-listen :0 --exec conn-client --dig" --digest
}

@test "completion: fish: options, values after a space or an =, --exec's command" {
	need_shell fish "$FISH_COMPLETION"
	fexpect "conn-client --dig" --digest
	fexpect "conn-client --no-" --no-md5
	fexpect "conn-client --digest " sha256 sha384 sha3_256 sha3_384 md5
	fexpect "conn-listen --digest=sha3_" --digest=sha3_256 --digest=sha3_384
	fexpect "conn-pipe -f " lines null raw frames hex quoted json
	fexpect "conn-pipe --out=p" --out=pickle-dis
	fexpect "conn-pipe --progress=a" --progress=auto --progress=always
	fexpect "conn-bench -w " stream pingpong handshake
	fexpect "conn-pipe --exec conn-pi" conn-pipe
	# Nothing for a number; --list-options stays hidden.
	fexpect "conn-client --max-size "
	fexpect "conn-client --list"
}

@test "completion: fish: every option of TOOL --list-options completes" {
	need_shell fish "$FISH_COMPLETION"
	local tool
	for tool in conn-listen conn-client conn-pipe conn-bench; do
		run_to "L-$tool" "$tool" --list-options
		expect_exit "L-$tool" 0
		# fish shows --digest= as --digest (and --progress as both).
		cut -d' ' -f1 "$T/L-$tool.out" | sed 's/=$//' | sort -u >"$T/want"
		{ ftab "$tool --"; ftab "$tool -" | grep -v -- '^--'; } | sed 's/=$//' | sort -u >"$T/got"
		diff "$T/want" "$T/got" >"$T/diff" ||
			fail "$tool: --list-options (<) and fish (>) differ: $(cat "$T/diff")"
	done
}
