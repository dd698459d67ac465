/*
 * pickle-decode.c - the pickle machine: arguments, stack, memo, the opcode
 * dispatch, the entry point.
 * See pickle.h.
 */
#include "pickle.h"

/* Sets the detail: the offset, the opcode if any, then why. */
int pickle_fail(struct decoder *d, int err, const char *fmt, ...)
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
			   pickle_opcodes[d->op].name, (unsigned)d->op, why);
	return err;
}

int pickle_no_memory(struct decoder *d)
{
	return pickle_fail(d, CONN_ENOMEM, "out of memory");
}

int pickle_over_budget(struct decoder *d, int err)
{
	if (err == CONN_ECANCELED)
		return pickle_fail(d, err, "the rendering was canceled");
	return pickle_fail(d, err, "the rendering takes more work than it "
			   "may spend here");
}

int pickle_charge(struct decoder *d, size_t bytes)
{
	if (bytes <= d->memory_left) {
		d->memory_left -= bytes;
		return 0;
	}
	d->memory_left = 0;
	return pickle_fail(d, CONN_ETOOBIG, "the decoded objects take more "
			   "than %zu bytes of memory", d->memory_limit);
}

int pickle_too_many_objects(struct decoder *d)
{
	return pickle_fail(d, CONN_ETOOBIG, "more than %u objects, more than a "
			   "rendering could show", OBJECTS_MAX);
}

void pickle_decoder_free(struct decoder *d)
{
	struct block *b, *next;
	size_t i;

	for (b = d->blocks; b != NULL; b = next) {
		next = b->next;
		for (i = 0; i < b->used; i++)
			pickle_node_release(&b->nodes[i]);
		free(b);
	}
	free(d->stack);
	free(d->marks);
	free(d->memo);
}

/* v grown to hold need elements of size bytes (updating *cap), or NULL
 * with v untouched. */
void *pickle_grow(void *v, size_t *cap, size_t need, size_t size)
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
int pickle_take(struct decoder *d, const uint8_t **p, uint64_t n)
{
	*p = d->bytes + d->pos;
	if (n > left(d))
		return pickle_fail(d, CONN_EPROTO, "the pickle ends inside the "
				   "argument (%llu bytes announced, %zu left)",
				   (unsigned long long)n, left(d));
	*p = d->bytes + d->pos;
	d->pos += (size_t)n;
	return 0;
}

/* A little-endian unsigned argument of size bytes. */
int pickle_take_uint(struct decoder *d, uint64_t *v, size_t size)
{
	const uint8_t *p;
	size_t i;
	int rc;

	*v = 0;
	rc = pickle_take(d, &p, size);
	if (rc)
		return rc;
	*v = 0;
	for (i = 0; i < size; i++)
		*v |= (uint64_t)p[i] << (8 * i);
	return 0;
}

/* The text up to the next newline, which is consumed but not kept. */
int pickle_take_line(struct decoder *d, struct text *t)
{
	const uint8_t *start = d->bytes + d->pos;
	const uint8_t *nl = memchr(start, '\n', left(d));

	t->p = (const char *)start;
	t->n = 0;
	if (nl == NULL)
		return pickle_fail(d, CONN_EPROTO, "the pickle ends inside the "
				   "argument (no newline in the %zu bytes "
				   "left)", left(d));
	t->p = (const char *)start;
	t->n = (size_t)(nl - start);
	d->pos += t->n + 1;
	return 0;
}

/* ------------------------------------------------------ stack and memo */

/* The first stack slot an opcode may touch: MARK fences off what is below
 * it, as in CPython's C unpickler. */
static size_t fence(const struct decoder *d)
{
	return d->nmarks ? d->marks[d->nmarks - 1].depth : 0;
}

int pickle_need(struct decoder *d, size_t k)
{
	size_t have = d->nstack - fence(d);

	if (have >= k)
		return 0;
	return pickle_fail(d, CONN_EPROTO, "stack underflow: %zu item%s "
			   "needed%s, %zu there", k, k == 1 ? "" : "s",
			   d->nmarks ? " above the last MARK" : "", have);
}

int pickle_push(struct decoder *d, struct node *n)
{
	struct node **stack;
	size_t old = d->stack_cap;

	if (d->nstack >= OBJECTS_MAX)
		return pickle_too_many_objects(d);
	stack = pickle_grow(d->stack, &d->stack_cap, d->nstack + 1,
			    sizeof(*stack));
	if (stack == NULL)
		return pickle_no_memory(d);
	d->stack = stack;
	if (d->stack_cap > old &&
	    pickle_charge(d, (d->stack_cap - old) * sizeof(*stack)))
		return CONN_ETOOBIG;
	d->stack[d->nstack++] = n;
	return 0;
}

struct node *pickle_pop(struct decoder *d)
{
	return d->stack[--d->nstack];
}

struct node *pickle_top(struct decoder *d)
{
	return d->stack[d->nstack - 1];
}

/* Pushes a new node of kind, which is also the opcode's argument. */
int pickle_push_value(struct decoder *d, struct node **out, enum kind kind)
{
	int rc = pickle_node_new(d, out, kind);

	if (rc)
		return rc;
	d->arg.kind = ARG_NODE;
	d->arg.node = *out;
	return pickle_push(d, *out);
}

/* Pops the topmost MARK: the items from *start up are its slice. */
int pickle_pop_mark(struct decoder *d, size_t *start)
{
	*start = d->nstack;
	if (d->nmarks == 0)
		return pickle_fail(d, CONN_EPROTO, "no MARK on the stack");
	d->nmarks--;
	*start = d->marks[d->nmarks].depth;
	d->popped_mark = (long)d->marks[d->nmarks].offset;
	return 0;
}

/* Pops a MARK whose slice goes into the object just below it. */
int pickle_pop_mark_target(struct decoder *d, size_t *start,
			   struct node **target)
{
	int rc = pickle_pop_mark(d, start);

	*target = NULL;
	if (rc)
		return rc;
	if (*start == 0)
		return pickle_fail(d, CONN_EPROTO, "stack underflow: nothing "
				   "below the MARK to add to");
	*target = d->stack[*start - 1];
	return 0;
}

/*
 * Memo indexes below CONN_PICKLE_MAX_MEMO, or one for every two bytes of
 * a larger pickle: each memoized object takes an opcode and a MEMOIZE at
 * least, so a real pickle never needs more, and a sparse BINPUT cannot
 * make the memo bigger than the pickle by more than that.
 */
static size_t memo_limit(const struct decoder *d)
{
	return d->len / 2 > CONN_PICKLE_MAX_MEMO ? d->len / 2
						 : CONN_PICKLE_MAX_MEMO;
}

static int memo_put(struct decoder *d, uint64_t index)
{
	struct node **memo;
	size_t old = d->memo_cap;
	int rc = pickle_need(d, 1);

	if (rc)
		return rc;
	if (index >= memo_limit(d))
		return pickle_fail(d, CONN_ETOOBIG, "memo index %llu is over "
				   "the limit of %zu entries",
				   (unsigned long long)index, memo_limit(d));
	memo = pickle_grow(d->memo, &d->memo_cap, (size_t)index + 1,
			   sizeof(*memo));
	if (memo == NULL)
		return pickle_no_memory(d);
	memset(memo + old, 0, (d->memo_cap - old) * sizeof(*memo));
	d->memo = memo;
	if (d->memo_cap > old &&
	    pickle_charge(d, (d->memo_cap - old) * sizeof(*memo)))
		return CONN_ETOOBIG;
	if (d->memo[index] != NULL && d->audit != NULL) {
		rc = pickle_audit_event(d, AUDIT_MEMO_OVERWRITE, NULL, NULL,
					NULL);
		if (rc)
			return rc;
	}
	if (d->memo[index] == NULL)
		d->memo_count++;
	d->memo[index] = pickle_top(d);
	return 0;
}

static int memo_get(struct decoder *d, uint64_t index)
{
	if (index >= d->memo_cap || d->memo[index] == NULL)
		return pickle_fail(d, CONN_EPROTO, "memo index %llu is not "
				   "defined", (unsigned long long)index);
	return pickle_push(d, d->memo[index]);
}

/* ---------------------------------------------------------------- stack */

static int op_mark(struct decoder *d)
{
	struct mark *marks;

	if (d->nmarks >= CONN_PICKLE_MAX_DEPTH)
		return pickle_fail(d, CONN_ETOOBIG, "more than %d nested MARKs",
				   CONN_PICKLE_MAX_DEPTH);
	marks = pickle_grow(d->marks, &d->marks_cap, d->nmarks + 1,
			    sizeof(*marks));
	if (marks == NULL)
		return pickle_no_memory(d);
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
		return pickle_pop_mark(d, &start);
	rc = pickle_need(d, 1);
	if (!rc)
		pickle_pop(d);
	return rc;
}

static int op_pop_mark(struct decoder *d)
{
	size_t start;
	int rc = pickle_pop_mark(d, &start);

	if (!rc)
		d->nstack = start;
	return rc;
}

static int op_dup(struct decoder *d)
{
	int rc = pickle_need(d, 1);

	return rc ? rc : pickle_push(d, pickle_top(d));
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
		return pickle_no_memory(d);
	valid = pickle_int_syntax(t.p, t.n, 10, &negative, &radix, digits,
				  &count);
	*index = 0;
	for (i = 0; i < count; i++)
		*index = *index > UINT64_MAX / 10 - 1 ? UINT64_MAX
			 : *index * 10 + (uint64_t)(digits[i] - '0');
	free(digits);
	if (!valid)
		return pickle_fail(d, CONN_EPROTO, "invalid literal for int()");
	if (negative && *index != 0)
		return pickle_fail(d, CONN_EPROTO, "negative memo index");
	return 0;
}

/* GET, BINGET, LONG_BINGET, PUT, BINPUT and LONG_BINPUT: a memo index
 * as decimal text (size 0) or little-endian. */
static int take_index(struct decoder *d, uint64_t *index, size_t size)
{
	struct text t;
	int rc;

	if (size)
		rc = pickle_take_uint(d, index, size);
	else
		rc = pickle_take_line(d, &t);
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

/* ----------------------------------------------------------- framing */

static int op_proto(struct decoder *d)
{
	uint64_t v;
	int rc = pickle_take_uint(d, &v, 1);

	if (rc)
		return rc;
	d->arg.kind = ARG_INT;
	d->arg.v = v;
	if (v > PROTOCOL_MAX)
		return pickle_fail(d, CONN_EPROTO, "unsupported pickle "
				   "protocol: %d", (int)v);
	d->proto = (int)v;
	return 0;
}

/* FRAME only announces what follows; CPython checks it is all there. */
static int op_frame(struct decoder *d)
{
	uint64_t v;
	int rc = pickle_take_uint(d, &v, 8);

	if (rc)
		return rc;
	d->arg.kind = ARG_INT;
	d->arg.v = v;
	if (v > left(d))
		return pickle_fail(d, CONN_EPROTO, "the pickle ends inside the "
				   "frame (%llu bytes announced, %zu left)",
				   (unsigned long long)v, left(d));
	return 0;
}

static int op_readonly_buffer(struct decoder *d)
{
	int rc = pickle_need(d, 1);

	if (!rc && pickle_top(d)->kind == K_BUFFER)
		pickle_top(d)->readonly = true;
	return rc;
}

static int op_stop(struct decoder *d)
{
	int rc = pickle_need(d, 1);

	if (!rc)
		d->result = pickle_pop(d);
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
	case OP_FLOAT: return pickle_op_float(d);
	case OP_INT: return pickle_op_int(d);
	case OP_BININT: return pickle_op_binint(d, 4);
	case OP_BININT1: return pickle_op_binint(d, 1);
	case OP_LONG: return pickle_op_long(d);
	case OP_BININT2: return pickle_op_binint(d, 2);
	case OP_NONE: return pickle_push(d, &pickle_node_none);
	case OP_PERSID: return pickle_op_persid(d);
	case OP_BINPERSID: return pickle_op_binpersid(d);
	case OP_REDUCE: return pickle_op_reduce(d);
	case OP_STRING: return pickle_op_string(d);
	case OP_BINSTRING: return pickle_op_binstring(d, 4);
	case OP_SHORT_BINSTRING: return pickle_op_binstring(d, 1);
	case OP_UNICODE: return pickle_op_unicode(d);
	case OP_BINUNICODE: return pickle_op_binunicode(d, 4);
	case OP_APPEND: return pickle_op_append(d);
	case OP_BUILD: return pickle_op_build(d);
	case OP_GLOBAL: return pickle_op_global(d);
	case OP_DICT: return pickle_op_collect(d, K_DICT);
	case OP_EMPTY_DICT: return pickle_op_empty(d, K_DICT);
	case OP_APPENDS: return pickle_op_batch(d, op);
	case OP_GET: return op_get(d, 0);
	case OP_BINGET: return op_get(d, 1);
	case OP_INST: return pickle_op_inst(d);
	case OP_LONG_BINGET: return op_get(d, 4);
	case OP_LIST: return pickle_op_collect(d, K_LIST);
	case OP_EMPTY_LIST: return pickle_op_empty(d, K_LIST);
	case OP_OBJ: return pickle_op_obj(d);
	case OP_PUT: return op_put(d, 0);
	case OP_BINPUT: return op_put(d, 1);
	case OP_LONG_BINPUT: return op_put(d, 4);
	case OP_SETITEM: return pickle_op_setitem(d);
	case OP_TUPLE: return pickle_op_collect(d, K_TUPLE);
	case OP_EMPTY_TUPLE: return pickle_push(d, &pickle_node_empty_tuple);
	case OP_SETITEMS: return pickle_op_batch(d, op);
	case OP_BINFLOAT: return pickle_op_binfloat(d);
	case OP_BINBYTES: return pickle_op_binbytes(d, 4, K_BYTES);
	case OP_SHORT_BINBYTES: return pickle_op_binbytes(d, 1, K_BYTES);
	case OP_PROTO: return op_proto(d);
	case OP_NEWOBJ: return pickle_op_newobj(d, false);
	case OP_EXT1: return pickle_op_ext(d, 1);
	case OP_EXT2: return pickle_op_ext(d, 2);
	case OP_EXT4: return pickle_op_ext(d, 4);
	case OP_TUPLE1: return pickle_op_tuple_n(d, 1);
	case OP_TUPLE2: return pickle_op_tuple_n(d, 2);
	case OP_TUPLE3: return pickle_op_tuple_n(d, 3);
	case OP_NEWTRUE: return pickle_push(d, &pickle_node_true);
	case OP_NEWFALSE: return pickle_push(d, &pickle_node_false);
	case OP_LONG1: return pickle_op_long_binary(d, 1);
	case OP_LONG4: return pickle_op_long_binary(d, 4);
	case OP_SHORT_BINUNICODE: return pickle_op_binunicode(d, 1);
	case OP_BINUNICODE8: return pickle_op_binunicode(d, 8);
	case OP_BINBYTES8: return pickle_op_binbytes(d, 8, K_BYTES);
	case OP_EMPTY_SET: return pickle_op_empty(d, K_SET);
	case OP_ADDITEMS: return pickle_op_batch(d, op);
	case OP_FROZENSET: return pickle_op_collect(d, K_FROZENSET);
	case OP_NEWOBJ_EX: return pickle_op_newobj(d, true);
	case OP_STACK_GLOBAL: return pickle_op_stack_global(d);
	case OP_MEMOIZE: return op_memoize(d);
	case OP_FRAME: return op_frame(d);
	case OP_BYTEARRAY8: return pickle_op_binbytes(d, 8, K_BYTEARRAY);
	case OP_NEXT_BUFFER: return pickle_op_empty(d, K_BUFFER);
	case OP_READONLY_BUFFER: return op_readonly_buffer(d);
	default:
		d->op = -1;
		return pickle_fail(d, CONN_EPROTO, "unknown opcode 0x%02x", op);
	}
}

/* ---------------------------------------------------------------- entry */

/* Runs the pickle_opcodes up to STOP, listing each if asked to. */
int pickle_decode(struct decoder *d)
{
	size_t indent;
	int op, rc;

	while (d->result == NULL) {
		d->op = -1;
		d->op_pos = d->pos;
		if (d->pos == d->len)
			return pickle_fail(d, CONN_EPROTO, "the pickle ends "
					   "before STOP");
		op = d->bytes[d->pos++];
		if (pickle_opcodes[op].name == NULL)
			return pickle_fail(d, CONN_EPROTO, "unknown opcode "
					   "0x%02x", (unsigned)op);
		d->op = op;
		rc = pickle_spend(d->budget, 4);
		if (rc)
			return pickle_over_budget(d, rc);
		d->arg.kind = ARG_NONE;
		d->popped_mark = -1;
		d->memoized_as = -1;
		indent = d->nmarks;
		rc = step(d, op);
		if (!rc && d->audit != NULL)
			rc = pickle_audit_event(d, AUDIT_OPCODE, NULL, NULL,
						NULL);
		if (rc)
			return rc;
		if (pickle_opcodes[op].proto > d->max_proto)
			d->max_proto = pickle_opcodes[op].proto;
		if (d->listing != NULL)
			pickle_list_opcode(d, op, indent);
	}
	d->op = -1;
	d->op_pos = d->pos;
	if (d->pos < d->len)
		return pickle_fail(d, CONN_EPROTO, "%zu trailing bytes after "
				   "STOP", d->len - d->pos);
	return 0;
}

/* The detail for an output error. */
static int output_error(struct decoder *d, const struct out *o,
			bool too_deep)
{
	d->op = -1;
	if (o->err == CONN_ENOMEM)
		return pickle_no_memory(d);
	if (o->err == CONN_EAGAIN || o->err == CONN_ECANCELED)
		return pickle_over_budget(d, o->err);
	if (too_deep)
		detail_set(d->detail, d->capacity, "the object nests deeper "
			   "than %d levels", CONN_PICKLE_MAX_DEPTH);
	else
		detail_set(d->detail, d->capacity, "the rendering is longer "
			   "than %zu bytes", o->limit);
	return o->err;
}

void pickle_decoder_init(struct decoder *d, const uint8_t *bytes, size_t len,
			 char *detail, size_t capacity)
{
	*d = (struct decoder){
		.bytes = bytes, .len = len, .op = -1, .max_proto = -1,
		/* Legitimate pickles copy each item once at most. */
		.copy_budget = 2 * len + 4096,
		.compare_budget = 16 * len + 100000,
		.memory_left = SIZE_MAX, .memory_limit = SIZE_MAX,
		.detail = detail, .capacity = capacity,
	};
}

int conn_pickle_render(char **out, size_t *out_len, char *detail,
		       size_t capacity, enum conn_pickle_style style,
		       const uint8_t *bytes, size_t len)
{
	return conn_pickle_render_with(out, out_len, detail, capacity, style,
				       NULL, bytes, len);
}

int conn_pickle_render_with(char **out, size_t *out_len, char *detail,
			    size_t capacity, enum conn_pickle_style style,
			    const struct conn_render_options *opt,
			    const uint8_t *bytes, size_t len)
{
	static const struct conn_render_options defaults;
	const struct conn_render_options *ro = opt ? opt : &defaults;
	struct budget budget = {
		ro->max_work ? ro->max_work : UINT64_MAX, ro->cancel
	};
	struct out o = {
		.budget = &budget,
		.limit = ro->max_output && ro->max_output <
			 CONN_PICKLE_MAX_OUTPUT ? ro->max_output
						: CONN_PICKLE_MAX_OUTPUT,
	};
	struct render r = { &o, false, ro->python };
	struct decoder d;
	int rc;

	pickle_decoder_init(&d, bytes, len, detail, capacity);
	d.listing = style == CONN_PICKLE_DIS ? &o : NULL;
	d.budget = &budget;
	d.python = ro->python;
	if (ro->max_memory)
		d.memory_left = d.memory_limit = ro->max_memory;
	*out = NULL;
	*out_len = 0;
	rc = pickle_decode(&d);
	if (rc)
		goto done;
	/* The renderings need the graph alone; the memo of a pickle of
	 * small objects holds most of them, 8 bytes each, freed before the
	 * text grows. */
	free(d.memo);
	d.memo = NULL;
	d.memo_cap = d.memo_count = 0;
	if (style == CONN_PICKLE_DIS)
		pickle_out_fmt(&o, "highest protocol among opcodes = %d\n",
			       d.max_proto);
	else if (style == CONN_PICKLE_JSON)
		pickle_json_node(&r, d.result, 0);
	else
		pickle_repr_node(&r, d.result, 0);
	if (o.err || !pickle_out_reserve(&o, 0)) {
		rc = output_error(&d, &o, r.too_deep);
		goto done;
	}
	o.p[o.n] = '\0';
	*out = o.p;
	*out_len = o.n;
	o.p = NULL;
done:
	free(o.p);
	pickle_decoder_free(&d);
	return rc;
}
