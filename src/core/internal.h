/*
 * internal.h - what the core's files share with each other and nobody else.
 * Cross-file helpers carry their module's prefix (chan_, ...).
 */
#ifndef CONN_INTERNAL_H
#define CONN_INTERNAL_H

#include "conn.h"
#include "detail.h"

#include <arpa/inet.h>	/* htonl(), ntohl() */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* ---------------------------------------------------------------- channel */

/* struct conn_channel is channel.c's alone; the rest of the core uses the
 * public API and these. */

/* Gives rx and tx their full size, for the relay's bulk traffic. */
CONN_NODISCARD
int chan_grow(struct conn_channel *c);
/* Room at the end of tx for a piece, sliding the queue to the front when
 * less than want is left (relay.c cuts pieces to fit). */
size_t chan_tx_room(struct conn_channel *c, size_t want);
/* conn_channel_append_piece(), but a big piece with nothing queued before
 * it is written first, from p's memory, and only what the stream does not
 * take is queued.  0 or an error of the queue's (a failed write is met
 * again, with its detail, by the next flush). */
CONN_NODISCARD
int chan_send_piece(struct conn_channel *c, const struct conn_piece *p);
/* Forgets the unfinished message at the end of tx: it will never be whole. */
void chan_drop_partial(struct conn_channel *c);
/* True when tx holds what may go now: whole messages, or the start of one
 * too big to hold back (conn_buffer_flush_limit()). */
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
/* A handshake message to the channel's tap, if it has one. */
void chan_tap_handshake(const struct conn_channel *c, bool sent,
			const uint8_t *message, size_t size);
/* Where the channel logs to (progress lines go there too). */
void chan_log_target(const struct conn_channel *c, conn_log_fn **log,
		     void **ctx);
/* True when frames are traced. */
bool chan_tracing(const struct conn_channel *c);
void chan_log(struct conn_channel *c, enum conn_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ frame */

/* Big-endian 32-bit words, the frame header's (inline: one per message;
 * htonl() and a 4-byte memcpy() compile to a swap and a store). */
static inline void frame_put_be32(uint8_t *p, uint32_t v)
{
	uint32_t be = htonl(v);

	memcpy(p, &be, 4);
}

static inline uint32_t frame_get_be32(const uint8_t *p)
{
	uint32_t be;

	memcpy(&be, p, 4);
	return ntohl(be);
}

/*
 * The receive path's common case, inline: an idle reader before a whole
 * short frame of at most max_piece payload bytes in bytes (n of them).
 * Yields it as one piece and counts it, as conn_frame_reader_next() would,
 * and returns the bytes it took; 0 for anything else (a long or invalid
 * header, a frame not all there, one over max_size), which
 * conn_frame_reader_next() then takes byte by byte.
 */
static inline size_t frame_take_whole(struct conn_frame_reader *r,
				      struct conn_piece *piece,
				      const uint8_t *bytes, size_t n,
				      size_t max_piece)
{
	uint32_t length;

	/* header_have is 0 between frames alone (in a payload it counts the
	 * header's bytes): idle. */
	if (n < 4 || r->header_have != 0)
		return 0;
	length = frame_get_be32(bytes);
	if (length > CONN_FRAME_SHORT_MAX || length > n - 4 ||
	    length > max_piece || (r->max_size && length > r->max_size))
		return 0;
	*piece = (struct conn_piece){ .data = bytes + 4, .size = length,
				      .offset = 0, .total = length };
	r->total = r->offset = length;
	r->messages++;
	return 4 + (size_t)length;
}

/* ------------------------------------------------------------------- auth */

/* The key's bytes, for tls.c's PSK. */
void auth_key_bytes(const struct conn_key *k, const uint8_t **bytes,
		    size_t *len);

/* The longest digest name of a "{name}" prefix ("sha3_384"). */
#define AUTH_DIGEST_NAME_MAX 8

/* Which digest a challenge (after "#CHALLENGE#") or a reply uses, as
 * CPython decides: 16 or 20 bytes are legacy MD5 with no prefix ("" in
 * name, AUTH_DIGEST_NAME_MAX + 1 bytes); otherwise a known "{name}" must
 * lead, *skip bytes long.  CONN_EAUTH if neither (probe.c too). */
CONN_NODISCARD
int auth_parse_digest_prefix(enum conn_digest *d, char *name, size_t *skip,
			     const uint8_t *msg, size_t len);

#endif /* CONN_INTERNAL_H */
