/*
 * buf.h - the byte queues between stdin, the socket and stdout (buf.c),
 * for the channel and the relay.  Private to the core, like internal.h;
 * apart from it, so that buf.c needs only its own header, conn.h's error
 * codes and detail.h.
 */
#ifndef CONN_BUF_H
#define CONN_BUF_H

#include "conn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A byte queue: bytes live in [start, end).  mark is the end of the last
 * whole message, so a writer can hold back half a message (buf.c).
 */
struct conn_buf {
	uint8_t *data;
	size_t start, end, mark, cap;
};

CONN_NODISCARD
int buf_init(struct conn_buf *b, size_t cap);
void buf_free(struct conn_buf *b);
/* Makes room for n more bytes at end, moving or growing (up to limit). */
CONN_NODISCARD
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
CONN_NODISCARD
int buf_read_fd(struct conn_buf *b, bool *eof, char *detail, size_t capacity,
		int fd, const char *name, size_t window);

/* Writes b up to limit to fd without blocking: 0 (even when not all went),
 * CONN_EPIPE when the reader left, or CONN_EIO. */
CONN_NODISCARD
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
CONN_NODISCARD
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

#endif
