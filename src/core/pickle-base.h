/*
 * pickle-base.h - what the pickle decoder (pickle.h's files) and the pickle
 * writer (pickle-write.c) both use: the opcodes and their table, the
 * growing text, UTF-8, and floats as Python writes them.  Private to
 * src/core/; it includes nothing of the pickle code, pickle.h includes it.
 */
#ifndef PICKLE_BASE_H
#define PICKLE_BASE_H

#include "internal.h"

#define PROTOCOL_MAX 5

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- opcodes */

enum {
	OP_MARK = '(', OP_EMPTY_TUPLE = ')', OP_STOP = '.', OP_POP = '0',
	OP_POP_MARK = '1', OP_DUP = '2', OP_BINBYTES = 'B',
	OP_SHORT_BINBYTES = 'C', OP_FLOAT = 'F', OP_BINFLOAT = 'G',
	OP_INT = 'I', OP_BININT = 'J', OP_BININT1 = 'K', OP_LONG = 'L',
	OP_BININT2 = 'M', OP_NONE = 'N', OP_PERSID = 'P', OP_BINPERSID = 'Q',
	OP_REDUCE = 'R', OP_STRING = 'S', OP_BINSTRING = 'T',
	OP_SHORT_BINSTRING = 'U', OP_UNICODE = 'V', OP_BINUNICODE = 'X',
	OP_EMPTY_LIST = ']', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c',
	OP_DICT = 'd', OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h',
	OP_INST = 'i', OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_OBJ = 'o',
	OP_PUT = 'p', OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's',
	OP_TUPLE = 't', OP_SETITEMS = 'u', OP_EMPTY_DICT = '}',
	OP_PROTO = 0x80, OP_NEWOBJ, OP_EXT1, OP_EXT2, OP_EXT4, OP_TUPLE1,
	OP_TUPLE2, OP_TUPLE3, OP_NEWTRUE, OP_NEWFALSE, OP_LONG1, OP_LONG4,
	OP_SHORT_BINUNICODE, OP_BINUNICODE8, OP_BINBYTES8, OP_EMPTY_SET,
	OP_ADDITEMS, OP_FROZENSET, OP_NEWOBJ_EX, OP_STACK_GLOBAL, OP_MEMOIZE,
	OP_FRAME, OP_BYTEARRAY8, OP_NEXT_BUFFER, OP_READONLY_BUFFER
};


struct opcode {
	const char *name;
	unsigned char proto;
};

/* Names and protocols of the opcodes, by byte (pickle-opcodes.c). */
extern const struct opcode pickle_opcodes[256];

/* ------------------------------------------------------------- output */

/*
 * A growing text.  The first error sticks and turns later writes into
 * no-ops, so the renderers check once at the end; past the output limit
 * the error is CONN_ETOOBIG.
 */
struct out {
	char *p;
	size_t n, cap;
	size_t limit;		/* the most bytes it may grow to */
	int err;
	struct budget *budget;	/* NULL: writing costs nothing */
	/* Writes that end by here need no check (pickle_out_put()): below
	 * cap (room for a NUL), limit, and the next charge of the budget. */
	size_t end;
	size_t charged;		/* bytes the budget has been charged for */
	/* Two ranges of printable code points above U+007F that repr()
	 * met last (pickle-repr.c's is_printable()); zeros: none yet. */
	uint32_t printable[4];
};

/*
 * What a rendering may still spend (conn_render_options' max_work and
 * cancel), shared by the decoder and its output.  A unit is meant to be
 * about 10 ns: an opcode costs 4, a float's shortest digits
 * PICKLE_FLOAT_WORK, 16 bytes written 1, a big int's decimal n * n / 2
 * for n limbs.
 */
#define PICKLE_FLOAT_WORK 300
struct budget {
	uint64_t left;			/* UINT64_MAX: no limit */
	const volatile int *cancel;	/* NULL, or non-zero: stop */
};

/* Takes units from b (NULL: free): 0, CONN_EAGAIN when they run out,
 * CONN_ECANCELED once the flag is up.  Cheap enough for every opcode. */
static inline int pickle_spend(struct budget *b, uint64_t units)
{
	if (b == NULL)		/* (an audit: no budget) */
		return 0;
	if (b->cancel != NULL && *b->cancel)
		return CONN_ECANCELED;
	if (units > b->left)
		return CONN_EAGAIN;
	b->left -= units;
	return 0;
}

/* pickle-text.c */
/* Work beyond the bytes written (the writes pay for themselves). */
void pickle_out_spend(struct out *o, uint64_t units);
/* Room for n more bytes (and a NUL), false once o->err is set: charges
 * the budget for the bytes written since the last charge, checks the
 * limit, grows the text.  pickle_out_put() and pickle_out_char() come
 * here only every OUT_CHARGE_BYTES or so, which keeps them a compare and
 * a copy: rendering is mostly writing small pieces. */
bool pickle_out_reserve(struct out *o, size_t n);
void pickle_out_put_slow(struct out *o, const void *s, size_t n);

static inline void pickle_out_put(struct out *o, const void *s, size_t n)
{
	if (n <= o->end - o->n && n > 0) {
		memcpy(o->p + o->n, s, n);
		o->n += n;
	} else if (n > 0) {
		pickle_out_put_slow(o, s, n);
	}
}

static inline void pickle_out_char(struct out *o, char c)
{
	if (o->n < o->end)
		o->p[o->n++] = c;
	else
		pickle_out_put_slow(o, &c, 1);
}

static inline void pickle_out_str(struct out *o, const char *s)
{
	pickle_out_put(o, s, strlen(s));
}
void pickle_out_fmt(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pickle_out_spaces(struct out *o, size_t n);
/* The decimal text of v, as "%lld" writes it, without printf's cost. */
void pickle_out_int(struct out *o, int64_t v);
size_t pickle_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);
size_t pickle_utf8_encode(uint8_t *out, uint32_t cp);

/* Whether Python 2's exceptions module has the n bytes of name, which
 * fix_imports maps to and from builtins (pickle-call.c). */
bool pickle_python2_exception(const char *name, size_t n);
size_t pickle_utf8_check(const uint8_t *p, size_t n);

/* pickle-number.c: the text of a float as Python's format code 'r' writes
 * it, repr(x) with add_dot_0, or without and with a forced sign for the
 * parts of a complex; out holds 40 bytes (PICKLE_FLOAT_TEXT). */
#define PICKLE_FLOAT_TEXT 40
void pickle_float_format(char *out, double x, bool add_dot_0, bool plus);

/* pickle-shortest.c: the shortest digits of a finite x != 0 (sign aside)
 * as an integer, *digits * 10***exponent, with no trailing zero; false
 * where the exact arithmetic does not fit (|x| below about 1e-12 or above
 * about 1e47).  pickle_float_search_digits() (pickle-number.c) finds the
 * same digits for every finite x, 10 to 50 times slower, by printf and
 * strtod: the fallback and the unit tests' oracle.  Both write digits as
 * text, first digit's exponent in *exponent; out holds 24 bytes. */
bool pickle_shortest_digits(uint64_t *digits, int *exponent, double x);
/* pickle-number.c: the decimal digits of v into out (NUL-terminated, 21
 * bytes at most), two a division; their count. */
int pickle_u64_digits(char *out, uint64_t v);
void pickle_float_search_digits(char *out, int *exponent, double x);

/* pickle-exceptions.c: whether module.name is an exception class the
 * renderings show as CPython does (what --in json may make of an
 * {"__exception__": ...}, so that --out json writes it back). */
bool pickle_exception_known(const char *module, const char *name);

#endif
