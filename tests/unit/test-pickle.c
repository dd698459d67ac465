/*
 * test-pickle.c - conn_pickle_render(): every CPython vector under every
 * protocol renders exactly as repr() does, the listing and JSON of each,
 * the dangerous pickle shown and never run, and hostile pickles refused
 * quickly, in bounded memory, and never with a crash (a seeded fuzz loop
 * for the sanitizers); conn_float_repr() against python3's repr().
 */
#include "conn.h"
#include "tap.h"
#include "vectors.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROTOCOLS 6
#define FUZZ_ROUNDS 20000

struct result {
	int rc;
	char *out;
	size_t len;
	char detail[300];
};

static void render(struct result *r, enum conn_pickle_style style,
		   const void *bytes, size_t len)
{
	r->detail[0] = '\0';
	r->out = (char *)"(unset)";
	r->rc = conn_pickle_render(&r->out, &r->len, r->detail,
				   sizeof(r->detail), style, bytes, len);
}

static void done(struct result *r)
{
	if (r->rc == 0)
		free(r->out);
}

/* The REPR of bytes, or NULL with the error in *rc. */
static char *repr_of(int *rc, const void *bytes, size_t len)
{
	struct result r;

	render(&r, CONN_PICKLE_REPR, bytes, len);
	*rc = r.rc;
	return r.rc ? NULL : r.out;
}

/* Whether bytes (a C string literal's worth) render as expected. */
static void check_repr(const char *name, const void *bytes, size_t len,
		       const char *expected)
{
	struct result r;
	bool same;

	render(&r, CONN_PICKLE_REPR, bytes, len);
	same = r.rc == 0 && strcmp(r.out, expected) == 0 &&
	       r.len == strlen(expected);
	ok(same, "%s renders as %s", name, expected);
	if (!same)
		printf("#   got %s (rc %d: %s)\n", r.rc ? "nothing" : r.out,
		       r.rc, r.detail);
	done(&r);
}

/* Whether bytes give error rc, with a detail containing what. */
static void check_error(const char *name, const void *bytes, size_t len,
			enum conn_pickle_style style, int rc,
			const char *what)
{
	struct result r;
	bool same;

	render(&r, style, bytes, len);
	same = r.rc == rc && strstr(r.detail, what) != NULL;
	ok(same, "%s: error %d with \"%s\"", name, rc, what);
	if (!same)
		printf("#   got rc %d, detail \"%s\"\n", r.rc, r.detail);
	done(&r);
}

#define BYTES(s) s, sizeof(s) - 1

/* ------------------------------------------------------------- vectors */

static bool is_json(const char *text, size_t len)
{
	json_error_t err;
	/* Ints beyond 64 bits are legal JSON that jansson reads as reals. */
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY |
			       JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &err);

	if (v == NULL)
		printf("#   not JSON (%s): %.200s\n", err.text, text);
	json_decref(v);
	return v != NULL;
}

/* DIS: lines ending in newlines, the last one the protocol summary. */
static bool is_listing(const struct result *r)
{
	const char *last;

	if (r->rc || r->len == 0 || r->out[r->len - 1] != '\n' ||
	    strncmp(r->out, "    0: ", 7) != 0)
		return false;
	last = strstr(r->out, "\nhighest protocol among opcodes = ");
	return last != NULL && strchr(last + 1, '\n') == r->out + r->len - 1;
}

/* Every prefix of a pickle is an error, never a crash or a value. */
static bool prefixes_fail(const uint8_t *bytes, size_t len)
{
	struct result r;
	size_t n;

	for (n = 0; n < len; n++) {
		render(&r, CONN_PICKLE_REPR, bytes, n);
		if (r.rc == 0 || r.detail[0] == '\0') {
			printf("#   the %zu-byte prefix gave rc %d\n", n, r.rc);
			done(&r);
			return false;
		}
	}
	return true;
}

static void test_vector(const char *name, const char *protocol,
			const uint8_t *bytes, size_t len, const char *expected)
{
	struct result r;
	bool same;

	render(&r, CONN_PICKLE_REPR, bytes, len);
	same = r.rc == 0 && r.len == strlen(expected) &&
	       strcmp(r.out, expected) == 0;
	ok(same, "%s, protocol %s: repr", name, protocol);
	if (!same)
		printf("#   got      %.300s (rc %d: %s)\n#   expected %.300s\n",
		       r.rc ? "" : r.out, r.rc, r.detail, expected);
	done(&r);

	render(&r, CONN_PICKLE_DIS, bytes, len);
	ok(is_listing(&r), "%s, protocol %s: dis", name,
	   protocol);
	done(&r);

	render(&r, CONN_PICKLE_JSON, bytes, len);
	ok(r.rc == 0 && strchr(r.out, '\n') == NULL && is_json(r.out, r.len),
	   "%s, protocol %s: json", name, protocol);
	done(&r);

	ok(prefixes_fail(bytes, len), "%s, protocol %s: every prefix fails",
	   name, protocol);
}

static void test_vectors(json_t *root)
{
	json_t *pickles = json_object_get(root, "pickles"), *p;
	const char *protocol;
	json_t *hex;
	size_t i, len;
	uint8_t *bytes;

	ok(json_array_size(pickles) >= 45, "%zu pickled objects",
	   json_array_size(pickles));
	json_array_foreach(pickles, i, p) {
		json_object_foreach(json_object_get(p, "by_protocol"),
				    protocol, hex) {
			bytes = vectors_hex(json_string_value(hex), &len);
			test_vector(vectors_str(p, "name"), protocol, bytes,
				    len, vectors_str(p, "python_repr"));
			free(bytes);
		}
	}
}

/* ---------------------------------------------------------- dangerous */

/* posix.system(command) under protocol 4, as the vector has it. */
static size_t system_pickle(uint8_t *out, const char *command)
{
	size_t n = 0, len = strlen(command);

	memcpy(out, "\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c", 19);
	n = 19;
	out[n++] = (uint8_t)len;
	memcpy(out + n, command, len);
	n += len;
	memcpy(out + n, "\x85R.", 3);
	return n + 3;
}

static void test_dangerous(json_t *root)
{
	json_t *v = json_array_get(json_object_get(root, "dangerous"), 0);
	uint8_t *bytes, crafted[300];
	char marker[128], command[200], expected[300];
	struct result r;
	size_t len;

	bytes = vectors_hex(vectors_str(v, "pickle_hex"), &len);
	check_repr("the dangerous vector", bytes, len,
		   "posix.system('echo pwned')");
	render(&r, CONN_PICKLE_JSON, bytes, len);
	ok(r.rc == 0 && strcmp(r.out, "{\"__repr__\": "
			       "\"posix.system('echo pwned')\"}") == 0,
	   "the dangerous vector as JSON is its repr");
	done(&r);
	free(bytes);

	/* A command with a visible effect: the file must not appear. */
	snprintf(marker, sizeof(marker), "/tmp/conn-pickle-marker-%ld",
		 (long)getpid());
	unlink(marker);
	snprintf(command, sizeof(command), "touch %s", marker);
	len = system_pickle(crafted, command);
	snprintf(expected, sizeof(expected), "posix.system('%s')", command);
	check_repr("posix.system('touch ...')", crafted, len, expected);
	render(&r, CONN_PICKLE_DIS, crafted, len);
	ok(r.rc == 0, "it lists too");
	done(&r);
	render(&r, CONN_PICKLE_JSON, crafted, len);
	done(&r);
	ok(access(marker, F_OK) != 0, "and nothing ran: %s is absent",
	   marker);
}

/* ------------------------------------------------------------- renders */

static void test_listing(void)
{
	/* pickletools.dis() of [2.25, None, 'junk', float], protocol 2. */
	static const char expected[] =
		"    0: \\x80 PROTO      2\n"
		"    2: ]    EMPTY_LIST\n"
		"    3: q    BINPUT     0\n"
		"    5: (    MARK\n"
		"    6: G        BINFLOAT   2.25\n"
		"   15: N        NONE\n"
		"   16: X        BINUNICODE 'junk'\n"
		"   25: q        BINPUT     1\n"
		"   27: c        GLOBAL     '__builtin__ float'\n"
		"   46: q        BINPUT     2\n"
		"   48: e        APPENDS    (MARK at 5)\n"
		"   49: .    STOP\n"
		"highest protocol among opcodes = 2\n";
	static const char pickle[] =
		"\x80\x02]q\x00(G@\x02\x00\x00\x00\x00\x00\x00NX\x04\x00\x00"
		"\x00junkq\x01" "c__builtin__\nfloat\nq\x02" "e.";
	struct result r;

	render(&r, CONN_PICKLE_DIS, BYTES(pickle));
	ok(r.rc == 0 && strcmp(r.out, expected) == 0 &&
	   r.len == strlen(expected), "dis is pickletools.dis()");
	if (r.rc == 0 && strcmp(r.out, expected) != 0)
		printf("#   got\n%s", r.out);
	done(&r);
	check_repr("the same pickle", BYTES(pickle),
		   "[2.25, None, 'junk', <class 'float'>]");

	render(&r, CONN_PICKLE_DIS, BYTES("\x80\x04\x95\x01\x00\x00\x00\x00"
					  "\x00\x00\x00N\x94."));
	ok(r.rc == 0 && strstr(r.out, "   12: \\x94 MEMOIZE    (as 0)\n") &&
	   strstr(r.out, "    2: \\x95 FRAME      1\n"),
	   "dis shows FRAME and MEMOIZE like pickletools");
	done(&r);
}

static void test_json(void)
{
	static const struct {
		const char *pickle;
		size_t len;
		const char *json;
	} cases[] = {
		{ BYTES("\x80\x04G\x7f\xf8\x00\x00\x00\x00\x00\x00."),
		  "{\"__float__\": \"nan\"}" },
		{ BYTES("\x80\x04G\xff\xf0\x00\x00\x00\x00\x00\x00."),
		  "{\"__float__\": \"-inf\"}" },
		{ BYTES("\x80\x04" "C\x03\x00\x01\xff."),
		  "{\"__bytes__\": \"AAH/\"}" },
		{ BYTES("\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00" "ab."),
		  "{\"__bytearray__\": \"YWI=\"}" },
		{ BYTES("\x80\x04}(K\x01K\x02\x8c\x01" "aK\x03u."),
		  "{\"__dict__\": [[1, 2], [\"a\", 3]]}" },
		{ BYTES("\x80\x04}(\x8c\x01" "a\x88\x8c\x01" "bN\x8c\x01" "c)u."),
		  "{\"a\": true, \"b\": null, \"c\": {\"__tuple__\": []}}" },
		{ BYTES("\x80\x04](\x8f(K\x01\x90(K\x02\x91\x85" "e."),
		  "[{\"__set__\": [1]}, {\"__tuple__\": [{\"__frozenset__\": "
		  "[2]}]}]" },
		{ BYTES("\x80\x04\x8c\x08" "builtins\x8c\x07" "complex\x93"
			"G?\xf0\x00\x00\x00\x00\x00\x00G\x7f\xf8\x00\x00\x00"
			"\x00\x00\x00\x86R."),
		  "{\"__complex__\": [1.0, {\"__float__\": \"nan\"}]}" },
		{ BYTES("\x80\x04\x8c\x03\x01\"\\."),
		  "\"\\u0001\\\"\\\\\"" },
		{ BYTES("\x80\x02]q\x00h\x00" "a."),
		  "[{\"__repr__\": \"[...]\"}]" },
		{ BYTES("\x80\x04\x8a\x0d\x00\x00\x00\x00\x00\x00\x00\x00\x00"
			"\x00\x00\x00\x10."), "1267650600228229401496703205376" },
		{ BYTES("\x80\x04(G?\xf8\x00\x00\x00\x00\x00\x00\x94h\x00h\x00l."),
		  "[1.5, 1.5, 1.5]" },
	};
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		render(&r, CONN_PICKLE_JSON, cases[i].pickle, cases[i].len);
		ok(r.rc == 0 && strcmp(r.out, cases[i].json) == 0,
		   "json %s", cases[i].json);
		if (r.rc == 0 && strcmp(r.out, cases[i].json) != 0)
			printf("#   got %s\n", r.out);
		done(&r);
	}
}

/* Values no vector has: Python's repr() rules at their edges. */
/* conn_json_quote(): a str as the json format writes it. */
static void test_json_quote(void)
{
	static const struct {
		const char *text;
		size_t len;
		const char *json;
	} cases[] = {
		{ BYTES(""), "\"\"" },
		{ BYTES("127.0.0.1:51330"), "\"127.0.0.1:51330\"" },
		{ BYTES("a\"b\\c"), "\"a\\\"b\\\\c\"" },
		{ BYTES("\n\r\t\x01\x1f"), "\"\\n\\r\\t\\u0001\\u001f\"" },
		{ BYTES("caf\xc3\xa9 \xe2\x82\xac"),
		  "\"caf\xc3\xa9 \xe2\x82\xac\"" },
		{ BYTES("a\xff" "b"), "\"a\xef\xbf\xbd" "b\"" },
		{ BYTES("nul\0in"), "\"nul\\u0000in\"" },
	};
	char *out;
	size_t i, len;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		rc = conn_json_quote(&out, &len, cases[i].text, cases[i].len);
		ok(rc == 0 && len == strlen(cases[i].json) &&
		   strcmp(out, cases[i].json) == 0,
		   "conn_json_quote case %zu: %s (got %s)", i, cases[i].json,
		   rc == 0 ? out : conn_strerror(rc));
		if (rc == 0)
			free(out);
	}
}

static void test_repr_edges(void)
{
	check_repr("1e16", BYTES("F1e16\n."), "1e+16");
	check_repr("1e15", BYTES("F1e15\n."), "1000000000000000.0");
	check_repr("1e-05", BYTES("F1e-5\n."), "1e-05");
	check_repr("0.0001", BYTES("F0.0001\n."), "0.0001");
	check_repr("1.5e16", BYTES("F15000000000000000\n."), "1.5e+16");
	check_repr("5e-324", BYTES("F5e-324\n."), "5e-324");
	check_repr("complex(0, 2)", BYTES("\x80\x02" "c__builtin__\ncomplex\n"
		   "G\x00\x00\x00\x00\x00\x00\x00\x00"
		   "G@\x00\x00\x00\x00\x00\x00\x00\x86R."), "2j");
	check_repr("complex(-0.0, 2)", BYTES("\x80\x02" "c__builtin__\ncomplex\n"
		   "G\x80\x00\x00\x00\x00\x00\x00\x00"
		   "G@\x00\x00\x00\x00\x00\x00\x00\x86R."), "(-0+2j)");
	check_repr("complex(1.5, -inf)", BYTES("\x80\x04\x8c\x08"
		   "builtins\x8c\x07" "complex\x93G?\xf8\x00\x00\x00\x00\x00"
		   "\x00G\xff\xf0\x00\x00\x00\x00\x00\x00\x86R."),
		   "(1.5-infj)");
	check_repr("-2**71", BYTES("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00"
		   "\x00\x00\x80."), "-2361183241434822606848");
	check_repr("LONG 0", BYTES("L-000L\n."), "0");
	check_repr("unprintable str", BYTES("X\x0f\x00\x00\x00\xc2\xa0\xe2"
		   "\x80\x8b\xee\x80\x80\xf4\x8f\xbf\xbf\xed\xa0\x80."),
		   "'\\xa0\\u200b\\ue000\\U0010ffff\\ud800'");
	check_repr("quotes", BYTES("V'\n."), "\"'\"");
	check_repr("raw-unicode-escape", BYTES("Va\\u00e9\\\\u0041\\x\n."),
		   "'aé\\\\\\\\u0041\\\\x'");
	check_repr("Python 2 str", BYTES("S'it\\'s\\n'\n."), "\"it's\\n\"");
	check_repr("bytearray quotes", BYTES("\x80\x05\x96\x03\x00\x00\x00"
		   "\x00\x00\x00\x00x'y."), "bytearray(b\"x\\'y\")");
	check_repr("{1: 'a', True: 'b'}", BYTES("(I1\nVa\nI01\nVb\nd."),
		   "{1: 'b'}");
	check_repr("{1, 1.0, True}", BYTES("\x80\x04(K\x01G?\xf0\x00\x00\x00"
		   "\x00\x00\x00\x88\x91."), "frozenset({1})");
	check_repr("a recursive list", BYTES("\x80\x02]q\x00h\x00" "a."),
		   "[[...]]");
	check_repr("a recursive dict", BYTES("\x80\x02}q\x00X\x01\x00\x00"
		   "\x00" "ah\x00s."), "{'a': {...}}");
	check_repr("a recursive tuple", BYTES("\x80\x02]q\x00h\x00\x85q\x01"
		   "a0h\x01."), "([(...)],)");
	check_repr("OrderedDict", BYTES("\x80\x02" "ccollections\nOrderedDict\n"
		   ")R(X\x01\x00\x00\x00" "aK\x01u."), "OrderedDict({'a': 1})");
	check_repr("NEWOBJ and BUILD", BYTES("\x80\x02" "c__main__\nPoint\n)\x81"
		   "}X\x01\x00\x00\x00xK\x01sb."),
		   "__main__.Point(x=1)");
	check_repr("INST", BYTES("(i__main__\nC\n."), "__main__.C()");
	check_repr("defaultdict", BYTES("\x80\x02" "ccollections\ndefaultdict\n"
		   "c__builtin__\nlist\n\x85R(K\x01]u."),
		   "defaultdict(<class 'list'>, {1: []})");
	check_repr("PERSID", BYTES("Pkey\n."), "persistent_load('key')");
	check_repr("EXT1", BYTES("\x80\x02\x82\x07."), "extension(7)");
	check_repr("NEXT_BUFFER", BYTES("\x80\x05\x97."),
		   "<out-of-band buffer>");
	check_repr("INT 010 (strtol's octal)", BYTES("I010\n."), "8");
	check_repr("INT +1 (two characters: a bool)", BYTES("I+1\n."), "True");
	check_repr("INT 1_000", BYTES("I1_000\n."), "1000");
	check_repr("LONG 0x10L", BYTES("L0x10L\n."), "16");
	check_repr("a power of two", BYTES("G\x94\x80\0\0\0\0\0\0."),
		   "-6.083493012144512e-210");
	check_repr("bytes.__new__(bytes)", BYTES("\x80\x02" "c__builtin__\n"
		   "bytes\n)\x81."), "b''");
	check_repr("set(dict)", BYTES("\x80\x02" "c__builtin__\nset\n}K\x01N"
		   "s\x85R."), "{1}");
	check_repr("_codecs.encode(s, 'Latin-1')", BYTES("c_codecs\nencode\n"
		   "(V\\u00ff\nVLatin-1\ntR."), "b'\\xff'");
	check_repr("a global with a newline", BYTES("\x80\x04\x8c\x01m\x8c"
		   "\x02\x0a\x09\x93."), "<class 'm.\\n\\t'>");
	/* Shared values: the second rendering on reads the kept text. */
	check_repr("[x, x, x] for a float x", BYTES("\x80\x04(G?\xf8\x00\x00"
		   "\x00\x00\x00\x00\x94h\x00h\x00l."), "[1.5, 1.5, 1.5]");
	check_repr("[z, z, z] for a complex z", BYTES("\x80\x04(\x8c\x08"
		   "builtins\x8c\x07" "complex\x93G?\xf8\x00\x00\x00\x00\x00"
		   "\x00G\xc0\x00\x00\x00\x00\x00\x00\x00\x86R\x94h\x00h\x00l."),
		   "[(1.5-2j), (1.5-2j), (1.5-2j)]");
}

/* ------------------------------------------------------------- hostile */

static uint8_t *repeat(size_t *len, const char *head, const char *body,
		       size_t times, const char *body2, size_t times2,
		       const char *tail)
{
	size_t h = strlen(head), b = strlen(body), b2 = strlen(body2);
	size_t t = strlen(tail), n = 0, i;
	uint8_t *p = malloc(h + b * times + b2 * times2 + t);

	if (p == NULL)
		abort();
	memcpy(p, head, h);
	n = h;
	for (i = 0; i < times; i++, n += b)
		memcpy(p + n, body, b);
	for (i = 0; i < times2; i++, n += b2)
		memcpy(p + n, body2, b2);
	memcpy(p + n, tail, t);
	*len = n + t;
	return p;
}

static void test_limits(void)
{
	uint8_t *p;
	size_t len;

	p = repeat(&len, "\x80\x04", "]", 100000, "a", 99999, ".");
	check_error("100,000 nested lists", p, len, CONN_PICKLE_REPR,
		    CONN_ETOOBIG, "deeper than 1000");
	check_error("100,000 nested lists as JSON", p, len, CONN_PICKLE_JSON,
		    CONN_ETOOBIG, "deeper than 1000");
	free(p);
	p = repeat(&len, "", "(", 100000, "", 0, ".");
	check_error("100,000 MARKs", p, len, CONN_PICKLE_REPR, CONN_ETOOBIG,
		    "more than 1000 nested MARKs");
	check_error("100,000 MARKs listed", p, len, CONN_PICKLE_DIS,
		    CONN_ETOOBIG, "offset 1000, opcode MARK (0x28)");
	free(p);
	p = repeat(&len, "\x80\x02K\x01", "\x85", 100000, "", 0, ".");
	check_error("100,000 nested tuples", p, len, CONN_PICKLE_REPR,
		    CONN_ETOOBIG, "deeper than 1000");
	free(p);
	/* Each level holds the one below twice: 2**60 leaves. */
	p = repeat(&len, "\x80\x02)", "q\x01h\x01h\x01\x86", 60, "", 0, ".");
	check_error("a tuple of 2**60 leaves", p, len, CONN_PICKLE_REPR,
		    CONN_ETOOBIG, "longer than");
	check_error("and as JSON", p, len, CONN_PICKLE_JSON, CONN_ETOOBIG,
		    "longer than");
	free(p);

	check_error("BINUNICODE8 of 2**60 bytes", BYTES("\x80\x04\x8d\x00\x00"
		    "\x00\x00\x00\x00\x00\x10" "abc."), CONN_PICKLE_REPR,
		    CONN_EPROTO, "offset 2, opcode BINUNICODE8 (0x8d): the "
		    "pickle ends inside the argument");
	check_error("BINBYTES8 of 2**60 bytes", BYTES("\x80\x04\x8e\x00\x00"
		    "\x00\x00\x00\x00\x00\x10" "abc."), CONN_PICKLE_DIS,
		    CONN_EPROTO, "1152921504606846976 bytes announced");
	check_error("BYTEARRAY8 of 2**64-1 bytes", BYTES("\x80\x05\x96\xff\xff"
		    "\xff\xff\xff\xff\xff\xff."), CONN_PICKLE_JSON, CONN_EPROTO,
		    "ends inside the argument");
	check_error("LONG4 of 2**30 bytes", BYTES("\x80\x04\x8b\x00\x00\x00"
		    "\x40\x01."), CONN_PICKLE_REPR, CONN_EPROTO,
		    "opcode LONG4 (0x8b): the pickle ends inside");
	check_error("FRAME of 2**60 bytes", BYTES("\x80\x04\x95\x00\x00\x00"
		    "\x00\x00\x00\x00\x10N."), CONN_PICKLE_REPR, CONN_EPROTO,
		    "frame");
	p = repeat(&len, "\x80\x02", "\x01", 3005, "", 0, ".");
	memcpy(p + 2, "\x8b\xb8\x0b\x00\x00", 5);	/* LONG4 of 3000 bytes */
	check_error("an int of 7223 digits", p, len, CONN_PICKLE_REPR,
		    CONN_ETOOBIG, "more than 4300 digits");
	free(p);
	check_error("memo index 10**6", BYTES("\x80\x02N\x72\x40\x42\x0f\x00."),
		    CONN_PICKLE_REPR, CONN_ETOOBIG, "memo index 1000000");
}

static void test_errors(void)
{
	check_error("GET before PUT", BYTES("\x80\x02h\x05."),
		    CONN_PICKLE_REPR, CONN_EPROTO,
		    "offset 2, opcode BINGET (0x68): memo index 5 is not "
		    "defined");
	check_error("GET of another index", BYTES("N\x71\x05\x6a\x06\x00\x00"
		    "\x00."), CONN_PICKLE_REPR, CONN_EPROTO,
		    "offset 3, opcode LONG_BINGET (0x6a): memo index 6");
	check_error("POP on an empty stack", BYTES("0."), CONN_PICKLE_REPR,
		    CONN_EPROTO, "offset 0, opcode POP (0x30): stack underflow");
	check_error("APPEND with no list", BYTES("K\x01" "a."),
		    CONN_PICKLE_REPR, CONN_EPROTO,
		    "opcode APPEND (0x61): stack underflow");
	check_error("APPEND to a dict", BYTES("}K\x01" "a."),
		    CONN_PICKLE_REPR, CONN_EPROTO, "'dict' object has no "
		    "attribute 'append'");
	check_error("SETITEM on a list", BYTES("]K\x01K\x02s."),
		    CONN_PICKLE_REPR, CONN_EPROTO, "offset 5, opcode SETITEM "
		    "(0x73): 'list' object does not support item assignment");
	check_error("an unhashable key", BYTES("}]K\x01s."), CONN_PICKLE_REPR,
		    CONN_EPROTO, "unhashable type: 'list'");
	check_error("APPENDS without MARK", BYTES("]K\x01" "e."),
		    CONN_PICKLE_REPR, CONN_EPROTO, "no MARK");
	check_error("STOP on an empty stack", BYTES("."), CONN_PICKLE_REPR,
		    CONN_EPROTO, "stack underflow");
	check_error("trailing bytes", BYTES("N.N"), CONN_PICKLE_REPR,
		    CONN_EPROTO, "offset 2: 1 trailing bytes after STOP");
	check_error("an unknown opcode", BYTES("N\xff."), CONN_PICKLE_DIS,
		    CONN_EPROTO, "offset 1: unknown opcode 0xff");
	check_error("no STOP", BYTES("N"), CONN_PICKLE_REPR, CONN_EPROTO,
		    "offset 1: the pickle ends before STOP");
	check_error("nothing", "", 0, CONN_PICKLE_REPR, CONN_EPROTO,
		    "offset 0: the pickle ends");
	check_error("protocol 6", BYTES("\x80\x06N."), CONN_PICKLE_REPR,
		    CONN_EPROTO, "unsupported pickle protocol: 6");
	check_error("bad UTF-8", BYTES("X\x02\x00\x00\x00\xc3\x28."),
		    CONN_PICKLE_REPR, CONN_EPROTO, "not UTF-8");
	check_error("non-ASCII Python 2 str", BYTES("U\x01\xe9."),
		    CONN_PICKLE_REPR, CONN_EPROTO, "not ASCII");
	check_error("unquoted STRING", BYTES("Sabc\n."), CONN_PICKLE_REPR,
		    CONN_EPROTO, "must be quoted");
	check_error("a line without newline", BYTES("I12"), CONN_PICKLE_REPR,
		    CONN_EPROTO, "opcode INT (0x49): the pickle ends inside");
	check_error("a bad INT", BYTES("I1x\n."), CONN_PICKLE_REPR,
		    CONN_EPROTO, "invalid literal for int()");
	check_error("REDUCE on a non-tuple", BYTES("c__builtin__\nlist\n"
		    "NR."), CONN_PICKLE_REPR, CONN_EPROTO, "not a tuple");
}

/* --------------------------------------------------------------- fuzz */

/* A random change: flip bits, overwrite with an opcode byte, cut, or
 * duplicate a slice. */
static size_t mutate(uint8_t *p, size_t len, size_t cap, uint64_t *seed)
{
	static const char opcodes[] = "().012BCFGIJKLMNPQRSTUVXabcdeghijl"
				      "opqrstu}]\x80\x81\x82\x83\x84\x85\x86"
				      "\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f"
				      "\x90\x91\x92\x93\x94\x95\x96\x97\x98";
	size_t i = len ? vectors_rand(seed) % len : 0, n;

	switch (vectors_rand(seed) % 5) {
	case 0:
		if (len)
			p[i] ^= (uint8_t)(1u << (vectors_rand(seed) % 8));
		return len;
	case 1:
		if (len)
			p[i] = (uint8_t)opcodes[vectors_rand(seed) %
						(sizeof(opcodes) - 1)];
		return len;
	case 2:
		if (len)
			p[i] = (uint8_t)vectors_rand(seed);
		return len;
	case 3:
		return i;
	default:
		n = len - i < 16 ? len - i : 16;
		if (len + n > cap)
			return len;
		memmove(p + i + n, p + i, len - i);
		return len + n;
	}
}

static bool fuzz_one(const uint8_t *p, size_t len, uint64_t *seed)
{
	enum conn_pickle_style style = (enum conn_pickle_style)
				       (vectors_rand(seed) % 3);
	struct result r;
	bool good;

	render(&r, style, p, len);
	if (r.rc)
		good = r.detail[0] != '\0' && r.rc != CONN_ENOMEM;
	else
		good = r.out != NULL && strlen(r.out) == r.len &&
		       (style == CONN_PICKLE_DIS || !strchr(r.out, '\n'));
	if (!good)
		printf("#   style %d rc %d detail %s\n", (int)style, r.rc,
		       r.detail);
	done(&r);
	return good;
}

static void test_fuzz(json_t *root)
{
	json_t *pickles = json_object_get(root, "pickles");
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t round, len, cap, k, bad = 0, errors = 0;
	uint8_t *vector, *work;
	json_t *p, *by;
	const char *hex;
	int rc;

	for (round = 0; round < FUZZ_ROUNDS; round++) {
		p = json_array_get(pickles, vectors_rand(&seed) %
					    json_array_size(pickles));
		by = json_object_get(p, "by_protocol");
		hex = json_string_value(json_object_get(by, (const char *[]){
			"0", "1", "2", "3", "4", "5" }[vectors_rand(&seed) %
						       PROTOCOLS]));
		vector = vectors_hex(hex, &len);
		cap = len + 64;
		work = malloc(cap);
		if (work == NULL)
			abort();
		memcpy(work, vector, len);
		for (k = 1 + vectors_rand(&seed) % 4; k > 0; k--)
			len = mutate(work, len, cap, &seed);
		/* Exactly len bytes, so ASan sees any read past the end. */
		free(vector);
		vector = malloc(len ? len : 1);
		if (vector == NULL)
			abort();
		memcpy(vector, work, len);
		if (!fuzz_one(vector, len, &seed))
			bad++;
		free(repr_of(&rc, vector, len));
		errors += rc != 0;
		free(vector);
		free(work);
	}
	ok(bad == 0, "%d mutated vectors: no crash, sane results (%zu "
	   "refused)", FUZZ_ROUNDS, errors);
}

/* -------------------------------------------------------- conn_float_repr */

/* repr() of floats, as every CPython since 3.1 prints them. */
static void test_float_repr_known(void)
{
	static const struct {
		double v;
		const char *repr;
	} known[] = {
		{ 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.0, "1.0" },
		{ 0.1, "0.1" }, { 0.3, "0.3" }, { 1.0 / 3, "0.3333333333333333" },
		{ 2.0 / 3, "0.6666666666666666" }, { 100.0, "100.0" },
		{ 0.0001, "0.0001" }, { 0.00001, "1e-05" },
		{ 1e15, "1000000000000000.0" }, { 1e16, "1e+16" },
		{ 123456789012345678.0, "1.2345678901234568e+17" },
		{ 1e22, "1e+22" }, { 1e23, "1e+23" },
		{ 9007199254740993.0, "9007199254740992.0" },
		{ 9223372036854775808.0, "9.223372036854776e+18" },
		{ 5e-324, "5e-324" }, { 2.2250738585072014e-308,
					"2.2250738585072014e-308" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ -1.5e-7, "-1.5e-07" }, { 1e100, "1e+100" },
		{ NAN, "nan" }, { INFINITY, "inf" }, { -INFINITY, "-inf" },
	};
	size_t i, bad = 0;
	char text[CONN_FLOAT_REPR_MAX];

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (conn_float_repr(text, sizeof(text), known[i].v) ==
			    strlen(known[i].repr) &&
		    strcmp(text, known[i].repr) == 0)
			continue;
		printf("#   got %s for %s\n", text, known[i].repr);
		bad++;
	}
	ok(bad == 0, "conn_float_repr() of %zu known values",
	   sizeof(known) / sizeof(known[0]));
	ok(conn_float_repr(text, 3, 0.25) == 4 && strcmp(text, "0.") == 0 &&
	   conn_float_repr(NULL, 0, 0.25) == 4,
	   "conn_float_repr() truncates like snprintf");
}

#define FLOAT_ROUNDS 4000

/* Doubles whose shortest repr is hard to get right: every power of two
 * (where the gap below is half the gap above), short decimals, integers
 * near 2**53, and random bit patterns. */
static double tricky_double(size_t i, uint64_t *seed)
{
	uint64_t bits = vectors_rand(seed);
	double v;

	switch (i % 4) {
	case 0:
		return ldexp(1.0, (int)(i / 4 % 2098) - 1074);
	case 1:
		return (double)(bits % 100000) /
		       pow(10, (double)(bits >> 32 & 31));
	case 2:
		return 9007199254740992.0 + (double)(bits % 4096) - 2048;
	default:
		memcpy(&v, &bits, sizeof(v));
		return isfinite(v) ? v : 1.5;
	}
}

/* The suite's python3 prints repr() of each double, sent as the hex of
 * its little-endian bytes. */
static const char float_checker[] =
	"import struct, sys\n"
	"for line in sys.stdin:\n"
	"    print(repr(struct.unpack(\"<d\", bytes.fromhex(line))[0]))\n";

static void test_float_repr_python(void)
{
	char in_path[] = "/tmp/test-float-XXXXXX", line[64], want[64];
	char text[CONN_FLOAT_REPR_MAX], *command;
	const char *python = getenv("PYTHON");
	uint64_t seed = 0x243f6a8885a308d3ull, bits;
	size_t i, n = 0, bad = 0;
	FILE *in, *out;
	int fd, k;

	fd = mkstemp(in_path);
	if (fd < 0 || (in = fdopen(fd, "w")) == NULL)
		abort();
	for (i = 0; i < FLOAT_ROUNDS; i++) {
		double v = tricky_double(i, &seed);

		memcpy(&bits, &v, sizeof(bits));
		for (k = 0; k < 8; k++)
			fprintf(in, "%02x", (unsigned)(bits >> (8 * k) & 0xff));
		fprintf(in, "\n");
	}
	fclose(in);
	if (python == NULL || *python == '\0')
		python = "python3";
	if (asprintf(&command, "%s -c '%s' <%s", python, float_checker,
		     in_path) < 0 || (out = popen(command, "r")) == NULL)
		abort();
	free(command);
	seed = 0x243f6a8885a308d3ull;
	for (i = 0; i < FLOAT_ROUNDS && fgets(line, sizeof(line), out); i++) {
		double v = tricky_double(i, &seed);

		snprintf(want, sizeof(want), "%.*s", (int)strcspn(line, "\n"),
			 line);
		conn_float_repr(text, sizeof(text), v);
		n++;
		if (strcmp(text, want) != 0 && bad++ < 5)
			printf("#   got %s, python3 says %s\n", text, want);
	}
	pclose(out);
	unlink(in_path);
	ok(n == FLOAT_ROUNDS && bad == 0, "conn_float_repr() is python3's "
	   "repr() for %zu of %d tricky doubles", n - bad, FLOAT_ROUNDS);
}

/* conn_render_options: a work budget (CONN_EAGAIN past it, pure: the same
 * budget gives the same answer), a cancel flag, a smaller output limit. */
static void test_options(void)
{
	/* pickle.dumps([10 ** 60, 1.5, 1.5], 4) */
	static const uint8_t big[] =
		"\x80\x04\x95\x33\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x28"
		"\x8a\x1a\x00\x00\x00\x00\x00\x00\x00\x10\xd9\x90\x65\x94"
		"\x2c\x42\x62\xd7\x01\x45\x22\x9a\x17\x26\x27\x4f\x9f\x00"
		"\x47\x3f\xf8\x00\x00\x00\x00\x00\x00\x47\x3f\xf8\x00\x00"
		"\x00\x00\x00\x00\x65\x2e";
	struct conn_render_options o = { .max_work = 10 };
	volatile int cancel = 1;
	struct result r, whole;
	char *out;
	size_t len;
	int rc;

	render(&whole, CONN_PICKLE_REPR, big, sizeof(big) - 1);
	ok(whole.rc == 0, "the budget's pickle renders (%s)", whole.detail);
	rc = conn_pickle_render_with(&r.out, &r.len, r.detail,
				     sizeof(r.detail), CONN_PICKLE_REPR, &o,
				     big, sizeof(big) - 1);
	ok(rc == CONN_EAGAIN && r.out == NULL &&
	   strstr(r.detail, "more work") != NULL,
	   "10 units of work: CONN_EAGAIN, nothing kept (%d: %s)", rc,
	   r.detail);
	for (o.max_work = 10; o.max_work < 100000; o.max_work++) {
		rc = conn_pickle_render_with(&out, &len, r.detail,
					     sizeof(r.detail),
					     CONN_PICKLE_REPR, &o, big,
					     sizeof(big) - 1);
		if (rc != CONN_EAGAIN)
			break;
	}
	ok(rc == 0 && whole.rc == 0 && strcmp(out, whole.out) == 0,
	   "enough work (%llu units) renders the same text",
	   (unsigned long long)o.max_work);
	if (rc == 0)
		free(out);
	rc = conn_pickle_render_with(&out, &len, r.detail, sizeof(r.detail),
				     CONN_PICKLE_REPR, &o, big,
				     sizeof(big) - 1);
	ok(rc == 0, "the same budget again: the same answer (pure)");
	if (rc == 0)
		free(out);
	o.max_work--;
	rc = conn_pickle_render_with(&out, &len, r.detail, sizeof(r.detail),
				     CONN_PICKLE_REPR, &o, big,
				     sizeof(big) - 1);
	ok(rc == CONN_EAGAIN, "one unit less: CONN_EAGAIN");
	o = (struct conn_render_options){ .cancel = &cancel };
	rc = conn_pickle_render_with(&out, &len, r.detail, sizeof(r.detail),
				     CONN_PICKLE_JSON, &o, big,
				     sizeof(big) - 1);
	ok(rc == CONN_ECANCELED && strstr(r.detail, "canceled") != NULL,
	   "a raised cancel flag: CONN_ECANCELED (%s)", r.detail);
	o = (struct conn_render_options){ .max_output = 10 };
	rc = conn_pickle_render_with(&out, &len, r.detail, sizeof(r.detail),
				     CONN_PICKLE_REPR, &o, big,
				     sizeof(big) - 1);
	ok(rc == CONN_ETOOBIG && strstr(r.detail, "longer than 10 bytes"),
	   "max_output 10: CONN_ETOOBIG (%s)", r.detail);
	o = (struct conn_render_options){ .max_memory = 100 };
	rc = conn_pickle_render_with(&out, &len, r.detail, sizeof(r.detail),
				     CONN_PICKLE_REPR, &o, big,
				     sizeof(big) - 1);
	ok(rc == CONN_ETOOBIG &&
	   strstr(r.detail, "more than 100 bytes of memory") != NULL,
	   "max_memory 100: CONN_ETOOBIG (%s)", r.detail);
	o.max_memory = 1 << 20;
	rc = conn_pickle_render_with(&out, &len, r.detail, sizeof(r.detail),
				     CONN_PICKLE_REPR, &o, big,
				     sizeof(big) - 1);
	ok(rc == 0 && strcmp(out, whole.out) == 0, "max_memory 1M: the same");
	if (rc == 0)
		free(out);
	rc = conn_format_render_with(&out, &len, r.detail, sizeof(r.detail),
				     CONN_FORMAT_REPR, NULL, big,
				     sizeof(big) - 1);
	ok(rc == 0 && len == whole.len + 1 &&
	   memcmp(out, whole.out, whole.len) == 0,
	   "conn_format_render_with(NULL) is conn_format_render()");
	if (rc == 0)
		free(out);
	done(&whole);
}

int main(void)
{
	json_t *root = vectors_load("pickles.json");

	test_vectors(root);
	test_dangerous(root);
	test_listing();
	test_json();
	test_json_quote();
	test_repr_edges();
	test_limits();
	test_options();
	test_errors();
	test_fuzz(root);
	test_float_repr_known();
	test_float_repr_python();
	json_decref(root);
	return tap_done();
}
