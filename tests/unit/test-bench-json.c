/*
 * test-bench-json.c - bench_json_print(): byte for byte jansson's
 * json_dumps() layout, compact and indented, with reals spelt as Python's
 * repr() of a float.
 */
#include "bench.h"
#include "tap.h"

#include <string.h>

/* What bench_json_print() writes, malloc'ed. */
static char *printed(json_t *j, int indent)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	bench_json_print(out, j, indent);
	fclose(out);
	return text;
}

/* What json_dumps() writes for the same layout, with the newline. */
static char *dumped(json_t *j, int indent)
{
	size_t flags = indent > 0 ? JSON_INDENT(indent) | JSON_PRESERVE_ORDER
				  : JSON_COMPACT;
	char *text = json_dumps(j, flags), *line;

	if (text == NULL || asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

/* Without reals, or with reals both spell alike, the text is jansson's. */
static void same_as_jansson(const char *name, json_t *j)
{
	static const int indents[] = { 0, 2, 4 };
	char *ours, *theirs;
	bool same;
	size_t i;

	for (i = 0; i < sizeof(indents) / sizeof(indents[0]); i++) {
		ours = printed(j, indents[i]);
		theirs = dumped(j, indents[i]);
		same = ours && theirs && strcmp(ours, theirs) == 0;
		ok(same, "%s, indent %d: as json_dumps()", name, indents[i]);
		if (!same)
			fprintf(stderr, "ours:\n%s\njansson's:\n%s\n",
				ours ? ours : "(none)",
				theirs ? theirs : "(none)");
		free(ours);
		free(theirs);
	}
	json_decref(j);
}

static void test_layout(void)
{
	same_as_jansson("scalars", json_pack("[i, I, b, b, n, s, f, f]", -7,
					     (json_int_t)INT64_MIN, 1, 0, "x",
					     0.5, -2.0));
	same_as_jansson("empty containers", json_pack("{s:[], s:{}, s:[{}]}",
						      "a", "b", "c"));
	same_as_jansson("nested, in insertion order",
			json_pack("{s:s, s:s?, s:[s, s], s:{s:I, s:{s:b}}}",
				  "zeta", "0.1.0", "alpha", NULL, "middle",
				  "unix", "tcp", "latency_ns", "p50",
				  (json_int_t)16732, "deeper", "x", 1));
	same_as_jansson("string escapes",
			json_pack("{s:s, s:s#}", "q\"b\\\n", "\b\f\r\t/\x01\x1f "
				  "\x7f\xc3\xa9\xe2\x82\xac", "nul", "a\0b", 3));
}

/* The real in a one-item compact array. */
static void spelt(double v, const char *expected)
{
	json_t *j = json_pack("[f]", v);
	char *text = printed(j, 0), want[64];

	snprintf(want, sizeof(want), "[%s]\n", expected);
	ok(text && strcmp(text, want) == 0, "%.17g is %s (got %.*s)", v,
	   expected, text ? (int)strcspn(text, "\n") : 6,
	   text ? text : "(none)");
	free(text);
	json_decref(j);
}

static void test_reals(void)
{
	spelt(0.1, "0.1");
	spelt(0.3, "0.3");
	spelt(1.0 / 3, "0.3333333333333333");
	spelt(0.0, "0.0");
	spelt(-0.0, "-0.0");
	spelt(9337.1727787799682, "9337.172778779968");
	spelt(1e16, "1e+16");
	spelt(1.5e-5, "1.5e-05");
	spelt(123456789012345.0, "123456789012345.0");
}

int main(void)
{
	test_layout();
	test_reals();
	return tap_done();
}
