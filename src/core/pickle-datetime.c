/*
 * pickle-datetime.c - rows of the known table (pickle-known.h): the
 * datetime module's values, from the state bytes its C pickler writes,
 * and zoneinfo.ZoneInfo.  REPR is CPython's repr(), 3.7's and later but
 * for the python of struct conn_render_options; JSON is ISO 8601
 * as isoformat() writes it, where the pickle alone gives the UTC offset.
 */
#include "pickle-known.h"

#define DAYS_MAX 999999999	/* timedelta's range, in days */
#define US_PER_S 1000000

/* A timedelta, normalized as CPython keeps it. */
struct delta {
	int64_t days, seconds, us;
};

/* The fields a date, time or datetime state holds. */
struct stamp {
	int year, month, day, hour, minute, second, us, fold;
	struct node *tz;	/* NULL when naive */
};

/*
 * The len bytes of a pickled state: bytes, or (from Python 2, loaded
 * as str) ASCII text, which the constructors take as latin-1.
 */
static const uint8_t *state_bytes(const struct node *n, size_t len)
{
	if ((n->kind != K_BYTES && n->kind != K_STR) || n->u.s.n != len ||
	    (n->kind == K_STR && !pickle_is_ascii(n->u.s.p, n->u.s.n)))
		return NULL;
	return (const uint8_t *)n->u.s.p;
}

/* The tzinfo argument: absent or None is naive; data is no tzinfo. */
static bool take_tz(struct stamp *t, struct node *tz)
{
	t->tz = NULL;
	if (tz == NULL || tz == &pickle_node_none)
		return true;
	t->tz = tz;
	return is_opaque(tz);
}

/* The state and tzinfo arguments of n: (state) or (state, tzinfo). */
static const uint8_t *take_state(struct stamp *t, const struct node *n,
				 size_t len)
{
	size_t count = n->u.call.args->u.seq.n;
	struct node *state = pickle_known_arg(n, count, 0);
	const uint8_t *b;

	if ((count != 1 && count != 2) || state == NULL ||
	    !pickle_known_untouched(n) || (b = state_bytes(state, len)) == NULL ||
	    !take_tz(t, count == 2 ? pickle_known_arg(n, 2, 1) : NULL))
		return NULL;
	return b;
}

static void take_clock(struct stamp *t, const uint8_t *b)
{
	t->hour = b[0];
	t->minute = b[1];
	t->second = b[2];
	t->us = b[3] << 16 | b[4] << 8 | b[5];
}

/* date's state: year (2 bytes), month, day; the month must be 1-12 for
 * the constructor to read it as a state. */
static bool parse_date(struct stamp *t, const struct node *n)
{
	const uint8_t *b = take_state(t, n, 4);

	if (b == NULL || t->tz != NULL || b[2] < 1 || b[2] > 12)
		return false;
	*t = (struct stamp){ .year = b[0] << 8 | b[1], .month = b[2],
			     .day = b[3] };
	return true;
}

/* time's state: hour (fold in its top bit), minute, second, 3 bytes of
 * microseconds; then a tzinfo maybe. */
static bool parse_time(struct stamp *t, const struct node *n)
{
	const uint8_t *b = take_state(t, n, 6);

	if (b == NULL || (b[0] & 0x7f) >= 24)
		return false;
	take_clock(t, b);
	t->fold = b[0] >> 7;
	t->hour &= 0x7f;
	return true;
}

/* datetime's state: date's (fold in the month's top bit), time's. */
static bool parse_datetime(struct stamp *t, const struct node *n)
{
	const uint8_t *b = take_state(t, n, 10);

	if (b == NULL || (b[2] & 0x7f) < 1 || (b[2] & 0x7f) > 12)
		return false;
	t->year = b[0] << 8 | b[1];
	t->month = b[2] & 0x7f;
	t->fold = b[2] >> 7;
	t->day = b[3];
	take_clock(t, b + 4);
	return true;
}

/* Floor division and its remainder, as Python's divmod(). */
static void floor_divmod(int64_t *q, int64_t *r, int64_t a, int64_t b)
{
	*q = a / b;
	*r = a % b;
	if (*r < 0) {
		*r += b;
		(*q)--;
	}
}

/* timedelta(days, seconds, microseconds) of ints, normalized; false past
 * the range (OverflowError) or for other arguments. */
static bool parse_delta(struct delta *t, const struct node *n)
{
	int64_t v[3] = { 0, 0, 0 }, carry;
	size_t i, count;

	if (!pickle_known_call_is(n, "datetime", "timedelta") ||
	    !pickle_known_untouched(n) ||
	    (n->u.call.kwargs != NULL && n->u.call.kwargs->u.seq.n))
		return false;
	count = n->u.call.args->u.seq.n;
	for (i = 0; i < count; i++)
		if (i >= 3 || !pickle_known_int(n->u.call.args->u.seq.items[i], &v[i]) ||
		    v[i] > (int64_t)1 << 50 || v[i] < -((int64_t)1 << 50))
			return false;
	floor_divmod(&carry, &t->us, v[2], US_PER_S);
	floor_divmod(&carry, &t->seconds, v[1] + carry, 86400);
	t->days = v[0] + carry;
	return t->days >= -DAYS_MAX && t->days <= DAYS_MAX;
}

/* datetime.timedelta(days=1, seconds=5, microseconds=7), zeros left out,
 * as 3.7 and later write it; for 3.6 (python 306), timedelta(1, 5, 7),
 * cut after the last field that is not zero (days kept). */
static void repr_delta(struct render *r, const struct delta *t)
{
	struct out *o = r->o;
	const char *sep = "";

	pickle_out_str(o, "datetime.timedelta(");
	if (r->python && r->python < 307) {
		pickle_out_fmt(o, "%lld", (long long)t->days);
		if (t->seconds || t->us)
			pickle_out_fmt(o, ", %lld", (long long)t->seconds);
		if (t->us)
			pickle_out_fmt(o, ", %lld", (long long)t->us);
		pickle_out_char(o, ')');
		return;
	}
	if (t->days)
		pickle_out_fmt(o, "days=%lld", (long long)t->days), sep = ", ";
	if (t->seconds)
		pickle_out_fmt(o, "%sseconds=%lld", sep,
			       (long long)t->seconds), sep = ", ";
	if (t->us)
		pickle_out_fmt(o, "%smicroseconds=%lld", sep, (long long)t->us);
	if (!t->days && !t->seconds && !t->us)
		pickle_out_char(o, '0');
	pickle_out_char(o, ')');
}

bool pickle_known_timedelta(struct render *r, struct node *n, int depth,
			    enum known_style style)
{
	struct delta t;

	(void)depth;
	if (!parse_delta(&t, n))
		return false;
	if (style == KNOWN_REPR) {
		repr_delta(r, &t);
		return true;
	}
	pickle_known_tag_open(r->o, "timedelta");
	pickle_out_fmt(r->o, "{\"days\": %lld, \"seconds\": %lld, "
		       "\"microseconds\": %lld}", (long long)t.days,
		       (long long)t.seconds, (long long)t.us);
	pickle_known_tag_close(r->o);
	return true;
}

/* A fixed timezone: its offset (strictly within a day) and name. */
struct zone {
	struct delta offset;
	struct node *offset_node, *name;
};

/* Any node n: a tzinfo is whatever the pickle gave. */
static bool parse_zone(struct zone *z, const struct node *n)
{
	const struct delta *t = &z->offset;
	size_t count;

	if (!pickle_known_call_is(n, "datetime", "timezone") || !pickle_known_untouched(n))
		return false;
	count = n->u.call.args->u.seq.n;
	if ((count != 1 && count != 2) || pickle_known_arg(n, count, 0) == NULL)
		return false;
	z->offset_node = pickle_known_arg(n, count, 0);
	z->name = count == 2 ? pickle_known_arg(n, 2, 1) : NULL;
	if (!parse_delta(&z->offset, z->offset_node) ||
	    (z->name != NULL && z->name->kind != K_STR))
		return false;
	return !(t->days < -1 || t->days >= 1 ||
		 (t->days == -1 && t->seconds == 0 && t->us == 0));
}

/* An offset as isoformat() writes it: +HH:MM, then :SS and .ffffff when
 * not zero. */
static void iso_offset(struct out *o, const struct delta *t)
{
	int64_t us = (t->days * 86400 + t->seconds) * US_PER_S + t->us;
	char sign = us < 0 ? '-' : '+';

	if (us < 0)
		us = -us;
	pickle_out_fmt(o, "%c%02lld:%02lld", sign,
		       (long long)(us / 3600 / US_PER_S),
		       (long long)(us / 60 / US_PER_S % 60));
	if (us % (60 * US_PER_S))
		pickle_out_fmt(o, ":%02lld", (long long)(us / US_PER_S % 60));
	if (us % US_PER_S)
		pickle_out_fmt(o, ".%06lld", (long long)(us % US_PER_S));
}

bool pickle_known_timezone(struct render *r, struct node *n, int depth,
			   enum known_style style)
{
	struct zone z;
	bool utc;

	if (!parse_zone(&z, n))
		return false;
	utc = z.name == NULL && !z.offset.days && !z.offset.seconds &&
	      !z.offset.us;
	if (style == KNOWN_JSON) {
		pickle_known_tag_open(r->o, "timezone");
		pickle_out_str(r->o, "{\"offset\": \"");
		iso_offset(r->o, &z.offset);
		pickle_out_str(r->o, "\", \"name\": ");
		if (z.name != NULL)
			pickle_json_string(r->o, z.name->u.s.p, z.name->u.s.n);
		else
			pickle_out_str(r->o, "null");
		pickle_out_char(r->o, '}');
		pickle_known_tag_close(r->o);
	} else if (utc) {
		pickle_out_str(r->o, "datetime.timezone.utc");
	} else {
		pickle_out_str(r->o, "datetime.timezone(");
		repr_delta(r, &z.offset);
		if (z.name != NULL) {
			pickle_out_str(r->o, ", ");
			pickle_repr_node(r, z.name, depth);
		}
		pickle_out_char(r->o, ')');
	}
	return true;
}

/* The trailing ", tzinfo=...)" and ", fold=1)" of time's and datetime's
 * reprs, in that order. */
static void repr_tail(struct render *r, const struct stamp *t, int depth)
{
	if (t->tz != NULL) {
		pickle_out_str(r->o, ", tzinfo=");
		pickle_repr_node(r, t->tz, depth);
	}
	if (t->fold)
		pickle_out_str(r->o, ", fold=1");
	pickle_out_char(r->o, ')');
}

/* hour, minute[, second[, microsecond]]: repr() leaves out zeros from
 * the end, down to the minute. */
static void repr_clock(struct out *o, const struct stamp *t)
{
	pickle_out_fmt(o, "%d, %d", t->hour, t->minute);
	if (t->second || t->us)
		pickle_out_fmt(o, ", %d", t->second);
	if (t->us)
		pickle_out_fmt(o, ", %d", t->us);
}

static void iso_date(struct out *o, const struct stamp *t)
{
	pickle_out_fmt(o, "%04d-%02d-%02d", t->year, t->month, t->day);
}

static void iso_clock(struct out *o, const struct stamp *t)
{
	pickle_out_fmt(o, "%02d:%02d:%02d", t->hour, t->minute, t->second);
	if (t->us)
		pickle_out_fmt(o, ".%06d", t->us);
}

/*
 * The JSON tag of a time or datetime: its isoformat(), which needs the
 * UTC offset, so only naive ones and those of a fixed timezone; false for
 * other tzinfos (shown as {"__repr__": ...}).
 */
static bool json_stamp(struct out *o, const struct stamp *t, bool date)
{
	struct zone z;

	if (t->tz != NULL && !parse_zone(&z, t->tz))
		return false;
	pickle_known_tag_open(o, date ? "datetime" : "time");
	pickle_out_char(o, '"');
	if (date) {
		iso_date(o, t);
		pickle_out_char(o, 'T');
	}
	iso_clock(o, t);
	if (t->tz != NULL)
		iso_offset(o, &z.offset);
	pickle_out_char(o, '"');
	pickle_known_tag_close(o);
	return true;
}

bool pickle_known_date(struct render *r, struct node *n, int depth,
		       enum known_style style)
{
	struct stamp t;

	(void)depth;
	if (!parse_date(&t, n))
		return false;
	if (style == KNOWN_JSON) {
		pickle_known_tag_open(r->o, "date");
		pickle_out_char(r->o, '"');
		iso_date(r->o, &t);
		pickle_out_char(r->o, '"');
		pickle_known_tag_close(r->o);
	} else {
		pickle_out_fmt(r->o, "datetime.date(%d, %d, %d)", t.year,
			       t.month, t.day);
	}
	return true;
}

/* A time (date false) or datetime as repr() or JSON. */
static bool render_stamp(struct render *r, const struct stamp *t, bool date,
			 int depth, enum known_style style)
{
	if (style == KNOWN_JSON)
		return json_stamp(r->o, t, date);
	if (date)
		pickle_out_fmt(r->o, "datetime.datetime(%d, %d, %d, ",
			       t->year, t->month, t->day);
	else
		pickle_out_str(r->o, "datetime.time(");
	repr_clock(r->o, t);
	repr_tail(r, t, depth);
	return true;
}

bool pickle_known_time(struct render *r, struct node *n, int depth,
		       enum known_style style)
{
	struct stamp t;

	return parse_time(&t, n) && render_stamp(r, &t, false, depth, style);
}

bool pickle_known_datetime(struct render *r, struct node *n, int depth,
			   enum known_style style)
{
	struct stamp t;

	return parse_datetime(&t, n) &&
	       render_stamp(r, &t, true, depth, style);
}

/* getattr(zoneinfo.ZoneInfo, '_unpickle')(key, from_cache): the key. */
bool pickle_known_zoneinfo(struct render *r, struct node *n, int depth,
			   enum known_style style)
{
	struct node *key = pickle_known_arg(n, 2, 0), *cache = pickle_known_arg(n, 2, 1);
	int64_t v;

	if (key == NULL || key->kind != K_STR || !pickle_known_int(cache, &v) ||
	    !pickle_known_untouched(n))
		return false;
	if (style == KNOWN_JSON) {
		pickle_known_tag_open(r->o, "zoneinfo");
		pickle_json_string(r->o, key->u.s.p, key->u.s.n);
		pickle_known_tag_close(r->o);
	} else {
		pickle_out_str(r->o, "zoneinfo.ZoneInfo(key=");
		pickle_repr_node(r, key, depth);
		pickle_out_char(r->o, ')');
	}
	return true;
}
