/*
 * fuzz-pickle-render.c - libFuzzer harness for the safe pickle decoder
 * (conn_pickle_render): the input is one pickle, rendered in each style
 * (repr, json, pickle-dis).  All three decode it the same way, so they
 * must agree on whether it is valid; json output must be JSON.
 */
#include "conn.h"
#include "fuzz.h"

#include <stdbool.h>

#define STYLES 3
#define DETAIL_SIZE 120		/* what the relay gives it, roughly */

/* ------------------------------------------------- a strict JSON checker */

/*
 * Our own small RFC 8259 checker rather than a JSON library: jansson, for
 * one, refuses integers beyond 64 bits, which the json style writes.
 */
struct json_text {
	const char *p, *end;
	int depth;
};

static bool json_value(struct json_text *j);

static void json_space(struct json_text *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool json_literal(struct json_text *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool json_digits(struct json_text *j)
{
	const char *start = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static bool json_number(struct json_text *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!json_digits(j))
			return false;
	}
	return true;
}

/* One UTF-8 character of a string, shortest form, no surrogate. */
static bool json_utf8(struct json_text *j)
{
	const uint8_t *p = (const uint8_t *)j->p;
	size_t left = (size_t)(j->end - j->p), n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		n = 1, cp = p[0];
	else if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07;
	else
		return false;
	if (n > left)
		return false;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	j->p += n;
	return true;
}

static bool json_escape(struct json_text *j)
{
	int i;

	if (++j->p >= j->end)
		return false;
	if (strchr("\"\\/bfnrt", *j->p) != NULL && *j->p != '\0') {
		j->p++;
		return true;
	}
	if (*j->p++ != 'u' || j->end - j->p < 4)
		return false;
	for (i = 0; i < 4; i++, j->p++)
		if (strchr("0123456789abcdefABCDEF", *j->p) == NULL ||
		    *j->p == '\0')
			return false;
	return true;
}

static bool json_string(struct json_text *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		if ((uint8_t)*j->p < 0x20)
			return false;
		if (!(*j->p == '\\' ? json_escape(j) : json_utf8(j)))
			return false;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	return true;
}

/* The items of an array or members of an object, up to close. */
static bool json_items(struct json_text *j, char close, bool members)
{
	j->p++;
	json_space(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		if (members) {
			if (!json_string(j))
				return false;
			json_space(j);
			if (j->p >= j->end || *j->p++ != ':')
				return false;
		}
		if (!json_value(j))
			return false;
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
		json_space(j);
	}
}

static bool json_value(struct json_text *j)
{
	bool ok;

	json_space(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
	case '[':
		/* The decoder's own depth limit, with room for the wrappers
		 * of non-JSON values ({"__tuple__": [...]} and the like). */
		if (++j->depth > 4 * CONN_PICKLE_MAX_DEPTH + 16)
			return false;
		ok = json_items(j, *j->p == '{' ? '}' : ']', *j->p == '{');
		j->depth--;
		break;
	case '"':
		ok = json_string(j);
		break;
	case 't':
		ok = json_literal(j, "true");
		break;
	case 'f':
		ok = json_literal(j, "false");
		break;
	case 'n':
		ok = json_literal(j, "null");
		break;
	default:
		ok = json_number(j);
		break;
	}
	json_space(j);
	return ok;
}

static bool is_json(const char *text, size_t len)
{
	struct json_text j = { text, text + len, 0 };

	return json_value(&j) && j.p == j.end;
}

/* ------------------------------------------------------------ the harness */

struct rendering {
	int rc;
	char detail[DETAIL_SIZE];
};

static void render(struct rendering *r, enum conn_pickle_style style,
		   const uint8_t *pickle, size_t len)
{
	static char unset[] = "unset";
	char *text = unset;
	size_t text_len = 1;

	memset(r->detail, 'x', sizeof(r->detail));
	r->rc = conn_pickle_render(&text, &text_len, r->detail,
				   sizeof(r->detail), style, pickle, len);
	if (r->rc) {
		FUZZ_CHECK(text == NULL);
		FUZZ_CHECK(r->rc == CONN_EPROTO || r->rc == CONN_ETOOBIG);
		FUZZ_CHECK(fuzz_terminated(r->detail, sizeof(r->detail)));
		FUZZ_CHECK(r->detail[0] != '\0');
		return;
	}
	FUZZ_CHECK(text != NULL && text[text_len] == '\0');
	FUZZ_CHECK(text_len <= CONN_PICKLE_MAX_OUTPUT);
	FUZZ_CHECK(strlen(text) == text_len);
	if (style == CONN_PICKLE_DIS)
		FUZZ_CHECK(text_len > 0 && text[text_len - 1] == '\n');
	else
		FUZZ_CHECK(memchr(text, '\n', text_len) == NULL);
	if (style == CONN_PICKLE_JSON)
		FUZZ_CHECK(is_json(text, text_len));
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum conn_pickle_style styles[STYLES] = {
		CONN_PICKLE_REPR, CONN_PICKLE_JSON, CONN_PICKLE_DIS
	};
	struct rendering r[STYLES];
	int i;

	for (i = 0; i < STYLES; i++)
		render(&r[i], styles[i], data, size);
	/* repr and json share the decoding: a pickle one refuses, the other
	 * refuses for the same reason; only their output limits differ. */
	if (r[0].rc == CONN_EPROTO || r[1].rc == CONN_EPROTO) {
		FUZZ_CHECK(r[0].rc == r[1].rc);
		FUZZ_CHECK(strcmp(r[0].detail, r[1].detail) == 0);
	}
	/* pickle-dis lists as it decodes: it may run out of room first. */
	if (r[0].rc == CONN_EPROTO)
		FUZZ_CHECK(r[2].rc != 0);
	if (r[2].rc == CONN_EPROTO) {
		FUZZ_CHECK(r[0].rc == CONN_EPROTO);
		FUZZ_CHECK(strcmp(r[0].detail, r[2].detail) == 0);
	}
	return 0;
}
