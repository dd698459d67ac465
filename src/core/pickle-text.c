/*
 * pickle-text.c - the growing text the renderings write, and UTF-8.
 * See pickle-base.h.
 */
#include "pickle-base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pickle_out_spend(struct out *o, uint64_t units)
{
	if (o->budget != NULL && o->err == 0)
		o->err = pickle_spend(o->budget, units);
}

/* How often the budget is charged for what was written: often enough
 * for a cancel to be seen within a millisecond or so. */
#define OUT_CHARGE_BYTES 65536

bool pickle_out_reserve(struct out *o, size_t n)
{
	size_t cap = o->cap ? o->cap : 256, written;
	char *p;

	/* A rendering may take back what it wrote (o->n made smaller). */
	written = o->n > o->charged ? o->n - o->charged : 0;

	if (o->err)
		return false;
	o->charged = o->n;
	if (o->budget != NULL &&
	    (o->err = pickle_spend(o->budget, 1 + written / 16)) != 0)
		return false;
	if (n > o->limit - o->n) {
		o->err = CONN_ETOOBIG;
		return false;
	}
	if (n >= o->cap - o->n) {	/* keeps room for the final NUL */
		while (cap - o->n <= n)
			cap *= 2;
		p = realloc(o->p, cap);
		if (p == NULL) {
			o->err = CONN_ENOMEM;
			return false;
		}
		o->p = p;
		o->cap = cap;
	}
	o->end = o->cap - 1;
	if (o->end - o->n > n + OUT_CHARGE_BYTES)
		o->end = o->n + n + OUT_CHARGE_BYTES;
	if (o->end > o->limit)
		o->end = o->limit;
	return true;
}

void pickle_out_put_slow(struct out *o, const void *s, size_t n)
{
	if (n == 0 || !pickle_out_reserve(o, n))
		return;
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

void pickle_out_fmt(struct out *o, const char *fmt, ...)
{
	char text[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n > 0)
		pickle_out_put(o, text, (size_t)n < sizeof(text) ? (size_t)n
							   : sizeof(text) - 1);
}

void pickle_out_int(struct out *o, int64_t v)
{
	char text[24];

	if (v < 0)
		pickle_out_char(o, '-');
	/* The magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
	pickle_out_put(o, text, (size_t)pickle_u64_digits(text, v < 0 ?
		       -(uint64_t)v : (uint64_t)v));
}

void pickle_out_spaces(struct out *o, size_t n)
{
	if (!pickle_out_reserve(o, n))
		return;
	memset(o->p + o->n, ' ', n);
	o->n += n;
}
/* --------------------------------------------------------------- UTF-8 */

/*
 * The code point at p (n > 0 bytes) and its length, or 0 when the bytes
 * are not UTF-8.  Surrogates pass, as CPython decodes pickled str with
 * "surrogatepass": a lone surrogate is a str Python can pickle.
 */
size_t pickle_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	*cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
	    *cp > 0x10ffff)
		return 0;
	return len;
}

size_t pickle_utf8_encode(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* The offset of the first byte that is not UTF-8, or n. */
size_t pickle_utf8_check(const uint8_t *p, size_t n)
{
	size_t i = 0, step;
	uint32_t cp;

	while (i < n) {
		if (p[i] < 0x80) {	/* ASCII, 8 bytes at a time */
			uint64_t w;

			for (; i + 8 <= n; i += 8) {
				memcpy(&w, p + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
			}
			while (i < n && p[i] < 0x80)
				i++;
			continue;
		}
		step = pickle_utf8_decode(p + i, n - i, &cp);
		if (step == 0)
			return i;
		i += step;
	}
	return n;
}

