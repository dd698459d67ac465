/*
 * pickle-repr.c - the REPR rendering: CPython's repr().
 * See pickle.h.
 */
#include "pickle.h"
#include "pickle-unicode.h"

bool pickle_enter(struct render *r, int depth)
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

/*
 * str.isprintable() for one character.  run[] holds two ranges of
 * printable code points known from the last calls, the latest first
 * (struct out's printable[]): text is mostly of a script or two, so most
 * characters fall in the gaps between unprintable ranges that the
 * characters before them did.
 */
static bool is_printable(uint32_t cp, uint32_t run[4])
{
	size_t lo = 0, hi = COUNT(unprintable_ranges), mid;

	if (cp < 0x7f)
		return cp >= 0x20;
	if (cp >= run[0] && cp <= run[1])
		return true;
	if (cp >= run[2] && cp <= run[3]) {	/* the other: swapped */
		uint32_t lo = run[0], hi = run[1];

		run[0] = run[2];
		run[1] = run[3];
		run[2] = lo;
		run[3] = hi;
		return true;
	}
	run[2] = run[0];	/* kept as the other */
	run[3] = run[1];
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (cp < unprintable_ranges[mid][0])
			hi = mid;
		else if (cp > unprintable_ranges[mid][1])
			lo = mid + 1;
		else
			return false;
	}
	/* Between the ranges lo - 1 and lo. */
	run[0] = lo > 0 ? unprintable_ranges[lo - 1][1] + 1 : 0;
	run[1] = lo < COUNT(unprintable_ranges) ?
		 unprintable_ranges[lo][0] - 1 : 0x10ffff;
	return true;
}

/* One character as repr() writes it inside quotes (quote: 0 for none). */
static void repr_char(struct out *o, uint32_t cp, const uint8_t *utf8,
		      size_t len, char quote, uint32_t run[4])
{
	if (cp == '\\' || (quote && cp == (uint32_t)quote)) {
		pickle_out_char(o, '\\');
		pickle_out_char(o, (char)cp);
	} else if (cp == '\t') {
		pickle_out_str(o, "\\t");
	} else if (cp == '\n') {
		pickle_out_str(o, "\\n");
	} else if (cp == '\r') {
		pickle_out_str(o, "\\r");
	} else if (is_printable(cp, run)) {
		pickle_out_put(o, utf8, len);
	} else if (cp < 0x100) {
		pickle_out_fmt(o, "\\x%02x", cp);
	} else if (cp < 0x10000) {
		pickle_out_fmt(o, "\\u%04x", cp);
	} else {
		pickle_out_fmt(o, "\\U%08x", cp);
	}
}

/* Single quotes, unless the text has ' and no ": repr()'s choice. */
static char pick_quote(const char *p, size_t n)
{
	return n > 0 && memchr(p, '\'', n) && !memchr(p, '"', n) ? '"' : '\'';
}

/*
 * Whether none of the 8 bytes of w needs a look: all printable ASCII,
 * none a backslash or the quote.  Each test sets a byte's high bit where
 * it holds (the "has less", "has more" and "has zero" tricks on bytes in
 * a word), none of them guessing wrong when no byte is there.
 */
static bool word_is_plain(uint64_t w, uint8_t quote)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones << 7;
	uint64_t bs = w ^ (ones * '\\'), q = w ^ (ones * quote);
	uint64_t look = ((w - ones * 0x20) & ~w) |	/* below ' ' */
			(w + ones * (0x7f - 0x7e)) | w |	/* above '~' */
			((bs - ones) & ~bs) | ((q - ones) & ~q);

	return (look & highs) == 0;
}

/* The characters of UTF-8 text p as repr() writes them, quote or not.
 * What needs no escape, most of any text, is copied a stretch at a time. */
static void repr_chars(struct out *o, const char *p, size_t n, char quote)
{
	const uint8_t *u = (const uint8_t *)p;
	size_t i = 0, start = 0, len;
	uint32_t cp, *run = o->printable;

	while (i < n && !o->err) {
		cp = u[i];
		len = 1;
		if (cp >= 0x20 && cp < 0x7f && cp != '\\' &&
		    cp != (uint8_t)quote) {
			uint64_t w;

			for (i++; i + 8 <= n; i += 8) {
				memcpy(&w, u + i, 8);
				if (!word_is_plain(w, (uint8_t)quote))
					break;
			}
			continue;
		}
		if (cp >= 0x80) {
			len = pickle_utf8_decode(u + i, n - i, &cp);
			if (len == 0)	/* cannot happen: texts are checked */
				len = 1, cp = 0xfffd;
			else if (is_printable(cp, run)) {
				i += len;
				continue;
			}
		}
		pickle_out_put(o, u + start, i - start);
		repr_char(o, cp, u + i, len, quote, run);
		i += len;
		start = i;
	}
	pickle_out_put(o, u + start, i - start);
}

void pickle_repr_str(struct out *o, const char *p, size_t n)
{
	char quote = pick_quote(p, n);

	pickle_out_char(o, quote);
	repr_chars(o, p, n, quote);
	pickle_out_char(o, quote);
}

/* bytes.__repr__, or bytearray's, which escapes ' whatever its quotes. */
static void repr_bytes(struct out *o, const char *p, size_t n,
		       bool bytearray)
{
	char quote = pick_quote(p, n);
	size_t i;

	pickle_out_str(o, "b");
	pickle_out_char(o, quote);
	for (i = 0; i < n && !o->err; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\' || c == (unsigned char)quote ||
		    (bytearray && c == '\'')) {
			pickle_out_char(o, '\\');
			pickle_out_char(o, (char)c);
		} else if (c == '\t' || c == '\n' || c == '\r') {
			pickle_out_str(o, c == '\t' ? "\\t" : c == '\n' ? "\\n"
								 : "\\r");
		} else if (c < 0x20 || c >= 0x7f) {
			pickle_out_fmt(o, "\\x%02x", c);
		} else {
			pickle_out_char(o, (char)c);
		}
	}
	pickle_out_char(o, quote);
}

void pickle_repr_int(struct out *o, const struct node *n)
{
	if (n->u.i.digits)
		pickle_out_str(o, n->u.i.digits);
	else
		pickle_out_int(o, n->u.i.v);
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
	pickle_out_str(o, *repr != NULL ? *repr : text);
}

void pickle_repr_float(struct out *o, struct node *n)
{
	char text[PICKLE_FLOAT_TEXT];

	if (n->u.f.repr == NULL) {
		pickle_out_spend(o, PICKLE_FLOAT_WORK);
		pickle_float_format(text, n->u.f.v, true, false);
	}
	out_shared(o, n, &n->u.f.repr, text);
}

/* complex.__repr__: "2j" when the real part is +0, else "(1+2j)". */
static void repr_complex(struct out *o, struct node *n)
{
	double re = n->u.c.re, im = n->u.c.im;
	char text[96], a[PICKLE_FLOAT_TEXT], b[PICKLE_FLOAT_TEXT];

	if (n->u.c.repr == NULL) {
		pickle_out_spend(o, 2 * PICKLE_FLOAT_WORK);
		pickle_float_format(b, im, false, re != 0 || signbit(re));
		if (re == 0 && !signbit(re)) {
			snprintf(text, sizeof(text), "%sj", b);
		} else {
			pickle_float_format(a, re, false, false);
			snprintf(text, sizeof(text), "(%s%sj)", a, b);
		}
	}
	out_shared(o, n, &n->u.c.repr, text);
}

/* A global's dotted name, its unprintable characters escaped. */
void pickle_repr_dotted(struct out *o, const struct node *g)
{
	repr_chars(o, g->u.g.module.p, g->u.g.module.n, 0);
	pickle_out_char(o, '.');
	repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
}

/* Items of a sequence, comma-separated. */
void pickle_repr_items(struct render *r, struct node **items, size_t count,
		       int depth)
{
	size_t i;

	for (i = 0; i < count && !r->o->err; i++) {
		if (i)
			pickle_out_str(r->o, ", ");
		pickle_repr_node(r, items[i], depth);
	}
}

void pickle_repr_dict_items(struct render *r, const struct node *n,
			    int depth)
{
	size_t i;

	for (i = 0; i < n->u.seq.n && !r->o->err; i++) {
		if (i)
			pickle_out_str(r->o, ", ");
		pickle_repr_node(r, n->u.seq.items[2 * i], depth);
		pickle_out_str(r->o, ": ");
		pickle_repr_node(r, n->u.seq.items[2 * i + 1], depth);
	}
}

/* OrderedDict as CPython 3.12 prints it, OrderedDict({k: v, ...}), or
 * for an older one OrderedDict([(k, v), ...]). */
static void repr_ordered_dict(struct render *r, const struct node *n,
			      int depth)
{
	size_t i;

	if (n->u.seq.n == 0) {
		pickle_out_str(r->o, "OrderedDict()");
		return;
	}
	if (!pickle_python_before(r, 312)) {
		pickle_out_str(r->o, "OrderedDict({");
		pickle_repr_dict_items(r, n, depth);
		pickle_out_str(r->o, "})");
		return;
	}
	pickle_out_str(r->o, "OrderedDict([");
	for (i = 0; i < n->u.seq.n && !r->o->err; i++) {
		pickle_out_str(r->o, i ? ", (" : "(");
		pickle_repr_node(r, n->u.seq.items[2 * i], depth);
		pickle_out_str(r->o, ", ");
		pickle_repr_node(r, n->u.seq.items[2 * i + 1], depth);
		pickle_out_char(r->o, ')');
	}
	pickle_out_str(r->o, "])");
}

static void repr_set(struct render *r, const struct node *n, int depth)
{
	const char *name = n->kind == K_SET ? "set" : "frozenset";

	if (n->u.seq.n == 0) {
		pickle_out_fmt(r->o, "%s()", name);
		return;
	}
	if (n->kind == K_FROZENSET)
		pickle_out_str(r->o, "frozenset(");
	pickle_out_char(r->o, '{');
	pickle_repr_items(r, n->u.seq.items, n->u.seq.n, depth);
	pickle_out_char(r->o, '}');
	if (n->kind == K_FROZENSET)
		pickle_out_char(r->o, ')');
}

/* The text for calling n: a global's dotted name, else its rendering. */
void pickle_repr_callable(struct render *r, struct node *n, int depth)
{
	if (n->kind == K_GLOBAL)
		pickle_repr_dotted(r->o, n);
	else
		pickle_repr_node(r, n, depth);
}

bool pickle_is_identifier(struct text t)
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
void pickle_repr_kwargs(struct render *r, struct node *kwargs, int depth)
{
	size_t i;

	for (i = 0; i < kwargs->u.seq.n; i++) {
		struct node *key = kwargs->u.seq.items[2 * i];

		if (key->kind != K_STR || !pickle_is_identifier(key->u.s)) {
			pickle_out_str(r->o, "**");
			pickle_repr_node(r, kwargs, depth);
			return;
		}
	}
	for (i = 0; i < kwargs->u.seq.n && !r->o->err; i++) {
		if (i)
			pickle_out_str(r->o, ", ");
		pickle_out_put(r->o, kwargs->u.seq.items[2 * i]->u.s.p,
			       kwargs->u.seq.items[2 * i]->u.s.n);
		pickle_out_char(r->o, '=');
		pickle_repr_node(r, kwargs->u.seq.items[2 * i + 1], depth);
	}
}

/* range(a, b, 1) and slice(a, b, c) as their reprs: the call without
 * "builtins.", range without a step of 1. */
static bool repr_range_or_slice(struct render *r, struct node *n, int depth)
{
	struct node *args = n->u.call.args, *f = n->u.call.func;
	size_t count = args->u.seq.n;
	bool range = pickle_global_is(f, "builtins", "range");

	if ((!range && !pickle_global_is(f, "builtins", "slice")) ||
	    count != 3 || n->u.call.form == CALL_NEWOBJ ||
	    (n->u.call.kwargs && n->u.call.kwargs->u.seq.n))
		return false;
	if (range && args->u.seq.items[2]->kind == K_INT &&
	    args->u.seq.items[2]->u.i.digits == NULL &&
	    args->u.seq.items[2]->u.i.v == 1)
		count = 2;
	pickle_out_str(r->o, range ? "range(" : "slice(");
	pickle_repr_items(r, args->u.seq.items, count, depth);
	pickle_out_char(r->o, ')');
	return true;
}

static void repr_call(struct render *r, struct node *n, int depth)
{
	struct node *args = n->u.call.args, *kwargs = n->u.call.kwargs;

	if (repr_range_or_slice(r, n, depth))
		return;
	pickle_repr_callable(r, n->u.call.func, depth);
	if (n->u.call.form == CALL_NEWOBJ) {
		pickle_out_str(r->o, ".__new__(");
		pickle_repr_callable(r, n->u.call.func, depth);
		if (args->u.seq.n)
			pickle_out_str(r->o, ", ");
	} else {
		pickle_out_char(r->o, '(');
	}
	pickle_repr_items(r, args->u.seq.items, args->u.seq.n, depth);
	if (kwargs != NULL && kwargs->u.seq.n) {
		if (args->u.seq.n || n->u.call.form == CALL_NEWOBJ)
			pickle_out_str(r->o, ", ");
		pickle_repr_kwargs(r, kwargs, depth);
	}
	pickle_out_char(r->o, ')');
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

		pickle_out_str(r->o, first ? opens[f->kind] : ", ");
		pickle_repr_node(r, f->a, depth);
		if (f->kind == EFFECT_SETITEM) {
			pickle_out_str(r->o, ": ");
			pickle_repr_node(r, f->b, depth);
		}
		if (last)
			pickle_out_str(r->o, closes[f->kind]);
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

	if (pickle_global_is(g, "io", "open"))
		return true;
	for (i = 0; i < sizeof(builtin_functions) / sizeof(*builtin_functions);
	     i++)
		if (pickle_global_is(g, "builtins", builtin_functions[i]))
			return true;
	return false;
}

/* A global as its repr: <class 'name'> for builtins (we cannot know it is
 * a class, but nearly all are), the few builtins repr shows otherwise as
 * CPython does, <class 'module.name'> for the rest. */
static void repr_global(struct out *o, const struct node *g)
{
	if (pickle_global_is(g, "builtins", "Ellipsis") ||
	    pickle_global_is(g, "builtins", "NotImplemented")) {
		repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
		return;
	}
	if (is_builtin_function(g)) {
		pickle_out_str(o, "<built-in function ");
		repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
		pickle_out_char(o, '>');
		return;
	}
	pickle_out_str(o, "<class '");
	if (pickle_text_is(g->u.g.module, "builtins"))
		repr_chars(o, g->u.g.name.p, g->u.g.name.n, 0);
	else
		pickle_repr_dotted(o, g);
	pickle_out_str(o, "'>");
}

static void repr_opaque(struct render *r, struct node *n, int depth)
{
	/* The table of known reconstructors first: its rows know classes
	 * (UUID) that the objects' rules would show in their readable form. */
	if (n->kind == K_CALL &&
	    (pickle_known_render(r, n, depth, KNOWN_REPR) ||
	     pickle_objects_repr(r, n, depth)))
		return;
	switch (n->kind) {
	case K_GLOBAL:
		repr_global(r->o, n);
		break;
	case K_CALL:
		repr_call(r, n, depth);
		break;
	case K_PERSID:
		pickle_out_str(r->o, "persistent_load(");
		pickle_repr_node(r, n->u.pid, depth);
		pickle_out_char(r->o, ')');
		break;
	case K_EXT:
		pickle_out_fmt(r->o, "extension(%lld)", (long long)n->u.code);
		break;
	default:
		pickle_out_str(r->o, n->readonly
				     ? "<read-only out-of-band buffer>"
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
		pickle_out_char(r->o, '(');
		pickle_repr_items(r, n->u.seq.items, n->u.seq.n, depth);
		pickle_out_str(r->o, n->u.seq.n == 1 ? ",)" : ")");
		break;
	case K_LIST:
		pickle_out_char(r->o, '[');
		pickle_repr_items(r, n->u.seq.items, n->u.seq.n, depth);
		pickle_out_char(r->o, ']');
		break;
	case K_DICT:
		if (n->ordered) {
			repr_ordered_dict(r, n, depth);
			break;
		}
		pickle_out_char(r->o, '{');
		pickle_repr_dict_items(r, n, depth);
		pickle_out_char(r->o, '}');
		break;
	case K_SET: case K_FROZENSET:
		repr_set(r, n, depth);
		break;
	default:
		repr_opaque(r, n, depth);
		break;
	}
}

void pickle_repr_node(struct render *r, struct node *n, int depth)
{
	if (!pickle_enter(r, depth))
		return;
	switch (n->kind) {
	case K_NONE: pickle_out_str(r->o, "None"); return;
	case K_BOOL: pickle_out_str(r->o, n->u.b ? "True" : "False"); return;
	case K_INT: pickle_repr_int(r->o, n); return;
	case K_FLOAT: pickle_repr_float(r->o, n); return;
	case K_COMPLEX: repr_complex(r->o, n); return;
	case K_STR: pickle_repr_str(r->o, n->u.s.p, n->u.s.n); return;
	case K_BYTES: repr_bytes(r->o, n->u.s.p, n->u.s.n, false); return;
	case K_BYTEARRAY:
		pickle_out_str(r->o, "bytearray(");
		repr_bytes(r->o, n->u.s.p, n->u.s.n, true);
		pickle_out_char(r->o, ')');
		return;
	default:
		break;
	}
	if (n->busy && n->kind == K_CALL) {
		pickle_objects_repr_again(r, n, depth);
		return;
	}
	if (n->busy) {
		pickle_out_str(r->o, recursion_text(n));
		return;
	}
	n->busy = true;
	repr_container(r, n, depth + 1);
	n->busy = false;
}

