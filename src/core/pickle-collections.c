/*
 * pickle-collections.c - collections.defaultdict, deque and Counter as
 * CPython's repr() shows them, and their tagged JSON.
 * See pickle.h.  (OrderedDict is a dict node: pickle-call.c makes it,
 * pickle-repr.c prints it in the form of the CPython asked for.)
 *
 * How CPython pickles them (__reduce__):
 *   defaultdict(factory) or defaultdict() then SETITEMS of its items;
 *   deque((), maxlen) or deque() (or deque(list, maxlen)) then APPENDS;
 *   Counter(dict), or Counter() when empty.
 */
#include "pickle.h"

enum collection { C_NONE, C_DEFAULTDICT, C_DEQUE, C_COUNTER };

/* Which of the three a call calls, with the arguments and what was done
 * to it as CPython's pickles have them; else C_NONE. */
static enum collection collection_of(const struct node *n)
{
	const struct node *f = n->u.call.func, *a0;
	const struct effects *e = n->effects;
	size_t i, count = n->u.call.args->u.seq.n;
	enum effect_kind want;
	enum collection c;

	if (n->u.call.form != CALL_REDUCE || f->kind != K_GLOBAL ||
	    !pickle_text_is(f->u.g.module, "collections"))
		return C_NONE;
	c = pickle_text_is(f->u.g.name, "defaultdict") ? C_DEFAULTDICT
	    : pickle_text_is(f->u.g.name, "deque") ? C_DEQUE
	    : pickle_text_is(f->u.g.name, "Counter") ? C_COUNTER : C_NONE;
	a0 = count ? n->u.call.args->u.seq.items[0] : NULL;
	if (c == C_DEFAULTDICT && (count > 1 || (a0 != NULL &&
	    a0 != &pickle_node_none && a0->kind != K_GLOBAL &&
	    a0->kind != K_CALL)))
		return C_NONE;
	if (c == C_DEQUE && (count > 2 || (a0 != NULL &&
	    a0->kind != K_LIST && a0->kind != K_TUPLE)))
		return C_NONE;
	if (c == C_DEQUE && count == 2) {
		const struct node *m = n->u.call.args->u.seq.items[1];

		if (m != &pickle_node_none && (m->kind != K_INT ||
		    m->u.i.digits != NULL || m->u.i.v < 0))
			return C_NONE;
	}
	if (c == C_COUNTER && (count > 1 || (a0 != NULL &&
	    a0->kind != K_DICT) || e != NULL))
		return C_NONE;
	want = c == C_DEFAULTDICT ? EFFECT_SETITEM : EFFECT_EXTEND;
	for (i = 0; e != NULL && i < e->n; i++)
		if (e->v[i].kind != want)
			return C_NONE;
	return c;
}

/* A dict node of the given pairs for the renderings to walk; false when
 * out of memory (the error is set). */
static bool temporary_dict(struct render *r, struct node *dict, size_t n)
{
	memset(dict, 0, sizeof(*dict));
	dict->kind = K_DICT;
	dict->u.seq.n = n;
	dict->u.seq.items = malloc((2 * n + 1) * sizeof(*dict->u.seq.items));
	if (dict->u.seq.items == NULL && !r->o->err)
		r->o->err = CONN_ENOMEM;
	return dict->u.seq.items != NULL;
}

/* A defaultdict's items, from its SETITEMs. */
static bool defaultdict_items(struct render *r, const struct node *n,
			      struct node *dict)
{
	const struct effects *e = n->effects;
	size_t i, count = e ? e->n : 0;

	if (!temporary_dict(r, dict, count))
		return false;
	for (i = 0; i < count; i++) {
		dict->u.seq.items[2 * i] = e->v[i].a;
		dict->u.seq.items[2 * i + 1] = e->v[i].b;
	}
	return true;
}

static struct node *defaultdict_factory(const struct node *n)
{
	return n->u.call.args->u.seq.n ? n->u.call.args->u.seq.items[0]
				       : &pickle_node_none;
}

/* A deque's items, the last maxlen of its arguments' and APPENDs': the
 * items of *dict (its keys unused), maxlen -1 for none. */
static bool deque_items(struct render *r, const struct node *n,
			struct node *dict, int64_t *maxlen)
{
	const struct node *args = n->u.call.args;
	const struct node *from = args->u.seq.n ? args->u.seq.items[0] : NULL;
	const struct effects *e = n->effects;
	size_t i, k = 0, first = from ? from->u.seq.n : 0;
	size_t count = first + (e ? e->n : 0), skip = 0;

	*maxlen = -1;
	if (args->u.seq.n == 2 && args->u.seq.items[1] != &pickle_node_none)
		*maxlen = args->u.seq.items[1]->u.i.v;
	if (*maxlen >= 0 && count > (uint64_t)*maxlen)
		skip = count - (size_t)*maxlen;
	if (!temporary_dict(r, dict, count - skip))
		return false;
	for (i = skip; i < count; i++)
		dict->u.seq.items[k++] = i < first ? from->u.seq.items[i]
						   : e->v[i - first].a;
	dict->u.seq.n = k;
	return true;
}

/* A count as a number to order by, if it is one (not nan). */
static bool count_value(const struct node *v, long double *x)
{
	if (v->kind == K_BOOL)
		*x = v->u.b;
	else if (v->kind == K_INT && v->u.i.digits == NULL)
		*x = (long double)v->u.i.v;
	else if (v->kind == K_INT)
		*x = strtold(v->u.i.digits, NULL);
	else if (v->kind == K_FLOAT && !isnan(v->u.f.v))
		*x = v->u.f.v;
	else
		return false;
	return true;
}

struct ranked {
	long double count;
	size_t index;
};

/* Greater counts first, equal ones in their order: sorted(..., key=count,
 * reverse=True) is stable. */
static int by_count(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * A Counter's items in most_common() order, as its repr() prints them;
 * counts that are not all numbers keep the dict's order (CPython's
 * fallback when they do not compare; strs would compare, but real
 * Counters count).
 */
static bool counter_items(struct render *r, const struct node *n,
			  struct node *dict)
{
	const struct node *from = n->u.call.args->u.seq.n
				  ? n->u.call.args->u.seq.items[0] : NULL;
	size_t i, count = from ? from->u.seq.n : 0;
	struct ranked *rank;
	bool numbers = true;

	if (!temporary_dict(r, dict, count))
		return false;
	rank = malloc((count + 1) * sizeof(*rank));
	if (rank == NULL) {
		if (!r->o->err)
			r->o->err = CONN_ENOMEM;
		free(dict->u.seq.items);
		return false;
	}
	for (i = 0; i < count; i++) {
		rank[i].index = i;
		numbers = numbers && count_value(from->u.seq.items[2 * i + 1],
						 &rank[i].count);
	}
	if (numbers)
		qsort(rank, count, sizeof(*rank), by_count);
	for (i = 0; i < count; i++) {
		dict->u.seq.items[2 * i] = from->u.seq.items[2 * rank[i].index];
		dict->u.seq.items[2 * i + 1] =
			from->u.seq.items[2 * rank[i].index + 1];
	}
	free(rank);
	return true;
}

static void repr_defaultdict(struct render *r, struct node *n,
			     struct node *items, int depth)
{
	pickle_out_str(r->o, "defaultdict(");
	pickle_repr_node(r, defaultdict_factory(n), depth);
	pickle_out_str(r->o, ", {");
	pickle_repr_dict_items(r, items, depth);
	pickle_out_str(r->o, "})");
}

static void repr_deque(struct render *r, struct node *items, int64_t maxlen,
		       int depth)
{
	pickle_out_str(r->o, "deque([");
	pickle_repr_items(r, items->u.seq.items, items->u.seq.n, depth);
	pickle_out_char(r->o, ']');
	if (maxlen >= 0)
		pickle_out_fmt(r->o, ", maxlen=%lld", (long long)maxlen);
	pickle_out_char(r->o, ')');
}

static void repr_counter(struct render *r, struct node *items, int depth)
{
	if (items->u.seq.n == 0) {
		pickle_out_str(r->o, "Counter()");
		return;
	}
	pickle_out_str(r->o, "Counter({");
	pickle_repr_dict_items(r, items, depth);
	pickle_out_str(r->o, "})");
}

bool pickle_repr_collection(struct render *r, struct node *n, int depth)
{
	enum collection c = collection_of(n);
	struct node items;
	int64_t maxlen;

	if (c == C_DEFAULTDICT && defaultdict_items(r, n, &items))
		repr_defaultdict(r, n, &items, depth);
	else if (c == C_DEQUE && deque_items(r, n, &items, &maxlen))
		repr_deque(r, &items, maxlen, depth);
	else if (c == C_COUNTER && counter_items(r, n, &items))
		repr_counter(r, &items, depth);
	else
		return c != C_NONE;	/* out of memory: the error is set */
	free(items.u.seq.items);
	return true;
}

/* A defaultdict met inside itself prints its factory and {...} (dict's
 * recursion guard), a deque [...] (its own). */
bool pickle_repr_collection_again(struct render *r, struct node *n,
				  int depth)
{
	switch (collection_of(n)) {
	case C_DEFAULTDICT:
		pickle_out_str(r->o, "defaultdict(");
		pickle_repr_node(r, defaultdict_factory(n), depth);
		pickle_out_str(r->o, ", {...})");
		return true;
	case C_DEQUE:
		pickle_out_str(r->o, "[...]");
		return true;
	default:
		return false;
	}
}

/*
 * JSON: {"__defaultdict__": {"default_factory": F, "items": D}},
 * {"__deque__": {"items": [...], "maxlen": N or null}} and
 * {"__counter__": D}, D a dict as the JSON rendering writes one (in
 * most_common() order for a Counter), F the factory's rendering.
 */
bool pickle_json_collection(struct render *r, struct node *n, int depth)
{
	enum collection c = collection_of(n);
	struct node items;
	int64_t maxlen;

	if (c == C_DEFAULTDICT && defaultdict_items(r, n, &items)) {
		pickle_out_str(r->o, "{\"__defaultdict__\": "
				     "{\"default_factory\": ");
		pickle_json_node(r, defaultdict_factory(n), depth);
		pickle_out_str(r->o, ", \"items\": ");
		pickle_json_dict(r, &items, depth);
		pickle_out_str(r->o, "}}");
	} else if (c == C_DEQUE && deque_items(r, n, &items, &maxlen)) {
		pickle_out_str(r->o, "{\"__deque__\": {\"items\": ");
		pickle_json_array(r, items.u.seq.items, items.u.seq.n, depth);
		if (maxlen >= 0)
			pickle_out_fmt(r->o, ", \"maxlen\": %lld}}",
				       (long long)maxlen);
		else
			pickle_out_str(r->o, ", \"maxlen\": null}}");
	} else if (c == C_COUNTER && counter_items(r, n, &items)) {
		pickle_out_str(r->o, "{\"__counter__\": ");
		pickle_json_dict(r, &items, depth);
		pickle_out_char(r->o, '}');
	} else {
		return c != C_NONE;
	}
	free(items.u.seq.items);
	return true;
}
