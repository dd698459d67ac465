/*
 * fuzz-pickle-json.c - libFuzzer harness for the JSON-to-pickle encoder
 * (conn_pickle_from_json): the input is JSON text, pickled with every
 * protocol.  A pickle must be one our own decoder reads back, as the same
 * object whatever the protocol; and the json rendering of it, pickled
 * again, must give the same pickle (a fixed point), or where the text
 * repeats a set item or a __dict__ key (which the pickle keeps and the
 * object folds), one of the same repr; jansson must find the same texts
 * valid.
 */
#include "conn.h"
#include "fuzz.h"

#include <jansson.h>
#include <stdbool.h>

#define PROTOCOLS 6
#define DETAIL_SIZE 100		/* what the json input format gives it */

/*
 * jansson, which the encoder once stood on, is the oracle of validity:
 * what it reads we read, and the reverse, but for nesting (jansson goes
 * to 2048, we stop past 1000), a raw NUL or blank text (refused before
 * any reading, with words of their own), and integers beyond 64 bits,
 * which we read (up to 4300 digits, as Python) and jansson does not.
 * Whether a tag's value fits it is no matter of JSON: a text jansson
 * reads may still be refused for it, never the reverse.
 */
static void check_validity(const char *json, size_t len, int rc,
			   const char *detail)
{
	json_error_t error;
	json_t *v;
	bool blank = true;
	size_t i;

	for (i = 0; i < len && blank; i++)
		blank = json[i] == ' ' || json[i] == '\t' || json[i] == '\r' ||
			json[i] == '\n';
	if (blank || memchr(json, '\0', len) ||
	    (rc && strstr(detail, "nesting deeper")) || rc == CONN_ENOMEM)
		return;
	v = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if ((v == NULL && rc == 0 && strstr(error.text, "too big")) ||
	    (v != NULL && rc && strncmp(detail, "invalid JSON", 12) != 0)) {
		json_decref(v);
		return;
	}
	if ((v != NULL) != (rc == 0))
		fprintf(stderr, "jansson %s, we %s: %s\n",
			v ? "reads it" : "refuses it",
			rc ? "refuse it" : "read it", rc ? detail : "");
	FUZZ_CHECK((v != NULL) == (rc == 0));
	json_decref(v);
}

static int pickle(uint8_t **out, size_t *out_len, const char *json,
		  size_t len, int protocol)
{
	char detail[DETAIL_SIZE];
	int rc;

	memset(detail, 'x', sizeof(detail));
	rc = conn_pickle_from_json(out, out_len, detail, sizeof(detail), json,
				   len, protocol);
	if (protocol == 0)
		check_validity(json, len, rc, detail);
	if (rc) {
		FUZZ_CHECK(*out == NULL);
		FUZZ_CHECK(rc == CONN_EINVAL || rc == CONN_ENOMEM);
		FUZZ_CHECK(fuzz_terminated(detail, sizeof(detail)));
		FUZZ_CHECK(detail[0] != '\0');
		return rc;
	}
	/* Protocol 2 on starts with PROTO; every pickle ends with STOP. */
	FUZZ_CHECK(*out_len >= 2 && (*out)[*out_len - 1] == '.');
	FUZZ_CHECK(protocol < 2 || ((*out)[0] == 0x80 &&
				    (*out)[1] == protocol));
	return 0;
}

/* Renders a pickle we wrote: it must be valid.  NULL when the rendering
 * is over the decoder's output limit, which a large input may reach. */
static char *render(enum conn_pickle_style style, const uint8_t *p,
		    size_t len, size_t *text_len)
{
	char detail[120], *text;
	int rc = conn_pickle_render(&text, text_len, detail, sizeof(detail),
				    style, p, len);

	if (rc == CONN_ETOOBIG)
		return NULL;
	if (rc)
		fprintf(stderr, "our pickle does not decode: %s\n", detail);
	FUZZ_CHECK(rc == 0);
	return text;
}

/* Two pickles of the same object, by their REPR renderings. */
static void check_same_repr(const uint8_t *a, size_t a_len, const uint8_t *b,
			    size_t b_len)
{
	size_t x_len, y_len;
	char *x = render(CONN_PICKLE_REPR, a, a_len, &x_len);
	char *y = render(CONN_PICKLE_REPR, b, b_len, &y_len);

	FUZZ_CHECK(x == NULL || y == NULL ||
		   (x_len == y_len && memcmp(x, y, x_len) == 0));
	free(x);
	free(y);
}

/* json output pickled again gives the same pickle, or one of the same
 * object: every text --in json takes comes back as a text it takes (a
 * standard library tag's value the renderings would show as
 * {"__repr__": ...} is refused on the way in). */
static void check_fixed_point(const uint8_t *p, size_t len, int protocol)
{
	uint8_t *again;
	size_t text_len, again_len;
	char *text = render(CONN_PICKLE_JSON, p, len, &text_len);

	if (text == NULL)
		return;
	if (pickle(&again, &again_len, text, text_len, protocol)) {
		fprintf(stderr, "our json output is refused: %s\n", text);
		fuzz_fail(__FILE__, __LINE__, "json output pickles");
	}
	if (again_len != len || memcmp(again, p, len) != 0)
		check_same_repr(p, len, again, again_len);
	free(again);
	free(text);
}

/*
 * Rendering costs far more than pickling: every protocol is pickled, but
 * two of them, picked by the input, are decoded and compared.
 */
static void pick_protocols(bool *checked, const uint8_t *data, size_t size)
{
	int a = (int)(size % PROTOCOLS);
	int b = (a + 1 + (size ? data[0] : 0) % (PROTOCOLS - 1)) % PROTOCOLS;

	memset(checked, 0, PROTOCOLS * sizeof(*checked));
	checked[a] = checked[b] = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	char *repr[PROTOCOLS] = { NULL }, *first = NULL;
	size_t repr_len[PROTOCOLS], first_len = 0, len;
	bool checked[PROTOCOLS];
	uint8_t *p;
	int protocol, rc, first_rc = -1;

	pick_protocols(checked, data, size);
	for (protocol = 0; protocol < PROTOCOLS; protocol++) {
		rc = pickle(&p, &len, json, size, protocol);
		/* Only the input decides whether it is valid. */
		FUZZ_CHECK(first_rc < 0 || rc == first_rc);
		first_rc = rc;
		if (rc || !checked[protocol]) {
			free(p);
			continue;
		}
		repr[protocol] = render(CONN_PICKLE_REPR, p, len,
					&repr_len[protocol]);
		if (protocol == (int)(size % PROTOCOLS))
			check_fixed_point(p, len, protocol);
		free(p);
	}
	/* The same object, whatever the protocol. */
	for (protocol = 0; protocol < PROTOCOLS; protocol++) {
		if (repr[protocol] == NULL)
			continue;
		if (first == NULL) {
			first = repr[protocol];
			first_len = repr_len[protocol];
			continue;
		}
		FUZZ_CHECK(repr_len[protocol] == first_len);
		FUZZ_CHECK(memcmp(repr[protocol], first, first_len) == 0);
	}
	for (protocol = 0; protocol < PROTOCOLS; protocol++)
		free(repr[protocol]);
	return 0;
}
