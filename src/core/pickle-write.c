/*
 * pickle-write.c - one JSON value written as a pickle.
 *
 * The output is what CPython's C pickler writes for the object json.loads()
 * gives, opcode for opcode, less the memo: nothing here is shared, so PUT
 * and GET would only cost bytes (pickletools.optimize() drops them the same
 * way).  Protocols 4 and 5 use one FRAME for the whole body, which is what
 * CPython does below its 64 KiB frame target.
 */
#include "pickle-base.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_SIZE 1000		/* items per APPENDS or SETITEMS, as CPython */
#define FRAME_HEADER 9		/* FRAME and its 8-byte length */
#define FRAME_SIZE_MIN 4	/* CPython leaves shorter bodies unframed */

/* ------------------------------------------------------------ the output */

/*
 * The pickle being written.  The first error sticks and turns later writes
 * into no-ops, so the many one-byte writes need no checks of their own;
 * whoever finishes the walk looks at err once.
 */
struct writer {
	struct out o;		/* the bytes, in pickle-base.h's growing text */
	int protocol;
	int err;
	char *detail;
	size_t capacity;
};

static void fail(struct writer *w, int err, const char *reason)
{
	if (w->err)
		return;
	w->err = err;
	detail_set(w->detail, w->capacity, "%s", reason);
}

static void put(struct writer *w, const void *bytes, size_t n)
{
	if (w->err)
		return;
	pickle_out_put(&w->o, bytes, n);
	if (w->o.err == CONN_ENOMEM)
		fail(w, CONN_ENOMEM, "out of memory");
	else if (w->o.err)	/* past its limit, SIZE_MAX / 2 */
		fail(w, CONN_ENOMEM, "pickle too large");
}

static void put_byte(struct writer *w, uint8_t byte)
{
	put(w, &byte, 1);
}

/* Little-endian, as every binary argument of pickle is (but BINFLOAT). */
static void put_le(struct writer *w, uint64_t v, size_t n)
{
	uint8_t bytes[8];
	size_t i;

	for (i = 0; i < n; i++)
		bytes[i] = (uint8_t)(v >> (8 * i));
	put(w, bytes, n);
}

static void put_text(struct writer *w, const char *text)
{
	put(w, text, strlen(text));
}

/* ------------------------------------------------------------- integers */

/* Bytes of v in minimal two's complement, which is what LONG1 wants. */
static size_t long1_size(int64_t v)
{
	size_t n = 8;
	int byte, below;

	while (n > 1) {
		byte = (int)((uint64_t)v >> (8 * (n - 1)) & 0xff);
		below = (int)((uint64_t)v >> (8 * (n - 2)) & 0x80);
		if (!(byte == 0x00 && !below) && !(byte == 0xff && below))
			break;
		n--;
	}
	return n;
}

/* Out of 32 bits: LONG1 from protocol 2, before it LONG's text with the
 * Python 2 'L' suffix, which is what CPython writes and reads back. */
static void write_long(struct writer *w, json_int_t v)
{
	char text[32];
	size_t n;

	if (w->protocol >= 2) {
		n = long1_size((int64_t)v);
		put_byte(w, OP_LONG1);
		put_byte(w, (uint8_t)n);
		put_le(w, (uint64_t)v, n);
		return;
	}
	snprintf(text, sizeof(text), "%c%lldL\n", OP_LONG, (long long)v);
	put_text(w, text);
}

static void write_int(struct writer *w, json_int_t v)
{
	char text[32];

	if (v < INT32_MIN || v > INT32_MAX) {
		write_long(w, v);
	} else if (w->protocol == 0) {
		snprintf(text, sizeof(text), "%c%lld\n", OP_INT, (long long)v);
		put_text(w, text);
	} else if (v >= 0 && v <= 0xff) {
		put_byte(w, OP_BININT1);
		put_le(w, (uint64_t)v, 1);
	} else if (v >= 0 && v <= 0xffff) {
		put_byte(w, OP_BININT2);
		put_le(w, (uint64_t)v, 2);
	} else {
		put_byte(w, OP_BININT);
		put_le(w, (uint32_t)(int32_t)v, 4);
	}
}

/* Protocols 0 and 1 have no booleans: CPython writes INT "01" and "00",
 * which the unpickler special-cases back into True and False. */
static void write_bool(struct writer *w, bool v)
{
	if (w->protocol >= 2)
		put_byte(w, v ? OP_NEWTRUE : OP_NEWFALSE);
	else
		put_text(w, v ? "I01\n" : "I00\n");
}

/* --------------------------------------------------------------- floats */

static void write_float(struct writer *w, double x)
{
	char text[CONN_FLOAT_REPR_MAX];
	uint64_t bits;
	int i;

	if (w->protocol == 0) {
		conn_float_repr(text, sizeof(text), x);
		put_byte(w, OP_FLOAT);
		put_text(w, text);
		put_byte(w, '\n');
		return;
	}
	/* BINFLOAT alone among the binary arguments is big-endian. */
	memcpy(&bits, &x, sizeof(bits));
	put_byte(w, OP_BINFLOAT);
	for (i = 7; i >= 0; i--)
		put_byte(w, (uint8_t)(bits >> (8 * i)));
}

/* -------------------------------------------------------------- strings */

/*
 * raw-unicode-escape as CPython's pickler writes it: Latin-1 as itself,
 * the rest as \uXXXX or \UXXXXXXXX.  Backslash and newline must be escaped
 * too (the argument ends at a newline; a raw backslash could start an
 * escape), and CPython also escapes NUL, CR and ^Z for text-mode files.
 */
static void put_raw_unicode_escape(struct writer *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + n;
	char escape[16];
	uint32_t c;
	size_t len;

	while (p < end) {
		/* jansson has already checked the UTF-8 (a byte that is not
		 * would pass as Latin-1 rather than stop the loop). */
		len = pickle_utf8_decode(p, (size_t)(end - p), &c);
		if (len == 0) {
			c = *p;
			len = 1;
		}
		p += len;
		if (c >= 0x10000)
			snprintf(escape, sizeof(escape), "\\U%08x", c);
		else if (c >= 0x100 || c == '\\' || c == '\n' || c == '\r' ||
			 c == '\0' || c == 0x1a)
			snprintf(escape, sizeof(escape), "\\u%04x", c);
		else {
			put_byte(w, (uint8_t)c);
			continue;
		}
		put_text(w, escape);
	}
}

static void write_str(struct writer *w, const char *s, size_t n)
{
	if (w->protocol == 0) {
		put_byte(w, OP_UNICODE);
		put_raw_unicode_escape(w, s, n);
		put_byte(w, '\n');
	} else if (w->protocol >= 4 && n < 256) {
		put_byte(w, OP_SHORT_BINUNICODE);
		put_le(w, n, 1);
		put(w, s, n);
	} else if (n <= UINT32_MAX) {
		put_byte(w, OP_BINUNICODE);
		put_le(w, n, 4);
		put(w, s, n);
	} else if (w->protocol >= 4) {
		put_byte(w, OP_BINUNICODE8);
		put_le(w, n, 8);
		put(w, s, n);
	} else {
		fail(w, CONN_EINVAL, "a string over 4 GiB needs protocol 4");
	}
}

/* ----------------------------------------------------------- containers */

static void write_value(struct writer *w, json_t *v, int depth);

/*
 * Items go in batches of BATCH_SIZE between MARK and APPENDS (SETITEMS),
 * which bounds the unpickler's stack; CPython writes a container of one
 * item with a lone APPEND (SETITEM) instead, and so do we.
 */
static void open_batch(struct writer *w, size_t i, size_t n)
{
	if (n > 1 && i % BATCH_SIZE == 0)
		put_byte(w, OP_MARK);
}

static void close_batch(struct writer *w, size_t i, size_t n,
			uint8_t one, uint8_t many)
{
	if (n == 1)
		put_byte(w, one);
	else if (i % BATCH_SIZE == BATCH_SIZE - 1 || i == n - 1)
		put_byte(w, many);
}

static void write_list(struct writer *w, json_t *a, int depth)
{
	size_t n = json_array_size(a), i;

	if (w->protocol == 0) {
		/* No EMPTY_LIST or APPENDS before protocol 1. */
		put_byte(w, OP_MARK);
		put_byte(w, OP_LIST);
		for (i = 0; i < n && !w->err; i++) {
			write_value(w, json_array_get(a, i), depth + 1);
			put_byte(w, OP_APPEND);
		}
		return;
	}
	put_byte(w, OP_EMPTY_LIST);
	for (i = 0; i < n && !w->err; i++) {
		open_batch(w, i, n);
		write_value(w, json_array_get(a, i), depth + 1);
		close_batch(w, i, n, OP_APPEND, OP_APPENDS);
	}
}

/* Jansson keeps keys in insertion order with a repeated key's value
 * replaced in place: the order and values of Python's dict. */
static void write_dict(struct writer *w, json_t *o, int depth)
{
	size_t n = json_object_size(o), i = 0;
	const char *key;
	json_t *v;

	put_byte(w, w->protocol == 0 ? OP_MARK : OP_EMPTY_DICT);
	if (w->protocol == 0)
		put_byte(w, OP_DICT);
	json_object_foreach(o, key, v) {
		if (w->err)
			break;
		if (w->protocol > 0)
			open_batch(w, i, n);
		/* Jansson refuses NUL in keys, so strlen() is the length. */
		write_str(w, key, strlen(key));
		write_value(w, v, depth + 1);
		if (w->protocol > 0)
			close_batch(w, i, n, OP_SETITEM, OP_SETITEMS);
		else
			put_byte(w, OP_SETITEM);
		i++;
	}
}

/* depth counts the containers around v. */
static void write_value(struct writer *w, json_t *v, int depth)
{
	if (w->err)
		return;
	if ((json_is_array(v) || json_is_object(v)) &&
	    depth >= CONN_PICKLE_MAX_DEPTH) {
		fail(w, CONN_EINVAL, "nesting deeper than 1000");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_NULL:
		put_byte(w, OP_NONE);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		write_bool(w, json_is_true(v));
		break;
	case JSON_INTEGER:
		write_int(w, json_integer_value(v));
		break;
	case JSON_REAL:
		write_float(w, json_real_value(v));
		break;
	case JSON_STRING:
		write_str(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY:
		write_list(w, v, depth);
		break;
	case JSON_OBJECT:
		write_dict(w, v, depth);
		break;
	}
}

/*
 * PROTO (protocol 2 on), the value, STOP.  From protocol 4 the body after
 * PROTO is framed; room for the FRAME is kept and filled in afterwards,
 * or closed up when the body is too short for CPython to frame it.
 */
static void write_pickle(struct writer *w, json_t *v)
{
	static const uint8_t frame[FRAME_HEADER] = { OP_FRAME };
	size_t start, body, i;

	if (w->protocol >= 2) {
		put_byte(w, OP_PROTO);
		put_byte(w, (uint8_t)w->protocol);
	}
	start = w->o.n;
	if (w->protocol >= 4)
		put(w, frame, FRAME_HEADER);
	write_value(w, v, 0);
	put_byte(w, OP_STOP);
	if (w->err || w->protocol < 4)
		return;
	body = w->o.n - start - FRAME_HEADER;
	if (body < FRAME_SIZE_MIN) {
		memmove(w->o.p + start, w->o.p + start + FRAME_HEADER, body);
		w->o.n -= FRAME_HEADER;
		return;
	}
	for (i = 0; i < 8; i++)
		w->o.p[start + 1 + i] = (char)((uint64_t)body >> (8 * i));
}

/* ------------------------------------------------------------- the JSON */

static bool is_blank(const char *json, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (json[i] != ' ' && json[i] != '\t' && json[i] != '\r' &&
		    json[i] != '\n')
			return false;
	return true;
}

/* Jansson's message may quote raw input; keep the detail one clean line. */
static void clean_line(char *text)
{
	for (; *text; text++)
		if ((unsigned char)*text < 0x20 || *text == 0x7f)
			*text = '?';
}

static bool starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

/*
 * Turns jansson's error into our detail.  Matched by text rather than by
 * json_error_code(), which needs jansson 2.11 while configure takes 2.10;
 * these messages have not changed in years.
 */
static int json_failure(char *detail, size_t capacity,
			const json_error_t *e)
{
	char where[48] = "";
	char text[JSON_ERROR_TEXT_LENGTH];

	snprintf(text, sizeof(text), "%s", e->text);
	clean_line(text);
	if (e->line == 1)
		snprintf(where, sizeof(where), " at column %d", e->column);
	else if (e->line > 1)
		snprintf(where, sizeof(where), " at line %d, column %d",
			 e->line, e->column);
	if (starts_with(text, "out of memory")) {
		detail_set(detail, capacity, "out of memory reading JSON");
		return CONN_ENOMEM;
	}
	if (starts_with(text, "maximum parsing depth"))
		detail_set(detail, capacity, "nesting deeper than %d",
			   CONN_PICKLE_MAX_DEPTH);
	else if (starts_with(text, "too big"))
		detail_set(detail, capacity,
			   "integer out of range (beyond 64 bits)%s", where);
	else if (starts_with(text, "real number overflow"))
		detail_set(detail, capacity,
			   "number out of range (beyond a double)%s", where);
	else
		detail_set(detail, capacity, "invalid JSON%s: %s", where, text);
	return CONN_EINVAL;
}

int conn_pickle_from_json(uint8_t **out, size_t *out_len, char *detail,
			  size_t capacity, const char *json, size_t len,
			  int protocol)
{
	struct writer w = { .o.limit = SIZE_MAX / 2, .protocol = protocol,
			    .detail = detail, .capacity = capacity };
	json_error_t error;
	json_t *value = NULL;
	const char *nul;
	int err;

	*out = NULL;
	*out_len = 0;
	if (protocol < 0 || protocol > PROTOCOL_MAX) {
		detail_set(detail, capacity,
			   "pickle protocol %d is not 0 to %d", protocol,
			   PROTOCOL_MAX);
		return CONN_EINVAL;
	}
	if (json == NULL || is_blank(json, len)) {
		detail_set(detail, capacity, "empty input: no JSON value");
		return CONN_EINVAL;
	}
	/* No JSON text holds a raw NUL, and jansson's word for one is "end
	 * of file expected near end of file". */
	nul = memchr(json, '\0', len);
	if (nul != NULL) {
		detail_set(detail, capacity,
			   "invalid JSON at byte %zu: a NUL byte",
			   (size_t)(nul - json));
		return CONN_EINVAL;
	}
	/* Like Python's json: any value at the top, \u0000 in strings, and
	 * a repeated key's last value wins. */
	value = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (value == NULL)
		return json_failure(detail, capacity, &error);
	write_pickle(&w, value);
	err = w.err;
	if (err)
		goto done;
	*out = (uint8_t *)w.o.p;
	*out_len = w.o.n;
	w.o.p = NULL;
done:
	free(w.o.p);
	json_decref(value);
	return err;
}
