/*
 * pickle-write.c - one JSON value written as a pickle.
 *
 * The output is what CPython's C pickler writes for the object json.loads()
 * gives, opcode for opcode, as pickletools.optimize() leaves it: a PUT
 * only where a GET needs it, which is only for CPython's own objects that
 * come again (see "the memo" below).  Protocols 4 and 5 use one FRAME for the whole body, which is what
 * CPython does below its 64 KiB frame target.  The tagged objects of the
 * JSON rendering (pickle-json.c, pickle.h) are read back as the objects
 * they stand for, ints beyond 64 bits too, and pickled as CPython pickles
 * those objects under the protocol (see "tags" below).
 */
#include "json-read.h"
#include "pickle-base.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BATCH_SIZE 1000		/* items per APPENDS or SETITEMS, as CPython */
#define FRAME_HEADER 9		/* FRAME and its 8-byte length */
#define FRAME_SIZE_MIN 4	/* CPython leaves shorter bodies unframed */

/* ------------------------------------------------------------ the output */

/*
 * The pickle being written.  The first error sticks and turns later writes
 * into no-ops, so the many one-byte writes need no checks of their own;
 * whoever finishes the walk looks at err once.
 */
/* A standard library tag's value in the text: check_spans() judges it. */
struct span {
	size_t at, end;
	int tag;
};

struct writer {
	struct out o;		/* the bytes, in pickle-base.h's growing text */
	int protocol;
	int err;
	char *detail;
	size_t capacity;
	struct shared *shared;	/* the memo's objects (see below) */
	size_t n_shared, cap_shared;
	bool any_again, memoizing;
	bool checking;		/* tags' values alone, written to be judged */
	int std_depth;		/* standard library tags open */
	struct span *spans;	/* the outermost ones, to be judged */
	size_t n_spans, cap_spans;
	long memo_next;
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
static void write_long(struct writer *w, int64_t v)
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

static void write_int(struct writer *w, int64_t v)
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
		/* json-read.c has already checked the UTF-8 (a byte that is
		 * not would pass as Latin-1 rather than stop the loop). */
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

/* ------------------------------------------------------------- the memo */

/*
 * CPython's pickler memoizes every object and fetches one that comes
 * again with GET; pickletools.optimize() keeps the PUTs some GET needs.
 * Of what --in json writes, only objects of CPython's own come again: a
 * class (a global), from protocol 4 its module's name, timezone.utc, and
 * the constant strs of some reductions ('latin1', a UUID's 'int').  A
 * first writing notes which of them come again; only if one does, a
 * second writing PUTs each such at its first coming and GETs it after,
 * so that the pickle is CPython's, PUT for PUT.
 */
struct shared {
	uint64_t hash;
	char *key;		/* a kind letter, then its text; NULL: free */
	size_t len;
	bool seen, again;	/* written in this writing; comes again */
	long index;		/* its memo index in this writing, or -1 */
};

static uint64_t key_hash(const char *s, size_t n);

static void shared_free(struct writer *w)
{
	size_t i;

	for (i = 0; i < w->cap_shared; i++)
		free(w->shared[i].key);
	free(w->shared);
}

static struct shared *shared_slot(struct shared *table, size_t cap,
				  uint64_t h, const char *key, size_t len)
{
	size_t i, mask = cap - 1;

	for (i = h & mask; table[i].key != NULL; i = (i + 1) & mask)
		if (table[i].hash == h && table[i].len == len &&
		    memcmp(table[i].key, key, len) == 0)
			break;
	return &table[i];
}

/* Twice the room, the entries moved over; false if out of memory. */
static bool shared_grow(struct writer *w)
{
	size_t cap = w->cap_shared ? w->cap_shared * 2 : 16, i;
	struct shared *table = calloc(cap, sizeof(*table)), *e;

	if (table == NULL)
		return false;
	for (i = 0; i < w->cap_shared; i++) {
		e = &w->shared[i];
		if (e->key != NULL)
			*shared_slot(table, cap, e->hash, e->key, e->len) = *e;
	}
	free(w->shared);
	w->shared = table;
	w->cap_shared = cap;
	return true;
}

/* The entry of kind and text (two parts, b maybe ""), added if new;
 * NULL if out of memory. */
static struct shared *shared_of(struct writer *w, char kind, const char *a,
				const char *b)
{
	size_t na = strlen(a), nb = strlen(b), len = 2 + na + nb;
	char *key = malloc(len);
	struct shared *e = NULL;
	uint64_t h;

	if (key == NULL)
		return NULL;
	key[0] = kind;
	memcpy(key + 1, a, na);
	key[1 + na] = '\n';
	memcpy(key + 2 + na, b, nb);
	h = key_hash(key, len);
	if (w->n_shared * 2 < w->cap_shared || shared_grow(w))
		e = shared_slot(w->shared, w->cap_shared, h, key, len);
	if (e != NULL && e->key == NULL) {
		*e = (struct shared){ h, key, len, false, false, -1 };
		w->n_shared++;
		return e;
	}
	free(key);
	return e;
}

/* PUT, BINPUT or LONG_BINPUT, or MEMOIZE from protocol 4, as
 * pickletools.optimize() writes them; GET likewise. */
static void memo_op(struct writer *w, long index, bool get)
{
	char text[32];

	if (w->protocol >= 4 && !get) {
		put_byte(w, OP_MEMOIZE);
	} else if (w->protocol == 0) {
		snprintf(text, sizeof(text), "%c%ld\n", get ? OP_GET : OP_PUT,
			 index);
		put_text(w, text);
	} else if (index < 256) {
		put_byte(w, get ? OP_BINGET : OP_BINPUT);
		put_le(w, (uint64_t)index, 1);
	} else {
		put_byte(w, get ? OP_LONG_BINGET : OP_LONG_BINPUT);
		put_le(w, (uint64_t)index, 4);
	}
}

/* Before an object of CPython's own, e: true if it is fetched from the
 * memo (GET; in the first writing, which is then written again, nothing:
 * what it holds must not count as coming again), false if it is to be
 * written, memo_after() then. */
static bool memo_before(struct writer *w, struct shared *e)
{
	if (e == NULL) {
		fail(w, CONN_ENOMEM, "out of memory");
		return true;
	}
	if (!e->seen) {
		e->seen = true;
		return false;
	}
	e->again = true;
	w->any_again = true;
	if (w->memoizing)
		memo_op(w, e->index, true);
	return true;
}

/* After e is written: its PUT, in the second writing, if it comes again. */
static void memo_after(struct writer *w, struct shared *e)
{
	if (w->memoizing && e->again && e->index < 0) {
		e->index = w->memo_next++;
		memo_op(w, e->index, false);
	}
}

/* For the second writing: the same entries, none seen yet. */
static void memo_restart(struct writer *w)
{
	size_t i;

	for (i = 0; i < w->cap_shared; i++) {
		w->shared[i].seen = false;
		w->shared[i].index = -1;
	}
	w->memoizing = true;
	w->memo_next = 0;
}

/* A str constant of CPython's own reductions ('latin1'). */
static void write_constant(struct writer *w, const char *s)
{
	struct shared *e = shared_of(w, 's', s, "");

	if (memo_before(w, e))
		return;
	write_str(w, s, strlen(s));
	memo_after(w, e);
}

/* ------------------------------------------------------ integers, again */

/*
 * An int beyond 64 bits, from its decimal text: LONG1 (LONG4 from 256
 * bytes) from protocol 2, in minimal little-endian two's complement as
 * CPython's encode_long() writes it; before protocol 2, LONG's text with
 * the 'L' suffix.
 */
static void write_big_int(struct writer *w, const char *text, size_t len)
{
	bool negative = text[0] == '-';
	size_t i, size = 1, cap = len / 2 + 2;	/* 10^k < 256^(k/2+1) */
	uint8_t *b;

	if (w->protocol < 2) {
		put_byte(w, OP_LONG);
		put(w, text, len);
		put_text(w, "L\n");
		return;
	}
	b = calloc(cap, 1);
	if (b == NULL) {
		fail(w, CONN_ENOMEM, "out of memory");
		return;
	}
	/* b = b * 10^k + the next k digits, 9 at a time: the quadratic
	 * part, 9 times shorter. */
	for (i = negative; i < len;) {
		uint64_t scale = 1, carry = 0;
		size_t j;

		for (j = 0; j < 9 && i < len; j++, i++) {
			carry = carry * 10 + (uint64_t)(text[i] - '0');
			scale *= 10;
		}
		for (j = 0; j < size || carry; j++) {
			carry += b[j] * scale;
			b[j] = (uint8_t)carry;
			carry >>= 8;
		}
		size = j > size ? j : size;
	}
	if (negative) {		/* -m is ~m + 1, over all of cap's bytes */
		unsigned carry = 1;

		for (i = 0; i < cap; i++) {
			carry += (uint8_t)~b[i];
			b[i] = (uint8_t)carry;
			carry >>= 8;
		}
		size = cap;
	}
	/* A top byte of sign bits only is dropped while the next has the
	 * sign bit. */
	while (size > 1 && b[size - 1] == (negative ? 0xff : 0x00) &&
	       !(b[size - 2] & 0x80) == !negative)
		size--;
	/* A positive int's top bit set wants one more byte (cap has it). */
	if (!negative && (b[size - 1] & 0x80))
		b[size++] = 0x00;
	put_byte(w, size < 256 ? OP_LONG1 : OP_LONG4);
	put_le(w, size, size < 256 ? 1 : 4);
	put(w, b, size);
	free(b);
}

/* ---------------------------------------------- globals, tuples, bytes */

/*
 * fix_imports' Python 2 names of builtins (_compat_pickle's
 * REVERSE_NAME_MAPPING) that are not __builtin__'s same name: the
 * builtin, then its module and name.  Not its exceptions.OSError for
 * OSError's subclasses and exceptions.ImportError for ModuleNotFoundError:
 * Python 3 loads those as OSError('a') for ConnectionError('a'), where
 * __builtin__.ConnectionError loads as itself.
 */
static const char *const python2_names[][3] = {
	{ "range", "__builtin__", "xrange" }, { "chr", "__builtin__", "unichr" },
	{ "str", "__builtin__", "unicode" }, { "int", "__builtin__", "long" },
	{ "zip", "itertools", "izip" }, { "map", "itertools", "imap" },
	{ "filter", "itertools", "ifilter" },
};


/* builtins.name as fix_imports writes it below protocol 3. */
static void python2_name(const char **module, const char **name)
{
	size_t i;

	*module = "__builtin__";
	for (i = 0; i < sizeof(python2_names) / sizeof(*python2_names); i++)
		if (strcmp(*name, python2_names[i][0]) == 0) {
			*module = python2_names[i][1];
			*name = python2_names[i][2];
			return;
		}
	if (pickle_python2_exception(*name, strlen(*name)))
		*module = "exceptions";
}

/* A global as CPython's pickler writes it: GLOBAL, with fix_imports'
 * Python 2 name for builtins below protocol 3; STACK_GLOBAL from 4. */
static void write_global(struct writer *w, const char *module,
			 const char *name)
{
	struct shared *class = shared_of(w, 'c', module, name), *e;

	if (memo_before(w, class))
		return;
	if (w->protocol >= 4) {
		e = shared_of(w, 'm', module, "");
		if (!memo_before(w, e)) {
			write_str(w, module, strlen(module));
			memo_after(w, e);
		}
		write_str(w, name, strlen(name));
		put_byte(w, OP_STACK_GLOBAL);
		memo_after(w, class);
		return;
	}
	if (w->protocol < 3 && strcmp(module, "builtins") == 0)
		python2_name(&module, &name);
	put_byte(w, OP_GLOBAL);
	put_text(w, module);
	put_byte(w, '\n');
	put_text(w, name);
	put_byte(w, '\n');
	memo_after(w, class);
}

/* What goes before a tuple's n items: MARK, but for TUPLE1-3 (protocol
 * 2 on) and the empty tuple. */
static void tuple_open(struct writer *w, size_t n)
{
	if (n > 0 && (w->protocol < 2 || n > 3))
		put_byte(w, OP_MARK);
}

/* What goes after them, as CPython's save_tuple(). */
static void tuple_close(struct writer *w, size_t n)
{
	static const uint8_t small[] = { OP_EMPTY_TUPLE, OP_TUPLE1,
					 OP_TUPLE2, OP_TUPLE3 };

	if (n == 0 && w->protocol == 0) {
		put_byte(w, OP_MARK);
		put_byte(w, OP_TUPLE);
	} else if (n == 0 || (w->protocol >= 2 && n <= 3)) {
		put_byte(w, small[n]);
	} else {
		put_byte(w, OP_TUPLE);
	}
}

/* bytes below protocol 3, which has no opcode for them: CPython's
 * _codecs.encode(their Latin-1 decoding, 'latin1'), or bytes() if
 * empty. */
static void write_bytes_call(struct writer *w, const uint8_t *p, size_t n)
{
	char *text;
	size_t i, len = 0;

	if (n == 0) {
		write_global(w, "builtins", "bytes");
		tuple_close(w, 0);
		put_byte(w, OP_REDUCE);
		return;
	}
	text = n <= SIZE_MAX / 2 ? malloc(2 * n) : NULL;
	if (text == NULL) {
		fail(w, CONN_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		len += pickle_utf8_encode((uint8_t *)text + len, p[i]);
	write_global(w, "_codecs", "encode");
	tuple_open(w, 2);
	write_str(w, text, len);
	write_constant(w, "latin1");
	tuple_close(w, 2);
	put_byte(w, OP_REDUCE);
	free(text);
}

static void write_bytes(struct writer *w, const uint8_t *p, size_t n)
{
	if (w->protocol < 3) {
		write_bytes_call(w, p, n);
		return;
	}
	if (n < 256) {
		put_byte(w, OP_SHORT_BINBYTES);
		put_le(w, n, 1);
	} else if (n <= UINT32_MAX) {
		put_byte(w, OP_BINBYTES);
		put_le(w, n, 4);
	} else if (w->protocol >= 4) {
		put_byte(w, OP_BINBYTES8);
		put_le(w, n, 8);
	} else {
		fail(w, CONN_EINVAL, "bytes over 4 GiB need protocol 4");
		return;
	}
	put(w, p, n);
}

/* A bytearray: BYTEARRAY8 in protocol 5, before it bytearray(bytes) as
 * CPython's __reduce_ex__ gives (bytearray() if empty). */
static void write_bytearray(struct writer *w, const uint8_t *p, size_t n)
{
	if (w->protocol >= 5) {
		put_byte(w, OP_BYTEARRAY8);
		put_le(w, n, 8);
		put(w, p, n);
		return;
	}
	write_global(w, "builtins", "bytearray");
	tuple_open(w, n ? 1 : 0);
	if (n)
		write_bytes(w, p, n);
	tuple_close(w, n ? 1 : 0);
	put_byte(w, OP_REDUCE);
}

/* ----------------------------------------------------------- containers */

/*
 * Items go in batches of BATCH_SIZE between MARK and APPENDS (SETITEMS),
 * which bounds the unpickler's stack; CPython writes a container of one
 * item with a lone APPEND (SETITEM) instead, and so do we.  Both need the
 * count before the first item: the survey below has it.
 */
static void open_batch(struct writer *w, size_t i, size_t n)
{
	if (w->protocol > 0 && n > 1 && i % BATCH_SIZE == 0)
		put_byte(w, OP_MARK);
}

/* Protocol 0 has no batches: each item is added alone (APPEND,
 * SETITEM). */
static void close_batch(struct writer *w, size_t i, size_t n,
			uint8_t one, uint8_t many)
{
	if (w->protocol == 0 || n == 1)
		put_byte(w, one);
	else if (i % BATCH_SIZE == BATCH_SIZE - 1 || i == n - 1)
		put_byte(w, many);
}

/* ------------------------------------------------------------ the survey */

/*
 * The first reading of the text checks it and learns, for each container
 * by the offset of its '[' or '{', how many items it has; an object whose
 * key repeats also gets a plan: its distinct keys in the order they first
 * come, each with the offset of its last value, since Python's dict keeps
 * a repeated key where it first came, with the value that came last.
 * That is all the second reading, which writes, needs: 16 bytes a
 * container, and a plan only where a key repeats.
 */
#define PLANNED ((size_t)1 << (sizeof(size_t) * 8 - 1))	/* in count */

struct shape {
	size_t offset;
	size_t count;		/* | PLANNED: plans[] has its keys */
};

struct key_seen {		/* a key of an object still open */
	uint64_t hash;
	size_t key_offset, value_offset;
};

struct plan {			/* one distinct key of a planned object */
	size_t object_offset;
	size_t key_offset, value_offset;
};

struct survey {
	struct shape *shapes;
	size_t n_shapes, cap_shapes;
	struct key_seen *keys;
	size_t n_keys, cap_keys;
	struct plan *plans;
	size_t n_plans, cap_plans;
	struct {
		size_t shape, count, keys_base;
		bool object;
	} open[CONN_PICKLE_MAX_DEPTH];
	int depth;
	const char *text;
	size_t len;
};

static void survey_free(struct survey *s)
{
	free(s->shapes);
	free(s->keys);
	free(s->plans);
}

/* Room for one more of an array of size-byte items; false when out of
 * memory. */
static bool grow(void **items, size_t *cap, size_t n, size_t size)
{
	size_t bigger = *cap ? *cap * 2 : 64;
	void *p;

	if (n < *cap)
		return true;
	if (bigger > SIZE_MAX / size)
		return false;
	p = realloc(*items, bigger * size);
	if (p == NULL)
		return false;
	*items = p;
	*cap = bigger;
	return true;
}

/*
 * Keys are told apart by SipHash under a key of this process's own, so
 * that no text can be made of keys whose hashes collide (with FNV it
 * could, and each collision costs a look at both keys).
 */
static unsigned char secret[crypto_shorthash_KEYBYTES];

/* sodium_init() is idempotent; conn_auth_init() calls it too.  A failure
 * leaves the key zero: correct, only less hard to attack. */
static void make_secret(void)
{
	if (sodium_init() >= 0)
		randombytes_buf(secret, sizeof(secret));
}

static uint64_t key_hash(const char *s, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	size_t i;

	/* Once, whatever threads convert JSON at the same time. */
	(void)pthread_once(&once, make_secret);
	crypto_shorthash(h, (const unsigned char *)s, n, secret);
	for (i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return v;
}

/* The decoded key at offset, in a copy of its own (malloc'ed). */
static int key_copy(char **out, size_t *n, const struct survey *s,
		    size_t offset)
{
	struct json_reader r;
	struct json_token t;
	int rc;

	json_read_value_at(&r, s->text, s->len, offset);
	rc = json_read_next(&r, &t);
	*out = rc ? NULL : malloc(t.n + 1);
	if (rc == 0 && *out == NULL)
		rc = CONN_ENOMEM;
	if (rc == 0) {
		memcpy(*out, t.s, t.n);
		*n = t.n;
	}
	json_read_free(&r);
	return rc;
}

static int keys_equal(bool *equal, const struct survey *s, size_t a,
		      size_t b)
{
	char *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	int rc = key_copy(&x, &nx, s, a);

	if (rc == 0)
		rc = key_copy(&y, &ny, s, b);
	*equal = rc == 0 && nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	return rc;
}

/* A key's hash and its index among its object's keys, to sort. */
struct hashed {
	uint64_t hash;
	size_t index;
};

static int by_hash(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The keys' hashes sorted, equal ones in text order (malloc'ed). */
static struct hashed *sort_keys(const struct key_seen *keys, size_t n)
{
	struct hashed *sorted = malloc(n * sizeof(*sorted));
	size_t i;

	if (sorted == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		sorted[i] = (struct hashed){ keys[i].hash, i };
	qsort(sorted, n, sizeof(*sorted), by_hash);
	return sorted;
}

/*
 * The plan of an object whose n keys (at keys) repeat: for each distinct
 * key in first-come order, the offset of its last value.  first[i] is the
 * index of key i's first coming, last[] of a first coming its last; a key
 * is the same as the nearest earlier one of equal hash it equals.
 */
static int make_plan(struct survey *s, size_t object_offset,
		     const struct key_seen *keys, const struct hashed *sorted,
		     size_t n, size_t *distinct)
{
	size_t *first = malloc(n * sizeof(*first)), i, j, a, b;
	size_t *last = malloc(n * sizeof(*last));
	bool equal;
	int rc = first && last ? 0 : CONN_ENOMEM;

	for (i = 0; rc == 0 && i < n; i++)
		first[i] = last[i] = i;
	for (i = 1; rc == 0 && i < n; i++)
		for (j = i; j-- > 0 && sorted[j].hash == sorted[i].hash;) {
			a = sorted[j].index;
			b = sorted[i].index;
			rc = keys_equal(&equal, s, keys[a].key_offset,
					keys[b].key_offset);
			if (rc == 0 && equal) {
				first[b] = first[a];
				last[first[a]] = b;
				break;
			}
		}
	*distinct = 0;
	for (i = 0; rc == 0 && i < n; i++) {
		if (first[i] != i)
			continue;
		if (!grow((void **)&s->plans, &s->cap_plans, s->n_plans,
			  sizeof(*s->plans))) {
			rc = CONN_ENOMEM;
			break;
		}
		s->plans[s->n_plans++] = (struct plan){
			object_offset, keys[i].key_offset,
			keys[last[i]].value_offset };
		(*distinct)++;
	}
	free(first);
	free(last);
	return rc;
}

/* An object's end: its count of distinct keys, and a plan if one repeats
 * (a repeat of the hash alone costs one look at the two keys). */
static int object_end(struct survey *s, size_t shape, size_t base)
{
	size_t n = s->n_keys - base, i, distinct = n;
	/* No keys yet at all: s->keys is still NULL. */
	struct key_seen *keys = n ? s->keys + base : NULL;
	bool repeat = false;
	int rc = 0;

	struct hashed *sorted = NULL;

	if (n > 1) {
		sorted = sort_keys(keys, n);
		if (sorted == NULL)
			return CONN_ENOMEM;
		for (i = 1; i < n && !repeat; i++)
			repeat = sorted[i].hash == sorted[i - 1].hash;
	}
	if (repeat)
		rc = make_plan(s, s->shapes[shape].offset, keys, sorted, n,
			       &distinct);
	free(sorted);
	s->shapes[shape].count = distinct | (repeat ? PLANNED : 0);
	s->n_keys = base;
	return rc;
}

static bool is_value(enum json_kind k)
{
	return k != JSON_READ_KEY && k != JSON_READ_ARRAY_END &&
	       k != JSON_READ_OBJECT_END && k != JSON_READ_END;
}

/* One token of the first reading. */
static int survey_token(struct survey *s, const struct json_token *t)
{
	int d = s->depth - 1;

	if (is_value(t->kind) && d >= 0 && s->open[d].object)
		s->keys[s->n_keys - 1].value_offset = t->offset;
	else if (is_value(t->kind) && d >= 0)
		s->open[d].count++;
	switch (t->kind) {
	case JSON_READ_ARRAY:
	case JSON_READ_OBJECT:
		if (!grow((void **)&s->shapes, &s->cap_shapes, s->n_shapes,
			  sizeof(*s->shapes)))
			return CONN_ENOMEM;
		s->shapes[s->n_shapes] = (struct shape){ t->offset, 0 };
		s->open[s->depth].shape = s->n_shapes++;
		s->open[s->depth].count = 0;
		s->open[s->depth].keys_base = s->n_keys;
		s->open[s->depth++].object = t->kind == JSON_READ_OBJECT;
		return 0;
	case JSON_READ_KEY:
		if (!grow((void **)&s->keys, &s->cap_keys, s->n_keys,
			  sizeof(*s->keys)))
			return CONN_ENOMEM;
		s->keys[s->n_keys++] = (struct key_seen){
			key_hash(t->s, t->n), t->offset, 0 };
		return 0;
	case JSON_READ_ARRAY_END:
		s->shapes[s->open[d].shape].count = s->open[d].count;
		s->depth--;
		return 0;
	case JSON_READ_OBJECT_END:
		s->depth--;
		return object_end(s, s->open[d].shape, s->open[d].keys_base);
	default:
		return 0;
	}
}

static int by_place(const void *a, const void *b)
{
	const struct plan *x = a, *y = b;

	if (x->object_offset != y->object_offset)
		return x->object_offset < y->object_offset ? -1 : 1;
	return x->key_offset < y->key_offset ? -1 :
	       x->key_offset > y->key_offset;
}

static int survey_take(struct survey *s, char *detail, size_t capacity)
{
	struct json_reader r;
	struct json_token t;
	int rc;

	json_read_whole(&r, s->text, s->len, detail, capacity);
	do {
		rc = json_read_next(&r, &t);
		if (rc == 0 && t.kind != JSON_READ_END)
			rc = survey_token(s, &t);
	} while (rc == 0 && t.kind != JSON_READ_END);
	json_read_free(&r);
	/* Objects end inner first: their plans go in the order of their
	 * offsets, each object's keys still in first-come order. */
	if (rc == 0 && s->n_plans > 1)
		qsort(s->plans, s->n_plans, sizeof(*s->plans), by_place);
	return rc;
}

/* The container at offset: its count, and whether it has a plan. */
static size_t shape_count(const struct survey *s, size_t offset,
			  bool *planned)
{
	size_t lo = 0, hi = s->n_shapes, mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (s->shapes[mid].offset <= offset)
			lo = mid;
		else
			hi = mid;
	}
	*planned = s->shapes[lo].count & PLANNED;
	return s->shapes[lo].count & ~PLANNED;
}

/* The first of an object's plans. */
static const struct plan *plan_of(const struct survey *s, size_t offset)
{
	size_t lo = 0, hi = s->n_plans, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->plans[mid].object_offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return s->plans + lo;
}

/* ------------------------------------------------------- the second reading */

/*
 * A value goes ANYWHERE, or where it must be HASHABLE: a key of
 * {"__dict__": ...} or an item of a set, where an array is a tuple (a
 * list could not be there) and a dict, a set or a bytearray is an error,
 * as pickle.loads() of it would be.
 */
enum place { ANYWHERE, HASHABLE };

static int write_value(struct writer *w, const struct survey *s,
		       struct json_reader *r, enum place place);

/* The next token, which the survey says is there: an error here is only
 * out of memory. */
static int next(struct writer *w, struct json_reader *r, struct json_token *t)
{
	int rc = json_read_next(r, t);

	if (rc)
		fail(w, rc, "out of memory reading JSON");
	return rc;
}

static int fail_at(struct writer *w, const struct json_reader *r,
		   size_t pos, const char *what, const char *why, ...)
	__attribute__((format(printf, 5, 6)));

/* "WHAT at column C: WHY", for a value the JSON grammar allows but a
 * pickle cannot carry. */
static int fail_at(struct writer *w, const struct json_reader *r,
		   size_t pos, const char *what, const char *why, ...)
{
	va_list ap;

	if (w->err)
		return CONN_EINVAL;
	va_start(ap, why);
	w->err = json_read_error(r, pos, w->detail, w->capacity, what, why,
				 ap);
	va_end(ap);
	return w->err;
}

/* The items of the array just opened (its count from the survey), each
 * as write_value() writes it, and its ']'; a batch opcode after each
 * (0: none). */
static int write_items(struct writer *w, const struct survey *s,
		       struct json_reader *r, size_t n, enum place place,
		       uint8_t one, uint8_t many)
{
	struct json_token end;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0 && !w->err; i++) {
		if (many)
			open_batch(w, i, n);
		rc = write_value(w, s, r, place);
		if (many)
			close_batch(w, i, n, one, many);
	}
	return rc ? rc : next(w, r, &end);
}

static int write_list(struct writer *w, const struct survey *s,
		      struct json_reader *r, size_t offset, enum place place)
{
	bool planned;
	size_t n = shape_count(s, offset, &planned);

	if (w->protocol == 0) {
		/* No EMPTY_LIST or APPENDS before protocol 1. */
		put_byte(w, OP_MARK);
		put_byte(w, OP_LIST);
	} else {
		put_byte(w, OP_EMPTY_LIST);
	}
	return write_items(w, s, r, n, place, OP_APPEND, OP_APPENDS);
}

static int write_tuple(struct writer *w, const struct survey *s,
		       struct json_reader *r, size_t offset, enum place place)
{
	bool planned;
	size_t n = shape_count(s, offset, &planned);
	int rc;

	tuple_open(w, n);
	rc = write_items(w, s, r, n, place, 0, 0);
	tuple_close(w, n);
	return rc;
}

/* An object whose key repeats: each distinct key where it first came,
 * with its last value, each read again where the plan says. */
static int write_planned_items(struct writer *w, const struct survey *s,
			       struct json_reader *r, size_t offset, size_t n)
{
	const struct plan *p = plan_of(s, offset);
	struct json_reader again;
	struct json_token key;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0 && !w->err; i++, p++) {
		open_batch(w, i, n);
		json_read_value_at(&again, s->text, s->len, p->key_offset);
		rc = next(w, &again, &key);
		if (rc == 0)
			write_str(w, key.s, key.n);
		json_read_free(&again);
		json_read_value_at(&again, s->text, s->len, p->value_offset);
		if (rc == 0)
			rc = write_value(w, s, &again, ANYWHERE);
		json_read_free(&again);
		close_batch(w, i, n, OP_SETITEM, OP_SETITEMS);
	}
	return rc ? rc : json_read_skip(r);
}

/* A new empty dict. */
static void dict_open(struct writer *w)
{
	put_byte(w, w->protocol == 0 ? OP_MARK : OP_EMPTY_DICT);
	if (w->protocol == 0)
		put_byte(w, OP_DICT);
}

/* A plain object of n keys, the first already read when first is not
 * NULL; with items_only, its items alone, set into a dict the caller
 * made. */
static int write_dict(struct writer *w, const struct survey *s,
		      struct json_reader *r, size_t offset, size_t n,
		      bool planned, const struct json_token *first,
		      bool items_only)
{
	struct json_token t;
	size_t i;
	int rc = 0;

	if (!items_only)
		dict_open(w);
	if (planned)
		return write_planned_items(w, s, r, offset, n);
	for (i = 0; i < n && rc == 0 && !w->err; i++) {
		open_batch(w, i, n);
		if (i == 0 && first)
			t = *first;
		else
			rc = next(w, r, &t);
		if (rc == 0)
			write_str(w, t.s, t.n);
		if (rc == 0)
			rc = write_value(w, s, r, ANYWHERE);
		close_batch(w, i, n, OP_SETITEM, OP_SETITEMS);
	}
	return rc ? rc : next(w, r, &t);
}

/* ----------------------------------------------------------------- tags */

/*
 * The tags --out json writes (pickle-json.c), read back: an object whose
 * one key is a tag.  Any other object, one "__x__" key that is no tag
 * among them, is a dict.
 */
enum tag {
	TAG_NONE, TAG_BYTES, TAG_BYTEARRAY, TAG_FLOAT, TAG_COMPLEX,
	TAG_TUPLE, TAG_SET, TAG_FROZENSET, TAG_DICT, TAG_REPR,
	TAG_DATE, TAG_TIME, TAG_DATETIME, TAG_TIMEDELTA, TAG_TIMEZONE,
	TAG_DECIMAL, TAG_FRACTION, TAG_UUID, TAG_DEFAULTDICT, TAG_DEQUE,
	TAG_COUNTER, TAG_EXCEPTION, TAG_OBJECT, TAG_PUREPOSIXPATH,
	TAG_POSIXPATH, TAG_PUREWINDOWSPATH, TAG_WINDOWSPATH, TAG_IPV4ADDRESS,
	TAG_IPV6ADDRESS, TAG_IPV4NETWORK, TAG_IPV6NETWORK, TAG_IPV4INTERFACE,
	TAG_IPV6INTERFACE, TAG_PATTERN, TAG_ARRAY, TAG_ZONEINFO
};

static const char *const tag_names[] = {
	NULL, "__bytes__", "__bytearray__", "__float__", "__complex__",
	"__tuple__", "__set__", "__frozenset__", "__dict__", "__repr__",
	"__date__", "__time__", "__datetime__", "__timedelta__",
	"__timezone__", "__decimal__", "__fraction__", "__uuid__",
	"__defaultdict__", "__deque__", "__counter__", "__exception__",
	"__object__", "__pureposixpath__", "__posixpath__",
	"__purewindowspath__", "__windowspath__", "__ipv4address__",
	"__ipv6address__", "__ipv4network__", "__ipv6network__",
	"__ipv4interface__", "__ipv6interface__", "__pattern__", "__array__",
	"__zoneinfo__"
};

/* {"__x__": ...}, for an error about the tag. */
static const char *tag_shown(char *buf, size_t capacity, enum tag tag)
{
	snprintf(buf, capacity, "{\"%s\": ...}", tag_names[tag]);
	return buf;
}

static enum tag tag_of(const char *key, size_t n)
{
	size_t i;

	for (i = 1; i < sizeof(tag_names) / sizeof(*tag_names); i++)
		if (strlen(tag_names[i]) == n && memcmp(key, tag_names[i], n) == 0)
			return (enum tag)i;
	return TAG_NONE;
}

/* {"__float__": "nan"}'s string, "nan", "inf" or "-inf", as a double. */
static bool special_float(const struct json_token *t, double *x)
{
	if (t->kind != JSON_READ_STRING)
		return false;
	if (t->n == 3 && memcmp(t->s, "nan", 3) == 0)
		*x = NAN;
	else if (t->n == 3 && memcmp(t->s, "inf", 3) == 0)
		*x = INFINITY;
	else if (t->n == 4 && memcmp(t->s, "-inf", 4) == 0)
		*x = -INFINITY;
	else
		return false;
	return true;
}

/* Tagged {"__float__": ...}'s value, t, written. */
static int write_special_float(struct writer *w, const struct json_reader *r,
			       const struct json_token *t, size_t at)
{
	double x;

	if (!special_float(t, &x))
		return fail_at(w, r, at, "{\"__float__\": ...}",
			       "its value must be \"nan\", \"inf\" or \"-inf\"");
	write_float(w, x);
	return 0;
}

/* A part beyond 64 bits, as complex(int) takes it: within a double. */
static int big_part(struct writer *w, const struct json_reader *r,
		    const struct json_token *t, double *x, size_t at)
{
	char *copy = malloc(t->n + 1);

	if (copy == NULL) {
		fail(w, CONN_ENOMEM, "out of memory");
		return CONN_ENOMEM;
	}
	memcpy(copy, t->s, t->n);
	copy[t->n] = '\0';
	*x = strtod(copy, NULL);
	free(copy);
	if (isinf(*x))
		return fail_at(w, r, at, "{\"__complex__\": ...}", "a part "
			       "too large for a float");
	return 0;
}

/* A part of {"__complex__": [re, im]}: a number or {"__float__": ...}. */
static int read_part(struct writer *w, const struct survey *s,
		     struct json_reader *r, double *x, size_t at)
{
	struct json_token t;
	bool planned;
	int rc = next(w, r, &t);

	if (rc)
		return rc;
	if (t.kind == JSON_READ_INT) {
		*x = (double)t.i;
		return 0;
	}
	if (t.kind == JSON_READ_REAL) {
		*x = t.d;
		return 0;
	}
	if (t.kind == JSON_READ_BIG_INT)
		return big_part(w, r, &t, x, at);
	if (t.kind == JSON_READ_OBJECT &&
	    shape_count(s, t.offset, &planned) == 1 && !planned &&
	    next(w, r, &t) == 0 && tag_of(t.s, t.n) == TAG_FLOAT &&
	    next(w, r, &t) == 0 && special_float(&t, x))
		return next(w, r, &t);	/* its '}' */
	return fail_at(w, r, at, "{\"__complex__\": ...}", "its value must "
		       "be [real, imag] (numbers or __float__ tags)");
}

/* complex(re, im), which CPython pickles with REDUCE at every protocol. */
static int write_complex(struct writer *w, const struct survey *s,
			 struct json_reader *r, const struct json_token *t,
			 size_t at)
{
	struct json_token end;
	double re = 0, im = 0;
	bool planned;
	int rc;

	if (t->kind != JSON_READ_ARRAY ||
	    shape_count(s, t->offset, &planned) != 2)
		return fail_at(w, r, at, "{\"__complex__\": ...}", "its value "
			       "must be [real, imag] (numbers or __float__ "
			       "tags)");
	rc = read_part(w, s, r, &re, at);
	if (rc == 0)
		rc = read_part(w, s, r, &im, at);
	if (rc == 0)
		rc = next(w, r, &end);
	write_global(w, "builtins", "complex");
	tuple_open(w, 2);
	write_float(w, re);
	write_float(w, im);
	tuple_close(w, 2);
	put_byte(w, OP_REDUCE);
	return rc;
}

/* {"__bytes__": "<base64>"} and {"__bytearray__": ...}'s value, t. */
static int write_binary(struct writer *w, const struct json_reader *r,
			const struct json_token *t, enum tag tag, size_t at)
{
	uint8_t *bytes;
	size_t n = 0, cap = t->n / 4 * 3 + 1;
	const char *end = NULL;
	int rc = 0;

	char what[32];

	tag_shown(what, sizeof(what), tag);
	if (t->kind != JSON_READ_STRING)
		return fail_at(w, r, at, what,
			       "its value must be a base64 string");
	bytes = malloc(cap);
	if (bytes == NULL) {
		fail(w, CONN_ENOMEM, "out of memory");
		return CONN_ENOMEM;
	}
	if (sodium_base642bin(bytes, cap, t->s, t->n, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != t->s + t->n)
		rc = fail_at(w, r, at, what, "its value is not padded base64");
	else if (tag == TAG_BYTES)
		write_bytes(w, bytes, n);
	else
		write_bytearray(w, bytes, n);
	free(bytes);
	return rc;
}

/* A set: EMPTY_SET and ADDITEMS batches (a MARK even for one item) from
 * protocol 4, before it set([...]) as CPython's __reduce__ gives; a
 * frozenset: MARK, its items, FROZENSET, or frozenset([...]). */
static int write_set(struct writer *w, const struct survey *s,
		     struct json_reader *r, size_t offset, bool frozen)
{
	bool planned;
	size_t n = shape_count(s, offset, &planned), i;
	struct json_token end;
	int rc = 0;

	if (w->protocol < 4) {
		write_global(w, "builtins", frozen ? "frozenset" : "set");
		tuple_open(w, 1);
		rc = write_list(w, s, r, offset, HASHABLE);
		tuple_close(w, 1);
		put_byte(w, OP_REDUCE);
		return rc;
	}
	put_byte(w, frozen ? OP_MARK : OP_EMPTY_SET);
	for (i = 0; i < n && rc == 0 && !w->err; i++) {
		if (!frozen && i % BATCH_SIZE == 0)
			put_byte(w, OP_MARK);
		rc = write_value(w, s, r, HASHABLE);
		if (!frozen && (i % BATCH_SIZE == BATCH_SIZE - 1 || i == n - 1))
			put_byte(w, OP_ADDITEMS);
	}
	if (frozen)
		put_byte(w, OP_FROZENSET);
	return rc ? rc : next(w, r, &end);
}

/* {"__dict__": [[key, value], ...]}: a dict of any hashable keys (its
 * items alone with items_only). */
static int write_pairs(struct writer *w, const struct survey *s,
		       struct json_reader *r, size_t offset, size_t at,
		       bool items_only)
{
	struct json_token t;
	bool planned;
	size_t n = shape_count(s, offset, &planned), i;
	int rc = 0;

	if (!items_only)
		dict_open(w);
	for (i = 0; i < n && rc == 0 && !w->err; i++) {
		rc = next(w, r, &t);
		if (rc == 0 && (t.kind != JSON_READ_ARRAY ||
				shape_count(s, t.offset, &planned) != 2))
			return fail_at(w, r, at, "{\"__dict__\": ...}", "its "
				       "items must be [key, value] arrays");
		open_batch(w, i, n);
		if (rc == 0)
			rc = write_value(w, s, r, HASHABLE);
		if (rc == 0)
			rc = write_value(w, s, r, ANYWHERE);
		if (rc == 0)
			rc = next(w, r, &t);	/* the pair's ']' */
		close_batch(w, i, n, OP_SETITEM, OP_SETITEMS);
	}
	return rc ? rc : next(w, r, &t);
}

/* The containers a tag makes: tuple, set, frozenset, dict. */
static int write_tagged_array(struct writer *w, const struct survey *s,
			      struct json_reader *r, const struct json_token *t,
			      enum tag tag, enum place place, size_t at)
{
	char what[32];

	if (t->kind != JSON_READ_ARRAY)
		return fail_at(w, r, at, tag_shown(what, sizeof(what), tag),
			       "its value must be an array");
	switch (tag) {
	case TAG_TUPLE:
		return write_tuple(w, s, r, t->offset, place);
	case TAG_SET:
	case TAG_FROZENSET:
		return write_set(w, s, r, t->offset, tag == TAG_FROZENSET);
	default:
		return write_pairs(w, s, r, t->offset, at, false);
	}
}

/* ------------------------------------------- standard library tags: help */

/*
 * The standard library's tags (pickle.h's table) pickle as CPython's
 * pickler writes those objects: their classes' __reduce__ calls.  Their
 * fields are read wherever they are in the object: a first look notes the
 * offset of each field's value, the writing reads each again there.
 */
#define FIELD_MISSING SIZE_MAX

/* The fields of the object whose '{' was just read, as t: offsets[i] of
 * the value of names[i], FIELD_MISSING if absent; another key is an
 * error, and so is a t that is no object (why says what it must be). */
static int read_fields(struct writer *w, struct json_reader *r,
		       const struct json_token *object, size_t at,
		       const char *what, const char *why,
		       const char *const *names, size_t *offsets, size_t n)
{
	struct json_token t;
	size_t i;
	int rc;

	if (object->kind != JSON_READ_OBJECT)
		return fail_at(w, r, at, what, "%s", why);
	for (i = 0; i < n; i++)
		offsets[i] = FIELD_MISSING;
	while ((rc = next(w, r, &t)) == 0 && t.kind == JSON_READ_KEY) {
		for (i = 0; i < n; i++)
			if (strlen(names[i]) == t.n &&
			    memcmp(t.s, names[i], t.n) == 0)
				break;
		if (i == n)
			return fail_at(w, r, at, what, "no field \"%.*s\" in "
				       "it", (int)(t.n > 40 ? 40 : t.n), t.s);
		rc = next(w, r, &t);
		if (rc)
			return rc;
		offsets[i] = t.offset;	/* a repeated key's last value */
		if (t.kind == JSON_READ_ARRAY || t.kind == JSON_READ_OBJECT)
			rc = json_read_skip(r);
		if (rc) {
			fail(w, rc, "out of memory reading JSON");
			return rc;
		}
	}
	return rc;
}

/* The value at offset, written as write_value() writes any. */
static int write_value_at(struct writer *w, const struct survey *s,
			  size_t offset, enum place place)
{
	struct json_reader again;
	int rc;

	json_read_value_at(&again, s->text, s->len, offset);
	rc = write_value(w, s, &again, place);
	json_read_free(&again);
	return rc;
}

/* The token at offset, read by *again (freed by the caller). */
static int token_at(struct writer *w, const struct survey *s,
		    struct json_reader *again, size_t offset,
		    struct json_token *t)
{
	json_read_value_at(again, s->text, s->len, offset);
	return next(w, again, t);
}

/* A call to module.name of the n arguments the caller writes between:
 * the global and tuple_open() here, tuple_close() and REDUCE after. */
static void call_open(struct writer *w, const char *module,
		      const char *name, size_t n)
{
	write_global(w, module, name);
	tuple_open(w, n);
}

static void call_close(struct writer *w, size_t n)
{
	tuple_close(w, n);
	put_byte(w, OP_REDUCE);
}

/* An int of decimal digits (a '-' first maybe), as CPython writes it:
 * within 18 digits as an int64, beyond as a big one. */
static void write_int_text(struct writer *w, const char *text, size_t n)
{
	size_t digits = n - (text[0] == '-');
	int64_t v = 0;
	size_t i;

	while (digits > 1 && text[n - digits] == '0') {
		digits--;	/* leading zeros, which Python's int() takes */
	}
	if (digits > 18) {
		char *copy = malloc(digits + 2);

		if (copy == NULL) {
			fail(w, CONN_ENOMEM, "out of memory");
			return;
		}
		i = 0;
		if (text[0] == '-')
			copy[i++] = '-';
		memcpy(copy + i, text + n - digits, digits);
		write_big_int(w, copy, i + digits);
		free(copy);
		return;
	}
	for (i = n - digits; i < n; i++)
		v = v * 10 + (text[i] - '0');
	write_int(w, text[0] == '-' ? -v : v);
}

/* n digits at p, at least one: their value in *v (n at most 18). */
static bool digits_value(const char *p, size_t n, int64_t *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 18)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*v = *v * 10 + (p[i] - '0');
	}
	return true;
}

/* ------------------------------------------------ the datetime family */

struct civil {
	int64_t year, month, day, hour, minute, second, us;
	bool has_offset;
	int64_t offset_us;	/* strictly within a day */
};

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD", a date Python's datetime.date takes. */
static bool parse_date(const char *p, size_t n, struct civil *c)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				    30, 31 };

	if (n != 10 || p[4] != '-' || p[7] != '-' ||
	    !digits_value(p, 4, &c->year) || !digits_value(p + 5, 2, &c->month) ||
	    !digits_value(p + 8, 2, &c->day))
		return false;
	return c->year >= 1 && c->month >= 1 && c->month <= 12 && c->day >= 1 &&
	       c->day <= days[c->month - 1] + (c->month == 2 && leap(c->year));
}

/* "HH:MM:SS" then ".ffffff" maybe, as isoformat() writes them; the
 * length used, 0 if none. */
static size_t parse_clock(const char *p, size_t n, int64_t *h, int64_t *m,
			  int64_t *s, int64_t *us, int64_t hours)
{
	if (n < 5 || p[2] != ':' || !digits_value(p, 2, h) ||
	    !digits_value(p + 3, 2, m) || *h >= hours || *m > 59)
		return 0;
	*s = *us = 0;
	if (n < 8 || p[5] != ':')
		return 5;
	if (!digits_value(p + 6, 2, s) || *s > 59)
		return 0;
	if (n < 15 || p[8] != '.')
		return 8;
	return digits_value(p + 9, 6, us) ? 15 : 0;
}

/* A UTC offset as isoformat() writes it: "+HH:MM", then ":SS" and
 * ".ffffff" where they are not zero; strictly within a day. */
static bool parse_offset(const char *p, size_t n, int64_t *offset_us)
{
	int64_t h, m, s, us;

	/* (a sign alone: parse_clock()'s 0 would equal its empty rest) */
	if (n < 2 || (p[0] != '+' && p[0] != '-') ||
	    parse_clock(p + 1, n - 1, &h, &m, &s, &us, 24) != n - 1)
		return false;
	*offset_us = ((h * 60 + m) * 60 + s) * 1000000 + us;
	if (p[0] == '-')
		*offset_us = -*offset_us;
	return true;
}

/* A time of day, and its UTC offset maybe. */
static bool parse_time(const char *p, size_t n, struct civil *c)
{
	size_t used = parse_clock(p, n, &c->hour, &c->minute, &c->second,
				  &c->us, 24);

	c->has_offset = used != 0 && used < n;
	if (used == 0 || used == n)
		return used != 0;
	return parse_offset(p + used, n - used, &c->offset_us);
}

/* timedelta(days, seconds, microseconds) of a count of microseconds,
 * normalized as Python's: 0 <= seconds < 86400, 0 <= us < 10**6. */
static void write_timedelta(struct writer *w, int64_t total_us)
{
	int64_t day = 86400LL * 1000000, days = total_us / day;
	int64_t rest = total_us % day;

	if (rest < 0) {
		rest += day;
		days--;
	}
	call_open(w, "datetime", "timedelta", 3);
	write_int(w, days);
	write_int(w, rest / 1000000);
	write_int(w, rest % 1000000);
	call_close(w, 3);
}

/* timezone(offset), or timezone(offset, name) when name is not NULL. */
static void write_timezone(struct writer *w, int64_t offset_us,
			   const char *name, size_t name_len)
{
	size_t n = name ? 2 : 1;
	/* timezone(timedelta(0)) is timezone.utc, one object */
	struct shared *utc = name || offset_us ? NULL
				      : shared_of(w, 'u', "utc", "");

	if ((utc || (!name && !offset_us)) && memo_before(w, utc))
		return;
	call_open(w, "datetime", "timezone", n);
	write_timedelta(w, offset_us);
	if (name)
		write_str(w, name, name_len);
	call_close(w, n);
	if (utc)
		memo_after(w, utc);
}

/* date, time or datetime(state bytes[, tzinfo]): the packed state of
 * CPython's _datetime, fold left 0 as the JSON has none. */
static void write_civil(struct writer *w, const char *name,
			const struct civil *c, bool date, bool clock)
{
	uint8_t state[10];
	size_t n = 0, args = 1 + (clock && c->has_offset);

	if (date) {
		state[n++] = (uint8_t)(c->year >> 8);
		state[n++] = (uint8_t)c->year;
		state[n++] = (uint8_t)c->month;
		state[n++] = (uint8_t)c->day;
	}
	if (clock) {
		state[n++] = (uint8_t)c->hour;
		state[n++] = (uint8_t)c->minute;
		state[n++] = (uint8_t)c->second;
		state[n++] = (uint8_t)(c->us >> 16);
		state[n++] = (uint8_t)(c->us >> 8);
		state[n++] = (uint8_t)c->us;
	}
	call_open(w, "datetime", name, args);
	write_bytes(w, state, n);
	if (args == 2)
		write_timezone(w, c->offset_us, NULL, 0);
	call_close(w, args);
}

/* {"__date__": "2024-02-29"}, {"__time__": "13:45:30.123456+01:00"},
 * {"__datetime__": "2024-02-29T13:45:30"}: value t. */
static int write_iso(struct writer *w, const struct json_reader *r,
		     const struct json_token *t, enum tag tag, size_t at)
{
	static const char *const names[] = { "date", "time", "datetime" };
	static const char *const why[] = {
		"not a date as \"YYYY-MM-DD\"",
		"not a time as \"HH:MM:SS[.ffffff][+HH:MM]\"",
		("not a datetime as "
		 "\"YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]\""),
	};
	int kind = tag == TAG_DATE ? 0 : tag == TAG_TIME ? 1 : 2;
	struct civil c = { 0 };
	char what[32];
	bool ok;

	tag_shown(what, sizeof(what), tag);
	if (t->kind != JSON_READ_STRING)
		return fail_at(w, r, at, what, "%s", why[kind]);
	if (kind == 0)
		ok = parse_date(t->s, t->n, &c);
	else if (kind == 1)
		ok = parse_time(t->s, t->n, &c);
	else
		ok = t->n > 11 && parse_date(t->s, 10, &c) && t->s[10] == 'T' &&
		     parse_time(t->s + 11, t->n - 11, &c);
	if (!ok)
		return fail_at(w, r, at, what, "%s", why[kind]);
	write_civil(w, names[kind], &c, kind != 1, kind != 0);
	return 0;
}

/* An int field's value, within [lo, hi]; missing is 0. */
static int int_field(struct writer *w, const struct survey *s,
		     const struct json_reader *r, size_t offset, size_t at,
		     const char *what, const char *why, int64_t lo,
		     int64_t hi, int64_t *v)
{
	struct json_reader again;
	struct json_token t;
	int rc = 0;

	*v = 0;
	if (offset == FIELD_MISSING)
		return 0;
	rc = token_at(w, s, &again, offset, &t);
	if (rc == 0 && (t.kind != JSON_READ_INT || t.i < lo || t.i > hi))
		rc = fail_at(w, r, at, what, "%s", why);
	if (rc == 0)
		*v = t.i;
	json_read_free(&again);
	return rc;
}

/* {"__timedelta__": {"days": D, "seconds": S, "microseconds": U}},
 * normalized as Python's; a field left out is 0. */
static int write_timedelta_tag(struct writer *w, const struct survey *s,
			       struct json_reader *r, const struct json_token *t,
			       size_t at)
{
	static const char *const names[] = { "days", "seconds",
					     "microseconds" };
	static const char what[] = "{\"__timedelta__\": ...}";
	static const char why[] = "not {\"days\": D, \"seconds\": S, "
		"\"microseconds\": U} normalized";
	size_t offsets[3];
	int64_t days, seconds, us;
	int rc;

	rc = read_fields(w, r, t, at, what, why, names, offsets, 3);
	if (rc == 0)
		rc = int_field(w, s, r, offsets[0], at, what, why, -999999999,
			       999999999, &days);
	if (rc == 0)
		rc = int_field(w, s, r, offsets[1], at, what, why, 0, 86399,
			       &seconds);
	if (rc == 0)
		rc = int_field(w, s, r, offsets[2], at, what, why, 0, 999999,
			       &us);
	if (rc)
		return rc;
	call_open(w, "datetime", "timedelta", 3);
	write_int(w, days);
	write_int(w, seconds);
	write_int(w, us);
	call_close(w, 3);
	return 0;
}

/* {"__timezone__": {"offset": "+05:30", "name": "IST" or null}}. */
static int write_timezone_tag(struct writer *w, const struct survey *s,
			      struct json_reader *r, const struct json_token *t,
			      size_t at)
{
	static const char *const names[] = { "offset", "name" };
	static const char what[] = "{\"__timezone__\": ...}";
	static const char why[] = "not {\"offset\": \"+HH:MM[:SS[.ffffff]]\", "
		"\"name\": null or a str}";
	struct json_reader a, b;
	struct json_token offset, name = { .kind = JSON_READ_NULL };
	size_t offsets[2];
	int64_t us = 0;
	bool named;
	int rc;

	rc = read_fields(w, r, t, at, what, why, names, offsets, 2);
	if (rc)
		return rc;
	if (offsets[0] == FIELD_MISSING)
		return fail_at(w, r, at, what, why);
	named = offsets[1] != FIELD_MISSING;
	rc = token_at(w, s, &a, offsets[0], &offset);
	if (named) {	/* b is then to free, whatever rc */
		int rc_name = token_at(w, s, &b, offsets[1], &name);

		rc = rc ? rc : rc_name;
	}
	if (rc == 0 && (offset.kind != JSON_READ_STRING ||
			!parse_offset(offset.s, offset.n, &us) ||
			(name.kind != JSON_READ_NULL &&
			 name.kind != JSON_READ_STRING)))
		rc = fail_at(w, r, at, what, why);
	if (rc == 0)
		write_timezone(w, us,
			       name.kind == JSON_READ_STRING ? name.s : NULL,
			       name.n);
	json_read_free(&a);
	if (named)
		json_read_free(&b);
	return rc;
}

/* {"__zoneinfo__": "Europe/Paris"}: as ZoneInfo's __reduce__,
 * getattr(ZoneInfo, '_unpickle')(key, 1), 1 for from the cache (the JSON
 * does not tell ZoneInfo.no_cache() apart, nor does its repr()). */
static int write_zoneinfo(struct writer *w, const struct json_reader *r,
			  const struct json_token *t, size_t at)
{
	if (t->kind != JSON_READ_STRING || t->n == 0)
		return fail_at(w, r, at, "{\"__zoneinfo__\": ...}", "its value "
			       "must be a key, \"Europe/Paris\"");
	call_open(w, "builtins", "getattr", 2);
	write_global(w, "zoneinfo", "ZoneInfo");
	write_str(w, "_unpickle", 9);
	call_close(w, 2);
	tuple_open(w, 2);
	write_str(w, t->s, t->n);
	write_int(w, 1);
	call_close(w, 2);
	return 0;
}

/* ------------------------------------------ Decimal, Fraction, UUID */

/* [0-9]+ at p[*i], moved past; false if none. */
static bool skip_digits(const char *p, size_t n, size_t *i)
{
	size_t from = *i;

	while (*i < n && p[*i] >= '0' && p[*i] <= '9')
		(*i)++;
	return *i > from;
}

static bool word_at(const char *p, size_t n, size_t i, const char *word)
{
	return n - i == strlen(word) && strncasecmp(p + i, word, n - i) == 0;
}

/* The syntax decimal.Decimal() takes of a str (its spec's, ASCII):
 * [sign] (digits [. [digits]] | . digits) [e [sign] digits], or Inf,
 * Infinity, NaN [digits], sNaN [digits], case aside. */
static bool decimal_syntax(const char *p, size_t n)
{
	size_t i = p[0] == '+' || p[0] == '-';
	bool whole, part = false;

	if (word_at(p, n, i, "inf") || word_at(p, n, i, "infinity"))
		return true;
	if (n - i >= 3 && strncasecmp(p + i, "nan", 3) == 0)
		i += 3;
	else if (n - i >= 4 && strncasecmp(p + i, "snan", 4) == 0)
		i += 4;
	else {
		whole = skip_digits(p, n, &i);
		if (i < n && p[i] == '.') {
			i++;
			part = skip_digits(p, n, &i);
		}
		if (!whole && !part)
			return false;
		if (i < n && (p[i] == 'e' || p[i] == 'E')) {
			i++;
			i += i < n && (p[i] == '+' || p[i] == '-');
			if (!skip_digits(p, n, &i))
				return false;
		}
		return i == n;
	}
	skip_digits(p, n, &i);	/* a NaN's payload */
	return i == n;
}

/* {"__decimal__": "3.14"}: Decimal(str), as its __reduce__. */
static int write_decimal(struct writer *w, const struct json_reader *r,
			 const struct json_token *t, size_t at)
{
	if (t->kind != JSON_READ_STRING || t->n == 0 ||
	    !decimal_syntax(t->s, t->n))
		return fail_at(w, r, at, "{\"__decimal__\": ...}", "not a str "
			       "Decimal() takes (\"3.14\", \"NaN\")");
	call_open(w, "decimal", "Decimal", 1);
	write_str(w, t->s, t->n);
	call_close(w, 1);
	return 0;
}

/* An int's digits at p[from, to): '-' maybe, then at least one digit. */
static bool int_syntax(const char *p, size_t from, size_t to, bool sign)
{
	size_t i = from + (sign && from < to && p[from] == '-');

	return skip_digits(p, to, &i) && i == to;
}

/* {"__fraction__": "1/3"} (or "3"): Fraction(numerator, denominator),
 * as 3.11's __reduce__ writes it (3.10's wrote Fraction('1/3')). */
static int write_fraction(struct writer *w, const struct json_reader *r,
			  const struct json_token *t, size_t at)
{
	const char *slash = t->kind == JSON_READ_STRING
			    ? memchr(t->s, '/', t->n) : NULL;
	size_t cut = slash ? (size_t)(slash - t->s) : t->n;
	size_t i;
	bool zero = true;

	for (i = cut + 1; slash && i < t->n; i++)
		zero = zero && t->s[i] == '0';
	if (t->kind != JSON_READ_STRING || !int_syntax(t->s, 0, cut, true) ||
	    (slash && (!int_syntax(t->s, cut + 1, t->n, false) || zero)))
		return fail_at(w, r, at, "{\"__fraction__\": ...}", "not \"N/D\" "
			       "or \"N\" (D not zero)");
	call_open(w, "fractions", "Fraction", 2);
	write_int_text(w, t->s, cut);
	if (slash)
		write_int_text(w, t->s + cut + 1, t->n - cut - 1);
	else
		write_int(w, 1);
	call_close(w, 2);
	return 0;
}

/* The 128 bits of "12345678-1234-5678-1234-567812345678" (either case),
 * big-endian. */
static bool parse_uuid(const char *p, size_t n, uint8_t bits[16])
{
	size_t i, k = 0;
	int v;

	if (n != 36)
		return false;
	memset(bits, 0, 16);
	for (i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return false;
			continue;
		}
		if (p[i] >= '0' && p[i] <= '9')
			v = p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			v = (p[i] | 0x20) - 'a' + 10;
		else
			return false;
		bits[k / 2] |= (uint8_t)(k % 2 ? v : v << 4);
		k++;
	}
	return true;
}

/* The decimal digits of 16 big-endian bytes, in text (40 bytes). */
static void uuid_decimal(const uint8_t bits[16], char text[40])
{
	uint8_t n[16];
	char rev[40];
	size_t len = 0, i;
	bool nonzero;

	memcpy(n, bits, 16);
	do {	/* n /= 10, the remainder a digit */
		unsigned rem = 0;

		nonzero = false;
		for (i = 0; i < 16; i++) {
			unsigned cur = rem << 8 | n[i];

			n[i] = (uint8_t)(cur / 10);
			rem = cur % 10;
			nonzero = nonzero || n[i];
		}
		rev[len++] = (char)('0' + rem);
	} while (nonzero);
	for (i = 0; i < len; i++)
		text[i] = rev[len - 1 - i];
	text[len] = '\0';
}

/* {"__uuid__": "..."}: what UUID's __getstate__ and copyreg make of it,
 * {'int': N} built into UUID.__new__(UUID) (from protocol 2, NEWOBJ;
 * before it copyreg._reconstructor(UUID, object, None)). */
static int write_uuid(struct writer *w, const struct json_reader *r,
		      const struct json_token *t, size_t at)
{
	uint8_t bits[16];
	char text[40];

	if (t->kind != JSON_READ_STRING || !parse_uuid(t->s, t->n, bits))
		return fail_at(w, r, at, "{\"__uuid__\": ...}", "not a UUID "
			       "as \"12345678-1234-5678-1234-567812345678\"");
	if (w->protocol >= 2) {
		write_global(w, "uuid", "UUID");
		tuple_close(w, 0);
		put_byte(w, OP_NEWOBJ);
	} else {
		write_global(w, "copy_reg", "_reconstructor");
		tuple_open(w, 3);
		write_global(w, "uuid", "UUID");
		write_global(w, "builtins", "object");
		put_byte(w, OP_NONE);
		call_close(w, 3);
	}
	put_byte(w, w->protocol == 0 ? OP_MARK : OP_EMPTY_DICT);
	if (w->protocol == 0)
		put_byte(w, OP_DICT);
	write_constant(w, "int");
	uuid_decimal(bits, text);
	write_int_text(w, text, strlen(text));
	put_byte(w, OP_SETITEM);
	put_byte(w, OP_BUILD);
	return 0;
}

/* ------------------------------------------ collections and exceptions */

/* The dict at offset (an object, or {"__dict__": ...}); with items_only
 * its items alone, for a dict the caller has made (a defaultdict). */
static int write_dict_at(struct writer *w, const struct survey *s,
			 size_t offset, bool items_only, size_t at,
			 const char *what)
{
	struct json_reader again;
	struct json_token t, key;
	bool planned;
	size_t n = 0;
	enum tag tag = TAG_NONE;
	int rc;

	rc = token_at(w, s, &again, offset, &t);
	if (rc == 0 && t.kind != JSON_READ_OBJECT)
		rc = fail_at(w, &again, at, what, "its items must be a dict");
	if (rc == 0)
		n = shape_count(s, t.offset, &planned);
	if (rc == 0 && n == 1 && !planned) {
		rc = next(w, &again, &key);
		tag = rc ? TAG_NONE : tag_of(key.s, key.n);
	}
	if (rc == 0 && tag == TAG_DICT) {
		rc = next(w, &again, &t);
		if (rc == 0 && t.kind != JSON_READ_ARRAY)
			rc = fail_at(w, &again, offset, "{\"__dict__\": ...}",
				     "its value must be an array");
		if (rc == 0)
			rc = write_pairs(w, s, &again, t.offset, offset,
					 items_only);
	} else if (rc == 0 && tag != TAG_NONE) {
		rc = fail_at(w, &again, at, what, "its items must be a dict");
	} else if (rc == 0) {
		rc = write_dict(w, s, &again, t.offset, n, planned,
				n == 1 && !planned ? &key : NULL, items_only);
	}
	json_read_free(&again);
	return rc;
}

/* {"__counter__": DICT}: Counter(dict), as its __reduce__. */
static int write_counter(struct writer *w, const struct survey *s,
			 const struct json_token *t, size_t at)
{
	int rc;

	call_open(w, "collections", "Counter", 1);
	rc = write_dict_at(w, s, t->offset, false, at, "{\"__counter__\": ...}");
	call_close(w, 1);
	return rc;
}

/*
 * A global as --out json shows one, {"__repr__": "<class 'list'>"}: a
 * builtin by its name, another dotted ("<class 'collections.deque'>"),
 * into module and name (of capacity bytes each); false for another form.
 */
static bool class_repr(const struct json_token *t, char *module,
		       char *name, size_t capacity)
{
	static const char head[] = "<class '";
	size_t h = sizeof(head) - 1, len, dot;

	if (t->kind != JSON_READ_STRING || t->n < h + 3 ||
	    memcmp(t->s, head, h) != 0 || memcmp(t->s + t->n - 2, "'>", 2))
		return false;
	len = t->n - h - 2;
	if (len >= capacity || memchr(t->s + h, '\'', len) ||
	    memchr(t->s + h, '\n', len))
		return false;
	for (dot = len; dot > 0 && t->s[h + dot - 1] != '.'; dot--)
		;
	snprintf(module, capacity, "%.*s", dot ? (int)dot - 1 : 8,
		 dot ? t->s + h : "builtins");
	snprintf(name, capacity, "%.*s", (int)(len - dot), t->s + h + dot);
	return dot != 1 && name[0] != '\0';
}

/*
 * Whether module.name may be a defaultdict's factory: a builtin type or
 * one of collections'.  The receiver calls the factory for every missing
 * key, so --in json never names any other callable there (os.system
 * would run).
 */
static bool safe_factory(const char *module, const char *name)
{
	static const char *const builtin[] = {
		"list", "dict", "set", "frozenset", "tuple", "int", "float",
		"complex", "str", "bytes", "bytearray", "bool", "object",
	};
	static const char *const collections[] = {
		"OrderedDict", "defaultdict", "deque", "Counter",
	};
	const char *const *names = builtin;
	size_t count = sizeof(builtin) / sizeof(*builtin), i;

	if (strcmp(module, "collections") == 0) {
		names = collections;
		count = sizeof(collections) / sizeof(*collections);
	} else if (strcmp(module, "builtins") != 0) {
		return false;
	}
	for (i = 0; i < count; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* A defaultdict's default_factory at offset: none (null), or a class
 * as {"__repr__": "<class '...'>"} (safe_factory()'s); *named false for
 * none. */
static int read_factory(struct writer *w, const struct survey *s,
			const struct json_reader *r, size_t offset, size_t at,
			char *module, char *name, size_t capacity, bool *named)
{
	struct json_reader again;
	struct json_token t;
	bool planned;
	int rc;

	*named = false;
	if (offset == FIELD_MISSING)
		return 0;
	rc = token_at(w, s, &again, offset, &t);
	if (rc == 0 && t.kind == JSON_READ_OBJECT &&
	    shape_count(s, t.offset, &planned) == 1 && !planned &&
	    next(w, &again, &t) == 0 && tag_of(t.s, t.n) == TAG_REPR &&
	    next(w, &again, &t) == 0)
		*named = class_repr(&t, module, name, capacity) &&
			 safe_factory(module, name);
	else if (rc == 0 && t.kind == JSON_READ_NULL)
		goto done;
	if (rc == 0 && !*named)
		rc = fail_at(w, r, at, "{\"__defaultdict__\": ...}",
			     "default_factory not null nor a "
			     "builtin type's class");
done:
	json_read_free(&again);
	return rc;
}

/* {"__defaultdict__": {"default_factory": F, "items": DICT}}: as its
 * __reduce__, defaultdict(F) (or defaultdict()), then SETITEMS. */
static int write_defaultdict(struct writer *w, const struct survey *s,
			     struct json_reader *r, const struct json_token *t,
			     size_t at)
{
	static const char *const names[] = { "default_factory", "items" };
	static const char what[] = "{\"__defaultdict__\": ...}";
	static const char why[] = "not {\"default_factory\": F, \"items\": "
		"DICT}";
	char module[128], name[128];
	size_t offsets[2];
	bool named;
	int rc;

	rc = read_fields(w, r, t, at, what, why, names, offsets, 2);
	if (rc == 0)
		rc = read_factory(w, s, r, offsets[0], at, module, name,
				  sizeof(module), &named);
	if (rc)
		return rc;
	call_open(w, "collections", "defaultdict", named);
	if (named)
		write_global(w, module, name);
	call_close(w, named);
	if (offsets[1] == FIELD_MISSING)
		return 0;
	return write_dict_at(w, s, offsets[1], true, at, what);
}

/* {"__deque__": {"items": [...], "maxlen": N or null}}: as its
 * __reduce__, deque() or deque((), maxlen), then APPENDS. */
static int write_deque(struct writer *w, const struct survey *s,
		       struct json_reader *r, const struct json_token *t,
		       size_t at)
{
	static const char *const names[] = { "items", "maxlen" };
	static const char what[] = "{\"__deque__\": ...}";
	static const char why[] = "not {\"items\": [...], \"maxlen\": "
		"N or null}";
	struct json_reader again;
	struct json_token items, maxlen = { .kind = JSON_READ_NULL };
	size_t offsets[2], n = 0;
	bool planned, bounded;
	int rc;

	rc = read_fields(w, r, t, at, what, why, names, offsets, 2);
	if (rc == 0 && offsets[1] != FIELD_MISSING) {
		rc = token_at(w, s, &again, offsets[1], &maxlen);
		json_read_free(&again);
	}
	bounded = maxlen.kind == JSON_READ_INT;
	if (rc == 0 && ((!bounded && maxlen.kind != JSON_READ_NULL) ||
			(bounded && maxlen.i < 0)))
		rc = fail_at(w, r, at, what, why);
	if (rc)
		return rc;
	call_open(w, "collections", "deque", bounded ? 2 : 0);
	if (bounded) {
		tuple_close(w, 0);
		write_int(w, maxlen.i);
	}
	call_close(w, bounded ? 2 : 0);
	if (offsets[0] == FIELD_MISSING)
		return 0;
	rc = token_at(w, s, &again, offsets[0], &items);
	if (rc == 0 && items.kind != JSON_READ_ARRAY)
		rc = fail_at(w, r, at, what, why);
	if (rc == 0)
		n = shape_count(s, items.offset, &planned);
	if (rc == 0)
		rc = write_items(w, s, &again, n, ANYWHERE, OP_APPEND,
				 OP_APPENDS);
	json_read_free(&again);
	return rc;
}

/* {"__exception__": {"type": "KeyError", "args": [...]}}: as
 * BaseException's __reduce__, type(*args); a type without a dot is a
 * builtin. */
static int write_exception(struct writer *w, const struct survey *s,
			   struct json_reader *r, const struct json_token *t,
			   size_t at)
{
	static const char *const names[] = { "type", "args" };
	static const char what[] = "{\"__exception__\": ...}";
	static const char why[] = "not {\"type\": \"KeyError\", \"args\": "
		"[...]}";
	struct json_reader again, more;
	struct json_token type, args;
	char module[128], name[128], shown[300];
	size_t offsets[2];
	int rc;

	rc = read_fields(w, r, t, at, what, why, names, offsets, 2);
	if (rc == 0 && (offsets[0] == FIELD_MISSING ||
			offsets[1] == FIELD_MISSING))
		rc = fail_at(w, r, at, what, why);
	if (rc)
		return rc;
	rc = token_at(w, s, &again, offsets[0], &type);
	if (rc == 0 && type.kind == JSON_READ_STRING && type.n < 128) {
		/* "<class 'NAME'>" has class_repr()'s rules. */
		snprintf(shown, sizeof(shown), "<class '%.*s'>", (int)type.n,
			 type.s);
		type.s = shown;
		type.n = strlen(shown);
		if (!class_repr(&type, module, name, sizeof(module)) ||
		    !pickle_exception_known(module, name))
			rc = fail_at(w, r, at, what, "not an exception class "
				     "conn-tools knows");
	} else if (rc == 0) {
		rc = fail_at(w, r, at, what, why);
	}
	json_read_free(&again);
	if (rc == 0)
		rc = token_at(w, s, &more, offsets[1], &args);
	else
		return rc;
	if (rc == 0 && args.kind != JSON_READ_ARRAY)
		rc = fail_at(w, r, at, what, why);
	if (rc == 0) {
		write_global(w, module, name);
		rc = write_tuple(w, s, &more, args.offset, ANYWHERE);
		put_byte(w, OP_REDUCE);
	}
	json_read_free(&more);
	return rc;
}

/* ------------------------------------- paths, ipaddress, Pattern, array */

/* A pathlib class's tag, {"__posixpath__": "/a/b"}: the class of that
 * name in lower case, called with the path whole, as 3.12's __reduce__
 * (3.11's gave its parts, ('/', 'a', 'b'): the same path). */
static int write_path(struct writer *w, const struct json_reader *r,
		      const struct json_token *t, enum tag tag, size_t at)
{
	static const char *const classes[] = { "PurePosixPath", "PosixPath",
					       "PureWindowsPath",
					       "WindowsPath" };
	char what[40];

	if (t->kind != JSON_READ_STRING)
		return fail_at(w, r, at, tag_shown(what, sizeof(what), tag),
			       "its value must be a str");
	call_open(w, "pathlib", classes[tag - TAG_PUREPOSIXPATH], 1);
	write_str(w, t->s, t->n);
	call_close(w, 1);
	return 0;
}

/* "192.168.1.1" as the int IPv4Address pickles; false if it is not
 * four decimal bytes (no leading zero, as ipaddress refuses them). */
static bool parse_ipv4(const char *p, size_t n, int64_t *v)
{
	size_t i = 0, start;
	int64_t byte;
	int k;

	*v = 0;
	for (k = 0; k < 4; k++) {
		start = i;
		if (k && (i >= n || p[i++] != '.'))
			return false;
		start = i;
		if (!skip_digits(p, n, &i) || i - start > 3 ||
		    (i - start > 1 && p[start] == '0') ||
		    !digits_value(p + start, i - start, &byte) || byte > 255)
			return false;
		*v = *v << 8 | byte;
	}
	return i == n;
}

/* An ipaddress tag: IPv4Address(int), as its __reduce__; the others
 * their class of the str (IPv6Address's since 3.10, its scope id too). */
static int write_ip(struct writer *w, const struct json_reader *r,
		    const struct json_token *t, enum tag tag, size_t at)
{
	static const char *const classes[] = {
		"IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network",
		"IPv4Interface", "IPv6Interface"
	};
	char what[40];
	int64_t v = 0;

	tag_shown(what, sizeof(what), tag);
	if (t->kind != JSON_READ_STRING || t->n == 0 ||
	    (tag == TAG_IPV4ADDRESS && !parse_ipv4(t->s, t->n, &v)))
		return fail_at(w, r, at, what, "its value must be %s as str() "
			       "writes it", tag == TAG_IPV4ADDRESS
			       ? "an address" : "a str");
	call_open(w, "ipaddress", classes[tag - TAG_IPV4ADDRESS], 1);
	if (tag == TAG_IPV4ADDRESS)
		write_int(w, v);
	else
		write_str(w, t->s, t->n);
	call_close(w, 1);
	return 0;
}

/* {"__pattern__": {"pattern": "a+", "flags": 34}}: re._compile(pattern,
 * flags), as copyreg's reducer of Pattern; the pattern a str or
 * {"__bytes__": ...}. */
static int write_pattern(struct writer *w, const struct survey *s,
			 struct json_reader *r, const struct json_token *t,
			 size_t at)
{
	static const char *const names[] = { "pattern", "flags" };
	static const char what[] = "{\"__pattern__\": ...}";
	static const char why[] = "not {\"pattern\": a str or bytes, "
		"\"flags\": N}";
	struct json_reader again;
	struct json_token pattern;
	size_t offsets[2];
	int64_t flags = 0;
	bool planned, bytes;
	int rc;

	rc = read_fields(w, r, t, at, what, why, names, offsets, 2);
	if (rc == 0 && offsets[0] == FIELD_MISSING)
		rc = fail_at(w, r, at, what, why);
	if (rc == 0)
		rc = int_field(w, s, r, offsets[1], at, what, why, 0,
			       INT32_MAX, &flags);
	if (rc)
		return rc;
	rc = token_at(w, s, &again, offsets[0], &pattern);
	bytes = rc == 0 && pattern.kind == JSON_READ_OBJECT &&
		shape_count(s, pattern.offset, &planned) == 1 && !planned &&
		next(w, &again, &pattern) == 0 &&
		tag_of(pattern.s, pattern.n) == TAG_BYTES;
	if (rc == 0 && !bytes && pattern.kind != JSON_READ_STRING)
		rc = fail_at(w, r, at, what, why);
	json_read_free(&again);
	if (rc)
		return rc;
	call_open(w, "re", "_compile", 2);
	rc = write_value_at(w, s, offsets[0], HASHABLE);
	write_int(w, flags);
	call_close(w, 2);
	return rc;
}

/* A str as the list of its characters, as array('u').tolist() gives. */
static void write_chars(struct writer *w, const char *text, size_t len)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t i, n = 0, at, size;
	uint32_t c;

	/* json-read.c has checked the UTF-8: no size is 0 */
	for (at = 0; at < len; at += size ? size : 1, n++)
		size = pickle_utf8_decode(p + at, len - at, &c);
	if (w->protocol == 0) {
		put_byte(w, OP_MARK);
		put_byte(w, OP_LIST);
	} else {
		put_byte(w, OP_EMPTY_LIST);
	}
	for (i = 0, at = 0; i < n; i++, at += size) {
		size = pickle_utf8_decode(p + at, len - at, &c);
		size = size ? size : 1;
		open_batch(w, i, n);
		write_str(w, text + at, size);
		close_batch(w, i, n, OP_APPEND, OP_APPENDS);
	}
}

/* Whether the items (a JSON array, at offset) are what an array of that
 * typecode holds and --out json writes: ints for the integer codes, reals
 * or {"__float__": ...} for f and d; nothing else reads back as the same
 * array.  CONN_EPROTO when not (the caller says why). */
static int array_items_fit(struct writer *w, const struct survey *s,
			   size_t offset, bool floats)
{
	struct json_reader again;
	struct json_token t;
	double x;
	int rc = token_at(w, s, &again, offset, &t);

	while (rc == 0 && (rc = next(w, &again, &t)) == 0 &&
	       t.kind != JSON_READ_ARRAY_END) {
		if (floats ? t.kind == JSON_READ_REAL
			   : t.kind == JSON_READ_INT ||
				     t.kind == JSON_READ_BIG_INT)
			continue;
		if (!floats || t.kind != JSON_READ_OBJECT ||
		    next(w, &again, &t) != 0 ||
		    tag_of(t.s, t.n) != TAG_FLOAT ||
		    next(w, &again, &t) != 0 || !special_float(&t, &x) ||
		    next(w, &again, &t) != 0 || t.kind != JSON_READ_OBJECT_END)
			rc = CONN_EPROTO;
	}
	json_read_free(&again);
	return rc;
}

/* {"__array__": {"typecode": "i", "items": [1, 2]}}: array(typecode,
 * items), as its __reduce_ex__ below protocol 3 (from 3 it writes the
 * machine's bytes, which array._array_reconstructor() needs the sender's
 * format code for; the same array either way). */
static int write_array(struct writer *w, const struct survey *s,
		       struct json_reader *r, const struct json_token *t,
		       size_t at)
{
	static const char *const names[] = { "typecode", "items" };
	static const char what[] = "{\"__array__\": ...}";
	static const char why[] = "not {\"typecode\": \"i\", \"items\": "
		"[...] or a str}";
	struct json_reader again;
	struct json_token code, items;
	size_t offsets[2];
	bool chars, code_is_float;
	int rc;

	rc = read_fields(w, r, t, at, what, why, names, offsets, 2);
	if (rc == 0 && (offsets[0] == FIELD_MISSING ||
			offsets[1] == FIELD_MISSING))
		rc = fail_at(w, r, at, what, why);
	if (rc)
		return rc;
	rc = token_at(w, s, &again, offsets[0], &code);
	if (rc == 0 && (code.kind != JSON_READ_STRING || code.n != 1 ||
			!code.s[0] || !strchr("bBuwhHiIlLqQfd", code.s[0])))
		rc = fail_at(w, r, at, what, why);
	chars = rc == 0 && (code.s[0] == 'u' || code.s[0] == 'w');
	code_is_float = rc == 0 && (code.s[0] == 'f' || code.s[0] == 'd');
	if (rc == 0)
		call_open(w, "array", "array", 2);
	if (rc == 0)
		write_str(w, code.s, 1);
	json_read_free(&again);
	if (rc)
		return rc;
	rc = token_at(w, s, &again, offsets[1], &items);
	/* a str for u and w, else an array of numbers of the code's kind */
	if (rc == 0 && (chars ? items.kind != JSON_READ_STRING
			      : items.kind != JSON_READ_ARRAY ||
					array_items_fit(w, s, offsets[1],
							code_is_float) != 0))
		rc = fail_at(w, r, at, what, why);
	if (rc == 0 && items.kind == JSON_READ_STRING)
		write_chars(w, items.s, items.n);
	else if (rc == 0)
		rc = write_value_at(w, s, offsets[1], ANYWHERE);
	json_read_free(&again);
	call_close(w, 2);
	return rc;
}

/* The standard library's tags: the value t of the tag. */
static int write_std(struct writer *w, const struct survey *s,
		     struct json_reader *r, const struct json_token *t,
		     enum tag tag, size_t at)
{
	switch (tag) {
	case TAG_DATE:
	case TAG_TIME:
	case TAG_DATETIME:
		return write_iso(w, r, t, tag, at);
	case TAG_TIMEDELTA:
		return write_timedelta_tag(w, s, r, t, at);
	case TAG_TIMEZONE:
		return write_timezone_tag(w, s, r, t, at);
	case TAG_DECIMAL:
		return write_decimal(w, r, t, at);
	case TAG_FRACTION:
		return write_fraction(w, r, t, at);
	case TAG_UUID:
		return write_uuid(w, r, t, at);
	case TAG_DEFAULTDICT:
		return write_defaultdict(w, s, r, t, at);
	case TAG_DEQUE:
		return write_deque(w, s, r, t, at);
	case TAG_COUNTER:	/* read again at its offset */
		if ((t->kind == JSON_READ_ARRAY || t->kind == JSON_READ_OBJECT) &&
		    json_read_skip(r) != 0) {
			fail(w, CONN_ENOMEM, "out of memory reading JSON");
			return CONN_ENOMEM;
		}
		return write_counter(w, s, t, at);
	case TAG_PATTERN:
		return write_pattern(w, s, r, t, at);
	case TAG_ZONEINFO:
		return write_zoneinfo(w, r, t, at);
	case TAG_ARRAY:
		return write_array(w, s, r, t, at);
	case TAG_EXCEPTION:
		return write_exception(w, s, r, t, at);
	default:
		if (tag >= TAG_IPV4ADDRESS)
			return write_ip(w, r, t, tag, at);
		return write_path(w, r, t, tag, at);
	}
}

static int from_json(uint8_t **out, size_t *out_len, char *detail,
		     size_t capacity, const char *json, size_t len,
		     int protocol, bool checking);

/* Whether the {"__repr__": "..." at at (its string from after) is a
 * defaultdict's factory, a class, as --out json writes it and --in json
 * reads it back. */
static bool is_factory(const char *text, const char *at, const char *after)
{
	static const char key[] = "\"default_factory\": ";
	size_t n = sizeof(key) - 1;

	return (size_t)(at - text) >= n && memcmp(at - n, key, n) == 0 &&
	       strncmp(after, "<class '", 8) == 0;
}

/* The first {"__repr__": "..."} of text (n bytes) that is no factory:
 * its string's *len bytes, as JSON has them, or NULL. */
static const char *first_call(const char *text, size_t n, size_t *len)
{
	static const char tag[] = "{\"__repr__\": \"";
	const char *at, *after, *end;

	/* A str's quotes are escaped: the text is a tag's only. */
	for (at = text; (at = memmem(at, n - (size_t)(at - text), tag,
				     sizeof(tag) - 1)) != NULL; at = end) {
		after = at + sizeof(tag) - 1;
		for (end = after; end < text + n && *end != '"'; end++)
			end += *end == '\\' && end + 1 < text + n;
		if (!is_factory(text, at, after)) {
			*len = (size_t)(end - after);
			return after;
		}
	}
	return NULL;
}

/* Keeps the value of tag from at to end, to be judged at the end. */
static void keep_span(struct writer *w, int tag, size_t at, size_t end)
{
	if (!grow((void **)&w->spans, &w->cap_spans, w->n_spans,
		  sizeof(*w->spans))) {
		fail(w, CONN_ENOMEM, "out of memory");
		return;
	}
	w->spans[w->n_spans++] = (struct span){ at, end, tag };
}

/* The first call that --out json writes back for the values of spans
 * [i, j) of text, pickled alone as one array ('[a, b]', or the one value
 * itself): NULL when none, else the call (its JSON, *len bytes, *owner
 * to be freed); CONN_ENOMEM in *rc. */
static const char *call_of(const struct writer *w, const char *text,
			   const struct span *spans, size_t i, size_t j,
			   size_t *len, char **owner, int *rc)
{
	struct out o = { .limit = SIZE_MAX / 2 };
	char why[120];
	uint8_t *p = NULL;
	size_t k, n;

	*owner = NULL;
	for (k = i; k < j; k++) {
		pickle_out_str(&o, k == i ? (j - i > 1 ? "[" : "") : ", ");
		pickle_out_put(&o, text + spans[k].at,
			       spans[k].end - spans[k].at);
	}
	if (j - i > 1)
		pickle_out_char(&o, ']');
	*rc = o.err ? CONN_ENOMEM
		    : from_json(&p, &n, why, sizeof(why), o.p, o.n,
				w->protocol, true);
	free(o.p);
	if (*rc == 0)
		*rc = conn_pickle_render(owner, &n, why, sizeof(why),
					 CONN_PICKLE_JSON, p, n);
	free(p);
	if (*rc) {
		/* Too big to render: it cannot come back either way. */
		*rc = *rc == CONN_ENOMEM ? *rc : 0;
		return NULL;
	}
	return first_call(*owner, n, len);
}

/*
 * A standard library tag's value is taken only as --out json would write
 * it: one that the renderings cannot take for the class's own state (a
 * WindowsPath of "zc:/x", which CPython would parse otherwise) comes back
 * as {"__repr__": "pathlib.WindowsPath('zc:/x')"}, which --in json
 * refuses; so --out json | --in json | --out json is a fixed point.  The
 * rendering is the judge, rather than a second copy of its rules here:
 * the outermost such values, pickled alone a batch at a time (so memory
 * stays of a batch's size), and one by one in a batch that has a call,
 * to name the value.
 */
#define SPAN_BATCH (64 * 1024)	/* bytes of text judged at once */

/* The first span of w whose value is written back as a call: the call
 * as call_of() gives it, its span in *at; NULL when none. */
static const char *find_call(const struct writer *w, const char *text,
			     size_t *at, size_t *len, char **owner, int *rc)
{
	const struct span *sp = w->spans;
	const char *call;
	size_t i, j, k, bytes;

	for (i = 0; i < w->n_spans; i = j) {
		for (j = i, bytes = 0; j < w->n_spans && bytes < SPAN_BATCH;
		     j++)
			bytes += sp[j].end - sp[j].at;
		call = call_of(w, text, sp, i, j, len, owner, rc);
		if (call == NULL || j - i == 1) {
			*at = i;
			if (call != NULL || *rc)
				return call;
			free(*owner);
			continue;
		}
		for (k = i; k < j; k++) {
			free(*owner);
			call = call_of(w, text, sp, k, k + 1, len, owner, rc);
			if (call != NULL || *rc) {
				*at = k;
				return call;
			}
		}
		/* None alone: the batch is named by its first. */
		free(*owner);
		*at = i;
		return call_of(w, text, sp, i, j, len, owner, rc);
	}
	*owner = NULL;
	return NULL;
}

static void check_spans(struct writer *w, const struct survey *s)
{
	struct json_reader r;
	const char *call;
	char *owner = NULL, what[32];
	size_t at = 0, len = 0;
	int rc = 0;

	call = find_call(w, s->text, &at, &len, &owner, &rc);
	if (rc == CONN_ENOMEM)
		fail(w, CONN_ENOMEM, "out of memory");
	if (call != NULL) {
		json_read_whole(&r, s->text, s->len, NULL, 0);
		(void)fail_at(w, &r, w->spans[at].at,
			      tag_shown(what, sizeof(what),
					(enum tag)w->spans[at].tag),
			      "written back as a call: %.*s", (int)len, call);
		json_read_free(&r);
	}
	free(owner);
}

/* The value of the object at 'at' whose one key is tag, and its '}'. */
static int write_tagged(struct writer *w, const struct survey *s,
			struct json_reader *r, enum tag tag, enum place place,
			size_t at)
{
	struct json_token t;
	char what[32];
	bool std = false;
	int rc;

	if (tag == TAG_REPR || tag == TAG_OBJECT)
		return fail_at(w, r, at, tag_shown(what, sizeof(what), tag),
			       "what only Python can make, it cannot be sent "
			       "back");
	if (place == HASHABLE &&
	    (tag == TAG_SET || tag == TAG_BYTEARRAY || tag == TAG_DICT ||
	     tag == TAG_DEFAULTDICT || tag == TAG_DEQUE ||
	     tag == TAG_COUNTER || tag == TAG_ARRAY))
		return fail_at(w, r, at, tag_shown(what, sizeof(what), tag),
			       "unhashable: no dict key or set item");
	rc = next(w, r, &t);
	if (rc)
		return rc;
	switch (tag) {
	case TAG_BYTES:
	case TAG_BYTEARRAY:
		rc = write_binary(w, r, &t, tag, at);
		break;
	case TAG_FLOAT:
		rc = write_special_float(w, r, &t, at);
		break;
	case TAG_COMPLEX:
		rc = write_complex(w, s, r, &t, at);
		break;
	case TAG_TUPLE:
	case TAG_SET:
	case TAG_FROZENSET:
	case TAG_DICT:
		rc = write_tagged_array(w, s, r, &t, tag, place, at);
		break;
	default:
		std = true;
		w->std_depth++;
		rc = write_std(w, s, r, &t, tag, at);
		w->std_depth--;
	}
	if (rc == 0)
		rc = next(w, r, &t);
	/* The outermost, judged at the end of the first pass. */
	if (rc == 0 && std && w->std_depth == 0 && !w->checking &&
	    !w->memoizing)
		keep_span(w, tag, at, t.offset + 1);
	return rc;
}

/* An object: a tag's value, or a dict. */
static int write_object(struct writer *w, const struct survey *s,
			struct json_reader *r, size_t offset,
			enum place place)
{
	struct json_token key;
	bool planned;
	size_t n = shape_count(s, offset, &planned);
	enum tag tag;
	int rc;

	if (n == 1 && !planned) {
		rc = next(w, r, &key);
		if (rc)
			return rc;
		tag = tag_of(key.s, key.n);
		if (tag != TAG_NONE)
			return write_tagged(w, s, r, tag, place, offset);
	}
	if (place == HASHABLE)
		return fail_at(w, r, offset, "a dict", "unhashable: no dict "
			       "key or set item");
	return write_dict(w, s, r, offset, n, planned,
			  n == 1 && !planned ? &key : NULL, false);
}

static int write_value(struct writer *w, const struct survey *s,
		       struct json_reader *r, enum place place)
{
	struct json_token t;
	int rc = next(w, r, &t);

	if (rc)
		return rc;
	switch (t.kind) {
	case JSON_READ_NULL:
		put_byte(w, OP_NONE);
		break;
	case JSON_READ_TRUE:
	case JSON_READ_FALSE:
		write_bool(w, t.kind == JSON_READ_TRUE);
		break;
	case JSON_READ_INT:
		write_int(w, t.i);
		break;
	case JSON_READ_BIG_INT:
		write_big_int(w, t.s, t.n);
		break;
	case JSON_READ_REAL:
		write_float(w, t.d);
		break;
	case JSON_READ_STRING:
		write_str(w, t.s, t.n);
		break;
	case JSON_READ_ARRAY:
		return place == HASHABLE ? write_tuple(w, s, r, t.offset, place)
					 : write_list(w, s, r, t.offset, place);
	case JSON_READ_OBJECT:
		return write_object(w, s, r, t.offset, place);
	default:	/* the survey read the same text without error */
		fail(w, CONN_EINVAL, "JSON read differently twice");
		return CONN_EINVAL;
	}
	return 0;
}

/*
 * PROTO (protocol 2 on), the value, STOP.  From protocol 4 the body after
 * PROTO is framed; room for the FRAME is kept and filled in afterwards,
 * or closed up when the body is too short for CPython to frame it.
 */
static void write_pickle(struct writer *w, const struct survey *s)
{
	static const uint8_t frame[FRAME_HEADER] = { OP_FRAME };
	struct json_reader r;
	size_t start, body, i;

	if (w->protocol >= 2) {
		put_byte(w, OP_PROTO);
		put_byte(w, (uint8_t)w->protocol);
	}
	start = w->o.n;
	if (w->protocol >= 4)
		put(w, frame, FRAME_HEADER);
	json_read_whole(&r, s->text, s->len, w->detail, w->capacity);
	/* An error is in w->err already. */
	(void)write_value(w, s, &r, ANYWHERE);
	json_read_free(&r);
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

int conn_pickle_from_json(uint8_t **out, size_t *out_len, char *detail,
			  size_t capacity, const char *json, size_t len,
			  int protocol)
{
	return from_json(out, out_len, detail, capacity, json, len, protocol,
			 false);
}

/* conn_pickle_from_json(); checking: a tag's value alone, whose
 * rendering is to be judged (check_written_back()), not judged again. */
static int from_json(uint8_t **out, size_t *out_len, char *detail,
		     size_t capacity, const char *json, size_t len,
		     int protocol, bool checking)
{
	struct writer w = { .o.limit = SIZE_MAX / 2, .protocol = protocol,
			    .detail = detail, .capacity = capacity,
			    .checking = checking };
	struct survey s = { .text = json, .len = len };
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
	/* No JSON text holds a raw NUL. */
	nul = memchr(json, '\0', len);
	if (nul != NULL) {
		detail_set(detail, capacity,
			   "invalid JSON at byte %zu: a NUL byte",
			   (size_t)(nul - json));
		return CONN_EINVAL;
	}
	/* Like Python's json: any value at the top, \u0000 in strings, and
	 * a repeated key's last value wins. */
	err = survey_take(&s, detail, capacity);
	if (err == CONN_ENOMEM)
		detail_set(detail, capacity, "out of memory reading JSON");
	if (err)
		goto done;
	write_pickle(&w, &s);
	if (w.err == 0 && w.n_spans)
		check_spans(&w, &s);
	if (w.err == 0 && w.any_again) {
		w.o.n = 0;
		memo_restart(&w);
		write_pickle(&w, &s);
	}
	err = w.err;
	if (err)
		goto done;
	*out = (uint8_t *)w.o.p;
	*out_len = w.o.n;
	w.o.p = NULL;
done:
	free(w.o.p);
	free(w.spans);
	shared_free(&w);
	survey_free(&s);
	return err;
}
