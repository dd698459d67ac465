/*
 * internal.h - what the core's files share with each other and nobody else.
 * Cross-file helpers carry their module's prefix (buf_, chan_, ...).
 */
#ifndef CONN_INTERNAL_H
#define CONN_INTERNAL_H

#include "conn.h"
#include "buf.h"
#include "detail.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* --------------------------------------------------------------- polling */

/* The longest a wait lasts before the stop flag is looked at again: a
 * signal that lands between the look and poll() is seen this late at most. */
#define STOP_CHECK_MS 1000

/* timeout for poll(): ms, but no wait longer than STOP_CHECK_MS. */
CONN_NODISCARD
static inline int stop_checked(int ms)
{
	return ms < 0 || ms > STOP_CHECK_MS ? STOP_CHECK_MS : ms;
}

/* ---------------------------------------------------------------- channel */

/* struct conn_channel is channel.c's alone; the rest of the core uses the
 * public API and these. */

/* Gives rx and tx their full size, for the relay's bulk traffic. */
CONN_NODISCARD
int chan_grow(struct conn_channel *c);
/* Room at the end of tx for a piece, sliding the queue to the front when
 * less than want is left (relay.c cuts pieces to fit). */
size_t chan_tx_room(struct conn_channel *c, size_t want);
/* Forgets the unfinished message at the end of tx: it will never be whole. */
void chan_drop_partial(struct conn_channel *c);
/* True when tx holds what may go now: whole messages, or the start of one
 * too big to hold back (buf_flush_limit()). */
bool chan_may_write(const struct conn_channel *c);
/* Writes, without blocking, what chan_may_write() allows: 0 or an error. */
CONN_NODISCARD
int chan_write_whole(struct conn_channel *c);
/* Writes all of tx, waiting up to the deadline. */
CONN_NODISCARD
int chan_flush(struct conn_channel *c);
/* Waits for events on fd until the channel's deadline. */
CONN_NODISCARD
int chan_wait(struct conn_channel *c, int fd, short events);
/* How long the deadline was when set, in ms (-1 for none). */
CONN_NODISCARD
int64_t chan_deadline_span(const struct conn_channel *c);
/* Sets the channel's detail line. */
void chan_set_detail(struct conn_channel *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Where the channel logs to (progress lines go there too). */
void chan_log_target(const struct conn_channel *c, conn_log_fn **log,
		     void **ctx);
/* True when frames are traced. */
bool chan_tracing(const struct conn_channel *c);
void chan_log(struct conn_channel *c, enum conn_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------- misc */

/* A descriptor for writing fd that never blocks: fd itself, or for a pipe
 * a copy of our own (*owned), so the flags of a pipe shared with other
 * processes stay as they are (relay.c). */
CONN_NODISCARD
int fd_nonblocking_copy(int fd, bool *owned);

/* ----------------------------------------------------------------- pickle */

/* text as a JSON string literal, quotes included, bad UTF-8 as U+FFFD, the
 * way json output writes a str: malloc'ed, NUL-ended (pickle-json.c). */
CONN_NODISCARD
int pickle_json_quote(char **out, size_t *out_len, const char *text,
		      size_t len);

/* --------------------------------------------------------------- progress */

/* What --progress counts, and when it last said so (progress.c). */
struct progress {
	bool on;
	uint64_t sent, received;		/* messages */
	uint64_t sent_bytes, received_bytes;	/* payload bytes */
	int64_t start_ms, last_ms;
	const unsigned *width;	/* of a redrawn line (NULL or 0: no limit) */
	conn_log_fn *log;
	void *ctx;
};

void progress_start(struct progress *p, bool on, const unsigned *width,
		    conn_log_fn *log, void *ctx);
/* Says where things are if half a second has passed since last time. */
void progress_tick(struct progress *p);
/* Milliseconds until the next line is due (for poll), -1 when off. */
CONN_NODISCARD
int progress_wait_ms(const struct progress *p);
/* The summary line; nothing more after it. */
void progress_end(struct progress *p);

/* -------------------------------------------------------------- transport */

/* In a forked child: closes the parent's listening socket and lock file
 * descriptors, so the child neither accepts nor keeps the path locked;
 * the files stay, the parent's to remove. */
void transport_close_in_child(struct conn_listener *l);

#endif /* CONN_INTERNAL_H */
