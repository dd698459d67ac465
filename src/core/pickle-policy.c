/*
 * pickle-policy.c - --pickle-policy files: which globals a pickle may
 * import.  The parser is pure over (bytes, length); the check, which runs
 * the pickle machine, is conn_pickle_policy_check() in pickle-audit.c.
 *
 * The text: one rule a line, "allow PATTERN" or "deny PATTERN" (spaces or
 * tabs around the words), blank lines, "#" comments (a whole line, or
 * after a rule).  The first rule that matches a global decides; a global
 * that none matches is denied, as a firewall denies what it was not told
 * to let through.  "allow **" last makes a deny list.
 */
#include "pickle.h"

#define POLICY_MAX_RULES 10000
#define PATTERN_MAX 512

struct policy_rule {
	bool allow;
	size_t len;
	char *pattern;
};

struct conn_pickle_policy {
	struct policy_rule *rules;
	size_t n, cap;
};

void conn_pickle_policy_free(struct conn_pickle_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->rules[i].pattern);
	free(p->rules);
	free(p);
}

bool pickle_policy_allows(const struct conn_pickle_policy *p,
			  const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (pickle_pattern_match(p->rules[i].pattern, p->rules[i].len,
					 name, len))
			return p->rules[i].allow;
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next word of [*p, end), or an empty one. */
static struct text next_word(const char **p, const char *end)
{
	struct text w;

	while (*p < end && is_space(**p))
		(*p)++;
	w.p = *p;
	while (*p < end && !is_space(**p) && **p != '#')
		(*p)++;
	w.n = (size_t)(*p - w.p);
	return w;
}

/* A pattern: dotted parts of name characters, "*" and "?", none empty;
 * "**" only as the last part, alone. */
static const char *pattern_error(struct text w)
{
	size_t i, start = 0;

	if (w.n > PATTERN_MAX)
		return "the pattern is too long";
	for (i = 0; i <= w.n; i++) {
		if (i < w.n && w.p[i] != '.') {
			unsigned char c = (unsigned char)w.p[i];

			if (c < 0x21 || c == 0x7f)
				return "a control character in the pattern";
			continue;
		}
		if (i == start)
			return "an empty part in the pattern";
		if (i - start == 2 && memcmp(w.p + start, "**", 2) == 0 &&
		    i != w.n)
			return "'**' must be the pattern's last part";
		if (i - start > 2 && memmem(w.p + start, i - start, "**", 2))
			return "'**' must be a part of its own";
		start = i + 1;
	}
	return NULL;
}

static int add_rule(struct conn_pickle_policy *p, bool allow, struct text w)
{
	struct policy_rule *grown = pickle_grow(p->rules, &p->cap, p->n + 1,
						sizeof(*grown));
	char *copy;

	if (grown == NULL)
		return CONN_ENOMEM;
	p->rules = grown;
	copy = malloc(w.n + 1);
	if (copy == NULL)
		return CONN_ENOMEM;
	memcpy(copy, w.p, w.n);
	copy[w.n] = '\0';
	p->rules[p->n++] = (struct policy_rule){ allow, w.n, copy };
	return 0;
}

/* One line, [p, end), number line. */
static int parse_line(struct conn_pickle_policy *pol, char *detail,
		      size_t capacity, const char *p, const char *end,
		      size_t line)
{
	struct text verb = next_word(&p, end), w, extra;
	const char *why;
	bool allow;

	if (verb.n == 0)
		return 0;	/* blank, or a comment */
	allow = pickle_text_is(verb, "allow");
	if (!allow && !pickle_text_is(verb, "deny")) {
		detail_set(detail, capacity, "line %zu: '%.*s' is not 'allow' "
			   "or 'deny'", line, (int)(verb.n > 40 ? 40 : verb.n),
			   verb.p);
		return CONN_EINVAL;
	}
	w = next_word(&p, end);
	extra = next_word(&p, end);
	why = w.n == 0 ? "a rule needs a pattern"
	      : extra.n ? "one pattern a rule" : pattern_error(w);
	if (why != NULL) {
		detail_set(detail, capacity, "line %zu: %s", line, why);
		return CONN_EINVAL;
	}
	if (pol->n >= POLICY_MAX_RULES) {
		detail_set(detail, capacity, "line %zu: more than %d rules",
			   line, POLICY_MAX_RULES);
		return CONN_EINVAL;
	}
	return add_rule(pol, allow, w);
}

int conn_pickle_policy_parse(struct conn_pickle_policy **out, char *detail,
			     size_t capacity, const char *text, size_t len)
{
	struct conn_pickle_policy *p = calloc(1, sizeof(*p));
	const char *at = text, *end = text + len, *nl;
	size_t line = 1;
	int rc = 0;

	*out = NULL;
	if (p == NULL)
		return CONN_ENOMEM;
	while (!rc && at < end) {
		nl = memchr(at, '\n', (size_t)(end - at));
		if (nl == NULL)
			nl = end;
		if (memchr(at, '\0', (size_t)(nl - at)) != NULL) {
			detail_set(detail, capacity, "line %zu: a NUL byte",
				   line);
			rc = CONN_EINVAL;
			break;
		}
		rc = parse_line(p, detail, capacity, at, nl, line++);
		at = nl + 1;
	}
	if (rc) {
		conn_pickle_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}
