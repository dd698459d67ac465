/*
 * pickle-known.h - the table of known reconstructors (pickle-known.c) and
 * what its rows share.  Private to src/core/; the files of rows include it:
 *   pickle-known.c     the table, the dispatch and the helpers below;
 *   pickle-datetime.c  datetime's date, time, datetime, timedelta and
 *                      timezone, zoneinfo.ZoneInfo;
 *   pickle-stdlib.c    Decimal, Fraction, UUID, pathlib, ipaddress,
 *                      re.compile and array.array;
 *   pickle-numpy.c     numpy's ndarray, scalars and dtypes.
 *
 * A row names a callable (module.name, or module.Class.attr for
 * getattr(module.Class, 'attr')) and a function that renders a call of it
 * (a K_CALL node: its arguments, and what BUILD and friends did to it) as
 * CPython's repr() or as the JSON tag of pickle.h's table.  The function
 * checks the whole shape first and returns false without writing anything
 * when the call is not what a real sender makes: the call is then shown as
 * the recipe it is.  Nothing is imported or called.
 *
 * To add a row: write the function (in the file of its family, or a new
 * one listed above and in Makefile.am), declare it below, add one line to
 * the table in pickle-known.c, a case to tests/peers/reprs_*.py and a line
 * to pickle.h's JSON table.
 */
#ifndef PICKLE_KNOWN_H
#define PICKLE_KNOWN_H

#include "pickle.h"

/* Renders call node n (see above) in r at depth, or returns false. */
typedef bool known_render(struct render *r, struct node *n, int depth,
			  enum known_style style);

struct known {
	const char *module, *name;
	known_render *render;
};

/* pickle-known.c: helpers of the rows. */
/* The i-th argument of call n if it has exactly count of them and no
 * keyword arguments, else NULL. */
struct node *pickle_known_arg(const struct node *n, size_t count, size_t i);
/* Whether nothing was done to n after the call (no BUILD, no items). */
bool pickle_known_untouched(const struct node *n);
/* The state BUILD gave n, if that is all that was done to it, or NULL. */
struct node *pickle_known_state(const struct node *n);
/* The value of an int (or bool) node that fits 64 bits. */
bool pickle_known_int(const struct node *n, int64_t *v);
/* Whether n is a call of module.name that a row renders. */
bool pickle_known_call_is(const struct node *n, const char *module,
		   const char *name);
/* The JSON rendering's {"__tag__": and } around a value. */
void pickle_known_tag_open(struct out *o, const char *tag);
void pickle_known_tag_close(struct out *o);

/* pickle-datetime.c */
known_render pickle_known_date, pickle_known_time, pickle_known_datetime,
	pickle_known_timedelta, pickle_known_timezone, pickle_known_zoneinfo;

/* pickle-stdlib.c */
known_render pickle_known_decimal, pickle_known_fraction, pickle_known_uuid,
	pickle_known_path, pickle_known_ip, pickle_known_pattern,
	pickle_known_array, pickle_known_array_reconstructor;

/* pickle-numpy.c */
known_render pickle_known_ndarray, pickle_known_frombuffer,
	pickle_known_scalar, pickle_known_dtype;

#endif
