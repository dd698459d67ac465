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

#endif /* CONN_INTERNAL_H */
