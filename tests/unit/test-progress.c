/*
 * test-progress.c - conn_progress_format(): the --progress line, whole and
 * fitted to narrower and narrower terminals; and struct conn_progress,
 * which logs those lines for an event loop.
 */
#include "conn.h"
#include "tap.h"

#include <stdio.h>
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

/* What the log got: the levels and the last line of each kind. */
struct logged {
	unsigned progress, end;
	char line[200], summary[200];
};

static void on_log(void *ctx, enum conn_log_level level, const char *line)
{
	struct logged *l = ctx;

	if (level == CONN_LOG_PROGRESS) {
		l->progress++;
		snprintf(l->line, sizeof(l->line), "%s", line);
	} else if (level == CONN_LOG_PROGRESS_END) {
		l->end++;
		snprintf(l->summary, sizeof(l->summary), "%s", line);
	}
}

static void test_off(void)
{
	struct conn_progress p;
	struct logged l = { 0 };

	conn_progress_start(&p, false, NULL, on_log, &l);
	conn_progress_tick(&p);
	ok(conn_progress_wait_ms(&p) == -1, "off: no line is ever due");
	conn_progress_end(&p);
	ok(l.progress == 0 && l.end == 0, "off: nothing logged");
	conn_progress_start(&p, true, NULL, NULL, NULL);
	conn_progress_tick(&p);
	conn_progress_end(&p);
	ok(conn_progress_wait_ms(&p) == -1, "no log: off");
}

static void test_lines(void)
{
	static const char summary[] = "done: 2 messages (10 B) sent, 1 "
				      "messages (3 B) received";
	struct conn_progress p;
	struct logged l = { 0 };
	unsigned width = 20;
	int wait;

	conn_progress_start(&p, true, &width, on_log, &l);
	wait = conn_progress_wait_ms(&p);
	ok(wait > 0 && wait <= 500, "on: the first line is due within "
	   "half a second (%d ms)", wait);
	conn_progress_tick(&p);
	ok(l.progress == 0, "no line before it is due");
	p.sent = 2, p.sent_bytes = 10, p.received = 1, p.received_bytes = 3;
	p.last_ms -= 600;	/* as if 600 ms had passed */
	ok(conn_progress_wait_ms(&p) == 0, "overdue: wait 0 ms");
	conn_progress_tick(&p);
	ok(l.progress == 1 && strlen(l.line) <= width &&
	   strcmp(l.line, "2 sent, 1 received") == 0,
	   "a due line is logged, fitted to the width (\"%s\")", l.line);
	wait = conn_progress_wait_ms(&p);
	ok(wait > 0 && wait <= 500, "the next one is half a second away");
	conn_progress_end(&p);
	ok(l.end == 1 && strncmp(l.summary, summary, strlen(summary)) == 0,
	   "the summary is whole, wider than the width (\"%s\")",
	   l.summary);
	conn_progress_tick(&p);
	conn_progress_end(&p);
	ok(l.progress == 1 && l.end == 1 && conn_progress_wait_ms(&p) == -1,
	   "nothing more after the summary");
}

int main(void)
{
	test_widths();
	test_small_buffer();
	test_off();
	test_lines();
	return tap_done();
}
