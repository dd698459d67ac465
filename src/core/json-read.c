/*
 * json-read.c - JSON read token by token, in the place of a tree.
 *
 * A tree of jansson values costs 50 to 250 bytes a value: 8 MB of "{}, "
 * took 465 MB.  Read as tokens, a value costs what its pickle does, and
 * pickle-write.c keeps only a count per container.  The grammar is RFC
 * 8259's; the errors say where, by line and column (counted in characters,
 * as jansson did), and what.
 */
#include "json-read.h"
#include "pickle-base.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum range { IN_RANGE, INT_RANGE, DOUBLE_RANGE };

enum state {
	WANT_VALUE,		/* a value: at the top, after ':' or ',' in [] */
	WANT_FIRST_VALUE,	/* after '[': a value or ']' */
	WANT_FIRST_KEY,		/* after '{': a key or '}' */
	WANT_KEY,		/* after ',' in {} */
	WANT_COMMA,		/* after a value inside a container */
	WANT_END,		/* after the top value */
	READ_DONE		/* json_read_value_at(): the value is over */
};

void json_read_whole(struct json_reader *r, const char *text, size_t len,
		     char *detail, size_t capacity)
{
	*r = (struct json_reader){ .text = (const uint8_t *)text, .len = len,
				   .state = WANT_VALUE, .whole = true,
				   .detail = detail, .capacity = capacity };
}

void json_read_value_at(struct json_reader *r, const char *text,
			size_t len, size_t offset)
{
	*r = (struct json_reader){ .text = (const uint8_t *)text, .len = len,
				   .pos = offset, .state = WANT_VALUE };
}

void json_read_free(struct json_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* ------------------------------------------------------------- errors */

/* "at column C" or "at line L, column C" of the byte at pos; a column
 * counts characters, not the bytes after a UTF-8 sequence's first. */
static void where(char *out, size_t capacity, const struct json_reader *r,
		  size_t pos)
{
	unsigned long line = 1, column = 0;
	size_t i;

	if (pos >= r->len)
		pos = r->len ? r->len - 1 : 0;
	for (i = 0; i < pos; i++) {
		if (r->text[i] == '\n') {
			line++;
			column = 0;
		} else if ((r->text[i] & 0xc0) != 0x80) {
			column++;
		}
	}
	column++;	/* the character at pos, a newline too */
	if (line == 1)
		snprintf(out, capacity, "at column %lu", column);
	else
		snprintf(out, capacity, "at line %lu, column %lu", line, column);
}

static int fail_at(struct json_reader *r, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int json_read_error(const struct json_reader *r, size_t pos, char *detail,
		    size_t capacity, const char *subject, const char *fmt,
		    va_list ap)
{
	char at[64], why[160];

	vsnprintf(why, sizeof(why), fmt, ap);
	where(at, sizeof(at), r, pos);
	detail_set(detail, capacity, "%s %s: %s", subject, at, why);
	return CONN_EINVAL;
}

/* "invalid JSON at column C: what" */
static int fail_at(struct json_reader *r, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = json_read_error(r, pos, r->detail, r->capacity, "invalid JSON",
			     fmt, ap);
	va_end(ap);
	return rc;
}

/* What stands at pos, for an error: the character, or "end of input". */
static const char *shown(const struct json_reader *r, size_t pos, char *buf,
			 size_t capacity)
{
	uint8_t c;

	if (pos >= r->len)
		return "the end of input";
	c = r->text[pos];
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, capacity, "'%c'", c);
	else
		snprintf(buf, capacity, "byte 0x%02x", c);
	return buf;
}

static int unexpected(struct json_reader *r, const char *wanted)
{
	char buf[16];

	return fail_at(r, r->pos, "%s expected, not %s", wanted,
		       shown(r, r->pos, buf, sizeof(buf)));
}

/* ------------------------------------------------------------ strings */

static bool buf_room(struct json_reader *r, size_t n, size_t need)
{
	char *bigger;
	size_t cap;

	if (n + need <= r->buf_cap)
		return true;
	cap = r->buf_cap ? r->buf_cap : 64;
	while (cap < n + need)
		cap *= 2;
	bigger = realloc(r->buf, cap);
	if (bigger == NULL)
		return false;
	r->buf = bigger;
	r->buf_cap = cap;
	return true;
}

static int hex4(const struct json_reader *r, size_t pos, uint32_t *v)
{
	size_t i;

	*v = 0;
	if (r->len - pos < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		uint8_t c = r->text[pos + i];
		int d = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* \uXXXX at pos (after the backslash and 'u'), with a surrogate pair's
 * second half: the code point and the bytes read, or 0. */
static size_t unicode_escape(struct json_reader *r, size_t pos, uint32_t *cp)
{
	uint32_t low;

	if (hex4(r, pos, cp))
		return 0;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return 0;
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 4;
	if (r->len - pos < 10 || r->text[pos + 4] != '\\' ||
	    r->text[pos + 5] != 'u' || hex4(r, pos + 6, &low) ||
	    low < 0xdc00 || low > 0xdfff)
		return 0;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (low - 0xdc00);
	return 10;
}

static int escape(struct json_reader *r, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	uint32_t cp;
	size_t used;
	uint8_t c = r->pos + 1 < r->len ? r->text[r->pos + 1] : 0;

	if (c == 'u') {
		used = unicode_escape(r, r->pos + 2, &cp);
		if (used == 0)
			return fail_at(r, r->pos, "invalid \\u escape (a lone "
				       "surrogate, or not four hex digits)");
		*n += pickle_utf8_encode((uint8_t *)r->buf + *n, cp);
		r->pos += 2 + used;
		return 0;
	}
	hit = c ? strchr(from, c) : NULL;
	if (hit == NULL)
		return fail_at(r, r->pos, "invalid escape in a string");
	r->buf[(*n)++] = to[hit - from];
	r->pos += 2;
	return 0;
}

/* A string from the quote at pos into buf. */
static int string(struct json_reader *r, struct json_token *t)
{
	size_t start = r->pos, n = 0, len;
	uint32_t cp;
	uint8_t c;

	r->pos++;
	for (;;) {
		if (!buf_room(r, n, 8))
			return CONN_ENOMEM;
		if (r->pos >= r->len)
			return fail_at(r, start, "a string that never ends");
		c = r->text[r->pos];
		if (c == '"')
			break;
		if (c == '\\') {
			int rc = escape(r, &n);

			if (rc)
				return rc;
			continue;
		}
		if (c < 0x20)
			return fail_at(r, r->pos, "control character 0x%02x in "
				       "a string", c);
		len = pickle_utf8_decode(r->text + r->pos, r->len - r->pos,
					 &cp);
		if (len == 0 || (cp >= 0xd800 && cp <= 0xdfff))
			return fail_at(r, r->pos, "invalid UTF-8 in a string");
		memcpy(r->buf + n, r->text + r->pos, len);
		n += len;
		r->pos += len;
	}
	r->pos++;
	t->offset = start;
	t->s = r->buf ? r->buf : "";
	t->n = n;
	return 0;
}

/* ------------------------------------------------------------ numbers */

static bool digit(const struct json_reader *r, size_t pos)
{
	return pos < r->len && r->text[pos] >= '0' && r->text[pos] <= '9';
}

static size_t digits(const struct json_reader *r, size_t pos)
{
	while (digit(r, pos))
		pos++;
	return pos;
}

/* An integer beyond 64 bits: its text, which pickle-write.c turns into
 * LONG1, LONG4 or LONG, up to the 4300 digits CPython's int() takes (and
 * Python's json.loads() with it). */
static int big_int(struct json_reader *r, struct json_token *t, size_t start,
		   size_t end)
{
	size_t n = end - start - (r->text[start] == '-');

	if (n > JSON_INT_MAX_DIGITS)
		return fail_at(r, start, "an integer of %zu digits, more than "
			       "Python's %d", n, JSON_INT_MAX_DIGITS);
	t->kind = JSON_READ_BIG_INT;
	t->s = (const char *)r->text + start;
	t->n = end - start;
	t->offset = start;
	r->pos = end;
	return 0;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, as int64 or double, or
 * an integer's text beyond 64 bits. */
static int number(struct json_reader *r, struct json_token *t)
{
	size_t start = r->pos, p = r->pos, end;
	bool real = false;
	char text[64], *copy = text;
	enum range rc = IN_RANGE;

	if (p < r->len && r->text[p] == '-')
		p++;
	if (!digit(r, p))
		return fail_at(r, p, "a digit expected");
	p = r->text[p] == '0' ? p + 1 : digits(r, p);
	if (p < r->len && r->text[p] == '.') {
		real = true;
		if (!digit(r, p + 1))
			return fail_at(r, p + 1, "a digit expected after '.'");
		p = digits(r, p + 1);
	}
	if (p < r->len && (r->text[p] == 'e' || r->text[p] == 'E')) {
		real = true;
		p++;
		if (p < r->len && (r->text[p] == '+' || r->text[p] == '-'))
			p++;
		if (!digit(r, p))
			return fail_at(r, p, "a digit expected in the exponent");
		p = digits(r, p);
	}
	end = p;
	/* strtod() and strtoll() want a NUL-ended copy. */
	if (end - start >= sizeof(text)) {
		copy = malloc(end - start + 1);
		if (copy == NULL)
			return CONN_ENOMEM;
	}
	memcpy(copy, r->text + start, end - start);
	copy[end - start] = '\0';
	errno = 0;
	if (real) {
		t->kind = JSON_READ_REAL;
		t->d = strtod(copy, NULL);
		if (errno == ERANGE && isinf(t->d))
			rc = DOUBLE_RANGE;
	} else {
		t->kind = JSON_READ_INT;
		t->i = strtoll(copy, NULL, 10);
		if (errno == ERANGE)
			rc = INT_RANGE;
	}
	if (copy != text)
		free(copy);
	if (rc == INT_RANGE)
		return big_int(r, t, start, end);
	if (rc) {
		char at[64];

		where(at, sizeof(at), r, end - 1);
		detail_set(r->detail, r->capacity,
			   "number out of range (beyond a double) %s", at);
		return CONN_EINVAL;
	}
	t->offset = start;
	r->pos = end;
	return 0;
}

/* ------------------------------------------------------------- tokens */

static void skip_blanks(struct json_reader *r)
{
	while (r->pos < r->len &&
	       (r->text[r->pos] == ' ' || r->text[r->pos] == '\t' ||
		r->text[r->pos] == '\n' || r->text[r->pos] == '\r'))
		r->pos++;
}

/* After a value: a comma or the end of its container, else the end. */
static void value_done(struct json_reader *r)
{
	r->state = r->depth > 0 ? WANT_COMMA : r->whole ? WANT_END
							: READ_DONE;
}

static int literal(struct json_reader *r, struct json_token *t,
		   const char *word, enum json_kind kind)
{
	size_t n = strlen(word);

	if (r->len - r->pos < n || memcmp(r->text + r->pos, word, n) != 0)
		return fail_at(r, r->pos, "'%s' expected", word);
	t->kind = kind;
	t->offset = r->pos;
	r->pos += n;
	return 0;
}

static int open_container(struct json_reader *r, struct json_token *t,
			  uint8_t c)
{
	if (r->depth >= CONN_PICKLE_MAX_DEPTH) {
		detail_set(r->detail, r->capacity, "nesting deeper than %d",
			   CONN_PICKLE_MAX_DEPTH);
		return CONN_EINVAL;
	}
	r->open[r->depth++] = c;
	t->kind = c == '[' ? JSON_READ_ARRAY : JSON_READ_OBJECT;
	t->offset = r->pos++;
	r->state = c == '[' ? WANT_FIRST_VALUE : WANT_FIRST_KEY;
	return 0;
}

static int close_container(struct json_reader *r, struct json_token *t)
{
	t->kind = r->text[r->pos] == ']' ? JSON_READ_ARRAY_END
					  : JSON_READ_OBJECT_END;
	t->offset = r->pos++;
	r->depth--;
	value_done(r);
	return 0;
}

static int value(struct json_reader *r, struct json_token *t)
{
	int rc;
	uint8_t c = r->pos < r->len ? r->text[r->pos] : 0;

	switch (c) {
	case '[':
	case '{':
		return open_container(r, t, c);
	case '"':
		rc = string(r, t);
		t->kind = JSON_READ_STRING;
		break;
	case 't':
		rc = literal(r, t, "true", JSON_READ_TRUE);
		break;
	case 'f':
		rc = literal(r, t, "false", JSON_READ_FALSE);
		break;
	case 'n':
		rc = literal(r, t, "null", JSON_READ_NULL);
		break;
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return unexpected(r, "a value");
		rc = number(r, t);
	}
	if (rc == 0)
		value_done(r);
	return rc;
}

static int key(struct json_reader *r, struct json_token *t)
{
	int rc;

	if (r->pos >= r->len || r->text[r->pos] != '"')
		return unexpected(r, "a key (a string)");
	rc = string(r, t);
	if (rc)
		return rc;
	t->kind = JSON_READ_KEY;
	/* Jansson, whose keys are C strings, refused it; so do we. */
	if (memchr(t->s, '\0', t->n))
		return fail_at(r, t->offset, "\\u0000 in an object key");
	skip_blanks(r);
	if (r->pos >= r->len || r->text[r->pos] != ':')
		return unexpected(r, "':'");
	r->pos++;
	r->state = WANT_VALUE;
	return 0;
}

/* After a value in a container: ',' and what follows, or its end. */
static int comma(struct json_reader *r, struct json_token *t)
{
	uint8_t c = r->pos < r->len ? r->text[r->pos] : 0;
	uint8_t open = r->open[r->depth - 1];

	if ((c == ']' && open == '[') || (c == '}' && open == '{'))
		return close_container(r, t);
	if (c != ',')
		return unexpected(r, open == '[' ? "',' or ']'"
						 : "',' or '}'");
	r->pos++;
	skip_blanks(r);
	if (open == '[')
		return value(r, t);
	r->state = WANT_KEY;
	return key(r, t);
}

int json_read_next(struct json_reader *r, struct json_token *t)
{
	uint8_t c;

	skip_blanks(r);
	c = r->pos < r->len ? r->text[r->pos] : 0;
	switch (r->state) {
	case WANT_FIRST_VALUE:
		if (c == ']')
			return close_container(r, t);
		return value(r, t);
	case WANT_FIRST_KEY:
		if (c == '}')
			return close_container(r, t);
		return key(r, t);
	case WANT_KEY:
		return key(r, t);
	case WANT_COMMA:
		return comma(r, t);
	case WANT_END:
		if (r->pos < r->len)
			return unexpected(r, "the end of the text");
		t->kind = JSON_READ_END;
		t->offset = r->pos;
		return 0;
	case READ_DONE:
		t->kind = JSON_READ_END;
		t->offset = r->pos;
		return 0;
	default:
		return value(r, t);
	}
}

int json_read_skip(struct json_reader *r)
{
	int depth = r->depth - 1, rc;
	struct json_token t;

	do
		rc = json_read_next(r, &t);
	while (rc == 0 && r->depth > depth);
	return rc;
}
