/* buf.c - the byte queues between stdin, the socket and stdout. */
#include "buf.h"
#include "conn.h"
#include "detail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int buf_init(struct conn_buf *b, size_t cap)
{
	*b = (struct conn_buf){ 0 };
	b->data = malloc(cap);
	if (b->data == NULL)
		return CONN_ENOMEM;
	b->cap = cap;
	return 0;
}

void buf_free(struct conn_buf *b)
{
	free(b->data);
	*b = (struct conn_buf){ 0 };
}

size_t buf_compact(struct conn_buf *b)
{
	size_t len = buf_len(b);

	if (b->start != 0) {
		memmove(b->data, b->data + b->start, len);
		b->mark = b->mark > b->start ? b->mark - b->start : 0;
		b->start = 0;
		b->end = len;
	}
	return buf_room(b);
}

/* Under this much free space a half message must go out to make room. */
#define BUF_LOW_WATER (16 * 1024)

size_t buf_flush_limit(const struct conn_buf *b)
{
	if (b->mark > b->start)
		return b->mark;
	if (b->cap - buf_len(b) < BUF_LOW_WATER)
		return b->end;
	return b->start;
}

int buf_reserve(struct conn_buf *b, size_t n, size_t limit)
{
	size_t cap;
	uint8_t *grown;

	if (buf_room(b) >= n)
		return 0;
	buf_compact(b);
	if (buf_room(b) >= n)
		return 0;
	if (buf_len(b) + n > limit)
		return CONN_ETOOBIG;
	for (cap = b->cap ? b->cap : 4096; cap < buf_len(b) + n; cap *= 2)
		;
	if (cap > limit)
		cap = limit;
	grown = realloc(b->data, cap);
	if (grown == NULL)
		return CONN_ENOMEM;
	b->data = grown;
	b->cap = cap;
	return 0;
}

int buf_read_fd(struct conn_buf *b, bool *eof, char *detail, size_t capacity,
		int fd, const char *name, size_t window)
{
	ssize_t n;
	int rc;

	rc = buf_reserve(b, BUF_READ_SIZE, window > BUF_READ_SIZE ? window
								  : BUF_READ_SIZE);
	if (rc == CONN_ETOOBIG && buf_room(b) == 0) {
		detail_set(detail, capacity, "a message of %s is too long",
			   name);
		return rc;
	}
	if (rc && rc != CONN_ETOOBIG)
		return rc;
	n = read(fd, b->data + b->end, buf_room(b));
	if (n > 0)
		b->end += (size_t)n;
	else if (n == 0)
		*eof = true;
	else if (errno != EAGAIN && errno != EINTR) {
		detail_set(detail, capacity, "cannot read %s: %s", name,
			   strerror(errno));
		return CONN_EIO;
	}
	return 0;
}

int buf_write_fd(struct conn_buf *b, char *detail, size_t capacity, int fd,
		 size_t limit)
{
	ssize_t n;

	while (b->start < limit) {
		n = write(fd, b->data + b->start, limit - b->start);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EPIPE)
			return CONN_EPIPE;
		if (n < 0) {
			detail_set(detail, capacity, "cannot write stdout: %s",
				   strerror(errno));
			return CONN_EIO;
		}
		buf_consume(b, (size_t)n);
		if (buf_len(b) == 0)
			break;	/* the queue rewound: limit is stale */
	}
	return 0;
}
