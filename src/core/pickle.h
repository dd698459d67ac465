/*
 * pickle.h - what the files of the pickle decoder and its three renderings
 * share (private to src/core/).  It includes pickle-base.h, what the
 * decoder shares with pickle-write.c; each file includes one of the two
 * (and pickle-repr.c pickle-unicode.h, the generated table):
 *   pickle-opcodes.c  the opcode table (pickle-base.h);
 *   pickle-text.c     the growing text (struct out) and UTF-8 (idem);
 *   pickle-number.c   ints and floats from text and bytes, and their text;
 *   pickle-value.c    nodes, hashes and equality as Python's, containers;
 *   pickle-decode.c   the machine: arguments, stack, memo, the opcode
 *                     dispatch and conn_pickle_render();
 *   pickle-data.c     the opcodes of strings, numbers and containers;
 *   pickle-call.c     globals, fix_imports and calls;
 *   pickle-repr.c, pickle-json.c, pickle-dis.c  the three renderings;
 *   pickle-known.c    the table of known reconstructors, with its rows
 *                     in pickle-datetime.c, pickle-stdlib.c and
 *                     pickle-numpy.c (see pickle-known.h).
 *   pickle-collections.c, pickle-exceptions.c, pickle-objects.c  the
 *                     calls both renderings show as the objects they make.
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
 * collections.OrderedDict(...) (shown as CPython 3.12 does,
 * OrderedDict({k: v, ...}), or as 3.11 and older do for a render python
 * below 312: OrderedDict([(k, v), ...])), list, tuple, dict, str, int,
 * float and bool of values of their own kind, copyreg.__newobj__ and
 * __newobj_ex__ (as NEWOBJ and NEWOBJ_EX), type(None), type(...) and
 * type(NotImplemented) (their classes), range(...) and slice(...) (shown
 * as their reprs), copyreg._reconstructor(cls, object, None)
 * (cls.__new__(cls)), and NEWOBJ of builtins.list, dict, set, bytearray,
 * bytes, frozenset and complex and of OrderedDict.  Names of globals with
 * characters str.isprintable() rejects are shown escaped.
 *
 * The known reconstructors (pickle-known.c) are calls REPR prints as the
 * value CPython's repr() shows, from their arguments and BUILD state,
 * when these are what the class's own __reduce__ pickles (else the call
 * stays a recipe): datetime.date, time, datetime, timedelta (3.7+'s
 * form: datetime.timedelta(days=1, seconds=5)) and timezone (also
 * datetime.timezone.utc), zoneinfo.ZoneInfo, decimal.Decimal (str()'s
 * canonical form), fractions.Fraction, uuid.UUID, pathlib's PurePosixPath,
 * PureWindowsPath, PosixPath and WindowsPath (not device paths, \\?\...),
 * ipaddress's addresses, networks and interfaces (their text as pickled:
 * Python re-reads it), re.compile(pattern, flags), array.array, and
 * numpy's ndarray (numpy 1.x's repr(), on several lines from 2-D on and
 * summarized past 1,000 elements as numpy does, for bool, int, uint,
 * float, complex, object, str and bytes arrays; see pickle-numpy.c), numpy
 * scalars (as the numpy that pickled them: numpy 1.x's 1.5, numpy 2's
 * np.float64(1.5)) and dtypes (dtype('float64')).  An
 * enum member pickles as Class(value) and prints as that call, readable
 * but not Python's <Class.NAME: value>, which needs the class.
 *
 * Some calls stay calls in the graph but print as the objects CPython
 * would make of them (pickle-collections.c and the two others): the
 * collections defaultdict, deque and Counter, builtin exceptions and a few
 * others of the standard library (CPython 3.6's 1-tuple for one argument
 * below 307), multiprocessing.managers' Token and Namespace, and, in a
 * readable form that is not CPython's repr(), objects made by NEWOBJ with a
 * state of attributes: module.Class(arg, ..., name=value, ...).
 *
 * Where REPR can differ from CPython: set elements print in insertion
 * order (CPython's order follows hashes, which for str change from run to
 * run); other codecs stay calls; known reconstructors as dict keys or set
 * elements are not compared by value (two equal datetimes stay two keys);
 * 3.6's timedelta(1, 5) is printed in the newer form unless the render
 * options' python is 306; OSError's errno classes are Linux's (the
 * sender's platform is not in the pickle); a key a hostile pickle repeats
 * in a defaultdict's SETITEMS prints twice; a Counter whose counts are not
 * all numbers (or one is nan) keeps the dict's order; and what CPython
 * would load but the limits refuse (see below), or bytes after STOP,
 * which CPython ignores.
 *
 * JSON is one line of JSON, in forms that conn_pickle_from_json()
 * (pickle-write.c) reads back as the same types, but for __repr__ and
 * __object__ (a datetime's timezone name and fold, which JSON drops, and
 * an OrderedDict, which comes back a dict):
 *   - None, True and False are null, true and false;
 *   - an int is a JSON number of all its digits, even beyond 64 bits;
 *   - a float is a JSON number written as Python's repr(); nan, inf and
 *     -inf are {"__float__": "nan"}, {"__float__": "inf"} and
 *     {"__float__": "-inf"};
 *   - a str is a JSON string, control characters and lone surrogates as
 *     \uXXXX escapes;
 *   - bytes are {"__bytes__": "<base64>"}, a bytearray
 *     {"__bytearray__": "<base64>"};
 *   - a list is an array, a tuple {"__tuple__": [...]}, a set
 *     {"__set__": [...]} and a frozenset {"__frozenset__": [...]};
 *   - a complex is {"__complex__": [re, im]}, each part as a float;
 *   - a dict (or OrderedDict) whose keys are all str is an object; any
 *     other dict, and one whose one key looks like a tag ("__x__"), is
 *     {"__dict__": [[key, value], ...]};
 *   - the known reconstructors are tagged objects, {"__tag__": value}:
 *       date        {"__date__": "2024-02-29"} (isoformat())
 *       time        {"__time__": "13:45:30.123456+01:00"}
 *       datetime    {"__datetime__": "2024-02-29T13:45:30.123456"}
 *                   (time and datetime: the offset of a fixed timezone,
 *                   its name and fold dropped; another tzinfo gives
 *                   {"__repr__": ...})
 *       timedelta   {"__timedelta__": {"days": -1, "seconds": 86399,
 *                   "microseconds": 999999}} (normalized as Python's)
 *       timezone    {"__timezone__": {"offset": "+05:30", "name": null}}
 *       ZoneInfo    {"__zoneinfo__": "Europe/Paris"}
 *       Decimal     {"__decimal__": "3.14"} (str(); also "NaN", "-Infinity")
 *       Fraction    {"__fraction__": "1/3"}
 *       UUID        {"__uuid__": "12345678-1234-5678-1234-567812345678"}
 *       paths       {"__pureposixpath__": "/a/b"}, {"__posixpath__": ...},
 *                   {"__purewindowspath__": "c:/x"}, {"__windowspath__":
 *                   ...} (as_posix())
 *       ipaddress   {"__ipv4address__": "192.168.1.1"}, and likewise
 *                   __ipv6address__, __ipv4network__, __ipv6network__,
 *                   __ipv4interface__, __ipv6interface__ (str())
 *       Pattern     {"__pattern__": {"pattern": "a+", "flags": 34}} (the
 *                   pattern as JSON: a str or {"__bytes__": ...}; the
 *                   flags as Pattern.flags)
 *       array       {"__array__": {"typecode": "i", "items": [1, 2]}}
 *                   (items a str for typecodes u and w)
 *       ndarray     {"__ndarray__": {"dtype": "<f8", "shape": [2, 2],
 *                   "data": [[1.5, 2.0], [3.0, 4.0]]}} (data nested as
 *                   tolist(), every element; dtype as the loaded
 *                   array's dtype.str)
 *       dtype       {"__dtype__": "<f8"} (a numpy scalar: its value)
 *     the tag being the class's name in lower case;
 *   - the known calls above are tagged: {"__defaultdict__":
 *     {"default_factory": F, "items": D}}, {"__deque__": {"items": [...],
 *     "maxlen": N or null}}, {"__counter__": D}, {"__exception__": {"type":
 *     NAME, "args": [...]}}, {"__object__": {"class": "module.Class",
 *     "args": [...], "fields": {...}}};
 *   - anything else (globals, calls, persistent ids, extensions, buffers,
 *     and a reference back to a container being written) is
 *     {"__repr__": "<its REPR rendering>"}.
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
#ifndef PICKLE_H
#define PICKLE_H

#include "pickle-base.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT_MAX_DIGITS 4300	/* CPython's default int_max_str_digits */
#define INT_MAX_BITS 14300	/* surely more than INT_MAX_DIGITS digits */
#define BLOCK_NODES 256
/* A rendering spends three bytes or more on each object it reaches ("1, "),
 * so a pickle that makes more objects than this could not be shown within
 * CONN_PICKLE_MAX_OUTPUT anyway: refusing it early bounds the memory. */
#define OBJECTS_MAX (CONN_PICKLE_MAX_OUTPUT / 3)

/* --------------------------------------------------------------- nodes */

enum kind {
	K_NONE, K_BOOL, K_INT, K_FLOAT, K_COMPLEX, K_STR, K_BYTES,
	K_BYTEARRAY, K_TUPLE, K_LIST, K_DICT, K_SET, K_FROZENSET,
	/* Opaque: what CPython would have imported or called. */
	K_GLOBAL, K_CALL, K_PERSID, K_EXT, K_BUFFER
};

extern const char *const pickle_kind_names[];

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
	unsigned char slot_bits;	/* log2 of u.seq.slots' size, 0: none */
	/* Bits, not bools: a pickle of small records is mostly nodes, and
	 * these keep the header in 8 bytes. */
	bool busy : 1;		/* being rendered: meeting it again is a cycle */
	bool hashable : 1;
	bool hashed : 1;	/* hash is computed */
	bool ordered : 1;	/* a dict that is an OrderedDict */
	bool readonly : 1;	/* a buffer after READONLY_BUFFER */
	bool owned : 1;		/* s.p was malloc'ed for this node */
	bool rendered : 1;	/* a float or complex was rendered before */
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
extern struct node pickle_node_none, pickle_node_true, pickle_node_false,
	pickle_node_empty_tuple;

static inline bool is_opaque(const struct node *n)
{
	return n->kind >= K_GLOBAL;
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
	struct budget *budget;	/* what decoding may spend */
	size_t memory_left;	/* bytes the nodes may still take */
	size_t memory_limit;	/* of them in all */
	unsigned python;	/* conn_render_options' python: 0 newest */
	char *detail;
	size_t capacity;
	struct audit *audit;	/* conn_pickle_audit(): told of each import,
				 * call and odd construct (pickle-audit.c) */
};

/* A walk over the graph: REPR or JSON into o. */
struct render {
	struct out *o;
	bool too_deep;		/* o->err is CONN_ETOOBIG for the depth */
	unsigned python;	/* the CPython X.Y whose repr() to write,
				 * 100 * X + Y; 0: the newest */
};

/* Whether the rendering is for a CPython older than X.Y (100 * X + Y). */
static inline bool pickle_python_before(const struct render *r,
					unsigned version)
{
	return r->python != 0 && r->python < version;
}

/* pickle-value.c */
void pickle_node_release(struct node *n);
CONN_NODISCARD
int pickle_node_new(struct decoder *d, struct node **out, enum kind kind);
struct node *pickle_entry_key(const struct node *c, size_t i);
/* Room for more items in a list, tuple or set, more pairs in a dict. */
CONN_NODISCARD
int pickle_items_reserve(struct decoder *d, struct node *c, size_t more);
CONN_NODISCARD
int pickle_list_append(struct decoder *d, struct node *list,
		       struct node *item);
CONN_NODISCARD
int pickle_dict_set(struct decoder *d, struct node *dict, struct node *key,
		    struct node *value);
CONN_NODISCARD
int pickle_set_add(struct decoder *d, struct node *set, struct node *item);
void pickle_frozenset_seal(struct node *set);
void pickle_tuple_seal(struct node *t);
CONN_NODISCARD
int pickle_effect_add(struct decoder *d, struct node *n,
		      enum effect_kind kind, struct node *a, struct node *b);

/* pickle-number.c */
bool pickle_int_syntax(const char *p, size_t n, int base, bool *negative,
		       int *radix, char *digits, size_t *count);
CONN_NODISCARD
int pickle_int_from_text(struct decoder *d, struct node *n, const char *p,
			 size_t len, int base);
CONN_NODISCARD
int pickle_int_from_le(struct decoder *d, struct node *n, const uint8_t *p,
		       size_t len);
char *pickle_float_to_decimal(double x);
bool pickle_float_syntax(const char *p, size_t n);

/* pickle-decode.c */
CONN_NODISCARD
int pickle_fail(struct decoder *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
CONN_NODISCARD
int pickle_no_memory(struct decoder *d);
CONN_NODISCARD
int pickle_too_many_objects(struct decoder *d);
/* The detail of a pickle_spend() refusal (CONN_EAGAIN, CONN_ECANCELED). */
int pickle_over_budget(struct decoder *d, int err);
/* Counts bytes the graph took against conn_render_options' max_memory:
 * CONN_ETOOBIG past it.  (Growth is counted, not what is given back: an
 * upper bound, the same for the same pickle.) */
CONN_NODISCARD
int pickle_charge(struct decoder *d, size_t bytes);
void *pickle_grow(void *v, size_t *cap, size_t need, size_t size);
CONN_NODISCARD
int pickle_take(struct decoder *d, const uint8_t **p, uint64_t n);
CONN_NODISCARD
int pickle_take_uint(struct decoder *d, uint64_t *v, size_t size);
CONN_NODISCARD
int pickle_take_line(struct decoder *d, struct text *t);
CONN_NODISCARD
int pickle_need(struct decoder *d, size_t k);
CONN_NODISCARD
int pickle_push(struct decoder *d, struct node *n);
struct node *pickle_pop(struct decoder *d);
struct node *pickle_top(struct decoder *d);
CONN_NODISCARD
int pickle_push_value(struct decoder *d, struct node **out, enum kind kind);
CONN_NODISCARD
int pickle_pop_mark(struct decoder *d, size_t *start);
CONN_NODISCARD
int pickle_pop_mark_target(struct decoder *d, size_t *start,
			   struct node **target);

/* pickle-call.c */
bool pickle_text_is(struct text t, const char *s);
CONN_NODISCARD
int pickle_spend_copies(struct decoder *d, size_t n);
CONN_NODISCARD
int pickle_call_node(struct decoder *d, struct node **out,
		     enum call_form form, struct node *func,
		     struct node *args, struct node *kwargs);
bool pickle_global_is(const struct node *n, const char *module,
		      const char *name);
CONN_NODISCARD
int pickle_pop_tuple(struct decoder *d, struct node **out, size_t count);
CONN_NODISCARD
int pickle_op_global(struct decoder *d);
CONN_NODISCARD
int pickle_op_stack_global(struct decoder *d);
CONN_NODISCARD
int pickle_op_reduce(struct decoder *d);
CONN_NODISCARD
int pickle_op_inst(struct decoder *d);
CONN_NODISCARD
int pickle_op_obj(struct decoder *d);
CONN_NODISCARD
int pickle_op_newobj(struct decoder *d, bool ex);
CONN_NODISCARD
int pickle_op_persid(struct decoder *d);
CONN_NODISCARD
int pickle_op_binpersid(struct decoder *d);
CONN_NODISCARD
int pickle_op_ext(struct decoder *d, size_t size);

/* pickle-data.c */
bool pickle_is_ascii(const char *p, size_t n);
CONN_NODISCARD
int pickle_op_string(struct decoder *d);
CONN_NODISCARD
int pickle_op_binstring(struct decoder *d, size_t size);
CONN_NODISCARD
int pickle_op_unicode(struct decoder *d);
CONN_NODISCARD
int pickle_op_binunicode(struct decoder *d, size_t size);
CONN_NODISCARD
int pickle_op_binbytes(struct decoder *d, size_t size, enum kind kind);
CONN_NODISCARD
int pickle_op_int(struct decoder *d);
CONN_NODISCARD
int pickle_op_long(struct decoder *d);
CONN_NODISCARD
int pickle_op_binint(struct decoder *d, size_t size);
CONN_NODISCARD
int pickle_op_long_binary(struct decoder *d, size_t size);
CONN_NODISCARD
int pickle_op_float(struct decoder *d);
CONN_NODISCARD
int pickle_op_binfloat(struct decoder *d);
CONN_NODISCARD
int pickle_op_empty(struct decoder *d, enum kind kind);
CONN_NODISCARD
int pickle_op_collect(struct decoder *d, enum kind kind);
CONN_NODISCARD
int pickle_op_tuple_n(struct decoder *d, size_t count);
CONN_NODISCARD
int pickle_op_append(struct decoder *d);
CONN_NODISCARD
int pickle_op_setitem(struct decoder *d);
CONN_NODISCARD
int pickle_op_batch(struct decoder *d, int op);
CONN_NODISCARD
int pickle_op_build(struct decoder *d);

/* pickle-repr.c */
bool pickle_enter(struct render *r, int depth);
void pickle_repr_str(struct out *o, const char *p, size_t n);
void pickle_repr_int(struct out *o, const struct node *n);
void pickle_repr_float(struct out *o, struct node *n);
void pickle_repr_node(struct render *r, struct node *n, int depth);
void pickle_repr_items(struct render *r, struct node **items, size_t count,
		       int depth);
void pickle_repr_dict_items(struct render *r, const struct node *n,
			    int depth);
void pickle_repr_kwargs(struct render *r, struct node *kwargs, int depth);
void pickle_repr_callable(struct render *r, struct node *n, int depth);
bool pickle_is_identifier(struct text t);
void pickle_repr_dotted(struct out *o, const struct node *g);

/* pickle-json.c */
void pickle_json_node(struct render *r, struct node *n, int depth);
void pickle_json_string(struct out *o, const char *p, size_t n);

/* pickle-known.c: a call of a known reconstructor (pickle-known.h)
 * rendered as CPython's repr() or its JSON tag, or false. */
enum known_style { KNOWN_REPR, KNOWN_JSON };
bool pickle_known_render(struct render *r, struct node *n, int depth,
			 enum known_style style);
/* pickle-numpy.c: an ndarray met again inside itself (an object array
 * holding itself) as numpy's array(..., dtype=object), or false. */
bool pickle_known_ndarray_again(struct render *r, const struct node *n);
void pickle_json_array(struct render *r, struct node **items, size_t count,
		       int depth);
void pickle_json_dict(struct render *r, struct node *n, int depth);
void pickle_json_dotted(struct out *o, const struct node *g);

/*
 * The calls whose values CPython's repr() shows from the pickle alone, or
 * in a documented readable form (see the top comment):
 *   pickle-collections.c  defaultdict, deque, Counter;
 *   pickle-exceptions.c   builtin exceptions (OSError's errno classes
 *                         too) and a few of the standard library's;
 *   pickle-objects.c      the dispatch below; builtins folded at decode
 *                         time; copyreg's reconstructors; manager Tokens,
 *                         Namespaces and plain objects from their state.
 * Each writer returns false, having written nothing, for a call it does
 * not know (or whose shape it does not know: then the call is shown).
 */
bool pickle_objects_repr(struct render *r, struct node *n, int depth);
bool pickle_objects_json(struct render *r, struct node *n, int depth);
/* What repr() prints for a call met again inside itself: "..." but for
 * the known calls that print otherwise. */
void pickle_objects_repr_again(struct render *r, struct node *n, int depth);
/* Decode time: func(*args) of builtins and copyreg as the values CPython
 * would make, or *out NULL. */
CONN_NODISCARD
int pickle_make_folded(struct decoder *d, struct node **out,
		       struct node *func, struct node *args);

bool pickle_repr_collection(struct render *r, struct node *n, int depth);
bool pickle_json_collection(struct render *r, struct node *n, int depth);
bool pickle_repr_collection_again(struct render *r, struct node *n,
				  int depth);
bool pickle_repr_exception(struct render *r, struct node *n, int depth);
bool pickle_json_exception(struct render *r, struct node *n, int depth);
bool pickle_repr_object(struct render *r, struct node *n, int depth);
bool pickle_json_object(struct render *r, struct node *n, int depth);

/* pickle-decode.c, for pickle-audit.c: the machine without a rendering */
void pickle_decoder_init(struct decoder *d, const uint8_t *bytes, size_t len,
			 char *detail, size_t capacity);
CONN_NODISCARD
int pickle_decode(struct decoder *d);
void pickle_decoder_free(struct decoder *d);

/* pickle-audit.c: what the machine tells an audit (d->audit set), each
 * event at d->op_pos, d->op.  Nonzero (CONN_ENOMEM) stops the machine. */
enum audit_event {
	AUDIT_OPCODE,		/* d->op ran */
	AUDIT_GLOBAL,		/* a: the global just imported */
	AUDIT_COMPUTED_NAME,	/* a, b: STACK_GLOBAL's non-str module, name */
	AUDIT_CALL,		/* a(*b, **c): REDUCE, INST, OBJ, NEWOBJ(_EX) */
	AUDIT_BUILD,		/* BUILD of a with the state b */
	AUDIT_PERSID,		/* persistent_load(a) */
	AUDIT_EXT,		/* a: an EXT code's node */
	AUDIT_MEMO_OVERWRITE	/* a PUT over a defined memo entry */
};
CONN_NODISCARD
int pickle_audit_event(struct decoder *d, enum audit_event e, struct node *a,
		       struct node *b, struct node *c);

/* A dotted name matches a policy or rule pattern (see pickle-audit.c). */
bool pickle_pattern_match(const char *pattern, size_t plen, const char *text,
			  size_t tlen);

/* pickle-policy.c: the policy's verdict on one dotted name. */
struct conn_pickle_policy;
bool pickle_policy_allows(const struct conn_pickle_policy *p,
			  const char *name, size_t len);

/* pickle-dis.c */
void pickle_list_opcode(struct decoder *d, int op, size_t indent);

#endif
