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
static inline int stop_checked(int ms)
{
	return ms < 0 || ms > STOP_CHECK_MS ? STOP_CHECK_MS : ms;
}

/* ---------------------------------------------------------------- channel */

struct conn_channel {
	int rfd, wfd;
	struct conn_buf rx, tx;
	struct conn_frame_reader reader;
	int64_t deadline;
	int64_t deadline_set_at;	/* when it was set: the span is in messages */
	volatile sig_atomic_t *stop;
	bool peer_eof;
	bool rx_filled;		/* the last read filled rx's room */
	conn_log_fn *log;
	void *log_ctx;
	bool trace;
	char detail[240];
};

/* True when a whole message is waiting in rx. */
bool chan_has_message(const struct conn_channel *c);

/* Frames one message onto the end of tx; nothing is written yet. */
int chan_append(struct conn_channel *c, const void *data, size_t size);

/* Gives rx and tx their full size, for the relay's bulk traffic. */
int chan_grow(struct conn_channel *c);

/* Reads what the socket has into rx without blocking: 0, CONN_EAGAIN when
 * nothing was there, or an error; sets peer_eof at end of stream. */
int chan_read_some(struct conn_channel *c);
/* At the peer's end of stream: CONN_ERESET between messages, else
 * CONN_ETRUNC with the detail saying how much of the message came. */
int chan_end_of_stream(struct conn_channel *c);
/* Writes tx up to limit without blocking: 0 or an error. */
int chan_write_some(struct conn_channel *c, size_t limit);
/* Writes all of tx, waiting up to the deadline. */
int chan_flush(struct conn_channel *c);
/* Waits for events on fd until the channel's deadline. */
int chan_wait(struct conn_channel *c, int fd, short events);
/* Puts the detail for a reader error (sizes, header bytes) in c. */
int chan_reader_error(struct conn_channel *c, int err);
/* Logs a trace line for a frame going in direction dir ('<' or '>'). */
void chan_trace_frame(struct conn_channel *c, char dir,
		      const struct conn_piece *p);
void chan_log(struct conn_channel *c, enum conn_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------- misc */

/* A descriptor for writing fd that never blocks: fd itself, or for a pipe
 * a copy of our own (*owned), so the flags of a pipe shared with other
 * processes stay as they are (relay.c). */
int fd_nonblocking_copy(int fd, bool *owned);

/* ----------------------------------------------------------------- pickle */

/* text as a JSON string literal, quotes included, bad UTF-8 as U+FFFD, the
 * way json output writes a str: malloc'ed, NUL-ended (pickle-json.c). */
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
int progress_wait_ms(const struct progress *p);
/* The summary line; nothing more after it. */
void progress_end(struct progress *p);

/* -------------------------------------------------------------- transport */

/* In a forked child: closes the parent's listening socket and lock file
 * descriptors, so the child neither accepts nor keeps the path locked;
 * the files stay, the parent's to remove. */
void transport_close_in_child(struct conn_listener *l);

#endif /* CONN_INTERNAL_H */
