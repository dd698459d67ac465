/*
 * internal.h - what the core's files share with each other and nobody else.
 * Cross-file helpers carry their module's prefix (buf_, chan_, ...).
 */
#ifndef CONN_INTERNAL_H
#define CONN_INTERNAL_H

#include "conn.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* ------------------------------------------------------------ byte buffers */

/*
 * A byte queue: bytes live in [start, end).  mark is the end of the last
 * whole message, so a writer can hold back half a message (buf.c).
 */
struct conn_buf {
	uint8_t *data;
	size_t start, end, mark, cap;
};

int buf_init(struct conn_buf *b, size_t cap);
void buf_free(struct conn_buf *b);
/* Makes room for n more bytes at end, moving or growing (up to limit). */
int buf_reserve(struct conn_buf *b, size_t n, size_t limit);
/* Slides the live bytes to the front; returns the room then at the end. */
size_t buf_compact(struct conn_buf *b);
/* Where a writer may write up to: whole messages, or all of a message too
 * big to hold back. */
size_t buf_flush_limit(const struct conn_buf *b);

static inline size_t buf_len(const struct conn_buf *b)
{
	return b->end - b->start;
}

static inline size_t buf_room(const struct conn_buf *b)
{
	return b->cap - b->end;
}

/* What one read of stdin asks for, at least. */
#define BUF_READ_SIZE (64 * 1024)

/* One read of fd (name, for errors: "stdin") into b, growing b up to
 * window bytes (a decoder's need); sets *eof at end of file.  EAGAIN and
 * EINTR are no errors. */
int buf_read_fd(struct conn_buf *b, bool *eof, char *detail, size_t capacity,
		int fd, const char *name, size_t window);

/* Writes b up to limit to fd without blocking: 0 (even when not all went),
 * CONN_EPIPE when the reader left, or CONN_EIO. */
int buf_write_fd(struct conn_buf *b, char *detail, size_t capacity, int fd,
		 size_t limit);

/* Inline: the receive path calls it once per message. */
static inline void buf_consume(struct conn_buf *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = b->mark = 0;	/* empty: rewind for free */
}

/* Inline: the send path calls it once or twice per message. */
static inline int buf_append(struct conn_buf *b, const void *data, size_t n)
{
	int rc = buf_room(b) >= n ? 0 : buf_reserve(b, n, SIZE_MAX);

	if (rc)
		return rc;
	memcpy(b->data + b->end, data, n);
	b->end += n;
	return 0;
}

static inline void buf_commit(struct conn_buf *b)
{
	b->mark = b->end;
}

/* The longest a wait lasts before the stop flag is looked at again: a
 * signal that lands between the look and poll() is seen this late at most. */
#define STOP_CHECK_MS 1000

/* timeout for poll(): ms, but no wait longer than STOP_CHECK_MS. */
static inline int stop_checked(int ms)
{
	return ms < 0 || ms > STOP_CHECK_MS ? STOP_CHECK_MS : ms;
}

/* ---------------------------------------------------------------- details */

/* printf into a detail buffer; always terminated. */
void detail_set(char *detail, size_t capacity, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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

/* The value of one hex digit, either case, or -1 (format.c). */
int format_hex_value(int c);

/* A read(2)/write(2) errno as a conn error. */
int errno_to_conn(int err);

/* A descriptor for writing fd that never blocks: fd itself, or for a pipe
 * a copy of our own (*owned), so the flags of a pipe shared with other
 * processes stay as they are (relay.c). */
int fd_nonblocking_copy(int fd, bool *owned);

/* ----------------------------------------------------------------- pickle */

/* text as a JSON string literal, quotes included, bad UTF-8 as U+FFFD, the
 * way json output writes a str: malloc'ed, NUL-ended (pickle.c). */
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
