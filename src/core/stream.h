/*
 * stream.h - the byte stream under a channel: the descriptors themselves
 * (stream-fd.c), or a TLS session over them (tls.c).  The channel frames
 * and queues; the stream only moves bytes, so every tool and format works
 * over either.
 */
#ifndef CONN_STREAM_H
#define CONN_STREAM_H

#include "internal.h"

#include <sys/uio.h>

struct stream;

struct stream_ops {
	/* At most n bytes into buf: 0 with *got (0: the peer's end of
	 * stream), CONN_EAGAIN when none are ready, or an error with the
	 * detail set. */
	int (*read)(struct stream *s, void *buf, size_t n, size_t *got,
		    char *detail, size_t capacity);
	/* Some of iov's bytes: 0 with *put > 0, CONN_EAGAIN when none could
	 * go, or an error with the detail set.  After CONN_EAGAIN the caller
	 * offers the same bytes again (a TLS record may be half sent). */
	int (*writev)(struct stream *s, const struct iovec *iov, int n,
		      size_t *put, char *detail, size_t capacity);
	/* Bytes read from the descriptor but not yet returned: poll() does
	 * not see them, so a caller about to wait must read first. */
	size_t (*pending)(const struct stream *s);
	/* Ends our sending side (the descriptors stay open). */
	int (*shutdown)(struct stream *s, char *detail, size_t capacity);
	/* Frees ctx (the descriptors are the channel's to close). */
	void (*release)(struct stream *s);
};

struct stream {
	const struct stream_ops *ops;
	void *ctx;		/* the ops' own state: NULL for stream_fd */
	int rfd, wfd;
};

/* Plain descriptors: read(2), send(2) or write(2) for pipes. */
extern const struct stream_ops stream_fd;

/* The channel's stream, for tls.c to put a session on. */
struct stream *chan_stream(struct conn_channel *c);

#endif
