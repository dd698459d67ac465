/*
 * pickle-known.c - the table of known reconstructors: calls that print as
 * the value CPython's repr() shows for them.  See pickle-known.h.
 */
#include "pickle-known.h"

/* One row per callable; "module.Class.attr" rows are getattr() calls. */
static const struct known table[] = {
	{ "datetime", "date", pickle_known_date },
	{ "datetime", "time", pickle_known_time },
	{ "datetime", "datetime", pickle_known_datetime },
	{ "datetime", "timedelta", pickle_known_timedelta },
	{ "datetime", "timezone", pickle_known_timezone },
	{ "zoneinfo", "ZoneInfo._unpickle", pickle_known_zoneinfo },
	{ "decimal", "Decimal", pickle_known_decimal },
	{ "_pydecimal", "Decimal", pickle_known_decimal },
	{ "fractions", "Fraction", pickle_known_fraction },
	{ "uuid", "UUID", pickle_known_uuid },
	{ "pathlib", "PurePosixPath", pickle_known_path },
	{ "pathlib", "PureWindowsPath", pickle_known_path },
	{ "pathlib", "PosixPath", pickle_known_path },
	{ "pathlib", "WindowsPath", pickle_known_path },
	{ "pathlib._local", "PurePosixPath", pickle_known_path },
	{ "pathlib._local", "PureWindowsPath", pickle_known_path },
	{ "pathlib._local", "PosixPath", pickle_known_path },
	{ "pathlib._local", "WindowsPath", pickle_known_path },
	{ "ipaddress", "IPv4Address", pickle_known_ip },
	{ "ipaddress", "IPv6Address", pickle_known_ip },
	{ "ipaddress", "IPv4Network", pickle_known_ip },
	{ "ipaddress", "IPv6Network", pickle_known_ip },
	{ "ipaddress", "IPv4Interface", pickle_known_ip },
	{ "ipaddress", "IPv6Interface", pickle_known_ip },
	{ "re", "_compile", pickle_known_pattern },
	{ "array", "array", pickle_known_array },
	{ "array", "_array_reconstructor", pickle_known_array_reconstructor },
	{ "numpy.core.multiarray", "_reconstruct", pickle_known_ndarray },
	{ "numpy._core.multiarray", "_reconstruct", pickle_known_ndarray },
	{ "numpy.core.numeric", "_frombuffer", pickle_known_frombuffer },
	{ "numpy._core.numeric", "_frombuffer", pickle_known_frombuffer },
	{ "numpy.core.multiarray", "scalar", pickle_known_scalar },
	{ "numpy._core.multiarray", "scalar", pickle_known_scalar },
	{ "numpy", "dtype", pickle_known_dtype },
};

/* getattr(module.Class, 'attr'): the global and the attribute, or false. */
static bool getattr_of(const struct node *f, const struct node **g,
		       const struct node **attr)
{
	if (f->kind != K_CALL || f->u.call.form != CALL_REDUCE ||
	    !pickle_global_is(f->u.call.func, "builtins", "getattr") ||
	    f->effects != NULL || f->u.call.args->u.seq.n != 2)
		return false;
	*g = f->u.call.args->u.seq.items[0];
	*attr = f->u.call.args->u.seq.items[1];
	return (*g)->kind == K_GLOBAL && (*attr)->kind == K_STR;
}

/* Whether callable f is module.name (name "Class.attr" for getattr). */
static bool callable_is(const struct node *f, const char *module,
			const char *name)
{
	const struct node *g, *attr;
	size_t n;

	if (f->kind == K_GLOBAL)
		return pickle_global_is(f, module, name);
	if (!getattr_of(f, &g, &attr) ||
	    !pickle_text_is(g->u.g.module, module))
		return false;
	n = g->u.g.name.n;
	return strlen(name) == n + 1 + attr->u.s.n &&
	       memcmp(name, g->u.g.name.p, n) == 0 && name[n] == '.' &&
	       memcmp(name + n + 1, attr->u.s.p, attr->u.s.n) == 0;
}

bool pickle_known_call_is(const struct node *n, const char *module,
		   const char *name)
{
	return n->kind == K_CALL && callable_is(n->u.call.func, module, name);
}

bool pickle_known_render(struct render *r, struct node *n, int depth,
			 enum known_style style)
{
	bool busy = n->busy, done;
	size_t i;

	if (n->kind != K_CALL)
		return false;
	for (i = 0; i < COUNT(table); i++)
		if (callable_is(n->u.call.func, table[i].module,
				table[i].name)) {
			n->busy = true;	/* a cycle through the state */
			done = table[i].render(r, n, depth, style);
			n->busy = busy;
			return done;
		}
	return false;
}

struct node *pickle_known_arg(const struct node *n, size_t count, size_t i)
{
	const struct node *args = n->u.call.args;

	if (args->u.seq.n != count || i >= count ||
	    (n->u.call.kwargs != NULL && n->u.call.kwargs->u.seq.n))
		return NULL;
	return args->u.seq.items[i];
}

bool pickle_known_untouched(const struct node *n)
{
	return n->effects == NULL || n->effects->n == 0;
}

struct node *pickle_known_state(const struct node *n)
{
	if (n->effects == NULL || n->effects->n != 1 ||
	    n->effects->v[0].kind != EFFECT_STATE)
		return NULL;
	return n->effects->v[0].a;
}

bool pickle_known_int(const struct node *n, int64_t *v)
{
	if (n->kind == K_BOOL)
		*v = n->u.b;
	else if (n->kind == K_INT && n->u.i.digits == NULL)
		*v = n->u.i.v;
	else
		return false;
	return true;
}

void pickle_known_tag_open(struct out *o, const char *tag)
{
	pickle_out_fmt(o, "{\"__%s__\": ", tag);
}

void pickle_known_tag_close(struct out *o)
{
	pickle_out_char(o, '}');
}
