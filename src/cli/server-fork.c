/*
 * server-fork.c - conn-listen -k --exec (or --forward): a process per
 * connection, each doing its own handshake and running the command or
 * forwarding (session_serve()).
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
#define FORKS_PER_ROUND 16

/* ------------------------------------------------------------ reports */

/*
 * Each child has a pipe to the server: a newline once its peer is
 * authenticated (--max-startups counts those that are not), then the
 * child's warning, if it ends with one.  The server says the warnings,
 * so that they are rate-limited as the poll server's are, however many
 * children a flood of connections makes.
 */

static void close_report(struct server_child *k)
{
	if (k->report_fd >= 0)
		close(k->report_fd);
	k->report_fd = -1;
}

/* Takes what the child sent; closes its pipe at its end. */
static void read_report(struct server *s, struct server_child *k)
{
	char buf[4096], *line, *nl;
	ssize_t n;

	n = k->report_fd < 0 ? 0 : read(k->report_fd, buf, sizeof(buf) - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_report(k);
		return;
	}
	buf[n] = '\0';
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (*line)
			server_say(s, CONN_LOG_WARNING, "%s", line);
		else
			k->authed = true;
	}
}

static bool child_in_handshake(const struct server_child *k)
{
	return k->report_fd >= 0 && !k->authed && !k->ending;
}

static void reap_children(struct server *s, bool wait)
{
	pid_t pid;
	unsigned i;

	while (s->children > 0 &&
	       (pid = waitpid(-1, NULL, wait ? 0 : WNOHANG)) > 0)
		for (i = 0; i < s->children; i++)
			if (s->kids[i].pid == pid) {
				/* its last words (one write) are in the pipe */
				read_report(s, &s->kids[i]);
				close_report(&s->kids[i]);
				s->kids[i] = s->kids[--s->children];
				break;
			}
}

/* ---------------------------------------------- --max-startups (--exec) */

static size_t count_in_handshake(const struct server *s)
{
	size_t u = 0;
	unsigned i;

	for (i = 0; i < s->children; i++)
		u += child_in_handshake(&s->kids[i]);
	return u;
}

/* The oldest child still in the handshake is ended (SIGTERM: it has no
 * command yet) if --max-startups (or --max-conns) says so; its place is
 * free once it is reaped. */
static void make_room(struct server *s)
{
	size_t u = count_in_handshake(s);
	bool full = s->children >= s->o->max_conns;
	struct server_child *k, *pick = NULL;

	if (u == 0 || !server_must_make_room(s, u, s->children))
		return;
	for (k = s->kids; k < s->kids + s->children; k++)
		if (child_in_handshake(k) && server_may_drop(k->since, full) &&
		    (pick == NULL || k->serial < pick->serial))
			pick = k;
	if (pick == NULL)
		return;		/* all of them are new: a burst */
	server_say_made_room(s, pick->name, pick->since, u);
	(void)kill(pick->pid, SIGTERM);	/* gone already: reaped soon */
	pick->ending = true;
}

/* Every place taken: newcomers knocking make room, as many as a round
 * takes, from those still in the handshake, once the last ones have
 * gone. */
static void make_room_when_full(struct server *s)
{
	struct pollfd p = { conn_listener_fd(s->l), POLLIN, 0 };
	unsigned i;

	for (i = 0; i < s->children; i++)
		if (s->kids[i].ending)
			return;
	if (poll(&p, 1, 0) > 0)
		for (i = 0; i < FORKS_PER_ROUND; i++)
			make_room(s);
}

/* ------------------------------------------------------------ children */

/* The child's whole life: handshake and the command, logged, no return. */
_Noreturn static void serve_child(struct server *s, int fd, const char *name,
				  int report_fd)
{
	struct cli_options o = *s->o;
	char detail[512] = "", text[600], line[800];
	unsigned i;
	int rc;

	/* The parent's listener; not its files, nor the other children's
	 * pipes. */
	conn_listener_close_in_child(s->l);
	for (i = 0; i < s->children; i++)
		close_report(&s->kids[i]);
	o.report_fd = report_fd;
	o.conn_serial = s->accepted;
	rc = session_serve(detail, sizeof(detail), fd, fd, -1, &o,
			   CONN_ROLE_LISTENER, name, s->stop, s->log,
			   s->log_ctx);
	if (rc && rc != CONN_EINTR && rc != CONN_EPIPE) {
		cli_error_text(text, sizeof(text), rc, detail);
		snprintf(line, sizeof(line), "%s: %s\n", name, text);
		/* One write, under PIPE_BUF: the server reads it whole. */
		if (report_fd < 0 ||
		    write(report_fd, line, strlen(line)) < 0)
			server_say(s, CONN_LOG_WARNING, "%s: %s", name, text);
	}
	_exit(conn_exit_status(rc));
}

static int fork_one(struct server *s)
{
	char peer[NAME_MAX_LEN];
	struct server_child *k = &s->kids[s->children];
	int fd, rc, p[2];
	pid_t pid;

	/* The pipe first: without room for it, the connection waits in the
	 * listening queue rather than being cut. */
	if (pipe2(p, O_CLOEXEC) < 0)
		return CONN_ENOMEM;	/* out of descriptors */
	rc = conn_listener_accept_now(&fd, peer, sizeof(peer), s->l);
	if (rc) {
		close(p[0]);
		close(p[1]);
		return rc;
	}
	/* Read after poll(), and once more at the child's end: never a wait. */
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	server_accepted(s);
	s->accepted++;
	make_room(s);
	*k = (struct server_child){ .report_fd = p[0],
				    .serial = s->accepted,
				    .since = conn_clock_ms() };
	server_name_client(k->name, fd, peer, s->accepted);
	server_say(s, CONN_LOG_TRACE, "connection from %s", k->name);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		serve_child(s, fd, k->name, p[1]);
	}
	close(fd);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		server_say(s, CONN_LOG_WARNING, "%s: cannot fork: %s", k->name,
			   strerror(errno));
		return 0;
	}
	k->pid = pid;
	s->children++;
	if (s->o->max_accepts && s->accepted >= s->o->max_accepts)
		server_stop_listening(s);
	return 0;
}

/* A burst of connections, a few at a time (the children's reports are
 * read in between), while there is room. */
static int fork_some(struct server *s)
{
	int rc = 0, n = 0;

	while (rc == 0 && n++ < FORKS_PER_ROUND && s->l &&
	       s->children < s->o->max_conns)
		rc = fork_one(s);
	if (rc == CONN_ENOMEM)	/* out of descriptors */
		server_pause_accepting(s);
	return rc == CONN_EAGAIN || rc == CONN_ENOMEM ? 0 : rc;
}

/* Waits for the listener (if accepting) and the children's reports;
 * true if a connection is there. */
static bool wait_events(struct server *s, struct pollfd *pfd, bool accepting)
{
	nfds_t n = 0, i;
	unsigned k;
	int timeout = accepting && s->children == 0 ? CONN_STOP_CHECK_MS
						    : CHILD_POLL_MS;

	if (accepting)
		pfd[n++] = (struct pollfd){ conn_listener_fd(s->l), POLLIN, 0 };
	for (k = 0; k < s->children; k++)
		pfd[n++] = (struct pollfd){ s->kids[k].report_fd, POLLIN, 0 };
	if (poll(pfd, n, timeout) <= 0)
		return false;
	for (i = accepting, k = 0; k < s->children; i++, k++)
		if (pfd[i].revents)
			read_report(s, &s->kids[k]);
	return accepting && pfd[0].revents;
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

	/* A child that is gone already cannot be signalled: no matter. */
	for (i = 0; i < s->children; i++)
		(void)kill(s->kids[i].pid, sig);
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
	struct pollfd *pfd = calloc(s->o->max_conns + 1, sizeof(*pfd));
	bool accepting;
	int rc = 0;

	s->kids = calloc(s->o->max_conns, sizeof(*s->kids));
	if (s->kids == NULL || pfd == NULL) {
		free(pfd);
		free(s->kids);
		return CONN_ENOMEM;
	}
	while (rc == 0 && !*s->stop && (s->l || s->children > 0)) {
		reap_children(s, false);
		server_log_flush(s, false);
		if (s->l && s->children >= s->o->max_conns)
			make_room_when_full(s);
		accepting = s->l && s->children < s->o->max_conns &&
			    server_accept_wait_ms(s) == 0;
		if (wait_events(s, pfd, accepting))
			rc = fork_some(s);
	}
	if (s->l)
		server_stop_listening(s);
	if (*s->stop)
		end_children(s);
	reap_children(s, true);
	free(s->kids);
	free(pfd);
	return rc ? rc : *s->stop ? CONN_EINTR : 0;
}
