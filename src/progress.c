/*
 * progress.c - --progress: messages and bytes moved, the rate and the time
 * so far, as lines for the tool to show (about twice a second), and one
 * summary line at the end.  The core only counts and words; the tool
 * decides where and how the lines are drawn.
 */
#include "internal.h"

#include <stdio.h>

#define PROGRESS_EVERY_MS 500

void progress_start(struct progress *p, bool on, conn_log_fn *log, void *ctx)
{
	*p = (struct progress){ .on = on && log != NULL, .log = log,
				.ctx = ctx };
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

static void progress_say(struct progress *p, enum conn_log_level level,
			 int64_t now)
{
	double s = (double)(now - p->start_ms) / 1000.0;
	char sent[32], received[32], rate[32], line[200];

	human_bytes(sent, sizeof(sent), (double)p->sent_bytes);
	human_bytes(received, sizeof(received), (double)p->received_bytes);
	human_bytes(rate, sizeof(rate), s > 0 ? (double)(p->sent_bytes +
					      p->received_bytes) / s : 0);
	snprintf(line, sizeof(line), "%s%llu messages (%s) sent, %llu "
		 "messages (%s) received, %s/s, %.1f s",
		 level == CONN_LOG_PROGRESS_END ? "done: " : "",
		 (unsigned long long)p->sent, sent,
		 (unsigned long long)p->received, received, rate, s);
	p->log(p->ctx, level, line);
	p->last_ms = now;
}

int progress_wait_ms(const struct progress *p)
{
	int64_t left;

	if (!p->on)
		return -1;
	left = p->last_ms + PROGRESS_EVERY_MS - conn_clock_ms();
	return left > 0 ? (int)left : 0;
}

void progress_tick(struct progress *p)
{
	int64_t now;

	if (!p->on)
		return;
	now = conn_clock_ms();
	if (now - p->last_ms >= PROGRESS_EVERY_MS)
		progress_say(p, CONN_LOG_PROGRESS, now);
}

void progress_end(struct progress *p)
{
	if (p->on)
		progress_say(p, CONN_LOG_PROGRESS_END, conn_clock_ms());
	p->on = false;
}
