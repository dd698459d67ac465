/*
 * fuzz-pickle-audit.c - libFuzzer harness for --out audit and
 * --pickle-policy: the input's first line is a policy (parsed by
 * conn_pickle_policy_parse(), which must accept or refuse it with a
 * detail), the rest a pickle, audited (conn_pickle_audit()) and checked
 * against the policy when it parsed.  The audit's line is one line that
 * starts with its verdict; it runs the pickle to its end exactly when the
 * repr rendering decodes it; a pickle the policy lets through imports
 * nothing, or only what a policy "allow **" would let through too.  The
 * JSON form (conn_pickle_audit_json()) is one line that jansson reads as
 * an object with the line's verdict, level and decoded.
 */
#include "conn.h"
#include "fuzz.h"

#include <jansson.h>
#include <stdbool.h>

static void check_policy(const struct conn_pickle_policy *p,
			 const struct conn_pickle_policy *all,
			 const uint8_t *pickle, size_t len)
{
	char why[200], why_all[200];
	bool allowed = true, allowed_all = true;

	FUZZ_CHECK(conn_pickle_policy_check(p, &allowed, why, sizeof(why),
					    pickle, len) == 0);
	FUZZ_CHECK(conn_pickle_policy_check(all, &allowed_all, why_all,
					    sizeof(why_all), pickle,
					    len) == 0);
	if (!allowed)
		FUZZ_CHECK(fuzz_terminated(why, sizeof(why)) && why[0] != '\0');
	/* "allow **" allows every global: it is the widest policy. */
	if (allowed)
		FUZZ_CHECK(allowed_all);
}

/* The JSON form: valid JSON, with what the line's report says. */
static void check_json(const uint8_t *pickle, size_t len,
		       const struct conn_pickle_report *line)
{
	struct conn_pickle_report report;
	char *text = NULL;
	size_t n = 0;
	json_t *v;
	const char *said;

	FUZZ_CHECK(conn_pickle_audit_json(&text, &n, &report, NULL, pickle,
					  len) == 0);
	FUZZ_CHECK(text != NULL && text[n] == '\0' && strlen(text) == n);
	FUZZ_CHECK(memchr(text, '\n', n) == NULL);
	FUZZ_CHECK(report.verdict == line->verdict &&
		   report.decoded == line->decoded);
	v = json_loadb(text, n, 0, NULL);
	FUZZ_CHECK(json_is_object(v));
	said = json_string_value(json_object_get(v, "verdict"));
	FUZZ_CHECK(said != NULL &&
		   strcmp(said, conn_pickle_verdict_name(report.verdict)) == 0);
	FUZZ_CHECK(json_integer_value(json_object_get(v, "level")) ==
		   (json_int_t)report.verdict);
	FUZZ_CHECK(json_is_boolean(json_object_get(v, "decoded")) &&
		   json_is_true(json_object_get(v, "decoded")) ==
		   report.decoded);
	FUZZ_CHECK(json_is_array(json_object_get(v, "findings")) &&
		   json_is_array(json_object_get(v, "globals")));
	json_decref(v);
	free(text);
}

static void check_audit(const uint8_t *pickle, size_t len)
{
	struct conn_pickle_report report;
	char *text = NULL, *rendered = NULL, detail[120];
	size_t n = 0, rendered_len;
	const char *name;
	int rc = conn_pickle_audit(&text, &n, &report, pickle, len);

	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(text != NULL && text[n] == '\0' && strlen(text) == n);
	FUZZ_CHECK(memchr(text, '\n', n) == NULL);
	name = conn_pickle_verdict_name(report.verdict);
	FUZZ_CHECK(strncmp(text, name, strlen(name)) == 0 &&
		   text[strlen(name)] == ':');
	rc = conn_pickle_render(&rendered, &rendered_len, detail,
				sizeof(detail), CONN_PICKLE_REPR, pickle, len);
	/* Only the rendering's own limit may stop it past the machine. */
	if (rc == 0 || rc == CONN_EPROTO)
		FUZZ_CHECK(report.decoded == (rc == 0));
	if (!report.decoded)
		FUZZ_CHECK(report.verdict != CONN_PICKLE_LIKELY_SAFE);
	check_json(pickle, len, &report);
	free(rendered);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t policy_len = nl ? (size_t)(nl - data) : 0;
	const uint8_t *pickle = nl ? nl + 1 : data;
	size_t len = size - (size_t)(pickle - data);
	struct conn_pickle_policy *p = NULL, *all = NULL;
	char detail[160];
	int rc;

	memset(detail, 'x', sizeof(detail));
	rc = conn_pickle_policy_parse(&p, detail, sizeof(detail),
				      (const char *)data, policy_len);
	FUZZ_CHECK(rc == 0 || rc == CONN_EINVAL);
	if (rc) {
		FUZZ_CHECK(p == NULL);
		FUZZ_CHECK(fuzz_terminated(detail, sizeof(detail)));
		FUZZ_CHECK(strncmp(detail, "line ", 5) == 0);
	}
	check_audit(pickle, len);
	if (p != NULL) {
		FUZZ_CHECK(conn_pickle_policy_parse(&all, detail,
						    sizeof(detail),
						    "allow **", 8) == 0);
		check_policy(p, all, pickle, len);
	}
	conn_pickle_policy_free(all);
	conn_pickle_policy_free(p);
	return 0;
}
