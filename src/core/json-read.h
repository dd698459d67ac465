/*
 * json-read.h - a JSON text read token by token (json-read.c), so that
 * --in json can turn a value into a pickle without holding it as a tree.
 * Private to src/core/, for pickle-write.c.
 */
#ifndef JSON_READ_H
#define JSON_READ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

enum json_kind {
	JSON_READ_NULL, JSON_READ_TRUE, JSON_READ_FALSE, JSON_READ_INT,
	JSON_READ_REAL, JSON_READ_BIG_INT, JSON_READ_STRING, JSON_READ_KEY,
	JSON_READ_ARRAY,
	JSON_READ_ARRAY_END, JSON_READ_OBJECT, JSON_READ_OBJECT_END,
	JSON_READ_END		/* the text is over (json_read_whole() only) */
};

/* CPython's default int_max_str_digits, which json.loads() obeys too. */
#define JSON_INT_MAX_DIGITS 4300

/* One token.  A string's or key's bytes (UTF-8, escapes decoded) stay
 * valid until the next json_read_next() on the same reader; a
 * JSON_READ_BIG_INT's s and n are its text ("-123..."), in the text. */
struct json_token {
	enum json_kind kind;
	size_t offset;		/* of its first byte in the text */
	int64_t i;
	double d;
	const char *s;
	size_t n;
};

/*
 * A reader over (text, len).  It checks what Python's json.loads() and
 * jansson agree on (RFC 8259: no NaN, no trailing comma, strict UTF-8, no
 * lone surrogate, no control character in a string), nests at most
 * CONN_PICKLE_MAX_DEPTH containers, and refuses, as jansson does, numbers
 * beyond a double and \u0000 in a key, and as Python does, integers of
 * more than JSON_INT_MAX_DIGITS digits.
 */
struct json_reader {
	const uint8_t *text;
	size_t len, pos;
	int state;
	bool whole;		/* the text is one value: check what follows */
	int depth;
	uint8_t open[CONN_PICKLE_MAX_DEPTH];	/* '[' or '{' */
	char *buf;		/* a string's decoded bytes */
	size_t buf_cap;
	char *detail;
	size_t capacity;
};

/* A reader of the whole text: one value, nothing but blanks after it. */
void json_read_whole(struct json_reader *r, const char *text, size_t len,
		     char *detail, size_t capacity);

/* A reader of the one value that starts at offset (a text already read
 * whole without error), for a second look at part of it. */
void json_read_value_at(struct json_reader *r, const char *text,
			size_t len, size_t offset);

/* The next token: 0, or CONN_EINVAL with the detail saying what and where
 * ("invalid JSON at column 6: ':' expected"), or CONN_ENOMEM. */
CONN_NODISCARD
int json_read_next(struct json_reader *r, struct json_token *t);

/* "SUBJECT at column C: WHY" (or "at line L, column C") in detail, for
 * the byte at pos of r's text, WHY made of fmt and ap: CONN_EINVAL. */
int json_read_error(const struct json_reader *r, size_t pos, char *detail,
		    size_t capacity, const char *subject, const char *fmt,
		    va_list ap) __attribute__((format(printf, 6, 0)));

/* Skips the rest of the container whose opening token was just read. */
CONN_NODISCARD
int json_read_skip(struct json_reader *r);

void json_read_free(struct json_reader *r);

#endif
