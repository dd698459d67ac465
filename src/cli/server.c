/*
 * server.c - conn-listen -k: connection after connection, many at once.
 *
 * Without --exec, one poll loop serves every client (server-poll.c);
 * with --exec, each connection gets a process of its own (server-fork.c).
 * This file holds what both share.
 */
#include "server.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------ log */

#define LOG_WINDOW_MS 1000

/* Lines that differ only in their numbers (addresses, ports, counts,
 * times) are of one kind: FNV-1a over the rest. */
static uint64_t kind_key(const char *line)
{
	uint64_t h = 14695981039346656037ull;

	for (; *line; line++)
		if (*line < '0' || *line > '9')
			h = (h ^ (unsigned char)*line) * 1099511628211ull;
	return h;
}

static void say_summary(struct server *s, struct server_log_kind *k)
{
	char line[400];

	if (k->more == 0)
		return;
	snprintf(line, sizeof(line), "... and %llu more like it within %g s "
		 "(the last: %s)", (unsigned long long)k->more,
		 LOG_WINDOW_MS / 1000.0, k->last);
	s->log(s->log_ctx, CONN_LOG_WARNING, line);
}

int server_log_flush(struct server *s, bool all)
{
	int64_t now = conn_clock_ms(), next = -1;
	struct server_log_kind *k;

	for (k = s->kinds; k < s->kinds + SERVER_LOG_KINDS; k++) {
		if (k->window_end == 0)
			continue;
		if (all || k->window_end <= now) {
			say_summary(s, k);
			*k = (struct server_log_kind){ 0 };
		} else if (k->more && (next < 0 || k->window_end - now < next)) {
			next = k->window_end - now;
		}
	}
	return (int)next;
}

/* The slot of line's kind, in a window that is running: its own, a free
 * one, or the one due soonest (its summary said first). */
static struct server_log_kind *log_kind(struct server *s, const char *line)
{
	uint64_t key = kind_key(line);
	struct server_log_kind *k, *pick = NULL;

	server_log_flush(s, false);
	for (k = s->kinds; k < s->kinds + SERVER_LOG_KINDS; k++) {
		if (k->window_end && k->key == key)
			return k;
		if (pick == NULL || k->window_end < pick->window_end)
			pick = k;
	}
	if (pick->window_end)
		say_summary(s, pick);
	*pick = (struct server_log_kind){
		.key = key, .window_end = conn_clock_ms() + LOG_WINDOW_MS
	};
	return pick;
}

/* True if the warning is to be said in full; else it is counted. */
static bool warning_is_said(struct server *s, const char *line)
{
	struct server_log_kind *k = log_kind(s, line);

	if (k->said < SERVER_LOG_BURST) {
		k->said++;
		return true;
	}
	k->more++;
	snprintf(k->last, sizeof(k->last), "%.*s", (int)sizeof(k->last) - 1,
		 line);
	return false;
}

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
	if (level == CONN_LOG_WARNING && !warning_is_said(s, line))
		return;
	s->log(s->log_ctx, level, line);
}

/* ------------------------------------------------------- --max-startups */

bool server_must_make_room(const struct server *s, size_t in_handshake,
			   size_t conns)
{
	const struct cli_options *o = s->o;
	uint64_t chance;

	if (conns >= o->max_conns)
		return true;
	if (in_handshake < o->startups_start)
		return false;
	if (in_handshake >= o->startups_full)
		return true;
	chance = o->startups_rate + (100 - o->startups_rate) *
		 (in_handshake - o->startups_start) /
		 (o->startups_full - o->startups_start);
	return (uint64_t)(random() % 100) < chance;
}

bool server_may_drop(int64_t since, bool full)
{
	return full || conn_clock_ms() - since >= SERVER_STARTUP_GRACE_MS;
}

void server_say_made_room(struct server *s, const char *name, int64_t since,
			  size_t in_handshake)
{
	server_say(s, CONN_LOG_WARNING, "%s: dropped after %.1f s in the "
		   "handshake, the oldest of %zu (--max-startups "
		   "%llu:%llu:%llu)", name,
		   (double)(conn_clock_ms() - since) / 1000.0, in_handshake,
		   (unsigned long long)s->o->startups_start,
		   (unsigned long long)s->o->startups_rate,
		   (unsigned long long)s->o->startups_full);
}

/* ------------------------------------------------------------ accepting */

void server_pause_accepting(struct server *s)
{
	s->accept_resume = conn_clock_ms() + SERVER_FD_PAUSE_MS;
	if (!s->out_of_fds)
		server_say(s, CONN_LOG_WARNING, "out of file descriptors: not "
			   "accepting for %g s at a time until some are free "
			   "(raise 'ulimit -n' or lower --max-conns)",
			   SERVER_FD_PAUSE_MS / 1000.0);
	s->out_of_fds = true;
}

void server_accepted(struct server *s)
{
	s->out_of_fds = false;
}

int server_accept_wait_ms(const struct server *s)
{
	int64_t left = s->accept_resume - conn_clock_ms();

	return left > 0 ? (int)left : 0;
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
	/* --max-startups' early drops: chance, not secrecy. */
	srandom((unsigned)(getpid() ^ conn_clock_ms()));
	/* Cannot fail on a descriptor we hold; were it to, accepts would
	 * block until a client comes, which is still service. */
	(void)fcntl(conn_listener_fd(l), F_SETFL,
		    fcntl(conn_listener_fd(l), F_GETFL) | O_NONBLOCK);
	/* --exec and --forward: a process per connection. */
	if (!o->exec_argv && !o->forward) {
		rc = server_poll_run(&s);
	} else {
		rc = server_fork_run(&s);
		if (s.l)	/* it stopped early: out of memory */
			server_stop_listening(&s);
	}
	server_log_flush(&s, true);
	return rc;
}
