/*
 * pickle-value.c - the value model: nodes, hashes and equality as Python
 * has them, containers.
 * See pickle.h.
 */
#include "pickle.h"

const char *const pickle_kind_names[] = {
	[K_NONE] = "NoneType", [K_BOOL] = "bool", [K_INT] = "int",
	[K_FLOAT] = "float", [K_COMPLEX] = "complex", [K_STR] = "str",
	[K_BYTES] = "bytes", [K_BYTEARRAY] = "bytearray", [K_TUPLE] = "tuple",
	[K_LIST] = "list", [K_DICT] = "dict", [K_SET] = "set",
	[K_FROZENSET] = "frozenset", [K_GLOBAL] = "global",
	[K_CALL] = "call result", [K_PERSID] = "persistent object",
	[K_EXT] = "extension", [K_BUFFER] = "buffer"
};

/* None, True, False and () are shared, as CPython shares them. */
struct node pickle_node_none = { .kind = K_NONE, .hashable = true };
struct node pickle_node_true = { .kind = K_BOOL, .hashable = true,
				 .u.b = true };
struct node pickle_node_false = { .kind = K_BOOL, .hashable = true };
struct node pickle_node_empty_tuple = { .kind = K_TUPLE, .hashable = true };

void pickle_node_release(struct node *n)
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

int pickle_node_new(struct decoder *d, struct node **out, enum kind kind)
{
	struct block *b = d->blocks;
	struct node *n;

	*out = NULL;
	if (d->nodes >= OBJECTS_MAX)
		return pickle_too_many_objects(d);
	if (b == NULL || b->used == BLOCK_NODES) {
		if (pickle_charge(d, sizeof(*b)))
			return CONN_ETOOBIG;
		b = calloc(1, sizeof(*b));
		if (b == NULL)
			return pickle_no_memory(d);
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
	text = pickle_float_to_decimal(x);
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
	if (n != &pickle_node_none && n != &pickle_node_true &&
	    n != &pickle_node_false && n != &pickle_node_empty_tuple) {
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
	text = pickle_float_to_decimal(x);
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
	return pickle_fail(d, CONN_ETOOBIG, "too many dict keys or set "
			   "elements collide in hash for the pickle's size");
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
		return pickle_fail(d, CONN_ETOOBIG, "a key nests deeper than "
				   "%d levels", CONN_PICKLE_MAX_DEPTH);
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

/*
 * Dicts and sets of up to SMALL_ENTRIES entries have no hash table: most
 * are small (a record's fields), and comparing a few cached hashes costs
 * less than making and filling a table.
 */
#define SMALL_ENTRIES 8

static size_t table_size(const struct node *c)
{
	return (size_t)1 << c->slot_bits;
}

/* The key of entry i of a dict, set or frozenset. */
struct node *pickle_entry_key(const struct node *c, size_t i)
{
	return c->kind == K_DICT ? c->u.seq.items[2 * i] : c->u.seq.items[i];
}

/* Whether the key of entry i equals key, whose hash is h, into *equal;
 * every comparison spends the budget. */
static int entry_matches(struct decoder *d, struct node *c, size_t i,
			 struct node *key, uint64_t h, int depth, bool *equal)
{
	struct node *other = pickle_entry_key(c, i);

	*equal = false;
	if (d->compare_budget == 0)
		return collisions(d);
	d->compare_budget--;
	if (other != key && node_hash(other) != h)
		return 0;
	return node_equal(d, key, other, depth, equal);
}

/* The entry whose key equals key, or SIZE_MAX.  The SMALL_ENTRIES or
 * fewer entries of a container without a table are tried one by one. */
static int table_find(struct decoder *d, struct node *c, struct node *key,
		      int depth, size_t *index)
{
	size_t mask = table_size(c) - 1, i;
	uint64_t h = node_hash(key);
	uint32_t slot;
	bool equal;
	int rc;

	*index = SIZE_MAX;
	for (i = 0; c->slot_bits == 0 && i < c->u.seq.n; i++) {
		rc = entry_matches(d, c, i, key, h, depth, &equal);
		if (rc || equal) {
			*index = equal ? i : SIZE_MAX;
			return rc;
		}
	}
	if (c->slot_bits == 0)
		return 0;
	for (i = h & mask; (slot = c->u.seq.slots[i]) != 0; i = (i + 1) & mask) {
		rc = entry_matches(d, c, slot - 1, key, h, depth, &equal);
		if (rc || equal) {
			*index = equal ? slot - 1 : SIZE_MAX;
			return rc;
		}
	}
	return 0;
}

static void table_put(struct node *c, size_t index)
{
	size_t mask = table_size(c) - 1;
	size_t i = node_hash(pickle_entry_key(c, index)) & mask;

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
		return pickle_fail(d, CONN_ETOOBIG, "too many entries");
	if (c->slot_bits == 0 && index < SMALL_ENTRIES)
		return 0;	/* found by small_find() */
	if (c->slot_bits && 2 * (index + 1) <= nslots) {
		table_put(c, index);
		return 0;
	}
	while (nslots < 2 * (index + 1)) {
		nslots *= 2;
		bits++;
	}
	if (pickle_charge(d, nslots * sizeof(*slots)))
		return CONN_ETOOBIG;
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return pickle_no_memory(d);
	free(c->u.seq.slots);
	c->u.seq.slots = slots;
	c->slot_bits = bits;
	for (i = 0; i <= index; i++)
		table_put(c, i);
	return 0;
}

/* ----------------------------------------------------------- containers */

/*
 * Room for more items (pairs in a dict).  The first reservation is exact
 * (a batch's APPENDS or SETITEMS says how many come), later ones double.
 */
int pickle_items_reserve(struct decoder *d, struct node *c, size_t more)
{
	size_t need = c->u.seq.n + more, old = c->u.seq.cap, cap;
	struct node **items;
	int rc;

	if (c->kind == K_DICT)
		need = need > SIZE_MAX / 2 ? SIZE_MAX : 2 * need;
	if (need <= old)
		return 0;
	cap = old == 0 ? need : old * 2 > need ? old * 2 : need;
	if (cap > SIZE_MAX / sizeof(*items))
		return pickle_no_memory(d);
	rc = pickle_charge(d, (cap - old) * sizeof(*items));
	if (rc)
		return rc;
	items = realloc(c->u.seq.items, cap * sizeof(*items));
	if (items == NULL)
		return pickle_no_memory(d);
	c->u.seq.items = items;
	c->u.seq.cap = cap;
	return 0;
}

int pickle_list_append(struct decoder *d, struct node *list,
		       struct node *item)
{
	int rc = pickle_items_reserve(d, list, 1);

	if (rc)
		return rc;
	list->u.seq.items[list->u.seq.n++] = item;
	return 0;
}

static int unhashable(struct decoder *d, const struct node *key)
{
	return pickle_fail(d, CONN_EPROTO, "unhashable type: '%s'",
			   pickle_kind_names[key->kind]);
}

/* d[key] = value: a key already there keeps its place and takes value. */
int pickle_dict_set(struct decoder *d, struct node *dict, struct node *key,
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
	rc = pickle_items_reserve(d, dict, 1);
	if (rc)
		return rc;
	index = dict->u.seq.n++;
	dict->u.seq.items[2 * index] = key;
	dict->u.seq.items[2 * index + 1] = value;
	return table_add(d, dict, index);
}

/* set.add(item): an equal element already there stays. */
int pickle_set_add(struct decoder *d, struct node *set, struct node *item)
{
	size_t index;
	int rc;

	if (!item->hashable)
		return unhashable(d, item);
	rc = table_find(d, set, item, 0, &index);
	if (rc || index != SIZE_MAX)
		return rc;
	rc = pickle_items_reserve(d, set, 1);
	if (rc)
		return rc;
	index = set->u.seq.n++;
	set->u.seq.items[index] = item;
	return table_add(d, set, index);
}

/* A frozenset's hash ignores order, like Python's. */
void pickle_frozenset_seal(struct node *set)
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
void pickle_tuple_seal(struct node *t)
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
int pickle_effect_add(struct decoder *d, struct node *n,
		      enum effect_kind kind, struct node *a, struct node *b)
{
	struct effects *e = n->effects;
	struct effect *v;

	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return pickle_no_memory(d);
		n->effects = e;
	}
	v = pickle_grow(e->v, &e->cap, e->n + 1, sizeof(*v));
	if (v == NULL)
		return pickle_no_memory(d);
	e->v = v;
	e->v[e->n++] = (struct effect){ kind, a, b };
	return 0;
}

