/*
 * pickle-audit.c - conn_pickle_audit() and conn_pickle_policy_check():
 * the decoder's machine runs the pickle and tells this file, through
 * pickle_audit_event(), of each global imported, each call it would make
 * and each odd construct; the rules below judge them.  Nothing is ever
 * imported or called.  See pickle.h for the machine, conn.h for the API.
 *
 * Why the machine and not the strings: a scanner that reads GLOBAL lines
 * misses a name STACK_GLOBAL builds from memoized strings, a call nested
 * in BUILD's state, INST and OBJ, an EXT code, or a call made before the
 * pickle turns invalid (CPython has run it by then).  Here every call is
 * seen where the unpickler would make it, with the arguments it would
 * get, and a pickle the machine refuses is judged by what ran before.
 */
#include "pickle.h"

#define FINDINGS_MAX 32		/* listed in the line; more are counted */
#define GLOBALS_MAX 256		/* distinct globals named in the summary */
#define SHOWN_MAX 160		/* bytes of a call's text shown */

/*
 * The rules, first match wins (patterns as in conn_pickle_policy_parse():
 * "*" within a dotted part, a last "**" for any parts below).  A global
 * no rule names is unknown: likely unsafe when called (or passed to a
 * call, which may call it), suspicious when only imported.  Overtly
 * malicious globals are so even when only imported: a call of a safe
 * reconstructor can reach them.  Documented in conn-pipe(1), AUDIT.
 */
struct rule {
	const char *pattern;
	enum conn_pickle_verdict level;
};

#define SAFE CONN_PICKLE_LIKELY_SAFE
#define BAD CONN_PICKLE_OVERTLY_MALICIOUS

static const struct rule rules[] = {
	/* Values: what pickle carries of the standard library. */
	{ "builtins.set", SAFE }, { "builtins.frozenset", SAFE },
	{ "builtins.bytes", SAFE }, { "builtins.bytearray", SAFE },
	{ "builtins.complex", SAFE }, { "builtins.list", SAFE },
	{ "builtins.tuple", SAFE }, { "builtins.dict", SAFE },
	{ "builtins.str", SAFE }, { "builtins.int", SAFE },
	{ "builtins.float", SAFE }, { "builtins.bool", SAFE },
	{ "builtins.range", SAFE }, { "builtins.slice", SAFE },
	{ "builtins.object", SAFE }, { "builtins.Ellipsis", SAFE },
	{ "builtins.NotImplemented", SAFE },
	{ "builtins.*Error", SAFE }, { "builtins.*Exception", SAFE },
	{ "builtins.*Warning", SAFE }, { "builtins.StopIteration", SAFE },
	{ "builtins.StopAsyncIteration", SAFE },
	{ "builtins.GeneratorExit", SAFE },
	{ "builtins.KeyboardInterrupt", SAFE },
	{ "copyreg._reconstructor", SAFE }, { "_codecs.encode", SAFE },
	{ "collections.OrderedDict", SAFE },
	{ "collections.defaultdict", SAFE }, { "collections.deque", SAFE },
	{ "collections.Counter", SAFE },
	{ "datetime.datetime", SAFE }, { "datetime.date", SAFE },
	{ "datetime.time", SAFE }, { "datetime.timedelta", SAFE },
	{ "datetime.timezone", SAFE },
	{ "zoneinfo.ZoneInfo._unpickle", SAFE },
	{ "decimal.Decimal", SAFE }, { "fractions.Fraction", SAFE },
	{ "uuid.UUID", SAFE }, { "uuid.SafeUUID", SAFE },
	{ "pathlib.Pure*Path", SAFE }, { "pathlib.*Path", SAFE },
	{ "ipaddress.IPv?Address", SAFE }, { "ipaddress.IPv?Network", SAFE },
	{ "ipaddress.IPv?Interface", SAFE },
	{ "re._compile", SAFE }, { "array.array", SAFE },
	{ "array._array_reconstructor", SAFE },
	{ "types.SimpleNamespace", SAFE }, { "argparse.Namespace", SAFE },
	{ "queue.Empty", SAFE }, { "queue.Full", SAFE },
	{ "_queue.Empty", SAFE },
	{ "multiprocessing.managers.Token", SAFE },
	{ "multiprocessing.managers.Namespace", SAFE },
	{ "numpy.ndarray", SAFE }, { "numpy.dtype", SAFE },
	{ "numpy.core.multiarray._reconstruct", SAFE },
	{ "numpy._core.multiarray._reconstruct", SAFE },
	{ "numpy.core.multiarray.scalar", SAFE },
	{ "numpy._core.multiarray.scalar", SAFE },
	{ "numpy.core.numeric._frombuffer", SAFE },
	{ "numpy._core.numeric._frombuffer", SAFE },
	/* Commands, code, files, the network, the interpreter itself. */
	{ "os.**", BAD }, { "posix.**", BAD }, { "nt.**", BAD },
	{ "subprocess.**", BAD }, { "_posixsubprocess.**", BAD },
	{ "pty.**", BAD }, { "shutil.**", BAD }, { "tempfile.**", BAD },
	{ "socket.**", BAD }, { "_socket.**", BAD }, { "ssl.**", BAD },
	{ "asyncio.**", BAD }, { "selectors.**", BAD },
	{ "urllib.**", BAD }, { "http.**", BAD }, { "ftplib.**", BAD },
	{ "smtplib.**", BAD }, { "telnetlib.**", BAD },
	{ "xmlrpc.**", BAD }, { "webbrowser.**", BAD },
	{ "multiprocessing.**", BAD }, { "_multiprocessing.**", BAD },
	{ "sys.**", BAD }, { "runpy.**", BAD }, { "importlib.**", BAD },
	{ "ctypes.**", BAD }, { "_ctypes.**", BAD },
	{ "pickle.**", BAD }, { "_pickle.**", BAD }, { "marshal.**", BAD },
	{ "shelve.**", BAD }, { "dill.**", BAD },
	{ "code.**", BAD }, { "codeop.**", BAD }, { "pdb.**", BAD },
	{ "timeit.**", BAD }, { "profile.**", BAD }, { "cProfile.**", BAD },
	{ "trace.**", BAD }, { "doctest.**", BAD }, { "pydoc.**", BAD },
	{ "io.open", BAD }, { "io.FileIO", BAD }, { "_io.**", BAD },
	{ "codecs.open", BAD }, { "signal.**", BAD },
	{ "types.CodeType", BAD }, { "types.FunctionType", BAD },
	{ "operator.attrgetter", BAD }, { "operator.methodcaller", BAD },
	{ "_operator.attrgetter", BAD }, { "_operator.methodcaller", BAD },
	{ "builtins.eval", BAD }, { "builtins.exec", BAD },
	{ "builtins.compile", BAD }, { "builtins.__import__", BAD },
	{ "builtins.getattr", BAD }, { "builtins.setattr", BAD },
	{ "builtins.delattr", BAD }, { "builtins.open", BAD },
	{ "builtins.globals", BAD }, { "builtins.locals", BAD },
	{ "builtins.vars", BAD }, { "builtins.breakpoint", BAD },
	{ "builtins.input", BAD }, { "builtins.exit", BAD },
	{ "builtins.quit", BAD }, { "builtins.help", BAD },
	{ "builtins.memoryview", BAD },
};

#undef SAFE
#undef BAD

/* A finding listed: its words in the body, its level and its place,
 * which the JSON form gives apart (the line has them in its words). */
struct finding {
	enum conn_pickle_verdict level;
	size_t start, end;		/* the words, in body */
	size_t offset;			/* SIZE_MAX: none */
	int op;
};

/* A global the pickle imports, for the summary. */
struct seen {
	struct node *node;		/* the first node of that name */
	size_t calls;			/* made of it, or of a copy */
	bool used;			/* called, or passed to a call */
	size_t offset;			/* where it was first imported */
	int op;
};

struct audit {
	struct decoder *d;
	const struct conn_pickle_policy *policy;	/* a policy check */
	char *why;			/* ... and why it failed */
	size_t why_capacity;
	bool denied;
	struct out body;		/* the findings listed, "; " apart */
	struct finding findings[FINDINGS_MAX];
	size_t listed, unlisted;
	struct seen *globals;
	size_t nglobals, globals_cap;
	bool globals_full;		/* more than GLOBALS_MAX */
	enum conn_pickle_verdict worst;
	size_t visits;			/* nodes the argument walks may visit */
	bool opaque;			/* a call, persistent id or EXT made */
	int protos;			/* PROTO opcodes run */
	struct out name;		/* scratch: a global's dotted name */
};

const char *conn_pickle_verdict_name(enum conn_pickle_verdict v)
{
	static const char *const names[] = {
		"likely safe", "suspicious", "likely unsafe",
		"overtly malicious",
	};

	return (unsigned)v < COUNT(names) ? names[v] : "?";
}

/* ------------------------------------------------------------ patterns */

/* A glob of "*" and "?" over one dotted part: the usual greedy match,
 * backing up to the last "*" only, so linear in practice. */
static bool glob_part(const char *p, size_t pn, const char *t, size_t tn)
{
	size_t i = 0, j = 0, star = SIZE_MAX, mark = 0;

	while (j < tn) {
		if (i < pn && (p[i] == '?' || p[i] == t[j])) {
			i++;
			j++;
		} else if (i < pn && p[i] == '*') {
			star = i++;
			mark = j;
		} else if (star != SIZE_MAX) {
			i = star + 1;
			j = ++mark;
		} else {
			return false;
		}
	}
	while (i < pn && p[i] == '*')
		i++;
	return i == pn;
}

/* The length of the dotted part at p (n bytes left). */
static size_t part_length(const char *p, size_t n)
{
	const char *dot = memchr(p, '.', n);

	return dot ? (size_t)(dot - p) : n;
}

bool pickle_pattern_match(const char *pattern, size_t plen, const char *text,
			  size_t tlen)
{
	size_t pp, tp;

	for (;;) {
		pp = part_length(pattern, plen);
		if (pp == 2 && plen == 2 && memcmp(pattern, "**", 2) == 0)
			return true;	/* one part or more are left */
		tp = part_length(text, tlen);
		if (!glob_part(pattern, pp, text, tp))
			return false;
		if (pp == plen || tp == tlen)
			return pp == plen && tp == tlen;
		pattern += pp + 1;
		plen -= pp + 1;
		text += tp + 1;
		tlen -= tp + 1;
	}
}

/* ------------------------------------------------------------- findings */

static void raise_to(struct audit *a, enum conn_pickle_verdict level)
{
	if (level > a->worst)
		a->worst = level;
}

/* o's text so far, cut to SHOWN_MAX bytes with "..." if it was longer. */
static void put_shown(struct out *to, const struct out *o)
{
	size_t n = o->n < SHOWN_MAX ? o->n : SHOWN_MAX;

	/* A cut must not split a UTF-8 character. */
	while (n < o->n && n > 0 && ((uint8_t)o->p[n] & 0xc0) == 0x80)
		n--;
	pickle_out_put(to, o->p, n);
	if (n < o->n || o->err == CONN_ETOOBIG)
		pickle_out_str(to, "...");
}

/* Starts a finding of level: NULL if it is not to be listed. */
static struct out *begin_finding(struct audit *a,
				 enum conn_pickle_verdict level)
{
	raise_to(a, level);
	if (a->listed >= FINDINGS_MAX) {
		a->unlisted++;
		return NULL;
	}
	if (a->listed)
		pickle_out_str(&a->body, "; ");
	a->findings[a->listed++] = (struct finding){ level, a->body.n,
						     SIZE_MAX, SIZE_MAX, -1 };
	return &a->body;
}

/* The finding begun last ends its words here, with no place. */
static void end_words(struct audit *a)
{
	a->findings[a->listed - 1].end = a->body.n;
}

/* The name of op, or "end" past the last opcode. */
static const char *op_name(int op)
{
	return op >= 0 ? pickle_opcodes[op].name : "end";
}

/* " at OFFSET (OPCODE)", which ends the finding begun last. */
static void put_at(struct audit *a, size_t offset, int op)
{
	struct finding *f = &a->findings[a->listed - 1];

	end_words(a);
	/* "imports m.C, never called, at 0": the words end before the
	 * comma that leads to the place. */
	if (f->end > f->start && a->body.p[f->end - 1] == ',')
		f->end--;
	f->offset = offset;
	f->op = op;
	pickle_out_fmt(&a->body, " at %zu (%s)", offset, op_name(op));
}

/* Where the machine is. */
static void put_where(struct audit *a)
{
	put_at(a, a->d->op_pos, a->d->op);
}

/* A finding of fixed words. */
static void note(struct audit *a, enum conn_pickle_verdict level,
		 const char *what)
{
	struct out *o = begin_finding(a, level);

	if (o == NULL)
		return;
	pickle_out_str(o, what);
	put_where(a);
}

/* n as a finding shows it, cut to SHOWN_MAX bytes: a global by its
 * dotted name (escaped), anything else by its repr. */
static void put_node(struct out *to, struct node *n)
{
	struct out o = { .limit = SHOWN_MAX + 8 };
	struct render r = { &o, false, 0 };

	if (n->kind == K_GLOBAL)
		pickle_repr_dotted(&o, n);
	else
		pickle_repr_node(&r, n, 0);
	if (o.err == CONN_ENOMEM)
		to->err = CONN_ENOMEM;
	put_shown(to, &o);
	free(o.p);
}

/* A finding about a global: "WHAT module.name" and where. */
static void note_global_at(struct audit *a, enum conn_pickle_verdict level,
			   const char *what, struct node *g,
			   const char *after, size_t offset, int op)
{
	struct out *o = begin_finding(a, level);

	if (o == NULL)
		return;
	pickle_out_str(o, what);
	put_node(o, g);
	pickle_out_str(o, after);
	put_at(a, offset, op);
}

static void note_global(struct audit *a, enum conn_pickle_verdict level,
			const char *what, struct node *g,
			const char *after)
{
	note_global_at(a, level, what, g, after, a->d->op_pos, a->d->op);
}

/* -------------------------------------------------------------- rules */

/* The dotted name of g in a->name (NUL-ended), or NULL out of memory. */
static const char *dotted(struct audit *a, const struct node *g)
{
	a->name.n = 0;
	pickle_out_put(&a->name, g->u.g.module.p, g->u.g.module.n);
	pickle_out_char(&a->name, '.');
	pickle_out_put(&a->name, g->u.g.name.p, g->u.g.name.n);
	if (a->name.err || !pickle_out_reserve(&a->name, 1))
		return NULL;
	a->name.p[a->name.n] = '\0';
	return a->name.p;
}

/* A dotted name walking a dunder attribute (x.__class__.__base__): the
 * way out of a harmless module to anything. */
static bool walks_dunder(struct text name)
{
	size_t i = 0, n;

	if (memchr(name.p, '.', name.n) == NULL)
		return false;
	while (i < name.n) {
		n = part_length(name.p + i, name.n - i);
		if (n > 4 && memcmp(name.p + i, "__", 2) == 0 &&
		    memcmp(name.p + i + n - 2, "__", 2) == 0)
			return true;
		i += n + 1;
	}
	return false;
}

/* The level of importing g (used: called or passed to a call). */
static enum conn_pickle_verdict rate(struct audit *a, const struct node *g,
				     bool used)
{
	const char *name = dotted(a, g);
	size_t i, n;

	if (name == NULL)
		return CONN_PICKLE_LIKELY_UNSAFE;
	if (walks_dunder(g->u.g.name))
		return CONN_PICKLE_OVERTLY_MALICIOUS;
	n = strlen(name);
	for (i = 0; i < COUNT(rules); i++)
		if (pickle_pattern_match(rules[i].pattern,
					 strlen(rules[i].pattern), name, n))
			return rules[i].level;
	return used ? CONN_PICKLE_LIKELY_UNSAFE : CONN_PICKLE_SUSPICIOUS;
}

/* getattr(cls, 'name') of a global and a plain name is how Python 3.12+
 * pickles an enum member: as unsafe as using cls (at least likely
 * unsafe), not overtly malicious. */
static bool is_plain_getattr(const struct node *func, const struct node *args)
{
	const struct node *what;

	if (!pickle_global_is(func, "builtins", "getattr") ||
	    args->kind != K_TUPLE || args->u.seq.n != 2 ||
	    args->u.seq.items[0]->kind != K_GLOBAL)
		return false;
	what = args->u.seq.items[1];
	return what->kind == K_STR && what->u.s.n > 0 &&
	       what->u.s.p[0] != '_' &&
	       memchr(what->u.s.p, '.', what->u.s.n) == NULL;
}

/* ------------------------------------------------------------ globals */

/* The summary's entry of g, or NULL past GLOBALS_MAX names. */
static struct seen *seen_of(struct audit *a, struct node *g)
{
	struct seen *grown;
	size_t i;

	for (i = 0; i < a->nglobals; i++) {
		const struct node *s = a->globals[i].node;

		if (s == g || (s->u.g.module.n == g->u.g.module.n &&
			       s->u.g.name.n == g->u.g.name.n &&
			       memcmp(s->u.g.module.p, g->u.g.module.p,
				      s->u.g.module.n) == 0 &&
			       memcmp(s->u.g.name.p, g->u.g.name.p,
				      s->u.g.name.n) == 0))
			return &a->globals[i];
	}
	if (a->nglobals == GLOBALS_MAX) {
		a->globals_full = true;
		return NULL;
	}
	grown = pickle_grow(a->globals, &a->globals_cap, a->nglobals + 1,
			    sizeof(*grown));
	if (grown == NULL) {
		a->body.err = CONN_ENOMEM;
		return NULL;
	}
	a->globals = grown;
	a->globals[a->nglobals] = (struct seen){ g, 0, false,
						 a->d->op_pos, a->d->op };
	return &a->globals[a->nglobals++];
}

/* builtins.getattr is judged by its call (is_plain_getattr()), or when
 * the pickle ends if it had none. */
static bool judged_when_used(const struct node *g)
{
	return pickle_global_is(g, "builtins", "getattr");
}

static void on_global(struct audit *a, struct node *g)
{
	enum conn_pickle_verdict level = rate(a, g, false);
	int op = a->d->op;

	(void)seen_of(a, g);
	if (level == CONN_PICKLE_OVERTLY_MALICIOUS && !judged_when_used(g))
		note_global(a, level, "imports ", g, "");
	if ((op == OP_GLOBAL || op == OP_INST) && a->d->proto >= 4)
		note(a, CONN_PICKLE_SUSPICIOUS, "a protocol 0 global in a "
		     "protocol 4+ pickle");
}

/* Where a global passed goes: to a call of callee, or to what words say. */
struct passing {
	struct node *callee;		/* a global called, or NULL */
	const char *words;		/* " to __setstate__" */
};

/* g reaches a call (an argument, BUILD's state): it may be called. */
static void on_passed(struct audit *a, struct node *g,
		      const struct passing *to)
{
	enum conn_pickle_verdict level = rate(a, g, true);
	struct seen *s = seen_of(a, g);
	struct out *o;

	if (s != NULL)
		s->used = true;
	if (level == CONN_PICKLE_LIKELY_SAFE ||
	    (o = begin_finding(a, level)) == NULL)
		return;
	pickle_out_str(o, "passes ");
	put_node(o, g);
	if (to->callee != NULL) {
		pickle_out_str(o, " to ");
		put_node(o, to->callee);
	} else {
		pickle_out_str(o, to->words);
	}
	put_where(a);
}

/* ---------------------------------------------------------- arguments */

/*
 * The globals reachable from n, which a call (or __setstate__) gets and
 * may call.  A call met there was judged when it was made; in BUILD's
 * state (in_state) one that is not safe is a finding of its own, the
 * "nested REDUCE in BUILD" some scanners miss.  Visits are budgeted by
 * the input's size, so argument lists shared by many calls cost linear.
 */
static void walk(struct audit *a, struct node *n, const struct passing *to,
		 bool in_state, int depth)
{
	size_t i;

	if (a->visits == 0 || depth > CONN_PICKLE_MAX_DEPTH)
		return;
	if (--a->visits == 0) {
		note(a, CONN_PICKLE_LIKELY_UNSAFE, "too many objects passed "
		     "to calls to audit them all");
		return;
	}
	if (n->kind == K_GLOBAL) {
		on_passed(a, n, to);
	} else if (n->kind == K_CALL && in_state) {
		if (n->u.call.func->kind != K_GLOBAL ||
		    rate(a, n->u.call.func, true) != CONN_PICKLE_LIKELY_SAFE)
			note(a, CONN_PICKLE_SUSPICIOUS, "BUILD with a call "
			     "in its state");
	} else if (n->kind >= K_TUPLE && n->kind <= K_FROZENSET && !n->busy) {
		n->busy = true;
		for (i = 0; i < n->u.seq.n * (n->kind == K_DICT ? 2 : 1) &&
			    a->visits; i++)
			walk(a, n->u.seq.items[i], to, in_state, depth + 1);
		n->busy = false;
	}
}

/* ----------------------------------------------------------------- calls */

/* "calls module.name(args)": the call as --out repr would show it. */
static void put_call(struct audit *a, struct out *o, struct node *func,
		     struct node *args, struct node *kwargs)
{
	struct node call = { .kind = K_CALL };

	if (args->kind != K_TUPLE || (kwargs && kwargs->kind != K_DICT)) {
		/* Arguments CPython checks at run time: shown as they are. */
		put_node(o, func);
		pickle_out_str(o, "(*");
		put_node(o, args);
		pickle_out_char(o, ')');
		return;
	}
	call.u.call.form = a->d->op == OP_NEWOBJ || a->d->op == OP_NEWOBJ_EX
			   ? CALL_NEWOBJ : CALL_REDUCE;
	call.u.call.func = func;
	call.u.call.args = args;
	call.u.call.kwargs = kwargs;
	put_node(o, &call);
}

static enum conn_pickle_verdict rate_call(struct audit *a, struct node *func,
					  struct node *args)
{
	enum conn_pickle_verdict level;
	struct seen *s;

	if (func->kind != K_GLOBAL)	/* a call's result, a memo'd value */
		return is_opaque(func) ? CONN_PICKLE_LIKELY_UNSAFE
				       : CONN_PICKLE_SUSPICIOUS;
	s = seen_of(a, func);
	if (s != NULL) {
		s->calls++;
		s->used = true;
	}
	if (is_plain_getattr(func, args)) {
		/* Its result is a computed callable, even of a safe class. */
		level = rate(a, args->u.seq.items[0], true);
		return level > CONN_PICKLE_LIKELY_UNSAFE
		       ? level : CONN_PICKLE_LIKELY_UNSAFE;
	}
	return rate(a, func, true);
}

static void on_call(struct audit *a, struct node *func, struct node *args,
		    struct node *kwargs)
{
	enum conn_pickle_verdict level = rate_call(a, func, args);
	struct passing to = { func->kind == K_GLOBAL ? func : NULL,
			      " to a call" };
	struct out *o;

	a->opaque = true;
	if (a->d->op == OP_INST || a->d->op == OP_OBJ)
		note(a, CONN_PICKLE_SUSPICIOUS, "a call in a form Python 3's "
		     "pickler never writes");
	if (level != CONN_PICKLE_LIKELY_SAFE &&
	    (o = begin_finding(a, level)) != NULL) {
		pickle_out_str(o, "calls ");
		put_call(a, o, func, args, kwargs);
		put_where(a);
	}
	walk(a, args, &to, false, 0);
	if (kwargs != NULL)
		walk(a, kwargs, &to, false, 0);
}

/* BUILD: obj.__setstate__(state), or obj.__dict__ and setattr(). */
static void on_build(struct audit *a, struct node *target,
		     struct node *state)
{
	static const struct passing build = {
		NULL, " to BUILD, which sets its attributes"
	}, setstate = { NULL, " to __setstate__" };

	if (target->kind == K_GLOBAL)
		on_passed(a, target, &build);
	walk(a, state, &setstate, true, 0);
}

/* persistent_load(pid): the unpickler's own code, or an error. */
static void on_persid(struct audit *a, struct node *pid)
{
	struct out *o = begin_finding(a, CONN_PICKLE_LIKELY_UNSAFE);

	if (o == NULL)
		return;
	pickle_out_str(o, "calls persistent_load(");
	put_node(o, pid);
	pickle_out_char(o, ')');
	put_where(a);
}

/* What CPython does after a PROTO opcode or another opcode newer than
 * the pickle says it is: only hand-made pickles have them. */
static void on_opcode(struct audit *a)
{
	const struct decoder *d = a->d;
	int op = d->op;

	if (op == OP_PROTO && ++a->protos > 1)
		note(a, CONN_PICKLE_SUSPICIOUS, "a second PROTO");
	else if (pickle_opcodes[op].proto >= 2 &&
		 pickle_opcodes[op].proto > d->proto)
		note(a, CONN_PICKLE_SUSPICIOUS, "an opcode newer than the "
		     "pickle's protocol");
	else if (d->proto >= 2 &&
		 (op == OP_INT || op == OP_LONG || op == OP_FLOAT ||
		  op == OP_STRING || op == OP_UNICODE || op == OP_GET ||
		  op == OP_PUT || op == OP_PERSID || op == OP_DUP))
		note(a, CONN_PICKLE_SUSPICIOUS, "a protocol 0 text form "
		     "Python never writes in a binary pickle");
}

/* ------------------------------------------------------------- policy */

/* Under a policy the first import it denies stops the machine. */
static int policy_event(struct audit *a, enum audit_event e, struct node *g)
{
	struct decoder *d = a->d;
	const char *name;

	if (e == AUDIT_GLOBAL) {
		name = dotted(a, g);
		if (name == NULL)
			return CONN_ENOMEM;
		if (pickle_policy_allows(a->policy, name, strlen(name)))
			return 0;
		/* Escaped: a name may hold a newline, which must not forge
		 * a line of the warnings. */
		a->name.n = 0;
		put_node(&a->name, g);
		pickle_out_char(&a->name, '\0');
		if (a->name.err)
			return CONN_ENOMEM;
		detail_set(a->why, a->why_capacity, "imports %s at %zu (%s), "
			   "which the policy does not allow", a->name.p,
			   d->op_pos, pickle_opcodes[d->op].name);
	} else if (e == AUDIT_PERSID || e == AUDIT_EXT ||
		   e == AUDIT_COMPUTED_NAME) {
		detail_set(a->why, a->why_capacity, "%s at %zu (%s), which no "
			   "policy allows",
			   e == AUDIT_PERSID ? "uses a persistent id"
			   : e == AUDIT_EXT ? "imports an EXT code's global"
			   : "imports a global of a computed name",
			   d->op_pos, pickle_opcodes[d->op].name);
	} else {
		return 0;
	}
	a->denied = true;
	return CONN_EPROTO;	/* stops the machine */
}

/* --------------------------------------------------------------- events */

int pickle_audit_event(struct decoder *d, enum audit_event e, struct node *a_,
		       struct node *b, struct node *c)
{
	struct audit *a = d->audit;

	if (a->policy != NULL)
		return policy_event(a, e, a_);
	switch (e) {
	case AUDIT_OPCODE:
		on_opcode(a);
		break;
	case AUDIT_GLOBAL:
		on_global(a, a_);
		break;
	case AUDIT_COMPUTED_NAME:
		note(a, CONN_PICKLE_LIKELY_UNSAFE, "imports a global whose "
		     "name is computed when the pickle loads");
		break;
	case AUDIT_CALL:
		on_call(a, a_, b, c);
		break;
	case AUDIT_BUILD:
		on_build(a, a_, b);
		break;
	case AUDIT_PERSID:
		a->opaque = true;
		on_persid(a, a_);
		break;
	case AUDIT_EXT:
		a->opaque = true;
		note(a, CONN_PICKLE_LIKELY_UNSAFE, "imports the global of an "
		     "extension registry code, which the pickle does not "
		     "name");
		break;
	case AUDIT_MEMO_OVERWRITE:
		note(a, CONN_PICKLE_SUSPICIOUS, "a PUT over a memo entry "
		     "already defined");
		break;
	}
	return a->body.err == CONN_ENOMEM || a->name.err == CONN_ENOMEM
	       ? CONN_ENOMEM : 0;
}

/* ------------------------------------------------------------------ runs */

/* Where the machine stopped short of the end: CPython has run what came
 * before, and may go on where our decoder does not. */
static void on_stop(struct audit *a, int rc, const char *why)
{
	struct decoder *d = a->d;
	enum conn_pickle_verdict level = CONN_PICKLE_SUSPICIOUS;
	struct out *o;

	if (rc == CONN_ETOOBIG || (rc == CONN_EPROTO && a->opaque &&
				   d->result == NULL))
		level = CONN_PICKLE_LIKELY_UNSAFE;
	o = begin_finding(a, level);
	if (o == NULL)
		return;
	if (d->result != NULL)
		pickle_out_fmt(o, "%zu bytes after STOP, which CPython ignores",
			       d->len - d->pos);
	else if (rc == CONN_ETOOBIG)
		pickle_out_str(o, "past the decoder's limits, not audited "
			       "further: ");
	else
		pickle_out_str(o, a->opaque ? "not a valid pickle after a "
			       "call, not audited further: "
			       : "not a valid pickle: ");
	if (d->result == NULL)
		pickle_out_str(o, why);
	end_words(a);
}

static void put_summary(struct audit *a, struct out *o)
{
	size_t i;

	if (a->nglobals == 0) {
		pickle_out_str(o, "no globals");
		return;
	}
	pickle_out_str(o, "globals: ");
	for (i = 0; i < a->nglobals; i++) {
		if (i)
			pickle_out_str(o, ", ");
		put_node(o, a->globals[i].node);
		if (a->globals[i].calls)
			pickle_out_fmt(o, " (%zu call%s)", a->globals[i].calls,
				       a->globals[i].calls == 1 ? "" : "s");
	}
	if (a->globals_full)
		pickle_out_str(o, ", and more");
}

/* Globals imported and never used: nothing a value needs. */
static void note_unused(struct audit *a)
{
	enum conn_pickle_verdict level;
	size_t i;

	for (i = 0; i < a->nglobals; i++) {
		level = rate(a, a->globals[i].node, false);
		if (!a->globals[i].used &&
		    (level == CONN_PICKLE_SUSPICIOUS ||
		     judged_when_used(a->globals[i].node)))
			note_global_at(a, level, "imports ",
				       a->globals[i].node, ", never called,",
				       a->globals[i].offset, a->globals[i].op);
	}
}

/* The line: "VERDICT: finding; ...; globals: ...". */
static void put_line(struct audit *a, struct out *o)
{
	pickle_out_str(o, conn_pickle_verdict_name(a->worst));
	pickle_out_str(o, ": ");
	pickle_out_put(o, a->body.p, a->body.n);
	if (a->unlisted)
		pickle_out_fmt(o, "; and %zu more finding%s", a->unlisted,
			       a->unlisted == 1 ? "" : "s");
	if (a->listed)
		pickle_out_str(o, "; ");
	put_summary(a, o);
}

/* "level": N, "verdict": "...", of a verdict. */
static void put_json_level(struct out *o, enum conn_pickle_verdict v)
{
	pickle_out_fmt(o, "\"verdict\": \"%s\", \"level\": %d",
		       conn_pickle_verdict_name(v), (int)v);
}

/* , "offset": N, "opcode": "NAME", or null for a finding with no place. */
static void put_json_place(struct out *o, size_t offset, int op)
{
	if (offset == SIZE_MAX)
		pickle_out_str(o, ", \"offset\": null, \"opcode\": null");
	else
		pickle_out_fmt(o, ", \"offset\": %zu, \"opcode\": \"%s\"",
			       offset, op_name(op));
}

static void put_json_findings(struct audit *a, struct out *o)
{
	const struct finding *f;
	size_t i;

	pickle_out_str(o, ", \"findings\": [");
	for (i = 0; i < a->listed; i++) {
		f = &a->findings[i];
		pickle_out_str(o, i ? ", {\"what\": " : "{\"what\": ");
		pickle_json_string(o, a->body.p + f->start, f->end - f->start);
		pickle_out_str(o, ", ");
		put_json_level(o, f->level);
		put_json_place(o, f->offset, f->op);
		pickle_out_char(o, '}');
	}
	pickle_out_fmt(o, "], \"more_findings\": %zu", a->unlisted);
}

/* The globals as the line names them (escaped, cut), in JSON strings. */
static void put_json_globals(struct audit *a, struct out *o)
{
	const struct seen *g;
	size_t i;

	pickle_out_str(o, ", \"globals\": [");
	for (i = 0; i < a->nglobals; i++) {
		g = &a->globals[i];
		a->name.n = 0;
		put_node(&a->name, g->node);
		pickle_out_str(o, i ? ", {\"name\": " : "{\"name\": ");
		pickle_json_string(o, a->name.p, a->name.n);
		pickle_out_fmt(o, ", \"calls\": %zu", g->calls);
		put_json_place(o, g->offset, g->op);
		pickle_out_char(o, '}');
	}
	pickle_out_fmt(o, "], \"more_globals\": %s",
		       a->globals_full ? "true" : "false");
	if (a->name.err)
		o->err = a->name.err;
}

/* The JSON form: the line's facts in the line's order, each apart. */
static void put_json(struct audit *a, struct out *o, bool decoded)
{
	pickle_out_char(o, '{');
	put_json_level(o, a->worst);
	pickle_out_fmt(o, ", \"decoded\": %s", decoded ? "true" : "false");
	put_json_findings(a, o);
	put_json_globals(a, o);
	pickle_out_char(o, '}');
}

static int finish(struct audit *a, bool json, bool decoded, char **out,
		  size_t *out_len)
{
	struct out o = { .limit = CONN_PICKLE_MAX_OUTPUT };

	if (json)
		put_json(a, &o, decoded);
	else
		put_line(a, &o);
	if (o.err || a->body.err || !pickle_out_reserve(&o, 0)) {
		free(o.p);
		return CONN_ENOMEM;
	}
	o.p[o.n] = '\0';
	*out = o.p;
	*out_len = o.n;
	return 0;
}

static void audit_init(struct audit *a, struct decoder *d, size_t len)
{
	*a = (struct audit){
		.d = d,
		.body = { .limit = CONN_PICKLE_MAX_OUTPUT },
		.name = { .limit = SIZE_MAX / 2 },
		.visits = 4 * len + 4096,
	};
	d->audit = a;
}

static void audit_free(struct audit *a)
{
	free(a->body.p);
	free(a->name.p);
	free(a->globals);
}

/* The work, cancel and memory of o (NULL: none) for a decoder that
 * audits. */
static void budget_from(struct budget *b, struct decoder *d,
			const struct conn_render_options *o)
{
	*b = (struct budget){ o && o->max_work ? o->max_work : UINT64_MAX,
			      o ? o->cancel : NULL };
	d->budget = b;
	if (o && o->max_memory)
		d->memory_left = d->memory_limit = o->max_memory;
}

/* Out of budget (CONN_EAGAIN) or canceled: no verdict, the caller goes on
 * elsewhere. */
static bool stopped_short(int rc)
{
	return rc == CONN_EAGAIN || rc == CONN_ECANCELED;
}

int conn_pickle_audit(char **out, size_t *out_len,
		      struct conn_pickle_report *report, const uint8_t *bytes,
		      size_t len)
{
	return conn_pickle_audit_with(out, out_len, report, NULL, bytes, len);
}

/* The audit, as its line or (json) its JSON object. */
static int audit_run(char **out, size_t *out_len,
		     struct conn_pickle_report *report,
		     const struct conn_render_options *o, bool json,
		     const uint8_t *bytes, size_t len)
{
	char why[200] = "";
	struct budget budget;
	struct decoder d;
	struct audit a;
	int rc;

	*out = NULL;
	*out_len = 0;
	pickle_decoder_init(&d, bytes, len, why, sizeof(why));
	budget_from(&budget, &d, o);
	audit_init(&a, &d, len);
	rc = pickle_decode(&d);
	if (stopped_short(rc)) {
		audit_free(&a);
		pickle_decoder_free(&d);
		return rc;
	}
	if (rc && rc != CONN_ENOMEM)
		on_stop(&a, rc, why);
	report->decoded = d.result != NULL && d.pos == d.len;
	if (rc != CONN_ENOMEM) {
		note_unused(&a);
		rc = finish(&a, json, report->decoded, out, out_len);
	}
	report->verdict = a.worst;
	audit_free(&a);
	pickle_decoder_free(&d);
	return rc;
}

int conn_pickle_audit_with(char **out, size_t *out_len,
			   struct conn_pickle_report *report,
			   const struct conn_render_options *o,
			   const uint8_t *bytes, size_t len)
{
	return audit_run(out, out_len, report, o, false, bytes, len);
}

int conn_pickle_audit_json(char **out, size_t *out_len,
			   struct conn_pickle_report *report,
			   const struct conn_render_options *o,
			   const uint8_t *bytes, size_t len)
{
	return audit_run(out, out_len, report, o, true, bytes, len);
}

int conn_pickle_policy_check(const struct conn_pickle_policy *p,
			     bool *allowed, char *detail, size_t capacity,
			     const uint8_t *bytes, size_t len)
{
	return conn_pickle_policy_check_with(p, allowed, detail, capacity,
					     NULL, bytes, len);
}

int conn_pickle_policy_check_with(const struct conn_pickle_policy *p,
				  bool *allowed, char *detail,
				  size_t capacity,
				  const struct conn_render_options *o,
				  const uint8_t *bytes, size_t len)
{
	char why[200] = "";
	struct budget budget;
	struct decoder d;
	struct audit a;
	int rc;

	pickle_decoder_init(&d, bytes, len, why, sizeof(why));
	budget_from(&budget, &d, o);
	audit_init(&a, &d, len);
	a.policy = p;
	a.why = detail;
	a.why_capacity = capacity;
	rc = pickle_decode(&d);
	*allowed = rc == 0;
	if (rc && !a.denied && rc != CONN_ENOMEM && !stopped_short(rc))
		detail_set(detail, capacity, "not a pickle the policy can "
			   "vouch for: %s", why);
	audit_free(&a);
	pickle_decoder_free(&d);
	return rc == CONN_ENOMEM || stopped_short(rc) ? rc : 0;
}
