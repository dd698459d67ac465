/*
 * handle.c - conn-client --send-fd and --recv-fd: descriptors as
 * messages over a Unix socket, as multiprocessing.reduction's
 * send_handle() and recv_handle() pass them (the core's conn_fd_send()
 * and conn_fd_recv()), right after the handshake, before any message.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int handle_invalid(struct cli_options *o, const char *what)
{
	snprintf(o->detail, sizeof(o->detail), "%s", what);
	return CONN_EINVAL;
}

int handle_options_check(struct cli_options *o)
{
	const char *name = o->send_fd_given ? "--send-fd" : "--recv-fd";
	struct conn_address a;
	char why[160];

	if (!o->send_fd_given && !o->recv_fd)
		return 0;
	if (o->probe) {
		snprintf(o->detail, sizeof(o->detail),
			 "cannot use --probe with %s", name);
		return CONN_EINVAL;
	}
	/* The descriptor's byte goes on the socket itself, not in TLS. */
	if (o->tls.on) {
		snprintf(o->detail, sizeof(o->detail), "cannot use %s with %s",
			 name, o->tls.first);
		return CONN_EINVAL;
	}
	if (conn_address_from_text(&a, why, sizeof(why), o->address) == 0 &&
	    a.kind == CONN_ADDRESS_TCP) {
		snprintf(o->detail, sizeof(o->detail), "%s needs a Unix socket "
			 "ADDRESS (a path, unix:PATH or @NAME): descriptors "
			 "do not cross TCP", name);
		return CONN_EINVAL;
	}
	if (o->send_fd_given && fcntl(o->send_fd, F_GETFD) < 0) {
		snprintf(o->detail, sizeof(o->detail), "--send-fd %d: %s",
			 o->send_fd, strerror(errno));
		return CONN_EINVAL;
	}
	if (o->recv_fd && o->exec_argv == NULL)
		return handle_invalid(o, "--recv-fd needs --exec or --sh-exec "
				      "(the command gets the descriptor)");
	return 0;
}

/* The descriptor the peer passes, left open across exec for the command,
 * its number in CONN_FD. */
static int take_descriptor(char *detail, size_t capacity,
			   struct conn_channel *c, int64_t deadline,
			   volatile sig_atomic_t *stop)
{
	char number[16];
	int fd, rc;

	/* The byte that carries it must be the next on the wire. */
	if (conn_channel_received(c) > 0) {
		snprintf(detail, capacity, "--recv-fd: the peer sent a "
			 "message before the descriptor");
		return CONN_EPROTO;
	}
	rc = conn_fd_recv(&fd, detail, capacity, conn_channel_rfd(c),
			  deadline, stop);
	if (rc == CONN_ETIMEDOUT)
		snprintf(detail, capacity, "--recv-fd: the peer passed no "
			 "descriptor in time");
	if (rc)
		return rc;
	snprintf(number, sizeof(number), "%d", fd);
	if (fcntl(fd, F_SETFD, 0) < 0 || setenv("CONN_FD", number, 1) < 0) {
		snprintf(detail, capacity, "--recv-fd: %s", strerror(errno));
		return CONN_EIO;
	}
	return 0;
}

int handle_pass(char *detail, size_t capacity, struct conn_channel *c,
		const struct cli_options *o, volatile sig_atomic_t *stop)
{
	int64_t deadline = o->handshake_timeout_ms ?
			   conn_clock_ms() + o->handshake_timeout_ms : -1;
	int rc = 0;

	/* Our last handshake frame goes before the descriptor's byte. */
	conn_channel_set_deadline(c, deadline);
	if (o->send_fd_given) {
		rc = conn_channel_flush(c);
		if (rc == 0)
			rc = conn_fd_send(conn_channel_wfd(c), o->send_fd,
					  deadline, stop);
		if (rc && rc != CONN_EINTR)
			snprintf(detail, capacity, "--send-fd %d: cannot pass "
				 "it: %s", o->send_fd, conn_strerror(rc));
	}
	if (rc == 0 && o->recv_fd)
		rc = take_descriptor(detail, capacity, c, deadline, stop);
	conn_channel_set_deadline(c, -1);
	return rc;
}
