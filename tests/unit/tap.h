/* tap.h - a few macros for C unit tests that speak TAP. */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failed;

/* ok(condition, "name %d", ...): one test line. */
#define ok(cond, ...) do { \
	int ok_ = (cond); \
	printf("%sok %d - ", ok_ ? "" : "not ", ++tap_count); \
	printf(__VA_ARGS__); \
	printf("\n"); \
	if (!ok_) { \
		tap_failed++; \
		printf("#   failed at %s:%d\n", __FILE__, __LINE__); \
	} \
} while (0)

/* must(call): a step that what follows builds on, returning 0 when it
 * works; only its failure shows, as a failed test naming the call. */
#define must(call) do { \
	if ((call) != 0) \
		ok(0, "%s", #call); \
} while (0)

/* Ends the run: the plan, then the exit status. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
