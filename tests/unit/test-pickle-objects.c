/*
 * test-pickle-objects.c - the known calls of pickle-collections.c,
 * pickle-exceptions.c and pickle-objects.c: real senders' pickles (CPython
 * 3.11's, at protocols 0-4) print as that CPython's repr() and as their
 * tagged JSON; shapes that are not the senders' stay calls.
 */
#include "conn.h"
#include "tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct known_case {
	const char *name, *hex, *repr, *json;
};

static const struct known_case cases[] = {
	{ "defaultdict",
	  "800263636f6c6c656374696f6e730a64656661756c74646963740a71"
	  "00635f5f6275696c74696e5f5f0a6c6973740a710185710252710358"
	  "010000007871045d71054b0161732e",
	  "defaultdict(<class 'list'>, {'x': [1]})",
	  "{\"__defaultdict__\": {\"default_factory\": {\"__repr__\": \"<class 'list'>\"}, \"items\": {\"x\": [1]}}}" },
	{ "defaultdict(None)",
	  "80049527000000000000008c0b636f6c6c656374696f6e73948c0b64"
	  "656661756c74646963749493942952944b014b02732e",
	  "defaultdict(None, {1: 2})",
	  "{\"__defaultdict__\": {\"default_factory\": null, \"items\": {\"__dict__\": [[1, 2]]}}}" },
	{ "deque with maxlen",
	  "800263636f6c6c656374696f6e730a64657175650a7100294b038671"
	  "01527102284b014b02652e",
	  "deque([1, 2], maxlen=3)",
	  "{\"__deque__\": {\"items\": [1, 2], \"maxlen\": 3}}" },
	{ "deque",
	  "63636f6c6c656374696f6e730a64657175650a70300a28745270310a"
	  "56610a70320a612e",
	  "deque(['a'])",
	  "{\"__deque__\": {\"items\": [\"a\"], \"maxlen\": null}}" },
	{ "Counter",
	  "80049535000000000000008c0b636f6c6c656374696f6e73948c0743"
	  "6f756e7465729493947d94288c0161944b018c0162944b028c016394"
	  "4b0375859452942e",
	  "Counter({'c': 3, 'b': 2, 'a': 1})",
	  "{\"__counter__\": {\"c\": 3, \"b\": 2, \"a\": 1}}" },
	{ "Counter of equal counts",
	  "800263636f6c6c656374696f6e730a436f756e7465720a71007d7101"
	  "2858010000006171024b0158010000006271034b0258010000006371"
	  "044b015801000000647105474004000000000000758571065271072e",
	  "Counter({'d': 2.5, 'b': 2, 'a': 1, 'c': 1})",
	  "{\"__counter__\": {\"d\": 2.5, \"b\": 2, \"a\": 1, \"c\": 1}}" },
	{ "KeyError",
	  "80049527000000000000008c086275696c74696e73948c084b657945"
	  "72726f729493948c076d697373696e6794859452942e",
	  "KeyError('missing')",
	  "{\"__exception__\": {\"type\": \"KeyError\", \"args\": [\"missing\"]}}" },
	{ "OSError(2, ...) at protocol 2",
	  "800263657863657074696f6e730a4f534572726f720a71004b025819"
	  "0000004e6f20737563682066696c65206f72206469726563746f7279"
	  "710158010000006671028771035271042e",
	  "FileNotFoundError(2, 'No such file or directory')",
	  "{\"__exception__\": {\"type\": \"FileNotFoundError\", \"args\": [2, \"No such file or directory\"]}}" },
	{ "an error reply",
	  "80035806000000234552524f527100636275696c74696e730a56616c"
	  "75654572726f720a710158010000007871028571035271048671052e",
	  "('#ERROR', ValueError('x'))",
	  "{\"__tuple__\": [\"#ERROR\", {\"__exception__\": {\"type\": \"ValueError\", \"args\": [\"x\"]}}]}" },
	{ "_queue.Empty",
	  "80049517000000000000008c065f7175657565948c05456d70747994"
	  "93942952942e",
	  "Empty()",
	  "{\"__exception__\": {\"type\": \"_queue.Empty\", \"args\": []}}" },
	{ "Token",
	  "8002636d756c746970726f63657373696e672e6d616e61676572730a"
	  "546f6b656e0a71002981710158040000006469637471025809000000"
	  "3132372e302e302e3171034b05867104580200000037667105877106"
	  "622e",
	  "Token(typeid='dict', address=('127.0.0.1', 5), id='7f')",
	  "{\"__object__\": {\"class\": \"multiprocessing.managers.Token\", \"args\": [], \"fields\": {\"typeid\": \"dict\", \"address\": {\"__tuple__\": [\"127.0.0.1\", 5]}, \"id\": \"7f\"}}}" },
	{ "Token at protocol 0",
	  "63636f70795f7265670a5f7265636f6e7374727563746f720a70300a"
	  "28636d756c746970726f63657373696e672e6d616e61676572730a54"
	  "6f6b656e0a70310a635f5f6275696c74696e5f5f0a6f626a6563740a"
	  "70320a4e7470330a5270340a28566c6973740a70350a562f746d702f"
	  "730a70360a5661310a70370a7470380a622e",
	  "Token(typeid='list', address='/tmp/s', id='a1')",
	  "{\"__object__\": {\"class\": \"multiprocessing.managers.Token\", \"args\": [], \"fields\": {\"typeid\": \"list\", \"address\": \"/tmp/s\", \"id\": \"a1\"}}}" },
	{ "Namespace",
	  "80049548000000000000008c186d756c746970726f63657373696e67"
	  "2e6d616e6167657273948c094e616d6573706163659493942981947d"
	  "94288c0162944b018c0161945d944b02618c025f63944b0375622e",
	  "Namespace(a=[2], b=1)",
	  "{\"__object__\": {\"class\": \"multiprocessing.managers.Namespace\", \"args\": [], \"fields\": {\"b\": 1, \"a\": [2], \"_c\": 3}}}" },
	{ "a dict view",
	  "80048c086275696c74696e738c046c697374935d8c01616185522e",
	  "['a']",
	  "[\"a\"]" },
	/* Not a sender's: a deque(1) and Counter(dict, extra) stay calls. */
	{ "deque(1)", "80048c0b636f6c6c656374696f6e738c056465717565934b0185522e",
	  "collections.deque(1)",
	  "{\"__repr__\": \"collections.deque(1)\"}" },
	{ "a state __setstate__ reads",
	  "80048c016d8c01439329814b01622e",
	  "m.C.__new__(m.C).__setstate__(1)",
	  "{\"__repr__\": \"m.C.__new__(m.C).__setstate__(1)\"}" },
	/* The readable form of plain objects and namedtuples. */
	{ "a plain object",
	  "80048c016d8c0143932981" "7d8c0178" "4b01" "73" "62" "2e",
	  "m.C(x=1)",
	  "{\"__object__\": {\"class\": \"m.C\", \"args\": [], \"fields\": {\"x\": 1}}}" },
	{ "a namedtuple",
	  "80048c016d8c0150934b014b02868194" "2e",
	  "m.P(1, 2)",
	  "{\"__object__\": {\"class\": \"m.P\", \"args\": [1, 2], \"fields\": {}}}" },
};

static uint8_t *from_hex(const char *hex, size_t *len)
{
	size_t i, n = strlen(hex) / 2;
	uint8_t *b = malloc(n + 1);
	unsigned v;

	for (i = 0; b != NULL && i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			break;
		b[i] = (uint8_t)v;
	}
	*len = n;
	return b;
}

static void check(const struct known_case *c, enum conn_pickle_style style,
		  const char *want)
{
	char detail[200] = "", *out = NULL;
	size_t len, out_len;
	uint8_t *bytes = from_hex(c->hex, &len);
	int rc = bytes ? conn_pickle_render(&out, &out_len, detail,
					    sizeof(detail), style, bytes, len)
		       : CONN_ENOMEM;
	bool same = rc == 0 && strcmp(out, want) == 0;

	ok(same, "%s: %s", c->name, want);
	if (!same)
		printf("#   got %s (rc %d: %s)\n", rc ? "nothing" : out, rc,
		       detail);
	free(out);
	free(bytes);
}

/* The render options' python: the forms of older CPythons. */
static void test_python(void)
{
	static const struct {
		unsigned python;
		const char *repr;
	} cases[] = {
		{ 0, "[OrderedDict({'a': 1}), KeyError('m'), KeyError()]" },
		{ 312, "[OrderedDict({'a': 1}), KeyError('m'), KeyError()]" },
		{ 311, "[OrderedDict([('a', 1)]), KeyError('m'), KeyError()]" },
		{ 306, "[OrderedDict([('a', 1)]), KeyError('m',), KeyError()]" },
	};
	/* [OrderedDict(a=1), KeyError('m'), KeyError()], protocol 4 */
	static const char hex[] =
		"80049546000000000000005d288c0b636f6c6c656374696f6e738c0b"
		"4f726465726564446963749329528c01614b01738c086275696c7469"
		"6e738c084b65794572726f7293948c016d855268002952652e";
	struct conn_render_options opt = { 0 };
	char detail[200] = "", *out = NULL;
	size_t i, len, out_len;
	uint8_t *bytes = from_hex(hex, &len);
	int rc;

	for (i = 0; bytes != NULL && i < sizeof(cases) / sizeof(cases[0]);
	     i++) {
		opt.python = cases[i].python;
		rc = conn_pickle_render_with(&out, &out_len, detail,
					     sizeof(detail), CONN_PICKLE_REPR,
					     &opt, bytes, len);
		ok(rc == 0 && strcmp(out, cases[i].repr) == 0,
		   "python %u: %s", cases[i].python, cases[i].repr);
		if (rc != 0 || strcmp(out, cases[i].repr) != 0)
			printf("#   got %s (rc %d: %s)\n", rc ? "nothing" : out,
			       rc, detail);
		free(out);
	}
	free(bytes);
}

/* Each case's pickle with a byte or two changed, both styles: refused or
 * rendered, never a crash (for the sanitizers). */
static void test_mutations(void)
{
	size_t i, k, len, out_len, runs = 0;
	char detail[200], *out;
	uint8_t *bytes;

	srand(15);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bytes = from_hex(cases[i].hex, &len);
		for (k = 0; bytes != NULL && len > 0 && k < 600; k++) {
			uint8_t *copy = malloc(len);
			enum conn_pickle_style style = k % 2 ? CONN_PICKLE_JSON
							     : CONN_PICKLE_REPR;

			if (copy == NULL)
				break;
			memcpy(copy, bytes, len);
			copy[(size_t)rand() % len] = (uint8_t)rand();
			if (k % 3 == 0)
				copy[(size_t)rand() % len] = (uint8_t)rand();
			out = NULL;
			if (conn_pickle_render(&out, &out_len, detail,
					       sizeof(detail), style, copy,
					       len) == 0)
				free(out);
			free(copy);
			runs++;
		}
		free(bytes);
	}
	ok(runs > 0, "%zu mutated renderings: no crash", runs);
}

int main(void)
{
	size_t i;

	test_python();
	test_mutations();

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(&cases[i], CONN_PICKLE_REPR, cases[i].repr);
		check(&cases[i], CONN_PICKLE_JSON, cases[i].json);
	}
	return tap_done();
}
