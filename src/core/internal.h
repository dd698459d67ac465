/*
 * internal.h - what the core's files share with each other and nobody else.
 * Cross-file helpers carry their module's prefix (chan_, ...).
 */
#ifndef CONN_INTERNAL_H
#define CONN_INTERNAL_H

#include "conn.h"
#include "detail.h"

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

/* ------------------------------------------------------------------- auth */

/* The key's bytes, for tls.c's PSK. */
void auth_key_bytes(const struct conn_key *k, const uint8_t **bytes,
		    size_t *len);

#endif /* CONN_INTERNAL_H */
