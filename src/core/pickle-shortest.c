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

/* 5**p for p <= 55, the largest that fits in 128 bits, as high and low
 * halves (python3 -c 'print(5**p >> 64, 5**p & (2**64 - 1))'). */
static const uint64_t powers_of_5[56][2] = {
	{ 0x0000000000000000, 0x0000000000000001 },
	{ 0x0000000000000000, 0x0000000000000005 },
	{ 0x0000000000000000, 0x0000000000000019 },
	{ 0x0000000000000000, 0x000000000000007d },
	{ 0x0000000000000000, 0x0000000000000271 },
	{ 0x0000000000000000, 0x0000000000000c35 },
	{ 0x0000000000000000, 0x0000000000003d09 },
	{ 0x0000000000000000, 0x000000000001312d },
	{ 0x0000000000000000, 0x000000000005f5e1 },
	{ 0x0000000000000000, 0x00000000001dcd65 },
	{ 0x0000000000000000, 0x00000000009502f9 },
	{ 0x0000000000000000, 0x0000000002e90edd },
	{ 0x0000000000000000, 0x000000000e8d4a51 },
	{ 0x0000000000000000, 0x0000000048c27395 },
	{ 0x0000000000000000, 0x000000016bcc41e9 },
	{ 0x0000000000000000, 0x000000071afd498d },
	{ 0x0000000000000000, 0x0000002386f26fc1 },
	{ 0x0000000000000000, 0x000000b1a2bc2ec5 },
	{ 0x0000000000000000, 0x000003782dace9d9 },
	{ 0x0000000000000000, 0x00001158e460913d },
	{ 0x0000000000000000, 0x000056bc75e2d631 },
	{ 0x0000000000000000, 0x0001b1ae4d6e2ef5 },
	{ 0x0000000000000000, 0x000878678326eac9 },
	{ 0x0000000000000000, 0x002a5a058fc295ed },
	{ 0x0000000000000000, 0x00d3c21bcecceda1 },
	{ 0x0000000000000000, 0x0422ca8b0a00a425 },
	{ 0x0000000000000000, 0x14adf4b7320334b9 },
	{ 0x0000000000000000, 0x6765c793fa10079d },
	{ 0x0000000000000002, 0x04fce5e3e2502611 },
	{ 0x000000000000000a, 0x18f07d736b90be55 },
	{ 0x0000000000000032, 0x7cb2734119d3b7a9 },
	{ 0x00000000000000fc, 0x6f7c40458122964d },
	{ 0x00000000000004ee, 0x2d6d415b85acef81 },
	{ 0x00000000000018a6, 0xe32246c99c60ad85 },
	{ 0x0000000000007b42, 0x6fab61f00de36399 },
	{ 0x000000000002684c, 0x2e58e9b04570f1fd },
	{ 0x00000000000c097c, 0xe7bc90715b34b9f1 },
	{ 0x00000000003c2f70, 0x86aed236c807a1b5 },
	{ 0x00000000012ced32, 0xa16a1b11e8262889 },
	{ 0x0000000005e0a1fd, 0x2712875988becaad },
	{ 0x000000001d6329f1, 0xc35ca4bfabb9f561 },
	{ 0x0000000092efd1b8, 0xd0cf37be5aa1cae5 },
	{ 0x00000002deaf189c, 0x140c16b7c528f679 },
	{ 0x0000000e596b7b0c, 0x643c7196d9ccd05d },
	{ 0x00000047bf19673d, 0xf52e37f2410011d1 },
	{ 0x00000166bb7f0435, 0xc9e717bb45005915 },
	{ 0x00000701a97b150c, 0xf18376a85901bd69 },
	{ 0x000023084f676940, 0xb7915149bd08b30d },
	{ 0x0000af298d050e43, 0x95d69670b12b7f41 },
	{ 0x00036bcfc1194751, 0xed30f03375d97c45 },
	{ 0x00111b0ec57e6499, 0xa1f4b1014d3f6d59 },
	{ 0x00558749db77f700, 0x29c77506823d22bd },
	{ 0x01aba4714957d300, 0xd0e549208b31adb1 },
	{ 0x085a36366eb71f04, 0x147a6da2b7f86475 },
	{ 0x29c30f1029939b14, 0x6664242d97d9f649 },
	{ 0xd0cf4b50cfe20765, 0xfff4b4e3f741cf6d },
};

static u128 power_of_5(int p)
{
	return (u128)powers_of_5[p][0] << 64 | powers_of_5[p][1];
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
		if (__builtin_mul_overflow(n, p5, &n))
			return false;
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

/*
 * x scaled by 10**-e10 and the ends of the interval that reads back as x,
 * as digits are dropped from all three: the rounded-down value vr, the
 * highest and lowest admissible vp and vm, whether the digits dropped
 * were zeros (the lower end then is x's interval's own, included or not),
 * and the last digit dropped from vr.
 */
struct scaled {
	uint64_t vr, vp, vm;
	bool vr_zeros, vm_zeros;
	unsigned last;
	int e10;
};

static void drop_digit(struct scaled *v)
{
	v->vm_zeros &= v->vm % 10 == 0;
	v->vr_zeros &= v->last == 0;
	v->last = (unsigned)(v->vr % 10);
	v->vr /= 10;
	v->vp /= 10;
	v->vm /= 10;
	v->e10++;
}

/* The interval of x = 4 * m2 * 2**e2 scaled exactly, or false. */
static bool scale_interval(struct scaled *v, uint64_t m2, int e2,
			   bool narrow_below)
{
	bool even = (m2 & 1) == 0, vr_exact, vp_exact, vm_exact;

	/* Leaves 2**e2 / 10**e10 in [10, 100): the interval, 3 or 4 units
	 * of 2**e2 wide, spans 30 or more at that scale, so at least one
	 * digit is dropped, and 4 * m2 scaled stays under 2**64. */
	v->e10 = log10_pow2(e2) - 1;
	if (!scale(&v->vr, &vr_exact, 4 * m2, e2, v->e10) ||
	    !scale(&v->vp, &vp_exact, 4 * m2 + 2, e2, v->e10) ||
	    !scale(&v->vm, &vm_exact, 4 * m2 - 2 + narrow_below, e2, v->e10))
		return false;
	if (!even && vp_exact)
		v->vp--;	/* an odd significand's ends are excluded */
	v->vm_zeros = even && vm_exact;
	v->vr_zeros = vr_exact;
	v->last = 0;
	return v->vp - v->vm >= 10;	/* cannot fail; dropping needs it */
}

bool pickle_shortest_digits(uint64_t *digits, int *exponent, double x)
{
	uint64_t bits, frac, m2, out;
	struct scaled v;
	int biased;

	memcpy(&bits, &x, sizeof(bits));
	frac = bits & ((UINT64_C(1) << 52) - 1);
	biased = (int)(bits >> 52 & 0x7ff);
	if (biased == 0x7ff || (biased == 0 && frac == 0))
		return false;
	m2 = biased ? frac | UINT64_C(1) << 52 : frac;
	/* x = 4 * m2 * 2**e2, so that both ends are integers too; at a
	 * power of two the gap below is half the gap above. */
	if (!scale_interval(&v, m2, (biased ? biased : 1) - 1075 - 2,
			    frac == 0 && biased > 1))
		return false;
	/* Two digits at a time while no zeros need counting (most floats):
	 * the same as two drop_digit(). */
	while (!v.vm_zeros && !v.vr_zeros && v.vp / 100 > v.vm / 100) {
		v.last = (unsigned)(v.vr % 100 / 10);
		v.vr /= 100;
		v.vp /= 100;
		v.vm /= 100;
		v.e10 += 2;
	}
	while (v.vp / 10 > v.vm / 10)
		drop_digit(&v);
	/* An included lower end can go on losing zeros. */
	while (v.vm_zeros && v.vm % 10 == 0)
		drop_digit(&v);
	if (v.vr_zeros && v.last == 5 && v.vr % 2 == 0)
		v.last = 4;	/* exactly half way: to even */
	out = v.vr + ((v.vr == v.vm && !v.vm_zeros) || v.last >= 5);
	while (out > 9 && out % 10 == 0) {
		out /= 10;
		v.e10++;
	}
	*digits = out;
	*exponent = v.e10;
	return true;
}
