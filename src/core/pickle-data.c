/*
 * pickle-data.c - the opcodes of strings, numbers and containers.
 * See pickle.h.
 */
#include "pickle.h"

#include "hex.h"

#include <errno.h>

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
			o += pickle_utf8_encode(out + o, (unsigned char)p[i++]);
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
			return pickle_fail(d, CONN_EPROTO, "truncated \\%s "
					   "escape",
					   count == 4 ? "uXXXX" : "UXXXXXXXX");
		if (cp > 0x10ffff)
			return pickle_fail(d, CONN_EPROTO,
					   "\\Uxxxxxxxx out of range");
		o += pickle_utf8_encode(out + o, cp);
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
			return pickle_fail(d, CONN_EPROTO, "trailing \\ in "
					   "string");
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
				return pickle_fail(d, CONN_EPROTO,
						   "invalid \\x escape");
			out[o++] = (uint8_t)v;
		} else {
			out[o++] = '\\';	/* unknown: kept as it is */
		}
	}
	*len = o;
	return 0;
}

bool pickle_is_ascii(const char *p, size_t n)
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
	if (pickle_is_ascii(p, n))
		return 0;
	return pickle_fail(d, CONN_EPROTO, "a Python 2 str that is not ASCII "
			   "(only encoding='latin1' or 'bytes' loads it)");
}

/* A str, bytes or bytearray node of n bytes at p, pushed. */
static int push_text(struct decoder *d, enum kind kind, const void *p,
		     size_t n, bool owned)
{
	struct node *node;
	int rc = pickle_push_value(d, &node, kind);

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

int pickle_op_string(struct decoder *d)
{
	struct text t;
	uint8_t *bytes;
	size_t n = 0;
	int rc = pickle_take_line(d, &t);

	if (rc)
		return rc;
	if (t.n < 2 || t.p[0] != t.p[t.n - 1] ||
	    (t.p[0] != '\'' && t.p[0] != '"'))
		return pickle_fail(d, CONN_EPROTO, "the STRING opcode argument "
				   "must be quoted");
	bytes = malloc(t.n);
	if (bytes == NULL)
		return pickle_no_memory(d);
	rc = escape_decode(d, bytes, &n, t.p + 1, t.n - 2);
	if (!rc)
		rc = python2_str(d, (const char *)bytes, n);
	if (rc) {
		free(bytes);
		return rc;
	}
	return push_text(d, K_STR, bytes, n, true);
}

int pickle_op_binstring(struct decoder *d, size_t size)
{
	const uint8_t *p;
	uint64_t n;
	int rc = pickle_take_uint(d, &n, size);

	if (rc)
		return rc;
	if (size == 4 && (n & 0x80000000u))
		return pickle_fail(d, CONN_EPROTO, "negative byte count");
	rc = pickle_take(d, &p, n);
	if (!rc)
		rc = python2_str(d, (const char *)p, (size_t)n);
	return rc ? rc : push_text(d, K_STR, p, (size_t)n, false);
}

int pickle_op_unicode(struct decoder *d)
{
	struct text t;
	uint8_t *text;
	size_t n = 0;
	int rc = pickle_take_line(d, &t);

	if (rc)
		return rc;
	text = malloc(2 * t.n + 1);
	if (text == NULL)
		return pickle_no_memory(d);
	rc = raw_unicode_escape(d, text, &n, t.p, t.n);
	if (rc) {
		free(text);
		return rc;
	}
	return push_text(d, K_STR, text, n, true);
}

int pickle_op_binunicode(struct decoder *d, size_t size)
{
	const uint8_t *p;
	uint64_t n;
	size_t bad;
	int rc = pickle_take_uint(d, &n, size);

	if (!rc)
		rc = pickle_take(d, &p, n);
	if (rc)
		return rc;
	bad = pickle_utf8_check(p, (size_t)n);
	if (bad != n)
		return pickle_fail(d, CONN_EPROTO, "the str is not UTF-8 (byte "
				   "%zu of %llu)", bad, (unsigned long long)n);
	return push_text(d, K_STR, p, (size_t)n, false);
}

int pickle_op_binbytes(struct decoder *d, size_t size, enum kind kind)
{
	const uint8_t *p;
	uint64_t n;
	int rc = pickle_take_uint(d, &n, size);

	if (!rc)
		rc = pickle_take(d, &p, n);
	return rc ? rc : push_text(d, kind, p, (size_t)n, false);
}

/* ------------------------------------------------------------- numbers */

/*
 * INT as CPython's C unpickler reads it: strtol() with base 0 first (so
 * 010 is 8), Python's int(text, 0) when that fails; and a two-character
 * line that reads 0 or 1 is a bool, which is how protocols 0 and 1 write
 * False and True ("00", "01").
 */
int pickle_op_int(struct decoder *d)
{
	struct node *n;
	struct text t;
	char *text, *end;
	long long v;
	bool plain;
	int rc = pickle_take_line(d, &t);

	if (rc)
		return rc;
	if (t.n == 0)
		return pickle_fail(d, CONN_EPROTO, "invalid literal for int()");
	text = strndup(t.p, t.n);
	if (text == NULL)
		return pickle_no_memory(d);
	errno = 0;
	v = strtoll(text, &end, 0);
	rc = errno || *end != '\0' || memchr(t.p, '\0', t.n);
	free(text);
	if (!rc && t.n == 2 && (v == 0 || v == 1)) {
		n = v ? &pickle_node_true : &pickle_node_false;
		d->arg.kind = ARG_NODE;
		d->arg.node = n;
		return pickle_push(d, n);
	}
	plain = !rc;
	rc = pickle_push_value(d, &n, K_INT);
	if (rc || !plain)
		return rc ? rc : pickle_int_from_text(d, n, t.p, t.n, 0);
	n->u.i.v = v;
	return 0;
}

/* LONG: int(text, 0) of the line less a final L (Python 2's long). */
int pickle_op_long(struct decoder *d)
{
	struct node *n;
	struct text t;
	int rc = pickle_take_line(d, &t);

	if (rc)
		return rc;
	if (t.n > 0 && t.p[t.n - 1] == 'L')
		t.n--;
	rc = pickle_push_value(d, &n, K_INT);
	return rc ? rc : pickle_int_from_text(d, n, t.p, t.n, 0);
}

/* BININT (signed), BININT1 and BININT2 (unsigned). */
int pickle_op_binint(struct decoder *d, size_t size)
{
	struct node *n;
	uint64_t v;
	int rc = pickle_take_uint(d, &v, size);

	if (!rc)
		rc = pickle_push_value(d, &n, K_INT);
	if (rc)
		return rc;
	n->u.i.v = size == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
	return 0;
}

int pickle_op_long_binary(struct decoder *d, size_t size)
{
	const uint8_t *p;
	struct node *n;
	uint64_t len;
	int rc = pickle_take_uint(d, &len, size);

	if (rc)
		return rc;
	if (size == 4 && (len & 0x80000000u))
		return pickle_fail(d, CONN_EPROTO, "negative byte count");
	rc = pickle_take(d, &p, len);
	if (!rc)
		rc = pickle_push_value(d, &n, K_INT);
	return rc ? rc : pickle_int_from_le(d, n, p, (size_t)len);
}

/* Whether a float literal spells an infinity rather than overflowing. */
static bool is_inf_word(const char *p, size_t n)
{
	size_t i = n > 0 && (p[0] == '+' || p[0] == '-');

	return i < n && (p[i] == 'i' || p[i] == 'I');
}

int pickle_op_float(struct decoder *d)
{
	struct node *n;
	struct text t;
	char *text;
	double x;
	int rc = pickle_take_line(d, &t);

	if (rc)
		return rc;
	if (!pickle_float_syntax(t.p, t.n))
		return pickle_fail(d, CONN_EPROTO, "could not convert string "
				   "to float");
	text = strndup(t.p, t.n);
	if (text == NULL)
		return pickle_no_memory(d);
	x = strtod(text, NULL);
	free(text);
	if (isinf(x) && !is_inf_word(t.p, t.n))
		return pickle_fail(d, CONN_EPROTO, "FLOAT out of range");
	rc = pickle_push_value(d, &n, K_FLOAT);
	if (!rc)
		n->u.f.v = x;
	return rc;
}

int pickle_op_binfloat(struct decoder *d)
{
	const uint8_t *p;
	struct node *n;
	uint64_t bits = 0;
	int rc = pickle_take(d, &p, 8);
	size_t i;

	if (!rc)
		rc = pickle_push_value(d, &n, K_FLOAT);
	if (rc)
		return rc;
	for (i = 0; i < 8; i++)	/* big-endian, unlike the rest */
		bits = bits << 8 | p[i];
	memcpy(&n->u.f.v, &bits, sizeof(bits));
	return 0;
}

/* ----------------------------------------------------------- containers */

int pickle_op_empty(struct decoder *d, enum kind kind)
{
	struct node *n;
	int rc = pickle_node_new(d, &n, kind);

	return rc ? rc : pickle_push(d, n);
}

/* TUPLE, LIST, DICT and FROZENSET: the items since the last MARK. */
int pickle_op_collect(struct decoder *d, enum kind kind)
{
	struct node *n, **items;
	size_t start, count, i;
	int rc = pickle_pop_mark(d, &start);

	if (rc)
		return rc;
	count = d->nstack - start;
	/* The stack is NULL until something is pushed: NULL + 0 is UB. */
	items = count ? d->stack + start : NULL;
	if (kind == K_TUPLE) {
		rc = pickle_pop_tuple(d, &n, count);
		return rc ? rc : pickle_push(d, n);
	}
	if (kind == K_DICT && count % 2)
		return pickle_fail(d, CONN_EPROTO, "odd number of items for "
				   "DICT");
	rc = pickle_node_new(d, &n, kind);
	for (i = 0; !rc && i < count; i += kind == K_DICT ? 2 : 1) {
		if (kind == K_LIST)
			rc = pickle_list_append(d, n, items[i]);
		else if (kind == K_DICT)
			rc = pickle_dict_set(d, n, items[i], items[i + 1]);
		else
			rc = pickle_set_add(d, n, items[i]);
	}
	if (rc)
		return rc;
	if (kind == K_FROZENSET)
		pickle_frozenset_seal(n);
	d->nstack = start;
	return pickle_push(d, n);
}

int pickle_op_tuple_n(struct decoder *d, size_t count)
{
	struct node *n;
	int rc = pickle_need(d, count);

	if (!rc)
		rc = pickle_pop_tuple(d, &n, count);
	return rc ? rc : pickle_push(d, n);
}

/* list.append(item), or extend() on an opaque object. */
static int append_to(struct decoder *d, struct node *target,
		     struct node *item)
{
	if (target->kind == K_LIST)
		return pickle_list_append(d, target, item);
	if (is_opaque(target))
		return pickle_effect_add(d, target, EFFECT_EXTEND, item, NULL);
	return pickle_fail(d, CONN_EPROTO, "'%s' object has no attribute "
			   "'append'", pickle_kind_names[target->kind]);
}

static int setitem_to(struct decoder *d, struct node *target,
		      struct node *key, struct node *value)
{
	if (target->kind == K_DICT)
		return pickle_dict_set(d, target, key, value);
	if (is_opaque(target))
		return pickle_effect_add(d, target, EFFECT_SETITEM, key, value);
	return pickle_fail(d, CONN_EPROTO, "'%s' object does not support item "
			   "assignment", pickle_kind_names[target->kind]);
}

static int add_to(struct decoder *d, struct node *target, struct node *item)
{
	if (target->kind == K_SET)
		return pickle_set_add(d, target, item);
	if (is_opaque(target))
		return pickle_effect_add(d, target, EFFECT_ADD, item, NULL);
	return pickle_fail(d, CONN_EPROTO, "'%s' object has no attribute 'add'",
			   pickle_kind_names[target->kind]);
}

int pickle_op_append(struct decoder *d)
{
	struct node *item;
	int rc = pickle_need(d, 2);

	if (rc)
		return rc;
	item = pickle_pop(d);
	return append_to(d, pickle_top(d), item);
}

int pickle_op_setitem(struct decoder *d)
{
	struct node *key, *value;
	int rc = pickle_need(d, 3);

	if (rc)
		return rc;
	value = pickle_pop(d);
	key = pickle_pop(d);
	return setitem_to(d, pickle_top(d), key, value);
}

/* APPENDS, SETITEMS and ADDITEMS: the slice since the MARK goes into
 * the object below the MARK. */
int pickle_op_batch(struct decoder *d, int op)
{
	struct node *target;
	size_t start, i;
	int rc = pickle_pop_mark_target(d, &start, &target);

	if (rc)
		return rc;
	if (op == OP_SETITEMS && (d->nstack - start) % 2)
		return pickle_fail(d, CONN_EPROTO, "odd number of items for "
				   "SETITEMS");
	/* The batch's size, reserved at once: most containers get all
	 * their items in one. */
	if ((op == OP_APPENDS && target->kind == K_LIST) ||
	    (op == OP_SETITEMS && target->kind == K_DICT) ||
	    (op == OP_ADDITEMS && target->kind == K_SET))
		rc = pickle_items_reserve(d, target, (d->nstack - start) /
					  (op == OP_SETITEMS ? 2 : 1));
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
int pickle_op_build(struct decoder *d)
{
	struct node *state, *target;
	int rc = pickle_need(d, 2);

	if (rc)
		return rc;
	state = pickle_pop(d);
	target = pickle_top(d);
	if (d->audit != NULL) {
		rc = pickle_audit_event(d, AUDIT_BUILD, target, state, NULL);
		if (rc)
			return rc;
	}
	if (is_opaque(target))
		return pickle_effect_add(d, target, EFFECT_STATE, state, NULL);
	if (state == &pickle_node_none)
		return 0;
	return pickle_fail(d, CONN_EPROTO, "'%s' object has no __dict__ for "
			   "the state", pickle_kind_names[target->kind]);
}

