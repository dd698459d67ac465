/*
 * pickle.c - a safe pickle decoder and its three renderings.
 *
 * The decoder runs every opcode of protocols 0 to 5 the way CPython's C
 * unpickler would, but builds a graph of inert nodes instead of objects:
 * nothing is ever imported or called.  Memo entries point at shared nodes,
 * so shared references and cycles survive as they are.  Then one of three
 * renderings walks the graph.
 *
 * REPR is CPython's repr() of the object pickle.loads() would return, for
 * everything pickle can carry by value: None, bool, int of any size (up to
 * CPython's 4300 digits), float, complex, str, bytes, bytearray, tuple,
 * list, dict, set and frozenset, with shared references printed again and
 * recursion printed as [...], {...}, (...) or ... like CPython.  Dict keys
 * and set elements are compared as Python would (1 == 1.0 == True), so a
 * repeated key keeps its first place and its last value; set elements
 * print in insertion order.  Python 2 names in protocols 0-2 are mapped by
 * fix_imports first, as the unpickler does.  What would need code to run
 * is shown as what it is:
 *   - GLOBAL and STACK_GLOBAL: <class 'module.name'> (<class 'name'> for
 *     builtins), whatever the global really is (class or function), but
 *     for the builtin functions (<built-in function len>), Ellipsis and
 *     NotImplemented, which print as CPython prints them;
 *   - REDUCE, INST and OBJ: module.name(arg, ...), e.g. posix.system('ls');
 *     a callable that is not a global is shown by its own rendering;
 *   - NEWOBJ and NEWOBJ_EX: module.name.__new__(module.name, arg, ...,
 *     key=value, ...);
 *   - BUILD: obj.__setstate__(state); APPEND(S), SETITEM(S) and ADDITEMS on
 *     such an object: obj.extend([...]), obj.update({...}) and
 *     obj.update({...}) (sets);
 *   - PERSID and BINPERSID: persistent_load('id');
 *   - EXT1, EXT2 and EXT4: extension(code);
 *   - NEXT_BUFFER: <out-of-band buffer>, after READONLY_BUFFER
 *     <read-only out-of-band buffer> (in-band objects stay as they are).
 * Only these calls become the values CPython would make of them:
 * _codecs.encode(str[, codec]) (bytes in protocols 0-2), bytes(...) and
 * bytearray(...) of nothing, bytes or a str and a codec (the latin-1,
 * ASCII and UTF-8 codecs under their Python aliases), set(...) and
 * frozenset(...) of a sequence, set or dict, complex(re, im),
 * collections.OrderedDict(...) (shown as CPython 3.11 does:
 * OrderedDict([(k, v), ...])), type(None), type(...) and
 * type(NotImplemented) (their classes), range(...) and slice(...) (shown
 * as their reprs), copyreg._reconstructor(cls, object, None)
 * (cls.__new__(cls)), and NEWOBJ of builtins.list, dict, set, bytearray,
 * bytes, frozenset and complex and of OrderedDict.  Names of globals with
 * characters str.isprintable() rejects are shown escaped.
 *
 * Where REPR can differ from CPython: set elements print in insertion
 * order (CPython's order follows hashes, which for str change from run to
 * run); other codecs stay calls; and what CPython would load but the
 * limits refuse (see below), or bytes after STOP, which CPython ignores.
 *
 * JSON is one line of JSON:
 *   - None, True and False are null, true and false;
 *   - an int is a JSON number of all its digits, even beyond 64 bits;
 *   - a float is a JSON number written as Python's repr(); nan, inf and
 *     -inf are {"__float__": "nan"}, {"__float__": "inf"} and
 *     {"__float__": "-inf"};
 *   - a str is a JSON string, control characters and lone surrogates as
 *     \uXXXX escapes;
 *   - bytes are {"__bytes__": "<base64>"}, a bytearray
 *     {"__bytearray__": "<base64>"};
 *   - tuples, lists, sets and frozensets are arrays;
 *   - a dict (or OrderedDict) whose keys are all str is an object; any
 *     other dict is {"__dict__": [[key, value], ...]};
 *   - anything else (complex numbers, globals, calls, persistent ids,
 *     extensions, buffers, and a reference back to a container being
 *     written) is {"__repr__": "<its REPR rendering>"}.
 *
 * DIS is pickletools.dis(): one line per opcode, "%5d: " then the opcode
 * byte as Python writes it in a str literal, the opcode name indented four
 * spaces per open MARK, and the argument's repr (or "(MARK at N)", "(as N)"),
 * then "highest protocol among opcodes = N".  The pickle is decoded all the
 * same, so DIS rejects what REPR rejects.
 *
 * Errors: CONN_EPROTO for a pickle CPython would not load (the detail names
 * the offset and the opcode) and for bytes after STOP; CONN_ETOOBIG past a
 * limit: CONN_PICKLE_MAX_DEPTH nested MARKs or levels of rendering,
 * CONN_PICKLE_MAX_MEMO memo entries, CONN_PICKLE_MAX_OUTPUT bytes of
 * rendering (so a third of that in objects, which could not be shown),
 * CPython's 4300 digits of an int, or more copying or hash collisions
 * than the input's size allows.  Memory stays within a constant times the
 * input's length (about 80 bytes per opcode at worst) and those limits:
 * arguments are checked against the bytes left before anything is
 * allocated for them, and strings point into the input where they can.
 */
#include "internal.h"
#include "hex.h"
#include "pickle-unicode.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROTOCOL_MAX 5
#define INT_MAX_DIGITS 4300	/* CPython's default int_max_str_digits */
#define INT_MAX_BITS 14300	/* surely more than INT_MAX_DIGITS digits */
#define BLOCK_NODES 256
/* A rendering spends three bytes or more on each object it reaches ("1, "),
 * so a pickle that makes more objects than this could not be shown within
 * CONN_PICKLE_MAX_OUTPUT anyway: refusing it early bounds the memory. */
#define OBJECTS_MAX (CONN_PICKLE_MAX_OUTPUT / 3)

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

/* Names and the protocol that brought each opcode, from pickletools. */
static const struct opcode {
	const char *name;
	unsigned char proto;
} opcodes[256] = {
	[OP_MARK] = { "MARK", 0 }, [OP_EMPTY_TUPLE] = { "EMPTY_TUPLE", 1 },
	[OP_STOP] = { "STOP", 0 }, [OP_POP] = { "POP", 0 },
	[OP_POP_MARK] = { "POP_MARK", 1 }, [OP_DUP] = { "DUP", 0 },
	[OP_BINBYTES] = { "BINBYTES", 3 },
	[OP_SHORT_BINBYTES] = { "SHORT_BINBYTES", 3 },
	[OP_FLOAT] = { "FLOAT", 0 }, [OP_BINFLOAT] = { "BINFLOAT", 1 },
	[OP_INT] = { "INT", 0 }, [OP_BININT] = { "BININT", 1 },
	[OP_BININT1] = { "BININT1", 1 }, [OP_LONG] = { "LONG", 0 },
	[OP_BININT2] = { "BININT2", 1 }, [OP_NONE] = { "NONE", 0 },
	[OP_PERSID] = { "PERSID", 0 }, [OP_BINPERSID] = { "BINPERSID", 1 },
	[OP_REDUCE] = { "REDUCE", 0 }, [OP_STRING] = { "STRING", 0 },
	[OP_BINSTRING] = { "BINSTRING", 1 },
	[OP_SHORT_BINSTRING] = { "SHORT_BINSTRING", 1 },
	[OP_UNICODE] = { "UNICODE", 0 }, [OP_BINUNICODE] = { "BINUNICODE", 1 },
	[OP_EMPTY_LIST] = { "EMPTY_LIST", 1 }, [OP_APPEND] = { "APPEND", 0 },
	[OP_BUILD] = { "BUILD", 0 }, [OP_GLOBAL] = { "GLOBAL", 0 },
	[OP_DICT] = { "DICT", 0 }, [OP_APPENDS] = { "APPENDS", 1 },
	[OP_GET] = { "GET", 0 }, [OP_BINGET] = { "BINGET", 1 },
	[OP_INST] = { "INST", 0 }, [OP_LONG_BINGET] = { "LONG_BINGET", 1 },
	[OP_LIST] = { "LIST", 0 }, [OP_OBJ] = { "OBJ", 1 },
	[OP_PUT] = { "PUT", 0 }, [OP_BINPUT] = { "BINPUT", 1 },
	[OP_LONG_BINPUT] = { "LONG_BINPUT", 1 },
	[OP_SETITEM] = { "SETITEM", 0 }, [OP_TUPLE] = { "TUPLE", 0 },
	[OP_SETITEMS] = { "SETITEMS", 1 }, [OP_EMPTY_DICT] = { "EMPTY_DICT", 1 },
	[OP_PROTO] = { "PROTO", 2 }, [OP_NEWOBJ] = { "NEWOBJ", 2 },
	[OP_EXT1] = { "EXT1", 2 }, [OP_EXT2] = { "EXT2", 2 },
	[OP_EXT4] = { "EXT4", 2 }, [OP_TUPLE1] = { "TUPLE1", 2 },
	[OP_TUPLE2] = { "TUPLE2", 2 }, [OP_TUPLE3] = { "TUPLE3", 2 },
	[OP_NEWTRUE] = { "NEWTRUE", 2 }, [OP_NEWFALSE] = { "NEWFALSE", 2 },
	[OP_LONG1] = { "LONG1", 2 }, [OP_LONG4] = { "LONG4", 2 },
	[OP_SHORT_BINUNICODE] = { "SHORT_BINUNICODE", 4 },
	[OP_BINUNICODE8] = { "BINUNICODE8", 4 },
	[OP_BINBYTES8] = { "BINBYTES8", 4 }, [OP_EMPTY_SET] = { "EMPTY_SET", 4 },
	[OP_ADDITEMS] = { "ADDITEMS", 4 }, [OP_FROZENSET] = { "FROZENSET", 4 },
	[OP_NEWOBJ_EX] = { "NEWOBJ_EX", 4 },
	[OP_STACK_GLOBAL] = { "STACK_GLOBAL", 4 },
	[OP_MEMOIZE] = { "MEMOIZE", 4 }, [OP_FRAME] = { "FRAME", 4 },
	[OP_BYTEARRAY8] = { "BYTEARRAY8", 5 },
	[OP_NEXT_BUFFER] = { "NEXT_BUFFER", 5 },
	[OP_READONLY_BUFFER] = { "READONLY_BUFFER", 5 },
};

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
};

static bool out_reserve(struct out *o, size_t n)
{
	size_t cap = o->cap ? o->cap : 256;
	char *p;

	if (o->err)
		return false;
	if (n > o->limit - o->n) {
		o->err = CONN_ETOOBIG;
		return false;
	}
	if (n < o->cap - o->n)	/* keeps room for the final NUL */
		return true;
	while (cap - o->n <= n)
		cap *= 2;
	p = realloc(o->p, cap);
	if (p == NULL) {
		o->err = CONN_ENOMEM;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

static void out_put(struct out *o, const void *s, size_t n)
{
	if (n == 0 || !out_reserve(o, n))
		return;
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void out_char(struct out *o, char c)
{
	out_put(o, &c, 1);
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_fmt(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_fmt(struct out *o, const char *fmt, ...)
{
	char text[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_put(o, text, (size_t)n < sizeof(text) ? (size_t)n
							   : sizeof(text) - 1);
}

static void out_spaces(struct out *o, size_t n)
{
	if (!out_reserve(o, n))
		return;
	memset(o->p + o->n, ' ', n);
	o->n += n;
}

/* --------------------------------------------------------------- nodes */

enum kind {
	K_NONE, K_BOOL, K_INT, K_FLOAT, K_COMPLEX, K_STR, K_BYTES,
	K_BYTEARRAY, K_TUPLE, K_LIST, K_DICT, K_SET, K_FROZENSET,
	/* Opaque: what CPython would have imported or called. */
	K_GLOBAL, K_CALL, K_PERSID, K_EXT, K_BUFFER
};

static const char *const kind_names[] = {
	[K_NONE] = "NoneType", [K_BOOL] = "bool", [K_INT] = "int",
	[K_FLOAT] = "float", [K_COMPLEX] = "complex", [K_STR] = "str",
	[K_BYTES] = "bytes", [K_BYTEARRAY] = "bytearray", [K_TUPLE] = "tuple",
	[K_LIST] = "list", [K_DICT] = "dict", [K_SET] = "set",
	[K_FROZENSET] = "frozenset", [K_GLOBAL] = "global",
	[K_CALL] = "call result", [K_PERSID] = "persistent object",
	[K_EXT] = "extension", [K_BUFFER] = "buffer"
};

enum call_form { CALL_REDUCE, CALL_NEWOBJ };

/* What was done to an opaque object, in order (see the top comment). */
enum effect_kind { EFFECT_EXTEND, EFFECT_SETITEM, EFFECT_ADD, EFFECT_STATE };

struct effect {
	enum effect_kind kind;
	struct node *a, *b;
};

struct effects {
	struct effect *v;
	size_t n, cap;
};

struct text {
	const char *p;
	size_t n;
};

/*
 * One value.  Containers hold node pointers; dict items alternate key and
 * value.  Dicts, sets and frozensets index their keys in a hash table of
 * entry numbers plus one, so a repeated key is found as Python finds it.
 */
struct node {
	unsigned char kind;
	bool busy;		/* being rendered: meeting it again is a cycle */
	bool hashable;
	bool hashed;		/* hash is computed */
	bool ordered;		/* a dict that is an OrderedDict */
	bool readonly;		/* a buffer after READONLY_BUFFER */
	bool owned;		/* s.p was malloc'ed for this node */
	unsigned char slot_bits;	/* log2 of u.seq.slots' size, 0: none */
	bool rendered;		/* a float or complex was rendered before */
	uint32_t id;		/* the identity hash of opaque objects */
	uint64_t hash;
	struct effects *effects;
	union {
		bool b;
		struct {
			int64_t v;
			char *digits;	/* beyond 64 bits: "-123...", owned */
		} i;
		/* repr: the value's text, kept from its second rendering
		 * on (see out_shared), owned */
		struct {
			double v;
			char *repr;
		} f;
		struct {
			double re, im;
			char *repr;
		} c;
		struct text s;	/* str as UTF-8, bytes, bytearray */
		struct {
			struct node **items;
			size_t n, cap;	/* entries: pairs for a dict */
			uint32_t *slots;
		} seq;
		struct {
			struct text module, name;
		} g;
		struct {
			enum call_form form;
			struct node *func, *args, *kwargs;
		} call;
		struct node *pid;
		int64_t code;
	} u;
};

struct block {
	struct block *next;
	size_t used;
	struct node nodes[BLOCK_NODES];
};

/* None, True, False and () are shared, as CPython shares them. */
static struct node node_none = { .kind = K_NONE, .hashable = true };
static struct node node_true = { .kind = K_BOOL, .hashable = true,
				 .u.b = true };
static struct node node_false = { .kind = K_BOOL, .hashable = true };
static struct node node_empty_tuple = { .kind = K_TUPLE, .hashable = true };

static bool is_opaque(const struct node *n)
{
	return n->kind >= K_GLOBAL;
}

static void node_release(struct node *n)
{
	switch (n->kind) {
	case K_INT:
		free(n->u.i.digits);
		break;
	case K_FLOAT:
		free(n->u.f.repr);
		break;
	case K_COMPLEX:
		free(n->u.c.repr);
		break;
	case K_STR: case K_BYTES: case K_BYTEARRAY:
		if (n->owned)
			free((char *)n->u.s.p);
		break;
	case K_TUPLE: case K_LIST: case K_DICT: case K_SET: case K_FROZENSET:
		free(n->u.seq.items);
		free(n->u.seq.slots);
		break;
	default:
		break;
	}
	if (n->effects != NULL)
		free(n->effects->v);
	free(n->effects);
}

/* -------------------------------------------------------------- decoder */

struct mark {
	size_t depth;		/* stack size when MARK ran */
	size_t offset;		/* where the MARK opcode is */
};

/* The argument of the current opcode, for the DIS listing. */
enum arg_kind { ARG_NONE, ARG_INT, ARG_NODE, ARG_PAIR, ARG_TEXT };

struct arg {
	enum arg_kind kind;
	uint64_t v;
	struct node *node;
	struct text t1, t2;
};

struct decoder {
	const uint8_t *bytes;
	size_t len, pos;
	size_t op_pos;		/* where the current opcode starts */
	int op;			/* the current opcode, -1 between opcodes */
	int proto;		/* from PROTO: fix_imports below 3 */
	struct node **stack;
	size_t nstack, stack_cap;
	struct mark *marks;
	size_t nmarks, marks_cap;
	struct node **memo;
	size_t memo_cap, memo_count;
	struct block *blocks;
	size_t nodes;		/* made so far */
	size_t copy_budget;	/* entries REDUCE may still copy */
	size_t compare_budget;	/* key comparisons left */
	struct node *result;
	/* The DIS listing, when wanted. */
	struct out *listing;
	int max_proto;
	struct arg arg;
	long popped_mark;	/* offset of the MARK the opcode used, or -1 */
	long memoized_as;	/* MEMOIZE's index, or -1 */
	char *detail;
	size_t capacity;
};

static int fail(struct decoder *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets the detail: the offset, the opcode if any, then why. */
static int fail(struct decoder *d, int err, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (d->op < 0)
		detail_set(d->detail, d->capacity, "offset %zu: %s", d->op_pos,
			   why);
	else
		detail_set(d->detail, d->capacity,
			   "offset %zu, opcode %s (0x%02x): %s", d->op_pos,
			   opcodes[d->op].name, (unsigned)d->op, why);
	return err;
}

static int no_memory(struct decoder *d)
{
	return fail(d, CONN_ENOMEM, "out of memory");
}

static int too_many_objects(struct decoder *d)
{
	return fail(d, CONN_ETOOBIG, "more than %u objects, more than a "
		    "rendering could show", OBJECTS_MAX);
}

static int node_new(struct decoder *d, struct node **out, enum kind kind)
{
	struct block *b = d->blocks;
	struct node *n;

	*out = NULL;
	if (d->nodes >= OBJECTS_MAX)
		return too_many_objects(d);
	if (b == NULL || b->used == BLOCK_NODES) {
		b = calloc(1, sizeof(*b));
		if (b == NULL)
			return no_memory(d);
		b->next = d->blocks;
		d->blocks = b;
	}
	n = &b->nodes[b->used++];
	n->kind = (unsigned char)kind;
	n->id = (uint32_t)d->nodes++;
	/* Tuples and frozensets are sealed once their items are in. */
	n->hashable = kind != K_BYTEARRAY && kind != K_TUPLE &&
		      kind != K_LIST && kind != K_DICT && kind != K_SET &&
		      kind != K_FROZENSET;
	*out = n;
	return 0;
}

static void decoder_free(struct decoder *d)
{
	struct block *b, *next;
	size_t i;

	for (b = d->blocks; b != NULL; b = next) {
		next = b->next;
		for (i = 0; i < b->used; i++)
			node_release(&b->nodes[i]);
		free(b);
	}
	free(d->stack);
	free(d->marks);
	free(d->memo);
}

/* v grown to hold need elements of size bytes (updating *cap), or NULL
 * with v untouched. */
static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;
	void *grown;

	if (need <= *cap)
		return v;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / size)
		return NULL;
	grown = realloc(v, n * size);
	if (grown != NULL)
		*cap = n;
	return grown;
}

/* ------------------------------------------------------------ arguments */

static size_t left(const struct decoder *d)
{
	return d->len - d->pos;
}

/* n bytes of argument, checked against what is left before anyone sizes
 * an allocation by them. */
static int take(struct decoder *d, const uint8_t **p, uint64_t n)
{
	*p = d->bytes + d->pos;
	if (n > left(d))
		return fail(d, CONN_EPROTO, "the pickle ends inside the "
			    "argument (%llu bytes announced, %zu left)",
			    (unsigned long long)n, left(d));
	*p = d->bytes + d->pos;
	d->pos += (size_t)n;
	return 0;
}

/* A little-endian unsigned argument of size bytes. */
static int take_uint(struct decoder *d, uint64_t *v, size_t size)
{
	const uint8_t *p;
	size_t i;
	int rc;

	*v = 0;
	rc = take(d, &p, size);
	if (rc)
		return rc;
	*v = 0;
	for (i = 0; i < size; i++)
		*v |= (uint64_t)p[i] << (8 * i);
	return 0;
}

/* The text up to the next newline, which is consumed but not kept. */
static int take_line(struct decoder *d, struct text *t)
{
	const uint8_t *start = d->bytes + d->pos;
	const uint8_t *nl = memchr(start, '\n', left(d));

	t->p = (const char *)start;
	t->n = 0;
	if (nl == NULL)
		return fail(d, CONN_EPROTO, "the pickle ends inside the "
			    "argument (no newline in the %zu bytes left)",
			    left(d));
	t->p = (const char *)start;
	t->n = (size_t)(nl - start);
	d->pos += t->n + 1;
	return 0;
}

/* --------------------------------------------------------------- UTF-8 */

/*
 * The code point at p (n > 0 bytes) and its length, or 0 when the bytes
 * are not UTF-8.  Surrogates pass, as CPython decodes pickled str with
 * "surrogatepass": a lone surrogate is a str Python can pickle.
 */
static size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
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

static size_t utf8_encode(uint8_t *out, uint32_t cp)
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
static size_t utf8_check(const uint8_t *p, size_t n)
{
	size_t i = 0, step;
	uint32_t cp;

	while (i < n) {
		step = utf8_decode(p + i, n - i, &cp);
		if (step == 0)
			return i;
		i += step;
	}
	return n;
}

/* ------------------------------------------------------------- integers */

/* Divides the little-endian limbs in place; returns the remainder. */
static uint32_t limbs_divide(uint32_t *limbs, size_t *n, uint32_t divisor)
{
	uint64_t rest = 0;
	size_t i;

	for (i = *n; i-- > 0;) {
		rest = rest << 32 | limbs[i];
		limbs[i] = (uint32_t)(rest / divisor);
		rest %= divisor;
	}
	while (*n > 0 && limbs[*n - 1] == 0)
		(*n)--;
	return (uint32_t)rest;
}

/*
 * The decimal text of a magnitude of n limbs (destroyed), malloc'ed, or
 * NULL when out of memory.  Quadratic, which INT_MAX_BITS keeps cheap.
 */
static char *limbs_to_decimal(uint32_t *limbs, size_t n, bool negative)
{
	size_t nchunks = 0, len = 0, i;
	uint32_t *chunks = malloc((n * 10 / 9 + 2) * sizeof(*chunks));
	char *text = malloc(n * 10 + 12);

	if (chunks == NULL || text == NULL) {
		free(chunks);
		free(text);
		return NULL;
	}
	do {
		chunks[nchunks++] = limbs_divide(limbs, &n, 1000000000u);
	} while (n > 0);
	if (negative)
		text[len++] = '-';
	len += (size_t)sprintf(text + len, "%u", chunks[nchunks - 1]);
	for (i = nchunks - 1; i-- > 0;)
		len += (size_t)sprintf(text + len, "%09u", chunks[i]);
	free(chunks);
	return text;
}

/* The count of digits in an int's text, less its sign. */
static size_t digit_count(const char *text)
{
	return strlen(text) - (text[0] == '-');
}

static int too_many_digits(struct decoder *d)
{
	return fail(d, CONN_ETOOBIG, "an integer of more than %d digits "
		    "(CPython's limit for int to str conversion)",
		    INT_MAX_DIGITS);
}

/* Bare decimal digits (no sign, no underscores): 64 bits when they fit,
 * else the normalized decimal text. */
static int int_from_decimal(struct decoder *d, struct node *n, bool negative,
			    const char *p, size_t len)
{
	uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1
					 : (uint64_t)INT64_MAX;
	bool big = false;
	size_t start, i;
	char *text;

	for (start = 0; start + 1 < len && p[start] == '0'; start++)
		;
	if (len - start > INT_MAX_DIGITS)
		return too_many_digits(d);
	for (i = start; i < len && !big; i++) {
		if (v > (limit - (uint64_t)(p[i] - '0')) / 10)
			big = true;
		else
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (!big) {
		n->u.i.v = negative ? (int64_t)(0 - v) : (int64_t)v;
		return 0;
	}
	text = malloc(len - start + 2);
	if (text == NULL)
		return no_memory(d);
	sprintf(text, "%s%.*s", negative ? "-" : "", (int)(len - start),
		p + start);
	n->u.i.digits = text;
	return 0;
}

/* Digits in base 2, 8 or 16, bit by bit from the last. */
static int int_from_binary(struct decoder *d, struct node *n, bool negative,
			   const char *p, size_t len, int base)
{
	unsigned width = base == 2 ? 1 : base == 8 ? 3 : 4;
	size_t start, i, bit = 0, nlimbs;
	uint32_t *limbs;
	uint64_t v;

	for (start = 0; start + 1 < len && p[start] == '0'; start++)
		;
	if ((len - start) * width > INT_MAX_BITS)
		return too_many_digits(d);
	nlimbs = (len - start) * width / 32 + 2;
	limbs = calloc(nlimbs, sizeof(*limbs));
	if (limbs == NULL)
		return no_memory(d);
	for (i = len; i-- > start; bit += width) {
		v = (uint64_t)hex_digit_value(p[i]) << (bit % 32);
		limbs[bit / 32] |= (uint32_t)v;
		limbs[bit / 32 + 1] |= (uint32_t)(v >> 32);
	}
	while (nlimbs > 0 && limbs[nlimbs - 1] == 0)
		nlimbs--;
	v = nlimbs > 0 ? limbs[0] | (nlimbs > 1 ? (uint64_t)limbs[1] << 32 : 0)
		       : 0;
	if (nlimbs <= 2 && v <= (uint64_t)INT64_MAX + negative) {
		n->u.i.v = negative ? (int64_t)(0 - v) : (int64_t)v;
		free(limbs);
		return 0;
	}
	n->u.i.digits = limbs_to_decimal(limbs, nlimbs, negative);
	free(limbs);
	if (n->u.i.digits == NULL)
		return no_memory(d);
	if (digit_count(n->u.i.digits) > INT_MAX_DIGITS)
		return too_many_digits(d);
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * Python's int(text, base) syntax for base 0 or 10, which is how the
 * unpickler reads INT, LONG and memo indexes: blanks around, a sign, a
 * 0x, 0o or 0b prefix (base 0 only), single underscores between digits.
 * The bare digits go to digits (n bytes at most) and their base to *radix.
 */
static bool int_syntax(const char *p, size_t n, int base, bool *negative,
		       int *radix, char *digits, size_t *count)
{
	size_t i = 0, k = 0;
	bool prefix = false, underscore = false;
	int v;

	while (n > 0 && is_blank(p[n - 1]))
		n--;
	while (i < n && is_blank(p[i]))
		i++;
	*negative = i < n && p[i] == '-';
	i += i < n && (p[i] == '-' || p[i] == '+');
	*radix = 10;
	if (base == 0 && i + 1 < n && p[i] == '0' &&
	    strchr("xXoObB", p[i + 1]) != NULL) {
		*radix = strchr("xX", p[i + 1]) ? 16 : strchr("oO", p[i + 1])
						       ? 8 : 2;
		prefix = true;
		i += 2;
	}
	for (; i < n; i++) {
		if (p[i] == '_') {
			if (underscore || (k == 0 && !prefix))
				return false;
			underscore = true;
			continue;
		}
		v = hex_digit_value(p[i]);
		if (v < 0 || v >= *radix)
			return false;
		digits[k++] = p[i];
		underscore = false;
	}
	digits[k] = '\0';
	*count = k;
	/* Base 0 takes leading zeros only in 0 itself (007 is no int). */
	return k > 0 && !underscore &&
	       !(base == 0 && *radix == 10 && digits[0] == '0' &&
		 strspn(digits, "0") < k);
}

/* An int from text in Python's syntax (see int_syntax()). */
static int int_from_text(struct decoder *d, struct node *n, const char *p,
			 size_t len, int base)
{
	char *digits = malloc(len + 1);
	size_t count = 0;
	bool negative;
	int radix, rc;

	if (digits == NULL)
		return no_memory(d);
	if (!int_syntax(p, len, base, &negative, &radix, digits, &count))
		rc = fail(d, CONN_EPROTO, "invalid literal for int()");
	else if (radix == 10)
		rc = int_from_decimal(d, n, negative, digits, count);
	else
		rc = int_from_binary(d, n, negative, digits, count, radix);
	free(digits);
	return rc;
}

/* Little-endian two's complement (LONG1, LONG4), of any size. */
static int int_from_le(struct decoder *d, struct node *n, const uint8_t *p,
		       size_t len)
{
	bool negative;
	uint32_t *limbs;
	uint64_t v = 0;
	size_t i, nlimbs;
	unsigned carry;

	while (len > 1 && ((p[len - 1] == 0x00 && !(p[len - 2] & 0x80)) ||
			   (p[len - 1] == 0xff && (p[len - 2] & 0x80))))
		len--;
	negative = len > 0 && (p[len - 1] & 0x80);
	if (len <= 8) {
		for (i = 0; i < 8; i++)
			v |= (uint64_t)(i < len ? p[i] : negative ? 0xff : 0)
			     << (8 * i);
		n->u.i.v = (int64_t)v;
		return 0;
	}
	if ((len - 1) * 8 > INT_MAX_BITS)
		return too_many_digits(d);
	nlimbs = (len + 3) / 4;
	limbs = calloc(nlimbs, sizeof(*limbs));
	if (limbs == NULL)
		return no_memory(d);
	/* The magnitude: bytes as they are, or negated (invert, add one). */
	carry = 1;
	for (i = 0; i < len; i++) {
		unsigned byte = p[i];

		if (negative) {
			byte = (~byte & 0xff) + carry;
			carry = byte >> 8;
			byte &= 0xff;
		}
		limbs[i / 4] |= (uint32_t)byte << (8 * (i % 4));
	}
	n->u.i.digits = limbs_to_decimal(limbs, nlimbs, negative);
	free(limbs);
	if (n->u.i.digits == NULL)
		return no_memory(d);
	if (digit_count(n->u.i.digits) > INT_MAX_DIGITS)
		return too_many_digits(d);
	return 0;
}

/* The decimal text of an integral float beyond 64 bits, malloc'ed. */
static char *float_to_decimal(double x)
{
	uint32_t limbs[40];	/* 1024 bits and more */
	double m = fabs(x);
	size_t n = 0;

	while (m >= 1 && n < 40) {
		double limb = fmod(m, 4294967296.0);

		limbs[n++] = (uint32_t)limb;
		m = (m - limb) / 4294967296.0;
	}
	return limbs_to_decimal(limbs, n, x < 0);
}

/* --------------------------------------------------------------- floats */

/* Whether the count digits (d.ddd) times 10**exponent read back as x. */
static bool reads_back(const char *digits, int count, int exponent, double x)
{
	char text[48];

	snprintf(text, sizeof(text), "%c.%.*se%d", digits[0], count - 1,
		 digits + 1, exponent);
	return strtod(text, NULL) == x;
}

/* The next count-digit decimal above (up) or below d.ddd * 10**e. */
static void step_digits(char *d, int count, int *e, bool up)
{
	int i = count - 1;

	for (; i >= 0 && d[i] == (up ? '9' : '0'); i--)
		d[i] = up ? '0' : '9';
	if (i < 0) {		/* 9.99 + 0.01 = 1.00e+1 */
		d[0] = '1';
		(*e)++;
		return;
	}
	d[i] = (char)(d[i] + (up ? 1 : -1));
	if (d[0] == '0') {	/* 1.00 - 0.01 = 9.99e-1 */
		memmove(d, d + 1, (size_t)count - 1);
		d[count - 1] = '9';
		(*e)--;
	}
}

/*
 * Whether some count-digit decimal reads back as x > 0, into digits and
 * *e: the nearest one, or else one of its neighbours, which is what wins
 * at a power of two, where the gap below x is half the gap above.
 */
static bool try_precision(char *digits, int *e, int count, double x)
{
	char sci[48], other[24];
	const char *p;
	int n = 0, oe, side;

	snprintf(sci, sizeof(sci), "%.*e", count - 1, x);
	/* Skips whatever decimal point the locale has. */
	for (p = sci; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	*e = atoi(p + 1);
	if (reads_back(digits, count, *e, x))
		return true;
	for (side = 0; side < 2; side++) {
		memcpy(other, digits, (size_t)count);
		oe = *e;
		step_digits(other, count, &oe, side == 0);
		if (reads_back(other, count, oe, x)) {
			memcpy(digits, other, (size_t)count);
			*e = oe;
			return true;
		}
	}
	return false;
}

/*
 * The digits of repr(x) for a finite x, without sign or trailing zeros,
 * and the decimal exponent of the first: the fewest that read back, as
 * David Gay's dtoa mode 0 finds them.  If count digits can, count + 1 can
 * too, so the count is found by bisection.
 */
static void shortest_digits(char *digits, int *exponent, double x)
{
	int lo = 1, hi = 17, mid, n;

	x = fabs(x);
	if (x == 0) {
		strcpy(digits, "0");
		*exponent = 0;
		return;
	}
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (try_precision(digits, exponent, mid, x))
			hi = mid;
		else
			lo = mid + 1;
	}
	try_precision(digits, exponent, lo, x);
	for (n = lo; n > 1 && digits[n - 1] == '0'; n--)
		;
	digits[n] = '\0';
}

/*
 * Python's float formatting with format code 'r': repr(x) with add_dot_0,
 * or without it and with a forced sign for the parts of a complex.
 * Fixed notation for decimal exponents -4 to 15, else d.ddde+XX.
 * out holds 40 bytes.
 */
static void float_format(char *out, double x, bool add_dot_0, bool plus)
{
	char digits[24];
	const char *sign = signbit(x) && !isnan(x) ? "-" : plus ? "+" : "";
	int exponent, n, i, len;

	if (!isfinite(x)) {
		sprintf(out, "%s%s", sign, isnan(x) ? "nan" : "inf");
		return;
	}
	shortest_digits(digits, &exponent, x);
	n = (int)strlen(digits);
	if (exponent < -4 || exponent >= 16) {
		sprintf(out, "%s%c%s%se%c%02d", sign, digits[0],
			n > 1 ? "." : "", digits + 1, exponent < 0 ? '-' : '+',
			abs(exponent));
		return;
	}
	len = sprintf(out, "%s", sign);
	if (exponent < 0) {
		len += sprintf(out + len, "0.");
		for (i = -1; i > exponent; i--)
			out[len++] = '0';
		sprintf(out + len, "%s", digits);
		return;
	}
	for (i = 0; i <= exponent; i++)
		out[len++] = i < n ? digits[i] : '0';
	if (n > exponent + 1)
		sprintf(out + len, ".%s", digits + exponent + 1);
	else
		sprintf(out + len, "%s", add_dot_0 ? ".0" : "");
}

/* Python's float() syntax, less underscores and surrounding blanks. */
static bool float_syntax(const char *p, size_t n)
{
	static const char *const words[] = { "inf", "infinity", "nan" };
	size_t i = 0, digits = 0, w;

	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	for (w = 0; w < 3; w++)
		if (n - i == strlen(words[w]) &&
		    strncasecmp(p + i, words[w], n - i) == 0)
			return true;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	if (i < n && p[i] == '.')
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i == n || p[i] < '0' || p[i] > '9')
			return false;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	return i == n;
}

/* ------------------------------------------------------ keys and hashes */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return mix(h);
}

/* Equal numbers hash alike, as in Python: 1, 1.0, True and (1+0j). */
static uint64_t hash_float(double x)
{
	uint64_t bits, h;
	char *text;

	if (!isfinite(x) || floor(x) != x) {
		memcpy(&bits, &x, sizeof(bits));
		return mix(bits ^ 0x5bd1e995);
	}
	if (fabs(x) < 9223372036854775808.0)
		return mix((uint64_t)(int64_t)x);
	text = float_to_decimal(x);
	h = text ? hash_bytes(text, strlen(text), 'i') : 0;
	free(text);
	return h;
}

/* The hash of a hashable node; tuples and frozensets have theirs
 * already (from when they were made), so this never recurses. */
static uint64_t hash_of(const struct node *n)
{
	switch (n->kind) {
	case K_NONE:
		return 0x9e3779b97f4a7c15ull;
	case K_BOOL:
		return mix(n->u.b);
	case K_INT:
		return n->u.i.digits ? hash_bytes(n->u.i.digits,
						  strlen(n->u.i.digits), 'i')
				     : mix((uint64_t)n->u.i.v);
	case K_FLOAT:
		return hash_float(n->u.f.v);
	case K_COMPLEX:
		return n->u.c.im == 0 ? hash_float(n->u.c.re)
		       : hash_float(n->u.c.re) ^ mix(hash_float(n->u.c.im));
	case K_STR: case K_BYTES:
		return hash_bytes(n->u.s.p, n->u.s.n, n->kind);
	case K_GLOBAL:
		return hash_bytes(n->u.g.module.p, n->u.g.module.n, 'g') ^
		       hash_bytes(n->u.g.name.p, n->u.g.name.n, 'n');
	default:	/* opaque objects hash by identity */
		return mix(n->id ^ 0xabcdef);
	}
}

static uint64_t node_hash(struct node *n)
{
	uint64_t h;

	if (n->hashed)
		return n->hash;
	h = hash_of(n);
	/* The shared constants stay read-only: renders may run in several
	 * threads at once. */
	if (n != &node_none && n != &node_true && n != &node_false &&
	    n != &node_empty_tuple) {
		n->hash = h;
		n->hashed = true;
	}
	return h;
}

static bool is_number(const struct node *n)
{
	return n->kind == K_BOOL || n->kind == K_INT || n->kind == K_FLOAT ||
	       n->kind == K_COMPLEX;
}

/* An int (or bool) against an integral float, exactly. */
static bool int_equals_float(const struct node *i, double x)
{
	int64_t v = i->kind == K_BOOL ? i->u.b : i->u.i.v;
	char *text;
	bool same;

	if (!isfinite(x) || floor(x) != x)
		return false;
	if (fabs(x) < 9223372036854775808.0)
		return i->kind == K_BOOL || !i->u.i.digits ? v == (int64_t)x
							   : false;
	if (i->kind == K_BOOL || !i->u.i.digits)
		return false;
	text = float_to_decimal(x);
	same = text != NULL && strcmp(text, i->u.i.digits) == 0;
	free(text);
	return same;
}

static bool numbers_equal(const struct node *a, const struct node *b)
{
	const struct node *t;

	if (a->kind > b->kind) {	/* bool < int < float < complex */
		t = a;
		a = b;
		b = t;
	}
	if (b->kind == K_COMPLEX) {
		if (a->kind == K_COMPLEX)
			return a->u.c.re == b->u.c.re && a->u.c.im == b->u.c.im;
		if (b->u.c.im != 0)
			return false;
		if (a->kind == K_FLOAT)
			return a->u.f.v == b->u.c.re;
		return int_equals_float(a, b->u.c.re);
	}
	if (b->kind == K_FLOAT)
		return a->kind == K_FLOAT ? a->u.f.v == b->u.f.v
					  : int_equals_float(a, b->u.f.v);
	if (a->kind == K_INT && b->kind == K_INT) {
		if (a->u.i.digits || b->u.i.digits)
			return a->u.i.digits && b->u.i.digits &&
			       strcmp(a->u.i.digits, b->u.i.digits) == 0;
		return a->u.i.v == b->u.i.v;
	}
	if ((a->kind == K_INT && a->u.i.digits) ||
	    (b->kind == K_INT && b->u.i.digits))
		return false;
	return (a->kind == K_BOOL ? a->u.b : a->u.i.v) ==
	       (b->kind == K_BOOL ? b->u.b : b->u.i.v);
}

static bool texts_equal(struct text a, struct text b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int table_find(struct decoder *d, struct node *c, struct node *key,
		      int depth, size_t *index);

/* Crafted keys can make hash tables slow: the budget stops them. */
static int collisions(struct decoder *d)
{
	return fail(d, CONN_ETOOBIG, "too many dict keys or set elements "
		    "collide in hash for the pickle's size");
}

/*
 * Python's == on two hashable nodes, into *equal.  Tuples compare item by
 * item and frozensets by membership, within the depth limit; every
 * comparison spends the budget, so crafted collisions cannot take long.
 */
static int node_equal(struct decoder *d, struct node *a, struct node *b,
		      int depth, bool *equal)
{
	size_t i, found;
	int rc;

	*equal = a == b;
	if (*equal)
		return 0;
	if (d->compare_budget == 0)
		return collisions(d);
	d->compare_budget--;
	if (depth > CONN_PICKLE_MAX_DEPTH)
		return fail(d, CONN_ETOOBIG, "a key nests deeper than %d "
			    "levels", CONN_PICKLE_MAX_DEPTH);
	if (is_number(a) && is_number(b)) {
		*equal = numbers_equal(a, b);
		return 0;
	}
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case K_NONE:
		*equal = true;
		return 0;
	case K_STR: case K_BYTES:
		*equal = texts_equal(a->u.s, b->u.s);
		return 0;
	case K_GLOBAL:
		*equal = texts_equal(a->u.g.module, b->u.g.module) &&
			 texts_equal(a->u.g.name, b->u.g.name);
		return 0;
	case K_TUPLE:
		if (a->u.seq.n != b->u.seq.n || node_hash(a) != node_hash(b))
			return 0;
		for (i = 0; i < a->u.seq.n; i++) {
			rc = node_equal(d, a->u.seq.items[i],
					b->u.seq.items[i], depth + 1, equal);
			if (rc || !*equal)
				return rc;
		}
		return 0;
	case K_FROZENSET:
		if (a->u.seq.n != b->u.seq.n || node_hash(a) != node_hash(b))
			return 0;
		for (i = 0; i < a->u.seq.n; i++) {
			rc = table_find(d, b, a->u.seq.items[i], depth + 1,
					&found);
			if (rc || found == SIZE_MAX)
				return rc;
		}
		*equal = true;
		return 0;
	default:
		return 0;
	}
}

static size_t table_size(const struct node *c)
{
	return (size_t)1 << c->slot_bits;
}

/* The key of entry i of a dict, set or frozenset. */
static struct node *entry_key(const struct node *c, size_t i)
{
	return c->kind == K_DICT ? c->u.seq.items[2 * i] : c->u.seq.items[i];
}

/* The entry whose key equals key, or SIZE_MAX. */
static int table_find(struct decoder *d, struct node *c, struct node *key,
		      int depth, size_t *index)
{
	size_t mask = table_size(c) - 1, i;
	uint64_t h = node_hash(key);
	uint32_t slot;
	bool equal;
	int rc;

	*index = SIZE_MAX;
	if (c->slot_bits == 0)
		return 0;
	for (i = h & mask; (slot = c->u.seq.slots[i]) != 0; i = (i + 1) & mask) {
		struct node *other = entry_key(c, slot - 1);

		if (d->compare_budget == 0)
			return collisions(d);
		d->compare_budget--;
		if (node_hash(other) != h)
			continue;
		rc = node_equal(d, key, other, depth, &equal);
		if (rc)
			return rc;
		if (equal) {
			*index = slot - 1;
			return 0;
		}
	}
	return 0;
}

static void table_put(struct node *c, size_t index)
{
	size_t mask = table_size(c) - 1;
	size_t i = node_hash(entry_key(c, index)) & mask;

	while (c->u.seq.slots[i] != 0)
		i = (i + 1) & mask;
	c->u.seq.slots[i] = (uint32_t)(index + 1);
}

/* Indexes entry index (just appended), growing the table at half full. */
static int table_add(struct decoder *d, struct node *c, size_t index)
{
	size_t nslots = c->slot_bits ? table_size(c) : 8, i;
	unsigned char bits = c->slot_bits ? c->slot_bits : 3;
	uint32_t *slots;

	if (index >= UINT32_MAX - 1)
		return fail(d, CONN_ETOOBIG, "too many entries");
	if (c->slot_bits && 2 * (index + 1) <= nslots) {
		table_put(c, index);
		return 0;
	}
	while (nslots < 2 * (index + 1)) {
		nslots *= 2;
		bits++;
	}
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return no_memory(d);
	free(c->u.seq.slots);
	c->u.seq.slots = slots;
	c->slot_bits = bits;
	for (i = 0; i <= index; i++)
		table_put(c, i);
	return 0;
}

/* ----------------------------------------------------------- containers */

static int items_reserve(struct decoder *d, struct node *c, size_t more)
{
	size_t need = c->u.seq.n + more;
	struct node **items;

	if (c->kind == K_DICT)
		need *= 2;
	items = grow(c->u.seq.items, &c->u.seq.cap, need, sizeof(*items));
	if (items == NULL)
		return no_memory(d);
	c->u.seq.items = items;
	return 0;
}

static int list_append(struct decoder *d, struct node *list,
		       struct node *item)
{
	int rc = items_reserve(d, list, 1);

	if (rc)
		return rc;
	list->u.seq.items[list->u.seq.n++] = item;
	return 0;
}

static int unhashable(struct decoder *d, const struct node *key)
{
	return fail(d, CONN_EPROTO, "unhashable type: '%s'",
		    kind_names[key->kind]);
}

/* d[key] = value: a key already there keeps its place and takes value. */
static int dict_set(struct decoder *d, struct node *dict, struct node *key,
		    struct node *value)
{
	size_t index;
	int rc;

	if (!key->hashable)
		return unhashable(d, key);
	rc = table_find(d, dict, key, 0, &index);
	if (rc)
		return rc;
	if (index != SIZE_MAX) {
		dict->u.seq.items[2 * index + 1] = value;
		return 0;
	}
	rc = items_reserve(d, dict, 1);
	if (rc)
		return rc;
	index = dict->u.seq.n++;
	dict->u.seq.items[2 * index] = key;
	dict->u.seq.items[2 * index + 1] = value;
	return table_add(d, dict, index);
}

/* set.add(item): an equal element already there stays. */
static int set_add(struct decoder *d, struct node *set, struct node *item)
{
	size_t index;
	int rc;

	if (!item->hashable)
		return unhashable(d, item);
	rc = table_find(d, set, item, 0, &index);
	if (rc || index != SIZE_MAX)
		return rc;
	rc = items_reserve(d, set, 1);
	if (rc)
		return rc;
	index = set->u.seq.n++;
	set->u.seq.items[index] = item;
	return table_add(d, set, index);
}

/* A frozenset's hash ignores order, like Python's. */
static void frozenset_seal(struct node *set)
{
	uint64_t h = 0x1f2e3d4c;
	size_t i;

	for (i = 0; i < set->u.seq.n; i++)
		h += mix(node_hash(set->u.seq.items[i]));
	set->hash = mix(h);
	set->hashed = true;
	set->hashable = true;
}

/* A tuple is hashable when its items are; its hash is made now, while
 * its items' hashes are at hand, so hashing never recurses. */
static void tuple_seal(struct node *t)
{
	uint64_t h = 0x345678 + t->u.seq.n;
	size_t i;

	t->hashable = true;
	for (i = 0; i < t->u.seq.n; i++) {
		if (!t->u.seq.items[i]->hashable) {
			t->hashable = false;
			return;
		}
		h = mix(h ^ node_hash(t->u.seq.items[i]));
	}
	t->hash = h;
	t->hashed = true;
}

/* Records an effect on an opaque object (see the top comment). */
static int effect_add(struct decoder *d, struct node *n,
		      enum effect_kind kind, struct node *a, struct node *b)
{
	struct effects *e = n->effects;
	struct effect *v;

	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return no_memory(d);
		n->effects = e;
	}
	v = grow(e->v, &e->cap, e->n + 1, sizeof(*v));
	if (v == NULL)
		return no_memory(d);
	e->v = v;
	e->v[e->n++] = (struct effect){ kind, a, b };
	return 0;
}

/* ------------------------------------------------------ stack and memo */

/* The first stack slot an opcode may touch: MARK fences off what is below
 * it, as in CPython's C unpickler. */
static size_t fence(const struct decoder *d)
{
	return d->nmarks ? d->marks[d->nmarks - 1].depth : 0;
}

static int need(struct decoder *d, size_t k)
{
	size_t have = d->nstack - fence(d);

	if (have >= k)
		return 0;
	return fail(d, CONN_EPROTO, "stack underflow: %zu item%s needed%s, "
		    "%zu there", k, k == 1 ? "" : "s",
		    d->nmarks ? " above the last MARK" : "", have);
}

static int push(struct decoder *d, struct node *n)
{
	struct node **stack;

	if (d->nstack >= OBJECTS_MAX)
		return too_many_objects(d);
	stack = grow(d->stack, &d->stack_cap, d->nstack + 1, sizeof(*stack));
	if (stack == NULL)
		return no_memory(d);
	d->stack = stack;
	d->stack[d->nstack++] = n;
	return 0;
}

static struct node *pop(struct decoder *d)
{
	return d->stack[--d->nstack];
}

static struct node *top(struct decoder *d)
{
	return d->stack[d->nstack - 1];
}

/* Pushes a new node of kind, which is also the opcode's argument. */
static int push_value(struct decoder *d, struct node **out, enum kind kind)
{
	int rc = node_new(d, out, kind);

	if (rc)
		return rc;
	d->arg.kind = ARG_NODE;
	d->arg.node = *out;
	return push(d, *out);
}

/* Pops the topmost MARK: the items from *start up are its slice. */
static int pop_mark(struct decoder *d, size_t *start)
{
	*start = d->nstack;
	if (d->nmarks == 0)
		return fail(d, CONN_EPROTO, "no MARK on the stack");
	d->nmarks--;
	*start = d->marks[d->nmarks].depth;
	d->popped_mark = (long)d->marks[d->nmarks].offset;
	return 0;
}

/* Pops a MARK whose slice goes into the object just below it. */
static int pop_mark_target(struct decoder *d, size_t *start,
			   struct node **target)
{
	int rc = pop_mark(d, start);

	*target = NULL;
	if (rc)
		return rc;
	if (*start == 0)
		return fail(d, CONN_EPROTO, "stack underflow: nothing below "
			    "the MARK to add to");
	*target = d->stack[*start - 1];
	return 0;
}

static int memo_put(struct decoder *d, uint64_t index)
{
	struct node **memo;
	size_t old = d->memo_cap;
	int rc = need(d, 1);

	if (rc)
		return rc;
	if (index >= CONN_PICKLE_MAX_MEMO)
		return fail(d, CONN_ETOOBIG, "memo index %llu is over the "
			    "limit of %d entries", (unsigned long long)index,
			    CONN_PICKLE_MAX_MEMO);
	memo = grow(d->memo, &d->memo_cap, (size_t)index + 1, sizeof(*memo));
	if (memo == NULL)
		return no_memory(d);
	memset(memo + old, 0, (d->memo_cap - old) * sizeof(*memo));
	d->memo = memo;
	if (d->memo[index] == NULL)
		d->memo_count++;
	d->memo[index] = top(d);
	return 0;
}

static int memo_get(struct decoder *d, uint64_t index)
{
	if (index >= d->memo_cap || d->memo[index] == NULL)
		return fail(d, CONN_EPROTO, "memo index %llu is not defined",
			    (unsigned long long)index);
	return push(d, d->memo[index]);
}

/* ---------------------------------------------------------- fix_imports */

/* Lib/_compat_pickle.py: Python 2 names in protocols 0-2, read as the
 * Python 3 names the unpickler imports instead. */
static const char *const import_mapping[][2] = {
	{ "__builtin__", "builtins" }, { "copy_reg", "copyreg" },
	{ "Queue", "queue" }, { "SocketServer", "socketserver" },
	{ "ConfigParser", "configparser" }, { "repr", "reprlib" },
	{ "tkFileDialog", "tkinter.filedialog" },
	{ "tkSimpleDialog", "tkinter.simpledialog" },
	{ "tkColorChooser", "tkinter.colorchooser" },
	{ "tkCommonDialog", "tkinter.commondialog" },
	{ "Dialog", "tkinter.dialog" }, { "Tkdnd", "tkinter.dnd" },
	{ "tkFont", "tkinter.font" }, { "tkMessageBox", "tkinter.messagebox" },
	{ "ScrolledText", "tkinter.scrolledtext" },
	{ "Tkconstants", "tkinter.constants" }, { "Tix", "tkinter.tix" },
	{ "ttk", "tkinter.ttk" }, { "Tkinter", "tkinter" },
	{ "markupbase", "_markupbase" }, { "_winreg", "winreg" },
	{ "thread", "_thread" }, { "dummy_thread", "_dummy_thread" },
	{ "dbhash", "dbm.bsd" }, { "dumbdbm", "dbm.dumb" },
	{ "dbm", "dbm.ndbm" }, { "gdbm", "dbm.gnu" },
	{ "xmlrpclib", "xmlrpc.client" },
	{ "SimpleXMLRPCServer", "xmlrpc.server" },
	{ "httplib", "http.client" }, { "htmlentitydefs", "html.entities" },
	{ "HTMLParser", "html.parser" }, { "Cookie", "http.cookies" },
	{ "cookielib", "http.cookiejar" }, { "BaseHTTPServer", "http.server" },
	{ "test.test_support", "test.support" }, { "commands", "subprocess" },
	{ "urlparse", "urllib.parse" }, { "robotparser", "urllib.robotparser" },
	{ "urllib2", "urllib.request" }, { "anydbm", "dbm" },
	{ "_abcoll", "collections.abc" }, { "cPickle", "pickle" },
	{ "_elementtree", "xml.etree.ElementTree" },
	{ "FileDialog", "tkinter.filedialog" },
	{ "SimpleDialog", "tkinter.simpledialog" },
	{ "DocXMLRPCServer", "xmlrpc.server" },
	{ "SimpleHTTPServer", "http.server" },
	{ "CGIHTTPServer", "http.server" }, { "UserDict", "collections" },
	{ "UserList", "collections" }, { "UserString", "collections" },
	{ "whichdb", "dbm" }, { "StringIO", "io" }, { "cStringIO", "io" },
};

static const char *const name_mapping[][4] = {
	{ "__builtin__", "xrange", "builtins", "range" },
	{ "__builtin__", "reduce", "functools", "reduce" },
	{ "__builtin__", "intern", "sys", "intern" },
	{ "__builtin__", "unichr", "builtins", "chr" },
	{ "__builtin__", "unicode", "builtins", "str" },
	{ "__builtin__", "long", "builtins", "int" },
	{ "__builtin__", "basestring", "builtins", "str" },
	{ "itertools", "izip", "builtins", "zip" },
	{ "itertools", "imap", "builtins", "map" },
	{ "itertools", "ifilter", "builtins", "filter" },
	{ "itertools", "ifilterfalse", "itertools", "filterfalse" },
	{ "itertools", "izip_longest", "itertools", "zip_longest" },
	{ "UserDict", "IterableUserDict", "collections", "UserDict" },
	{ "UserDict", "UserDict", "collections", "UserDict" },
	{ "UserList", "UserList", "collections", "UserList" },
	{ "UserString", "UserString", "collections", "UserString" },
	{ "whichdb", "whichdb", "dbm", "whichdb" },
	{ "_socket", "fromfd", "socket", "fromfd" },
	{ "socket", "_socketobject", "socket", "SocketType" },
	{ "_multiprocessing", "Connection", "multiprocessing.connection",
	  "Connection" },
	{ "multiprocessing.process", "Process", "multiprocessing.context",
	  "Process" },
	{ "multiprocessing.forking", "Popen", "multiprocessing.popen_fork",
	  "Popen" },
	{ "urllib", "ContentTooShortError", "urllib.error",
	  "ContentTooShortError" },
	{ "urllib", "getproxies", "urllib.request", "getproxies" },
	{ "urllib", "pathname2url", "urllib.request", "pathname2url" },
	{ "urllib", "quote_plus", "urllib.parse", "quote_plus" },
	{ "urllib", "quote", "urllib.parse", "quote" },
	{ "urllib", "unquote_plus", "urllib.parse", "unquote_plus" },
	{ "urllib", "unquote", "urllib.parse", "unquote" },
	{ "urllib", "url2pathname", "urllib.request", "url2pathname" },
	{ "urllib", "urlcleanup", "urllib.request", "urlcleanup" },
	{ "urllib", "urlencode", "urllib.parse", "urlencode" },
	{ "urllib", "urlopen", "urllib.request", "urlopen" },
	{ "urllib", "urlretrieve", "urllib.request", "urlretrieve" },
	{ "urllib2", "HTTPError", "urllib.error", "HTTPError" },
	{ "urllib2", "URLError", "urllib.error", "URLError" },
	{ "exceptions", "StandardError", "builtins", "Exception" },
	{ "multiprocessing", "AuthenticationError",
	  "multiprocessing.context", "AuthenticationError" },
	{ "multiprocessing", "BufferTooShort", "multiprocessing.context",
	  "BufferTooShort" },
	{ "multiprocessing", "ProcessError", "multiprocessing.context",
	  "ProcessError" },
	{ "multiprocessing", "TimeoutError", "multiprocessing.context",
	  "TimeoutError" },
};

/* The exceptions module's names that move to builtins unchanged. */
static const char *const python2_exceptions[] = {
	"ArithmeticError", "AssertionError", "AttributeError",
	"BaseException", "BufferError", "BytesWarning", "DeprecationWarning",
	"EOFError", "EnvironmentError", "Exception", "FloatingPointError",
	"FutureWarning", "GeneratorExit", "IOError", "ImportError",
	"ImportWarning", "IndentationError", "IndexError", "KeyError",
	"KeyboardInterrupt", "LookupError", "MemoryError", "NameError",
	"NotImplementedError", "OSError", "OverflowError",
	"PendingDeprecationWarning", "ReferenceError", "RuntimeError",
	"RuntimeWarning", "StopIteration", "SyntaxError", "SyntaxWarning",
	"SystemError", "SystemExit", "TabError", "TypeError",
	"UnboundLocalError", "UnicodeDecodeError", "UnicodeEncodeError",
	"UnicodeError", "UnicodeTranslateError", "UnicodeWarning",
	"UserWarning", "ValueError", "Warning", "ZeroDivisionError",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool text_is(struct text t, const char *s)
{
	return t.n == strlen(s) && memcmp(t.p, s, t.n) == 0;
}

static struct text text_of(const char *s)
{
	return (struct text){ s, strlen(s) };
}

/* find_class()'s renaming: names first, then whole modules. */
static void fix_imports(struct text *module, struct text *name)
{
	size_t i;

	for (i = 0; i < COUNT(name_mapping); i++)
		if (text_is(*module, name_mapping[i][0]) &&
		    text_is(*name, name_mapping[i][1])) {
			*module = text_of(name_mapping[i][2]);
			*name = text_of(name_mapping[i][3]);
			return;
		}
	if (text_is(*module, "exceptions")) {
		for (i = 0; i < COUNT(python2_exceptions); i++)
			if (text_is(*name, python2_exceptions[i]))
				*module = text_of("builtins");
		return;
	}
	for (i = 0; i < COUNT(import_mapping); i++)
		if (text_is(*module, import_mapping[i][0])) {
			*module = text_of(import_mapping[i][1]);
			return;
		}
}

static int push_global(struct decoder *d, struct text module,
		       struct text name)
{
	struct node *n;
	int rc;

	if (utf8_check((const uint8_t *)module.p, module.n) != module.n ||
	    utf8_check((const uint8_t *)name.p, name.n) != name.n)
		return fail(d, CONN_EPROTO, "a global's name is not UTF-8");
	if (d->proto < 3)
		fix_imports(&module, &name);
	rc = node_new(d, &n, K_GLOBAL);
	if (rc)
		return rc;
	n->u.g.module = module;
	n->u.g.name = name;
	return push(d, n);
}

static bool global_is(const struct node *n, const char *module,
		      const char *name)
{
	return n->kind == K_GLOBAL && text_is(n->u.g.module, module) &&
	       text_is(n->u.g.name, name);
}

/* ---------------------------------------------------------------- calls */

static int spend_copies(struct decoder *d, size_t n)
{
	if (n > d->copy_budget)
		return fail(d, CONN_ETOOBIG, "the pickle asks for more "
			    "copying than its size allows");
	d->copy_budget -= n;
	return 0;
}

/* What set() iterates here: sequences, sets and dicts. */
static bool is_sequence(const struct node *n)
{
	return n->kind == K_LIST || n->kind == K_TUPLE || n->kind == K_SET ||
	       n->kind == K_FROZENSET || n->kind == K_DICT;
}

/* set(iterable) and frozenset(iterable), the way protocols 0-3 carry them. */
static int make_set(struct decoder *d, struct node **out, enum kind kind,
		    struct node *args)
{
	struct node *from = args->u.seq.n ? args->u.seq.items[0] : NULL;
	size_t i;
	int rc;

	if (args->u.seq.n > 1 || (from != NULL && !is_sequence(from)))
		return 0;
	rc = node_new(d, out, kind);
	if (rc || from == NULL)
		goto done;
	rc = spend_copies(d, from->u.seq.n);
	for (i = 0; !rc && i < from->u.seq.n; i++)	/* a dict gives keys */
		rc = set_add(d, *out, from->kind == K_DICT ? entry_key(from, i)
							   : from->u.seq.items[i]);
done:
	if (!rc && kind == K_FROZENSET)
		frozenset_seal(*out);
	return rc;
}

/* The codecs a str is encoded with to pickle bytes (protocols 0-2). */
enum codec { CODEC_NONE, CODEC_LATIN1, CODEC_ASCII, CODEC_UTF8 };

/* Python's lookup: lower case, other runs of punctuation as one '_',
 * then the aliases (Lib/encodings/aliases.py) of three codecs. */
static enum codec codec_of(const struct node *n)
{
	static const char *const names[][2] = {
		{ "latin_1", "L" }, { "latin1", "L" }, { "latin", "L" },
		{ "l1", "L" }, { "iso8859_1", "L" }, { "iso_8859_1", "L" },
		{ "iso8859", "L" }, { "8859", "L" }, { "cp819", "L" },
		{ "ibm819", "L" }, { "csisolatin1", "L" },
		{ "iso_8859_1_1987", "L" }, { "iso_ir_100", "L" },
		{ "ascii", "A" }, { "us_ascii", "A" }, { "646", "A" },
		{ "us", "A" }, { "utf_8", "U" }, { "utf8", "U" }, { "u8", "U" },
		{ "utf", "U" }, { "utf8_ucs2", "U" }, { "utf8_ucs4", "U" },
	};
	char name[24];
	size_t i, k = 0;

	if (n->kind != K_STR || n->u.s.n >= sizeof(name))
		return CODEC_NONE;
	for (i = 0; i < n->u.s.n; i++) {
		char c = n->u.s.p[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')
			name[k++] = c;
		else if (c >= 'A' && c <= 'Z')
			name[k++] = (char)(c - 'A' + 'a');
		else if (k > 0 && name[k - 1] != '_')
			name[k++] = '_';
	}
	while (k > 0 && name[k - 1] == '_')
		k--;
	name[k] = '\0';
	for (i = 0; i < COUNT(names); i++)
		if (strcmp(name, names[i][0]) == 0)
			return names[i][1][0] == 'L' ? CODEC_LATIN1
			       : names[i][1][0] == 'A' ? CODEC_ASCII
						       : CODEC_UTF8;
	return CODEC_NONE;
}

/*
 * str.encode(codec) into a new node of kind, unless a character does not
 * fit (or is a surrogate, for UTF-8): then *out stays NULL and the call
 * is shown as it is, since CPython would fail.
 */
static int make_encoded(struct decoder *d, struct node **out, enum kind kind,
			const struct node *s, enum codec codec)
{
	const uint8_t *p = (const uint8_t *)s->u.s.p;
	uint32_t cp, top = codec == CODEC_ASCII ? 0x7f : codec == CODEC_LATIN1
						     ? 0xff : 0x10ffff;
	uint8_t *bytes;
	size_t i = 0, n = 0, len;
	int rc;

	if (codec == CODEC_NONE)
		return 0;
	rc = spend_copies(d, s->u.s.n);
	if (rc)
		return rc;
	bytes = malloc(s->u.s.n + 1);
	if (bytes == NULL)
		return no_memory(d);
	while (i < s->u.s.n) {
		len = utf8_decode(p + i, s->u.s.n - i, &cp);
		if (len == 0 || cp > top || (cp >= 0xd800 && cp <= 0xdfff)) {
			free(bytes);
			return 0;
		}
		if (codec == CODEC_UTF8)
			n += utf8_encode(bytes + n, cp);
		else
			bytes[n++] = (uint8_t)cp;
		i += len;
	}
	rc = node_new(d, out, kind);
	if (rc) {
		free(bytes);
		return rc;
	}
	(*out)->u.s.p = (const char *)bytes;
	(*out)->u.s.n = n;
	(*out)->owned = true;
	return 0;
}

/* bytes() and bytearray(): empty, of bytes, or of a str and a codec. */
static int make_bytes(struct decoder *d, struct node **out, enum kind kind,
		      struct node *args)
{
	struct node **a = args->u.seq.items;
	size_t n = args->u.seq.n;
	int rc;

	if (n == 2 && a[0]->kind == K_STR)
		return make_encoded(d, out, kind, a[0], codec_of(a[1]));
	if (n > 1 || (n == 1 && a[0]->kind != K_BYTES &&
		      a[0]->kind != K_BYTEARRAY))
		return 0;
	if (n == 1 && kind == K_BYTES && a[0]->kind == K_BYTES) {
		*out = a[0];	/* bytes(b) is b */
		return 0;
	}
	rc = node_new(d, out, kind);
	if (!rc && n == 1)	/* shared, owned by a[0]; neither changes */
		(*out)->u.s = a[0]->u.s;
	return rc;
}

/* A real number complex() takes, as a double. */
static bool real_value(const struct node *n, double *x)
{
	if (n->kind == K_FLOAT)
		*x = n->u.f.v;
	else if (n->kind == K_BOOL)
		*x = n->u.b;
	else if (n->kind == K_INT && n->u.i.digits == NULL)
		*x = (double)n->u.i.v;
	else
		return false;
	return true;
}

static int make_complex(struct decoder *d, struct node **out,
			struct node *args)
{
	double re = 0, im = 0;
	struct node **a = args->u.seq.items;
	size_t n = args->u.seq.n;
	int rc;

	if (n > 2 || (n >= 1 && !real_value(a[0], &re)) ||
	    (n == 2 && !real_value(a[1], &im)))
		return 0;
	rc = node_new(d, out, K_COMPLEX);
	if (rc)
		return rc;
	(*out)->u.c.re = re;
	(*out)->u.c.im = im;
	return 0;
}

static bool is_pair(const struct node *n)
{
	return (n->kind == K_TUPLE || n->kind == K_LIST) && n->u.seq.n == 2;
}

/* OrderedDict() and OrderedDict([(key, value), ...]). */
static int make_ordered_dict(struct decoder *d, struct node **out,
			     struct node *args)
{
	struct node *from = args->u.seq.n ? args->u.seq.items[0] : NULL;
	struct node *pair;
	size_t i;
	int rc;

	if (args->u.seq.n > 1 ||
	    (from != NULL && from->kind != K_LIST && from->kind != K_TUPLE))
		return 0;
	for (i = 0; from != NULL && i < from->u.seq.n; i++)
		if (!is_pair(from->u.seq.items[i]))
			return 0;
	rc = node_new(d, out, K_DICT);
	if (rc)
		return rc;
	(*out)->ordered = true;
	if (from == NULL)
		return 0;
	rc = spend_copies(d, from->u.seq.n);
	for (i = 0; !rc && i < from->u.seq.n; i++) {
		pair = from->u.seq.items[i];
		rc = dict_set(d, *out, pair->u.seq.items[0],
			      pair->u.seq.items[1]);
	}
	return rc;
}

static int call_node(struct decoder *d, struct node **out,
		     enum call_form form, struct node *func,
		     struct node *args, struct node *kwargs)
{
	int rc = node_new(d, out, K_CALL);

	if (rc)
		return rc;
	(*out)->u.call.form = form;
	(*out)->u.call.func = func;
	(*out)->u.call.args = args;
	(*out)->u.call.kwargs = kwargs;
	return 0;
}

/* type(None), type(...) and type(NotImplemented): how pickle carries
 * these classes, which have no name in builtins to be found by. */
static int make_singleton_type(struct decoder *d, struct node **out,
			       const struct node *of)
{
	const char *name = of == &node_none ? "NoneType"
			 : global_is(of, "builtins", "Ellipsis") ? "ellipsis"
			 : global_is(of, "builtins", "NotImplemented")
			 ? "NotImplementedType" : NULL;
	int rc;

	if (name == NULL)
		return 0;
	rc = node_new(d, out, K_GLOBAL);
	if (rc == 0) {
		(*out)->u.g.module = text_of("builtins");
		(*out)->u.g.name = text_of(name);
	}
	return rc;
}

/*
 * The value CPython would make of func(*args) for the few callables whose
 * results pickle carries by value (see the top comment), or NULL.
 */
static int make_known(struct decoder *d, struct node **out,
		      struct node *func, struct node *args)
{
	struct node **a = args->u.seq.items;
	size_t n = args->u.seq.n;

	*out = NULL;
	if (global_is(func, "builtins", "set"))
		return make_set(d, out, K_SET, args);
	if (global_is(func, "builtins", "frozenset"))
		return make_set(d, out, K_FROZENSET, args);
	if (global_is(func, "builtins", "bytes"))
		return make_bytes(d, out, K_BYTES, args);
	if (global_is(func, "builtins", "bytearray"))
		return make_bytes(d, out, K_BYTEARRAY, args);
	if (global_is(func, "_codecs", "encode") && n >= 1 && n <= 2 &&
	    a[0]->kind == K_STR)	/* UTF-8 by default */
		return make_encoded(d, out, K_BYTES, a[0], n == 1 ? CODEC_UTF8
							  : codec_of(a[1]));
	if (global_is(func, "builtins", "complex"))
		return make_complex(d, out, args);
	if (global_is(func, "collections", "OrderedDict"))
		return make_ordered_dict(d, out, args);
	if (global_is(func, "builtins", "type") && n == 1)
		return make_singleton_type(d, out, a[0]);
	if (global_is(func, "copyreg", "_reconstructor") && n == 3 &&
	    global_is(a[1], "builtins", "object") && a[2] == &node_none)
		return call_node(d, out, CALL_NEWOBJ, a[0], &node_empty_tuple,
				 NULL);
	return 0;
}

/*
 * cls.__new__(cls, *args) (NEWOBJ) of builtin classes: lists, dicts,
 * sets and bytearrays come out empty (their __init__ fills them), the
 * immutable ones as if called.
 */
static int make_new(struct decoder *d, struct node **out, struct node *cls,
		    struct node *args)
{
	static const struct {
		const char *name;
		enum kind kind;
	} empty[] = {
		{ "list", K_LIST }, { "dict", K_DICT }, { "set", K_SET },
		{ "bytearray", K_BYTEARRAY },
	};
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < COUNT(empty); i++)
		if (global_is(cls, "builtins", empty[i].name))
			return node_new(d, out, empty[i].kind);
	if (global_is(cls, "collections", "OrderedDict")) {
		rc = node_new(d, out, K_DICT);
		if (!rc)
			(*out)->ordered = true;
		return rc;
	}
	if (global_is(cls, "builtins", "frozenset") ||
	    global_is(cls, "builtins", "bytes") ||
	    global_is(cls, "builtins", "complex"))
		return make_known(d, out, cls, args);
	return 0;
}

/* func(*args) for REDUCE, INST and OBJ: known values, else a call. */
static int push_call(struct decoder *d, struct node *func, struct node *args)
{
	struct node *n;
	int rc;

	if (args->kind != K_TUPLE)
		return fail(d, CONN_EPROTO, "the arguments are a %s, not a "
			    "tuple", kind_names[args->kind]);
	rc = make_known(d, &n, func, args);
	if (!rc && n == NULL)
		rc = call_node(d, &n, CALL_REDUCE, func, args, NULL);
	return rc ? rc : push(d, n);
}

/* A tuple of the count items at the top of the stack, which it pops. */
static int pop_tuple(struct decoder *d, struct node **out, size_t count)
{
	struct node *t;
	int rc;

	if (count == 0) {
		*out = &node_empty_tuple;
		return 0;
	}
	rc = node_new(d, &t, K_TUPLE);
	if (rc)
		return rc;
	t->u.seq.items = malloc(count * sizeof(*t->u.seq.items));
	if (t->u.seq.items == NULL)
		return no_memory(d);
	memcpy(t->u.seq.items, d->stack + d->nstack - count,
	       count * sizeof(*t->u.seq.items));
	t->u.seq.n = t->u.seq.cap = count;
	d->nstack -= count;
	tuple_seal(t);
	*out = t;
	return 0;
}

/* -------------------------------------------------------------- strings */

/* Reads count hex digits at p[*i] (within n) into *v. */
static bool hex_digits(const char *p, size_t n, size_t *i, int count,
		       uint32_t *v)
{
	int k, h;

	*v = 0;
	for (k = 0; k < count; k++, (*i)++) {
		if (*i >= n || (h = hex_digit_value((unsigned char)p[*i])) < 0)
			return false;
		*v = *v << 4 | (uint32_t)h;
	}
	return true;
}

/*
 * Python's raw-unicode-escape (UNICODE): bytes are latin-1, except that
 * \uXXXX and \UXXXXXXXX after an odd run of backslashes are characters.
 * At most 2 bytes of UTF-8 per byte in.
 */
static int raw_unicode_escape(struct decoder *d, uint8_t *out, size_t *len,
			      const char *p, size_t n)
{
	size_t i = 0, run, o = 0;
	uint32_t cp;
	int count;

	while (i < n) {
		if (p[i] != '\\') {
			o += utf8_encode(out + o, (unsigned char)p[i++]);
			continue;
		}
		for (run = 0; i < n && p[i] == '\\'; i++, run++)
			out[o++] = '\\';
		if (run % 2 == 0 || i == n || (p[i] != 'u' && p[i] != 'U'))
			continue;
		o--;	/* the backslash was the escape's */
		count = p[i] == 'u' ? 4 : 8;
		i++;
		if (!hex_digits(p, n, &i, count, &cp))
			return fail(d, CONN_EPROTO, "truncated \\%s escape",
				    count == 4 ? "uXXXX" : "UXXXXXXXX");
		if (cp > 0x10ffff)
			return fail(d, CONN_EPROTO,
				    "\\Uxxxxxxxx out of range");
		o += utf8_encode(out + o, cp);
	}
	*len = o;
	return 0;
}

/* Python's bytes escapes (STRING), into out (no longer than p). */
static int escape_decode(struct decoder *d, uint8_t *out, size_t *len,
			 const char *p, size_t n)
{
	static const char simple[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
	size_t i = 0, o = 0, k;
	uint32_t v;
	const char *s;

	while (i < n) {
		if (p[i] != '\\') {
			out[o++] = (uint8_t)p[i++];
			continue;
		}
		if (++i == n)
			return fail(d, CONN_EPROTO, "trailing \\ in string");
		s = p[i] ? strchr(simple, p[i]) : NULL;
		if (p[i] == '\n') {
			i++;
		} else if (s != NULL && (s - simple) % 2 == 0) {
			out[o++] = (uint8_t)s[1];
			i++;
		} else if (p[i] >= '0' && p[i] <= '7') {
			for (v = 0, k = 0; k < 3 && i < n && p[i] >= '0' &&
			     p[i] <= '7'; k++, i++)
				v = v * 8 + (uint32_t)(p[i] - '0');
			out[o++] = (uint8_t)v;
		} else if (p[i] == 'x') {
			i++;
			if (!hex_digits(p, n, &i, 2, &v))
				return fail(d, CONN_EPROTO,
					    "invalid \\x escape");
			out[o++] = (uint8_t)v;
		} else {
			out[o++] = '\\';	/* unknown: kept as it is */
		}
	}
	*len = o;
	return 0;
}

static bool is_ascii(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] & 0x80)
			return false;
	return true;
}

/* Python 2 str reads as str with pickle.loads()'s default "ASCII". */
static int python2_str(struct decoder *d, const char *p, size_t n)
{
	if (is_ascii(p, n))
		return 0;
	return fail(d, CONN_EPROTO, "a Python 2 str that is not ASCII (only "
		    "encoding='latin1' or 'bytes' loads it)");
}

/* A str, bytes or bytearray node of n bytes at p, pushed. */
static int push_text(struct decoder *d, enum kind kind, const void *p,
		     size_t n, bool owned)
{
	struct node *node;
	int rc = push_value(d, &node, kind);

	if (rc) {
		if (owned)
			free((void *)p);
		return rc;
	}
	node->u.s.p = p;
	node->u.s.n = n;
	node->owned = owned;
	return 0;
}

static int op_string(struct decoder *d)
{
	struct text t;
	uint8_t *bytes;
	size_t n = 0;
	int rc = take_line(d, &t);

	if (rc)
		return rc;
	if (t.n < 2 || t.p[0] != t.p[t.n - 1] ||
	    (t.p[0] != '\'' && t.p[0] != '"'))
		return fail(d, CONN_EPROTO, "the STRING opcode argument must "
			    "be quoted");
	bytes = malloc(t.n);
	if (bytes == NULL)
		return no_memory(d);
	rc = escape_decode(d, bytes, &n, t.p + 1, t.n - 2);
	if (!rc)
		rc = python2_str(d, (const char *)bytes, n);
	if (rc) {
		free(bytes);
		return rc;
	}
	return push_text(d, K_STR, bytes, n, true);
}

static int op_binstring(struct decoder *d, size_t size)
{
	const uint8_t *p;
	uint64_t n;
	int rc = take_uint(d, &n, size);

	if (rc)
		return rc;
	if (size == 4 && (n & 0x80000000u))
		return fail(d, CONN_EPROTO, "negative byte count");
	rc = take(d, &p, n);
	if (!rc)
		rc = python2_str(d, (const char *)p, (size_t)n);
	return rc ? rc : push_text(d, K_STR, p, (size_t)n, false);
}

static int op_unicode(struct decoder *d)
{
	struct text t;
	uint8_t *text;
	size_t n = 0;
	int rc = take_line(d, &t);

	if (rc)
		return rc;
	text = malloc(2 * t.n + 1);
	if (text == NULL)
		return no_memory(d);
	rc = raw_unicode_escape(d, text, &n, t.p, t.n);
	if (rc) {
		free(text);
		return rc;
	}
	return push_text(d, K_STR, text, n, true);
}

static int op_binunicode(struct decoder *d, size_t size)
{
	const uint8_t *p;
	uint64_t n;
	size_t bad;
	int rc = take_uint(d, &n, size);

	if (!rc)
		rc = take(d, &p, n);
	if (rc)
		return rc;
	bad = utf8_check(p, (size_t)n);
	if (bad != n)
		return fail(d, CONN_EPROTO, "the str is not UTF-8 (byte %zu "
			    "of %llu)", bad, (unsigned long long)n);
	return push_text(d, K_STR, p, (size_t)n, false);
}

static int op_binbytes(struct decoder *d, size_t size, enum kind kind)
{
	const uint8_t *p;
	uint64_t n;
	int rc = take_uint(d, &n, size);

	if (!rc)
		rc = take(d, &p, n);
	return rc ? rc : push_text(d, kind, p, (size_t)n, false);
}

/* ------------------------------------------------------------- numbers */

/*
 * INT as CPython's C unpickler reads it: strtol() with base 0 first (so
 * 010 is 8), Python's int(text, 0) when that fails; and a two-character
 * line that reads 0 or 1 is a bool, which is how protocols 0 and 1 write
 * False and True ("00", "01").
 */
static int op_int(struct decoder *d)
{
	struct node *n;
	struct text t;
	char *text, *end;
	long long v;
	bool plain;
	int rc = take_line(d, &t);

	if (rc)
		return rc;
	if (t.n == 0)
		return fail(d, CONN_EPROTO, "invalid literal for int()");
	text = strndup(t.p, t.n);
	if (text == NULL)
		return no_memory(d);
	errno = 0;
	v = strtoll(text, &end, 0);
	rc = errno || *end != '\0' || memchr(t.p, '\0', t.n);
	free(text);
	if (!rc && t.n == 2 && (v == 0 || v == 1)) {
		n = v ? &node_true : &node_false;
		d->arg.kind = ARG_NODE;
		d->arg.node = n;
		return push(d, n);
	}
	plain = !rc;
	rc = push_value(d, &n, K_INT);
	if (rc || !plain)
		return rc ? rc : int_from_text(d, n, t.p, t.n, 0);
	n->u.i.v = v;
	return 0;
}

/* LONG: int(text, 0) of the line less a final L (Python 2's long). */
static int op_long(struct decoder *d)
{
	struct node *n;
	struct text t;
	int rc = take_line(d, &t);

	if (rc)
		return rc;
	if (t.n > 0 && t.p[t.n - 1] == 'L')
		t.n--;
	rc = push_value(d, &n, K_INT);
	return rc ? rc : int_from_text(d, n, t.p, t.n, 0);
}

/* BININT (signed), BININT1 and BININT2 (unsigned). */
static int op_binint(struct decoder *d, size_t size)
{
	struct node *n;
	uint64_t v;
	int rc = take_uint(d, &v, size);

	if (!rc)
		rc = push_value(d, &n, K_INT);
	if (rc)
		return rc;
	n->u.i.v = size == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
	return 0;
}

static int op_long_binary(struct decoder *d, size_t size)
{
	const uint8_t *p;
	struct node *n;
	uint64_t len;
	int rc = take_uint(d, &len, size);

	if (rc)
		return rc;
	if (size == 4 && (len & 0x80000000u))
		return fail(d, CONN_EPROTO, "negative byte count");
	rc = take(d, &p, len);
	if (!rc)
		rc = push_value(d, &n, K_INT);
	return rc ? rc : int_from_le(d, n, p, (size_t)len);
}

/* Whether a float literal spells an infinity rather than overflowing. */
static bool is_inf_word(const char *p, size_t n)
{
	size_t i = n > 0 && (p[0] == '+' || p[0] == '-');

	return i < n && (p[i] == 'i' || p[i] == 'I');
}

static int op_float(struct decoder *d)
{
	struct node *n;
	struct text t;
	char *text;
	double x;
	int rc = take_line(d, &t);

	if (rc)
		return rc;
	if (!float_syntax(t.p, t.n))
		return fail(d, CONN_EPROTO, "could not convert string to "
			    "float");
	text = strndup(t.p, t.n);
	if (text == NULL)
		return no_memory(d);
	x = strtod(text, NULL);
	free(text);
	if (isinf(x) && !is_inf_word(t.p, t.n))
		return fail(d, CONN_EPROTO, "FLOAT out of range");
	rc = push_value(d, &n, K_FLOAT);
	if (!rc)
		n->u.f.v = x;
	return rc;
}

static int op_binfloat(struct decoder *d)
{
	const uint8_t *p;
	struct node *n;
	uint64_t bits = 0;
	int rc = take(d, &p, 8);
	size_t i;

	if (!rc)
		rc = push_value(d, &n, K_FLOAT);
	if (rc)
		return rc;
	for (i = 0; i < 8; i++)	/* big-endian, unlike the rest */
		bits = bits << 8 | p[i];
	memcpy(&n->u.f.v, &bits, sizeof(bits));
	return 0;
}

/* ----------------------------------------------------------- containers */

static int op_empty(struct decoder *d, enum kind kind)
{
	struct node *n;
	int rc = node_new(d, &n, kind);

	return rc ? rc : push(d, n);
}

/* TUPLE, LIST, DICT and FROZENSET: the items since the last MARK. */
static int op_collect(struct decoder *d, enum kind kind)
{
	struct node *n, **items;
	size_t start, count, i;
	int rc = pop_mark(d, &start);

	if (rc)
		return rc;
	count = d->nstack - start;
	/* The stack is NULL until something is pushed: NULL + 0 is UB. */
	items = count ? d->stack + start : NULL;
	if (kind == K_TUPLE) {
		rc = pop_tuple(d, &n, count);
		return rc ? rc : push(d, n);
	}
	if (kind == K_DICT && count % 2)
		return fail(d, CONN_EPROTO, "odd number of items for DICT");
	rc = node_new(d, &n, kind);
	for (i = 0; !rc && i < count; i += kind == K_DICT ? 2 : 1) {
		if (kind == K_LIST)
			rc = list_append(d, n, items[i]);
		else if (kind == K_DICT)
			rc = dict_set(d, n, items[i], items[i + 1]);
		else
			rc = set_add(d, n, items[i]);
	}
	if (rc)
		return rc;
	if (kind == K_FROZENSET)
		frozenset_seal(n);
	d->nstack = start;
	return push(d, n);
}

static int op_tuple_n(struct decoder *d, size_t count)
{
	struct node *n;
	int rc = need(d, count);

	if (!rc)
		rc = pop_tuple(d, &n, count);
	return rc ? rc : push(d, n);
}

/* list.append(item), or extend() on an opaque object. */
static int append_to(struct decoder *d, struct node *target,
		     struct node *item)
{
	if (target->kind == K_LIST)
		return list_append(d, target, item);
	if (is_opaque(target))
		return effect_add(d, target, EFFECT_EXTEND, item, NULL);
	return fail(d, CONN_EPROTO, "'%s' object has no attribute 'append'",
		    kind_names[target->kind]);
}

static int setitem_to(struct decoder *d, struct node *target,
		      struct node *key, struct node *value)
{
	if (target->kind == K_DICT)
		return dict_set(d, target, key, value);
	if (is_opaque(target))
		return effect_add(d, target, EFFECT_SETITEM, key, value);
	return fail(d, CONN_EPROTO, "'%s' object does not support item "
		    "assignment", kind_names[target->kind]);
}

static int add_to(struct decoder *d, struct node *target, struct node *item)
{
	if (target->kind == K_SET)
		return set_add(d, target, item);
	if (is_opaque(target))
		return effect_add(d, target, EFFECT_ADD, item, NULL);
	return fail(d, CONN_EPROTO, "'%s' object has no attribute 'add'",
		    kind_names[target->kind]);
}

static int op_append(struct decoder *d)
{
	struct node *item;
	int rc = need(d, 2);

	if (rc)
		return rc;
	item = pop(d);
	return append_to(d, top(d), item);
}

static int op_setitem(struct decoder *d)
{
	struct node *key, *value;
	int rc = need(d, 3);

	if (rc)
		return rc;
	value = pop(d);
	key = pop(d);
	return setitem_to(d, top(d), key, value);
}

/* APPENDS, SETITEMS and ADDITEMS: the slice since the MARK goes into
 * the object below the MARK. */
static int op_batch(struct decoder *d, int op)
{
	struct node *target;
	size_t start, i;
	int rc = pop_mark_target(d, &start, &target);

	if (rc)
		return rc;
	if (op == OP_SETITEMS && (d->nstack - start) % 2)
		return fail(d, CONN_EPROTO, "odd number of items for "
			    "SETITEMS");
	for (i = start; !rc && i < d->nstack; i += op == OP_SETITEMS ? 2 : 1) {
		if (op == OP_APPENDS)
			rc = append_to(d, target, d->stack[i]);
		else if (op == OP_ADDITEMS)
			rc = add_to(d, target, d->stack[i]);
		else
			rc = setitem_to(d, target, d->stack[i],
					d->stack[i + 1]);
	}
	d->nstack = start;
	return rc;
}

/* BUILD: __setstate__ on an opaque object; builtin values have none, and
 * CPython refuses any state but None for them. */
static int op_build(struct decoder *d)
{
	struct node *state, *target;
	int rc = need(d, 2);

	if (rc)
		return rc;
	state = pop(d);
	target = top(d);
	if (is_opaque(target))
		return effect_add(d, target, EFFECT_STATE, state, NULL);
	if (state == &node_none)
		return 0;
	return fail(d, CONN_EPROTO, "'%s' object has no __dict__ for the "
		    "state", kind_names[target->kind]);
}

/* ---------------------------------------------------------------- stack */

static int op_mark(struct decoder *d)
{
	struct mark *marks;

	if (d->nmarks >= CONN_PICKLE_MAX_DEPTH)
		return fail(d, CONN_ETOOBIG, "more than %d nested MARKs",
			    CONN_PICKLE_MAX_DEPTH);
	marks = grow(d->marks, &d->marks_cap, d->nmarks + 1, sizeof(*marks));
	if (marks == NULL)
		return no_memory(d);
	d->marks = marks;
	d->marks[d->nmarks++] = (struct mark){ d->nstack, d->op_pos };
	return 0;
}

/* POP drops a MARK when one is on top, as CPython's C unpickler does. */
static int op_pop(struct decoder *d)
{
	size_t start;
	int rc;

	if (d->nmarks && d->marks[d->nmarks - 1].depth == d->nstack)
		return pop_mark(d, &start);
	rc = need(d, 1);
	if (!rc)
		pop(d);
	return rc;
}

static int op_pop_mark(struct decoder *d)
{
	size_t start;
	int rc = pop_mark(d, &start);

	if (!rc)
		d->nstack = start;
	return rc;
}

static int op_dup(struct decoder *d)
{
	int rc = need(d, 1);

	return rc ? rc : push(d, top(d));
}

/* A memo index as text: int(text, 10), which must not be negative;
 * indexes past 64 bits saturate (no memo is that big). */
static int index_from_text(struct decoder *d, uint64_t *index, struct text t)
{
	char *digits = malloc(t.n + 1);
	size_t count = 0, i;
	bool negative, valid;
	int radix;

	if (digits == NULL)
		return no_memory(d);
	valid = int_syntax(t.p, t.n, 10, &negative, &radix, digits, &count);
	*index = 0;
	for (i = 0; i < count; i++)
		*index = *index > UINT64_MAX / 10 - 1 ? UINT64_MAX
			 : *index * 10 + (uint64_t)(digits[i] - '0');
	free(digits);
	if (!valid)
		return fail(d, CONN_EPROTO, "invalid literal for int()");
	if (negative && *index != 0)
		return fail(d, CONN_EPROTO, "negative memo index");
	return 0;
}

/* GET, BINGET, LONG_BINGET, PUT, BINPUT and LONG_BINPUT: a memo index
 * as decimal text (size 0) or little-endian. */
static int take_index(struct decoder *d, uint64_t *index, size_t size)
{
	struct text t;
	int rc;

	if (size)
		rc = take_uint(d, index, size);
	else
		rc = take_line(d, &t);
	if (!rc && !size)
		rc = index_from_text(d, index, t);
	d->arg.kind = ARG_INT;
	d->arg.v = rc ? 0 : *index;
	return rc;
}

static int op_get(struct decoder *d, size_t size)
{
	uint64_t index;
	int rc = take_index(d, &index, size);

	return rc ? rc : memo_get(d, index);
}

static int op_put(struct decoder *d, size_t size)
{
	uint64_t index;
	int rc = take_index(d, &index, size);

	return rc ? rc : memo_put(d, index);
}

static int op_memoize(struct decoder *d)
{
	d->memoized_as = (long)d->memo_count;
	return memo_put(d, d->memo_count);
}

/* -------------------------------------------------------- globals, calls */

static int op_global(struct decoder *d)
{
	struct text module, name;
	int rc = take_line(d, &module);

	if (!rc)
		rc = take_line(d, &name);
	if (rc)
		return rc;
	d->arg.kind = ARG_PAIR;
	d->arg.t1 = module;
	d->arg.t2 = name;
	return push_global(d, module, name);
}

static int op_stack_global(struct decoder *d)
{
	struct node *module, *name;
	int rc = need(d, 2);

	if (rc)
		return rc;
	name = pop(d);
	module = pop(d);
	if (module->kind != K_STR || name->kind != K_STR)
		return fail(d, CONN_EPROTO, "STACK_GLOBAL requires str");
	return push_global(d, module->u.s, name->u.s);
}

static int op_reduce(struct decoder *d)
{
	struct node *func, *args;
	int rc = need(d, 2);

	if (rc)
		return rc;
	args = pop(d);
	func = pop(d);
	return push_call(d, func, args);
}

/* INST: module and name lines, the arguments since the MARK. */
static int op_inst(struct decoder *d)
{
	struct node *func, *args;
	size_t start;
	int rc = op_global(d);

	if (rc)
		return rc;
	func = pop(d);
	rc = pop_mark(d, &start);
	if (!rc)
		rc = pop_tuple(d, &args, d->nstack - start);
	return rc ? rc : push_call(d, func, args);
}

/* OBJ: the class and its arguments, all since the MARK. */
static int op_obj(struct decoder *d)
{
	struct node *cls, *args;
	size_t start;
	int rc = pop_mark(d, &start);

	if (rc)
		return rc;
	if (d->nstack - start < 1)
		return fail(d, CONN_EPROTO, "stack underflow: no class after "
			    "the MARK");
	rc = pop_tuple(d, &args, d->nstack - start - 1);
	if (rc)
		return rc;
	cls = pop(d);
	return push_call(d, cls, args);
}

static int op_newobj(struct decoder *d, bool ex)
{
	struct node *cls, *args, *kwargs = NULL, *n;
	int rc = need(d, ex ? 3 : 2);

	if (rc)
		return rc;
	if (ex)
		kwargs = pop(d);
	args = pop(d);
	cls = pop(d);
	if (args->kind != K_TUPLE)
		return fail(d, CONN_EPROTO, "the arguments are a %s, not a "
			    "tuple", kind_names[args->kind]);
	if (kwargs != NULL && kwargs->kind != K_DICT)
		return fail(d, CONN_EPROTO, "the keyword arguments are a %s, "
			    "not a dict", kind_names[kwargs->kind]);
	rc = kwargs ? 0 : make_new(d, &n, cls, args);
	if (!rc && (kwargs || n == NULL))
		rc = call_node(d, &n, CALL_NEWOBJ, cls, args, kwargs);
	return rc ? rc : push(d, n);
}

static int op_persid(struct decoder *d)
{
	struct node *pid, *n;
	struct text t;
	int rc = take_line(d, &t);

	if (rc)
		return rc;
	if (!is_ascii(t.p, t.n))
		return fail(d, CONN_EPROTO, "persistent IDs in protocol 0 "
			    "must be ASCII strings");
	d->arg.kind = ARG_TEXT;
	d->arg.t1 = t;
	rc = node_new(d, &pid, K_STR);
	if (!rc)
		rc = node_new(d, &n, K_PERSID);
	if (rc)
		return rc;
	pid->u.s = t;
	n->u.pid = pid;
	return push(d, n);
}

static int op_binpersid(struct decoder *d)
{
	struct node *n;
	int rc = need(d, 1);

	if (!rc)
		rc = node_new(d, &n, K_PERSID);
	if (rc)
		return rc;
	n->u.pid = pop(d);
	return push(d, n);
}

static int op_ext(struct decoder *d, size_t size)
{
	struct node *n;
	uint64_t v;
	int64_t code;
	int rc = take_uint(d, &v, size);

	if (rc)
		return rc;
	code = size == 4 ? (int32_t)(uint32_t)v : (int64_t)v;
	d->arg.kind = ARG_INT;
	d->arg.v = (uint64_t)code;
	if (code <= 0)
		return fail(d, CONN_EPROTO, "EXT specifies code <= 0");
	rc = node_new(d, &n, K_EXT);
	if (rc)
		return rc;
	n->u.code = code;
	return push(d, n);
}

/* ----------------------------------------------------------- framing */

static int op_proto(struct decoder *d)
{
	uint64_t v;
	int rc = take_uint(d, &v, 1);

	if (rc)
		return rc;
	d->arg.kind = ARG_INT;
	d->arg.v = v;
	if (v > PROTOCOL_MAX)
		return fail(d, CONN_EPROTO, "unsupported pickle protocol: %d",
			    (int)v);
	d->proto = (int)v;
	return 0;
}

/* FRAME only announces what follows; CPython checks it is all there. */
static int op_frame(struct decoder *d)
{
	uint64_t v;
	int rc = take_uint(d, &v, 8);

	if (rc)
		return rc;
	d->arg.kind = ARG_INT;
	d->arg.v = v;
	if (v > left(d))
		return fail(d, CONN_EPROTO, "the pickle ends inside the "
			    "frame (%llu bytes announced, %zu left)",
			    (unsigned long long)v, left(d));
	return 0;
}

static int op_readonly_buffer(struct decoder *d)
{
	int rc = need(d, 1);

	if (!rc && top(d)->kind == K_BUFFER)
		top(d)->readonly = true;
	return rc;
}

static int op_stop(struct decoder *d)
{
	int rc = need(d, 1);

	if (!rc)
		d->result = pop(d);
	return rc;
}

/* Runs one opcode whose byte was just read. */
static int step(struct decoder *d, int op)
{
	switch (op) {
	case OP_MARK: return op_mark(d);
	case OP_STOP: return op_stop(d);
	case OP_POP: return op_pop(d);
	case OP_POP_MARK: return op_pop_mark(d);
	case OP_DUP: return op_dup(d);
	case OP_FLOAT: return op_float(d);
	case OP_INT: return op_int(d);
	case OP_BININT: return op_binint(d, 4);
	case OP_BININT1: return op_binint(d, 1);
	case OP_LONG: return op_long(d);
	case OP_BININT2: return op_binint(d, 2);
	case OP_NONE: return push(d, &node_none);
	case OP_PERSID: return op_persid(d);
	case OP_BINPERSID: return op_binpersid(d);
	case OP_REDUCE: return op_reduce(d);
	case OP_STRING: return op_string(d);
	case OP_BINSTRING: return op_binstring(d, 4);
	case OP_SHORT_BINSTRING: return op_binstring(d, 1);
	case OP_UNICODE: return op_unicode(d);
	case OP_BINUNICODE: return op_binunicode(d, 4);
	case OP_APPEND: return op_append(d);
	case OP_BUILD: return op_build(d);
	case OP_GLOBAL: return op_global(d);
	case OP_DICT: return op_collect(d, K_DICT);
	case OP_EMPTY_DICT: return op_empty(d, K_DICT);
	case OP_APPENDS: return op_batch(d, op);
	case OP_GET: return op_get(d, 0);
	case OP_BINGET: return op_get(d, 1);
	case OP_INST: return op_inst(d);
	case OP_LONG_BINGET: return op_get(d, 4);
	case OP_LIST: return op_collect(d, K_LIST);
	case OP_EMPTY_LIST: return op_empty(d, K_LIST);
	case OP_OBJ: return op_obj(d);
	case OP_PUT: return op_put(d, 0);
	case OP_BINPUT: return op_put(d, 1);
	case OP_LONG_BINPUT: return op_put(d, 4);
	case OP_SETITEM: return op_setitem(d);
	case OP_TUPLE: return op_collect(d, K_TUPLE);
	case OP_EMPTY_TUPLE: return push(d, &node_empty_tuple);
	case OP_SETITEMS: return op_batch(d, op);
	case OP_BINFLOAT: return op_binfloat(d);
	case OP_BINBYTES: return op_binbytes(d, 4, K_BYTES);
	case OP_SHORT_BINBYTES: return op_binbytes(d, 1, K_BYTES);
	case OP_PROTO: return op_proto(d);
	case OP_NEWOBJ: return op_newobj(d, false);
	case OP_EXT1: return op_ext(d, 1);
	case OP_EXT2: return op_ext(d, 2);
	case OP_EXT4: return op_ext(d, 4);
	case OP_TUPLE1: return op_tuple_n(d, 1);
	case OP_TUPLE2: return op_tuple_n(d, 2);
	case OP_TUPLE3: return op_tuple_n(d, 3);
	case OP_NEWTRUE: return push(d, &node_true);
	case OP_NEWFALSE: return push(d, &node_false);
	case OP_LONG1: return op_long_binary(d, 1);
	case OP_LONG4: return op_long_binary(d, 4);
	case OP_SHORT_BINUNICODE: return op_binunicode(d, 1);
	case OP_BINUNICODE8: return op_binunicode(d, 8);
	case OP_BINBYTES8: return op_binbytes(d, 8, K_BYTES);
	case OP_EMPTY_SET: return op_empty(d, K_SET);
	case OP_ADDITEMS: return op_batch(d, op);
	case OP_FROZENSET: return op_collect(d, K_FROZENSET);
	case OP_NEWOBJ_EX: return op_newobj(d, true);
	case OP_STACK_GLOBAL: return op_stack_global(d);
	case OP_MEMOIZE: return op_memoize(d);
	case OP_FRAME: return op_frame(d);
	case OP_BYTEARRAY8: return op_binbytes(d, 8, K_BYTEARRAY);
	case OP_NEXT_BUFFER: return op_empty(d, K_BUFFER);
	case OP_READONLY_BUFFER: return op_readonly_buffer(d);
	default:
		d->op = -1;
		return fail(d, CONN_EPROTO, "unknown opcode 0x%02x", op);
	}
}

/* ----------------------------------------------------------------- REPR */

/* A walk over the graph: REPR or JSON into o. */
struct render {
	struct out *o;
	bool too_deep;		/* o->err is CONN_ETOOBIG for the depth */
};

static bool enter(struct render *r, int depth)
{
	if (r->o->err)
		return false;
	if (depth > CONN_PICKLE_MAX_DEPTH) {
		r->o->err = CONN_ETOOBIG;
		r->too_deep = true;
		return false;
	}
	return true;
}

/* str.isprintable() for one character. */
static bool is_printable(uint32_t cp)
{
	size_t lo = 0, hi = COUNT(unprintable_ranges), mid;

	if (cp < 0x7f)
		return cp >= 0x20;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (cp < unprintable_ranges[mid][0])
			hi = mid;
		else if (cp > unprintable_ranges[mid][1])
			lo = mid + 1;
		else
			return false;
	}
	return true;
}

/* One character as repr() writes it inside quotes (quote: 0 for none). */
static void repr_char(struct out *o, uint32_t cp, const uint8_t *utf8,
		      size_t len, char quote)
{
	if (cp == '\\' || (quote && cp == (uint32_t)quote)) {
		out_char(o, '\\');
		out_char(o, (char)cp);
	} else if (cp == '\t') {
		out_str(o, "\\t");
	} else if (cp == '\n') {
		out_str(o, "\\n");
	} else if (cp == '\r') {
		out_str(o, "\\r");
	} else if (is_printable(cp)) {
		out_put(o, utf8, len);
	} else if (cp < 0x100) {
		out_fmt(o, "\\x%02x", cp);
	} else if (cp < 0x10000) {
		out_fmt(o, "\\u%04x", cp);
	} else {
		out_fmt(o, "\\U%08x", cp);
	}
}

/* Single quotes, unless the text has ' and no ": repr()'s choice. */
static char pick_quote(const char *p, size_t n)
{
	return n > 0 && memchr(p, '\'', n) && !memchr(p, '"', n) ? '"' : '\'';
}

/* The characters of UTF-8 text p as repr() writes them, quote or not. */
static void repr_chars(struct out *o, const char *p, size_t n, char quote)
{
	const uint8_t *u = (const uint8_t *)p;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n && !o->err) {
		len = utf8_decode(u + i, n - i, &cp);
		if (len == 0)	/* cannot happen: texts are checked */
			len = 1, cp = 0xfffd;
		repr_char(o, cp, u + i, len, quote);
		i += len;
	}
}

static void repr_str(struct out *o, const char *p, size_t n)
{
	char quote = pick_quote(p, n);

	out_char(o, quote);
	repr_chars(o, p, n, quote);
	out_char(o, quote);
}

/* bytes.__repr__, or bytearray's, which escapes ' whatever its quotes. */
static void repr_bytes(struct out *o, const char *p, size_t n,
		       bool bytearray)
{
	char quote = pick_quote(p, n);
	size_t i;

	out_str(o, "b");
	out_char(o, quote);
	for (i = 0; i < n && !o->err; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\' || c == (unsigned char)quote ||
		    (bytearray && c == '\'')) {
			out_char(o, '\\');
			out_char(o, (char)c);
		} else if (c == '\t' || c == '\n' || c == '\r') {
			out_str(o, c == '\t' ? "\\t" : c == '\n' ? "\\n"
								 : "\\r");
		} else if (c < 0x20 || c >= 0x7f) {
			out_fmt(o, "\\x%02x", c);
		} else {
			out_char(o, (char)c);
		}
	}
	out_char(o, quote);
}

static void repr_int(struct out *o, const struct node *n)
{
	if (n->u.i.digits)
		out_str(o, n->u.i.digits);
	else
		out_fmt(o, "%lld", (long long)n->u.i.v);
}

/*
 * Puts a float's or complex's text, and keeps it in *repr when the node is
 * rendered a second time: shortest digits cost microseconds, and a pickle
 * of a few hundred bytes can share one value millions of times over (the
 * memo).  Values rendered once, most of them, keep nothing.  text is made
 * and read only while *repr is NULL.
 */
static void out_shared(struct out *o, struct node *n, char **repr,
		       const char *text)
{
	if (*repr == NULL && n->rendered && (*repr = strdup(text)) == NULL) {
		if (!o->err)
			o->err = CONN_ENOMEM;
		return;
	}
	n->rendered = true;
	out_str(o, *repr != NULL ? *repr : text);
}

static void repr_float(struct out *o, struct node *n)
{
	char text[40];

	if (n->u.f.repr == NULL)
		float_format(text, n->u.f.v, true, false);
	out_shared(o, n, &n->u.f.repr, text);
}

/* complex.__repr__: "2j" when the real part is +0, else "(1+2j)". */
static void repr_complex(struct out *o, struct node *n)
{
	double re = n->u.c.re, im = n->u.c.im;
	char text[96], a[40], b[40];

	if (n->u.c.repr == NULL) {
		float_format(b, im, false, re != 0 || signbit(re));
		if (re == 0 && !signbit(re)) {
			snprintf(text, sizeof(text), "%sj", b);
		} else {
			float_format(a, re, false, false);
			snprintf(text, sizeof(text), "(%s%sj)", a, b);
		}
	}
	out_shared(o, n, &n->u.c.repr, text);
}

/* A global's dotted name, its unprintable characters escaped. */
static void repr_dotted(struct out *o, const struct node *g)
{
	repr_chars(o, g->u.g.module.p, g->u.g.module.n, 0);
	out_char(o, '.');
	repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
}

static void repr_node(struct render *r, struct node *n, int depth);

/* Items of a sequence, comma-separated. */
static void repr_items(struct render *r, struct node **items, size_t count,
		       int depth)
{
	size_t i;

	for (i = 0; i < count && !r->o->err; i++) {
		if (i)
			out_str(r->o, ", ");
		repr_node(r, items[i], depth);
	}
}

static void repr_dict_items(struct render *r, const struct node *n,
			    int depth)
{
	size_t i;

	for (i = 0; i < n->u.seq.n && !r->o->err; i++) {
		if (i)
			out_str(r->o, ", ");
		repr_node(r, n->u.seq.items[2 * i], depth);
		out_str(r->o, ": ");
		repr_node(r, n->u.seq.items[2 * i + 1], depth);
	}
}

/* OrderedDict as CPython 3.11 prints it: OrderedDict([(k, v), ...]). */
static void repr_ordered_dict(struct render *r, const struct node *n,
			      int depth)
{
	size_t i;

	if (n->u.seq.n == 0) {
		out_str(r->o, "OrderedDict()");
		return;
	}
	out_str(r->o, "OrderedDict([");
	for (i = 0; i < n->u.seq.n && !r->o->err; i++) {
		out_str(r->o, i ? ", (" : "(");
		repr_node(r, n->u.seq.items[2 * i], depth);
		out_str(r->o, ", ");
		repr_node(r, n->u.seq.items[2 * i + 1], depth);
		out_char(r->o, ')');
	}
	out_str(r->o, "])");
}

static void repr_set(struct render *r, const struct node *n, int depth)
{
	const char *name = n->kind == K_SET ? "set" : "frozenset";

	if (n->u.seq.n == 0) {
		out_fmt(r->o, "%s()", name);
		return;
	}
	if (n->kind == K_FROZENSET)
		out_str(r->o, "frozenset(");
	out_char(r->o, '{');
	repr_items(r, n->u.seq.items, n->u.seq.n, depth);
	out_char(r->o, '}');
	if (n->kind == K_FROZENSET)
		out_char(r->o, ')');
}

/* The text for calling n: a global's dotted name, else its rendering. */
static void repr_callable(struct render *r, struct node *n, int depth)
{
	if (n->kind == K_GLOBAL)
		repr_dotted(r->o, n);
	else
		repr_node(r, n, depth);
}

static bool is_identifier(struct text t)
{
	size_t i;

	if (t.n == 0 || (t.p[0] >= '0' && t.p[0] <= '9'))
		return false;
	for (i = 0; i < t.n; i++)
		if (!(t.p[i] == '_' || (t.p[i] >= 'a' && t.p[i] <= 'z') ||
		      (t.p[i] >= 'A' && t.p[i] <= 'Z') ||
		      (t.p[i] >= '0' && t.p[i] <= '9')))
			return false;
	return true;
}

/* NEWOBJ_EX's keyword arguments: key=value, or **{...} if the keys are
 * not all identifiers. */
static void repr_kwargs(struct render *r, struct node *kwargs, int depth)
{
	size_t i;

	for (i = 0; i < kwargs->u.seq.n; i++) {
		struct node *key = kwargs->u.seq.items[2 * i];

		if (key->kind != K_STR || !is_identifier(key->u.s)) {
			out_str(r->o, "**");
			repr_node(r, kwargs, depth);
			return;
		}
	}
	for (i = 0; i < kwargs->u.seq.n && !r->o->err; i++) {
		if (i)
			out_str(r->o, ", ");
		out_put(r->o, kwargs->u.seq.items[2 * i]->u.s.p,
			kwargs->u.seq.items[2 * i]->u.s.n);
		out_char(r->o, '=');
		repr_node(r, kwargs->u.seq.items[2 * i + 1], depth);
	}
}

/* range(a, b, 1) and slice(a, b, c) as their reprs: the call without
 * "builtins.", range without a step of 1. */
static bool repr_range_or_slice(struct render *r, struct node *n, int depth)
{
	struct node *args = n->u.call.args, *f = n->u.call.func;
	size_t count = args->u.seq.n;
	bool range = global_is(f, "builtins", "range");

	if ((!range && !global_is(f, "builtins", "slice")) || count != 3 ||
	    n->u.call.form == CALL_NEWOBJ ||
	    (n->u.call.kwargs && n->u.call.kwargs->u.seq.n))
		return false;
	if (range && args->u.seq.items[2]->kind == K_INT &&
	    args->u.seq.items[2]->u.i.digits == NULL &&
	    args->u.seq.items[2]->u.i.v == 1)
		count = 2;
	out_str(r->o, range ? "range(" : "slice(");
	repr_items(r, args->u.seq.items, count, depth);
	out_char(r->o, ')');
	return true;
}

static void repr_call(struct render *r, struct node *n, int depth)
{
	struct node *args = n->u.call.args, *kwargs = n->u.call.kwargs;

	if (repr_range_or_slice(r, n, depth))
		return;
	repr_callable(r, n->u.call.func, depth);
	if (n->u.call.form == CALL_NEWOBJ) {
		out_str(r->o, ".__new__(");
		repr_callable(r, n->u.call.func, depth);
		if (args->u.seq.n)
			out_str(r->o, ", ");
	} else {
		out_char(r->o, '(');
	}
	repr_items(r, args->u.seq.items, args->u.seq.n, depth);
	if (kwargs != NULL && kwargs->u.seq.n) {
		if (args->u.seq.n || n->u.call.form == CALL_NEWOBJ)
			out_str(r->o, ", ");
		repr_kwargs(r, kwargs, depth);
	}
	out_char(r->o, ')');
}

/* What APPEND, SETITEM(S), ADDITEMS and BUILD did to an opaque object,
 * runs of one kind merged into one method call. */
static void repr_effects(struct render *r, const struct effects *e,
			 int depth)
{
	static const char *const opens[] = {
		[EFFECT_EXTEND] = ".extend([", [EFFECT_SETITEM] = ".update({",
		[EFFECT_ADD] = ".update({", [EFFECT_STATE] = ".__setstate__(",
	};
	static const char *const closes[] = {
		[EFFECT_EXTEND] = "])", [EFFECT_SETITEM] = "})",
		[EFFECT_ADD] = "})", [EFFECT_STATE] = ")",
	};
	size_t i;

	for (i = 0; i < e->n && !r->o->err; i++) {
		const struct effect *f = &e->v[i];
		bool first = i == 0 || e->v[i - 1].kind != f->kind ||
			     f->kind == EFFECT_STATE;
		bool last = i + 1 == e->n || e->v[i + 1].kind != f->kind ||
			    f->kind == EFFECT_STATE;

		out_str(r->o, first ? opens[f->kind] : ", ");
		repr_node(r, f->a, depth);
		if (f->kind == EFFECT_SETITEM) {
			out_str(r->o, ": ");
			repr_node(r, f->b, depth);
		}
		if (last)
			out_str(r->o, closes[f->kind]);
	}
}

/* The functions of builtins (CPython 3.11), whose repr is not a class's. */
static const char *const builtin_functions[] = {
	"__build_class__", "__import__", "abs", "aiter", "all", "anext", "any",
	"ascii", "bin", "breakpoint", "callable", "chr", "compile", "delattr",
	"dir", "divmod", "eval", "exec", "format", "getattr", "globals",
	"hasattr", "hash", "hex", "id", "input", "isinstance", "issubclass",
	"iter", "len", "locals", "max", "min", "next", "oct", "open", "ord",
	"pow", "print", "repr", "round", "setattr", "sorted", "sum", "vars",
};

static bool is_builtin_function(const struct node *g)
{
	size_t i;

	if (global_is(g, "io", "open"))
		return true;
	for (i = 0; i < sizeof(builtin_functions) / sizeof(*builtin_functions);
	     i++)
		if (global_is(g, "builtins", builtin_functions[i]))
			return true;
	return false;
}

/* A global as its repr: <class 'name'> for builtins (we cannot know it is
 * a class, but nearly all are), the few builtins repr shows otherwise as
 * CPython does, <class 'module.name'> for the rest. */
static void repr_global(struct out *o, const struct node *g)
{
	if (global_is(g, "builtins", "Ellipsis") ||
	    global_is(g, "builtins", "NotImplemented")) {
		repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
		return;
	}
	if (is_builtin_function(g)) {
		out_str(o, "<built-in function ");
		repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
		out_char(o, '>');
		return;
	}
	out_str(o, "<class '");
	if (text_is(g->u.g.module, "builtins"))
		repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
	else
		repr_dotted(o, g);
	out_str(o, "'>");
}

static void repr_opaque(struct render *r, struct node *n, int depth)
{
	switch (n->kind) {
	case K_GLOBAL:
		repr_global(r->o, n);
		break;
	case K_CALL:
		repr_call(r, n, depth);
		break;
	case K_PERSID:
		out_str(r->o, "persistent_load(");
		repr_node(r, n->u.pid, depth);
		out_char(r->o, ')');
		break;
	case K_EXT:
		out_fmt(r->o, "extension(%lld)", (long long)n->u.code);
		break;
	default:
		out_str(r->o, n->readonly ? "<read-only out-of-band buffer>"
					  : "<out-of-band buffer>");
		break;
	}
	if (n->effects != NULL)
		repr_effects(r, n->effects, depth);
}

/* What CPython prints for a container met again while being printed. */
static const char *recursion_text(const struct node *n)
{
	switch (n->kind) {
	case K_LIST: return "[...]";
	case K_TUPLE: return "(...)";
	case K_DICT: return n->ordered ? "..." : "{...}";
	case K_SET: return "set(...)";
	case K_FROZENSET: return "frozenset(...)";
	default: return "...";
	}
}

static void repr_container(struct render *r, struct node *n, int depth)
{
	switch (n->kind) {
	case K_TUPLE:
		out_char(r->o, '(');
		repr_items(r, n->u.seq.items, n->u.seq.n, depth);
		out_str(r->o, n->u.seq.n == 1 ? ",)" : ")");
		break;
	case K_LIST:
		out_char(r->o, '[');
		repr_items(r, n->u.seq.items, n->u.seq.n, depth);
		out_char(r->o, ']');
		break;
	case K_DICT:
		if (n->ordered) {
			repr_ordered_dict(r, n, depth);
			break;
		}
		out_char(r->o, '{');
		repr_dict_items(r, n, depth);
		out_char(r->o, '}');
		break;
	case K_SET: case K_FROZENSET:
		repr_set(r, n, depth);
		break;
	default:
		repr_opaque(r, n, depth);
		break;
	}
}

static void repr_node(struct render *r, struct node *n, int depth)
{
	if (!enter(r, depth))
		return;
	switch (n->kind) {
	case K_NONE: out_str(r->o, "None"); return;
	case K_BOOL: out_str(r->o, n->u.b ? "True" : "False"); return;
	case K_INT: repr_int(r->o, n); return;
	case K_FLOAT: repr_float(r->o, n); return;
	case K_COMPLEX: repr_complex(r->o, n); return;
	case K_STR: repr_str(r->o, n->u.s.p, n->u.s.n); return;
	case K_BYTES: repr_bytes(r->o, n->u.s.p, n->u.s.n, false); return;
	case K_BYTEARRAY:
		out_str(r->o, "bytearray(");
		repr_bytes(r->o, n->u.s.p, n->u.s.n, true);
		out_char(r->o, ')');
		return;
	default:
		break;
	}
	if (n->busy) {
		out_str(r->o, recursion_text(n));
		return;
	}
	n->busy = true;
	repr_container(r, n, depth + 1);
	n->busy = false;
}

/* ----------------------------------------------------------------- JSON */

static void json_string(struct out *o, const char *p, size_t n)
{
	const uint8_t *u = (const uint8_t *)p;
	size_t i = 0, len;
	uint32_t cp;

	out_char(o, '"');
	while (i < n && !o->err) {
		len = utf8_decode(u + i, n - i, &cp);
		if (len == 0)
			len = 1, cp = 0xfffd;
		if (cp == '"' || cp == '\\') {
			out_char(o, '\\');
			out_char(o, (char)cp);
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			out_str(o, cp == '\n' ? "\\n" : cp == '\r' ? "\\r"
								    : "\\t");
		} else if (cp < 0x20 || (cp >= 0xd800 && cp <= 0xdfff)) {
			out_fmt(o, "\\u%04x", cp);	/* no UTF-8 for these */
		} else {
			out_put(o, u + i, len);
		}
		i += len;
	}
	out_char(o, '"');
}

int pickle_json_quote(char **out, size_t *out_len, const char *text,
		      size_t len)
{
	struct out o = { .limit = SIZE_MAX };

	json_string(&o, text, len);
	if (o.err || !out_reserve(&o, 0)) {
		free(o.p);
		*out = NULL;
		return CONN_ENOMEM;
	}
	o.p[o.n] = '\0';
	*out = o.p;
	*out_len = o.n;
	return 0;
}

static void base64(struct out *o, const uint8_t *p, size_t n)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char quad[4];
	size_t i;

	for (i = 0; i < n && !o->err; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		quad[0] = digits[v >> 18];
		quad[1] = digits[v >> 12 & 63];
		quad[2] = i + 1 < n ? digits[v >> 6 & 63] : '=';
		quad[3] = i + 2 < n ? digits[v & 63] : '=';
		out_put(o, quad, 4);
	}
}

/* {"__repr__": "..."}: the REPR rendering, as a JSON string. */
static void json_repr(struct render *r, struct node *n, int depth)
{
	/* Within what is left, so a big rendering fails before it is made. */
	struct out text = { .limit = r->o->limit - r->o->n };
	struct render inner = { &text, false };

	repr_node(&inner, n, depth);
	if (text.err) {
		r->o->err = text.err;
		r->too_deep = inner.too_deep;
	} else {
		out_str(r->o, "{\"__repr__\": ");
		json_string(r->o, text.p, text.n);
		out_char(r->o, '}');
	}
	free(text.p);
}

static void json_node(struct render *r, struct node *n, int depth);

static void json_array(struct render *r, struct node **items, size_t count,
		       int depth)
{
	size_t i;

	out_char(r->o, '[');
	for (i = 0; i < count && !r->o->err; i++) {
		if (i)
			out_str(r->o, ", ");
		json_node(r, items[i], depth);
	}
	out_char(r->o, ']');
}

static void json_dict(struct render *r, struct node *n, int depth)
{
	bool str_keys = true;
	size_t i;

	for (i = 0; i < n->u.seq.n; i++)
		str_keys = str_keys && n->u.seq.items[2 * i]->kind == K_STR;
	out_str(r->o, str_keys ? "{" : "{\"__dict__\": [");
	for (i = 0; i < n->u.seq.n && !r->o->err; i++) {
		out_str(r->o, i ? ", " : "");
		if (!str_keys)
			out_char(r->o, '[');
		json_node(r, n->u.seq.items[2 * i], depth);
		out_str(r->o, str_keys ? ": " : ", ");
		json_node(r, n->u.seq.items[2 * i + 1], depth);
		if (!str_keys)
			out_char(r->o, ']');
	}
	out_str(r->o, str_keys ? "}" : "]}");
}

static void json_scalar(struct render *r, struct node *n)
{
	switch (n->kind) {
	case K_NONE:
		out_str(r->o, "null");
		break;
	case K_BOOL:
		out_str(r->o, n->u.b ? "true" : "false");
		break;
	case K_INT:
		repr_int(r->o, n);
		break;
	case K_FLOAT:
		if (isfinite(n->u.f.v))
			repr_float(r->o, n);
		else
			out_fmt(r->o, "{\"__float__\": \"%s\"}",
				isnan(n->u.f.v) ? "nan" : n->u.f.v < 0 ? "-inf"
								   : "inf");
		break;
	case K_STR:
		json_string(r->o, n->u.s.p, n->u.s.n);
		break;
	default:	/* bytes, bytearray */
		out_str(r->o, n->kind == K_BYTES ? "{\"__bytes__\": \""
						 : "{\"__bytearray__\": \"");
		base64(r->o, (const uint8_t *)n->u.s.p, n->u.s.n);
		out_str(r->o, "\"}");
		break;
	}
}

static void json_node(struct render *r, struct node *n, int depth)
{
	if (!enter(r, depth))
		return;
	if (n->kind <= K_BYTEARRAY && n->kind != K_COMPLEX) {
		json_scalar(r, n);
		return;
	}
	if (n->kind == K_COMPLEX || is_opaque(n) || n->busy) {
		json_repr(r, n, depth);
		return;
	}
	n->busy = true;
	if (n->kind == K_DICT)
		json_dict(r, n, depth + 1);
	else
		json_array(r, n->u.seq.items, n->u.seq.n, depth + 1);
	n->busy = false;
}

/* ------------------------------------------------------------------ DIS */

/* The argument as pickletools shows it: an int, a value's repr, or a
 * str ("module name" for GLOBAL and INST). */
static void list_arg(struct decoder *d)
{
	struct render r = { d->listing, false };
	struct out *o = d->listing;
	char *joined;

	switch (d->arg.kind) {
	case ARG_INT:
		out_fmt(o, " %lld", (long long)d->arg.v);
		break;
	case ARG_NODE:
		out_char(o, ' ');
		repr_node(&r, d->arg.node, 0);
		break;
	case ARG_TEXT:
		out_char(o, ' ');
		repr_str(o, d->arg.t1.p, d->arg.t1.n);
		break;
	case ARG_PAIR:
		joined = malloc(d->arg.t1.n + d->arg.t2.n + 2);
		if (joined == NULL) {
			o->err = CONN_ENOMEM;
			break;
		}
		/* Not sprintf: a NUL in a name would end its %.*s early. */
		memcpy(joined, d->arg.t1.p, d->arg.t1.n);
		joined[d->arg.t1.n] = ' ';
		memcpy(joined + d->arg.t1.n + 1, d->arg.t2.p, d->arg.t2.n);
		out_char(o, ' ');
		repr_str(o, joined, d->arg.t1.n + d->arg.t2.n + 1);
		free(joined);
		break;
	default:
		break;
	}
}

/* One line of pickletools.dis() for the opcode just run; indent is the
 * count of MARKs open before it. */
static void list_opcode(struct decoder *d, int op, size_t indent)
{
	struct out *o = d->listing;
	const char *name = opcodes[op].name;
	size_t pad = strlen(name) < 10 ? 10 - strlen(name) : 0;

	out_fmt(o, "%5zu: ", d->op_pos);
	if (op >= 0x20 && op < 0x7f)
		out_fmt(o, "%-4c ", op);
	else
		out_fmt(o, "\\x%02x ", (unsigned)op);
	out_spaces(o, 4 * indent);
	out_str(o, name);
	if (d->arg.kind != ARG_NONE || d->popped_mark >= 0 ||
	    d->memoized_as >= 0)
		out_spaces(o, pad);
	list_arg(d);
	if (d->popped_mark >= 0)
		out_fmt(o, " (MARK at %ld)", d->popped_mark);
	if (d->memoized_as >= 0)
		out_fmt(o, " (as %ld)", d->memoized_as);
	out_char(o, '\n');
}

/* ---------------------------------------------------------------- entry */

/* Runs the opcodes up to STOP, listing each if asked to. */
static int decode(struct decoder *d)
{
	size_t indent;
	int op, rc;

	while (d->result == NULL) {
		d->op = -1;
		d->op_pos = d->pos;
		if (d->pos == d->len)
			return fail(d, CONN_EPROTO, "the pickle ends before "
				    "STOP");
		op = d->bytes[d->pos++];
		if (opcodes[op].name == NULL)
			return fail(d, CONN_EPROTO, "unknown opcode 0x%02x",
				    (unsigned)op);
		d->op = op;
		d->arg.kind = ARG_NONE;
		d->popped_mark = -1;
		d->memoized_as = -1;
		indent = d->nmarks;
		rc = step(d, op);
		if (rc)
			return rc;
		if (opcodes[op].proto > d->max_proto)
			d->max_proto = opcodes[op].proto;
		if (d->listing != NULL)
			list_opcode(d, op, indent);
	}
	d->op = -1;
	d->op_pos = d->pos;
	if (d->pos < d->len)
		return fail(d, CONN_EPROTO, "%zu trailing bytes after STOP",
			    d->len - d->pos);
	return 0;
}

/* The detail for an output error. */
static int output_error(struct decoder *d, const struct out *o,
			bool too_deep)
{
	d->op = -1;
	if (o->err == CONN_ENOMEM)
		return no_memory(d);
	if (too_deep)
		detail_set(d->detail, d->capacity, "the object nests deeper "
			   "than %d levels", CONN_PICKLE_MAX_DEPTH);
	else
		detail_set(d->detail, d->capacity, "the rendering is longer "
			   "than %u bytes", CONN_PICKLE_MAX_OUTPUT);
	return o->err;
}

int conn_pickle_render(char **out, size_t *out_len, char *detail,
		       size_t capacity, enum conn_pickle_style style,
		       const uint8_t *bytes, size_t len)
{
	struct out o = { .limit = CONN_PICKLE_MAX_OUTPUT };
	struct render r = { &o, false };
	struct decoder d = {
		.bytes = bytes, .len = len, .op = -1, .max_proto = -1,
		/* Legitimate pickles copy each item once at most. */
		.copy_budget = 2 * len + 4096,
		.compare_budget = 16 * len + 100000,
		.listing = style == CONN_PICKLE_DIS ? &o : NULL,
		.detail = detail, .capacity = capacity,
	};
	int rc;

	*out = NULL;
	*out_len = 0;
	rc = decode(&d);
	if (rc)
		goto done;
	if (style == CONN_PICKLE_DIS)
		out_fmt(&o, "highest protocol among opcodes = %d\n",
			d.max_proto);
	else if (style == CONN_PICKLE_JSON)
		json_node(&r, d.result, 0);
	else
		repr_node(&r, d.result, 0);
	if (o.err || !out_reserve(&o, 0)) {
		rc = output_error(&d, &o, r.too_deep);
		goto done;
	}
	o.p[o.n] = '\0';
	*out = o.p;
	*out_len = o.n;
	o.p = NULL;
done:
	free(o.p);
	decoder_free(&d);
	return rc;
}
