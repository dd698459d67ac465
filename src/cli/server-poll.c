/*
 * server-poll.c - conn-listen -k without --exec: many clients, one loop.
 *
 * One poll loop serves every client.  Each is authenticated on its own
 * clock, so a client that stalls or sends garbage is logged and dropped
 * while the others go on.  Messages from all clients reach stdout whole,
 * one after another, never interleaved; messages from stdin go to the
 * newest client, or to every client with --broadcast.  Nothing blocks:
 * a slow stdout stops the reading of authenticated clients (never a
 * handshake), a slow target the reading of stdin; a client that stops
 * reading is dropped (--max-sendq, --send-timeout) rather than let it
 * hold the others up.
 */
#include "server-poll.h"

#define WAIT_MAX_MS 1000000	/* poll's longest wait */


#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------- clients */

static void client_free(struct client *cl)
{
	poll_render_orphan(cl);
	poll_spill_discard(cl);
	conn_channel_free(cl->c);
	conn_buffer_free(&cl->whole);
	free(cl->json_name);
	free(cl);
}

/* ----------------------------------------------------------- the lists */

void poll_client_activate(struct server *s, struct client *cl)
{
	struct poll_sched *w = s->sched;

	if (cl->active_slot)
		return;
	w->active[w->n_active++] = cl;
	cl->active_slot = w->n_active;
}

/* Off the active list: the last one takes its place. */
static void deactivate(struct server *s, struct client *cl)
{
	struct poll_sched *w = s->sched;
	struct client *last;

	if (!cl->active_slot)
		return;
	last = w->active[--w->n_active];
	w->active[cl->active_slot - 1] = last;
	last->active_slot = cl->active_slot;
	cl->active_slot = 0;
}

/* The handshake list is in accept order: its head is the oldest. */
static void hs_enter(struct server *s, struct client *cl)
{
	struct poll_sched *w = s->sched;

	cl->hs_prev = w->hs_tail;
	cl->hs_next = NULL;
	if (w->hs_tail)
		w->hs_tail->hs_next = cl;
	else
		w->hs_head = cl;
	w->hs_tail = cl;
	cl->in_hs = true;
	w->handshaking++;
}

/* Out of the handshake: authenticated, or on its way out. */
static void hs_leave(struct server *s, struct client *cl)
{
	struct poll_sched *w = s->sched;

	if (!cl->in_hs)
		return;
	if (cl->hs_prev)
		cl->hs_prev->hs_next = cl->hs_next;
	else
		w->hs_head = cl->hs_next;
	if (cl->hs_next)
		cl->hs_next->hs_prev = cl->hs_prev;
	else
		w->hs_tail = cl->hs_prev;
	cl->hs_prev = cl->hs_next = NULL;
	cl->in_hs = false;
	w->handshaking--;
}

/* Queues one message for the client without ever blocking; the clock
 * of --send-timeout starts when its queue stops being empty. */
int poll_client_queue(struct server *s, struct client *cl, const void *data,
		      size_t size)
{
	if (conn_channel_queued(cl->c) == 0)
		cl->moved_at = conn_clock_ms();
	cl->active_at = conn_clock_ms();
	poll_client_activate(s, cl);
	return conn_channel_append(cl->c, data, size);
}

static void client_drop(struct server *s, struct client *cl)
{
	/* A #FAILURE#, best effort: the client is gone either way. */
	CONN_IGNORE(conn_channel_write_some(cl->c));
	if (s->holder == cl)
		s->holder = NULL;
	if (s->sched->newest == cl)
		s->sched->newest_stale = true;
	hs_leave(s, cl);
	deactivate(s, cl);
	poll_wait_forget(s->sched, cl);
	s->clients[cl->at] = s->clients[--s->n];
	s->clients[cl->at]->at = cl->at;
	client_free(cl);
}

/* The budget's other half is free again for the clients waiting with
 * big messages. */
void poll_release_stdout(struct server *s, struct client *cl)
{
	if (s->holder == cl)
		s->holder = NULL;
	cl->big = cl->spill_whole = false;
	cl->big_total = 0;
}

/* Logs why a client goes, and lets it go; the server goes on. */
void poll_client_fail(struct server *s, struct client *cl, int rc,
		      const char *why)
{
	char text[400];

	cli_error_text(text, sizeof(text), rc, why);
	server_say(s, CONN_LOG_WARNING, "%s: %s", cl->name, text);
	cl->closing = true;
	hs_leave(s, cl);
	poll_client_activate(s, cl);
	conn_channel_discard_input(cl->c);
	/* A message it sent whole still goes out (see poll_client_owes());
	 * nothing of a big one is on stdout before it is whole: a cut one is
	 * lost with the client, said in the warning above. */
	if (!poll_client_owes(cl)) {
		poll_spill_discard(cl);
		poll_release_stdout(s, cl);
	}
}

/* A message of the client's that cannot be held, rendered or queued
 * (out of memory) is lost: the client goes with a warning that says so,
 * rather than the loss going unseen; the others go on. */
void poll_client_lost(struct server *s, struct client *cl, int rc,
		      uint64_t size)
{
	char why[160];

	snprintf(why, sizeof(why), "message %llu (%llu bytes) is lost: %s; "
		 "the client is dropped", (unsigned long long)cl->received + 1,
		 (unsigned long long)size, conn_strerror(rc));
	poll_client_fail(s, cl, rc, why);
	conn_buffer_free(&cl->whole);	/* given back now, not at the close */
}

/* After the handshake (or at once without a key): --data greets it. */
static int client_ready(struct server *s, struct client *cl)
{
	size_t i;
	int rc = 0;

	struct poll_sched *w = s->sched;

	cl->authed = true;
	cl->deadline = -1;
	hs_leave(s, cl);
	/* stdin's target: the newest (unless a drop made it be looked for) */
	if (!w->newest_stale && (w->newest == NULL ||
				 cl->serial > w->newest->serial))
		w->newest = cl;
	cl->moved_at = conn_clock_ms();	/* the #WELCOME# may be queued */
	conn_channel_set_max_size(cl->c, s->o->max_size);
	if (s->o->key)
		server_say(s, CONN_LOG_TRACE, "%s: authenticated (%s)",
			   cl->name, cl->auth.peer_digest);
	for (i = 0; i < s->o->data_count && rc == 0; i++) {
		rc = poll_client_queue(s, cl, s->o->data[i],
				       s->o->data_len[i]);
		s->progress.sent++;
		s->progress.sent_bytes += s->o->data_len[i];
	}
	return rc;
}

/* ------------------------------------------------------ the handshake */

/* Takes the handshake as far as what the client sent allows; a failure
 * drops the client with the core's words for it. */
static void client_handshake(struct server *s, struct client *cl)
{
	int rc = conn_channel_handshake_step(cl->c, &cl->auth);

	if (rc == 0)
		rc = client_ready(s, cl);
	if (rc && rc != CONN_EAGAIN)
		poll_client_fail(s, cl, rc, cl->authed ? NULL
					    : conn_channel_detail(cl->c));
}

static void start_handshake(struct server *s, struct client *cl)
{
	conn_auth_init(&cl->auth, CONN_ROLE_LISTENER, s->o->key,
		       s->o->digest, s->o->auth_flags);
	/* At the tail: its deadline (from now) is the latest (after TLS, it
	 * was on the list with the earlier one of the TLS handshake). */
	hs_leave(s, cl);
	hs_enter(s, cl);
	cl->deadline = s->o->handshake_timeout_ms ?
		       conn_clock_ms() + s->o->handshake_timeout_ms : -1;
	client_handshake(s, cl);
}

/* The TLS handshake first, when the options ask for it; then the
 * protocol's, or the client is ready. */
static void client_tls_step(struct server *s, struct client *cl)
{
	char info[300];
	int rc = conn_channel_tls_step(cl->c);

	if (rc == CONN_EAGAIN)
		return;
	if (rc) {
		poll_client_fail(s, cl, rc, conn_channel_detail(cl->c));
		return;
	}
	cl->tls_pending = false;
	if (s->o->verbose) {
		conn_channel_tls_info(cl->c, info, sizeof(info));
		server_say(s, CONN_LOG_TRACE, "%s: TLS: %s", cl->name, info);
	}
	if (s->o->key)
		start_handshake(s, cl);
	else if ((rc = client_ready(s, cl)) != 0)
		poll_client_fail(s, cl, rc, NULL);	/* no memory: --data */
}

static void start_tls(struct server *s, struct client *cl)
{
	int rc = conn_channel_tls_start(cl->c, s->o->tls.config);

	if (rc) {
		poll_client_fail(s, cl, rc, conn_channel_detail(cl->c));
		return;
	}
	cl->tls_pending = true;
	hs_enter(s, cl);	/* the TLS handshake has the same clock */
	cl->deadline = s->o->handshake_timeout_ms ?
		       conn_clock_ms() + s->o->handshake_timeout_ms : -1;
	client_tls_step(s, cl);
}

/* ------------------------------------------- --max-startups (pre-auth) */

/* With every place taken, one in the handshake goes only once it has had
 * this long to answer: newcomers wait in the backlog meanwhile.  Without
 * it a slowloris that reconnects as fast as it is dropped churns all the
 * places within a few rounds, and an honest client is dropped before its
 * process has even read the challenge. */
#define FULL_ANSWER_MS 200

static bool had_time_to_answer(const struct client *cl, bool full)
{
	return server_may_drop(cl->since, full) &&
	       (!full || conn_clock_ms() - cl->since >= FULL_ANSWER_MS);
}

/* The one to go: a connection in the handshake that has sent nothing,
 * else any in the handshake, the oldest first.  A slowloris holds the
 * old silent ones; an honest client is new and has answered at once.
 * The list is in accept order: past the first one within its grace, all
 * are (so a burst costs no walk through every handshake). */
static struct client *oldest_in_handshake(const struct server *s, bool full)
{
	struct client *cl, *pick = NULL;

	for (cl = s->sched->hs_head; cl; cl = cl->hs_next) {
		if (!had_time_to_answer(cl, full))
			break;
		if (!cl->heard)
			return cl;
		if (pick == NULL)
			pick = cl;
	}
	return pick;
}

static bool has_input(const struct client *cl)
{
	int n = 0;

	return ioctl(conn_channel_rfd(cl->c), FIONREAD, &n) == 0 && n > 0;
}

/* Before a newcomer: the oldest still in the handshake goes if
 * --max-startups (or --max-conns) says so, rather than the newcomer:
 * refusing the newcomer is what lets a slowloris hold every place. */
static void make_room(struct server *s)
{
	size_t u = s->sched->handshaking;
	bool full = s->n >= s->o->max_conns;
	struct client *cl;

	if (u == 0 || !server_must_make_room(s, u, s->n))
		return;
	/* One that has answered, unread yet, is not silent. */
	while ((cl = oldest_in_handshake(s, full)) != NULL && !cl->heard &&
	       has_input(cl))
		cl->heard = true;
	if (cl == NULL)
		return;		/* all of them are new: a burst */
	server_say_made_room(s, cl->name, cl->since, u);
	cl->closing = true;
	client_drop(s, cl);
}

static int accept_one(struct server *s)
{
	struct client *cl;
	char peer[NAME_MAX_LEN];
	int fd, rc;

	rc = conn_listener_accept_now(&fd, peer, sizeof(peer), s->l);
	if (rc)
		return rc;
	server_accepted(s);
	s->accepted++;
	if (s->o->key)
		make_room(s);
	cl = calloc(1, sizeof(*cl));
	/* cl->whole is allocated by its first message: an idle connection
	 * holds no more than its channel (4 KiB less per connection). */
	rc = cl ? conn_channel_new(&cl->c, fd, fd) : CONN_ENOMEM;
	if (rc) {
		if (cl && cl->c == NULL)
			close(fd);
		if (cl)
			client_free(cl);
		return rc;
	}
	cl->serial = s->accepted;
	cl->since = cl->active_at = conn_clock_ms();
	server_name_client(cl->name, fd, peer, cl->serial);
	conn_channel_set_log(cl->c, s->log, s->log_ctx, s->o->verbose > 0);
	cl->mask = -1;		/* not waited for yet: the next wait adds it */
	cl->at = s->n;
	s->clients[s->n++] = cl;
	poll_client_activate(s, cl);
	server_say(s, CONN_LOG_TRACE, "connection from %s", cl->name);
	if (s->o->tls.config)
		start_tls(s, cl);
	else if (s->o->key)
		start_handshake(s, cl);
	else if ((rc = client_ready(s, cl)) != 0)
		/* no memory for --data */
		poll_client_fail(s, cl, rc, NULL);
	return 0;
}


/* Reads what the client sent and acts on it; a failure drops the client
 * (with a warning), never the server. */
static void client_input(struct server *s, struct client *cl)
{
	int rc;

	if (cl->abandoned)	/* a hang-up: it goes anyway, said once */
		return;
	if (cl->tls_pending) {
		client_tls_step(s, cl);
		return;
	}
	rc = conn_channel_read_some(cl->c);
	if (rc == CONN_EAGAIN)
		return;
	cl->heard |= rc == 0 && conn_channel_received(cl->c) > 0;
	cl->active_at = conn_clock_ms();
	if (rc) {
		poll_client_fail(s, cl, rc, conn_channel_detail(cl->c));
		return;
	}
	if (!cl->authed)
		client_handshake(s, cl);
	if (cl->authed && !cl->closing)
		poll_client_messages(s, cl);
}


/* ------------------------------------------------------------- the loop */

/* Sends what the client has queued, as far as it takes it now; its
 * progress restarts the clock of --send-timeout. */
static int client_flush(struct client *cl)
{
	size_t before = conn_channel_queued(cl->c);
	int rc = conn_channel_write_some(cl->c);

	if (conn_channel_queued(cl->c) < before)
		cl->moved_at = cl->active_at = conn_clock_ms();
	return rc;
}

/* Sends what each client has queued; lets go of the finished ones.  Those
 * with a queue, or on their way out, are all on the active list. */
void poll_flush_clients(struct server *s)
{
	struct poll_sched *w = s->sched;
	size_t i = 0;
	struct client *cl;
	int rc;

	while (i < w->n_active) {
		cl = w->active[i];
		rc = cl->abandoned ? 0 : client_flush(cl);
		if (rc && !cl->closing)
			poll_client_fail(s, cl, rc, conn_channel_detail(cl->c));
		if (cl->closing && !poll_client_owes(cl) &&
		    (rc || cl->abandoned || conn_channel_queued(cl->c) == 0)) {
			client_drop(s, cl);	/* the last one takes i */
			continue;
		}
		i++;
	}
}

/* Handshakes past their time; returns the ms until the next deadline.
 * They all have the same time, so the list's order is theirs: the walk
 * stops at the first one still within it. */
static int expire_handshakes(struct server *s)
{
	int64_t now = conn_clock_ms(), next = -1, left;
	struct client *cl, *after;

	for (cl = s->sched->hs_head; cl && cl->deadline >= 0; cl = after) {
		after = cl->hs_next;	/* a failure takes it off the list */
		left = cl->deadline - now;
		if (left > 0) {
			next = left;
			break;
		}
		if (cl->tls_pending) {
			char why[100];

			snprintf(why, sizeof(why), "TLS handshake not finished "
				 "within %g s", (double)s->o->handshake_timeout_ms
				 / 1000.0);
			poll_client_fail(s, cl, CONN_ETIMEDOUT, why);
			continue;
		}
		poll_client_fail(s, cl, conn_channel_handshake_timed_out(
					 cl->c, &cl->auth,
					 s->o->handshake_timeout_ms),
				 conn_channel_detail(cl->c));
	}
	return next > WAIT_MAX_MS ? WAIT_MAX_MS : (int)next;
}

/*
 * --send-timeout: a client with messages queued that has taken none of
 * their bytes for that long stopped reading; it goes, lest its queue
 * stay forever (a closing one quietly: it had its warning).  Returns the
 * ms until the next such deadline, or -1.
 */
static int expire_sendqs(struct server *s)
{
	int64_t now = conn_clock_ms(), next = -1, left,
		limit = s->o->send_timeout_ms;
	size_t i;

	/* A client with a queue is on the active list. */
	for (i = 0; i < s->sched->n_active && limit; i++) {
		struct client *cl = s->sched->active[i];

		if (!cl->authed || cl->abandoned ||
		    conn_channel_queued(cl->c) == 0)
			continue;
		left = cl->moved_at + limit - now;
		if (left <= 0 && cl->closing)
			cl->abandoned = true;
		else if (left <= 0)
			poll_client_abandon(s, cl, "dropped: it read nothing "
					    "for %g s (%zu bytes queued)",
					    (double)limit / 1000.0,
					    conn_channel_queued(cl->c));
		/* The next step lets the abandoned go. */
		left = cl->abandoned ? 0 : left;
		if (next < 0 || left < next)
			next = left;
	}
	return next > WAIT_MAX_MS ? WAIT_MAX_MS : (int)next;
}

/*
 * #18 sockets: --idle-timeout: an authenticated client with which no
 * byte went either way for that long goes (one in the handshake has
 * --handshake-timeout).  Returns the ms until the next such deadline, or
 * -1.
 */
static int expire_idle(struct server *s)
{
	int64_t now = conn_clock_ms(), next = -1, left,
		limit = s->o->idle_timeout_ms;
	size_t i;

	for (i = 0; i < s->n && limit; i++) {
		struct client *cl = s->clients[i];

		if (!cl->authed || cl->closing)
			continue;
		left = cl->active_at + limit - now;
		if (left <= 0)
			poll_client_abandon(s, cl, "dropped: no message either "
					    "way for %g s (--idle-timeout)",
					    (double)limit / 1000.0);
		left = left <= 0 ? 0 : left;
		if (next < 0 || left < next)
			next = left;
	}
	return next > WAIT_MAX_MS ? WAIT_MAX_MS : (int)next;
}

/* The sooner of two waits in ms, -1 being none. */
static int sooner(int a, int b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static bool server_is_over(const struct server *s)
{
	if (s->count_reached)
		return !poll_stdout_pending(s);
	return s->l == NULL && s->n == 0 && !poll_stdout_pending(s);
}

/* With every place taken, a connection still in the handshake can make
 * room (see make_room()); out of descriptors, accepts wait a while. */
static bool may_accept(const struct server *s)
{
	const struct client *head = s->sched->hs_head;

	return s->l && !s->count_reached && server_accept_wait_ms(s) == 0 &&
	       (s->n < s->o->max_conns ||
		(s->o->key && head && had_time_to_answer(head, true)));
}

/* Every place taken and the oldest in the handshake still within its
 * FULL_ANSWER_MS: when it is past them (and a newcomer may drop it). */
static int full_wait_ms(const struct server *s)
{
	const struct client *head = s->sched->hs_head;
	int64_t left;

	if (!s->l || !s->o->key || s->n < s->o->max_conns || head == NULL)
		return -1;
	left = head->since + FULL_ANSWER_MS - conn_clock_ms();
	return left > 0 ? (int)left : -1;
}

/* A burst of connections is taken a few at a time, the clients' input
 * read in between: making room must not drop one that has answered. */
#define ACCEPTS_PER_ROUND 16

static int accept_all(struct server *s)
{
	int rc = 0, n = 0;

	while (rc == 0 && n++ < ACCEPTS_PER_ROUND && may_accept(s)) {
		rc = accept_one(s);
		if (rc == 0 && s->o->max_accepts &&
		    s->accepted >= s->o->max_accepts)
			server_stop_listening(s);
	}
	if (rc == CONN_ENOMEM)
		server_pause_accepting(s);
	return rc == CONN_EAGAIN || rc == CONN_ENOMEM ? 0 : rc;
}

/* One round: whatever can move without waiting.  A client with a
 * message to go on is on the active list. */
static int step(struct server *s)
{
	struct poll_sched *w = s->sched;
	size_t i;
	int rc;

	for (i = 0; i < w->n_active; i++)
		if (w->active[i]->authed &&
		    (conn_channel_received(w->active[i]->c) ||
		     poll_client_waits(s, w->active[i])))
			poll_client_messages(s, w->active[i]);
	rc = poll_pump_stdin(s);
	if (rc == 0)
		rc = poll_write_stdout(s);
	poll_flush_clients(s);
	return rc;
}

/*
 * What to wait for on a client's socket.  A handshake is served however
 * far behind stdout is: it writes nothing there.  An authenticated client
 * is waited for its input until it has some it may not read now (stdout
 * behind...): it is parked then, so that the wait does not report it
 * again and again, and looked at each round until it may.  An abandoned
 * client waits for nothing: it goes at the next step.
 */
static short client_events(const struct client *cl)
{
	bool in = !cl->closing && !cl->parked;
	short ev = in && !conn_channel_peer_eof(cl->c) ? POLLIN : 0;

	if (cl->abandoned)
		return 0;
	if (cl->tls_pending && !cl->closing)
		return conn_channel_tls_events(cl->c);
	return conn_channel_queued(cl->c) ? ev | POLLOUT : ev;
}

/* Decrypted bytes a TLS session holds are input the wait does not see:
 * the loop must not wait while a client that may read has some. */
static bool client_has_buffered(const struct client *cl)
{
	return !cl->tls_pending && (client_events(cl) & POLLIN) &&
	       conn_channel_has_buffered_input(cl->c);
}

/* Whether the client stays on the active list: it has something to do
 * that no wait would report. */
static bool has_work(const struct client *cl)
{
	return cl->closing || cl->parked || cl->job || cl->big ||
	       cl->spill_whole || conn_channel_queued(cl->c) ||
	       (cl->authed && conn_channel_received(cl->c)) ||
	       client_has_buffered(cl);
}

/* Before a wait: the active clients are waited for with what they wait
 * for now; those with nothing more to do leave the list. */
static void settle(struct server *s)
{
	struct poll_sched *w = s->sched;
	struct client *cl;
	size_t i = 0;

	while (i < w->n_active) {
		cl = w->active[i];
		if (cl->parked && poll_client_may_read(s, cl))
			cl->parked = false;
		if (poll_wait_set(w, cl, client_events(cl)) && !cl->closing)
			poll_client_fail(s, cl, CONN_EIO,
					 "it cannot be waited for");
		if (!has_work(cl)) {
			deactivate(s, cl);	/* the last one takes i */
			continue;
		}
		i++;
	}
}

/* The clients the wait reported: their input is read, or they are
 * parked (see client_events()). */
static void take_input(struct server *s)
{
	struct poll_sched *w = s->sched;
	struct client *cl;
	size_t i;
	short ev;

	for (i = 0; i < w->n_active; i++) {
		cl = w->active[i];
		ev = cl->revents;
		cl->revents = 0;
		if (client_has_buffered(cl))
			ev |= POLLIN;
		if ((ev && cl->tls_pending) || (ev & (POLLHUP | POLLERR)) ||
		    ((ev & POLLIN) && (!cl->authed ||
				       poll_client_may_read(s, cl))))
			client_input(s, cl);
		else if (ev & POLLIN)
			cl->parked = true;
	}
}

static int wait_events(struct server *s, int timeout)
{
	struct pollfd pfd[4];
	nfds_t n = 0, i;
	bool accepting = false;
	int rc;

	if (may_accept(s))
		pfd[n++] = (struct pollfd){ conn_listener_fd(s->l), POLLIN, 0 };
	if (!s->in_eof && s->in_fd >= 0 && !s->msg_ready &&
	    poll_targets_have_room(s))
		pfd[n++] = (struct pollfd){ s->in_fd, POLLIN, 0 };
	if (poll_stdout_pending(s))
		pfd[n++] = (struct pollfd){ s->out_fd, POLLOUT, 0 };
	if (poll_render_fd(s) >= 0)
		pfd[n++] = (struct pollfd){ poll_render_fd(s), POLLIN, 0 };
	settle(s);
	/* (a client with TLS input held is on the active list) */
	for (i = 0; i < s->sched->n_active; i++)
		if (client_has_buffered(s->sched->active[i]))
			timeout = 0;
	rc = poll_wait(s, pfd, n, timeout);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (s->l && pfd[i].fd == conn_listener_fd(s->l)) {
			accepting = true;
		} else if (pfd[i].fd == s->in_fd) {
			rc = poll_read_stdin(s);
			if (rc)
				return rc;
		} else if (pfd[i].fd == poll_render_fd(s)) {
			poll_render_collect(s);
		}
	}
	take_input(s);
	/* Last: making room drops clients, which moves them in the lists. */
	return accepting ? accept_all(s) : 0;
}

static int serve_loop(struct server *s)
{
	int rc = 0, timeout;

	while (rc == 0) {
		if (*s->stop) {
			rc = CONN_EINTR;
			break;
		}
		rc = step(s);
		if (rc || server_is_over(s))
			break;
		conn_progress_tick(&s->progress);
		timeout = sooner(expire_handshakes(s), expire_sendqs(s));
		timeout = sooner(timeout, poll_expire_holder(s));
		timeout = sooner(timeout, expire_idle(s));
		timeout = sooner(timeout, poll_render_expire(s));
		timeout = sooner(timeout, conn_progress_wait_ms(&s->progress));
		timeout = sooner(timeout, server_log_flush(s, false));
		if (s->l && server_accept_wait_ms(s))
			timeout = sooner(timeout, server_accept_wait_ms(s));
		timeout = sooner(timeout, full_wait_ms(s));
		rc = wait_events(s, timeout);
	}
	return rc;
}


/* -------------------------------------------------------------- entry */

static void server_free(struct server *s)
{
	size_t i;

	CONN_IGNORE(poll_render_close(s, false)); /* (none left by now) */
	poll_spill_close(s);
	conn_buffer_free(&s->stage);
	for (i = 0; i < s->n; i++)
		client_free(s->clients[i]);
	free(s->clients);
	if (s->sched) {
		poll_wait_close(s->sched);
		free(s->sched->active);
		free(s->sched);
	}
	conn_decoder_free(&s->dec);
	conn_buffer_free(&s->in);
	conn_buffer_free(&s->msg);
	conn_buffer_free(&s->out);
	if (s->out_fd_owned)
		close(s->out_fd);
	if (s->l)
		server_stop_listening(s);
}

/* Whole messages already accepted for stdout still go out at the end;
 * those that cannot are an error, not a quiet end (exit 1); quiet keeps
 * the detail of the error that ended the loop. */
static int drain_stdout(struct server *s, bool quiet)
{
	struct pollfd pfd = { s->out_fd, POLLOUT, 0 };
	int rc = 0;

	while (poll_stdout_pending(s) && (rc = poll_write_stdout(s)) == 0 &&
	       poll_stdout_pending(s))
		if (poll(&pfd, 1, 5000) <= 0)
			break;
	if (rc == 0 && poll_stdout_pending(s) && !quiet) {
		snprintf(s->detail, s->capacity, "stdout took nothing for 5 "
			 "s: %llu bytes of whole messages are not written",
			 (unsigned long long)poll_stdout_pending(s));
		rc = CONN_EIO;
	}
	return quiet ? 0 : rc;
}

int server_poll_run(struct server *s)
{
	const struct cli_options *o = s->o;
	int rc;

	s->in_fd = o->recv_only || o->echo ? -1 : STDIN_FILENO;
	s->in_eof = s->in_done = s->in_fd < 0;
	s->out_fd = conn_fd_copy_nonblocking(&s->out_fd_owned, STDOUT_FILENO);
	conn_decoder_init(&s->dec, o->in_format, o->max_size, o->chunk_size);
	s->dec.pickle_protocol = o->pickle_protocol;
	s->clients = calloc(o->max_conns, sizeof(*s->clients));
	s->sched = calloc(1, sizeof(*s->sched));
	rc = s->clients && s->sched ? 0 : CONN_ENOMEM;
	if (rc == 0) {
		s->sched->epfd = -1;
		s->sched->active = calloc(o->max_conns,
					  sizeof(*s->sched->active));
		rc = s->sched->active ? poll_wait_open(s->sched, o->max_conns)
				      : CONN_ENOMEM;
	}
	if (rc == 0)
		rc = conn_buffer_init(&s->in, CONN_BUFFER_READ_SIZE);
	if (rc == 0)
		rc = conn_buffer_init(&s->msg, 4096);
	if (rc == 0)
		rc = conn_buffer_init(&s->out, CONN_BUFFER_READ_SIZE);
	conn_progress_start(&s->progress, o->progress == CLI_PROGRESS_ALWAYS,
			    o->progress_width, s->log, s->log_ctx);
	if (rc == 0) {
		server_say(s, CONN_LOG_TRACE, "serving clients with %s",
			   poll_wait_name(s->sched));
		rc = serve_loop(s);
	}
	if (rc != CONN_EPIPE) {
		unsigned lost;
		int out_rc;

		/* Renderings done by now go out with the rest; those still
		 * running are lost, and said to be (past --count, they were
		 * not asked for). */
		poll_render_collect(s);
		lost = poll_render_close(s, !s->count_reached);
		out_rc = drain_stdout(s, rc && rc != CONN_EINTR);
		if ((rc == 0 || rc == CONN_EINTR) && out_rc == 0 && lost &&
		    !s->count_reached) {
			snprintf(s->detail, s->capacity, "%u message%s not "
				 "shown: stopped while being rendered", lost,
				 lost == 1 ? " is" : "s are");
			out_rc = CONN_EIO;
		}

		/* A stop signal is a quiet end, unless messages are lost. */
		if ((rc == 0 || rc == CONN_EINTR) && out_rc)
			rc = out_rc;
	}
	conn_progress_end(&s->progress);
	server_free(s);
	return rc;
}
