/*
 * server.c - conn-listen -k: connection after connection, many at once.
 *
 * Without --exec, one poll loop serves every client (server-poll.c);
 * with --exec, each connection gets a process of its own (server-fork.c).
 * This file holds what both share.
 */
#include "server.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

void server_say(struct server *s, enum conn_log_level level, const char *fmt,
		...)
{
	char line[600];
	va_list ap;

	if (s->log == NULL || (level == CONN_LOG_TRACE && !s->o->verbose))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->log(s->log_ctx, level, line);
}

/* ------------------------------------------------------------ listening */

void server_stop_listening(struct server *s)
{
	conn_listener_close(s->l);	/* a Unix socket file goes too */
	s->l = NULL;
}

/* Unix clients have no address of their own: the listener's and a number. */
void server_name_client(char *name, int fd, const char *peer, uint64_t serial)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_UNIX)
		snprintf(name, NAME_MAX_LEN, "%s#%llu", peer,
			 (unsigned long long)serial);
	else
		snprintf(name, NAME_MAX_LEN, "%s", peer);
}

/* -------------------------------------------------------------- entry */

int server_run(char *detail, size_t capacity, struct conn_listener *l,
	       const struct cli_options *o, volatile sig_atomic_t *stop,
	       conn_log_fn *log, void *ctx)
{
	struct server s = { .o = o, .l = l, .stop = stop, .log = log,
			    .log_ctx = ctx, .detail = detail,
			    .capacity = capacity };
	int rc;

	snprintf(detail, capacity, "%s", "");
	/* Cannot fail on a descriptor we hold; were it to, accepts would
	 * block until a client comes, which is still service. */
	(void)fcntl(conn_listener_fd(l), F_SETFL,
		    fcntl(conn_listener_fd(l), F_GETFL) | O_NONBLOCK);
	if (!o->exec_argv)
		return server_poll_run(&s);
	rc = server_fork_run(&s);
	if (s.l)	/* it stopped early: out of memory */
		server_stop_listening(&s);
	return rc;
}
