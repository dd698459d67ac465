/* session.c - what a tool runs: accept or connect, authenticate, relay. */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void say(conn_log_fn *log, void *ctx, enum conn_log_level level,
		const char *fmt, const char *arg)
{
	char line[512];

	if (log == NULL)
		return;
	snprintf(line, sizeof(line), fmt, arg);
	log(ctx, level, line);
}

static int authenticate(char *detail, size_t capacity,
			struct conn_channel *c, const struct conn_options *o,
			enum conn_role role)
{
	struct conn_auth a;
	int rc;

	conn_auth_init(&a, role, o->key, o->digest, o->auth_flags);
	conn_channel_set_deadline(c, o->handshake_timeout_ms ?
				  conn_clock_ms() + o->handshake_timeout_ms
				  : -1);
	rc = conn_channel_authenticate(c, &a);
	if (rc) {
		detail_set(detail, capacity, "%s", conn_channel_detail(c));
		return rc;
	}
	if (o->verbose)
		chan_log(c, CONN_LOG_TRACE, "authenticated: we asked for %s, "
			 "the peer answered with %s; we answered with %s",
			 conn_digest_name(o->digest), a.peer_digest,
			 a.our_reply_digest);
	return 0;
}

/* Authenticates on fd, then relays stdin and stdout over it. */
static int serve(char *detail, size_t capacity, int fd,
		 const struct conn_options *o, enum conn_role role,
		 volatile sig_atomic_t *stop, conn_log_fn *log, void *ctx)
{
	struct conn_relay_config cfg = {
		.in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO,
		.in_format = o->in_format, .out_format = o->out_format,
		.chunk_size = o->chunk_size, .max_size = o->max_size,
		.data = o->data, .data_len = o->data_len,
		.data_count = o->data_count, .count = o->count,
		.send_only = o->send_only, .recv_only = o->recv_only,
		.close_on_eof = o->close_on_eof, .no_key = o->key == NULL,
		.stop = stop,
	};
	struct conn_channel *c = NULL;
	int rc;

	rc = conn_channel_new(&c, fd, fd);
	if (rc)
		return rc;
	conn_channel_set_log(c, log, ctx, o->verbose > 0);
	conn_channel_set_stop_flag(c, stop);
	if (o->key)
		rc = authenticate(detail, capacity, c, o, role);
	if (rc == 0)
		rc = conn_relay_run(detail, capacity, c, &cfg);
	conn_channel_free(c);
	return rc;
}

static int parse_address(char *detail, size_t capacity,
			 struct conn_address *a, const char *text)
{
	if (conn_address_parse(a, text, strlen(text)) == 0)
		return 0;
	detail_set(detail, capacity, "invalid address '%s' (HOST:PORT, "
		   "[IPV6]:PORT, :PORT, unix:PATH or @NAME)", text);
	return CONN_EADDR;
}

int conn_session_listen(char *detail, size_t capacity,
			const struct conn_options *o,
			volatile sig_atomic_t *stop, conn_log_fn *log,
			void *log_ctx)
{
	struct conn_listener *l = NULL;
	struct conn_address a;
	char peer[160];
	int rc, fd = -1;

	rc = parse_address(detail, capacity, &a, o->address);
	if (rc == 0)
		rc = conn_listener_open(&l, detail, capacity, &a, o->family);
	if (rc)
		return rc;
	say(log, log_ctx, CONN_LOG_NOTICE, "listening on %s",
	    conn_listener_name(l));
	rc = conn_listener_accept(&fd, peer, sizeof(peer), l, stop);
	/* One connection: stop listening now, the socket file goes too. */
	conn_listener_close(l);
	if (rc)
		return rc;
	if (o->verbose)
		say(log, log_ctx, CONN_LOG_TRACE, "connection from %s", peer);
	return serve(detail, capacity, fd, o, CONN_ROLE_LISTENER, stop, log,
		     log_ctx);
}

int conn_session_connect(char *detail, size_t capacity,
			 const struct conn_options *o,
			 volatile sig_atomic_t *stop, conn_log_fn *log,
			 void *log_ctx)
{
	struct conn_address a;
	int rc, fd = -1;

	rc = parse_address(detail, capacity, &a, o->address);
	if (rc == 0)
		rc = conn_connect(&fd, detail, capacity, &a, o->family,
				  o->wait_ms, stop);
	if (rc)
		return rc;
	if (o->verbose)
		say(log, log_ctx, CONN_LOG_TRACE, "connected to %s",
		    o->address);
	return serve(detail, capacity, fd, o, CONN_ROLE_CLIENT, stop, log,
		     log_ctx);
}
