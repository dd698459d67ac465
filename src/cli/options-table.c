/* options-table.c - every shared option once, and what is made from the
 * rows: getopt_long's tables, --help's lines, the completion's list. */
#include "cli.h"

#include <string.h>

#define INPUT_FORMATS "lines null raw frames hex quoted json"
#define ALL_FORMATS INPUT_FORMATS " repr pickle-dis"

const struct cli_option_spec cli_option_table[] = {
	/* About connections: the network tools. */
	{ NULL, '4', '4', no_argument, "", CLI_NETWORK_TOOLS,
	  CLI_GROUP_NETWORK, "use IPv4 only", NULL },
	{ NULL, '6', '6', no_argument, "", CLI_NETWORK_TOOLS,
	  CLI_GROUP_NETWORK, "use IPv6 only", NULL },
	{ "authkey-file", 0, CLI_OPT_AUTHKEY_FILE, required_argument, "=FILE",
	  CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "authenticate with the key in FILE", CLI_VALUES_FILE },
	{ "authkey", 0, CLI_OPT_AUTHKEY, required_argument, "=TEXT",
	  CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "authenticate with TEXT (visible to other users)", NULL },
	{ "digest", 0, CLI_OPT_DIGEST, required_argument, "=NAME",
	  CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "digest of our challenge: sha256 (default), sha384,\n"
	  "  sha3_256, sha3_384, md5",
	  "sha256 sha384 sha3_256 sha3_384 md5" },
	{ "no-md5", 0, CLI_OPT_NO_MD5, no_argument, "", CLI_NETWORK_TOOLS,
	  CLI_GROUP_NETWORK, "never use MD5 (refuses legacy Python peers)",
	  NULL },
	{ "handshake-timeout", 0, CLI_OPT_HANDSHAKE_TIMEOUT,
	  required_argument, "=SEC", CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "time allowed for the handshake (default 10;\n  0 = no limit)",
	  NULL },
	/* conn-client's retries. */
	{ "wait", 0, CLI_OPT_WAIT, required_argument, "=SEC", CLI_CLIENT,
	  CLI_GROUP_WAIT, "retry connecting for up to SEC seconds", NULL },
	/* conn-listen's server. */
	{ "keep-open", 'k', 'k', no_argument, "", CLI_LISTEN,
	  CLI_GROUP_SERVER,
	  "after a connection, accept the next; serve many at\n"
	  "  once (fan-in to stdout, stdin to the newest)", NULL },
	{ "max-conns", 0, CLI_OPT_MAX_CONNS, required_argument, "=N",
	  CLI_LISTEN, CLI_GROUP_SERVER,
	  "-k: at most N connections at once (default 100)", NULL },
	{ "max-accepts", 0, CLI_OPT_MAX_ACCEPTS, required_argument, "=N",
	  CLI_LISTEN, CLI_GROUP_SERVER,
	  "stop listening after N connections (implies -k)", NULL },
	{ "tag", 0, CLI_OPT_TAG, no_argument, "", CLI_LISTEN,
	  CLI_GROUP_SERVER,
	  "prefix each message on stdout with the peer's\n"
	  "  address (text formats); with --out json, one\n"
	  "  object: {\"peer\": ADDRESS, \"message\": ...}", NULL },
	{ "broadcast", 0, CLI_OPT_BROADCAST, no_argument, "", CLI_LISTEN,
	  CLI_GROUP_SERVER, "-k: send each stdin message to every client",
	  NULL },
	/* --exec: CMD's arguments follow it, so it comes last.  conn-pipe
	 * has no network, hence its shorter line and no --sh-exec. */
	{ "exec", 'e', 'e', required_argument, " CMD [ARG]...",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_EXEC,
	  "run CMD on each connection, its stdin and stdout\n"
	  "  carrying the messages in the chosen formats;\n"
	  "  the arguments after CMD are its own, so it\n"
	  "  comes last", CLI_VALUES_COMMAND },
	{ "sh-exec", 0, CLI_OPT_SH_EXEC, required_argument, "=LINE",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_EXEC,
	  "like --exec, with /bin/sh -c LINE", CLI_VALUES_LINE },
	{ "exec", 'e', 'e', required_argument, " CMD [ARG]...", CLI_PIPE,
	  CLI_GROUP_EXEC, "run CMD; the arguments after it are its own",
	  CLI_VALUES_COMMAND },
	/* About messages: every tool but conn-bench. */
	{ "format", 'f', 'f', required_argument, "=FMT", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES,
	  "message format of stdin and stdout: lines (default),\n"
	  "  null, raw, frames, hex, quoted, json; output only:\n"
	  "  repr, pickle-dis", INPUT_FORMATS },
	{ "in", 0, CLI_OPT_IN, required_argument, "=FMT", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "format of stdin", INPUT_FORMATS },
	{ "out", 0, CLI_OPT_OUT, required_argument, "=FMT", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "format of stdout", ALL_FORMATS },
	{ NULL, '0', '0', no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "same as --format=null", NULL },
	{ "chunk-size", 0, CLI_OPT_CHUNK_SIZE, required_argument, "=BYTES",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "raw input: largest message made from one read\n  (default 64K)",
	  NULL },
	{ "max-size", 0, CLI_OPT_MAX_SIZE, required_argument, "=BYTES",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "largest message accepted (default 1G; 0 = no limit)", NULL },
	{ "pickle-protocol", 0, CLI_OPT_PICKLE_PROTOCOL, required_argument,
	  "=N", CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "json input: pickle protocol 0-5 (default 4)", "0 1 2 3 4 5" },
	{ "keep-going", 0, CLI_OPT_KEEP_GOING, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "show a message that is not a pickle in hex and go on", NULL },
	{ "data", 0, CLI_OPT_DATA, required_argument, "=TEXT",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "send TEXT as a message before stdin (repeatable)", NULL },
	{ "count", 'c', 'c', required_argument, "=N", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "exit after receiving N messages", NULL },
	{ "send-only", 0, CLI_OPT_SEND_ONLY, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "only send; discard received messages", NULL },
	{ "recv-only", 0, CLI_OPT_RECV_ONLY, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "only receive; do not read stdin", NULL },
	{ "close-on-eof", 0, CLI_OPT_CLOSE_ON_EOF, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "at stdin EOF, exit once all is sent instead of\n"
	  "  waiting for the peer to close", NULL },
	{ "echo", 0, CLI_OPT_ECHO, no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES,
	  "send every received message back (stdin and stdout\n"
	  "  are not used)", NULL },
	{ "progress", 0, CLI_OPT_PROGRESS, optional_argument, "[=WHEN]",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "show messages, bytes, rate and time on stderr:\n"
	  "  auto (when stderr is a terminal; the default\n"
	  "  of --progress), always, never", "auto always never" },
	{ "verbose", 'v', 'v', no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "trace connection events and frames to stderr",
	  NULL },
	{ "quiet", 'q', 'q', no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "print no notices", NULL },
	/* Every tool's last lines; --list-options is the completion's. */
	{ "help", 'h', 'h', no_argument, "", CLI_ALL_TOOLS, CLI_GROUP_HELP,
	  "display this help and exit", NULL },
	{ "version", 'V', 'V', no_argument, "", CLI_ALL_TOOLS,
	  CLI_GROUP_HELP, "output version information and exit", NULL },
	{ "list-options", 0, CLI_OPT_LIST_OPTIONS, no_argument, "",
	  CLI_ALL_TOOLS, CLI_GROUP_HELP, NULL, NULL },
	{ 0 }
};

void cli_option_each(const struct cli_option_layout *l,
		     void (*fn)(const struct cli_option_spec *, void *),
		     void *ctx)
{
	const struct cli_option_section *s;
	const struct cli_option_spec *row;

	for (s = l->sections; s->table; s++)
		for (row = s->table; row->code; row++)
			if (row->group == s->group && (row->tools & l->tool))
				fn(row, ctx);
}

struct getopt_tables {
	struct option *longs;
	char *shorts;
	size_t nlongs, nshorts;
	bool full;
};

static void add_getopt_entry(const struct cli_option_spec *row, void *ctx)
{
	struct getopt_tables *g = ctx;

	if (g->nlongs >= CLI_MAX_OPTIONS) {
		g->full = true;
		return;
	}
	if (row->name)
		g->longs[g->nlongs++] = (struct option){
			row->name, row->has_arg, NULL, row->code
		};
	if (row->letter == 0)
		return;
	g->shorts[g->nshorts++] = (char)row->letter;
	if (row->has_arg != no_argument)
		g->shorts[g->nshorts++] = ':';
	if (row->has_arg == optional_argument)
		g->shorts[g->nshorts++] = ':';
}

int cli_getopt_tables(const struct cli_option_layout *l, struct option *longs,
		      char *shorts)
{
	/* ':' first: a missing argument is told apart from an unknown
	 * option, and the tool prints the one error line itself. */
	struct getopt_tables g = { longs, shorts, 0, 1, false };

	shorts[0] = ':';
	cli_option_each(l, add_getopt_entry, &g);
	longs[g.nlongs] = (struct option){ NULL, 0, NULL, 0 };
	shorts[g.nshorts] = '\0';
	return g.full ? CONN_EINVAL : 0;
}

/* The help text starts at column 26 (28 for its next lines), or two
 * spaces after a longer head. */
#define HELP_COLUMN 26

static void print_help_line(const struct cli_option_spec *row, void *ctx)
{
	FILE *out = ctx;
	const char *p;
	int n;

	if (row->help == NULL)
		return;
	if (row->letter && row->name)
		n = fprintf(out, "  -%c, --%s%s", row->letter, row->name,
			    row->placeholder);
	else if (row->letter)
		n = fprintf(out, "  -%c%s", row->letter, row->placeholder);
	else
		n = fprintf(out, "      --%s%s", row->name, row->placeholder);
	fprintf(out, "%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
	for (p = row->help; *p; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fprintf(out, "%*s", HELP_COLUMN, "");
	}
	fputc('\n', out);
}

void cli_help_print(FILE *out, const struct cli_option_layout *l)
{
	cli_option_each(l, print_help_line, out);
}

/* The word after the option: its placeholder's first word, "?" first
 * when the value is optional ("[=WHEN]" is "?WHEN"). */
static void print_arg(FILE *out, const struct cli_option_spec *row)
{
	const char *p = row->placeholder + strspn(row->placeholder, " [=");

	if (row->has_arg == no_argument) {
		fputs(" -", out);
		return;
	}
	fputs(row->has_arg == optional_argument ? " ?" : " ", out);
	fwrite(p, 1, strcspn(p, " ]"), out);
}

static void print_list_word(FILE *out, const struct cli_option_spec *row,
			    bool is_long)
{
	if (is_long)
		fprintf(out, "--%s%s", row->name,
			row->placeholder[0] == '=' ? "=" : "");
	else
		fprintf(out, "-%c", row->letter);
	print_arg(out, row);
	if (row->values)
		fprintf(out, " %s", row->values);
	fputc('\n', out);
}

static void print_list_line(const struct cli_option_spec *row, void *ctx)
{
	if (row->help == NULL)
		return;
	if (row->letter)
		print_list_word(ctx, row, false);
	if (row->name)
		print_list_word(ctx, row, true);
}

void cli_options_list(FILE *out, const struct cli_option_layout *l)
{
	cli_option_each(l, print_list_line, out);
}
