/*
 * test-pickle-known.c - the table of known reconstructors
 * (src/core/pickle-known.c), through conn_pickle_render(): hand-built
 * pickles of each shape a row takes print as CPython's repr() and as
 * their JSON tags, and the shapes a real sender never makes (a month 13,
 * a state with a stray key, a cycle) stay the recipes they are.  numpy's
 * rows too (src/core/pickle-numpy.c), from pickles built by hand.
 */
#include "conn.h"
#include "tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MUTATIONS 3000

/* Every pickle checked, for the mutation loop. */
static struct {
	const char *bytes;
	size_t len;
} seen[64];
static size_t nseen;

/* A pickle literal and its length (less the literal's NUL). */
#define P(s) s, sizeof(s) - 1

/* The CPython whose repr() check() asks for (0: the newest). */
static unsigned python;

static void check(const char *name, enum conn_pickle_style style,
		  const char *bytes, size_t len, const char *expected)
{
	struct conn_render_options o = { .python = python };
	char detail[200] = "", *out = NULL;
	size_t out_len = 0;
	int rc = conn_pickle_render_with(&out, &out_len, detail,
					 sizeof(detail), style, &o,
					 (const uint8_t *)bytes, len);

	if (nseen < sizeof(seen) / sizeof(seen[0]) &&
	    (nseen == 0 || seen[nseen - 1].bytes != bytes)) {
		seen[nseen].bytes = bytes;
		seen[nseen++].len = len;
	}

	ok(rc == 0 && out_len == strlen(expected) &&
	   memcmp(out, expected, out_len) == 0, "%s: %s", name, expected);
	if (rc)
		printf("#   error %d: %s\n", rc, detail);
	else if (strcmp(out, expected) != 0)
		printf("#   got %s\n", out);
	if (rc == 0)
		free(out);
}

static void repr(const char *name, const char *bytes, size_t len,
		 const char *expected)
{
	check(name, CONN_PICKLE_REPR, bytes, len, expected);
}

static void json(const char *name, const char *bytes, size_t len,
		 const char *expected)
{
	check(name, CONN_PICKLE_JSON, bytes, len, expected);
}

/* datetime's rows: state bytes, a tzinfo, fold, normalization. */
static void test_datetime(void)
{
	/* datetime.date(b'\x07\xe8\x02\x1d'), protocol 3 */
	static const char date[] = "\x80\x03" "cdatetime\ndate\n"
				   "C\x04\x07\xe8\x02\x1d" "\x85R.";
	/* the month 13: the constructor would not read it as a state */
	static const char month13[] = "\x80\x03" "cdatetime\ndate\n"
				      "C\x04\x07\xe8\x0d\x01" "\x85R.";
	/* datetime(state with fold, timezone(timedelta(0, 19800), 'IST')) */
	static const char aware[] =
		"\x80\x04" "cdatetime\ndatetime\n"
		"C\x0a\x07\xe8\x82\x1d\x0d\x2d\x00\x00\x00\x00"
		"cdatetime\ntimezone\n" "cdatetime\ntimedelta\n"
		"K\x00M\x58\x4dK\x00\x87R" "X\x03\x00\x00\x00IST" "\x86R"
		"\x86R.";
	/* datetime(state, posix.system): a global for the tzinfo */
	static const char global_tz[] =
		"\x80\x04" "cdatetime\ndatetime\n"
		"C\x0a\x07\xe8\x02\x1d\x0d\x2d\x00\x00\x00\x00"
		"cposix\nsystem\n" "\x86R.";
	/* timedelta(0, 86401, 1000001): Python normalizes it */
	static const char delta[] = "\x80\x02" "cdatetime\ntimedelta\n"
				    "K\x00J\x81\x51\x01\x00J\x41\x42\x0f\x00"
				    "\x87R.";
	static const char zero_delta[] = "\x80\x02" "cdatetime\ntimedelta\n"
					 "K\x00K\x00K\x00\x87R.";
	/* timezone(timedelta(0)): the utc singleton */
	static const char utc[] = "\x80\x02" "cdatetime\ntimezone\n"
				  "cdatetime\ntimedelta\n" ")R" "\x85R.";
	/* getattr(zoneinfo.ZoneInfo, '_unpickle')('UTC', 1) */
	static const char zone[] = "\x80\x02" "c__builtin__\ngetattr\n"
				   "czoneinfo\nZoneInfo\n"
				   "X\x09\x00\x00\x00_unpickle" "\x86R"
				   "X\x03\x00\x00\x00UTC" "K\x01\x86R.";

	repr("date", P(date), "datetime.date(2024, 2, 29)");
	json("date", P(date), "{\"__date__\": \"2024-02-29\"}");
	repr("date, month 13", P(month13),
	     "datetime.date(b'\\x07\\xe8\\r\\x01')");
	repr("datetime, fold and a named timezone", P(aware),
	     "datetime.datetime(2024, 2, 29, 13, 45, tzinfo=datetime.timezone("
	     "datetime.timedelta(seconds=19800), 'IST'), fold=1)");
	json("datetime, fold and a named timezone", P(aware),
	     "{\"__datetime__\": \"2024-02-29T13:45:00+05:30\"}");
	json("datetime, a global for the tzinfo", P(global_tz),
	     "{\"__repr__\": \"datetime.datetime(2024, 2, 29, 13, 45, "
	     "tzinfo=<class 'posix.system'>)\"}");
	repr("timedelta, normalized", P(delta),
	     "datetime.timedelta(days=1, seconds=2, microseconds=1)");
	json("timedelta, normalized", P(delta),
	     "{\"__timedelta__\": {\"days\": 1, \"seconds\": 2, "
	     "\"microseconds\": 1}}");
	python = 306;
	repr("timedelta, 3.6", P(delta), "datetime.timedelta(1, 2, 1)");
	repr("timezone, 3.6", P(aware), "datetime.datetime(2024, 2, 29, 13, "
	     "45, tzinfo=datetime.timezone(datetime.timedelta(0, 19800), "
	     "'IST'), fold=1)");
	repr("timedelta(0), 3.6", P(zero_delta), "datetime.timedelta(0)");
	python = 307;
	repr("timedelta(0), 3.7", P(zero_delta), "datetime.timedelta(0)");
	python = 0;
	repr("timezone utc", P(utc), "datetime.timezone.utc");
	repr("zoneinfo", P(zone), "zoneinfo.ZoneInfo(key='UTC')");
	json("zoneinfo", P(zone), "{\"__zoneinfo__\": \"UTC\"}");
}

/* pickle-stdlib.c's rows, and shapes they refuse. */
static void test_stdlib(void)
{
	static const char decimal[] = "\x80\x02" "cdecimal\nDecimal\n"
				      "X\x06\x00\x00\x00-1.5e3" "\x85R.";
	static const char spaced[] = "\x80\x02" "cdecimal\nDecimal\n"
				     "X\x02\x00\x00\x00 1" "\x85R.";
	static const char fraction[] = "\x80\x02" "cfractions\nFraction\n"
				       "K\x02J\xfc\xff\xff\xff" "\x86R.";
	static const char zero[] = "\x80\x02" "cfractions\nFraction\n"
				   "K\x01K\x00" "\x86R.";
	/* UUID.__new__(UUID) with {'int': 1, 'is_safe': posix.system('ls')} */
	static const char unsafe[] = "\x80\x02" "cuuid\nUUID\n" ")\x81"
				     "}(X\x03\x00\x00\x00int" "K\x01"
				     "X\x07\x00\x00\x00is_safe"
				     "cposix\nsystem\n" "X\x02\x00\x00\x00ls"
				     "\x85Rub.";
	/* the same with is_safe=SafeUUID(None) */
	static const char safe[] = "\x80\x02" "cuuid\nUUID\n" ")\x81"
				   "}(X\x03\x00\x00\x00int" "K\x01"
				   "X\x07\x00\x00\x00is_safe"
				   "cuuid\nSafeUUID\n" "N\x85Rub.";
	/* UUID.__new__(UUID) with the state {'int': 255, 'x': 0} */
	static const char stray[] = "\x80\x02" "cuuid\nUUID\n" ")\x81"
				    "}(X\x03\x00\x00\x00int" "K\xff"
				    "X\x01\x00\x00\x00x" "K\x00ub.";
	/* the same, its state {'int': the UUID itself} */
	static const char cycle[] = "\x80\x04" "cuuid\nUUID\n" ")\x81\x94"
				    "}X\x03\x00\x00\x00int" "h\x00sb.";
	static const char uuid[] = "\x80\x02" "cuuid\nUUID\n" ")\x81"
				   "}X\x03\x00\x00\x00int" "K\xffsb.";
	/* _array_reconstructor(array, 'h', SIGNED_INT16_BE, b'\xff\xfe') */
	static const char array[] = "\x80\x03" "carray\n_array_reconstructor\n"
				    "(carray\narray\n" "X\x01\x00\x00\x00h"
				    "K\x05" "C\x02\xff\xfe" "tR.";
	/* array('u') at protocols 3 and 2: no characters */
	static const char empty_u[] = "\x80\x03" "carray\n_array_reconstructor\n"
				      "(carray\narray\n" "X\x01\x00\x00\x00u"
				      "K\x14" "C\x00" "tR.";
	static const char empty_u2[] = "\x80\x02" "carray\narray\n"
				       "X\x01\x00\x00\x00u" "]\x86R.";
	/* the same with an odd number of bytes */
	static const char odd[] = "\x80\x03" "carray\n_array_reconstructor\n"
				  "(carray\narray\n" "X\x01\x00\x00\x00h"
				  "K\x05" "C\x01\xff" "tR.";
	static const char windows[] = "\x80\x02" "cpathlib\nPureWindowsPath\n"
				      "X\x03\x00\x00\x00" "c:\\" "X\x01\x00\x00"
				      "\x00x" "X\x03\x00\x00\x00.\\y" "\x87R.";
	static const char unc[] = "\x80\x02" "cpathlib\nPureWindowsPath\n"
				  "X\x09\x00\x00\x00" "\\\\srv\\shr" "\x85R.";
	static const char device[] = "\x80\x02" "cpathlib\nPureWindowsPath\n"
				     "X\x06\x00\x00\x00" "\\\\?\\c:" "\x85R.";
	static const char pattern[] = "\x80\x02" "cre\n_compile\n"
				      "X\x01\x00\x00\x00" "a" "K\x2a" "\x86R.";
	static const char ipv6[] = "\x80\x02" "cipaddress\nIPv6Address\n"
				   "\x8a\x01\x01" "\x85R.";

	repr("Decimal, canonical", P(decimal), "Decimal('-1.5E+3')");
	json("Decimal, canonical", P(decimal), "{\"__decimal__\": \"-1.5E+3\"}");
	repr("Decimal with a space", P(spaced), "decimal.Decimal(' 1')");
	repr("Fraction(2, -4)", P(fraction), "Fraction(-1, 2)");
	json("Fraction(2, -4)", P(fraction), "{\"__fraction__\": \"-1/2\"}");
	repr("Fraction(1, 0)", P(zero), "fractions.Fraction(1, 0)");
	/* Not the table's shape: the objects' readable form, the call
	 * shown in it. */
	repr("UUID, is_safe a call", P(unsafe),
	     "uuid.UUID(int=1, is_safe=posix.system('ls'))");
	repr("UUID, is_safe", P(safe),
	     "UUID('00000000-0000-0000-0000-000000000001')");
	repr("UUID", P(uuid), "UUID('00000000-0000-0000-0000-0000000000ff')");
	repr("UUID, a stray key", P(stray), "uuid.UUID(int=255, x=0)");
	repr("UUID, a cycle", P(cycle), "uuid.UUID(int=...)");
	repr("array, big-endian", P(array), "array('h', [-2])");
	json("array, big-endian", P(array),
	     "{\"__array__\": {\"typecode\": \"h\", \"items\": [-2]}}");
	json("array('u'), protocol 3", P(empty_u),
	     "{\"__array__\": {\"typecode\": \"u\", \"items\": \"\"}}");
	json("array('u'), protocol 2", P(empty_u2),
	     "{\"__array__\": {\"typecode\": \"u\", \"items\": \"\"}}");
	repr("array('u')", P(empty_u), "array('u')");
	repr("array, odd bytes", P(odd), "array._array_reconstructor("
	     "<class 'array.array'>, 'h', 5, b'\\xff')");
	repr("PureWindowsPath", P(windows), "PureWindowsPath('c:/x/y')");
	repr("PureWindowsPath, UNC", P(unc), "PureWindowsPath('//srv/shr/')");
	repr("PureWindowsPath, a device", P(device),
	     "pathlib.PureWindowsPath('\\\\\\\\?\\\\c:')");
	repr("re.compile, 42", P(pattern),
	     "re.compile('a', re.IGNORECASE|re.MULTILINE)");
	repr("IPv6Address(1)", P(ipv6), "IPv6Address('::1')");
}

/* numpy.dtype(code, False, True) with the state of byte order o. */
#define DTYPE(code, o) "cnumpy\ndtype\n" "X\x02\x00\x00\x00" code \
	"\x89\x88\x87R" "(K\x03X\x01\x00\x00\x00" o \
	"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
/* _reconstruct(ndarray, (0,), b'b') + BUILD (1, (2, 2), >i2, fortran,
 * data): int16 1, -2, 300, 4 in memory order. */
#define NDARRAY(fortran, data) "\x80\x02" \
	"cnumpy.core.multiarray\n_reconstruct\n" "cnumpy\nndarray\n" \
	"K\x00\x85" "C\x01" "b" "\x87R" "(K\x01K\x02K\x02\x86" \
	DTYPE("i2", ">") fortran data "tb."
#define INT16S "C\x08\x00\x01\xff\xfe\x01\x2c\x00\x04"
/* numpy.CORE.multiarray.scalar(dtype, data): numpy 1.x's CORE is core,
 * 2's _core. */
#define SCALAR(core, dtype, data) "\x80\x02" \
	"cnumpy." core ".multiarray\nscalar\n" dtype data "\x86R."

static void test_numpy(void)
{
	static const char c_order[] = NDARRAY("\x89", INT16S);
	static const char f_order[] = NDARRAY("\x88", INT16S);
	static const char short_data[] = NDARRAY("\x89",
		"C\x06\x00\x01\xff\xfe\x01\x2c");
	static const char frombuffer[] = "\x80\x05"
		"cnumpy._core.numeric\n_frombuffer\n"
		"(\x96\x10\x00\x00\x00\x00\x00\x00\x00"
		"\x00\x00\x00\x00\x00\x00\xf8\x3f"
		"\x00\x00\x00\x00\x00\x00\x00\x40" DTYPE("f8", "<")
		"K\x02\x85X\x01\x00\x00\x00" "C" "tR.";
	static const char scalar[] = SCALAR("core", DTYPE("f4", "<"),
		"C\x04\xcd\xcc\xcc\x3d");
	static const char scalar2[] = SCALAR("_core", DTYPE("f4", "<"),
		"C\x04\xcd\xcc\xcc\x3d");
	static const char complex2[] = SCALAR("_core", DTYPE("c8", "<"),
		"C\x08\x00\x00\x80\x3f\x00\x00\x00\xc0");
	static const char bool2[] = SCALAR("_core", DTYPE("b1", "|"),
		"C\x01\x00");
	/* ['ab', 'c'] as '>U2': protocols 0-4 load it as '<U2' */
	static const char str_big[] = "\x80\x02"
		"cnumpy.core.multiarray\n_reconstruct\n" "cnumpy\nndarray\n"
		"K\x00\x85" "C\x01" "b" "\x87R" "(K\x01K\x02\x85"
		DTYPE("U2", ">") "\x89" "C\x10" "\x00\x00\x00" "a"
		"\x00\x00\x00" "b" "\x00\x00\x00" "c" "\x00\x00\x00\x00"
		"tb.";
	static const char dtype[] = "\x80\x02" DTYPE("i2", ">") ".";
	static const char half[] = "\x80\x05"
		"cnumpy.core.numeric\n_frombuffer\n"
		"(\x96\x04\x00\x00\x00\x00\x00\x00\x00" "\x04\x6c\x00\x24"
		DTYPE("f2", "<") "K\x02\x85X\x01\x00\x00\x00" "C" "tR.";

	repr("ndarray, 2-D big-endian int16", P(c_order),
	     "array([[  1,  -2],\n       [300,   4]], dtype=int16)");
	/* numpy's __setstate__ byte-swaps into the native order */
	json("ndarray, 2-D big-endian int16", P(c_order),
	     "{\"__ndarray__\": {\"dtype\": \"<i2\", \"shape\": [2, 2], "
	     "\"data\": [[1, -2], [300, 4]]}}");
	repr("ndarray, Fortran order", P(f_order),
	     "array([[  1, 300],\n       [ -2,   4]], dtype=int16)");
	repr("ndarray, data too short", P(short_data),
	     "numpy.core.multiarray._reconstruct(<class 'numpy.ndarray'>, "
	     "(0,), b'b').__setstate__((1, (2, 2), dtype('>i2'), False, "
	     "b'\\x00\\x01\\xff\\xfe\\x01,'))");
	repr("_frombuffer, protocol 5", P(frombuffer), "array([1.5, 2. ])");
	json("_frombuffer, protocol 5", P(frombuffer),
	     "{\"__ndarray__\": {\"dtype\": \"<f8\", \"shape\": [2], "
	     "\"data\": [1.5, 2.0]}}");
	/* 4112's shortest 4.11e+03 padded with its exact digits, 2^-6's
	 * shortest 0.01563 kept (the exact 0.015625 would round to even) */
	repr("float16, scientific", P(half),
	     "array([4.112e+03, 1.563e-02], dtype=float16)");
	repr("float32 scalar", P(scalar), "0.1");
	/* numpy 2's pickles name numpy._core: its repr() (NEP 51) */
	repr("float32 scalar, numpy 2", P(scalar2), "np.float32(0.1)");
	repr("complex64 scalar, numpy 2", P(complex2), "np.complex64(1-2j)");
	repr("bool scalar, numpy 2", P(bool2), "np.False_");
	json("float32 scalar, numpy 2", P(scalar2), "0.10000000149011612");
	repr("str array, big-endian", P(str_big),
	     "array(['ab', 'c'], dtype='<U2')");
	json("str array, big-endian", P(str_big),
	     "{\"__ndarray__\": {\"dtype\": \"<U2\", \"shape\": [2], "
	     "\"data\": [\"ab\", \"c\"]}}");
	repr("dtype, big-endian", P(dtype), "dtype('>i2')");
	json("dtype, big-endian", P(dtype), "{\"__dtype__\": \">i2\"}");
}

/* One byte of a copy changed, or the copy cut short, at random. */
static size_t mutate(uint8_t *copy, const char *bytes, size_t len,
		     uint32_t *seed)
{
	uint32_t r;

	memcpy(copy, bytes, len);
	*seed = *seed * 1103515245u + 12345u;
	r = *seed >> 8;
	if (r % 5 == 0)
		return r / 5 % len;
	copy[r / 5 % len] = (uint8_t)(*seed >> 24);
	return len;
}

/* Mutated pickles of the rows' shapes render or are refused, in both
 * styles, and never crash (the sanitizers check the rest). */
static void test_mutations(void)
{
	uint8_t copy[512];
	uint32_t seed = 15;
	size_t i, k, len, rendered = 0;
	char detail[200], *out;
	size_t out_len;
	int rc;

	for (i = 0; i < nseen; i++)
		for (k = 0; k < MUTATIONS && seen[i].len <= sizeof(copy); k++) {
			len = mutate(copy, seen[i].bytes, seen[i].len, &seed);
			rc = conn_pickle_render(&out, &out_len, detail,
						sizeof(detail), k % 2
						? CONN_PICKLE_JSON
						: CONN_PICKLE_REPR, copy, len);
			if (rc == 0) {
				rendered++;
				free(out);
			}
		}
	ok(rendered > 0, "%zu mutations of %zu pickles: no crash, %zu "
	   "rendered", nseen * MUTATIONS, nseen, rendered);
}

int main(void)
{
	test_datetime();
	test_stdlib();
	test_numpy();
	test_mutations();
	return tap_done();
}
