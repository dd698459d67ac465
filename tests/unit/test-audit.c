/*
 * test-audit.c - conn_pickle_audit() on hand-made pickles (the verdict and
 * the whole line), and --pickle-policy: the parser's errors with their
 * line numbers, the patterns ("*", "?", a last "**"), the first rule
 * deciding, and conn_pickle_policy_check() on pickles.
 */
#include "conn.h"
#include "tap.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* A pickle written as a C string: its length without the final NUL. */
#define PICKLE(s) (const uint8_t *)(s), sizeof(s) - 1

/* The JSON form of p parses, and says verdict as the line does. */
static void audits_json(const char *name, const uint8_t *p, size_t n,
			enum conn_pickle_verdict verdict)
{
	struct conn_pickle_report report;
	char *text = NULL;
	size_t len = 0;
	int rc = conn_pickle_audit_json(&text, &len, &report, NULL, p, n);
	json_t *v = rc == 0 ? json_loadb(text, len, 0, NULL) : NULL;
	const char *said = json_string_value(json_object_get(v, "verdict"));

	ok(v != NULL && report.verdict == verdict && strlen(text) == len &&
	   memchr(text, '\n', len) == NULL && said != NULL &&
	   strcmp(said, conn_pickle_verdict_name(verdict)) == 0 &&
	   json_integer_value(json_object_get(v, "level")) == (int)verdict,
	   "audit-json %s: valid JSON, verdict %s (got %d, %s)", name,
	   conn_pickle_verdict_name(verdict), rc, text ? text : "");
	json_decref(v);
	free(text);
}

static void audits(const char *name, const uint8_t *p, size_t n,
		   enum conn_pickle_verdict verdict, const char *line)
{
	struct conn_pickle_report report;
	char *text = NULL;
	size_t len = 0;
	int rc = conn_pickle_audit(&text, &len, &report, p, n);

	ok(rc == 0 && report.verdict == verdict && text != NULL &&
	   strlen(text) == len && (line == NULL || strcmp(text, line) == 0),
	   "audit %s: %s (got %d, \"%s\")", name,
	   line ? line : conn_pickle_verdict_name(verdict), rc,
	   text ? text : "");
	free(text);
	audits_json(name, p, n, verdict);
}

static void test_audit(void)
{
	audits("a value", PICKLE("\x80\x04K\x01."), CONN_PICKLE_LIKELY_SAFE,
	       "likely safe: no globals");
	audits("set() at protocol 2",
	       PICKLE("\x80\x02" "c__builtin__\nset\n]\x85R."),
	       CONN_PICKLE_LIKELY_SAFE,
	       "likely safe: globals: builtins.set (1 call)");
	audits("os.system", PICKLE("cos\nsystem\n(S'id'\ntR."),
	       CONN_PICKLE_OVERTLY_MALICIOUS,
	       "overtly malicious: imports os.system at 0 (GLOBAL); calls "
	       "os.system('id') at 19 (REDUCE); globals: os.system (1 call)");
	audits("nt.system imported only", PICKLE("cnt\nsystem\n."),
	       CONN_PICKLE_OVERTLY_MALICIOUS, NULL);
	audits("an unknown class called", PICKLE("cm\nC\n)R."),
	       CONN_PICKLE_LIKELY_UNSAFE,
	       "likely unsafe: calls m.C() at 6 (REDUCE); globals: m.C "
	       "(1 call)");
	audits("an unknown class, not called", PICKLE("cm\nC\n."),
	       CONN_PICKLE_SUSPICIOUS,
	       "suspicious: imports m.C, never called, at 0 (GLOBAL); "
	       "globals: m.C");
	/* Python 3.12+'s enum members: getattr(cls, 'NAME') is as unsafe as
	 * the class, no more. */
	audits("getattr of a plain name", PICKLE("cbuiltins\ngetattr\ncm\nE\n"
						 "X\x01\x00\x00\x00" "A\x86R."),
	       CONN_PICKLE_LIKELY_UNSAFE, NULL);
	audits("getattr of a safe class", PICKLE("cbuiltins\ngetattr\n"
						 "cbuiltins\ndict\n"
						 "X\x08\x00\x00\x00" "fromkeys"
						 "\x86R."),
	       CONN_PICKLE_LIKELY_UNSAFE, NULL);
	audits("getattr of a dunder", PICKLE("cbuiltins\ngetattr\ncm\nE\n"
					     "X\x08\x00\x00\x00__dict__"
					     "\x86R."),
	       CONN_PICKLE_OVERTLY_MALICIOUS, NULL);
	audits("getattr imported only", PICKLE("cbuiltins\ngetattr\n."),
	       CONN_PICKLE_OVERTLY_MALICIOUS,
	       "overtly malicious: imports builtins.getattr, never called, "
	       "at 0 (GLOBAL); globals: builtins.getattr");
	/* A name is escaped: it cannot forge a line of its own. */
	audits("a newline in a name",
	       PICKLE("\x80\x04\x8c\x02o\n\x8c\x01x\x93)R."),
	       CONN_PICKLE_LIKELY_UNSAFE,
	       "likely unsafe: calls o\\n.x() at 11 (REDUCE); globals: o\\n.x "
	       "(1 call)");
	audits("a newline in a name passed",
	       PICKLE("\x80\x04\x8c\x02o\n\x8c\x01x\x93"
		      "\x8c\x01m\x8c\x02y\n\x93\x85R."),
	       CONN_PICKLE_LIKELY_UNSAFE,
	       "likely unsafe: calls o\\n.x(<class 'm.y\\n'>) at 19 (REDUCE); "
	       "passes m.y\\n to o\\n.x at 19 (REDUCE); globals: o\\n.x "
	       "(1 call), m.y\\n");
	audits("the truncated", PICKLE("\x80\x04]"), CONN_PICKLE_SUSPICIOUS,
	       "suspicious: not a valid pickle: offset 3: the pickle ends "
	       "before STOP; no globals");
	audits("empty", PICKLE(""), CONN_PICKLE_SUSPICIOUS, NULL);
}

/* The JSON form's exact text of p. */
static void audits_as(const char *name, const uint8_t *p, size_t n,
		      const char *json)
{
	struct conn_pickle_report report;
	char *text = NULL;
	size_t len = 0;
	int rc = conn_pickle_audit_json(&text, &len, &report, NULL, p, n);

	ok(rc == 0 && text != NULL && strcmp(text, json) == 0,
	   "audit-json %s (got %d, %s)", name, rc, text ? text : "");
	free(text);
}

/* How many "globals" and "findings" the JSON form of p lists, and its
 * "more_findings" and "more_globals". */
static void counts(const char *name, const uint8_t *p, size_t n,
		   size_t findings, json_int_t more, size_t globals,
		   bool more_globals)
{
	struct conn_pickle_report report;
	char *text = NULL;
	size_t len = 0;
	int rc = conn_pickle_audit_json(&text, &len, &report, NULL, p, n);
	json_t *v = rc == 0 ? json_loadb(text, len, 0, NULL) : NULL;

	ok(v != NULL &&
	   json_array_size(json_object_get(v, "findings")) == findings &&
	   json_integer_value(json_object_get(v, "more_findings")) == more &&
	   json_array_size(json_object_get(v, "globals")) == globals &&
	   json_is_boolean(json_object_get(v, "more_globals")) &&
	   json_is_true(json_object_get(v, "more_globals")) == more_globals,
	   "audit-json %s: %zu findings and %lld more, %zu globals%s", name,
	   findings, (long long)more, globals, more_globals ? " and more" : "");
	json_decref(v);
	free(text);
}

static void test_json(void)
{
	static uint8_t many[8 + 300 * 12];
	size_t i, n = 0;

	audits_as("a value", PICKLE("\x80\x04K\x01."),
		  "{\"verdict\": \"likely safe\", \"level\": 0, \"decoded\": "
		  "true, \"findings\": [], \"more_findings\": 0, \"globals\": "
		  "[], \"more_globals\": false}");
	audits_as("os.system", PICKLE("cos\nsystem\n(S'id'\ntR."),
		  "{\"verdict\": \"overtly malicious\", \"level\": 3, "
		  "\"decoded\": true, \"findings\": [{\"what\": \"imports "
		  "os.system\", \"verdict\": \"overtly malicious\", \"level\": "
		  "3, \"offset\": 0, \"opcode\": \"GLOBAL\"}, {\"what\": "
		  "\"calls os.system('id')\", \"verdict\": \"overtly "
		  "malicious\", \"level\": 3, \"offset\": 19, \"opcode\": "
		  "\"REDUCE\"}], \"more_findings\": 0, \"globals\": "
		  "[{\"name\": \"os.system\", \"calls\": 1, \"offset\": 0, "
		  "\"opcode\": \"GLOBAL\"}], \"more_globals\": false}");
	/* The line's escapes, quoted once more. */
	audits_as("a newline in a name",
		  PICKLE("\x80\x04\x8c\x02o\n\x8c\x01x\x93)R."),
		  "{\"verdict\": \"likely unsafe\", \"level\": 2, \"decoded\": "
		  "true, \"findings\": [{\"what\": \"calls o\\\\n.x()\", "
		  "\"verdict\": \"likely unsafe\", \"level\": 2, \"offset\": "
		  "11, \"opcode\": \"REDUCE\"}], \"more_findings\": 0, "
		  "\"globals\": [{\"name\": \"o\\\\n.x\", \"calls\": 1, "
		  "\"offset\": 9, \"opcode\": \"STACK_GLOBAL\"}], "
		  "\"more_globals\": false}");
	/* The words of a finding end before the comma that leads to its
	 * place in the line. */
	audits_as("an unknown class, not called", PICKLE("cm\nC\n."),
		  "{\"verdict\": \"suspicious\", \"level\": 1, \"decoded\": "
		  "true, \"findings\": [{\"what\": \"imports m.C, never "
		  "called\", \"verdict\": \"suspicious\", \"level\": 1, "
		  "\"offset\": 0, \"opcode\": \"GLOBAL\"}], \"more_findings\": "
		  "0, \"globals\": [{\"name\": \"m.C\", \"calls\": 0, "
		  "\"offset\": 0, \"opcode\": \"GLOBAL\"}], \"more_globals\": "
		  "false}");
	/* A finding of no one place: null. */
	audits_as("the truncated", PICKLE("\x80\x04]"),
		  "{\"verdict\": \"suspicious\", \"level\": 1, \"decoded\": "
		  "false, \"findings\": [{\"what\": \"not a valid pickle: "
		  "offset 3: the pickle ends before STOP\", \"verdict\": "
		  "\"suspicious\", \"level\": 1, \"offset\": null, "
		  "\"opcode\": null}], \"more_findings\": 0, \"globals\": [], "
		  "\"more_globals\": false}");
	/* 40 protocol 0 globals in a protocol 4 pickle, one name never
	 * called: 41 findings, 32 listed. */
	memcpy(many, "\x80\x04", 2);
	for (n = 2, i = 0; i < 40; i++, n += 6)
		memcpy(many + n, "cm\nC\n0", 6);
	memcpy(many + n, "N.", 2);
	counts("past 32 findings", many, n + 2, 32, 9, 1, false);
	/* 300 names never called: 256 listed, and more; a finding each of
	 * those. */
	for (n = 0, i = 0; i < 300; i++)
		n += (size_t)sprintf((char *)many + n, "cm\nC%03zu\n0", i);
	memcpy(many + n, "N.", 2);
	counts("past 256 globals", many, n + 2, 32, 224, 256, true);
}

static void test_verdict_names(void)
{
	ok(strcmp(conn_pickle_verdict_name(CONN_PICKLE_LIKELY_SAFE),
		  "likely safe") == 0 &&
	   strcmp(conn_pickle_verdict_name(CONN_PICKLE_SUSPICIOUS),
		  "suspicious") == 0 &&
	   strcmp(conn_pickle_verdict_name(CONN_PICKLE_LIKELY_UNSAFE),
		  "likely unsafe") == 0 &&
	   strcmp(conn_pickle_verdict_name(CONN_PICKLE_OVERTLY_MALICIOUS),
		  "overtly malicious") == 0, "the four verdicts' names");
}

/* ------------------------------------------------------------- policies */

/* text on one line, for a test's name. */
static const char *one_line(const char *text)
{
	static char line[200];
	size_t i;

	for (i = 0; text[i] && i < sizeof(line) - 1; i++)
		line[i] = text[i] == '\n' ? '|' : (unsigned char)text[i] < 32
			  ? ' ' : text[i];
	line[i] = '\0';
	return line;
}

static void refused(const char *text, const char *detail)
{
	struct conn_pickle_policy *p = (void *)1;
	char why[200] = "";
	int rc = conn_pickle_policy_parse(&p, why, sizeof(why), text,
					  strlen(text));

	ok(rc == CONN_EINVAL && p == NULL && strcmp(why, detail) == 0,
	   "policy %s: %s (got %d, \"%s\")", one_line(text), detail, rc,
	   why);
}

static void test_parse_errors(void)
{
	refused("allow a.b\npermit c.d\n",
		"line 2: 'permit' is not 'allow' or 'deny'");
	refused("allow\n", "line 1: a rule needs a pattern");
	refused("deny a.b c.d", "line 1: one pattern a rule");
	refused("allow a..b", "line 1: an empty part in the pattern");
	refused("allow .a", "line 1: an empty part in the pattern");
	refused("allow a.", "line 1: an empty part in the pattern");
	refused("allow a.**.b", "line 1: '**' must be the pattern's last part");
	refused("allow a.b**", "line 1: '**' must be a part of its own");
	refused("\n\n# c\nallow a\x01", "line 4: a control character in the "
		"pattern");
	{
		struct conn_pickle_policy *p = NULL;
		char why[80] = "";
		static const char nul[] = "allow a\0b\n";

		ok(conn_pickle_policy_parse(&p, why, sizeof(why), nul,
					    sizeof(nul) - 1) == CONN_EINVAL &&
		   strcmp(why, "line 1: a NUL byte") == 0,
		   "policy with a NUL byte (got \"%s\")", why);
	}
}

/* check(policy, pickle): whether the policy lets it through. */
static bool passes(const struct conn_pickle_policy *p, const uint8_t *bytes,
		   size_t len, char *why, size_t capacity)
{
	bool allowed = false;

	why[0] = '\0';
	if (conn_pickle_policy_check(p, &allowed, why, capacity, bytes, len))
		return false;
	return allowed;
}

/* One global, module.name at protocol 0, against the policy text. */
static void decides(const char *policy, const char *module,
		    const char *name, bool allow)
{
	struct conn_pickle_policy *p = NULL;
	char pickle[200], why[200];
	int n = snprintf(pickle, sizeof(pickle), "c%s\n%s\n.", module, name);

	must(conn_pickle_policy_parse(&p, why, sizeof(why), policy,
				      strlen(policy)));
	ok(p != NULL && passes(p, (const uint8_t *)pickle, (size_t)n, why,
			       sizeof(why)) == allow,
	   "policy '%s': %s.%s is %s", one_line(policy), module, name,
	   allow ? "allowed" : "denied");
	conn_pickle_policy_free(p);
}

static void test_patterns(void)
{
	decides("allow datetime.*", "datetime", "date", true);
	decides("allow datetime.*", "datetime", "date.sys", false);
	decides("allow datetime.*", "datetimex", "date", false);
	decides("allow datetime.dat?", "datetime", "date", true);
	decides("allow datetime.d*e*", "datetime", "datetime", true);
	decides("allow datetime.d*x", "datetime", "datetime", false);
	decides("allow os.**", "os.path", "join", true);
	decides("allow os.**", "os", "system", true);
	decides("allow os.**", "posix", "system", false);
	decides("allow **", "any.thing", "at.all", true);
	decides("deny os.**\nallow **", "os", "system", false);
	decides("deny os.**\nallow **", "posix", "system", true);
	decides("allow os.system\ndeny os.**", "os", "system", true);
	decides("# nothing\n\n", "builtins", "int", false);
	decides("  allow\tbuiltins.int  # ints\r\n", "builtins", "int", true);
}

static void test_check(void)
{
	struct conn_pickle_policy *p = NULL;
	char why[200];
	static const char text[] = "allow builtins.*\nallow collections.*\n";

	must(conn_pickle_policy_parse(&p, why, sizeof(why), text,
				      sizeof(text) - 1));
	ok(passes(p, PICKLE("\x80\x04K\x01."), why, sizeof(why)),
	   "a value passes any policy");
	ok(!passes(p, PICKLE("cos\nsystem\n(S'id'\ntR."), why, sizeof(why)) &&
	   strcmp(why, "imports os.system at 0 (GLOBAL), which the policy "
		  "does not allow") == 0, "os.system is denied (\"%s\")", why);
	ok(!passes(p, PICKLE("\x80\x04\x8c\x02o\n\x8c\x01x\x93."), why,
		       sizeof(why)) &&
	   strcmp(why, "imports o\\n.x at 9 (STACK_GLOBAL), which the "
		  "policy does not allow") == 0,
	   "a denied name is escaped (\"%s\")", why);
	ok(!passes(p, PICKLE("Pid\n."), why, sizeof(why)) &&
	   strcmp(why, "uses a persistent id at 0 (PERSID), which no policy "
		  "allows") == 0, "a persistent id is denied (\"%s\")", why);
	ok(!passes(p, PICKLE("\x80\x02\x82\x01."), why, sizeof(why)) &&
	   strcmp(why, "imports an EXT code's global at 2 (EXT1), which no "
		  "policy allows") == 0, "an EXT code is denied (\"%s\")", why);
	ok(!passes(p, PICKLE("\x80\x04]"), why, sizeof(why)) &&
	   strncmp(why, "not a pickle the policy can vouch for: ", 39) == 0,
	   "an invalid pickle is denied (\"%s\")", why);
	conn_pickle_policy_free(p);
	conn_pickle_policy_free(NULL);
}

/* The _with forms: past max_work CONN_EAGAIN, canceled CONN_ECANCELED,
 * nothing made; with room, the same as without. */
static void test_budget(void)
{
	static const char text[] = "allow builtins.*\n";
	struct conn_render_options o = { .max_work = 5 };
	struct conn_pickle_policy *p = NULL;
	struct conn_pickle_report report;
	volatile int cancel = 1;
	bool allowed = true;
	char why[200], *line = (char *)"x";
	size_t len;
	int rc;

	rc = conn_pickle_audit_with(&line, &len, &report, &o,
				    PICKLE("\x80\x04K\x01K\x02K\x03\x87."));
	ok(rc == CONN_EAGAIN && line == NULL, "audit past max_work: "
	   "CONN_EAGAIN, no line (%d)", rc);
	o = (struct conn_render_options){ .cancel = &cancel };
	rc = conn_pickle_audit_with(&line, &len, &report, &o,
				    PICKLE("\x80\x04K\x01."));
	ok(rc == CONN_ECANCELED && line == NULL, "audit canceled (%d)", rc);
	o = (struct conn_render_options){ .max_work = 1000 };
	rc = conn_pickle_audit_with(&line, &len, &report, &o,
				    PICKLE("\x80\x04K\x01."));
	ok(rc == 0 && report.verdict == CONN_PICKLE_LIKELY_SAFE,
	   "audit within max_work: its verdict");
	if (rc == 0)
		free(line);
	must(conn_pickle_policy_parse(&p, why, sizeof(why), text,
				      sizeof(text) - 1));
	o = (struct conn_render_options){ .max_work = 5 };
	rc = conn_pickle_policy_check_with(p, &allowed, why, sizeof(why), &o,
		PICKLE("\x80\x04K\x01K\x02K\x03\x87."));
	ok(rc == CONN_EAGAIN && !allowed, "policy past max_work: "
	   "CONN_EAGAIN, not allowed (%d)", rc);
	o = (struct conn_render_options){ .max_work = 1000 };
	rc = conn_pickle_policy_check_with(p, &allowed, why, sizeof(why), &o,
					   PICKLE("\x80\x04K\x01."));
	ok(rc == 0 && allowed, "policy within max_work: allowed");
	/* Past max_memory: a finding, likely unsafe; the policy does not
	 * allow it. */
	o = (struct conn_render_options){ .max_memory = 100 };
	rc = conn_pickle_audit_with(&line, &len, &report, &o,
				    PICKLE("\x80\x04(]]]]]]]]]]l."));
	ok(rc == 0 && report.verdict == CONN_PICKLE_LIKELY_UNSAFE &&
	   strstr(line, "past the decoder's limits, not audited further: "
		  "offset") != NULL &&
	   strstr(line, "more than 100 bytes of memory") != NULL,
	   "audit past max_memory: likely unsafe, said (%s)",
	   rc == 0 ? line : "");
	if (rc == 0)
		free(line);
	rc = conn_pickle_policy_check_with(p, &allowed, why, sizeof(why), &o,
		PICKLE("\x80\x04(]]]]]]]]]]l."));
	ok(rc == 0 && !allowed && strstr(why, "more than 100 bytes of "
					 "memory") != NULL,
	   "policy past max_memory: not allowed (%s)", why);
	conn_pickle_policy_free(p);
}

int main(void)
{
	test_audit();
	test_json();
	test_verdict_names();
	test_parse_errors();
	test_patterns();
	test_check();
	test_budget();
	return tap_done();
}
