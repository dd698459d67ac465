/*
 * progress.c - --progress: messages and bytes moved, the rate and the time
 * so far, as lines for the tool to show (about twice a second), and one
 * summary line at the end.  The core only counts and words; the tool
 * decides where and how the lines are drawn, and how wide they may be.
 */
#include "internal.h"

#include <stdio.h>

#define PROGRESS_EVERY_MS 500

void conn_progress_start(struct conn_progress *p, bool on,
			 const unsigned *width, conn_log_fn *log, void *ctx)
{
	*p = (struct conn_progress){ .on = on && log != NULL, .width = width,
				     .log = log, .ctx = ctx };
	p->start_ms = p->last_ms = conn_clock_ms();
}

/* 1234567 -> "1.2 MB" */
static void human_bytes(char *out, size_t capacity, double bytes)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	unsigned u = 0;

	while (bytes >= 1000 && u + 1 < sizeof(units) / sizeof(*units)) {
		bytes /= 1000;
		u++;
	}
	snprintf(out, capacity, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

/* How much a line says, from all of it to the message counts alone: to
 * fit a narrow terminal, the least useful part goes first. */
enum progress_detail {
	DETAIL_ALL, DETAIL_NO_RATE, DETAIL_NO_TIME, DETAIL_COUNTS,
	DETAIL_TERSE, DETAIL_LEVELS
};

static size_t progress_line(char *out, size_t capacity,
			    const struct conn_progress_counts *c, bool done,
			    enum progress_detail detail)
{
	double s = (double)c->elapsed_ms / 1000.0;
	char sent[32], received[32], rate[32], tail[64] = "";
	const char *head = done ? "done: " : "";
	unsigned long long ns = c->sent, nr = c->received;
	int n;

	human_bytes(sent, sizeof(sent), (double)c->sent_bytes);
	human_bytes(received, sizeof(received), (double)c->received_bytes);
	human_bytes(rate, sizeof(rate), s > 0 ? (double)(c->sent_bytes +
					      c->received_bytes) / s : 0);
	if (detail == DETAIL_ALL)
		snprintf(tail, sizeof(tail), ", %s/s, %.1f s", rate, s);
	else if (detail == DETAIL_NO_RATE)
		snprintf(tail, sizeof(tail), ", %.1f s", s);
	if (detail == DETAIL_TERSE)
		n = snprintf(out, capacity, "%s%llu sent, %llu received",
			     head, ns, nr);
	else if (detail == DETAIL_COUNTS)
		n = snprintf(out, capacity, "%s%llu messages sent, %llu "
			     "messages received", head, ns, nr);
	else
		n = snprintf(out, capacity, "%s%llu messages (%s) sent, %llu "
			     "messages (%s) received%s", head, ns, sent, nr,
			     received, tail);
	return n < 0 ? 0 : (size_t)n < capacity ? (size_t)n : capacity - 1;
}

size_t conn_progress_format(char *out, size_t capacity,
			    const struct conn_progress_counts *c, bool done,
			    size_t width)
{
	enum progress_detail d;
	size_t n = 0;

	if (capacity == 0)
		return 0;
	for (d = DETAIL_ALL; d < DETAIL_LEVELS; d++) {
		n = progress_line(out, capacity, c, done, d);
		if (width == 0 || n <= width)
			return n;
	}
	out[width] = '\0';	/* n > width: even the counts do not fit */
	return width;
}

static void progress_say(struct conn_progress *p, enum conn_log_level level,
			 int64_t now)
{
	struct conn_progress_counts c = {
		.sent = p->sent, .received = p->received,
		.sent_bytes = p->sent_bytes,
		.received_bytes = p->received_bytes,
		.elapsed_ms = now - p->start_ms,
	};
	bool done = level == CONN_LOG_PROGRESS_END;
	/* The summary stays, so it may wrap: it is printed whole. */
	size_t width = done || p->width == NULL ? 0 : *p->width;
	char line[200];

	conn_progress_format(line, sizeof(line), &c, done, width);
	p->log(p->ctx, level, line);
	p->last_ms = now;
}

int conn_progress_wait_ms(const struct conn_progress *p)
{
	int64_t left;

	if (!p->on)
		return -1;
	left = p->last_ms + PROGRESS_EVERY_MS - conn_clock_ms();
	return left > 0 ? (int)left : 0;
}

void conn_progress_tick(struct conn_progress *p)
{
	int64_t now;

	if (!p->on)
		return;
	now = conn_clock_ms();
	if (now - p->last_ms >= PROGRESS_EVERY_MS)
		progress_say(p, CONN_LOG_PROGRESS, now);
}

void conn_progress_end(struct conn_progress *p)
{
	if (p->on)
		progress_say(p, CONN_LOG_PROGRESS_END, conn_clock_ms());
	p->on = false;
}
