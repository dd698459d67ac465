/*
 * channel.c - framed messages over a pair of descriptors: the blocking
 * send/recv API (Python's Connection) and the primitives the relay uses.
 */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHAN_BUF_SIZE (256 * 1024)
/* A new channel's queues start small: a connection that only does a
 * handshake (a port probe, a benchmark) then costs no big allocation. */
#define CHAN_BUF_START 4096
#define CHAN_DEFAULT_MAX_SIZE (1ull << 30)
#define TRACE_BYTES 32

/* Opaque outside this file: the rest of the core and the tools go through
 * functions, so the queues' rules (whole messages, the frame reader's
 * state) live here alone. */
struct conn_channel {
	struct stream io;	/* the descriptors, maybe under TLS */
	struct conn_buffer rx, tx;
	struct conn_frame_reader reader;
	int64_t deadline;
	int64_t deadline_set_at;	/* when it was set: the span is in messages */
	volatile sig_atomic_t *stop;
	bool peer_eof;
	bool rx_filled;		/* the last read filled rx's room */
	conn_log_fn *log;
	void *log_ctx;
	bool trace;
	conn_handshake_tap_fn *tap;
	void *tap_ctx;
	char detail[240];
};

int64_t conn_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Cannot fail on a descriptor the caller holds; on one it does not (-1:
 * no such side) the channel's first read or write says so. */
static void set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int conn_channel_new(struct conn_channel **out, int rfd, int wfd)
{
	struct conn_channel *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		goto fail;
	c->io = (struct stream){ &stream_fd, NULL, rfd, wfd };
	c->deadline = -1;
	conn_frame_reader_init(&c->reader, CHAN_DEFAULT_MAX_SIZE);
	if (conn_buffer_init(&c->rx, CHAN_BUF_START) ||
	    conn_buffer_init(&c->tx, CHAN_BUF_START))
		goto fail;
	set_nonblocking(rfd);
	set_nonblocking(wfd);
	*out = c;
	return 0;
fail:
	if (c) {
		conn_buffer_free(&c->rx);
		conn_buffer_free(&c->tx);
		free(c);
	}
	close(rfd);
	if (wfd != rfd)
		close(wfd);
	return CONN_ENOMEM;
}

void conn_channel_free(struct conn_channel *c)
{
	if (c == NULL)
		return;
	c->io.ops->release(&c->io);
	close(c->io.rfd);
	if (c->io.wfd != c->io.rfd && c->io.wfd >= 0)
		close(c->io.wfd);
	conn_buffer_free(&c->rx);
	conn_buffer_free(&c->tx);
	free(c);
}

struct stream *chan_stream(struct conn_channel *c)
{
	return &c->io;
}

bool conn_channel_has_buffered_input(const struct conn_channel *c)
{
	return c->io.ops->pending(&c->io) > 0;
}

int conn_channel_rfd(const struct conn_channel *c)
{
	return c->io.rfd;
}

int conn_channel_wfd(const struct conn_channel *c)
{
	return c->io.wfd;
}

void conn_channel_set_max_size(struct conn_channel *c, uint64_t max_size)
{
	c->reader.max_size = max_size;
}

void conn_channel_set_deadline(struct conn_channel *c, int64_t deadline_ms)
{
	c->deadline = deadline_ms;
	c->deadline_set_at = conn_clock_ms();
}

void conn_channel_set_stop_flag(struct conn_channel *c,
				volatile sig_atomic_t *stop)
{
	c->stop = stop;
}

void conn_channel_set_log(struct conn_channel *c, conn_log_fn *log,
			  void *ctx, bool trace)
{
	c->log = log;
	c->log_ctx = ctx;
	c->trace = trace && log != NULL;
}

void conn_channel_set_handshake_tap(struct conn_channel *c,
				    conn_handshake_tap_fn *tap, void *ctx)
{
	c->tap = tap;
	c->tap_ctx = ctx;
}

void chan_tap_handshake(const struct conn_channel *c, bool sent,
			const uint8_t *message, size_t size)
{
	if (c->tap)
		c->tap(c->tap_ctx, sent, message, size);
}

const char *conn_channel_detail(const struct conn_channel *c)
{
	return c->detail;
}

void chan_set_detail(struct conn_channel *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

int64_t chan_deadline_span(const struct conn_channel *c)
{
	return c->deadline < 0 ? -1 : c->deadline - c->deadline_set_at;
}

void chan_log_target(const struct conn_channel *c, conn_log_fn **log,
		     void **ctx)
{
	*log = c->log;
	*ctx = c->log_ctx;
}

bool chan_tracing(const struct conn_channel *c)
{
	return c->trace;
}

void chan_log(struct conn_channel *c, enum conn_log_level level,
	      const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (c->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log(c->log_ctx, level, line);
}

void conn_channel_trace_frame(struct conn_channel *c, char dir,
			      const struct conn_piece *p)
{
	char shown[TRACE_BYTES * 4 + 8];

	if (!c->trace)
		return;
	conn_escape(shown, sizeof(shown), p->data, p->size, TRACE_BYTES);
	chan_log(c, CONN_LOG_TRACE, "%c %llu bytes \"%s\"%s", dir,
		 (unsigned long long)p->total, shown,
		 p->total > TRACE_BYTES ? "..." : "");
}

size_t conn_escape(char *out, size_t capacity, const uint8_t *data,
		   size_t len, size_t limit)
{
	size_t i, n = 0;

	if (capacity == 0)
		return 0;
	for (i = 0; i < len && i < limit; i++) {
		char one[5];
		uint8_t ch = data[i];

		if (ch == '\n')
			strcpy(one, "\\n");
		else if (ch == '\t')
			strcpy(one, "\\t");
		else if (ch == '\r')
			strcpy(one, "\\r");
		else if (ch == '\\' || ch == '"')
			snprintf(one, sizeof(one), "\\%c", ch);
		else if (ch >= 0x20 && ch < 0x7f)
			snprintf(one, sizeof(one), "%c", ch);
		else
			snprintf(one, sizeof(one), "\\x%02x", ch);
		if (n + strlen(one) + 1 > capacity)
			break;
		strcpy(out + n, one);
		n += strlen(one);
	}
	out[n] = '\0';
	return n;
}

int chan_wait(struct conn_channel *c, int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int timeout, rc;

	/* A TLS session may hold bytes poll() cannot see. */
	if ((events & POLLIN) && fd == c->io.rfd &&
	    conn_channel_has_buffered_input(c))
		return 0;
	for (;;) {
		if (c->stop && *c->stop)
			return CONN_EINTR;
		timeout = -1;
		if (c->deadline >= 0) {
			int64_t left = c->deadline - conn_clock_ms();

			if (left <= 0)
				return CONN_ETIMEDOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		rc = poll(&pfd, 1, conn_stop_check_ms(timeout));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return CONN_EIO;
	}
}

int conn_channel_read_some(struct conn_channel *c)
{
	size_t room, n;
	int rc;

	/* A read that filled the queue means bulk traffic: full size. */
	if (c->rx_filled && c->rx.cap < CHAN_BUF_SIZE &&
	    conn_buffer_reserve(&c->rx, CHAN_BUF_SIZE - conn_buffer_len(&c->rx),
				SIZE_MAX))
		return CONN_ENOMEM;
	/* The call only when there is no room: a read per message. */
	if (conn_buffer_room(&c->rx) == 0 &&
	    conn_buffer_reserve(&c->rx, 1, SIZE_MAX))
		return CONN_ENOMEM;
	room = conn_buffer_room(&c->rx);
	rc = c->io.ops->read(&c->io, c->rx.data + c->rx.end, room, &n,
			     c->detail, sizeof(c->detail));
	if (rc)
		return rc;
	if (n > 0) {
		c->rx.end += n;
		c->rx_filled = n == room;
		return 0;
	}
	c->peer_eof = true;
	return 0;
}

bool conn_channel_has_message(const struct conn_channel *c)
{
	uint64_t length;
	size_t header_size;

	return conn_frame_reader_is_idle(&c->reader) &&
	       conn_frame_header_decode(&length, &header_size,
					c->rx.data + c->rx.start,
					conn_buffer_len(&c->rx)) == 0 &&
	       length <= conn_buffer_len(&c->rx) - header_size;
}

int chan_grow(struct conn_channel *c)
{
	if (conn_buffer_reserve(&c->rx, CHAN_BUF_SIZE, SIZE_MAX) ||
	    conn_buffer_reserve(&c->tx, CHAN_BUF_SIZE, SIZE_MAX))
		return CONN_ENOMEM;
	return 0;
}

/* One write of the stream's, of the bytes from tx's start to limit. */
static int chan_stream_write(struct conn_channel *c, size_t limit,
			     size_t *put)
{
	struct iovec iov = { c->tx.data + c->tx.start, limit - c->tx.start };

	return c->io.ops->writev(&c->io, &iov, 1, put, c->detail,
				 sizeof(c->detail));
}

static int chan_write_some(struct conn_channel *c, size_t limit)
{
	size_t n;
	int rc;

	while (c->tx.start < limit) {
		rc = chan_stream_write(c, limit, &n);
		if (rc)
			return rc == CONN_EAGAIN ? 0 : rc;
		conn_buffer_consume(&c->tx, n);
		if (conn_buffer_len(&c->tx) == 0)
			break;	/* the queue rewound: limit is stale */
	}
	return 0;
}

int conn_channel_write_bytes(struct conn_channel *c, struct conn_buffer *b,
			     size_t limit)
{
	struct iovec iov;
	size_t n;
	int rc;

	while (b->start < limit) {
		iov = (struct iovec){ b->data + b->start, limit - b->start };
		rc = c->io.ops->writev(&c->io, &iov, 1, &n, c->detail,
				       sizeof(c->detail));
		if (rc)
			return rc == CONN_EAGAIN ? 0 : rc;
		conn_buffer_consume(b, n);
		if (conn_buffer_len(b) == 0)
			break;	/* the queue rewound: limit is stale */
	}
	return 0;
}

int conn_channel_write_span(size_t *put, struct conn_channel *c,
			    const void *data, size_t len)
{
	struct iovec iov = { (void *)data, len };
	int rc;

	*put = 0;
	if (len == 0)
		return 0;
	rc = c->io.ops->writev(&c->io, &iov, 1, put, c->detail,
			       sizeof(c->detail));
	return rc == CONN_EAGAIN ? 0 : rc;
}

int conn_channel_peek_frames(const uint8_t **data, size_t *len,
			     uint64_t *count, const struct conn_channel *c,
			     size_t max)
{
	const uint8_t *bytes = c->rx.data + c->rx.start;
	size_t have = conn_buffer_len(&c->rx), at = 0, header_size;
	uint64_t length, n = 0;

	if (max > have)
		max = have;
	/* A frame half taken already is the piece functions' to finish. */
	while (conn_frame_reader_is_idle(&c->reader) &&
	       conn_frame_header_decode(&length, &header_size, bytes + at,
					max - at) == 0 &&
	       length <= c->reader.max_size &&
	       length <= max - at - header_size) {
		at += header_size + (size_t)length;
		n++;
	}
	*data = bytes;
	*len = at;
	*count = n;
	return n ? 0 : CONN_EAGAIN;
}

void conn_channel_consume_frames(struct conn_channel *c, size_t n)
{
	conn_buffer_consume(&c->rx, n);
}

int conn_channel_read_header(struct conn_channel *c)
{
	size_t n;
	int rc;

	if (c->io.ops != &stream_fd || conn_buffer_len(&c->rx) > 0 ||
	    !conn_frame_reader_is_idle(&c->reader))
		return conn_channel_read_some(c);
	if (conn_buffer_reserve(&c->rx, CONN_FRAME_HEADER_MAX, SIZE_MAX))
		return CONN_ENOMEM;
	rc = c->io.ops->read(&c->io, c->rx.data + c->rx.end,
			     CONN_FRAME_HEADER_MAX, &n, c->detail,
			     sizeof(c->detail));
	if (rc)
		return rc;
	c->rx.end += n;
	if (n == 0)
		c->peer_eof = true;
	return 0;
}

int conn_channel_hand_over(uint64_t *left, struct conn_channel *c,
			   const struct conn_channel *dst)
{
	struct conn_frame_reader *r = &c->reader;

	/* Under TLS a descriptor carries records, not the payload. */
	if (c->io.ops != &stream_fd || dst->io.ops != &stream_fd ||
	    !r->in_payload ||
	    conn_buffer_len(&c->rx) > 0 || c->peer_eof ||
	    r->offset >= r->total)
		return CONN_EAGAIN;
	*left = r->total - r->offset;
	r->offset = r->total;
	r->in_payload = false;
	r->header_have = 0;
	r->messages++;
	return 0;
}

int chan_flush(struct conn_channel *c)
{
	int rc;

	while (conn_buffer_len(&c->tx) > 0) {
		rc = chan_write_some(c, c->tx.end);
		if (rc)
			return rc;
		if (conn_buffer_len(&c->tx) == 0)
			break;
		rc = chan_wait(c, c->io.wfd, POLLOUT);
		if (rc)
			return rc;
	}
	return 0;
}

/* Puts the detail for a reader error (sizes, header bytes) in c. */
static int chan_reader_error(struct conn_channel *c, int err)
{
	const uint8_t *header;
	size_t n = conn_frame_reader_header(&c->reader, &header);
	char shown[64];

	conn_escape(shown, sizeof(shown), header, n, 12);
	if (err == CONN_ETOOBIG)
		detail_set(c->detail, sizeof(c->detail),
			   "the peer announced a %llu-byte message (header "
			   "\"%s\"), over the --max-size limit of %llu: it "
			   "does not speak this protocol",
			   (unsigned long long)c->reader.total, shown,
			   (unsigned long long)c->reader.max_size);
	else if (err == CONN_EPROTO)
		detail_set(c->detail, sizeof(c->detail),
			   "invalid message length (header \"%s\"): the peer "
			   "does not speak this protocol", shown);
	return err;
}

/* Writes header and payload straight from the caller's memory, for a
 * payload too big to be worth copying into the queue. */
static int chan_writev_all(struct conn_channel *c, struct iovec *iov, int n)
{
	size_t w;
	int rc;

	while (n > 0) {
		rc = c->io.ops->writev(&c->io, iov, n, &w, c->detail,
				       sizeof(c->detail));
		if (rc == CONN_EAGAIN) {
			rc = chan_wait(c, c->io.wfd, POLLOUT);
			if (rc)
				return rc;
			continue;
		}
		if (rc)
			return rc;
		for (; n > 0 && w >= iov->iov_len; iov++, n--)
			w -= iov->iov_len;
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= w;
			/* The socket is full: a retry now would write a
			 * sliver; wait until the reader has made room. */
			if (c->io.ops == &stream_fd) {
				rc = chan_wait(c, c->io.wfd, POLLOUT);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

/* conn_channel_queue()'s way for a message that needs more than a store:
 * traced, too big for the queue, or with no room left in it. */
static __attribute__((noinline)) int
chan_queue_slow(struct conn_channel *c, const void *data, size_t size)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	size_t header_size = conn_frame_header_encode(header, size);
	struct conn_piece p = { data, size, 0, size };
	struct iovec iov[2] = { { header, header_size },
				{ (void *)data, size } };
	int rc = 0;

	conn_channel_trace_frame(c, '>', &p);
	if (conn_buffer_len(&c->tx) + header_size + size > CHAN_BUF_SIZE)
		rc = chan_flush(c);
	if (rc == 0 && size >= CHAN_BUF_SIZE / 2)
		return chan_writev_all(c, iov, 2);
	return rc ? rc : conn_channel_append(c, data, size);
}

/* A small message into a queue with room is one store of its header and
 * its payload, no call but memcpy: every message sent goes through here
 * (the general way cost twice the instructions of a 64-byte message, by
 * callgrind). */
int conn_channel_queue(struct conn_channel *c, const void *data, size_t size)
{
	struct conn_buffer *tx = &c->tx;
	uint8_t *at = tx->data + tx->end;

	if (size >= CHAN_BUF_SIZE / 2 || c->trace ||
	    conn_buffer_room(tx) < 4 + size ||
	    conn_buffer_len(tx) + 4 + size > CHAN_BUF_SIZE)
		return chan_queue_slow(c, data, size);
	tx->end += 4 + size;
	conn_buffer_commit(tx);
	frame_put_be32(at, (uint32_t)size);
	memcpy(at + 4, data, size);	/* last: nothing to keep across it */
	return 0;
}

int conn_channel_append(struct conn_channel *c, const void *data,
			size_t size)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	int rc = conn_buffer_append(&c->tx, header,
				    conn_frame_header_encode(header, size));

	if (rc == 0)
		rc = conn_buffer_append(&c->tx, data, size);
	if (rc == 0)
		conn_buffer_commit(&c->tx);
	return rc;
}

int conn_channel_append_piece(struct conn_channel *c,
			      const struct conn_piece *piece)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	int rc = 0;

	if (conn_piece_is_first(piece)) {
		if (c->trace)	/* the call only when tracing */
			conn_channel_trace_frame(c, '>', piece);
		rc = conn_buffer_append(&c->tx, header,
					conn_frame_header_encode(header,
								 piece->total));
	}
	if (rc == 0)
		rc = conn_buffer_append(&c->tx, piece->data, piece->size);
	if (rc == 0 && conn_piece_is_last(piece))
		conn_buffer_commit(&c->tx);
	return rc;
}

/* A piece this big, with nothing queued before it, goes out from the
 * caller's memory: copying it into tx first cost the sender a third of its
 * CPU on a stream of 1 MiB messages. */
#define CHAN_DIRECT_MIN (16 * 1024)

/* Whether a piece may go out before its message is whole: a whole message,
 * or one too big for tx, whose start conn_buffer_flush_limit() lets go out
 * anyway.  A smaller message waits whole in tx, so that input failing
 * inside it sends none of it.  What tx holds goes first, in the same
 * write: whole messages, or this big one's start, all free to go; but
 * only a little of it (a message's tail cut off by tx's room, a write's
 * leftover), as a lot means the stream is full and the piece would only
 * be queued after a write that fails. */
static bool chan_may_send_direct(const struct conn_channel *c,
				 const struct conn_piece *p)
{
	return conn_buffer_len(&c->tx) < CHAN_DIRECT_MIN &&
	       p->size >= CHAN_DIRECT_MIN &&
	       ((conn_piece_is_first(p) && conn_piece_is_last(p)) ||
		p->total >= CHAN_BUF_SIZE);
}

/* Of put bytes written from tx's start on, those that were tx's leave it;
 * the rest, the piece's. */
static size_t chan_take_queued(struct conn_channel *c, size_t queued,
			       size_t put)
{
	size_t n = put < queued ? put : queued;

	conn_buffer_consume(&c->tx, n);
	return put - n;
}

int chan_send_piece(struct conn_channel *c, const struct conn_piece *p)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	struct iovec iov[3];
	size_t queued = conn_buffer_len(&c->tx), header_size = 0, put = 0;
	int n = 0, rc;

	if (!chan_may_send_direct(c, p))
		return conn_channel_append_piece(c, p);
	if (queued)
		iov[n++] = (struct iovec){ c->tx.data + c->tx.start, queued };
	if (conn_piece_is_first(p)) {
		if (c->trace)
			conn_channel_trace_frame(c, '>', p);
		header_size = conn_frame_header_encode(header, p->total);
		iov[n++] = (struct iovec){ header, header_size };
	}
	iov[n++] = (struct iovec){ (void *)p->data, p->size };
	/* A failed write queues the whole piece: the flush that follows meets
	 * the failure again and reports it with its detail.  After
	 * CONN_EAGAIN the queue offers the same bytes again, as a TLS session
	 * that made records of them needs. */
	rc = c->io.ops->writev(&c->io, iov, n, &put, c->detail,
			       sizeof(c->detail));
	if (rc)
		put = 0;
	put = chan_take_queued(c, queued, put);
	if (put < header_size)
		rc = conn_buffer_append(&c->tx, header + put,
					header_size - put);
	else
		rc = 0;
	put = put > header_size ? put - header_size : 0;
	if (rc == 0)
		rc = conn_buffer_append(&c->tx, p->data + put, p->size - put);
	if (rc == 0 && conn_piece_is_last(p))
		conn_buffer_commit(&c->tx);
	return rc;
}

int conn_channel_append_frames(struct conn_channel *c, const void *frames,
			       size_t size)
{
	int rc = conn_buffer_append(&c->tx, frames, size);

	if (rc == 0)
		conn_buffer_commit(&c->tx);
	return rc;
}

size_t conn_channel_queued(const struct conn_channel *c)
{
	return conn_buffer_len(&c->tx);
}

int conn_channel_write_some(struct conn_channel *c)
{
	return chan_write_some(c, c->tx.end);
}

size_t chan_tx_room(struct conn_channel *c, size_t want)
{
	return conn_buffer_room(&c->tx) >= want ? conn_buffer_room(&c->tx)
					: conn_buffer_compact(&c->tx);
}

void chan_drop_partial(struct conn_channel *c)
{
	c->tx.end = c->tx.mark > c->tx.start ? c->tx.mark : c->tx.start;
}

bool chan_may_write(const struct conn_channel *c)
{
	return conn_buffer_flush_limit(&c->tx) > c->tx.start;
}

int chan_write_whole(struct conn_channel *c)
{
	return chan_write_some(c, conn_buffer_flush_limit(&c->tx));
}

int conn_channel_flush(struct conn_channel *c)
{
	return chan_flush(c);
}

int conn_channel_send(struct conn_channel *c, const void *data, size_t size)
{
	int rc = conn_channel_queue(c, data, size);

	return rc ? rc : chan_flush(c);
}

/* At the peer's end of stream: CONN_ERESET between messages, else
 * CONN_ETRUNC with the detail saying how much of the message came. */
static int chan_end_of_stream(struct conn_channel *c)
{
	if (conn_frame_reader_is_idle(&c->reader) &&
	    conn_buffer_len(&c->rx) == 0)
		return CONN_ERESET;
	if (!c->reader.in_payload)
		detail_set(c->detail, sizeof(c->detail),
			   "connection closed in the middle of a message "
			   "header");
	else
		detail_set(c->detail, sizeof(c->detail),
			   "connection closed in the middle of a message "
			   "(%llu of %llu bytes received)",
			   (unsigned long long)c->reader.offset,
			   (unsigned long long)c->reader.total);
	return CONN_ETRUNC;
}

/* Waits for and reads more bytes; CONN_ERESET or CONN_ETRUNC at the end. */
static int chan_fill(struct conn_channel *c)
{
	int rc;

	for (;;) {
		if (c->peer_eof)
			return chan_end_of_stream(c);
		rc = conn_channel_read_some(c);
		if (rc == 0)
			return 0;
		if (rc != CONN_EAGAIN)
			return rc;
		rc = chan_wait(c, c->io.rfd, POLLIN);
		if (rc)
			return rc;
	}
}

/* The one frame-reader loop over rx: the next piece of at most max_piece
 * bytes, CONN_EAGAIN when rx holds no more of one, or a reader error with
 * its detail. */
/* Inline, and a whole piece returned first: every message received goes
 * through here (a call and the error tests cost 60% more instructions a
 * 64-byte message, by callgrind). */
static inline __attribute__((always_inline)) int
chan_next_piece(struct conn_channel *c, struct conn_piece *piece,
		size_t max_piece)
{
	size_t used = frame_take_whole(&c->reader, piece,
				       c->rx.data + c->rx.start,
				       conn_buffer_len(&c->rx), max_piece);
	int rc;

	if (used) {
		conn_buffer_consume(&c->rx, used);
		return 0;
	}
	for (;;) {
		rc = conn_frame_reader_next(&c->reader, piece, &used,
					    c->rx.data + c->rx.start,
					    conn_buffer_len(&c->rx), max_piece);
		conn_buffer_consume(&c->rx, used);
		if (rc == 0)
			return 0;
		if (rc != CONN_EAGAIN || used == 0)
			break;
	}
	if (rc == CONN_ETOOBIG || rc == CONN_EPROTO)
		return chan_reader_error(c, rc);
	return rc;
}

/* conn_channel_recv_piece() past its common case: the reader's loop,
 * reading more as it needs.  Apart, so that the common case pays for no
 * saved registers. */
static __attribute__((noinline)) int
chan_recv_piece_slow(struct conn_channel *c, struct conn_piece *piece)
{
	int rc;

	for (;;) {
		rc = chan_next_piece(c, piece, SIZE_MAX);
		if (rc != CONN_EAGAIN)
			return rc;
		rc = chan_fill(c);
		if (rc)
			return rc;
	}
}

int conn_channel_recv_piece(struct conn_channel *c, struct conn_piece *piece)
{
	size_t used = frame_take_whole(&c->reader, piece,
				       c->rx.data + c->rx.start,
				       conn_buffer_len(&c->rx), SIZE_MAX);

	if (used == 0)
		return chan_recv_piece_slow(c, piece);
	conn_buffer_consume(&c->rx, used);
	return 0;
}

int conn_channel_take_piece(struct conn_piece *piece, struct conn_channel *c,
			    size_t max_piece)
{
	int rc = chan_next_piece(c, piece, max_piece);

	if (rc == CONN_EAGAIN && c->peer_eof)
		return chan_end_of_stream(c);
	return rc;
}

int conn_channel_take_message(struct conn_piece *msg, struct conn_channel *c)
{
	if (!conn_channel_has_message(c))
		return CONN_EAGAIN;
	return chan_next_piece(c, msg, SIZE_MAX);
}

int conn_channel_next_size(uint64_t *size, const struct conn_channel *c)
{
	size_t header_size;

	return conn_frame_header_decode(size, &header_size,
					c->rx.data + c->rx.start,
					conn_buffer_len(&c->rx));
}

size_t conn_channel_received(const struct conn_channel *c)
{
	return conn_buffer_len(&c->rx);
}

bool conn_channel_peer_eof(const struct conn_channel *c)
{
	return c->peer_eof;
}

void conn_channel_discard_input(struct conn_channel *c)
{
	conn_buffer_consume(&c->rx, conn_buffer_len(&c->rx));
	c->peer_eof = true;
}

/* Peeks at the next message's length without consuming anything. */
static int chan_peek_length(struct conn_channel *c, uint64_t *length)
{
	size_t header_size;
	int rc;

	if (!conn_frame_reader_is_idle(&c->reader)) {
		*length = c->reader.total;
		return 0;
	}
	for (;;) {
		rc = conn_frame_header_decode(length, &header_size,
					      c->rx.data + c->rx.start,
					      conn_buffer_len(&c->rx));
		if (rc == CONN_EPROTO) {
			char shown[64];

			conn_escape(shown, sizeof(shown),
				    c->rx.data + c->rx.start, 4, 4);
			detail_set(c->detail, sizeof(c->detail),
				   "invalid message length (header \"%s\"): "
				   "the peer does not speak this protocol",
				   shown);
		}
		if (rc != CONN_EAGAIN)
			return rc;
		rc = chan_fill(c);
		if (rc)
			return rc;
	}
}

int conn_channel_recv(struct conn_channel *c, size_t *size, void *buf,
		      size_t capacity)
{
	struct conn_piece p;
	uint64_t length = 0;
	size_t got = 0;
	int rc;

	rc = chan_peek_length(c, &length);
	if (rc == 0 && length > capacity) {
		*size = length > SIZE_MAX ? SIZE_MAX : (size_t)length;
		return CONN_ESHORTBUF;
	}
	while (rc == 0) {
		rc = conn_channel_recv_piece(c, &p);
		if (rc)
			break;
		if (p.offset == 0)
			conn_channel_trace_frame(c, '<', &p);
		if (p.size)
			memcpy((uint8_t *)buf + got, p.data, p.size);
		got += p.size;
		if (conn_piece_is_last(&p)) {
			*size = got;
			return 0;
		}
	}
	return rc;
}

int conn_channel_shutdown(struct conn_channel *c)
{
	int rc = chan_flush(c);

	if (rc)
		return rc;
	if (c->io.wfd != c->io.rfd) {
		close(c->io.wfd);
		c->io.wfd = -1;
		return 0;
	}
	return c->io.ops->shutdown(&c->io, c->detail, sizeof(c->detail));
}
