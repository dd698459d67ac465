/*
 * test-float.c - a float's shortest digits by exact integer arithmetic
 * (src/core/pickle-shortest.c) against the search by printf and strtod
 * that it stands in for (pickle_float_search_digits()), over the floats
 * where the two ways differ most often if either is wrong: powers of two
 * (a narrower gap below), their neighbours, short decimals and theirs,
 * integers, ends of the range the exact way covers, and random bits.
 * CONN_TEST_FLOATS=N checks N random floats instead of 200,000.
 */
#include "pickle.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned long checked, fast, wrong;

/* The first few mismatches, with both answers. */
static void compare(double x)
{
	char want[24], got[24];
	int want_e, got_e, n;
	uint64_t v;

	if (!isfinite(x) || x == 0)
		return;
	checked++;
	if (!pickle_shortest_digits(&v, &got_e, x))
		return;
	fast++;
	pickle_float_search_digits(want, &want_e, x);
	n = snprintf(got, sizeof(got), "%llu", (unsigned long long)v);
	got_e += n - 1;
	if (strcmp(got, want) == 0 && got_e == want_e)
		return;
	if (wrong++ < 10)
		printf("# %a: %se%d, the search says %se%d\n", x, got, got_e,
		       want, want_e);
}

/* x and its neighbours each side. */
static void around(double x)
{
	double lo = x, hi = x;
	int i;

	compare(x);
	for (i = 0; i < 3; i++) {
		lo = nextafter(lo, 0);
		hi = nextafter(hi, INFINITY);
		compare(lo);
		compare(hi);
	}
}

static uint64_t state = 0x9e3779b97f4a7c15u;

static unsigned long random_count = 200000;

static uint64_t next_random(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static void check_family(const char *name, void (*each)(void))
{
	checked = fast = wrong = 0;
	each();
	ok(wrong == 0 && fast > 0, "%s: %lu floats, %lu by exact arithmetic, "
	   "%lu differ", name, checked, fast, wrong);
}

static void powers_of_two(void)
{
	int e;

	for (e = -60; e <= 170; e++)
		around(ldexp(1, e));
}

static void short_decimals(void)
{
	static const double scales[] = { 1e-12, 1e-9, 1e-5, 1e-3, 0.1, 1,
					 10, 1e5, 1e15, 1e16, 1e17, 1e22,
					 1e23, 1e30, 1e40, 1e46 };
	size_t s;
	int k;

	for (s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
		for (k = 1; k <= 1000; k++)
			around(k * scales[s]);
	for (k = 1; k < 20000; k++)
		compare(k / 7.0);
}

static void integers(void)
{
	uint64_t i;

	for (i = 1; i < 5000; i++)
		compare((double)i);
	for (i = 1; i < 64; i++)
		around((double)(UINT64_C(1) << i) - 1);
	/* Integers of 17 to 25 digits: their exact decimals can end in a 5
	 * just past the digits kept (half way: to even). */
	for (i = 0; i < 100000; i++)
		compare(ldexp((double)(next_random() >> 11), 3 + (int)(i % 30)));
	around(9007199254740993.0);
	around(1.7976931348623157e308);
	around(2.2250738585072014e-308);
	around(5e-324);
}

static void random_bits(void)
{
	unsigned long i;
	uint64_t bits;
	double x;

	for (i = 0; i < random_count; i++) {
		bits = next_random();
		memcpy(&x, &bits, sizeof(x));
		compare(x);
	}
}

/* Random floats where the exact way applies: exponents 2**-40 to 2**150. */
static void random_in_range(void)
{
	unsigned long i;

	for (i = 0; i < random_count; i++)
		compare(ldexp((double)(next_random() >> 11) / 9007199254740992.0,
			      (int)(next_random() % 190) - 40));
}

int main(void)
{
	const char *n = getenv("CONN_TEST_FLOATS");

	if (n != NULL && *n != '\0')
		random_count = strtoul(n, NULL, 10);
	check_family("powers of two and their neighbours", powers_of_two);
	check_family("short decimals and their neighbours", short_decimals);
	check_family("integers and the ends of the range", integers);
	check_family("random bits", random_bits);
	check_family("random in range", random_in_range);
	return tap_done();
}
