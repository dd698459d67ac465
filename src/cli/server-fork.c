/*
 * server-fork.c - conn-listen -k --exec: a process per connection, each
 * doing its own handshake and running the command (session_serve()).
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define GRACE_MS 5000		/* --exec children, after a stop signal */
#define CHILD_POLL_MS 100	/* how often to look for finished children */

static void reap_children(struct server *s, bool wait)
{
	pid_t pid;
	unsigned i;

	while (s->children > 0 &&
	       (pid = waitpid(-1, NULL, wait ? 0 : WNOHANG)) > 0)
		for (i = 0; i < s->children; i++)
			if (s->pids[i] == pid) {
				s->pids[i] = s->pids[--s->children];
				break;
			}
}

/* The child's whole life: handshake and the command, logged, no return. */
_Noreturn static void serve_child(struct server *s, int fd, const char *name)
{
	char detail[512] = "";
	int rc;

	/* The parent's listener; not its files. */
	conn_listener_close_in_child(s->l);
	rc = session_serve(detail, sizeof(detail), fd, fd, -1, s->o,
			   CONN_ROLE_LISTENER, name, s->stop, s->log,
			   s->log_ctx);
	if (rc && rc != CONN_EINTR && rc != CONN_EPIPE) {
		char text[600];

		cli_error_text(text, sizeof(text), rc, detail);
		server_say(s, CONN_LOG_WARNING, "%s: %s", name, text);
	}
	_exit(conn_exit_status(rc));
}

static int fork_one(struct server *s)
{
	char peer[NAME_MAX_LEN], name[NAME_MAX_LEN];
	pid_t pid;
	int fd, rc;

	rc = conn_listener_accept_now(&fd, peer, sizeof(peer), s->l);
	if (rc)
		return rc;
	server_accepted(s);
	s->accepted++;
	server_name_client(name, fd, peer, s->accepted);
	server_say(s, CONN_LOG_TRACE, "connection from %s", name);
	pid = fork();
	if (pid == 0)
		serve_child(s, fd, name);
	close(fd);
	if (pid < 0) {
		server_say(s, CONN_LOG_WARNING, "%s: cannot fork: %s", name,
			   strerror(errno));
		return 0;
	}
	s->pids[s->children++] = pid;
	if (s->o->max_accepts && s->accepted >= s->o->max_accepts)
		server_stop_listening(s);
	return 0;
}

/* Waits up to ms for the children to end; true if they all did. */
static bool children_end_within(struct server *s, int64_t ms)
{
	int64_t end = conn_clock_ms() + ms;

	reap_children(s, false);
	while (s->children > 0 && conn_clock_ms() < end) {
		poll(NULL, 0, CHILD_POLL_MS);
		reap_children(s, false);
	}
	return s->children == 0;
}

static void signal_children(struct server *s, int sig)
{
	unsigned i;

	for (i = 0; i < s->children; i++)
		kill(s->pids[i], sig);
}

/* At a stop signal, children get GRACE_MS to finish, then SIGTERM (which
 * ends their commands too), then SIGKILL. */
static void end_children(struct server *s)
{
	if (children_end_within(s, GRACE_MS))
		return;
	signal_children(s, SIGTERM);
	if (children_end_within(s, GRACE_MS))
		return;
	signal_children(s, SIGKILL);
	reap_children(s, true);
}

int server_fork_run(struct server *s)
{
	struct pollfd pfd;
	int rc = 0;

	s->pids = calloc(s->o->max_conns, sizeof(*s->pids));
	if (s->pids == NULL)
		return CONN_ENOMEM;
	while (rc == 0 && !*s->stop && (s->l || s->children > 0)) {
		reap_children(s, false);
		server_log_flush(s, false);
		if (s->l == NULL || s->children >= s->o->max_conns ||
		    server_accept_wait_ms(s)) {
			poll(NULL, 0, CHILD_POLL_MS);
			continue;
		}
		pfd = (struct pollfd){ conn_listener_fd(s->l), POLLIN, 0 };
		if (poll(&pfd, 1, s->children ? CHILD_POLL_MS
					       : CONN_STOP_CHECK_MS) > 0) {
			rc = fork_one(s);
			if (rc == CONN_ENOMEM)	/* out of descriptors */
				server_pause_accepting(s);
			rc = rc == CONN_EAGAIN || rc == CONN_ENOMEM ? 0 : rc;
		}
	}
	if (s->l)
		server_stop_listening(s);
	if (*s->stop)
		end_children(s);
	reap_children(s, true);
	free(s->pids);
	return rc ? rc : *s->stop ? CONN_EINTR : 0;
}
