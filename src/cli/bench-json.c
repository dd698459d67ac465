/*
 * bench-json.c - conn-bench's JSON text: laid out as jansson's
 * json_dumps() lays it out (JSON_COMPACT or JSON_INDENT(n)), keys in
 * insertion order, but with every real spelt as Python's repr() spells a
 * float, the shortest digits that read back (0.1, where jansson writes
 * 0.10000000000000001): jansson has no way to spell a real like that.
 * See bench.h.
 */
#include <config.h>

#include "bench.h"

#include <string.h>

static void put_value(FILE *out, json_t *j, int indent, int depth);

/* A new line and its indentation; nothing when compact. */
static void put_break(FILE *out, int indent, int depth)
{
	if (indent > 0)
		fprintf(out, "\n%*s", indent * depth, "");
}

/* A JSON string, escaped as jansson escapes it (UTF-8 left as it is). */
static void put_string(FILE *out, const char *s, size_t len)
{
	static const char special[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
	const char *p;
	size_t i;

	fputc('"', out);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != 0 && (p = strchr(special, c)) != NULL)
			fprintf(out, "\\%c", letter[p - special]);
		else if (c < 0x20)
			fprintf(out, "\\u%04X", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* An object's members or an array's items, one per line when indented. */
static void put_members(FILE *out, json_t *j, int indent, int depth)
{
	bool object = json_is_object(j);
	size_t n = object ? json_object_size(j) : json_array_size(j), i;
	void *it = object ? json_object_iter(j) : NULL;
	const char *key;

	fputc(object ? '{' : '[', out);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', out);
		put_break(out, indent, depth + 1);
		if (!object) {
			put_value(out, json_array_get(j, i), indent, depth + 1);
			continue;
		}
		key = json_object_iter_key(it);
		put_string(out, key, strlen(key));
		fputs(indent > 0 ? ": " : ":", out);
		put_value(out, json_object_iter_value(it), indent, depth + 1);
		it = json_object_iter_next(j, it);
	}
	if (n > 0)
		put_break(out, indent, depth);
	fputc(object ? '}' : ']', out);
}

static void put_value(FILE *out, json_t *j, int indent, int depth)
{
	char real[CONN_FLOAT_REPR_MAX];

	switch (json_typeof(j)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		put_members(out, j, indent, depth);
		break;
	case JSON_STRING:
		put_string(out, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		/* Always finite: json_real() refuses nan and infinities. */
		conn_float_repr(real, sizeof(real), json_real_value(j));
		fputs(real, out);
		break;
	case JSON_TRUE:
		fputs("true", out);
		break;
	case JSON_FALSE:
		fputs("false", out);
		break;
	case JSON_NULL:
		fputs("null", out);
		break;
	}
}

void bench_json_print(FILE *out, json_t *j, int indent)
{
	if (j == NULL)
		return;
	put_value(out, j, indent, 0);
	fputc('\n', out);
}
