/* buffer.c - the byte queues between stdin, the sockets and stdout
 * (struct conn_buffer, conn.h). */
#include "conn.h"
#include "detail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int conn_buffer_init(struct conn_buffer *b, size_t cap)
{
	*b = (struct conn_buffer){ 0 };
	b->data = malloc(cap);
	if (b->data == NULL)
		return CONN_ENOMEM;
	b->cap = cap;
	return 0;
}

void conn_buffer_free(struct conn_buffer *b)
{
	free(b->data);
	*b = (struct conn_buffer){ 0 };
}

void conn_buffer_adopt(struct conn_buffer *b, void *data, size_t len,
		       size_t cap)
{
	free(b->data);
	*b = (struct conn_buffer){ .data = data, .end = len, .cap = cap };
}

size_t conn_buffer_compact(struct conn_buffer *b)
{
	size_t len = conn_buffer_len(b);

	if (b->start != 0) {
		memmove(b->data, b->data + b->start, len);
		b->mark = b->mark > b->start ? b->mark - b->start : 0;
		b->start = 0;
		b->end = len;
	}
	return conn_buffer_room(b);
}

/* Under this much free space a half message must go out to make room. */
#define LOW_WATER (16 * 1024)

size_t conn_buffer_flush_limit(const struct conn_buffer *b)
{
	if (b->mark > b->start)
		return b->mark;
	if (b->cap - conn_buffer_len(b) < LOW_WATER)
		return b->end;
	return b->start;
}

int conn_buffer_reserve(struct conn_buffer *b, size_t n, size_t limit)
{
	size_t cap, need;
	uint8_t *grown;

	if (conn_buffer_room(b) >= n || conn_buffer_compact(b) >= n)
		return 0;
	if (conn_buffer_len(b) + n > limit)
		return CONN_ETOOBIG;
	need = conn_buffer_len(b) + n;
	for (cap = b->cap ? b->cap : 4096; cap < need; cap *= 2)
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

int conn_buffer_read_fd(struct conn_buffer *b, bool *eof, char *detail,
			size_t capacity, int fd, const char *name,
			size_t window)
{
	ssize_t n;
	int rc;

	rc = conn_buffer_reserve(b, CONN_BUFFER_READ_SIZE,
				 window > CONN_BUFFER_READ_SIZE ? window
				 : CONN_BUFFER_READ_SIZE);
	if (rc == CONN_ETOOBIG && conn_buffer_room(b) == 0) {
		detail_set(detail, capacity, "a message of %s is too long",
			   name);
		return rc;
	}
	if (rc && rc != CONN_ETOOBIG)
		return rc;
	n = read(fd, b->data + b->end, conn_buffer_room(b));
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

int conn_buffer_write_fd(struct conn_buffer *b, char *detail, size_t capacity,
			 int fd, const char *name, size_t limit)
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
			detail_set(detail, capacity, "cannot write %s: %s",
				   name, strerror(errno));
			return CONN_EIO;
		}
		conn_buffer_consume(b, (size_t)n);
		if (conn_buffer_len(b) == 0)
			break;	/* the queue rewound: limit is stale */
	}
	return 0;
}
