/*
 * record.c - conn-listen --forward --record FILE: each forwarded
 * connection as two TCP conversations of the capture, as a capture on
 * the proxy's host would show them: the client's leg, client to
 * listener, and the target's leg, the proxy's socket to TARGET; each with
 * its own handshake, then the frames as they passed.
 *
 * The capture is opened before the -k server forks (options.c); every
 * child records its own connection's two legs, numbered 2N-1 and 2N after
 * the connection's number N, each packet one write(2) to the file opened
 * for appending (capture-write.c): the file stays valid with any number
 * of children at once, and a child holds no more than its two legs.  A
 * write that fails stops the child's recording with one warning; the
 * connection goes on.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A handshake message as it went on the wire: frame header, payload. */
#define RECORD_FRAME_MAX (CONN_FRAME_HEADER_MAX + CONN_HANDSHAKE_FRAME_MAX)

bool record_on(const struct record_conn *r)
{
	return r->cap != NULL;
}

/* A failure to write: told once, then the process records no more. */
static void record_stop(struct record_conn *r)
{
	char line[400];

	if (r->log) {
		snprintf(line, sizeof(line), "--record %s: %s; no more is "
			 "recorded", r->path, conn_capture_detail(r->cap));
		r->log(r->log_ctx, CONN_LOG_WARNING, line);
	}
	r->cap = NULL;
}

void record_bytes(struct record_conn *r, int leg, int dir,
		  const void *bytes, size_t n)
{
	int rc;

	if (!record_on(r) || r->id[leg] == 0 || n == 0)
		return;
	rc = conn_capture_write(r->cap, r->id[leg], dir, bytes, n, -1);
	if (rc == CONN_EIO)
		record_stop(r);
}

/* A leg's socket as a conversation of the capture; the one who connected
 * (the client, or we to TARGET) is its client side. */
static void record_connect(struct record_conn *r, int leg, int fd,
			   bool we_connected)
{
	struct sockaddr_storage ours, theirs;
	socklen_t ours_len = sizeof(ours), theirs_len = sizeof(theirs);
	const struct sockaddr *o = (const void *)&ours;
	const struct sockaddr *t = (const void *)&theirs;

	if (getsockname(fd, (void *)&ours, &ours_len) < 0)
		o = NULL;
	if (getpeername(fd, (void *)&theirs, &theirs_len) < 0)
		t = NULL;
	if (conn_capture_connect(r->cap, &r->id[leg], we_connected ? o : t,
				 we_connected ? t : o, -1) == CONN_EIO)
		record_stop(r);
}

/* A handshake message, its frame header before it. */
static void record_handshake(struct record_conn *r, int leg, int dir,
			     const uint8_t *message, size_t size)
{
	uint8_t frame[RECORD_FRAME_MAX];
	size_t n;

	if (size > CONN_HANDSHAKE_FRAME_MAX)
		return;		/* refused before it was taken */
	n = conn_frame_header_encode(frame, size);
	memcpy(frame + n, message, size);
	record_bytes(r, leg, dir, frame, n + size);
}

/* On the client's leg we listen: what we send goes from the server. */
static void tap_client(void *ctx, bool sent, const uint8_t *message,
		       size_t size)
{
	record_handshake(ctx, RECORD_CLIENT, sent ? 1 : 0, message, size);
}

static void tap_target(void *ctx, bool sent, const uint8_t *message,
		       size_t size)
{
	record_handshake(ctx, RECORD_TARGET, sent ? 0 : 1, message, size);
}

void record_start(struct record_conn *r, const struct cli_options *o,
		  struct conn_channel *client, conn_log_fn *log, void *ctx)
{
	*r = (struct record_conn){ .cap = o->capture, .path = o->record,
				   .log = log, .log_ctx = ctx };
	if (!record_on(r))
		return;
	/* Fails only after a connection was recorded (no -k): the ids
	 * then go on from there. */
	(void)!conn_capture_number_from(r->cap, 2 * o->conn_serial - 1);
	record_connect(r, RECORD_CLIENT, conn_channel_rfd(client), false);
	conn_channel_set_handshake_tap(client, tap_client, r);
}

void record_target(struct record_conn *r, struct conn_channel *target)
{
	if (!record_on(r))
		return;
	record_connect(r, RECORD_TARGET, conn_channel_rfd(target), true);
	conn_channel_set_handshake_tap(target, tap_target, r);
}

void record_end(struct record_conn *r)
{
	int leg;

	for (leg = RECORD_CLIENT; leg <= RECORD_TARGET; leg++)
		if (record_on(r) && r->id[leg] &&
		    conn_capture_end(r->cap, r->id[leg], -1) == CONN_EIO)
			record_stop(r);
}
