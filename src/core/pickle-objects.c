/*
 * pickle-objects.c - the known calls' dispatch, builtins and copyreg's
 * reconstructors folded at decode time, and objects from their state:
 * multiprocessing.managers' Token and Namespace as CPython prints them,
 * other objects in a readable form.
 * See pickle.h.
 */
#include "pickle.h"

/* ------------------------------------------------------------ dispatch */

bool pickle_objects_repr(struct render *r, struct node *n, int depth)
{
	return pickle_repr_collection(r, n, depth) ||
	       pickle_repr_exception(r, n, depth) ||
	       pickle_repr_object(r, n, depth);
}

bool pickle_objects_json(struct render *r, struct node *n, int depth)
{
	return pickle_json_collection(r, n, depth) ||
	       pickle_json_exception(r, n, depth) ||
	       pickle_json_object(r, n, depth);
}

void pickle_objects_repr_again(struct render *r, struct node *n, int depth)
{
	if (!pickle_repr_collection_again(r, n, depth) &&
	    !pickle_known_ndarray_again(r, n))
		pickle_out_str(r->o, "...");
}

/* -------------------------------------------------- folded at decode time */

/* A new list or tuple of the items of a list or tuple. */
static int copy_sequence(struct decoder *d, struct node **out,
			 enum kind kind, const struct node *from)
{
	size_t n = from->u.seq.n;
	int rc = pickle_spend_copies(d, n);

	if (!rc)
		rc = pickle_node_new(d, out, kind);
	if (rc || n == 0)
		return rc;
	(*out)->u.seq.items = malloc(n * sizeof(*from->u.seq.items));
	if ((*out)->u.seq.items == NULL)
		return pickle_no_memory(d);
	memcpy((*out)->u.seq.items, from->u.seq.items,
	       n * sizeof(*from->u.seq.items));
	(*out)->u.seq.n = (*out)->u.seq.cap = n;
	if (kind == K_TUPLE)
		pickle_tuple_seal(*out);
	return 0;
}

static int copy_dict(struct decoder *d, struct node **out,
		     const struct node *from)
{
	size_t i;
	int rc = pickle_spend_copies(d, from->u.seq.n);

	if (!rc)
		rc = pickle_node_new(d, out, K_DICT);
	for (i = 0; !rc && i < from->u.seq.n; i++)
		rc = pickle_dict_set(d, *out, from->u.seq.items[2 * i],
				     from->u.seq.items[2 * i + 1]);
	return rc;
}

/* bool(x) of a value, as its truth. */
static struct node *truth(const struct node *x)
{
	bool t;

	switch (x->kind) {
	case K_NONE: t = false; break;
	case K_BOOL: t = x->u.b; break;
	case K_INT: t = x->u.i.digits != NULL || x->u.i.v != 0; break;
	case K_FLOAT: t = x->u.f.v != 0; break;
	case K_COMPLEX: t = x->u.c.re != 0 || x->u.c.im != 0; break;
	case K_STR: case K_BYTES: case K_BYTEARRAY: t = x->u.s.n != 0; break;
	case K_TUPLE: case K_LIST: case K_DICT: case K_SET: case K_FROZENSET:
		t = x->u.seq.n != 0;
		break;
	default:
		return NULL;	/* an object's __bool__ would run */
	}
	return t ? &pickle_node_true : &pickle_node_false;
}

/* list(), tuple(), dict(), str(), int(), float() and bool() of nothing. */
static int fold_empty(struct decoder *d, struct node **out, struct text name)
{
	static const struct {
		const char *name;
		enum kind kind;
	} empty[] = {
		{ "list", K_LIST }, { "dict", K_DICT }, { "str", K_STR },
		{ "int", K_INT }, { "float", K_FLOAT },
	};
	size_t i;
	int rc;

	if (pickle_text_is(name, "tuple"))
		*out = &pickle_node_empty_tuple;
	else if (pickle_text_is(name, "bool"))
		*out = &pickle_node_false;
	for (i = 0; *out == NULL && i < COUNT(empty); i++)
		if (pickle_text_is(name, empty[i].name)) {
			rc = pickle_node_new(d, out, empty[i].kind);
			if (!rc && empty[i].kind == K_STR)
				(*out)->u.s.p = "";
			return rc;
		}
	return 0;
}

/*
 * The builtin types called on a value of their own kind (list of a list
 * or tuple: how managers send dict views), int and float of ints, bool
 * of anything with a truth: the values CPython would make.  Other
 * arguments (str(obj) would run __str__) stay calls.
 */
static int fold_builtin(struct decoder *d, struct node **out,
			struct text name, struct node *args)
{
	struct node *a = args->u.seq.n == 1 ? args->u.seq.items[0] : NULL;
	bool seq = a != NULL && (a->kind == K_LIST || a->kind == K_TUPLE);
	int rc;

	if (args->u.seq.n == 0)
		return fold_empty(d, out, name);
	if (a == NULL)
		return 0;
	if (pickle_text_is(name, "list") && seq)
		return copy_sequence(d, out, K_LIST, a);
	if (pickle_text_is(name, "tuple") && seq) {
		if (a->kind == K_TUPLE)
			*out = a;	/* tuple(t) is t */
		return a->kind == K_TUPLE ? 0 : copy_sequence(d, out,
							      K_TUPLE, a);
	}
	if (pickle_text_is(name, "dict") && a->kind == K_DICT)
		return copy_dict(d, out, a);
	if ((pickle_text_is(name, "str") && a->kind == K_STR) ||
	    (pickle_text_is(name, "int") && a->kind == K_INT) ||
	    (pickle_text_is(name, "float") && a->kind == K_FLOAT)) {
		*out = a;
		return 0;
	}
	if (pickle_text_is(name, "bool")) {
		*out = truth(a);
		return 0;
	}
	if (pickle_text_is(name, "int") && a->kind == K_BOOL) {
		rc = pickle_node_new(d, out, K_INT);
		if (!rc)
			(*out)->u.i.v = a->u.b;
		return rc;
	}
	if (pickle_text_is(name, "float") && a->kind == K_INT &&
	    a->u.i.digits == NULL) {
		rc = pickle_node_new(d, out, K_FLOAT);
		if (!rc)	/* rounded to nearest, as CPython's int.__float__ */
			(*out)->u.f.v = (double)a->u.i.v;
		return rc;
	}
	return 0;
}

/* copyreg.__newobj__(cls, *args) and __newobj_ex__(cls, args, kwargs):
 * what NEWOBJ and NEWOBJ_EX do, so shown as they are. */
static int fold_copyreg(struct decoder *d, struct node **out,
			struct text name, struct node *args)
{
	struct node **a = args->u.seq.items, *rest;
	size_t n = args->u.seq.n;
	int rc;

	if (pickle_text_is(name, "__newobj_ex__") && n == 3 &&
	    a[1]->kind == K_TUPLE && a[2]->kind == K_DICT)
		return pickle_call_node(d, out, CALL_NEWOBJ, a[0], a[1], a[2]);
	if (!pickle_text_is(name, "__newobj__") || n == 0)
		return 0;
	if (n == 1)
		return pickle_call_node(d, out, CALL_NEWOBJ, a[0],
					&pickle_node_empty_tuple, NULL);
	rc = pickle_node_new(d, &rest, K_TUPLE);
	if (!rc)
		rc = pickle_spend_copies(d, n - 1);
	if (rc)
		return rc;
	rest->u.seq.items = malloc((n - 1) * sizeof(*a));
	if (rest->u.seq.items == NULL)
		return pickle_no_memory(d);
	memcpy(rest->u.seq.items, a + 1, (n - 1) * sizeof(*a));
	rest->u.seq.n = rest->u.seq.cap = n - 1;
	pickle_tuple_seal(rest);
	return pickle_call_node(d, out, CALL_NEWOBJ, a[0], rest, NULL);
}

int pickle_make_folded(struct decoder *d, struct node **out,
		       struct node *func, struct node *args)
{
	*out = NULL;
	if (func->kind != K_GLOBAL)
		return 0;
	if (pickle_text_is(func->u.g.module, "builtins"))
		return fold_builtin(d, out, func->u.g.name, args);
	if (pickle_text_is(func->u.g.module, "copyreg"))
		return fold_copyreg(d, out, func->u.g.name, args);
	return 0;
}

/* ------------------------------------------------------------- objects */

/* An object made from its class without a call of its own: NEWOBJ (and
 * copyreg._reconstructor(cls, object, None), made one), or a tuple
 * subclass by copyreg._reconstructor(cls, tuple, items) (protocols 0-1);
 * its class, the arguments and the state BUILD gave it (or NULL). */
struct object {
	struct node *cls;
	struct node **args;
	size_t nargs;
	struct node *state;
};

static bool object_of(const struct node *n, struct object *x)
{
	const struct node *f = n->u.call.func, *a = n->u.call.args;
	const struct effects *e = n->effects;

	if (n->u.call.form == CALL_NEWOBJ) {
		x->cls = n->u.call.func;
		x->args = a->u.seq.items;
		x->nargs = a->u.seq.n;
		if (n->u.call.kwargs != NULL && n->u.call.kwargs->u.seq.n)
			return false;
	} else if (pickle_global_is(f, "copyreg", "_reconstructor") &&
		   a->u.seq.n == 3 &&
		   pickle_global_is(a->u.seq.items[1], "builtins", "tuple") &&
		   a->u.seq.items[2]->kind == K_TUPLE) {
		x->cls = a->u.seq.items[0];
		x->args = a->u.seq.items[2]->u.seq.items;
		x->nargs = a->u.seq.items[2]->u.seq.n;
	} else {
		return false;
	}
	if (x->cls->kind != K_GLOBAL ||
	    pickle_text_is(x->cls->u.g.module, "builtins") ||
	    (e != NULL && (e->n != 1 || e->v[0].kind != EFFECT_STATE)))
		return false;
	x->state = e != NULL ? e->v[0].a : NULL;
	return true;
}

/* A dict whose keys all are identifiers (or None: no attributes). */
static bool is_fields(const struct node *d)
{
	size_t i;

	if (d == &pickle_node_none)
		return true;
	if (d->kind != K_DICT)
		return false;
	for (i = 0; i < d->u.seq.n; i++)
		if (d->u.seq.items[2 * i]->kind != K_STR ||
		    !pickle_is_identifier(d->u.seq.items[2 * i]->u.s))
			return false;
	return true;
}

/* The state's attribute dicts: __dict__'s, or (__dict__, slots) of a
 * class with __slots__; false for a state __setstate__ must read. */
static bool state_fields(const struct node *state, struct node *dicts[2])
{
	dicts[0] = dicts[1] = &pickle_node_none;
	if (state == NULL)
		return true;
	if (state->kind == K_TUPLE && state->u.seq.n == 2) {
		dicts[0] = state->u.seq.items[0];
		dicts[1] = state->u.seq.items[1];
	} else {
		dicts[0] = (struct node *)state;
	}
	return is_fields(dicts[0]) && is_fields(dicts[1]);
}

static void repr_fields(struct render *r, struct node *dicts[2],
			bool comma, int depth)
{
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; dicts[k] != &pickle_node_none &&
			    i < dicts[k]->u.seq.n; i++) {
			struct node **kv = dicts[k]->u.seq.items + 2 * i;

			if (comma)
				pickle_out_str(r->o, ", ");
			comma = true;
			pickle_out_put(r->o, kv[0]->u.s.p, kv[0]->u.s.n);
			pickle_out_char(r->o, '=');
			pickle_repr_node(r, kv[1], depth);
		}
}

/* ------------------------------------------------------ manager objects */

static bool is_token(const struct object *x)
{
	return pickle_global_is(x->cls, "multiprocessing.managers", "Token") &&
	       x->nargs == 0 && x->state != NULL &&
	       x->state->kind == K_TUPLE && x->state->u.seq.n == 3;
}

static bool is_namespace(const struct object *x)
{
	return pickle_global_is(x->cls, "multiprocessing.managers",
				"Namespace") &&
	       x->nargs == 0 && (x->state == NULL || (x->state->kind == K_DICT &&
						      is_fields(x->state)));
}

/* Token.__repr__: Token(typeid=..., address=..., id=...). */
static void repr_token(struct render *r, const struct object *x, int depth)
{
	static const char *const names[] = { "typeid", "address", "id" };
	size_t i;

	pickle_out_str(r->o, "Token(");
	for (i = 0; i < 3; i++) {
		pickle_out_fmt(r->o, "%s%s=", i ? ", " : "", names[i]);
		pickle_repr_node(r, x->state->u.seq.items[i], depth);
	}
	pickle_out_char(r->o, ')');
}

struct field_text {
	char *p;
	size_t n;
};

static int by_text(const void *a, const void *b)
{
	const struct field_text *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* One name=repr(value) of a Namespace, into its own text. */
static bool field_text(struct render *r, struct node **kv,
		       struct field_text *t, int depth)
{
	struct out o = { .limit = r->o->limit - r->o->n,
			 .budget = r->o->budget };
	struct render inner = { &o, false, r->python };

	pickle_out_put(&o, kv[0]->u.s.p, kv[0]->u.s.n);
	pickle_out_char(&o, '=');
	pickle_repr_node(&inner, kv[1], depth);
	t->p = o.p;
	t->n = o.n;
	if (o.err) {
		r->o->err = o.err;
		r->too_deep = inner.too_deep;
	}
	return !o.err;
}

/* Namespace.__repr__: its public attributes as name=value, sorted. */
static void repr_namespace(struct render *r, const struct object *x,
			   int depth)
{
	const struct node *d = x->state;
	size_t i, k = 0, count = d ? d->u.seq.n : 0;
	struct field_text *t = calloc(count + 1, sizeof(*t));

	if (t == NULL) {
		r->o->err = r->o->err ? r->o->err : CONN_ENOMEM;
		return;
	}
	for (i = 0; i < count; i++) {
		struct node **kv = d->u.seq.items + 2 * i;

		if (kv[0]->u.s.p[0] != '_' &&
		    !field_text(r, kv, &t[k++], depth))
			break;
	}
	qsort(t, k, sizeof(*t), by_text);
	pickle_out_str(r->o, "Namespace(");
	for (i = 0; i < k; i++) {
		if (i)
			pickle_out_str(r->o, ", ");
		pickle_out_put(r->o, t[i].p, t[i].n);
		free(t[i].p);
	}
	pickle_out_char(r->o, ')');
	free(t);
}

/*
 * Objects: Token and Namespace as CPython prints them; any other class's
 * as module.Class(arg, ..., name=value, ...), its NEWOBJ arguments and
 * the attributes of its state, which is not CPython's repr() (that is
 * <module.Class object at 0x...> unless the class has its own) but shows
 * what the pickle holds.
 */
bool pickle_repr_object(struct render *r, struct node *n, int depth)
{
	struct object x;
	struct node *dicts[2];

	if (!object_of(n, &x))
		return false;
	if (is_token(&x)) {
		repr_token(r, &x, depth);
		return true;
	}
	if (is_namespace(&x)) {
		repr_namespace(r, &x, depth);
		return true;
	}
	if (!state_fields(x.state, dicts))
		return false;
	pickle_repr_callable(r, x.cls, depth);
	pickle_out_char(r->o, '(');
	pickle_repr_items(r, x.args, x.nargs, depth);
	repr_fields(r, dicts, x.nargs > 0, depth);
	pickle_out_char(r->o, ')');
	return true;
}

/* The JSON of the fields of both dicts, as one dict. */
static void json_fields(struct render *r, struct node *dicts[2], int depth)
{
	struct node merged = { .kind = K_DICT };
	size_t k, n = 0;

	for (k = 0; k < 2; k++)
		if (dicts[k] != &pickle_node_none)
			n += dicts[k]->u.seq.n;
	merged.u.seq.items = malloc((2 * n + 1) * sizeof(struct node *));
	if (merged.u.seq.items == NULL) {
		r->o->err = r->o->err ? r->o->err : CONN_ENOMEM;
		return;
	}
	for (k = 0; k < 2; k++)
		if (dicts[k] != &pickle_node_none) {
			memcpy(merged.u.seq.items + 2 * merged.u.seq.n,
			       dicts[k]->u.seq.items,
			       2 * dicts[k]->u.seq.n * sizeof(struct node *));
			merged.u.seq.n += dicts[k]->u.seq.n;
		}
	pickle_json_dict(r, &merged, depth);
	free(merged.u.seq.items);
}

/* {"__object__": {"class": "module.Class", "args": [...], "fields":
 * {...}}}: a Token's fields are typeid, address and id. */
bool pickle_json_object(struct render *r, struct node *n, int depth)
{
	static struct node token_keys[3] = {
		{ .kind = K_STR, .u.s = { "typeid", 6 } },
		{ .kind = K_STR, .u.s = { "address", 7 } },
		{ .kind = K_STR, .u.s = { "id", 2 } },
	};
	struct node token = { .kind = K_DICT }, *items[6], *dicts[2];
	struct object x;
	size_t i;

	if (!object_of(n, &x))
		return false;
	if (is_token(&x)) {
		for (i = 0; i < 3; i++) {
			items[2 * i] = &token_keys[i];
			items[2 * i + 1] = x.state->u.seq.items[i];
		}
		token.u.seq.items = items;
		token.u.seq.n = 3;
		dicts[0] = &token;
		dicts[1] = &pickle_node_none;
	} else if (!state_fields(x.state, dicts)) {
		return false;
	}
	pickle_out_str(r->o, "{\"__object__\": {\"class\": ");
	pickle_json_dotted(r->o, x.cls);
	pickle_out_str(r->o, ", \"args\": ");
	pickle_json_array(r, x.args, x.nargs, depth);
	pickle_out_str(r->o, ", \"fields\": ");
	json_fields(r, dicts, depth);
	pickle_out_str(r->o, "}}");
	return true;
}
