/*
 * pickle-json.c - the JSON rendering.
 * See pickle.h.
 */
#include "pickle.h"

void pickle_json_string(struct out *o, const char *p, size_t n)
{
	const uint8_t *u = (const uint8_t *)p;
	size_t i = 0, len;
	uint32_t cp;

	pickle_out_char(o, '"');
	while (i < n && !o->err) {
		len = pickle_utf8_decode(u + i, n - i, &cp);
		if (len == 0) {
			/* A byte that is no UTF-8 becomes U+FFFD: JSON text
			 * is UTF-8 (RFC 8259), the byte itself would not be. */
			pickle_out_str(o, "\xef\xbf\xbd");
			len = 1;
		} else if (cp == '"' || cp == '\\') {
			pickle_out_char(o, '\\');
			pickle_out_char(o, (char)cp);
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			pickle_out_str(o, cp == '\n' ? "\\n"
					  : cp == '\r' ? "\\r" : "\\t");
		} else if (cp < 0x20 || (cp >= 0xd800 && cp <= 0xdfff)) {
			pickle_out_fmt(o, "\\u%04x", cp);	/* no UTF-8 for these */
		} else {
			pickle_out_put(o, u + i, len);
		}
		i += len;
	}
	pickle_out_char(o, '"');
}

int conn_json_quote(char **out, size_t *out_len, const char *text,
		    size_t len)
{
	struct out o = { .limit = SIZE_MAX };

	pickle_json_string(&o, text, len);
	if (o.err || !pickle_out_reserve(&o, 0)) {
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
		pickle_out_put(o, quad, 4);
	}
}

/* A global's dotted name as a JSON string. */
void pickle_json_dotted(struct out *o, const struct node *g)
{
	struct out text = { .limit = o->limit };

	pickle_out_put(&text, g->u.g.module.p, g->u.g.module.n);
	pickle_out_char(&text, '.');
	pickle_out_put(&text, g->u.g.name.p, g->u.g.name.n);
	if (text.err && !o->err)
		o->err = text.err;
	else
		pickle_json_string(o, text.p, text.n);
	free(text.p);
}

/* {"__repr__": "..."}: the REPR rendering, as a JSON string. */
static void json_repr(struct render *r, struct node *n, int depth)
{
	/* Within what is left, so a big rendering fails before it is made. */
	struct out text = { .limit = r->o->limit - r->o->n,
			    .budget = r->o->budget };
	struct render inner = { &text, false, r->python };

	pickle_repr_node(&inner, n, depth);
	if (text.err) {
		r->o->err = text.err;
		r->too_deep = inner.too_deep;
	} else {
		pickle_out_str(r->o, "{\"__repr__\": ");
		pickle_json_string(r->o, text.p, text.n);
		pickle_out_char(r->o, '}');
	}
	free(text.p);
}

void pickle_json_array(struct render *r, struct node **items, size_t count,
		       int depth)
{
	size_t i;

	pickle_out_char(r->o, '[');
	for (i = 0; i < count && !r->o->err; i++) {
		if (i)
			pickle_out_str(r->o, ", ");
		pickle_json_node(r, items[i], depth);
	}
	pickle_out_char(r->o, ']');
}

/* A list is an array; a tuple, set or frozenset an array under its tag,
 * {"__tuple__": [...]}, so that --in json makes the same type again. */
static void json_sequence(struct render *r, struct node *n, int depth)
{
	const char *tag = n->kind == K_TUPLE ? "__tuple__"
			  : n->kind == K_SET ? "__set__"
			  : n->kind == K_FROZENSET ? "__frozenset__" : NULL;

	if (tag)
		pickle_out_fmt(r->o, "{\"%s\": ", tag);
	pickle_json_array(r, n->u.seq.items, n->u.seq.n, depth);
	if (tag)
		pickle_out_char(r->o, '}');
}

/* A str that could be a tag's name, "__x__": a dict of that one key
 * would read back as the tag, so it is written as {"__dict__": ...}. */
static bool tag_like(const struct node *key)
{
	const char *p = key->u.s.p;
	size_t n = key->u.s.n;

	return n > 4 && memcmp(p, "__", 2) == 0 &&
	       memcmp(p + n - 2, "__", 2) == 0;
}

void pickle_json_dict(struct render *r, struct node *n, int depth)
{
	bool str_keys = true;
	size_t i;

	for (i = 0; i < n->u.seq.n; i++)
		str_keys = str_keys && n->u.seq.items[2 * i]->kind == K_STR;
	if (n->u.seq.n == 1 && str_keys && tag_like(n->u.seq.items[0]))
		str_keys = false;
	pickle_out_str(r->o, str_keys ? "{" : "{\"__dict__\": [");
	for (i = 0; i < n->u.seq.n && !r->o->err; i++) {
		pickle_out_str(r->o, i ? ", " : "");
		if (!str_keys)
			pickle_out_char(r->o, '[');
		pickle_json_node(r, n->u.seq.items[2 * i], depth);
		pickle_out_str(r->o, str_keys ? ": " : ", ");
		pickle_json_node(r, n->u.seq.items[2 * i + 1], depth);
		if (!str_keys)
			pickle_out_char(r->o, ']');
	}
	pickle_out_str(r->o, str_keys ? "}" : "]}");
}

/* A float as repr() writes it, but nan, inf and -inf, which JSON has
 * not: {"__float__": "nan"} and so on. */
static void json_float(struct out *o, double x)
{
	char text[PICKLE_FLOAT_TEXT];

	if (isfinite(x)) {
		pickle_float_format(text, x, true, false);
		pickle_out_str(o, text);
	} else {
		pickle_out_fmt(o, "{\"__float__\": \"%s\"}", isnan(x) ? "nan"
			       : x < 0 ? "-inf" : "inf");
	}
}

static void json_scalar(struct render *r, struct node *n)
{
	switch (n->kind) {
	case K_NONE:
		pickle_out_str(r->o, "null");
		break;
	case K_BOOL:
		pickle_out_str(r->o, n->u.b ? "true" : "false");
		break;
	case K_INT:
		pickle_repr_int(r->o, n);
		break;
	case K_FLOAT:
		if (isfinite(n->u.f.v))
			pickle_repr_float(r->o, n);
		else
			json_float(r->o, n->u.f.v);
		break;
	case K_COMPLEX:
		pickle_out_str(r->o, "{\"__complex__\": [");
		json_float(r->o, n->u.c.re);
		pickle_out_str(r->o, ", ");
		json_float(r->o, n->u.c.im);
		pickle_out_str(r->o, "]}");
		break;
	case K_STR:
		pickle_json_string(r->o, n->u.s.p, n->u.s.n);
		break;
	default:	/* bytes, bytearray */
		pickle_out_str(r->o, n->kind == K_BYTES ? "{\"__bytes__\": \""
						 : "{\"__bytearray__\": \"");
		base64(r->o, (const uint8_t *)n->u.s.p, n->u.s.n);
		pickle_out_str(r->o, "\"}");
		break;
	}
}

void pickle_json_node(struct render *r, struct node *n, int depth)
{
	bool known;

	if (!pickle_enter(r, depth))
		return;
	if (n->kind <= K_BYTEARRAY) {
		json_scalar(r, n);
		return;
	}
	if (!n->busy && pickle_known_render(r, n, depth + 1, KNOWN_JSON))
		return;
	if (n->kind == K_CALL && !n->busy) {
		n->busy = true;
		known = pickle_objects_json(r, n, depth + 1);
		n->busy = false;
		if (known)
			return;
	}
	if (is_opaque(n) || n->busy) {
		json_repr(r, n, depth);
		return;
	}
	n->busy = true;
	if (n->kind == K_DICT)
		pickle_json_dict(r, n, depth + 1);
	else
		json_sequence(r, n, depth + 1);
	n->busy = false;
}

