/*
 * pickle-shortest.c - a float's shortest digits in exact integer
 * arithmetic, for the doubles whose interval fits in 128 bits.
 *
 * repr(x) prints the fewest significant digits that read back as x and,
 * of those, the nearest to x (David Gay's dtoa mode 0).  The doubles that
 * read back as x fill an interval around it, half an ulp each way (a
 * quarter below at a power of two; ends included when the significand is
 * even, as round-half-even reading would take them).  This file scales x
 * and both ends by a power of ten that leaves about 19 digits, exactly,
 * then drops digits while the ends still differ: the digit-removal loop of
 * Ulf Adams' Ryu, with the state it needs (whether what was dropped was
 * all zeros) taken from exact remainders instead of Ryu's tables and
 * proofs.  The scaling is exact only while it fits in unsigned __int128,
 * roughly 1e-12 <= |x| < 1e47; elsewhere pickle_shortest_digits() says
 * no, and pickle-number.c's search by printf and strtod answers.
 * See pickle-base.h.
 */
#include "pickle.h"

#include <string.h>

typedef unsigned __int128 u128;

/* 5**p for p <= 55, the largest that fits in 128 bits. */
static u128 power_of_5(int p)
{
	u128 r = 1;

	while (p-- > 0)
		r *= 5;
	return r;
}

/* floor(log10(2**e)) for |e| <= 1650 (78913 / 2**18 is log10(2) close
 * enough over that range); >> of a negative int is arithmetic in gcc and
 * clang, which makes this a floor. */
static int log10_pow2(int e)
{
	return (e * 78913) >> 18;
}

/*
 * *q = floor(m * 2**e2 / 10**e10), *exact whether nothing was cut off;
 * false if the exact scaling does not fit.
 */
static bool scale(uint64_t *q, bool *exact, uint64_t m, int e2, int e10)
{
	int a = e2 - e10;	/* the net power of two */
	u128 n = m, d = 1, p5;

	if (e10 < 0) {
		if (-e10 > 55)
			return false;
		p5 = power_of_5(-e10);
		if (n > ~(u128)0 / p5)
			return false;
		n *= p5;
	} else if (e10 > 0) {
		if (e10 > 55)
			return false;
		d = power_of_5(e10);
	}
	if (a > 0) {
		if (a >= 128 || n > ~(u128)0 >> a)
			return false;
		n <<= a;
	} else if (a < 0) {
		if (-a >= 128 || d != 1)
			return false;
		*exact = (n & (((u128)1 << -a) - 1)) == 0;
		n >>= -a;
		if (n >> 64)
			return false;
		*q = (uint64_t)n;
		return true;
	}
	*exact = n % d == 0;
	n /= d;
	if (n >> 64)
		return false;
	*q = (uint64_t)n;
	return true;
}

bool pickle_shortest_digits(uint64_t *digits, int *exponent, double x)
{
	uint64_t bits, frac, m2, vr, vp, vm, out;
	int biased, e2, e10, removed = 0;
	bool even, vr_exact, vp_exact, vm_exact;
	bool vr_zeros, vm_zeros;
	unsigned last = 0;

	memcpy(&bits, &x, sizeof(bits));
	frac = bits & ((UINT64_C(1) << 52) - 1);
	biased = (int)(bits >> 52 & 0x7ff);
	if (biased == 0x7ff || (biased == 0 && frac == 0))
		return false;
	m2 = biased ? frac | UINT64_C(1) << 52 : frac;
	/* x = 4 * m2 * 2**e2, so that both ends are integers too. */
	e2 = (biased ? biased : 1) - 1075 - 2;
	even = (m2 & 1) == 0;
	/* Leaves 2**e2 / 10**e10 in [10, 100): the interval, 3 or 4 units
	 * of 2**e2 wide, spans 30 or more at that scale, so at least one
	 * digit is dropped below, and 4 * m2 scaled stays under 2**64. */
	e10 = log10_pow2(e2) - 1;
	if (!scale(&vr, &vr_exact, 4 * m2, e2, e10) ||
	    !scale(&vp, &vp_exact, 4 * m2 + 2, e2, e10) ||
	    !scale(&vm, &vm_exact, 4 * m2 - 1 - (frac != 0 || biased <= 1),
		   e2, e10))
		return false;
	if (!even && vp_exact)
		vp--;		/* an odd significand's ends are excluded */
	if (vp - vm < 10)
		return false;	/* cannot happen; the loop needs it */
	vm_zeros = even && vm_exact;
	vr_zeros = vr_exact;
	while (vp / 10 > vm / 10) {
		vm_zeros &= vm % 10 == 0;
		vr_zeros &= last == 0;
		last = (unsigned)(vr % 10);
		vr /= 10;
		vp /= 10;
		vm /= 10;
		removed++;
	}
	/* An included lower end can go on losing zeros. */
	while (vm_zeros && vm % 10 == 0) {
		vr_zeros &= last == 0;
		last = (unsigned)(vr % 10);
		vr /= 10;
		vp /= 10;
		vm /= 10;
		removed++;
	}
	if (vr_zeros && last == 5 && vr % 2 == 0)
		last = 4;	/* exactly half way: to even */
	out = vr + ((vr == vm && !vm_zeros) || last >= 5);
	while (out > 9 && out % 10 == 0) {
		out /= 10;
		removed++;
	}
	*digits = out;
	*exponent = e10 + removed;
	return true;
}
