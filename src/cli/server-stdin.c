/*
 * server-stdin.c - conn-listen -k: stdin's messages to the newest client,
 * or to all with --broadcast, waiting only for the targets; a target that
 * stops reading is dropped (--max-sendq, --send-timeout).
 */
#include "server-poll.h"


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

/* ------------------------------------------------------ stdin -> clients */

/* A client stdin may go to: authenticated and not on its way out. */
static bool is_target(const struct client *cl)
{
	return cl->authed && !cl->closing;
}

/* Without --broadcast, the one client stdin goes to, or NULL.  Kept from
 * one call to the next (client_ready() sets a newer one): looked for
 * among all only once it stops being a target, or is gone. */
struct client *poll_newest_target(const struct server *s)
{
	struct poll_sched *w = s->sched;
	struct client *newest = NULL;
	size_t i;

	if (!w->newest_stale && (w->newest == NULL || is_target(w->newest)))
		return w->newest;
	for (i = 0; i < s->n; i++)
		if (is_target(s->clients[i]) &&
		    (newest == NULL || s->clients[i]->serial > newest->serial))
			newest = s->clients[i];
	w->newest = newest;
	w->newest_stale = false;
	return newest;
}

/* How much queued for a client makes stdin wait for it: TX_HIGH, or a
 * lower --max-sendq, so that a target stdin waits for is never over it. */
static size_t sendq_high(const struct server *s)
{
	uint64_t max = s->o->max_sendq;

	return max && max < TX_HIGH ? (size_t)max : TX_HIGH;
}

static bool has_room(const struct server *s, const struct client *cl)
{
	return conn_channel_queued(cl->c) < sendq_high(s);
}

/*
 * Whether stdin may go on: only its targets count, never an older client
 * that stopped reading.  The newest client must have room; with
 * --broadcast one client at least (the fastest sets the pace; one that
 * falls --max-sendq behind is dropped), or with --max-sendq=0 every one.
 */
bool poll_targets_have_room(const struct server *s)
{
	const struct client *newest;
	bool every = s->o->max_sendq == 0, any = false;
	size_t i;

	if (!s->o->broadcast) {
		newest = poll_newest_target(s);
		return newest && has_room(s, newest);
	}
	for (i = 0; i < s->n; i++) {
		if (!is_target(s->clients[i]))
			continue;
		if (has_room(s, s->clients[i]))
			any = true;
		else if (every)
			return false;
	}
	return any;
}

/* Lets a client go at once, its queue unsent: it stopped reading.  The
 * next poll_flush_clients() frees it. */
void poll_client_abandon(struct server *s, struct client *cl,
			 const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	server_say(s, CONN_LOG_WARNING, "%s: %s", cl->name, why);
	cl->closing = cl->abandoned = true;
	poll_client_activate(s, cl);
	conn_channel_discard_input(cl->c);
}

/* --broadcast: the message for one client, unless it is --max-sendq
 * behind already (IRC's "SendQ exceeded"): then it goes. */
static int broadcast_to(struct server *s, struct client *cl)
{
	size_t queued = conn_channel_queued(cl->c);

	if (s->o->max_sendq && queued >= s->o->max_sendq) {
		poll_client_abandon(s, cl, "dropped: it fell %zu bytes behind "
				    "(--max-sendq %llu)", queued,
				    (unsigned long long)s->o->max_sendq);
		return 0;
	}
	return poll_client_queue(s, cl, s->msg.data, conn_buffer_len(&s->msg));
}

/* The newest client, or with --broadcast every one, gets msg. */
static int dispatch(struct server *s)
{
	struct client *newest;
	size_t i;
	int rc = 0;

	if (s->o->broadcast) {
		for (i = 0; i < s->n && rc == 0; i++)
			if (is_target(s->clients[i]))
				rc = broadcast_to(s, s->clients[i]);
	} else if ((newest = poll_newest_target(s)) != NULL) {
		rc = poll_client_queue(s, newest, s->msg.data,
				       conn_buffer_len(&s->msg));
	}
	s->progress.sent++;
	s->progress.sent_bytes += conn_buffer_len(&s->msg);
	conn_buffer_clear(&s->msg);
	s->msg_ready = false;
	return rc;
}

/* Cuts stdin into messages and hands each to the clients. */
int poll_pump_stdin(struct server *s)
{
	struct conn_piece p;
	size_t used;
	int rc;

	while (!s->in_done && poll_targets_have_room(s)) {
		if (s->msg_ready) {
			rc = dispatch(s);
			if (rc)
				return rc;
			continue;
		}
		rc = conn_decoder_next(&s->dec, &p, &used,
				       s->in.data + s->in.start,
				       conn_buffer_len(&s->in), s->in_eof,
				       SIZE_MAX);
		if (rc == 0)
			rc = conn_buffer_append(&s->msg, p.data, p.size);
		conn_buffer_consume(&s->in, used);
		if (rc == 0 && conn_piece_is_last(&p))
			s->msg_ready = true;
		if (rc == CONN_EAGAIN && used == 0) {
			s->in_done = s->in_eof;
			return 0;
		}
		if (rc && rc != CONN_EAGAIN) {
			snprintf(s->detail, s->capacity, "%s",
				 s->dec.detail);
			return rc;
		}
	}
	return 0;
}

int poll_read_stdin(struct server *s)
{
	return conn_buffer_read_fd(&s->in, &s->in_eof, s->detail, s->capacity,
				   s->in_fd, "stdin",
				   conn_decoder_window(&s->dec));
}
