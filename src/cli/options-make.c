/* options-make.c - what is made from a tool's option layout
 * (options-table.c): getopt_long's tables, --help's option lines, and the
 * list the completion reads (--list-options). */
#include "cli.h"

#include <string.h>

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
	size_t nrows, nlongs, nshorts;
	bool full;
};

static void add_getopt_entry(const struct cli_option_spec *row, void *ctx)
{
	struct getopt_tables *g = ctx;

	/* At most a long entry and three letters a row. */
	if (g->nrows++ >= CLI_MAX_OPTIONS) {
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
	struct getopt_tables g = { .longs = longs, .shorts = shorts,
				    .nshorts = 1 };

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
