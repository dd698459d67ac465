/*
 * pickle-numpy.c - rows of the known table (pickle-known.h) for numpy:
 * ndarray (numpy.core.multiarray._reconstruct + BUILD state, and protocol
 * 5's numpy.core.numeric._frombuffer of an in-band buffer), numpy scalars
 * (multiarray.scalar(dtype, bytes)) and dtype objects, under numpy 1.x's
 * numpy.core and 2.x's numpy._core names.  Nothing is imported.
 *
 * REPR writes numpy 1.x's own repr() (numpy >= 1.14's rules, the default
 * print options: precision 8, linewidth 75, threshold 1000, edgeitems 3)
 * for arrays of bool, int8-int64, uint8-uint64, float16-float64,
 * complex64, complex128, object (each item's repr(), unpadded, a list as
 * list([...]), as numpy's _object_format), str and bytes (each item's
 * repr(), trailing NULs dropped, dtype='<U3') of up to 32 dimensions
 * (numpy 1.x's most); from 2-D on they print on several lines, as numpy
 * prints them, and past 1,000 elements summarized with "..." as numpy
 * does.  Other arrays (longdouble, structured, datetime64,
 * timedelta64, an object array with an item of several lines, an
 * out-of-band buffer) stay the recipe they are.  Scalars print as the numpy that
 * pickled them: numpy 1.x's repr() (1.5) under numpy.core, numpy 2's
 * (NEP 51: np.float64(1.5), np.True_, np.str_('a')) under numpy._core;
 * numpy 2's
 * arrays and dtypes print as numpy 1.x's.  JSON writes {"__ndarray__":
 * {"dtype": "<f8", "shape": [2, 3], "data": [[...], ...]}}, data nested
 * as ndarray.tolist() makes it, every element whatever the size.
 */
#include "pickle-known.h"

#define ND_MAX_DIMS 32		/* numpy 1.x's NPY_MAXDIMS */
#define ND_MAX_REPR 1000	/* numpy's threshold: more is summarized */
#define ND_EDGE 3		/* numpy's edgeitems */
#define ND_WIDTH 75		/* numpy's linewidth */
#define ND_PRECISION 8
#define WORD_MAX 64		/* one element's text */

/* A simple dtype: kind 'b', 'i', 'u', 'f', 'c', 'O' (object: the
 * pickle holds a list of the items), 'U' (str: UCS-4) or 'S' (bytes),
 * its size in bytes, byte order. */
struct dtype {
	char kind, order;	/* order: '<', '>' or '|' */
	int size;
};

/* An array from the pickle: its dtype, shape and bytes. */
struct ndarray {
	struct dtype dt;
	size_t shape[ND_MAX_DIMS];
	int ndim;
	size_t count;
	bool fortran;
	bool swapped;		/* loads as the native order (BUILD swaps) */
	const uint8_t *data;
	struct node **objects;	/* of an object array, in C order */
};

/* ------------------------------------------------------------- dtypes */

#define ND_MAX_CHARS 999999	/* of a str or bytes dtype, here */

/* The type string of numpy.dtype('f8', False, True): kind and size
 * ('U3': 3 characters, 12 bytes). */
static bool dtype_code(const struct node *s, struct dtype *dt)
{
	char text[8];
	char *end;
	long size;

	if (s == NULL || s->kind != K_STR || s->u.s.n < 2 ||
	    s->u.s.n >= sizeof(text))
		return false;
	memcpy(text, s->u.s.p, s->u.s.n);
	text[s->u.s.n] = '\0';
	if (strchr("biufcOUS", text[0]) == NULL || text[1] < '0' ||
	    text[1] > '9' || (text[1] == '0' && strcmp(text + 1, "0") != 0))
		return false;
	size = strtol(text + 1, &end, 10);
	dt->kind = text[0];
	dt->size = (int)size;
	if (*end != '\0')
		return false;
	if (dt->kind == 'b')
		return size == 1;
	if (dt->kind == 'f')
		return size == 2 || size == 4 || size == 8;
	if (dt->kind == 'c')
		return size == 8 || size == 16;
	if (dt->kind == 'O')	/* a pointer's size */
		return size == 4 || size == 8;
	if (dt->kind == 'U' || dt->kind == 'S') {	/* 'U0': np.str_('') */
		dt->size *= dt->kind == 'U' ? 4 : 1;
		return size <= ND_MAX_CHARS;
	}
	if (size == 0)
		return false;
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* A dtype node: numpy.dtype(code, False, True) with BUILD's state
 * (version, byteorder, None, None, None, -1, -1, flags). */
static bool dtype_of(const struct node *n, struct dtype *dt)
{
	const struct node *state, *order;
	size_t i;

	if (n == NULL || n->kind != K_CALL || n->u.call.form != CALL_REDUCE ||
	    !pickle_global_is(n->u.call.func, "numpy", "dtype") ||
	    !dtype_code(pickle_known_arg(n, 3, 0), dt) ||
	    (state = pickle_known_state(n)) == NULL || state->kind != K_TUPLE ||
	    state->u.seq.n != 8)
		return false;
	order = state->u.seq.items[1];
	if (order->kind != K_STR || order->u.s.n != 1 ||
	    strchr("<>|=", order->u.s.p[0]) == NULL)
		return false;
	for (i = 2; i < 5; i++)
		if (state->u.seq.items[i]->kind != K_NONE)
			return false;
	/* '=' is the sender's native order: little-endian, as '<' */
	dt->order = dt->size == 1 || dt->kind == 'S' ? '|' :
		    order->u.s.p[0] == '>' ? '>' : '<';
	return true;
}

/* numpy's name of the dtype: bool, int8, ..., float64. */
static void dtype_name(char *out, size_t size, const struct dtype *dt)
{
	if (dt->kind == 'b')
		snprintf(out, size, "bool");
	else if (dt->kind == 'O')
		snprintf(out, size, "object");
	else if (dt->kind == 'U' || dt->kind == 'S')	/* dtype='<U3' */
		snprintf(out, size, "'%c%c%d'", dt->order, dt->kind,
			 dt->kind == 'U' ? dt->size / 4 : dt->size);
	else
		snprintf(out, size, "%s%d", dt->kind == 'i' ? "int" :
			 dt->kind == 'u' ? "uint" : dt->kind == 'f' ? "float"
			 : "complex", 8 * dt->size);
}

/* The dtype as numpy's str: "<f8", "|b1", "|O". */
static void dtype_str(char *out, size_t size, const struct dtype *dt)
{
	if (dt->kind == 'O')
		snprintf(out, size, "|O");
	else
		snprintf(out, size, "%c%c%d", dt->order, dt->kind,
			 dt->kind == 'U' ? dt->size / 4 : dt->size);
}

/* numpy's repr shows dtype=... but for int64, float64, complex128 and
 * bool (numpy 1.x: whatever the byte order). */
static bool dtype_implied(const struct dtype *dt)
{
	return dt->kind == 'b' || (strchr("if", dt->kind) && dt->size == 8) ||
	       (dt->kind == 'c' && dt->size == 16);
}

/* ------------------------------------------------------------ elements */

static uint64_t item_bits(const struct dtype *dt, const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < dt->size; i++)
		v |= (uint64_t)p[dt->order == '>' ? dt->size - 1 - i : i]
		     << (8 * i);
	return v;
}

static int64_t item_int(const struct dtype *dt, const uint8_t *p)
{
	int shift = 64 - 8 * dt->size;

	return (int64_t)(item_bits(dt, p) << shift) >> shift;
}

/* An IEEE 754 half's value. */
static double half_value(uint16_t h)
{
	int e = h >> 10 & 0x1f, m = h & 0x3ff;
	double v = e == 0 ? ldexp(m, -24) : e < 31 ? ldexp(m + 1024, e - 25)
		   : m ? NAN : INFINITY;

	return h & 0x8000 ? -v : v;
}

/* The half nearest x (ties to even), as numpy's float16 rounds. */
static uint16_t half_of(double x)
{
	uint16_t sign = signbit(x) ? 0x8000 : 0;
	double r;
	int e;

	x = fabs(x);
	if (isnan(x))
		return sign | 0x7e00;
	if (x >= 65520.0)	/* halfway past the largest, 65504 */
		return sign | 0x7c00;
	if (x < ldexp(1, -14))	/* subnormal: units of 2^-24 */
		return sign | (uint16_t)nearbyint(ldexp(x, 24));
	frexp(x, &e);
	r = nearbyint(ldexp(x, 11 - e));	/* 1024 to 2048 */
	if (r == 2048) {
		r = 1024;
		e++;
	}
	return sign | (uint16_t)((e + 14) << 10) | (uint16_t)(r - 1024);
}

static double item_float(const struct dtype *dt, const uint8_t *p)
{
	uint64_t v = item_bits(dt, p);
	uint32_t w = (uint32_t)v;
	double x;
	float f;

	if (dt->size == 2)
		return half_value((uint16_t)v);
	if (dt->size == 4) {
		memcpy(&f, &w, 4);
		return f;
	}
	memcpy(&x, &v, 8);
	return x;
}

/* An int element's decimal text in w. */
static const char *int_text(char *w, size_t size, const struct dtype *dt,
			    const uint8_t *p)
{
	if (dt->kind == 'u')
		snprintf(w, size, "%llu", (unsigned long long)item_bits(dt, p));
	else
		snprintf(w, size, "%lld", (long long)item_int(dt, p));
	return w;
}

/* Whether the array's items print by their repr(), unpadded: objects,
 * str and bytes. */
static bool by_repr(const struct dtype *dt)
{
	return dt->kind == 'O' || dt->kind == 'U' || dt->kind == 'S';
}

/* Whether a UCS-4 unit is a code point a str here holds: not past
 * 0x10ffff, not a surrogate. */
static bool str_char(uint32_t cp)
{
	return cp <= 0x10ffff && (cp < 0xd800 || cp >= 0xe000);
}

/* A str or bytes item at p as the value item() gives, trailing NULs
 * dropped (numpy's), in *tmp: a str's UTF-8 malloc'ed into *owned, NULL
 * for bytes.  False for a code point no str holds, or no memory. */
static bool text_item(const struct dtype *dt, const uint8_t *p,
		      struct node *tmp, char **owned)
{
	size_t n = (size_t)dt->size, i, k = 0;
	uint8_t *utf8;
	uint32_t cp;
	struct dtype unit = { 'u', dt->order, 4 };

	memset(tmp, 0, sizeof(*tmp));
	*owned = NULL;
	if (dt->kind == 'S') {
		while (n > 0 && p[n - 1] == 0)
			n--;
		tmp->kind = K_BYTES;
		tmp->u.s.p = (const char *)p;
		tmp->u.s.n = n;
		return true;
	}
	while (n >= 4 && item_bits(&unit, p + n - 4) == 0)
		n -= 4;
	if ((utf8 = malloc(n + 1)) == NULL)	/* 4 bytes at most for 4 */
		return false;
	for (i = 0; i < n; i += 4) {
		cp = (uint32_t)item_bits(&unit, p + i);
		if (!str_char(cp)) {
			free(utf8);
			return false;
		}
		k += pickle_utf8_encode(utf8 + k, cp);
	}
	tmp->kind = K_STR;
	tmp->u.s.p = (const char *)utf8;
	tmp->u.s.n = k;
	*owned = (char *)utf8;
	return true;
}

/* Whether decimal text reads back as x >= 0 in its size (2: float16,
 * 4: float32, 8: float64), ties to even as IEEE 754 rounds. */
static bool reads_back(const char *text, double x, int size)
{
	if (size == 2)
		return half_of(strtod(text, NULL)) == half_of(x);
	if (size == 4)
		return strtof(text, NULL) == (float)x;
	return strtod(text, NULL) == x;
}

/* The shortest digits that read back as x in its own size: digits
 * without a point into out, the decimal exponent of the first.  At each
 * length the nearest text first, then its neighbours a unit of the last
 * digit away (the nearest may fall on the wrong side of a power of 2). */
static void shortest_digits(double x, int size, char *out, int *exp)
{
	char text[40], best[40], *e;
	double v, step, err = INFINITY;
	int p, i, k = 0, side;

	x = fabs(x);
	for (p = 1; p <= 17 && err == INFINITY; p++) {
		snprintf(text, sizeof(text), "%.*e", p - 1, x);
		v = strtod(text, NULL);
		step = pow(10, atoi(strchr(text, 'e') + 1) - (p - 1));
		for (side = 0; side < 3; side++) {
			if (side)
				snprintf(text, sizeof(text), "%.*e", p - 1,
					 side == 1 ? v - step : v + step);
			if (reads_back(text, x, size) &&
			    fabs(strtod(text, NULL) - x) < err) {
				err = fabs(strtod(text, NULL) - x);
				memcpy(best, text, sizeof(best));
			}
		}
	}
	e = strchr(best, 'e');
	*exp = atoi(e + 1);
	for (i = 0; best + i < e; i++)
		if (best[i] != '.')
			out[k++] = best[i];
	while (k > 1 && out[k - 1] == '0')
		k--;
	out[k] = '\0';
}

/* Digits d (the first at exponent e) written positionally, a '-' first
 * for negative; after the point of an integral value, integral_tail
 * (Python's "0", numpy's ""). */
static void put_positional(char *out, size_t size, bool negative,
			   const char *d, int e, const char *integral_tail)
{
	int n = (int)strlen(d), k = 0, i;

	if (negative)
		out[k++] = '-';
	if (e < 0) {
		out[k++] = '0';
		out[k++] = '.';
		for (i = -1; i > e; i--)
			out[k++] = '0';
		snprintf(out + k, size - (size_t)k, "%s", d);
		return;
	}
	for (i = 0; i <= e; i++)
		out[k++] = i < n ? d[i] : '0';
	out[k++] = '.';
	snprintf(out + k, size - (size_t)k, "%s",
		 n > e + 1 ? d + e + 1 : integral_tail);
}

/* Python's repr() style of x from its digits: positional for 1e-4 <= |x|
 * < 1e16, else d.ddde+XX; with ".0" when integral for a float, without
 * and (plus) with a sign for the parts of a complex. */
static void scalar_float(char *out, size_t size, double x, int bytes,
			 bool complex_part, bool plus)
{
	const char *sign = signbit(x) && !isnan(x) ? "-" : plus ? "+" : "";
	char d[24], text[PICKLE_FLOAT_TEXT - 2];
	int e;

	if (!isfinite(x)) {
		snprintf(out, size, "%s%s", sign, isnan(x) ? "nan" : "inf");
		return;
	}
	if (bytes == 8) {
		pickle_float_format(out, x, !complex_part, plus);
		return;
	}
	shortest_digits(x, bytes, d, &e);
	if (x != 0 && (e < -4 || e >= 16))
		snprintf(text, sizeof(text), "%c%s%se%c%02d", d[0],
			 d[1] ? "." : "", d + 1, e < 0 ? '-' : '+', abs(e));
	else
		put_positional(text, sizeof(text), false, d, e,
			       complex_part ? "" : "0");
	e = (int)strlen(text);
	if (text[e - 1] == '.')	/* a complex's 3, not 3. */
		text[e - 1] = '\0';
	snprintf(out, size, "%s%s", sign, text);
}

/* A complex scalar as Python's repr() of a complex: 2j, (1+2j). */
static void scalar_complex(char *out, size_t size, const struct dtype *dt,
			   const uint8_t *p)
{
	struct dtype part = *dt;
	char re[PICKLE_FLOAT_TEXT], im[PICKLE_FLOAT_TEXT];
	double x, y;

	part.kind = 'f';
	part.size /= 2;
	x = item_float(&part, p);
	y = item_float(&part, p + part.size);
	scalar_float(im, sizeof(im), y, part.size, true, x != 0 || signbit(x));
	if (x == 0 && !signbit(x)) {
		snprintf(out, size, "%sj", im);
		return;
	}
	scalar_float(re, sizeof(re), x, part.size, true, false);
	snprintf(out, size, "(%s%sj)", re, im);
}

/* Positional, at most ND_PRECISION fractional digits, the shortest that
 * round-trip, trailing zeros trimmed but the point kept ("2.", "1.5").
 * Where the shortest stops before the units (4112 in float16: "4110"),
 * numpy's elements show the exact integer ("4112."). */
static void positional(char *out, size_t size, double x, int bytes)
{
	char d[24];
	int e, k;

	shortest_digits(x, bytes, d, &e);
	if ((int)strlen(d) <= e) {
		snprintf(out, size, "%.0f.", x);
		return;
	}
	if ((int)strlen(d) - 1 - e <= ND_PRECISION) {
		put_positional(out, size, signbit(x), d, e, "");
		return;
	}
	snprintf(out, size, "%.*f", ND_PRECISION, x);
	k = (int)strlen(out);
	while (out[k - 1] == '0')
		out[--k] = '\0';
}

/* Scientific, at most ND_PRECISION fractional digits ("1.5e+10",
 * "1.e-05"): int part, fraction digits and exponent apart. */
static void scientific(double x, int bytes, char *lead, char *frac, int *exp)
{
	char d[24], text[40];
	int n;

	shortest_digits(x, bytes, d, exp);
	n = (int)strlen(d);
	if (n - 1 > ND_PRECISION) {
		snprintf(text, sizeof(text), "%.*e", ND_PRECISION, fabs(x));
		*exp = atoi(strchr(text, 'e') + 1);
		d[0] = text[0];
		memcpy(d + 1, text + 2, ND_PRECISION);
		n = ND_PRECISION + 1;
		while (n > 1 && d[n - 1] == '0')
			n--;
		d[n] = '\0';
	}
	snprintf(lead, 3, "%s%c", signbit(x) ? "-" : "", d[0]);
	snprintf(frac, ND_PRECISION + 2, "%s", d + 1);
}

/* ---------------------------------------------------------- formatting */

static const uint8_t *item_at(const struct ndarray *a, size_t i)
{
	return a->data + i * (size_t)a->dt.size;
}

/* The element at a C-order index, whatever the memory order. */
static size_t storage_index(const struct ndarray *a, size_t c_index)
{
	size_t idx[ND_MAX_DIMS], k = 0, stride = 1;
	int d;

	if (!a->fortran)
		return c_index;
	for (d = a->ndim - 1; d >= 0; d--) {
		idx[d] = c_index % a->shape[d];
		c_index /= a->shape[d];
	}
	for (d = 0; d < a->ndim; d++) {
		k += idx[d] * stride;
		stride *= a->shape[d];
	}
	return k;
}

/* What numpy shows of an axis: every index, or past its threshold the
 * first and last ND_EDGE of an axis longer than twice that, "..."
 * between.  Slot j's index, or SIZE_MAX for the "...". */
static bool summarized(const struct ndarray *a, int axis)
{
	return a->count > ND_MAX_REPR && a->shape[axis] > 2 * ND_EDGE;
}

static size_t slots(const struct ndarray *a, int axis)
{
	return summarized(a, axis) ? 2 * ND_EDGE + 1 : a->shape[axis];
}

static size_t slot_index(const struct ndarray *a, int axis, size_t j)
{
	if (!summarized(a, axis) || j < ND_EDGE)
		return j;
	return j == ND_EDGE ? SIZE_MAX : a->shape[axis] - (2 * ND_EDGE + 1 - j);
}

/* The C-order index of axis's first element of slot j from first. */
static size_t slot_start(const struct ndarray *a, int axis, size_t first,
			 size_t index)
{
	size_t step = 1;
	int d;

	for (d = axis + 1; d < a->ndim; d++)
		step *= a->shape[d];
	return first + index * step;
}

/* How numpy's formatters pad every element shown of one array; for
 * complex, the real parts' and (imag) the imaginary parts'. */
struct formatter {
	const struct ndarray *a;
	struct formatter *imag;
	int part;		/* of a complex: 0 real, 1 imaginary */
	int bytes;		/* of a float (or a complex's part) */
	bool plus;		/* numpy's sign='+' (imaginary parts) */
	bool exp;		/* FloatingFormat's exp_format */
	int pad_left, pad_right, precision, exp_size;
	int width;		/* IntegerFormat's */
	double lo, hi;		/* the least and most |x| not 0 */
	bool finite, neginf;
	size_t nonfinite;
	struct render *r;	/* of an array by_repr(): renders its items */
	int depth;
	bool failed;		/* one failed, or spans lines */
};

typedef void element_fn(struct formatter *f, double x, size_t i);

/* A float element, or the formatter's part of a complex one. */
static double element_value(const struct formatter *f, size_t i)
{
	struct dtype part = f->a->dt;

	if (part.kind == 'f')
		return item_float(&part, item_at(f->a, i));
	if (part.kind != 'c')
		return 0;
	part.kind = 'f';
	part.size /= 2;
	return item_float(&part, item_at(f->a, i) + f->part * part.size);
}

/* A positional or scientific text's sign as numpy's sign option puts
 * it: '+' before a positive number for sign='+'. */
static void add_sign(const struct formatter *f, char *text, size_t size)
{
	size_t n = strlen(text);

	if (!f->plus || text[0] == '-' || n + 2 > size)
		return;
	memmove(text + 1, text, n + 1);
	text[0] = '+';
}

/* Calls fn for each element shown, in order. */
static void visit(struct formatter *f, int axis, size_t first,
		  element_fn *fn)
{
	const struct ndarray *a = f->a;
	size_t j, index, i;

	if (axis == a->ndim) {
		i = storage_index(a, first);
		fn(f, element_value(f, i), i);
		return;
	}
	for (j = 0; j < slots(a, axis); j++)
		if ((index = slot_index(a, axis, j)) != SIZE_MAX)
			visit(f, axis + 1, slot_start(a, axis, first, index),
			      fn);
}

/* Whether numpy switches the whole array to scientific notation. */
static void measure_range(struct formatter *f, double x, size_t i)
{
	(void)i;
	x = fabs(x);
	if (!isfinite(x) || x == 0)
		return;
	f->lo = x < f->lo ? x : f->lo;
	f->hi = x > f->hi ? x : f->hi;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* The widths of a float element, as numpy's fillFormat takes them. */
static void measure_float(struct formatter *f, double x, size_t i)
{
	char w[WORD_MAX], lead[4], frac[ND_PRECISION + 2], *dot;
	int e;

	(void)i;
	if (!isfinite(x)) {
		f->neginf |= isinf(x) && x < 0;
		f->nonfinite++;
		return;
	}
	f->finite = true;
	if (f->exp) {
		scientific(x, f->bytes, lead, frac, &e);
		add_sign(f, lead, sizeof(lead));
		f->exp_size = max_int(f->exp_size,
				      snprintf(w, sizeof(w), "%d", abs(e)));
		f->precision = max_int(f->precision, (int)strlen(frac));
		f->pad_left = max_int(f->pad_left, (int)strlen(lead));
	} else {
		positional(w, sizeof(w), x, f->bytes);
		add_sign(f, w, sizeof(w));
		dot = strchr(w, '.');
		f->pad_right = max_int(f->pad_right, (int)strlen(dot + 1));
		f->pad_left = max_int(f->pad_left, (int)(dot - w));
	}
}

static void measure_int(struct formatter *f, double x, size_t i)
{
	char w[WORD_MAX];

	(void)x;
	f->width = max_int(f->width, (int)strlen(int_text(w, sizeof(w),
							  &f->a->dt,
							  item_at(f->a, i))));
}

/* numpy's FloatingFormat.fillFormat over the shown floats (or parts). */
static void float_init(struct formatter *f)
{
	f->lo = INFINITY;
	visit(f, 0, 0, measure_range);
	f->exp = f->hi != 0 && (f->hi >= 1e8 || f->lo < 1e-4 ||
				f->hi / f->lo > 1000.);
	visit(f, 0, 0, measure_float);
	if (f->exp) {
		f->exp_size = max_int(f->exp_size, 2);
		f->pad_right = f->exp_size + 2 + f->precision;
	}
	if (!f->finite)
		f->pad_left = f->pad_right = 0;
	if (f->nonfinite) {	/* room for nan, inf and -inf (+inf) */
		f->pad_left = max_int(f->pad_left, 3 - (f->pad_right + 1));
		f->pad_left = max_int(f->pad_left, 3 + (f->neginf || f->plus) -
				      (f->pad_right + 1));
	}
}

/* Item i of an array by_repr() as numpy writes it: its repr(),
 * list([...]) for a list in an object array (_object_format); malloc'ed,
 * or NULL with f->failed set (and f->r->o's error where that is why). */
static char *render_item(struct formatter *f, size_t i)
{
	struct out o = { .limit = f->r->o->limit - f->r->o->n,
			 .budget = f->r->o->budget };
	struct render inner = { &o, false, f->r->python };
	struct node *item = f->a->objects ? f->a->objects[i] : NULL, tmp;
	char *owned = NULL;

	if (item == NULL && !text_item(&f->a->dt, item_at(f->a, i), &tmp,
				       &owned)) {
		f->failed = true;
		return NULL;
	}
	if (item == NULL)
		item = &tmp;
	if (item->kind == K_LIST)
		pickle_out_str(&o, "list(");
	pickle_repr_node(&inner, item, f->depth);
	free(owned);
	if (item->kind == K_LIST)
		pickle_out_char(&o, ')');
	pickle_out_char(&o, '\0');
	if (o.err) {
		f->r->o->err = o.err;
		f->r->too_deep = inner.too_deep;
	}
	/* numpy lays out a word of several lines otherwise: not done here */
	if (o.err || memchr(o.p, '\n', o.n) != NULL) {
		f->failed = true;
		free(o.p);
		return NULL;
	}
	return o.p;
}

/* f for the array, and imag (for a complex one) its imaginary parts
 * (an array by_repr() needs no measure: its items are unpadded). */
static void formatter_init(struct formatter *f, struct formatter *imag,
			   const struct ndarray *a, struct render *r,
			   int depth)
{
	memset(f, 0, sizeof(*f));
	f->a = a;
	f->r = r;
	f->depth = depth;
	if (by_repr(&a->dt) || a->dt.kind == 'b')
		return;
	if (strchr("iu", a->dt.kind)) {
		visit(f, 0, 0, measure_int);
		return;
	}
	f->bytes = a->dt.kind == 'c' ? a->dt.size / 2 : a->dt.size;
	float_init(f);
	if (a->dt.kind != 'c')
		return;
	memset(imag, 0, sizeof(*imag));
	imag->a = a;
	imag->bytes = f->bytes;
	imag->part = 1;
	imag->plus = true;
	float_init(imag);
	f->imag = imag;
}

static void float_word(char *w, size_t size, const struct formatter *f,
		       double x)
{
	char lead[4], text[32], digits[32], *dot;
	int e;

	if (!isfinite(x)) {
		snprintf(w, size, "%*s", f->pad_left + f->pad_right + 1,
			 isnan(x) ? (f->plus ? "+nan" : "nan") : x < 0 ? "-inf"
			 : f->plus ? "+inf" : "inf");
		return;
	}
	if (f->exp) {
		/* numpy's min_digits: every element shows precision digits,
		 * its shortest if that many, else the exact value's (ties to
		 * even) */
		shortest_digits(x, f->bytes, text, &e);
		if ((int)strlen(text) != f->precision + 1) {
			snprintf(digits, sizeof(digits), "%.*e", f->precision,
				 fabs(x));
			e = atoi(strchr(digits, 'e') + 1);
			snprintf(text, sizeof(text), "%c%.*s", digits[0],
				 f->precision, digits + 2);
		}
		snprintf(lead, sizeof(lead), "%s%c", signbit(x) ? "-" :
			 f->plus ? "+" : "", text[0]);
		snprintf(w, size, "%*s.%se%c%0*d", f->pad_left, lead, text + 1,
			 e < 0 ? '-' : '+', f->exp_size, abs(e));
		return;
	}
	positional(text, sizeof(text), x, f->bytes);
	add_sign(f, text, sizeof(text));
	dot = strchr(text, '.');
	*dot = '\0';
	snprintf(w, size, "%*s.%-*s", f->pad_left, text, f->pad_right, dot + 1);
}

/* numpy's ComplexFloatingFormat: the real part, then the imaginary
 * part with its sign and a 'j' before its padding ("1.+2.j ").  */
static void complex_word(char *w, size_t size, const struct formatter *f,
			 size_t i)
{
	char im[WORD_MAX];
	size_t n, k;

	float_word(w, size, f, element_value(f, i));
	float_word(im, sizeof(im), f->imag, element_value(f->imag, i));
	for (k = strlen(im); k > 0 && im[k - 1] == ' '; k--)
		;
	n = strlen(w);
	snprintf(w + n, size - n, "%.*sj%s", (int)k, im, im + k);
}

/* The element at storage index i as numpy shows it in this array. */
static void element_word(char *w, size_t size, const struct formatter *f,
			 size_t i)
{
	const struct ndarray *a = f->a;
	char t[WORD_MAX];

	if (a->dt.kind == 'f') {
		float_word(w, size, f, element_value(f, i));
	} else if (a->dt.kind == 'c') {
		complex_word(w, size, f, i);
	} else if (a->dt.kind == 'b') {
		snprintf(w, size, "%s", *item_at(a, i) ?
			 (a->ndim ? " True" : "True") : "False");
	} else {
		snprintf(w, size, "%*s", f->width,
			 int_text(t, sizeof(t), &a->dt, item_at(a, i)));
	}
}

/* The element at storage index i as shown: the item's repr() of an
 * array by_repr() (malloc'ed into *owned: "" where it failed), else
 * element_word() into w. */
static const char *shown_word(char *w, size_t size, struct formatter *f,
			      size_t i, char **owned)
{
	*owned = NULL;
	if (by_repr(&f->a->dt)) {
		*owned = render_item(f, i);
		return *owned ? *owned : "";
	}
	element_word(w, size, f, i);
	return w;
}

/* numpy's _formatArray: an axis whose '[' ends a line of hang columns
 * (numpy's hanging indent), its rows wrapped at width columns less the
 * closing bracket. */
struct layout {
	struct formatter *f;
	struct out *o;
	size_t line;		/* the current line's length so far */
};

static void spaces(struct layout *l, size_t n)
{
	while (n--)
		pickle_out_char(l->o, ' ');
}

static void put_row(struct layout *l, size_t first, size_t hang,
		    size_t width)
{
	const struct ndarray *a = l->f->a;
	int axis = a->ndim - 1;
	size_t j, n = slots(a, axis), len, index;
	char buf[WORD_MAX], *owned = NULL;
	const char *word;

	for (j = 0; j < n && !l->f->failed; j++) {
		index = slot_index(a, axis, j);
		word = index == SIZE_MAX ? "..." :
		       shown_word(buf, sizeof(buf), l->f,
				  storage_index(a, first + index), &owned);
		len = strlen(word);
		if (j && l->line + 2 + len > width - 1 && l->line + 2 > hang) {
			/* numpy's _extendLine: wrap, but not where that would
			 * not help */
			pickle_out_char(l->o, '\n');
			spaces(l, hang);
			l->line = hang;
		} else if (j) {
			pickle_out_char(l->o, ' ');
			l->line += 2;
		}
		pickle_out_str(l->o, word);
		l->line += len;
		free(owned);
		owned = NULL;
		if (j + 1 < n)
			pickle_out_char(l->o, ',');
	}
}

static void put_axis(struct layout *l, int axis, size_t first, size_t hang,
		     size_t width)
{
	const struct ndarray *a = l->f->a;
	size_t j, index;
	int k;

	pickle_out_char(l->o, '[');
	l->line++;
	if (axis == a->ndim - 1) {
		put_row(l, first, hang, width);
	} else {
		for (j = 0; j < slots(a, axis) && !l->o->err && !l->f->failed;
		     j++) {
			if (j) {
				pickle_out_char(l->o, ',');
				for (k = 0; k < a->ndim - axis - 1; k++)
					pickle_out_char(l->o, '\n');
				spaces(l, hang);
				l->line = hang;
			}
			index = slot_index(a, axis, j);
			if (index == SIZE_MAX) {
				pickle_out_str(l->o, "...");
				l->line += 3;
			} else {
				put_axis(l, axis + 1,
					 slot_start(a, axis, first, index),
					 hang + 1, width - 1);
			}
		}
	}
	pickle_out_char(l->o, ']');
	l->line++;
}

static void repr_shape(struct out *o, const struct ndarray *a)
{
	int d;

	pickle_out_char(o, '(');
	for (d = 0; d < a->ndim; d++)
		pickle_out_fmt(o, "%s%zu", d ? ", " : "", a->shape[d]);
	pickle_out_str(o, a->ndim == 1 ? ",)" : ")");
}

/* The length of the last line of o's text since start. */
static size_t last_line(const struct out *o, size_t start)
{
	size_t i = o->n;

	while (i > start && o->p[i - 1] != '\n')
		i--;
	return o->n - i;
}

/* The dtype of the array numpy loads: a big-endian one of protocols
 * 0-4 byte-swapped into the native order by __setstate__. */
static struct dtype loaded_dtype(const struct ndarray *a)
{
	struct dtype loaded = a->dt;

	if (a->swapped && loaded.order == '>')
		loaded.order = '<';
	return loaded;
}

/* numpy's repr(): array([...]) with dtype=... where it is not implied;
 * false, having taken back what it wrote, for an array by_repr() with
 * an item numpy would lay out otherwise (or that is no str). */
static bool repr_array(struct render *r, const struct ndarray *a, int depth)
{
	char name[24], word[WORD_MAX], *owned;
	struct formatter f, imag;
	struct layout l = { .f = &f, .o = r->o, .line = 6 };
	size_t start = r->o->n;
	struct dtype loaded = loaded_dtype(a);

	formatter_init(&f, &imag, a, r, depth + 1);
	pickle_out_str(r->o, "array(");
	if (a->ndim == 0) {
		pickle_out_str(r->o, shown_word(word, sizeof(word), &f, 0,
						&owned));
		free(owned);
	} else if (a->count == 0) {
		pickle_out_str(r->o, "[]");
		if (a->ndim > 1) {
			pickle_out_str(r->o, ", shape=");
			repr_shape(r->o, a);
		}
	} else {
		/* the width less the closing ")" or "," */
		put_axis(&l, 0, 0, 7, ND_WIDTH - 1);
	}
	if (f.failed) {
		if (!r->o->err)
			r->o->n = start;
		return false;
	}
	if (dtype_implied(&a->dt) && a->count > 0) {
		pickle_out_char(r->o, ')');
		return true;
	}
	dtype_name(name, sizeof(name), &loaded);	/* int32 even for '>' */
	pickle_out_char(r->o, ',');
	if (last_line(r->o, start) + strlen("dtype=)") + strlen(name) + 1 >
	    ND_WIDTH)
		pickle_out_str(r->o, "\n      ");
	else
		pickle_out_char(r->o, ' ');
	pickle_out_fmt(r->o, "dtype=%s)", name);
	return true;
}

/* --------------------------------------------------------------- JSON */

static void json_float(struct out *o, double x)
{
	char text[PICKLE_FLOAT_TEXT];

	if (!isfinite(x)) {
		pickle_out_fmt(o, "{\"__float__\": \"%s\"}", isnan(x) ? "nan"
			       : x < 0 ? "-inf" : "inf");
		return;
	}
	pickle_float_format(text, x, true, false);
	pickle_out_str(o, text);
}

/* One element as ndarray.tolist() makes it, in JSON. */
static void json_item(struct out *o, const struct dtype *dt,
		      const uint8_t *p)
{
	struct dtype part = *dt;
	char text[WORD_MAX];

	part.kind = 'f';
	part.size /= 2;
	if (dt->kind == 'b') {
		pickle_out_str(o, *p ? "true" : "false");
	} else if (dt->kind == 'c') {
		pickle_known_tag_open(o, "complex");
		pickle_out_char(o, '[');
		json_float(o, item_float(&part, p));
		pickle_out_str(o, ", ");
		json_float(o, item_float(&part, p + part.size));
		pickle_out_char(o, ']');
		pickle_known_tag_close(o);
	} else if (dt->kind == 'f') {
		json_float(o, item_float(dt, p));
	} else {
		pickle_out_str(o, int_text(text, sizeof(text), dt, p));
	}
}

/* The items from first along axis on, nested as tolist() nests them
 * (an object array's items as --out json writes them). */
/* One item of a dtype not object, in JSON (a str, {"__bytes__": ...}). */
static void json_value(struct render *r, const struct dtype *dt,
		       const uint8_t *p, int depth)
{
	struct node tmp;
	char *owned;

	if (dt->kind != 'U' && dt->kind != 'S') {
		json_item(r->o, dt, p);
		return;
	}
	if (!text_item(dt, p, &tmp, &owned)) {	/* valid: no memory */
		r->o->err = CONN_ENOMEM;
		return;
	}
	pickle_json_node(r, &tmp, depth);
	free(owned);
}

static void json_axis(struct render *r, const struct ndarray *a, int axis,
		      size_t first, int depth)
{
	struct out *o = r->o;
	size_t i, step = 1;
	int d;

	if (axis == a->ndim && a->dt.kind == 'O') {
		pickle_json_node(r, a->objects[first], depth);
		return;
	}
	if (axis == a->ndim) {
		json_value(r, &a->dt, item_at(a, storage_index(a, first)),
			   depth);
		return;
	}
	for (d = axis + 1; d < a->ndim; d++)
		step *= a->shape[d];
	pickle_out_char(o, '[');
	for (i = 0; i < a->shape[axis] && !o->err; i++) {
		if (i)
			pickle_out_str(o, ", ");
		json_axis(r, a, axis + 1, first + i * step, depth);
	}
	pickle_out_char(o, ']');
}

static void json_array(struct render *r, const struct ndarray *a, int depth)
{
	struct out *o = r->o;
	struct dtype loaded = loaded_dtype(a);
	char s[16];
	int d;

	dtype_str(s, sizeof(s), &loaded);
	pickle_known_tag_open(o, "ndarray");
	pickle_out_fmt(o, "{\"dtype\": \"%s\", \"shape\": [", s);
	for (d = 0; d < a->ndim; d++)
		pickle_out_fmt(o, "%s%zu", d ? ", " : "", a->shape[d]);
	pickle_out_str(o, "], \"data\": ");
	json_axis(r, a, 0, 0, depth + 1);
	pickle_out_char(o, '}');
	pickle_known_tag_close(o);
}

/* ------------------------------------------------------------ the rows */

/* A shape tuple of up to ND_MAX_DIMS sizes, and their product. */
static bool shape_of(const struct node *t, struct ndarray *a)
{
	int64_t v;
	size_t i;

	if (t == NULL || t->kind != K_TUPLE || t->u.seq.n > ND_MAX_DIMS)
		return false;
	a->ndim = (int)t->u.seq.n;
	a->count = 1;
	for (i = 0; i < t->u.seq.n; i++) {
		if (!pickle_known_int(t->u.seq.items[i], &v) || v < 0 ||
		    (uint64_t)v > SIZE_MAX / 16)
			return false;
		a->shape[i] = (size_t)v;
		if (v != 0 && a->count > SIZE_MAX / 16 / (size_t)v)
			return false;
		a->count *= (size_t)v;
	}
	return true;
}

/* The data: exactly count items of bytes (or a bytearray in-band); of
 * an object array, a list of count items (in C order whatever the
 * array's, as numpy's __reduce__ lists them). */
static bool data_of(const struct node *b, struct ndarray *a)
{
	a->objects = NULL;
	if (b != NULL && a->dt.kind == 'O' && b->kind == K_LIST &&
	    b->u.seq.n == a->count) {
		a->objects = b->u.seq.items;
		a->fortran = false;
		return true;
	}
	/* (no items of 0 bytes: their count would be the pickle's to say) */
	if (b == NULL || a->dt.kind == 'O' || a->dt.size == 0 ||
	    (b->kind != K_BYTES && b->kind != K_BYTEARRAY) ||
	    b->u.s.n != a->count * (size_t)a->dt.size)
		return false;
	a->data = (const uint8_t *)b->u.s.p;
	return true;
}

/* Whether every item of a str array is a str (str_char()): else the
 * array stays its recipe. */
static bool str_items_valid(const struct ndarray *a)
{
	struct dtype unit = { 'u', a->dt.order, 4 };
	size_t i, n = a->count * (size_t)a->dt.size;
	uint32_t cp;

	for (i = 0; a->dt.kind == 'U' && i < n; i += 4) {
		cp = (uint32_t)item_bits(&unit, a->data + i);
		if (!str_char(cp))
			return false;
	}
	return true;
}

/* Writes the array in the style. */
static bool render_array(struct render *r, const struct ndarray *a,
			 enum known_style style, int depth)
{
	if (!str_items_valid(a))
		return false;
	if (style == KNOWN_JSON) {
		json_array(r, a, depth);
		return true;
	}
	return repr_array(r, a, depth);
}

/* _reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, dtype, fortran,
 * data): every protocol below 5, and 5 for arrays not contiguous. */
bool pickle_known_ndarray(struct render *r, struct node *n, int depth,
			  enum known_style style)
{
	const struct node *state = pickle_known_state(n), *base = pickle_known_arg(n, 3, 2);
	struct ndarray a;
	int64_t v;

	if (!pickle_global_is(pickle_known_arg(n, 3, 0), "numpy", "ndarray") ||
	    base == NULL || base->kind != K_BYTES || state == NULL ||
	    state->kind != K_TUPLE || state->u.seq.n != 5 ||
	    !pickle_known_int(state->u.seq.items[0], &v) || v != 1 ||
	    !shape_of(state->u.seq.items[1], &a) ||
	    !dtype_of(state->u.seq.items[2], &a.dt) ||
	    state->u.seq.items[3]->kind != K_BOOL)
		return false;
	a.fortran = state->u.seq.items[3]->u.b;
	if (!data_of(state->u.seq.items[4], &a))
		return false;
	a.swapped = true;	/* numpy's __setstate__ swaps into '<' */
	return render_array(r, &a, style, depth);
}

/* _frombuffer(buffer, dtype, shape, order): protocol 5, the buffer
 * in-band (a bytearray; an out-of-band one is not in the pickle). */
bool pickle_known_frombuffer(struct render *r, struct node *n, int depth,
			     enum known_style style)
{
	const struct node *order = pickle_known_arg(n, 4, 3);
	struct ndarray a;

	if (!pickle_known_untouched(n) || !shape_of(pickle_known_arg(n, 4, 2), &a) ||
	    !dtype_of(pickle_known_arg(n, 4, 1), &a.dt) ||
	    !data_of(pickle_known_arg(n, 4, 0), &a) || order == NULL ||
	    order->kind != K_STR ||
	    order->u.s.n != 1 || strchr("CF", order->u.s.p[0]) == NULL)
		return false;
	a.fortran = order->u.s.p[0] == 'F';
	a.swapped = false;
	return render_array(r, &a, style, depth);
}

/* A numpy scalar's value as numpy 1.x's repr() writes it: Python's
 * repr() of the value (1.5, (1+2j), True). */
static void scalar_value(char *out, size_t size, const struct dtype *dt,
			 const uint8_t *p)
{
	if (dt->kind == 'c')
		scalar_complex(out, size, dt, p);
	else if (dt->kind == 'f')
		scalar_float(out, size, item_float(dt, p), dt->size, false,
			     false);
	else if (dt->kind == 'b')
		snprintf(out, size, "%s", *p ? "True" : "False");
	else
		int_text(out, size, dt, p);
}

/* numpy 2's repr() of a scalar (NEP 51): the type around numpy 1.x's
 * text, np.float64(1.5), np.complex128(1+2j) (the parentheses of the
 * complex dropped), np.True_. */
static void scalar_numpy2(struct out *o, const struct dtype *dt,
			  const char *text)
{
	char name[24];
	size_t n = strlen(text);

	if (dt->kind == 'b') {
		pickle_out_str(o, text[0] == 'T' ? "np.True_" : "np.False_");
		return;
	}
	dtype_name(name, sizeof(name), dt);
	if (text[0] == '(' && n > 1)	/* a complex's (1+2j) */
		pickle_out_fmt(o, "np.%s(%.*s)", name, (int)(n - 2), text + 1);
	else
		pickle_out_fmt(o, "np.%s(%s)", name, text);
}

/* A np.str_ or np.bytes_ scalar: its value's repr() ('ab', b'ab'),
 * numpy 2's within np.str_(...), np.bytes_(...); false for a code
 * point no str holds. */
static bool scalar_text(struct render *r, const struct dtype *dt,
			const uint8_t *p, bool numpy2, int depth,
			enum known_style style)
{
	struct node tmp;
	char *owned;
	const char *type = dt->kind == 'U' ? "np.str_(" : "np.bytes_(";

	if (!text_item(dt, p, &tmp, &owned))
		return false;
	if (style == KNOWN_JSON) {
		pickle_json_node(r, &tmp, depth + 1);
	} else {
		if (numpy2)
			pickle_out_str(r->o, type);
		pickle_repr_node(r, &tmp, depth + 1);
		if (numpy2)
			pickle_out_char(r->o, ')');
	}
	free(owned);
	return true;
}

/* scalar(dtype, bytes): numpy 1.x's repr() (1.5) for a pickle naming
 * numpy.core, numpy 2's (np.float64(1.5)) for one naming numpy._core,
 * the module each writes; JSON the plain value. */
bool pickle_known_scalar(struct render *r, struct node *n, int depth,
			 enum known_style style)
{
	const struct node *b = pickle_known_arg(n, 2, 1);
	char text[2 * PICKLE_FLOAT_TEXT + 8];
	struct dtype dt;
	bool numpy2 = pickle_global_is(n->u.call.func, "numpy._core.multiarray",
				       "scalar");
	const uint8_t *p;

	if (!pickle_known_untouched(n) || !dtype_of(pickle_known_arg(n, 2, 0), &dt) ||
	    dt.kind == 'O' || b == NULL || b->kind != K_BYTES ||
	    b->u.s.n != (size_t)dt.size)
		return false;
	p = (const uint8_t *)b->u.s.p;
	if (dt.kind == 'U' || dt.kind == 'S')
		return scalar_text(r, &dt, p, numpy2, depth, style);
	if (style == KNOWN_JSON) {
		json_item(r->o, &dt, p);
		return true;
	}
	scalar_value(text, sizeof(text), &dt, p);
	if (numpy2)
		scalar_numpy2(r->o, &dt, text);
	else
		pickle_out_str(r->o, text);
	return true;
}

/* numpy.dtype(code, False, True) + BUILD: dtype('float64'),
 * dtype('>f8'); JSON {"__dtype__": "<f8"}. */
bool pickle_known_dtype(struct render *r, struct node *n, int depth,
			enum known_style style)
{
	struct dtype dt;
	char s[24];

	(void)depth;
	if (!dtype_of(n, &dt))
		return false;
	if (style == KNOWN_JSON) {
		dtype_str(s, sizeof(s), &dt);
		pickle_known_tag_open(r->o, "dtype");
		pickle_out_fmt(r->o, "\"%s\"", s);
		pickle_known_tag_close(r->o);
		return true;
	}
	if (dt.kind == 'O')	/* numpy's dtype('O'), not 'object' */
		snprintf(s, sizeof(s), "O");
	else if (dt.kind == 'S')	/* dtype('S2'), no '|' */
		snprintf(s, sizeof(s), "S%d", dt.size);
	else if (dt.order == '>' || dt.kind == 'U')	/* dtype('<U3') */
		dtype_str(s, sizeof(s), &dt);
	else
		dtype_name(s, sizeof(s), &dt);
	pickle_out_fmt(r->o, "dtype('%s')", s);
	return true;
}

bool pickle_known_ndarray_again(struct render *r, const struct node *n)
{
	if (!pickle_known_call_is(n, "numpy.core.multiarray", "_reconstruct") &&
	    !pickle_known_call_is(n, "numpy._core.multiarray", "_reconstruct"))
		return false;
	/* only an object array can hold itself; numpy's recursion guard */
	pickle_out_str(r->o, "array(..., dtype=object)");
	return true;
}
