/*
 * pickle-stdlib.c - rows of the known table (pickle-known.h): Decimal,
 * Fraction, UUID, pathlib's paths, ipaddress, re.compile() and
 * array.array, each from what its __reduce__ pickles.
 */
#include "pickle-known.h"

#include <ctype.h>
#include <strings.h>

/* The class name of call n's callable (a global for these rows). */
static struct text class_name(const struct node *n)
{
	return n->u.call.func->u.g.name;
}

/* {"__<lower-case class name>__": "text"}, e.g. {"__uuid__": "..."}. */
static void json_class_text(struct out *o, struct text name, const char *p,
			    size_t len)
{
	size_t i;

	pickle_out_str(o, "{\"__");
	for (i = 0; i < name.n; i++)
		pickle_out_char(o, (char)tolower((unsigned char)name.p[i]));
	pickle_out_str(o, "__\": ");
	pickle_json_string(o, p, len);
	pickle_known_tag_close(o);
}

/* Class('text') or its JSON tag: how most of these print. */
static void put_class_text(struct render *r, enum known_style style,
			   struct text name, const char *p, size_t len)
{
	if (style == KNOWN_JSON) {
		json_class_text(r->o, name, p, len);
		return;
	}
	pickle_out_put(r->o, name.p, name.n);
	pickle_out_char(r->o, '(');
	pickle_repr_str(r->o, p, len);
	pickle_out_char(r->o, ')');
}

/* The one str argument of a plain call, or NULL. */
static struct node *str_arg(const struct node *n)
{
	struct node *a = pickle_known_arg(n, 1, 0);

	return a != NULL && a->kind == K_STR && pickle_known_untouched(n) ? a : NULL;
}

/* ------------------------------------------------------------- Decimal */

static bool is_digits(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return n > 0;
}

static bool text_ieq(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && strncasecmp(p, s, n) == 0;
}

/* Infinity, NaN or sNaN (with its payload, leading zeros dropped) as
 * str(Decimal) writes them; false if p is none of them. */
static bool decimal_special(struct out *o, const char *p, size_t n)
{
	size_t skip;

	if (text_ieq(p, n, "inf") || text_ieq(p, n, "infinity")) {
		pickle_out_str(o, "Infinity");
		return true;
	}
	skip = n >= 3 && strncasecmp(p, "nan", 3) == 0 ? 3
	       : n >= 4 && strncasecmp(p, "snan", 4) == 0 ? 4 : 0;
	if (skip == 0 || (n > skip && !is_digits(p + skip, n - skip)))
		return false;
	pickle_out_str(o, skip == 3 ? "NaN" : "sNaN");
	for (p += skip, n -= skip; n > 0 && *p == '0'; p++, n--)
		;
	pickle_out_put(o, p, n);
	return true;
}

/* The exponent after 'e' or 'E': [sign] digits, 15 at most. */
static bool decimal_exponent(const char *x, size_t n, long long *exp)
{
	size_t i, k = n && (*x == '+' || *x == '-');

	if (!is_digits(x + k, n - k) || n - k > 15)
		return false;
	*exp = 0;
	for (i = k; i < n; i++)	/* the text is not NUL-ended */
		*exp = *exp * 10 + (x[i] - '0');
	if (*x == '-')
		*exp = -*exp;
	return true;
}

/* The coefficient, digits [. [digits]] or . digits, into digits (its
 * leading zeros dropped but the last) and the count after the point. */
static bool decimal_coefficient(const char *p, size_t n, struct out *digits,
				long long *fraction)
{
	const char *dot = memchr(p, '.', n);
	size_t whole = dot ? (size_t)(dot - p) : n;
	size_t after = dot ? n - whole - 1 : 0;
	size_t first = 0;

	if ((whole && !is_digits(p, whole)) ||
	    (after && !is_digits(dot + 1, after)) || whole + after == 0)
		return false;
	pickle_out_put(digits, p, whole);
	if (after)
		pickle_out_put(digits, dot + 1, after);
	if (digits->err)
		return true;	/* the caller passes the error on */
	while (first + 1 < digits->n && digits->p[first] == '0')
		first++;
	memmove(digits->p, digits->p + first, digits->n - first);
	digits->n -= first;
	*fraction = (long long)after;
	return true;
}

/*
 * A finite number as str(Decimal) writes it, the to-sci-string of the
 * General Decimal Arithmetic spec: the digits with a point inside, or
 * after "0." and up to 5 zeros, else after the first digit with E+n.
 */
static bool decimal_finite(struct out *o, const char *p, size_t n)
{
	const char *e = p;
	struct out digits = { .limit = o->limit, .budget = o->budget };
	long long exp = 0, fraction, left, dotplace;
	size_t len;

	while (e < p + n && *e != 'e' && *e != 'E')
		e++;
	if ((e < p + n &&
	     !decimal_exponent(e + 1, (size_t)(p + n - e - 1), &exp)) ||
	    !decimal_coefficient(p, (size_t)(e - p), &digits, &fraction)) {
		free(digits.p);
		return false;
	}
	if (digits.err) {
		o->err = digits.err;
		free(digits.p);
		return true;
	}
	len = digits.n;
	exp -= fraction;
	left = exp + (long long)len;
	dotplace = exp <= 0 && left > -6 ? left : 1;
	if (dotplace <= 0) {
		pickle_out_str(o, "0.");
		pickle_out_put(o, "00000", (size_t)-dotplace);
		pickle_out_put(o, digits.p, len);
	} else if ((size_t)dotplace >= len) {
		pickle_out_put(o, digits.p, len);	/* exp 0 here */
	} else {
		pickle_out_put(o, digits.p, (size_t)dotplace);
		pickle_out_char(o, '.');
		pickle_out_put(o, digits.p + dotplace, len - (size_t)dotplace);
	}
	if (left != dotplace)
		pickle_out_fmt(o, "E%+lld", left - dotplace);
	free(digits.p);
	return true;
}

/* str(Decimal(text)) into o, or false if Decimal() would refuse text (or
 * it has spaces or underscores, which real senders never write). */
static bool decimal_text(struct out *o, const char *p, size_t n)
{
	if (n > 0 && (*p == '-' || *p == '+')) {
		if (*p == '-')
			pickle_out_char(o, '-');
		p++, n--;
	}
	return decimal_special(o, p, n) || decimal_finite(o, p, n);
}

bool pickle_known_decimal(struct render *r, struct node *n, int depth,
			  enum known_style style)
{
	struct node *s = str_arg(n);
	struct out text = { .limit = r->o->limit - r->o->n,
			     .budget = r->o->budget };
	bool ok;

	(void)depth;
	if (s == NULL)
		return false;
	ok = decimal_text(&text, s->u.s.p, s->u.s.n);
	if (ok && text.err)
		r->o->err = text.err;
	else if (ok)
		put_class_text(r, style, class_name(n), text.p, text.n);
	free(text.p);
	return ok;
}

/* ------------------------------------------------------------ Fraction */

/* Whether n is an int other than zero (of any size), and its sign. */
static bool nonzero_int(const struct node *n, bool *negative)
{
	if (n->kind != K_INT || (n->u.i.digits == NULL && n->u.i.v == 0))
		return false;
	*negative = n->u.i.digits ? n->u.i.digits[0] == '-' : n->u.i.v < 0;
	return true;
}

static int64_t gcd(int64_t a, int64_t b)
{
	int64_t t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return a < 0 ? -a : a;
}

/* Fraction(n, d) of ints within 64 bits in lowest terms, the sign on n,
 * as Fraction() makes them; false for other ints. */
static bool reduce_fraction(const struct node *num, const struct node *den,
			    int64_t *n, int64_t *d)
{
	int64_t g;

	if (num->kind != K_INT || den->kind != K_INT ||
	    !pickle_known_int(num, n) || !pickle_known_int(den, d) || *d == 0 ||
	    *n == INT64_MIN || *d == INT64_MIN)
		return false;
	g = gcd(*n, *d);
	*n /= g;
	*d /= g;
	if (*d < 0) {
		*n = -*n;
		*d = -*d;
	}
	return true;
}

/* n/d (JSON) or Fraction(n, d), of texts. */
static void put_fraction(struct render *r, enum known_style style,
			 const char *n, size_t n_len, const char *d,
			 size_t d_len)
{
	pickle_out_str(r->o, style == KNOWN_JSON ? "{\"__fraction__\": \""
						 : "Fraction(");
	pickle_out_put(r->o, n, n_len);
	pickle_out_str(r->o, style == KNOWN_JSON ? "/" : ", ");
	pickle_out_put(r->o, d, d_len);
	pickle_out_str(r->o, style == KNOWN_JSON ? "\"}" : ")");
}

/* An int node's digits, in buf (24 bytes) within 64 bits. */
static struct text int_text(const struct node *n, char *buf)
{
	if (n->u.i.digits != NULL)
		return (struct text){ n->u.i.digits, strlen(n->u.i.digits) };
	snprintf(buf, 24, "%lld", (long long)n->u.i.v);
	return (struct text){ buf, strlen(buf) };
}

/* Fraction(numerator, denominator) as 3.7+ pickle it.  Beyond 64 bits,
 * taken as pickled: in lowest terms with a positive denominator, as
 * Fraction keeps them. */
static bool fraction_ints(struct render *r, struct node *num,
			  struct node *den, enum known_style style)
{
	char a[24], b[24];
	struct text x, y;
	int64_t n, d;
	bool negative;

	if (reduce_fraction(num, den, &n, &d)) {
		snprintf(a, sizeof(a), "%lld", (long long)n);
		snprintf(b, sizeof(b), "%lld", (long long)d);
		put_fraction(r, style, a, strlen(a), b, strlen(b));
		return true;
	}
	if (num->kind != K_INT || !nonzero_int(den, &negative) || negative)
		return false;
	x = int_text(num, a);
	y = int_text(den, b);
	put_fraction(r, style, x.p, x.n, y.p, y.n);
	return true;
}

/* Fraction('n/d') or Fraction('n'), as 3.6 pickles it (str(self)). */
static bool fraction_text(struct render *r, struct node *s,
			  enum known_style style)
{
	const char *p = s->u.s.p, *slash = memchr(p, '/', s->u.s.n);
	size_t n = s->u.s.n, sign = n && p[0] == '-';
	size_t num = slash ? (size_t)(slash - p) : n;

	if (!is_digits(p + sign, num - sign) ||
	    (slash && (!is_digits(slash + 1, n - num - 1) ||
		       slash[1] == '0')))
		return false;
	put_fraction(r, style, p, num, slash ? slash + 1 : "1",
		     slash ? n - num - 1 : 1);
	return true;
}

bool pickle_known_fraction(struct render *r, struct node *n, int depth,
			   enum known_style style)
{
	struct node *s = str_arg(n);

	(void)depth;
	if (s != NULL)
		return fraction_text(r, s, style);
	if (pickle_known_arg(n, 2, 0) == NULL || !pickle_known_untouched(n))
		return false;
	return fraction_ints(r, pickle_known_arg(n, 2, 0), pickle_known_arg(n, 2, 1), style);
}

/* ---------------------------------------------------------------- UUID */

/* An int node of 0 to 2**128 - 1. */
static bool uint128_of(const struct node *n, unsigned __int128 *v)
{
	const char *p;

	if (n->kind != K_INT)
		return false;
	if (n->u.i.digits == NULL) {
		*v = (unsigned __int128)n->u.i.v;
		return n->u.i.v >= 0;
	}
	*v = 0;
	for (p = n->u.i.digits; *p; p++) {
		if (*p < '0' || *p > '9' ||
		    *v > (~(unsigned __int128)0 - (unsigned)(*p - '0')) / 10)
			return false;
		*v = *v * 10 + (unsigned)(*p - '0');
	}
	return true;
}

/* An is_safe the repr may leave out: None, an int or SafeUUID(int or
 * None); anything else (a call hidden there) keeps the recipe shown. */
static bool is_safe_value(const struct node *v)
{
	const struct node *a;
	int64_t i;

	if (v == &pickle_node_none || pickle_known_int(v, &i))
		return true;
	a = pickle_known_call_is(v, "uuid", "SafeUUID") && pickle_known_untouched(v)
	    ? pickle_known_arg(v, 1, 0) : NULL;
	return a != NULL && (a == &pickle_node_none || pickle_known_int(a, &i));
}

/* UUID.__setstate__'s dict: 'int' and maybe 'is_safe'. */
static bool uuid_int(const struct node *state, unsigned __int128 *v)
{
	struct node *key, *value = NULL;
	size_t i;

	if (state == NULL || state->kind != K_DICT)
		return false;
	for (i = 0; i < state->u.seq.n; i++) {
		key = state->u.seq.items[2 * i];
		if (key->kind != K_STR)
			return false;
		if (pickle_text_is(key->u.s, "int"))
			value = state->u.seq.items[2 * i + 1];
		else if (!pickle_text_is(key->u.s, "is_safe") ||
			 !is_safe_value(state->u.seq.items[2 * i + 1]))
			return false;
	}
	return value != NULL && uint128_of(value, v);
}

bool pickle_known_uuid(struct render *r, struct node *n, int depth,
		       enum known_style style)
{
	unsigned __int128 v;
	uint64_t hi, lo;
	char text[40];

	(void)depth;
	if (n->u.call.form != CALL_NEWOBJ || n->u.call.args->u.seq.n ||
	    n->u.call.kwargs != NULL || !uuid_int(pickle_known_state(n), &v))
		return false;
	hi = (uint64_t)(v >> 64);
	lo = (uint64_t)v;
	snprintf(text, sizeof(text), "%08llx-%04llx-%04llx-%04llx-%012llx",
		 (unsigned long long)(hi >> 32),
		 (unsigned long long)(hi >> 16 & 0xffff),
		 (unsigned long long)(hi & 0xffff),
		 (unsigned long long)(lo >> 48),
		 (unsigned long long)(lo & 0xffffffffffffULL));
	put_class_text(r, style, class_name(n), text, strlen(text));
	return true;
}

/* ------------------------------------------------------------- pathlib */

/* A path being joined: drive (Windows), root, then components. */
struct path {
	char *p;
	size_t n;
	size_t drive;	/* its length: "c:", "\\\\server\\share"; 0: none */
	size_t head;	/* drive and root: p[0..head) */
	bool windows;
};

static bool is_sep(const struct path *t, char c)
{
	return c == '/' || (t->windows && c == '\\');
}

/* Where the next separator of p[i..n) is, or n. */
static size_t next_sep(const struct path *t, const char *p, size_t i,
		       size_t n)
{
	while (i < n && !is_sep(t, p[i]))
		i++;
	return i;
}

/* Components of part after its drive and root, '.' and empty ones
 * dropped, each after a separator unless first. */
static void path_add_parts(struct path *t, const char *p, size_t n)
{
	size_t i = 0, j;
	char sep = t->windows ? '\\' : '/';

	while (i < n) {
		j = next_sep(t, p, i, n);
		if (j > i && !(j - i == 1 && p[i] == '.')) {
			if (t->n > t->head)
				t->p[t->n++] = sep;
			memcpy(t->p + t->n, p + i, j - i);
			t->n += j - i;
		}
		i = j + 1;
	}
}

/*
 * The drive of a Windows part, "c:" or \\server\share (UNC), and its
 * root; false for device paths (\\?\..., \\.\...) and a UNC drive
 * without its share, which stay recipes.
 */
static bool windows_drive(const struct path *t, const char *p, size_t n,
			  size_t *drive, size_t *root)
{
	size_t server, share;

	*drive = *root = 0;
	if (n >= 2 && p[1] == ':' && isalpha((unsigned char)p[0]))
		*drive = 2;
	else if (n >= 2 && is_sep(t, p[0]) && is_sep(t, p[1])) {
		if (n == 2 || p[2] == '?' || p[2] == '.' || is_sep(t, p[2]))
			return false;
		server = next_sep(t, p, 2, n);
		share = next_sep(t, p, server + 1, n);
		if (server >= n || share == server + 1)
			return false;
		*drive = share;
		*root = share < n;
		return !memchr(p, ':', n);
	}
	if (memchr(p + *drive, ':', n - *drive))
		return false;
	*root = *drive < n && is_sep(t, p[*drive]);
	return true;
}

/* Whether t's drive is the drive p[0..len) in any case (its separators
 * as written: ntpath.join() compares them so). */
static bool same_drive(const struct path *t, const char *p, size_t len)
{
	size_t i;

	if (t->drive != len)
		return false;
	for (i = 0; i < len; i++)
		if (tolower((unsigned char)t->p[i]) !=
		    tolower((unsigned char)p[i]))
			return false;
	return true;
}

/*
 * One argument joined as PurePath(*args) joins it (ntpath.join() on
 * Windows): a part with a root starts over, keeping the drive on Windows
 * unless it has its own; another drive starts over too; the same drive
 * in another case takes that spelling.
 */
static bool path_join(struct path *t, const char *p, size_t n)
{
	size_t drive = 0, root = 0, rest;

	if (t->windows && !windows_drive(t, p, n, &drive, &root))
		return false;
	if (!t->windows && n >= 1 && p[0] == '/')
		/* Posix keeps exactly two leading slashes. */
		root = n >= 2 && p[1] == '/' && (n == 2 || p[2] != '/') ? 2 : 1;
	rest = drive + root < n ? drive + root : n;
	if (drive && (root || !same_drive(t, p, drive)))
		t->n = t->head = 0;
	else if (root)
		t->n = t->head = t->drive;
	if (drive) {
		memcpy(t->p, p, drive);	/* its last spelling */
		if (t->n < drive)
			t->n = t->head = drive;
		t->drive = drive;
	}
	if (root) {
		memset(t->p + t->n, t->windows ? '\\' : '/', root);
		t->n += root;
		t->head = t->n;
	}
	if (t->drive > 2 && t->head == t->drive) {
		t->p[t->n++] = '\\';	/* pathlib gives a UNC drive a root */
		t->head = t->n;
	}
	path_add_parts(t, p + rest, n - rest);
	return true;
}

/* Whether a class name ends in WindowsPath. */
static bool is_windows(struct text name)
{
	return name.n >= 11 && memcmp(name.p + name.n - 11, "WindowsPath",
				      11) == 0;
}

bool pickle_known_path(struct render *r, struct node *n, int depth,
		       enum known_style style)
{
	struct node *args = n->u.call.args;
	struct text name = class_name(n);
	struct path t = { .windows = is_windows(name) };
	size_t i, size = 4;
	bool ok = pickle_known_untouched(n) && n->u.call.kwargs == NULL;

	(void)depth;
	for (i = 0; ok && i < args->u.seq.n; i++) {
		ok = args->u.seq.items[i]->kind == K_STR;
		size += args->u.seq.items[i]->u.s.n + 2;
	}
	if (!ok || (t.p = malloc(size)) == NULL) {
		if (ok)
			r->o->err = CONN_ENOMEM;
		return ok;
	}
	for (i = 0; ok && i < args->u.seq.n; i++)
		ok = path_join(&t, args->u.seq.items[i]->u.s.p,
			       args->u.seq.items[i]->u.s.n);
	if (t.n == 0)
		t.p[t.n++] = '.';
	for (i = 0; i < t.n; i++)	/* as_posix() */
		if (t.p[i] == '\\')
			t.p[i] = '/';
	if (ok)
		put_class_text(r, style, name, t.p, t.n);
	free(t.p);
	return ok;
}

/* ----------------------------------------------------------- ipaddress */

/* Text an address, network or interface is written in: ASCII without
 * spaces or quotes (Python would have refused anything else). */
static bool is_address_text(const struct node *s)
{
	size_t i;

	for (i = 0; i < s->u.s.n; i++)
		if (s->u.s.p[i] <= ' ' || s->u.s.p[i] >= 0x7f ||
		    s->u.s.p[i] == '\'' || s->u.s.p[i] == '"' ||
		    s->u.s.p[i] == '\\')
			return false;
	return s->u.s.n > 0;
}

/* str() of an IPv6 address: hextets in hex, the first longest run of
 * two or more zero hextets as "::". */
static void ipv6_text(char *out, unsigned __int128 v)
{
	unsigned h[8];
	int i, best = -1, best_len = 1, run = 0;
	size_t k = 0;

	for (i = 0; i < 8; i++) {
		h[i] = (unsigned)(v >> (112 - 16 * i)) & 0xffff;
		run = h[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			k += (size_t)sprintf(out + k, "::");
			i += best_len - 1;
		} else {
			k += (size_t)sprintf(out + k, "%s%x",
					     i && i != best + best_len ? ":"
								  : "", h[i]);
		}
	}
}

/* IPv4Address(int) and IPv6Address(int), as 3.6 pickles them. */
static bool ip_from_int(const struct node *a, struct text name, char *text)
{
	unsigned __int128 v;

	if (!uint128_of(a, &v))
		return false;
	if (pickle_text_is(name, "IPv4Address")) {
		if (v >> 32)
			return false;
		snprintf(text, 48, "%u.%u.%u.%u", (unsigned)(v >> 24) & 255,
			 (unsigned)(v >> 16) & 255, (unsigned)(v >> 8) & 255,
			 (unsigned)v & 255);
		return true;
	}
	if (!pickle_text_is(name, "IPv6Address"))
		return false;
	ipv6_text(text, v);
	return true;
}

bool pickle_known_ip(struct render *r, struct node *n, int depth,
		     enum known_style style)
{
	struct node *a = pickle_known_arg(n, 1, 0);
	char text[48];

	(void)depth;
	if (a == NULL || !pickle_known_untouched(n))
		return false;
	if (a->kind == K_STR) {
		if (!is_address_text(a))
			return false;
		put_class_text(r, style, class_name(n), a->u.s.p, a->u.s.n);
		return true;
	}
	if (!ip_from_int(a, class_name(n), text))
		return false;
	put_class_text(r, style, class_name(n), text, strlen(text));
	return true;
}

/* ------------------------------------------------------------------ re */

#define RE_UNICODE 32
#define RE_LOCALE 4
#define RE_ASCII 256
#define REPR_PATTERN_MAX 200	/* re.compile(%.200R) */

/* The flags as Pattern's repr names them: |-joined, the rest in hex;
 * UNICODE left out for a str pattern that has it implied. */
static void repr_flags(struct out *o, int64_t flags, bool text)
{
	static const struct {
		const char *name;
		int64_t value;
	} names[] = {
		{ "re.TEMPLATE", 1 }, { "re.IGNORECASE", 2 },
		{ "re.LOCALE", 4 }, { "re.MULTILINE", 8 }, { "re.DOTALL", 16 },
		{ "re.UNICODE", 32 }, { "re.VERBOSE", 64 }, { "re.DEBUG", 128 },
		{ "re.ASCII", 256 },
	};
	const char *sep = ", ";
	size_t i;

	if (text && (flags & (RE_LOCALE | RE_UNICODE | RE_ASCII)) == RE_UNICODE)
		flags &= ~(int64_t)RE_UNICODE;
	for (i = 0; i < COUNT(names); i++)
		if (flags & names[i].value) {
			pickle_out_fmt(o, "%s%s", sep, names[i].name);
			flags &= ~names[i].value;
			sep = "|";
		}
	if (flags)
		pickle_out_fmt(o, "%s0x%llx", sep, (long long)flags);
}

/* The pattern's repr cut to 200 characters, as %.200R does. */
static void repr_pattern(struct render *r, struct node *pattern, int depth)
{
	struct out text = { .limit = r->o->limit - r->o->n,
			     .budget = r->o->budget };
	struct render inner = { &text, false, r->python };
	size_t i, chars = 0;

	pickle_repr_node(&inner, pattern, depth);
	for (i = 0; i < text.n && !text.err; i++)
		if (((unsigned char)text.p[i] & 0xc0) != 0x80 &&
		    chars++ == REPR_PATTERN_MAX)
			break;
	if (text.err)
		r->o->err = text.err;
	else
		pickle_out_put(r->o, text.p, i);
	free(text.p);
}

bool pickle_known_pattern(struct render *r, struct node *n, int depth,
			  enum known_style style)
{
	struct node *pattern = pickle_known_arg(n, 2, 0);
	int64_t flags;

	if (pattern == NULL || !pickle_known_untouched(n) ||
	    (pattern->kind != K_STR && pattern->kind != K_BYTES) ||
	    !pickle_known_int(pickle_known_arg(n, 2, 1), &flags) || flags < 0 ||
	    flags > INT32_MAX)
		return false;
	if (style == KNOWN_JSON) {
		pickle_known_tag_open(r->o, "pattern");
		pickle_out_str(r->o, "{\"pattern\": ");
		pickle_json_node(r, pattern, depth);
		pickle_out_fmt(r->o, ", \"flags\": %lld}", (long long)flags);
		pickle_known_tag_close(r->o);
		return true;
	}
	pickle_out_str(r->o, "re.compile(");
	repr_pattern(r, pattern, depth);
	repr_flags(r->o, flags, pattern->kind == K_STR);
	pickle_out_char(r->o, ')');
	return true;
}

/* --------------------------------------------------------------- array */

/* The typecodes, their kind (i: int, f: float, u: str) and size. */
static bool typecode_of(const struct node *t, char *code, char *kind,
			int *size)
{
	static const char codes[] = "bBhHiIlLqQfduw";
	static const char kinds[] = "iiiiiiiiiiffuu";
	static const int sizes[] = { 1, 1, 2, 2, 4, 4, 8, 8, 8, 8, 4, 8, 4, 4 };
	const char *at;

	if (t == NULL || t->kind != K_STR || t->u.s.n != 1 ||
	    (at = strchr(codes, t->u.s.p[0])) == NULL || *at == '\0')
		return false;
	*code = *at;
	*kind = kinds[at - codes];
	*size = sizes[at - codes];
	return true;
}

/* array('x') or array('x', ...) opening and closing. */
static void array_open(struct render *r, enum known_style style, char code,
		       bool empty)
{
	if (style == KNOWN_JSON)
		pickle_out_fmt(r->o, "{\"__array__\": {\"typecode\": \"%c\", "
			       "\"items\": ", code);
	else
		pickle_out_fmt(r->o, "array('%c'%s", code, empty ? "" : ", ");
}

static void array_close(struct render *r, enum known_style style)
{
	pickle_out_str(r->o, style == KNOWN_JSON ? "}}" : ")");
}

/* A str of 1-char strs joined (typecodes u and w), into o; false if one
 * is not a single character. */
static bool join_chars(struct out *o, const struct node *list)
{
	const struct node *c;
	uint32_t cp;
	size_t i;

	for (i = 0; i < list->u.seq.n; i++) {
		c = list->u.seq.items[i];
		if (c->kind != K_STR || c->u.s.n == 0 ||
		    pickle_utf8_decode((const uint8_t *)c->u.s.p, c->u.s.n,
				       &cp) != c->u.s.n)
			return false;
		pickle_out_put(o, c->u.s.p, c->u.s.n);
	}
	return true;
}

/* A str of characters as repr or JSON. */
static void put_str(struct render *r, enum known_style style,
		    const struct out *text)
{
	if (style == KNOWN_JSON)
		pickle_json_string(r->o, text->p, text->n);
	else
		pickle_repr_str(r->o, text->p, text->n);
}

/* array(typecode, [items]): protocols 0-2. */
bool pickle_known_array(struct render *r, struct node *n, int depth,
			enum known_style style)
{
	struct node *list = pickle_known_arg(n, 2, 1);
	struct out text = { .limit = r->o->limit - r->o->n,
			     .budget = r->o->budget };
	char code, kind;
	int size;
	size_t i;
	bool ok = list != NULL && list->kind == K_LIST && pickle_known_untouched(n) &&
		  typecode_of(pickle_known_arg(n, 2, 0), &code, &kind, &size);

	for (i = 0; ok && kind != 'u' && i < list->u.seq.n; i++)
		ok = list->u.seq.items[i]->kind ==
		     (kind == 'f' ? K_FLOAT : K_INT);
	if (ok && kind == 'u')
		ok = join_chars(&text, list);
	if (!ok || text.err) {
		r->o->err = ok ? text.err : r->o->err;
		free(text.p);
		return ok;
	}
	array_open(r, style, code, list->u.seq.n == 0);
	if (kind == 'u' && (list->u.seq.n || style == KNOWN_JSON))
		put_str(r, style, &text);
	else if (list->u.seq.n || style == KNOWN_JSON)
		(style == KNOWN_JSON ? pickle_json_node
				     : pickle_repr_node)(r, list, depth);
	array_close(r, style);
	free(text.p);
	return true;
}

/* The machine formats of _array_reconstructor (arraymodule.c's
 * enum machine_format_code), by code: size, kind, big-endian, signed. */
static const struct {
	int size;
	char kind;
	bool big, sign;
} formats[] = {
	{ 1, 'i', false, false }, { 1, 'i', false, true },
	{ 2, 'i', false, false }, { 2, 'i', true, false },
	{ 2, 'i', false, true }, { 2, 'i', true, true },
	{ 4, 'i', false, false }, { 4, 'i', true, false },
	{ 4, 'i', false, true }, { 4, 'i', true, true },
	{ 8, 'i', false, false }, { 8, 'i', true, false },
	{ 8, 'i', false, true }, { 8, 'i', true, true },
	{ 4, 'f', false, false }, { 4, 'f', true, false },
	{ 8, 'f', false, false }, { 8, 'f', true, false },
	{ 2, 'u', false, false }, { 2, 'u', true, false },
	{ 4, 'u', false, false }, { 4, 'u', true, false },
};

static uint64_t load_uint(const uint8_t *p, int size, bool big)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
	return v;
}

/* One number of the machine format f at p, as repr() writes it. */
static void put_number(struct render *r, enum known_style style, int f,
		       const uint8_t *p)
{
	uint64_t v = load_uint(p, formats[f].size, formats[f].big);
	char text[PICKLE_FLOAT_TEXT];
	double x;
	float x32;
	int shift = 64 - 8 * formats[f].size;

	if (formats[f].kind == 'i' && formats[f].sign) {
		pickle_out_fmt(r->o, "%lld",
			       (long long)((int64_t)(v << shift) >> shift));
		return;
	}
	if (formats[f].kind == 'i') {
		pickle_out_fmt(r->o, "%llu", (unsigned long long)v);
		return;
	}
	if (formats[f].size == 4) {
		uint32_t w = (uint32_t)v;

		memcpy(&x32, &w, 4);
		x = x32;
	} else {
		memcpy(&x, &v, 8);
	}
	if (style == KNOWN_JSON && !isfinite(x)) {
		pickle_out_fmt(r->o, "{\"__float__\": \"%s\"}", isnan(x) ? "nan"
			       : x < 0 ? "-inf" : "inf");
		return;
	}
	pickle_float_format(text, x, true, false);
	pickle_out_str(r->o, text);
}

/* Characters of UTF-16 or UTF-32 as UTF-8 into o; false for lone
 * surrogates or code points past U+10FFFF. */
static bool decode_chars(struct out *o, int f, const uint8_t *p, size_t len)
{
	uint8_t utf8[4];
	uint32_t cp, lo;
	size_t i;
	int size = formats[f].size;

	for (i = 0; i < len; i += (size_t)size) {
		cp = (uint32_t)load_uint(p + i, size, formats[f].big);
		if (size == 2 && cp >= 0xd800 && cp < 0xdc00 && i + 2 < len) {
			lo = (uint32_t)load_uint(p + i + 2, 2, formats[f].big);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				i += 2;
			}
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return false;
		pickle_out_put(o, utf8, pickle_utf8_encode(utf8, cp));
	}
	return true;
}

/* _array_reconstructor(array, typecode, mformat_code, items): protocols
 * 3 and later, the items' bytes in a machine format. */
bool pickle_known_array_reconstructor(struct render *r, struct node *n,
				      int depth, enum known_style style)
{
	struct node *items = pickle_known_arg(n, 4, 3);
	struct out text = { .limit = r->o->limit - r->o->n,
			     .budget = r->o->budget };
	const uint8_t *p;
	char code, kind;
	int size;
	int64_t f;
	size_t i, len;

	(void)depth;
	if (items == NULL || items->kind != K_BYTES || !pickle_known_untouched(n) ||
	    !pickle_global_is(pickle_known_arg(n, 4, 0), "array", "array") ||
	    !typecode_of(pickle_known_arg(n, 4, 1), &code, &kind, &size) ||
	    !pickle_known_int(pickle_known_arg(n, 4, 2), &f) || f < 0 ||
	    f >= (int64_t)COUNT(formats) || formats[f].kind != kind ||
	    items->u.s.n % (size_t)formats[f].size)
		return false;
	p = (const uint8_t *)items->u.s.p;
	len = items->u.s.n;
	if (kind == 'u' &&
	    (!decode_chars(&text, (int)f, p, len) || text.err)) {
		r->o->err = text.err ? text.err : r->o->err;
		free(text.p);
		return text.err != 0;	/* an error, or not a str: a call */
	}
	array_open(r, style, code, len == 0);
	/* An empty one's JSON items are "", a str as any of its kind. */
	if (kind == 'u' && (len || style == KNOWN_JSON))
		put_str(r, style, &text);
	else if (len || style == KNOWN_JSON)
		pickle_out_char(r->o, '[');
	for (i = 0; kind != 'u' && i < len && !r->o->err;
	     i += (size_t)formats[f].size) {
		if (i)
			pickle_out_str(r->o, ", ");
		put_number(r, style, (int)f, p + i);
	}
	if (kind != 'u' && (len || style == KNOWN_JSON))
		pickle_out_char(r->o, ']');
	array_close(r, style);
	free(text.p);
	return true;
}
