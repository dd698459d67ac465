/*
 * test-progress.c - conn_progress_format(): the --progress line, whole and
 * fitted to narrower and narrower terminals.
 */
#include "conn.h"
#include "tap.h"

#include <string.h>

static const struct conn_progress_counts counts = {
	.sent = 46, .received = 138,
	.sent_bytes = 3000000, .received_bytes = 9000000,
	.elapsed_ms = 1500,
};

static void fits(size_t width, bool done, const char *expected)
{
	char line[200];
	size_t n = conn_progress_format(line, sizeof(line), &counts, done,
					width);

	ok(n == strlen(line) && strcmp(line, expected) == 0 &&
	   (width == 0 || n <= width),
	   "width %zu%s: \"%s\" (got \"%s\", %zu)", width,
	   done ? ", summary" : "", expected, line, n);
}

static void test_widths(void)
{
	static const char all[] = "46 messages (3.0 MB) sent, 138 messages "
				  "(9.0 MB) received, 8.0 MB/s, 1.5 s";
	static const char no_rate[] = "46 messages (3.0 MB) sent, 138 "
				      "messages (9.0 MB) received, 1.5 s";
	static const char no_time[] = "46 messages (3.0 MB) sent, 138 "
				      "messages (9.0 MB) received";
	static const char counts_only[] = "46 messages sent, 138 messages "
					  "received";
	static const char terse[] = "46 sent, 138 received";

	fits(0, false, all);
	fits(strlen(all), false, all);
	fits(200, false, all);
	/* the rate goes first, then the time, then the bytes */
	fits(strlen(all) - 1, false, no_rate);
	fits(strlen(no_rate), false, no_rate);
	fits(strlen(no_rate) - 1, false, no_time);
	fits(strlen(no_time), false, no_time);
	fits(strlen(no_time) - 1, false, counts_only);
	fits(strlen(counts_only), false, counts_only);
	fits(strlen(counts_only) - 1, false, terse);
	fits(strlen(terse), false, terse);
	/* then it is cut */
	fits(strlen(terse) - 1, false, "46 sent, 138 receive");
	fits(10, false, "46 sent, 1");
	fits(1, false, "4");
	/* the summary: the same, after "done: " */
	fits(0, true, "done: 46 messages (3.0 MB) sent, 138 messages (9.0 MB) "
	     "received, 8.0 MB/s, 1.5 s");
	fits(69, true, "done: 46 messages (3.0 MB) sent, 138 messages "
	     "(9.0 MB) received");
}

static void test_small_buffer(void)
{
	char line[8];
	size_t n = conn_progress_format(line, sizeof(line), &counts, false, 0);

	ok(n == 7 && strcmp(line, "46 mess") == 0,
	   "a short buffer holds the start of the line (got \"%s\", %zu)",
	   line, n);
	n = conn_progress_format(line, 0, &counts, false, 0);
	ok(n == 0, "no buffer: nothing written");
}

int main(void)
{
	test_widths();
	test_small_buffer();
	return tap_done();
}
