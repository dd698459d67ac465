/*
 * pickle-number.c - ints and floats from text and bytes, and back to text
 * as Python writes them.
 * See pickle.h.
 */
#include "pickle.h"

#include "hex.h"

/* Divides the little-endian limbs in place; returns the remainder. */
static uint32_t limbs_divide(uint32_t *limbs, size_t *n, uint32_t divisor)
{
	uint64_t rest = 0;
	size_t i;

	for (i = *n; i-- > 0;) {
		rest = rest << 32 | limbs[i];
		limbs[i] = (uint32_t)(rest / divisor);
		rest %= divisor;
	}
	while (*n > 0 && limbs[*n - 1] == 0)
		(*n)--;
	return (uint32_t)rest;
}

/*
 * The decimal text of a magnitude of n limbs (destroyed), malloc'ed, or
 * NULL when out of memory.  Quadratic, which INT_MAX_BITS keeps cheap.
 */
static char *limbs_to_decimal(uint32_t *limbs, size_t n, bool negative)
{
	size_t nchunks = 0, len = 0, i;
	uint32_t *chunks = malloc((n * 10 / 9 + 2) * sizeof(*chunks));
	char *text = malloc(n * 10 + 12);

	if (chunks == NULL || text == NULL) {
		free(chunks);
		free(text);
		return NULL;
	}
	do {
		chunks[nchunks++] = limbs_divide(limbs, &n, 1000000000u);
	} while (n > 0);
	if (negative)
		text[len++] = '-';
	len += (size_t)sprintf(text + len, "%u", chunks[nchunks - 1]);
	for (i = nchunks - 1; i-- > 0;)
		len += (size_t)sprintf(text + len, "%09u", chunks[i]);
	free(chunks);
	return text;
}

/* The count of digits in an int's text, less its sign. */
static size_t digit_count(const char *text)
{
	return strlen(text) - (text[0] == '-');
}

static int too_many_digits(struct decoder *d)
{
	return pickle_fail(d, CONN_ETOOBIG, "an integer of more than %d digits "
			   "(CPython's limit for int to str conversion)",
			   INT_MAX_DIGITS);
}

/*
 * An int beyond 64 bits from the n limbs of its magnitude, which it frees:
 * its decimal text, within CPython's limit of digits.
 */
static int int_from_limbs(struct decoder *d, struct node *n, uint32_t *limbs,
			  size_t nlimbs, bool negative)
{
	/* The conversion divides all the limbs once per 9 digits. */
	int rc = pickle_spend(d->budget, nlimbs * nlimbs / 2);

	if (rc) {
		free(limbs);
		return pickle_over_budget(d, rc);
	}
	n->u.i.digits = limbs_to_decimal(limbs, nlimbs, negative);
	free(limbs);
	if (n->u.i.digits == NULL)
		return pickle_no_memory(d);
	if (digit_count(n->u.i.digits) > INT_MAX_DIGITS)
		return too_many_digits(d);
	return 0;
}

/* Bare decimal digits (no sign, no underscores): 64 bits when they fit,
 * else the normalized decimal text. */
static int int_from_decimal(struct decoder *d, struct node *n, bool negative,
			    const char *p, size_t len)
{
	uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1
					 : (uint64_t)INT64_MAX;
	bool big = false;
	size_t start, i;
	char *text;

	for (start = 0; start + 1 < len && p[start] == '0'; start++)
		;
	if (len - start > INT_MAX_DIGITS)
		return too_many_digits(d);
	for (i = start; i < len && !big; i++) {
		if (v > (limit - (uint64_t)(p[i] - '0')) / 10)
			big = true;
		else
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (!big) {
		n->u.i.v = negative ? (int64_t)(0 - v) : (int64_t)v;
		return 0;
	}
	text = malloc(len - start + 2);
	if (text == NULL)
		return pickle_no_memory(d);
	sprintf(text, "%s%.*s", negative ? "-" : "", (int)(len - start),
		p + start);
	n->u.i.digits = text;
	return 0;
}

/* Digits in base 2, 8 or 16, bit by bit from the last. */
static int int_from_binary(struct decoder *d, struct node *n, bool negative,
			   const char *p, size_t len, int base)
{
	unsigned width = base == 2 ? 1 : base == 8 ? 3 : 4;
	size_t start, i, bit = 0, nlimbs;
	uint32_t *limbs;
	uint64_t v;

	for (start = 0; start + 1 < len && p[start] == '0'; start++)
		;
	if ((len - start) * width > INT_MAX_BITS)
		return too_many_digits(d);
	nlimbs = (len - start) * width / 32 + 2;
	limbs = calloc(nlimbs, sizeof(*limbs));
	if (limbs == NULL)
		return pickle_no_memory(d);
	for (i = len; i-- > start; bit += width) {
		v = (uint64_t)hex_digit_value(p[i]) << (bit % 32);
		limbs[bit / 32] |= (uint32_t)v;
		limbs[bit / 32 + 1] |= (uint32_t)(v >> 32);
	}
	while (nlimbs > 0 && limbs[nlimbs - 1] == 0)
		nlimbs--;
	v = nlimbs > 0 ? limbs[0] | (nlimbs > 1 ? (uint64_t)limbs[1] << 32 : 0)
		       : 0;
	if (nlimbs <= 2 && v <= (uint64_t)INT64_MAX + negative) {
		n->u.i.v = negative ? (int64_t)(0 - v) : (int64_t)v;
		free(limbs);
		return 0;
	}
	return int_from_limbs(d, n, limbs, nlimbs, negative);
}

static bool is_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * Python's int(text, base) syntax for base 0 or 10, which is how the
 * unpickler reads INT, LONG and memo indexes: blanks around, a sign, a
 * 0x, 0o or 0b prefix (base 0 only), single underscores between digits.
 * The bare digits go to digits (n bytes at most) and their base to *radix.
 */
bool pickle_int_syntax(const char *p, size_t n, int base, bool *negative,
		       int *radix, char *digits, size_t *count)
{
	size_t i = 0, k = 0;
	bool prefix = false, underscore = false;
	int v;

	while (n > 0 && is_blank(p[n - 1]))
		n--;
	while (i < n && is_blank(p[i]))
		i++;
	*negative = i < n && p[i] == '-';
	i += i < n && (p[i] == '-' || p[i] == '+');
	*radix = 10;
	if (base == 0 && i + 1 < n && p[i] == '0' &&
	    strchr("xXoObB", p[i + 1]) != NULL) {
		*radix = strchr("xX", p[i + 1]) ? 16 : strchr("oO", p[i + 1])
						       ? 8 : 2;
		prefix = true;
		i += 2;
	}
	for (; i < n; i++) {
		if (p[i] == '_') {
			if (underscore || (k == 0 && !prefix))
				return false;
			underscore = true;
			continue;
		}
		v = hex_digit_value(p[i]);
		if (v < 0 || v >= *radix)
			return false;
		digits[k++] = p[i];
		underscore = false;
	}
	digits[k] = '\0';
	*count = k;
	/* Base 0 takes leading zeros only in 0 itself (007 is no int). */
	return k > 0 && !underscore &&
	       !(base == 0 && *radix == 10 && digits[0] == '0' &&
		 strspn(digits, "0") < k);
}

/* An int from text in Python's syntax (see pickle_int_syntax()). */
int pickle_int_from_text(struct decoder *d, struct node *n, const char *p,
			 size_t len, int base)
{
	char *digits = malloc(len + 1);
	size_t count = 0;
	bool negative;
	int radix, rc;

	if (digits == NULL)
		return pickle_no_memory(d);
	if (!pickle_int_syntax(p, len, base, &negative, &radix, digits, &count))
		rc = pickle_fail(d, CONN_EPROTO, "invalid literal for int()");
	else if (radix == 10)
		rc = int_from_decimal(d, n, negative, digits, count);
	else
		rc = int_from_binary(d, n, negative, digits, count, radix);
	free(digits);
	return rc;
}

/* Little-endian two's complement (LONG1, LONG4), of any size. */
int pickle_int_from_le(struct decoder *d, struct node *n, const uint8_t *p,
		       size_t len)
{
	bool negative;
	uint32_t *limbs;
	uint64_t v = 0;
	size_t i, nlimbs;
	unsigned carry;

	while (len > 1 && ((p[len - 1] == 0x00 && !(p[len - 2] & 0x80)) ||
			   (p[len - 1] == 0xff && (p[len - 2] & 0x80))))
		len--;
	negative = len > 0 && (p[len - 1] & 0x80);
	if (len <= 8) {
		for (i = 0; i < 8; i++)
			v |= (uint64_t)(i < len ? p[i] : negative ? 0xff : 0)
			     << (8 * i);
		n->u.i.v = (int64_t)v;
		return 0;
	}
	if ((len - 1) * 8 > INT_MAX_BITS)
		return too_many_digits(d);
	nlimbs = (len + 3) / 4;
	limbs = calloc(nlimbs, sizeof(*limbs));
	if (limbs == NULL)
		return pickle_no_memory(d);
	/* The magnitude: bytes as they are, or negated (invert, add one). */
	carry = 1;
	for (i = 0; i < len; i++) {
		unsigned byte = p[i];

		if (negative) {
			byte = (~byte & 0xff) + carry;
			carry = byte >> 8;
			byte &= 0xff;
		}
		limbs[i / 4] |= (uint32_t)byte << (8 * (i % 4));
	}
	return int_from_limbs(d, n, limbs, nlimbs, negative);
}

/* The decimal text of an integral float beyond 64 bits, malloc'ed. */
char *pickle_float_to_decimal(double x)
{
	uint32_t limbs[40];	/* 1024 bits and more */
	double m = fabs(x);
	size_t n = 0;

	while (m >= 1 && n < 40) {
		double limb = fmod(m, 4294967296.0);

		limbs[n++] = (uint32_t)limb;
		m = (m - limb) / 4294967296.0;
	}
	return limbs_to_decimal(limbs, n, x < 0);
}

/* --------------------------------------------------------------- floats */

/* Whether the count digits (d.ddd) times 10**exponent read back as x. */
static bool reads_back(const char *digits, int count, int exponent, double x)
{
	char text[48];

	snprintf(text, sizeof(text), "%c.%.*se%d", digits[0], count - 1,
		 digits + 1, exponent);
	return strtod(text, NULL) == x;
}

/* The next count-digit decimal above (up) or below d.ddd * 10**e. */
static void step_digits(char *d, int count, int *e, bool up)
{
	int i = count - 1;

	for (; i >= 0 && d[i] == (up ? '9' : '0'); i--)
		d[i] = up ? '0' : '9';
	if (i < 0) {		/* 9.99 + 0.01 = 1.00e+1 */
		d[0] = '1';
		(*e)++;
		return;
	}
	d[i] = (char)(d[i] + (up ? 1 : -1));
	if (d[0] == '0') {	/* 1.00 - 0.01 = 9.99e-1 */
		memmove(d, d + 1, (size_t)count - 1);
		d[count - 1] = '9';
		(*e)--;
	}
}

/*
 * Whether some count-digit decimal reads back as x > 0, into digits and
 * *e: the nearest one, or else one of its neighbours, which is what wins
 * at a power of two, where the gap below x is half the gap above.
 */
static bool try_precision(char *digits, int *e, int count, double x)
{
	char sci[48], other[24];
	const char *p;
	int n = 0, oe, side;

	snprintf(sci, sizeof(sci), "%.*e", count - 1, x);
	/* Skips whatever decimal point the locale has. */
	for (p = sci; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	*e = atoi(p + 1);
	if (reads_back(digits, count, *e, x))
		return true;
	for (side = 0; side < 2; side++) {
		memcpy(other, digits, (size_t)count);
		oe = *e;
		step_digits(other, count, &oe, side == 0);
		if (reads_back(other, count, oe, x)) {
			memcpy(digits, other, (size_t)count);
			*e = oe;
			return true;
		}
	}
	return false;
}

/*
 * The digits of repr(x) for a finite x, without sign or trailing zeros,
 * and the decimal exponent of the first: the fewest that read back, as
 * David Gay's dtoa mode 0 finds them.  If count digits can, count + 1 can
 * too, so the count is found by bisection.
 */
void pickle_float_search_digits(char *digits, int *exponent, double x)
{
	int lo = 1, hi = 17, mid, n;

	x = fabs(x);
	if (x == 0) {
		strcpy(digits, "0");
		*exponent = 0;
		return;
	}
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (try_precision(digits, exponent, mid, x))
			hi = mid;
		else
			lo = mid + 1;
	}
	try_precision(digits, exponent, lo, x);
	for (n = lo; n > 1 && digits[n - 1] == '0'; n--)
		;
	digits[n] = '\0';
}

int pickle_u64_digits(char *out, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324"
		"25262728293031323334353637383940414243444546474849"
		"50515253545556575859606162636465666768697071727374"
		"75767778798081828384858687888990919293949596979899";
	char tmp[24], *p = tmp + sizeof(tmp);
	int n;

	while (v >= 100) {	/* two digits a division */
		p -= 2;
		memcpy(p, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	n = (int)(tmp + sizeof(tmp) - p);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return n;
}

/* pickle_float_search_digits()'s answer, by exact arithmetic where it
 * fits (nearly every float a program prints). */
static int shortest_digits(char *digits, int *exponent, double x)
{
	uint64_t v;
	int e, n;

	if (!pickle_shortest_digits(&v, &e, x)) {
		pickle_float_search_digits(digits, exponent, x);
		return (int)strlen(digits);
	}
	n = pickle_u64_digits(digits, v);
	*exponent = e + n - 1;
	return n;
}

/*
 * Python's float formatting with format code 'r': repr(x) with add_dot_0,
 * or without it and with a forced sign for the parts of a complex.
 * Fixed notation for decimal exponents -4 to 15, else d.ddde+XX.
 * out holds 40 bytes.
 */
void pickle_float_format(char *out, double x, bool add_dot_0, bool plus)
{
	char digits[24];
	int exponent, n, i, len = 0;

	if (signbit(x) && !isnan(x))
		out[len++] = '-';
	else if (plus)
		out[len++] = '+';
	if (!isfinite(x)) {
		strcpy(out + len, isnan(x) ? "nan" : "inf");
		return;
	}
	n = shortest_digits(digits, &exponent, x);
	if (exponent < -4 || exponent >= 16) {
		sprintf(out + len, "%c%s%se%c%02d", digits[0],
			n > 1 ? "." : "", digits + 1, exponent < 0 ? '-' : '+',
			abs(exponent));
		return;
	}
	if (exponent < 0) {
		out[len++] = '0';
		out[len++] = '.';
		for (i = -1; i > exponent; i--)
			out[len++] = '0';
		memcpy(out + len, digits, (size_t)n + 1);
		return;
	}
	for (i = 0; i <= exponent; i++)
		out[len++] = i < n ? digits[i] : '0';
	if (n > exponent + 1) {
		out[len++] = '.';
		memcpy(out + len, digits + exponent + 1,
		       (size_t)(n - exponent));
	} else if (add_dot_0) {
		strcpy(out + len, ".0");
	} else {
		out[len] = '\0';
	}
}

size_t conn_float_repr(char *out, size_t capacity, double v)
{
	char text[PICKLE_FLOAT_TEXT];

	pickle_float_format(text, v, true, false);
	if (capacity > 0)
		snprintf(out, capacity, "%s", text);
	return strlen(text);
}

/* Python's float() syntax, less underscores and surrounding blanks. */
bool pickle_float_syntax(const char *p, size_t n)
{
	static const char *const words[] = { "inf", "infinity", "nan" };
	size_t i = 0, digits = 0, w;

	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	for (w = 0; w < 3; w++)
		if (n - i == strlen(words[w]) &&
		    strncasecmp(p + i, words[w], n - i) == 0)
			return true;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	if (i < n && p[i] == '.')
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i == n || p[i] < '0' || p[i] > '9')
			return false;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	return i == n;
}

