/*
 * test-options.c - the option table (src/cli/options-table.c) and what is
 * made from it: every tool's getopt_long tables agree with its rows and
 * have no letter or name twice, --help lists every option once, the
 * completion's values are values the option takes; bounds and conflicts
 * give the documented messages.
 */
#include "cli.h"
#include "bench.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	const struct cli_option_layout *layout;
} tools[] = {
	{ "conn-listen", &cli_listen_options },
	{ "conn-client", &cli_client_options },
	{ "conn-pipe", &cli_pipe_options },
	{ "conn-bench", &cli_bench_options },
};

#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

/* The rows of one tool, collected. */
struct rows {
	const struct cli_option_spec *row[CLI_MAX_OPTIONS + 8];
	size_t n;
};

static void collect(const struct cli_option_spec *row, void *ctx)
{
	struct rows *r = ctx;

	if (r->n < sizeof(r->row) / sizeof(r->row[0]))
		r->row[r->n++] = row;
}

static const struct option *find_long(const struct option *longs,
				      const char *name, int *count)
{
	const struct option *found = NULL;

	for (*count = 0; longs->name; longs++)
		if (strcmp(longs->name, name) == 0) {
			found = longs;
			++*count;
		}
	return found;
}

/* The letter's has_arg as the short string says, -1 if absent; *count is
 * how often the letter is there. */
static int short_has_arg(const char *shorts, int letter, int *count)
{
	const char *p;
	int has_arg = -1;

	*count = 0;
	for (p = shorts + 1; *p; p++) {
		if (*p == ':')
			continue;
		if (*p != letter)
			continue;
		++*count;
		has_arg = p[1] != ':' ? no_argument
			: p[2] == ':' ? optional_argument : required_argument;
	}
	return has_arg;
}

static void test_getopt_tables(const char *tool,
			       const struct cli_option_layout *l)
{
	struct option longs[CLI_MAX_OPTIONS + 1];
	char shorts[3 * CLI_MAX_OPTIONS + 2];
	struct rows r = { .n = 0 };
	const struct option *o;
	size_t i, nlongs = 0;
	int count, bad = 0;

	ok(cli_getopt_tables(l, longs, shorts) == 0 && shorts[0] == ':',
	   "%s: getopt tables built, ':' first", tool);
	cli_option_each(l, collect, &r);
	for (i = 0; i < r.n; i++) {
		const struct cli_option_spec *row = r.row[i];

		if (row->name) {
			nlongs++;
			o = find_long(longs, row->name, &count);
			if (count != 1 || o->has_arg != row->has_arg ||
			    o->val != row->code || o->flag != NULL) {
				bad++;
				printf("# %s: --%s in the long table %d times\n",
				       tool, row->name, count);
			}
		}
		if (row->letter && (short_has_arg(shorts, row->letter,
						  &count) != row->has_arg ||
				    count != 1 || row->letter != row->code)) {
			bad++;
			printf("# %s: -%c in \"%s\" %d times\n", tool,
			       row->letter, shorts, count);
		}
	}
	for (count = 0; longs[count].name; count++)
		;
	ok(bad == 0 && (size_t)count == nlongs,
	   "%s: every row is in getopt's tables once, as the row says "
	   "(%zu rows, %d long names)", tool, r.n, count);
}

/* p starts with head, then '=', '[', ' ', ',' or the line's end. */
static bool starts_entry(const char *p, const char *head)
{
	size_t n = strlen(head);

	return strncmp(p, head, n) == 0 && p[n] && strchr("=[ ,\n", p[n]);
}

/* How many option lines of text (indented 2 to 6 spaces) start with head,
 * itself or after "-x, ". */
static int help_entries(const char *text, const char *head)
{
	const char *line, *p;
	int count = 0;

	for (line = text; *line; line = strchr(line, '\n') + 1) {
		p = line + strspn(line, " ");
		if (p - line >= 2 && p - line <= 6 && *p == '-' &&
		    (starts_entry(p, head) ||
		     (p[1] != '-' && strncmp(p + 2, ", ", 2) == 0 &&
		      starts_entry(p + 4, head))))
			count++;
		if (strchr(line, '\n') == NULL)
			break;
	}
	return count;
}

/* 1 (and a note) unless head heads one entry of text, none if hidden. */
static int listed_wrongly(const char *tool, const char *text,
			  const char *head, bool hidden)
{
	int n = help_entries(text, head);

	if (n == (hidden ? 0 : 1))
		return 0;
	printf("# %s --help: %s %d times\n", tool, head, n);
	return 1;
}

static void test_help(const char *tool, const struct cli_option_layout *l)
{
	struct rows r = { .n = 0 };
	char *text = NULL, head[64];
	size_t len = 0, i;
	FILE *out = open_memstream(&text, &len);
	int bad = 0;

	cli_help_print(out, l);
	fclose(out);
	cli_option_each(l, collect, &r);
	for (i = 0; i < r.n; i++) {
		const struct cli_option_spec *row = r.row[i];
		bool hidden = row->help == NULL;

		if (row->name) {
			snprintf(head, sizeof(head), "--%s", row->name);
			bad += listed_wrongly(tool, text, head, hidden);
		}
		if (row->letter) {
			snprintf(head, sizeof(head), "-%c", row->letter);
			bad += listed_wrongly(tool, text, head, hidden);
		}
	}
	ok(bad == 0, "%s --help lists each of its %zu options exactly once "
	   "(--list-options not at all)", tool, r.n);
	free(text);
}

/* A value the completion offers is one the option takes. */
static int value_taken(const struct cli_option_spec *row, const char *word)
{
	struct cli_options o;
	enum bench_workload w;
	char arg[64];
	int rc;

	if (row->code == CLI_OPT_WORKLOAD)
		return bench_workload_from_name(&w, word);
	if (row->code == CLI_OPT_TRANSPORT)
		return strcmp(word, "unix") && strcmp(word, "tcp");
	cli_options_init(&o);
	/* --trace, --forward-digest and --forward-tls-min need --forward. */
	if (row->code == CLI_OPT_TRACE || row->code == CLI_OPT_FORWARD_DIGEST ||
	    row->code == CLI_OPT_FORWARD_TLS_MIN)
		o.forward = "127.0.0.1:1";
	snprintf(arg, sizeof(arg), "%s", word);
	rc = cli_options_set(&o, row->code, arg);
	/* --in and --format take input formats only: finish() says so. */
	if (rc == 0)
		rc = cli_options_finish(&o, CLI_OPERANDS_PIPE, 0, NULL);
	cli_options_free(&o);
	return rc;
}

static void check_values(const struct cli_option_spec *row, void *ctx)
{
	int *bad = ctx;
	char words[200], *w, *save;

	if (row->values == NULL || row->values[0] == '@')
		return;
	snprintf(words, sizeof(words), "%s", row->values);
	for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ",
							      &save))
		if (value_taken(row, w)) {
			++*bad;
			printf("# --%s does not take '%s'\n", row->name, w);
		}
}

static void test_values(const char *tool, const struct cli_option_layout *l)
{
	int bad = 0;

	cli_option_each(l, check_values, &bad);
	ok(bad == 0, "%s: every completion value is taken by its option",
	   tool);
}

/* cli_options_set() on argument arg gives the detail want. */
static void refused(int code, const char *arg, const char *want)
{
	struct cli_options o;
	char copy[64];
	int rc;

	cli_options_init(&o);
	snprintf(copy, sizeof(copy), "%s", arg ? arg : "");
	rc = cli_options_set(&o, code, arg ? copy : NULL);
	ok(rc == CONN_EINVAL && strcmp(o.detail, want) == 0,
	   "refused: \"%s\" (got %d, \"%s\")", want, rc, o.detail);
	cli_options_free(&o);
}

static void accepted(int code, const char *arg)
{
	struct cli_options o;
	char copy[64];
	int rc;

	cli_options_init(&o);
	snprintf(copy, sizeof(copy), "%s", arg);
	rc = cli_options_set(&o, code, copy);
	ok(rc == 0, "accepted: option %d '%s' (got %d, \"%s\")", code, arg,
	   rc, o.detail);
	cli_options_free(&o);
}

/* --max-startups START:RATE:FULL, or N for N:100:N. */
static void startups(const char *arg, uint64_t start, uint64_t rate,
		     uint64_t full)
{
	struct cli_options o;
	char copy[64];
	int rc;

	cli_options_init(&o);
	snprintf(copy, sizeof(copy), "%s", arg);
	rc = cli_options_set(&o, CLI_OPT_MAX_STARTUPS, copy);
	ok(rc == 0 && o.startups_set && o.startups_start == start &&
	   o.startups_rate == rate && o.startups_full == full,
	   "--max-startups %s is %llu:%llu:%llu", arg,
	   (unsigned long long)start, (unsigned long long)rate,
	   (unsigned long long)full);
	cli_options_free(&o);
}

static void test_max_startups(void)
{
	static const char *const bad[] = {
		"", "0", "10:30", "10:30:5", "10:101:100", "10:30:100:1",
		"10:30:", ":30:100", "1x", "10:-1:100", "10:30:100001"
	};
	char want[120];
	size_t i;
	struct cli_options o;

	cli_options_init(&o);
	ok(!o.startups_set && o.startups_start == 10 &&
	   o.startups_rate == 30 && o.startups_full == 100,
	   "--max-startups is 10:30:100 by default");
	cli_options_free(&o);
	startups("10:30:100", 10, 30, 100);
	startups("5:0:5", 5, 0, 5);
	startups("20", 20, 100, 20);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(want, sizeof(want), "invalid --max-startups '%s' "
			 "(START:RATE:FULL, 1 <= START <= FULL, RATE 0-100)",
			 bad[i]);
		refused(CLI_OPT_MAX_STARTUPS, bad[i], want);
	}
}

/* The two number parsers every option's bounds go through. */
static void test_number_parsers(void)
{
	char detail[100] = "";
	uint64_t n = 0;
	int64_t ms = 0;

	ok(cli_option_size(detail, sizeof(detail), &n, "--parallel", "257", 1,
			   256, "1 to 256") == CONN_EINVAL &&
	   strcmp(detail, "invalid --parallel '257' (1 to 256)") == 0,
	   "size over its bound: \"%s\"", detail);
	ok(cli_option_size(detail, sizeof(detail), &n, "--size", "1K", 0,
			   1u << 30, NULL) == 0 && n == 1024, "1K is 1024");
	ok(cli_option_seconds(detail, sizeof(detail), &ms, "--duration",
			      "0.0004", 1, 86400) == CONN_EINVAL &&
	   strcmp(detail, "invalid --duration '0.0004' (seconds)") == 0,
	   "seconds under their bound: \"%s\"", detail);
	ok(cli_option_seconds(detail, sizeof(detail), &ms, "--duration",
			      "1.5", 1, 86400) == 0 && ms == 1500,
	   "1.5 s is 1500 ms");
}

static void test_bounds(void)
{
	refused(CLI_OPT_MAX_CONNS, "0", "invalid --max-conns '0'");
	refused(CLI_OPT_MAX_CONNS, "100001", "invalid --max-conns '100001'");
	accepted(CLI_OPT_MAX_CONNS, "100000");
	refused(CLI_OPT_PICKLE_PROTOCOL, "6", "invalid --pickle-protocol '6'");
	accepted(CLI_OPT_PICKLE_PROTOCOL, "0");
	refused('c', "0", "invalid --count '0'");
	refused('c', "-1", "invalid --count '-1'");
	refused(CLI_OPT_CHUNK_SIZE, "0", "invalid --chunk-size '0'");
	refused(CLI_OPT_CHUNK_SIZE, "2G", "invalid --chunk-size '2G'");
	accepted(CLI_OPT_CHUNK_SIZE, "1G");
	refused(CLI_OPT_MAX_SIZE, "1x", "invalid --max-size '1x'");
	accepted(CLI_OPT_MAX_SIZE, "0");
	refused(CLI_OPT_HANDSHAKE_TIMEOUT, "-1",
		"invalid --handshake-timeout '-1' (seconds)");
	refused(CLI_OPT_HANDSHAKE_TIMEOUT, "1000001",
		"invalid --handshake-timeout '1000001' (seconds)");
	accepted(CLI_OPT_HANDSHAKE_TIMEOUT, "0.5");
	refused(CLI_OPT_WAIT, "inf", "invalid --wait 'inf' (seconds)");
	refused(CLI_OPT_PROGRESS, "sometimes",
		"invalid --progress 'sometimes' (auto, always, never)");
	refused(CLI_OPT_DIGEST, "sha1", "unknown digest 'sha1' (sha256, "
		"sha384, sha3_256, sha3_384, md5)");
	refused(CLI_OPT_FORWARD_DIGEST, "sha1", "unknown digest 'sha1' "
		"(sha256, sha384, sha3_256, sha3_384, md5)");
	/* --trace: the formats that show a message in one record */
	refused(CLI_OPT_TRACE, "frames", "unknown --trace format 'frames' "
		"(repr, json, hex, quoted, pickle-dis, audit)");
	refused(CLI_OPT_TRACE, "lines", "unknown --trace format 'lines' "
		"(repr, json, hex, quoted, pickle-dis, audit)");
	accepted(CLI_OPT_TRACE, "pickle-dis");
}

/* The options in opts (codes, with arguments), then finish(): detail. */
static void conflict(const char *want, int n, const int *codes,
		     const char *const *args)
{
	static char *address[] = { "localhost:1", NULL };
	struct cli_options o;
	char copy[8][32];
	int i, rc = 0;

	cli_options_init(&o);
	for (i = 0; i < n && rc == 0; i++) {
		snprintf(copy[i], sizeof(copy[i]), "%s", args[i] ? args[i]
								  : "");
		rc = cli_options_set(&o, codes[i], args[i] ? copy[i] : NULL);
	}
	if (rc == 0)
		rc = cli_options_finish(&o, CLI_OPERANDS_ADDRESS, 1, address);
	ok(rc == CONN_EINVAL && strcmp(o.detail, want) == 0,
	   "conflict: \"%s\" (got \"%s\")", want, o.detail);
	cli_options_free(&o);
}

static void test_conflicts(void)
{
	static const int send_recv[] = { CLI_OPT_SEND_ONLY, CLI_OPT_RECV_ONLY };
	static const int four_six[] = { '4', '6' };
	static const int exec_sh[] = { 'e', CLI_OPT_SH_EXEC };
	static const int keys[] = { CLI_OPT_AUTHKEY, CLI_OPT_AUTHKEY_FILE };
	static const int tag_raw[] = { 'k', CLI_OPT_TAG, CLI_OPT_OUT };
	static const char *const none[] = { NULL, NULL, NULL };
	static const char *const cmds[] = { "cat", "cat" };
	static const char *const key_args[] = { "k", "/nonexistent" };
	static const char *const raw[] = { NULL, NULL, "raw" };
	static const int forward_out[] = { CLI_OPT_FORWARD, CLI_OPT_OUT };
	static const char *const fwd_out[] = { ":1", "json" };
	static const char *const bad_target[] = { "x" };
	static const int forward_keys[] = { CLI_OPT_FORWARD,
		CLI_OPT_FORWARD_AUTHKEY_FILE, CLI_OPT_FORWARD_NO_AUTHKEY };
	static const char *const fwd_keys[] = { ":1", "/nonexistent", NULL };
	static const int trace[] = { CLI_OPT_TRACE };
	static const char *const json[] = { "json" };

	conflict("cannot use --send-only with --recv-only", 2, send_recv,
		 none);
	conflict("cannot use -4 with -6", 2, four_six, none);
	conflict("cannot use --exec with --sh-exec", 2, exec_sh, cmds);
	conflict("cannot use --authkey with --authkey-file", 2, keys,
		 key_args);
	conflict("cannot use --tag with --out raw", 3, tag_raw, raw);
	conflict("cannot use --forward with --out", 2, forward_out, fwd_out);
	conflict("cannot use --forward-authkey-file with --forward-no-authkey",
		 3, forward_keys, fwd_keys);
	conflict("--trace needs --forward", 1, trace, json);
	conflict("--forward: invalid address 'x' (HOST:PORT, [IPV6]:PORT, "
		 ":PORT, unix:PATH or @NAME)", 1, forward_out, bad_target);
}

int main(void)
{
	size_t i;

	for (i = 0; i < NTOOLS; i++) {
		test_getopt_tables(tools[i].name, tools[i].layout);
		test_help(tools[i].name, tools[i].layout);
		test_values(tools[i].name, tools[i].layout);
	}
	test_number_parsers();
	test_bounds();
	test_max_startups();
	test_conflicts();
	return tap_done();
}
