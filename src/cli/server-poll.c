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
#include "server.h"

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

#define OUT_HIGH (1024 * 1024)	/* stdout behind: stop reading clients */
#define TX_HIGH (1024 * 1024)	/* a client behind: stop reading for it */
#define WAIT_MAX_MS 1000000	/* poll's longest wait */
#define PIECE_MAX (64 * 1024)	/* of a client's message taken at a time */
#define STALL_MS 10000		/* a big message's sender silent: dropped */

struct client {
	struct conn_channel *c;
	struct conn_auth auth;
	bool authed;
	bool closing;		/* the client is done: flush, then close */
	bool abandoned;		/* closing without flushing: it reads not */
	int64_t deadline;	/* of the handshake, or -1 */
	int64_t since;		/* accepted at (ms) */
	bool heard;		/* it has sent a byte */
	uint64_t serial;	/* accept order: the newest gets stdin */
	uint64_t received;
	int64_t moved_at;	/* when its send queue last moved or filled */
	struct conn_buffer whole;	/* the message being gathered */
	char name[NAME_MAX_LEN];
	char *json_name;	/* --tag --out json: name as a JSON string */
	size_t json_name_len;
	/* A message over its share of --max-buffer needs stdout to itself
	 * (struct server's holder); until then it waits, its first piece in
	 * whole, the rest in its socket. */
	bool big;
	uint64_t big_total;
	uint64_t streamed;	/* bytes of it already on stdout */
	bool at_line_start;	/* --tag: the next streamed byte starts a line */
	int64_t stall_deadline;	/* the holder must send more before it */
};

/* ------------------------------------------------------------- clients */

static void client_free(struct client *cl)
{
	conn_channel_free(cl->c);
	conn_buffer_free(&cl->whole);
	free(cl->json_name);
	free(cl);
}

/* Queues one message for the client without ever blocking; the clock
 * of --send-timeout starts when its queue stops being empty. */
static int client_queue(struct client *cl, const void *data, size_t size)
{
	if (conn_channel_queued(cl->c) == 0)
		cl->moved_at = conn_clock_ms();
	return conn_channel_append(cl->c, data, size);
}

static void client_drop(struct server *s, size_t i)
{
	struct client *cl = s->clients[i];

	/* A #FAILURE#, best effort: the client is gone either way. */
	CONN_IGNORE(conn_channel_write_some(cl->c));
	if (s->holder == cl)
		s->holder = NULL;
	client_free(cl);
	s->clients[i] = s->clients[--s->n];
}

/* stdout is free again for the clients waiting with big messages. */
static void release_stdout(struct server *s, struct client *cl)
{
	if (s->holder == cl)
		s->holder = NULL;
	cl->big = false;
	cl->big_total = cl->streamed = 0;
}

/*
 * The holder of stdout goes before its message is whole.  Nothing of a
 * held message was written: it is lost with the client's warning.  Part
 * of a streamed one is on stdout already and cannot be taken back: the
 * listener stops (exit 5) rather than go on with a cut message there.
 */
static void holder_gone(struct server *s, struct client *cl)
{
	if (cl->streamed) {
		snprintf(s->detail, s->capacity, "%s: message %llu is cut "
			 "after %llu of its %llu bytes, written to stdout as "
			 "they came: stopping", cl->name,
			 (unsigned long long)cl->received + 1,
			 (unsigned long long)cl->streamed,
			 (unsigned long long)cl->big_total);
		s->cut = true;
	}
	release_stdout(s, cl);
}

/* Logs why a client goes, and lets it go; the server goes on. */
static void client_fail(struct server *s, struct client *cl, int rc,
			const char *why)
{
	char text[400];

	cli_error_text(text, sizeof(text), rc, why);
	server_say(s, CONN_LOG_WARNING, "%s: %s", cl->name, text);
	cl->closing = true;
	conn_channel_discard_input(cl->c);
	if (s->holder == cl)
		holder_gone(s, cl);
}

/* A message of the client's that cannot be held, rendered or queued
 * (out of memory) is lost: the client goes with a warning that says so,
 * rather than the loss going unseen; the others go on. */
static void client_lost(struct server *s, struct client *cl, int rc,
			uint64_t size)
{
	char why[160];

	snprintf(why, sizeof(why), "message %llu (%llu bytes) is lost: %s; "
		 "the client is dropped", (unsigned long long)cl->received + 1,
		 (unsigned long long)size, conn_strerror(rc));
	client_fail(s, cl, rc, why);
	conn_buffer_free(&cl->whole);	/* given back now, not at the close */
}

/* After the handshake (or at once without a key): --data greets it. */
static int client_ready(struct server *s, struct client *cl)
{
	size_t i;
	int rc = 0;

	cl->authed = true;
	cl->deadline = -1;
	cl->moved_at = conn_clock_ms();	/* the #WELCOME# may be queued */
	conn_channel_set_max_size(cl->c, s->o->max_size);
	if (s->o->key)
		server_say(s, CONN_LOG_TRACE, "%s: authenticated (%s)",
			   cl->name, cl->auth.peer_digest);
	for (i = 0; i < s->o->data_count && rc == 0; i++) {
		rc = client_queue(cl, s->o->data[i], s->o->data_len[i]);
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
		client_fail(s, cl, rc, cl->authed ? NULL
				       : conn_channel_detail(cl->c));
}

static void start_handshake(struct server *s, struct client *cl)
{
	conn_auth_init(&cl->auth, CONN_ROLE_LISTENER, s->o->key,
		       s->o->digest, s->o->auth_flags);
	cl->deadline = s->o->handshake_timeout_ms ?
		       conn_clock_ms() + s->o->handshake_timeout_ms : -1;
	client_handshake(s, cl);
}

/* ------------------------------------------- --max-startups (pre-auth) */

static bool in_handshake(const struct client *cl)
{
	return !cl->authed && !cl->closing;
}

static size_t count_in_handshake(const struct server *s)
{
	size_t i, u = 0;

	for (i = 0; i < s->n; i++)
		u += in_handshake(s->clients[i]);
	return u;
}

/* The one to go: a connection in the handshake that has sent nothing,
 * else any in the handshake, the oldest first.  A slowloris holds the
 * old silent ones; an honest client is new and has answered at once. */
static size_t oldest_in_handshake(const struct server *s, bool full)
{
	size_t i, pick = s->n;

	for (i = 0; i < s->n; i++) {
		const struct client *cl = s->clients[i], *p;

		if (!in_handshake(cl) || !server_may_drop(cl->since, full))
			continue;
		p = pick < s->n ? s->clients[pick] : NULL;
		if (p == NULL || (p->heard && !cl->heard) ||
		    (p->heard == cl->heard && cl->serial < p->serial))
			pick = i;
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
	size_t u = count_in_handshake(s), i;
	bool full = s->n >= s->o->max_conns;
	struct client *cl;

	if (u == 0 || !server_must_make_room(s, u, s->n))
		return;
	/* One that has answered, unread yet, is not silent. */
	while ((i = oldest_in_handshake(s, full)) < s->n &&
	       !s->clients[i]->heard && has_input(s->clients[i]))
		s->clients[i]->heard = true;
	if (i == s->n)
		return;		/* all of them are new: a burst */
	cl = s->clients[i];
	server_say_made_room(s, cl->name, cl->since, u);
	cl->closing = true;
	client_drop(s, i);
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
	rc = cl ? conn_channel_new(&cl->c, fd, fd) : CONN_ENOMEM;
	if (rc == 0)
		rc = conn_buffer_init(&cl->whole, 4096);
	if (rc) {
		if (cl && cl->c == NULL)
			close(fd);
		if (cl)
			client_free(cl);
		return rc;
	}
	cl->serial = s->accepted;
	cl->since = conn_clock_ms();
	server_name_client(cl->name, fd, peer, cl->serial);
	conn_channel_set_log(cl->c, s->log, s->log_ctx, s->o->verbose > 0);
	s->clients[s->n++] = cl;
	server_say(s, CONN_LOG_TRACE, "connection from %s", cl->name);
	if (s->o->key)
		start_handshake(s, cl);
	else if ((rc = client_ready(s, cl)) != 0)
		client_fail(s, cl, rc, NULL);	/* no memory for --data */
	return 0;
}

/* ------------------------------------------------------ client -> stdout */

/* --tag: "NAME " (the room is the caller's to make). */
static int append_tag(struct server *s, const struct client *cl)
{
	int rc = conn_buffer_append(&s->out, cl->name, strlen(cl->name));

	return rc ? rc : conn_buffer_append(&s->out, " ", 1);
}

/* --tag --out json wraps each message in an object instead of prefixing
 * it, so that every line stays one JSON value (a file of them is JSON
 * Lines, which jq reads). */
static bool tag_as_json(const struct server *s)
{
	return s->o->tag && s->o->out_format == CONN_FORMAT_JSON;
}

/* '{"peer": NAME, "message": ' (the caller closes the object). */
static int open_json_tag(struct server *s, struct client *cl)
{
	static const char head[] = "{\"peer\": ", middle[] = ", \"message\": ";
	int rc = 0;

	if (cl->json_name == NULL)
		rc = conn_json_quote(&cl->json_name, &cl->json_name_len,
				     cl->name, strlen(cl->name));
	if (rc == 0)
		rc = conn_buffer_append(&s->out, head, sizeof(head) - 1);
	if (rc == 0)
		rc = conn_buffer_append(&s->out, cl->json_name,
					cl->json_name_len);
	return rc ? rc : conn_buffer_append(&s->out, middle,
					    sizeof(middle) - 1);
}

/* --tag --out json: one message, whose rendering ends in a newline that
 * goes after the object's end. */
static int append_json_tagged(struct server *s, struct client *cl,
			      const char *text, size_t len)
{
	int rc = open_json_tag(s, cl);

	if (rc == 0)
		rc = conn_buffer_append(&s->out, text, len - 1);
	return rc ? rc : conn_buffer_append(&s->out, "}\n", 2);
}

/*
 * The tag at the start of each record of data (records end in sep), data
 * starting one if *at_start; with close, the last record (maybe empty)
 * gets its sep, as a plain format ends a message.  Without it, a
 * record-ending byte inside a message would start a line on which the
 * message could forge another peer's tag.  A message streamed in pieces
 * keeps *at_start from one to the next.
 */
static int append_tagged_records(struct server *s, const struct client *cl,
				 const char *data, size_t len, char sep,
				 bool close, bool *at_start)
{
	const char *end;
	size_t part;
	int rc = 0;

	while (len > 0 && rc == 0) {
		end = memchr(data, sep, len);
		part = end ? (size_t)(end - data) + 1 : len;
		if (*at_start)
			rc = append_tag(s, cl);
		if (rc == 0)
			rc = conn_buffer_append(&s->out, data, part);
		*at_start = end != NULL;
		data += part;
		len -= part;
	}
	if (rc == 0 && close && *at_start)
		rc = append_tag(s, cl);
	if (rc == 0 && close) {
		rc = conn_buffer_append(&s->out, &sep, 1);
		*at_start = true;
	}
	return rc;
}

/* A rendering (repr, json, pickle-dis) with --tag on each of its lines. */
static int append_tagged_lines(struct server *s, const struct client *cl,
			       const char *text, size_t len)
{
	bool at_start = true;

	return append_tagged_records(s, cl, text, len, '\n', false,
				     &at_start);
}

/* --tag --out lines (null): a message holding newlines (NULs) of its own
 * has every line tagged, as ncat --chat does, so that none can pass for
 * another peer's. */
static bool tag_each_record(const struct server *s, const uint8_t *data,
			    size_t size, char *sep)
{
	enum conn_format f = s->o->out_format;

	*sep = f == CONN_FORMAT_NULL ? '\0' : '\n';
	return s->o->tag && (f == CONN_FORMAT_LINES || f == CONN_FORMAT_NULL) &&
	       memchr(data, *sep, size) != NULL;
}

/*
 * --keep-going: a message that is not a pickle, in hex, tagged as the
 * others are; with --tag --out json as {"__hex__": "..."}, so that every
 * line stays JSON.
 */
static int append_hex(struct server *s, struct client *cl,
		      const char *hex, size_t len)
{
	static const char hex_head[] = "{\"__hex__\": \"";
	bool json = tag_as_json(s);
	int rc = 0;

	if (json)
		rc = open_json_tag(s, cl);
	if (rc == 0 && json)
		rc = conn_buffer_append(&s->out, hex_head,
					sizeof(hex_head) - 1);
	else if (rc == 0 && s->o->tag)
		rc = append_tag(s, cl);
	/* In JSON, the hex line's newline goes after the object's end. */
	if (rc == 0)
		rc = conn_buffer_append(&s->out, hex, json ? len - 1 : len);
	if (rc == 0 && json)
		rc = conn_buffer_append(&s->out, "\"}}\n", 4);
	return rc;
}

static int render_message(struct server *s, struct client *cl,
			  const uint8_t *data, size_t size)
{
	enum conn_format f = s->o->out_format;
	struct conn_piece p = { data, size, 0, size };
	char why[200], *text = NULL, sep;
	bool hex;
	size_t len;
	int rc;

	if (tag_each_record(s, data, size, &sep)) {
		bool at_start = true;

		return append_tagged_records(s, cl, (const char *)data, size,
					     sep, true, &at_start);
	}
	if (!conn_format_is_whole(f)) {
		/* The plain formats: one tag before the message, whose
		 * payload may hold newlines of its own. */
		rc = conn_buffer_reserve(&s->out, conn_encode_bound(f, size) +
					 NAME_MAX_LEN + 1, SIZE_MAX);
		if (rc == 0 && s->o->tag)
			rc = append_tag(s, cl);
		if (rc == 0)
			conn_buffer_extend(&s->out, conn_encode_piece(
				s->out.data + s->out.end, f, &p));
		return rc;
	}
	rc = conn_format_render_or_hex(&text, &len, &hex, why, sizeof(why), f,
				       data, size, s->o->keep_going);
	if (rc == 0 && hex) {
		server_say(s, CONN_LOG_WARNING, "%s: message %llu is not shown "
			   "as %s (%s); here it is in hex", cl->name,
			   (unsigned long long)cl->received + 1,
			   conn_format_name(f), why);
		rc = append_hex(s, cl, text, len);
		free(text);
		return rc;
	}
	if (rc == CONN_EPROTO || rc == CONN_ETOOBIG) {
		char line[300];

		snprintf(line, sizeof(line), "message %llu: %s",
			 (unsigned long long)cl->received + 1, why);
		client_fail(s, cl, rc, line);
		return 0;
	}
	if (rc == 0 && tag_as_json(s))
		rc = append_json_tagged(s, cl, text, len);
	else if (rc == 0)
		rc = s->o->tag ? append_tagged_lines(s, cl, text, len)
			       : conn_buffer_append(&s->out, text, len);
	free(text);
	return rc;
}

/* One more message of the client's is out (or discarded, --send-only). */
static void count_message(struct server *s, struct client *cl, uint64_t size)
{
	conn_buffer_commit(&s->out);
	release_stdout(s, cl);
	cl->received++;
	s->received++;
	s->progress.received++;
	s->progress.received_bytes += size;
	if (s->o->count && s->received >= s->o->count)
		s->count_reached = true;
}

/* A whole message from a client: to stdout, or back with --echo. */
static int deliver(struct server *s, struct client *cl)
{
	struct conn_buffer *w = &cl->whole;
	struct conn_piece p = { w->data + w->start, conn_buffer_len(w), 0,
				conn_buffer_len(w) };
	int rc = 0;

	conn_channel_trace_frame(cl->c, '<', &p);
	if (s->o->echo)
		rc = client_queue(cl, p.data, p.size);
	else if (!s->o->send_only)
		rc = render_message(s, cl, p.data, p.size);
	/* A big message's memory goes back now, not when its client goes. */
	if (w->cap > PIECE_MAX)
		conn_buffer_free(w);
	else
		conn_buffer_clear(w);
	if (rc) {
		conn_buffer_drop_partial(&s->out); /* no half a rendering */
		return rc;
	}
	count_message(s, cl, p.size);
	return 0;
}

static bool client_may_read(const struct server *s, const struct client *cl)
{
	return !cl->closing && !s->count_reached &&
	       (s->holder == NULL || s->holder == cl) &&
	       conn_buffer_len(&s->out) < OUT_HIGH &&
	       (!s->o->echo || conn_channel_queued(cl->c) < TX_HIGH);
}

/* ------------------------------------------------- the memory budget */

/*
 * Half of --max-buffer is shared among --max-conns clients: a message up
 * to a share (64K at least) is held whole, by any number of clients at
 * once.  A bigger one needs stdout to itself: it is streamed in the plain
 * formats, held whole (up to the other half) to be rendered in the
 * others; the other clients wait in their socket buffers meanwhile.
 */
static bool is_big(const struct server *s, uint64_t total)
{
	uint64_t share = s->o->max_buffer / 2 / s->o->max_conns;

	return !s->o->echo && !s->o->send_only &&
	       total > (share < PIECE_MAX ? PIECE_MAX : share);
}

static bool streams(const struct server *s)
{
	return !conn_format_is_whole(s->o->out_format);
}

/* A piece of the holder's message straight to stdout, committed: it goes
 * out whatever comes next (see holder_gone()). */
static int stream_piece(struct server *s, struct client *cl,
			const struct conn_piece *p)
{
	enum conn_format f = s->o->out_format;
	char sep = f == CONN_FORMAT_NULL ? '\0' : '\n';
	int rc;

	cl->stall_deadline = conn_clock_ms() + STALL_MS;
	if (s->o->tag && (f == CONN_FORMAT_LINES || f == CONN_FORMAT_NULL)) {
		rc = append_tagged_records(s, cl, (const char *)p->data,
					   p->size, sep, conn_piece_is_last(p),
					   &cl->at_line_start);
	} else {
		rc = conn_buffer_reserve(&s->out, NAME_MAX_LEN + 1 +
					 conn_encode_bound(f, p->size),
					 SIZE_MAX);
		if (rc == 0 && s->o->tag && conn_piece_is_first(p))
			rc = append_tag(s, cl);
		if (rc == 0)
			conn_buffer_extend(&s->out, conn_encode_piece(
				s->out.data + s->out.end, f, p));
	}
	if (rc)
		return rc;
	conn_buffer_commit(&s->out);
	cl->streamed += p->size;
	if (conn_piece_is_last(p))
		count_message(s, cl, p->total);
	return 0;
}

/* The client's big message gets stdout: what it holds of it goes first
 * (streamed), or, whole already, is rendered. */
static int hold_stdout(struct server *s, struct client *cl)
{
	struct conn_buffer *w = &cl->whole;
	struct conn_piece p = { w->data + w->start, conn_buffer_len(w), 0,
				cl->big_total };
	int rc = 0;

	s->holder = cl;
	cl->at_line_start = true;
	cl->stall_deadline = conn_clock_ms() + STALL_MS;
	if (p.size && streams(s)) {
		conn_channel_trace_frame(cl->c, '<', &p);
		rc = stream_piece(s, cl, &p);
		conn_buffer_free(w);
	} else if (p.size == cl->big_total && p.size) {
		rc = deliver(s, cl);
	}
	return rc;
}

/* A big message to be rendered must fit in the other half of the budget. */
static int check_big(struct server *s, struct client *cl, uint64_t total)
{
	char why[300];

	if (streams(s) || total <= s->o->max_buffer / 2)
		return 0;
	snprintf(why, sizeof(why), "message %llu (%llu bytes) is over half "
		 "of --max-buffer (%llu bytes), what --out %s may hold to "
		 "render it; the client is dropped",
		 (unsigned long long)cl->received + 1,
		 (unsigned long long)total,
		 (unsigned long long)s->o->max_buffer,
		 conn_format_name(s->o->out_format));
	client_fail(s, cl, CONN_ETOOBIG, why);
	return CONN_ETOOBIG;
}

/* One piece of a client's message: held until whole, or streamed. */
static int client_piece(struct server *s, struct client *cl,
			const struct conn_piece *p)
{
	int rc;

	if (conn_piece_is_first(p) && is_big(s, p->total)) {
		if (check_big(s, cl, p->total))
			return 0;	/* dropped, with its warning */
		cl->big = true;
		cl->big_total = p->total;
		if (s->holder == NULL && (rc = hold_stdout(s, cl)) != 0)
			return rc;
	}
	if (s->holder == cl && streams(s)) {
		if (conn_piece_is_first(p))
			conn_channel_trace_frame(cl->c, '<', p);
		return stream_piece(s, cl, p);
	}
	if (s->o->send_only) {
		/* Read and discarded: nothing to hold. */
		if (conn_piece_is_first(p))
			conn_channel_trace_frame(cl->c, '<', p);
		if (conn_piece_is_last(p))
			count_message(s, cl, p->total);
		return 0;
	}
	rc = conn_buffer_append(&cl->whole, p->data, p->size);
	if (rc == 0 && conn_piece_is_last(p) && (!cl->big || s->holder == cl))
		rc = deliver(s, cl);
	return rc;
}

/* Holder of stdout silent past STALL_MS: dropped (stdout behind is no
 * stall of its).  Returns the ms until its deadline, or -1. */
static int expire_holder(struct server *s)
{
	struct client *cl = s->holder;
	int64_t left;

	if (cl == NULL)
		return -1;
	if (conn_buffer_len(&s->out) >= OUT_HIGH ||
	    conn_channel_received(cl->c))
		cl->stall_deadline = conn_clock_ms() + STALL_MS;
	left = cl->stall_deadline - conn_clock_ms();
	if (left > 0)
		return left > 1000000 ? 1000000 : (int)left;
	client_fail(s, cl, CONN_ETIMEDOUT, "sent nothing for 10 s inside a "
		    "message that holds stdout; the client is dropped");
	return -1;
}

/* Takes the whole messages in the client's queue while stdout has room;
 * whatever goes wrong drops the client, with a warning. */
static void client_messages(struct server *s, struct client *cl)
{
	struct conn_channel *c = cl->c;
	struct conn_piece p;
	int rc = CONN_EAGAIN;

	while (client_may_read(s, cl)) {
		if (cl->big && s->holder == NULL) {
			rc = hold_stdout(s, cl);
			if (rc) {
				client_lost(s, cl, rc, cl->big_total);
				return;
			}
			continue;
		}
		rc = conn_channel_take_piece(&p, c, PIECE_MAX);
		if (rc)
			break;
		rc = client_piece(s, cl, &p);
		if (rc) {
			client_lost(s, cl, rc, p.total);
			return;
		}
	}
	/* Its end of stream counts even while stdout is full, but not before
	 * a big message it holds whole has had its turn. */
	if ((rc == 0 || rc == CONN_EAGAIN) && !cl->closing && !cl->big &&
	    conn_channel_peer_eof(c) &&
	    conn_channel_received(c) == 0)
		rc = conn_channel_take_piece(&p, c, SIZE_MAX);
	if (rc == CONN_ERESET) {
		server_say(s, CONN_LOG_TRACE, "%s: closed after %llu messages",
			   cl->name, (unsigned long long)cl->received);
		cl->closing = true;
	} else if (rc && rc != CONN_EAGAIN) {
		client_fail(s, cl, rc, conn_channel_detail(c));
	}
}

/* Reads what the client sent and acts on it; a failure drops the client
 * (with a warning), never the server. */
static void client_input(struct server *s, struct client *cl)
{
	int rc;

	if (cl->abandoned)	/* a hang-up: it goes anyway, said once */
		return;
	rc = conn_channel_read_some(cl->c);
	if (rc == CONN_EAGAIN)
		return;
	cl->heard |= rc == 0 && conn_channel_received(cl->c) > 0;
	if (rc) {
		client_fail(s, cl, rc, conn_channel_detail(cl->c));
		return;
	}
	if (!cl->authed)
		client_handshake(s, cl);
	if (cl->authed && !cl->closing)
		client_messages(s, cl);
}

/* ------------------------------------------------------ stdin -> clients */

/* A client stdin may go to: authenticated and not on its way out. */
static bool is_target(const struct client *cl)
{
	return cl->authed && !cl->closing;
}

/* Without --broadcast, the one client stdin goes to, or NULL. */
static struct client *newest_client(const struct server *s)
{
	struct client *newest = NULL;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (is_target(s->clients[i]) &&
		    (newest == NULL || s->clients[i]->serial > newest->serial))
			newest = s->clients[i];
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
static bool targets_have_room(const struct server *s)
{
	const struct client *newest;
	bool every = s->o->max_sendq == 0, any = false;
	size_t i;

	if (!s->o->broadcast) {
		newest = newest_client(s);
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
 * next flush_clients() frees it. */
static void client_abandon(struct server *s, struct client *cl,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void client_abandon(struct server *s, struct client *cl,
			   const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	server_say(s, CONN_LOG_WARNING, "%s: %s", cl->name, why);
	cl->closing = cl->abandoned = true;
	conn_channel_discard_input(cl->c);
}

/* --broadcast: the message for one client, unless it is --max-sendq
 * behind already (IRC's "SendQ exceeded"): then it goes. */
static int broadcast_to(struct server *s, struct client *cl)
{
	size_t queued = conn_channel_queued(cl->c);

	if (s->o->max_sendq && queued >= s->o->max_sendq) {
		client_abandon(s, cl, "dropped: it fell %zu bytes behind "
			       "(--max-sendq %llu)", queued,
			       (unsigned long long)s->o->max_sendq);
		return 0;
	}
	return client_queue(cl, s->msg.data, conn_buffer_len(&s->msg));
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
	} else if ((newest = newest_client(s)) != NULL) {
		rc = client_queue(newest, s->msg.data,
				  conn_buffer_len(&s->msg));
	}
	s->progress.sent++;
	s->progress.sent_bytes += conn_buffer_len(&s->msg);
	conn_buffer_clear(&s->msg);
	s->msg_ready = false;
	return rc;
}

/* Cuts stdin into messages and hands each to the clients. */
static int pump_stdin(struct server *s)
{
	struct conn_piece p;
	size_t used;
	int rc;

	while (!s->in_done && targets_have_room(s)) {
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

static int read_stdin(struct server *s)
{
	return conn_buffer_read_fd(&s->in, &s->in_eof, s->detail, s->capacity,
				   s->in_fd, "stdin",
				   conn_decoder_window(&s->dec));
}

/* --------------------------------------------------------------- stdout */

static int write_stdout(struct server *s)
{
	int rc = conn_buffer_write_fd(&s->out, s->detail, s->capacity,
				      s->out_fd, "stdout", s->out.mark);

	/* A big rendering's room goes back once it is out; appending
	 * allocates anew. */
	if (rc == 0 && conn_buffer_len(&s->out) == 0 &&
	    s->out.cap > 2 * OUT_HIGH)
		conn_buffer_free(&s->out);
	return rc;
}

/* ------------------------------------------------------------- the loop */

/* Sends what the client has queued, as far as it takes it now; its
 * progress restarts the clock of --send-timeout. */
static int client_flush(struct client *cl)
{
	size_t before = conn_channel_queued(cl->c);
	int rc = conn_channel_write_some(cl->c);

	if (conn_channel_queued(cl->c) < before)
		cl->moved_at = conn_clock_ms();
	return rc;
}

/* Sends what each client has queued; lets go of the finished ones. */
static void flush_clients(struct server *s)
{
	size_t i = 0;
	struct client *cl;
	int rc;

	while (i < s->n) {
		cl = s->clients[i];
		rc = cl->abandoned ? 0 : client_flush(cl);
		if (rc && !cl->closing)
			client_fail(s, cl, rc, conn_channel_detail(cl->c));
		if (cl->closing && (rc || cl->abandoned ||
				    conn_channel_queued(cl->c) == 0)) {
			client_drop(s, i);
			continue;
		}
		i++;
	}
}

/* Handshakes past their time; returns the ms until the next deadline. */
static int expire_handshakes(struct server *s)
{
	int64_t now = conn_clock_ms(), next = -1, left;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct client *cl = s->clients[i];

		if (cl->authed || cl->closing || cl->deadline < 0)
			continue;
		left = cl->deadline - now;
		if (left <= 0) {
			int rc = conn_channel_handshake_timed_out(
				cl->c, &cl->auth, s->o->handshake_timeout_ms);

			client_fail(s, cl, rc, conn_channel_detail(cl->c));
		} else if (next < 0 || left < next) {
			next = left;
		}
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

	for (i = 0; i < s->n && limit; i++) {
		struct client *cl = s->clients[i];

		if (!cl->authed || cl->abandoned ||
		    conn_channel_queued(cl->c) == 0)
			continue;
		left = cl->moved_at + limit - now;
		if (left <= 0 && cl->closing)
			cl->abandoned = true;
		else if (left <= 0)
			client_abandon(s, cl, "dropped: it read nothing for "
				       "%g s (%zu bytes queued)",
				       (double)limit / 1000.0,
				       conn_channel_queued(cl->c));
		/* The next step lets the abandoned go. */
		left = cl->abandoned ? 0 : left;
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
		return s->out.start == s->out.mark;
	return s->l == NULL && s->n == 0 && s->out.start == s->out.mark;
}

/* With every place taken, a connection still in the handshake can make
 * room (see make_room()); out of descriptors, accepts wait a while. */
static bool may_accept(const struct server *s)
{
	return s->l && !s->count_reached && server_accept_wait_ms(s) == 0 &&
	       (s->n < s->o->max_conns ||
		(s->o->key && count_in_handshake(s) > 0));
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

/* One round: whatever can move without waiting. */
static int step(struct server *s)
{
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++)
		if (s->clients[i]->authed &&
		    (conn_channel_received(s->clients[i]->c) ||
		     (s->clients[i]->big && s->holder == NULL)))
			client_messages(s, s->clients[i]);
	if (s->cut)
		return CONN_ETRUNC;	/* s->detail says which */
	rc = pump_stdin(s);
	if (rc == 0)
		rc = write_stdout(s);
	flush_clients(s);
	return rc;
}

/* What to wait for on a client's socket.  A handshake is served however
 * far behind stdout is: it writes nothing there.  An abandoned client
 * waits for nothing: it goes at the next step. */
static short client_events(const struct server *s, const struct client *cl)
{
	bool in = cl->authed ? client_may_read(s, cl) : !cl->closing;
	short ev = in && !conn_channel_peer_eof(cl->c) ? POLLIN : 0;

	if (cl->abandoned)
		return 0;
	return conn_channel_queued(cl->c) ? ev | POLLOUT : ev;
}

static int wait_events(struct server *s, struct pollfd *pfd, int timeout)
{
	nfds_t n = 0, first_client;
	bool accepting = false;
	size_t i;
	int rc;

	if (may_accept(s))
		pfd[n++] = (struct pollfd){ conn_listener_fd(s->l), POLLIN, 0 };
	if (!s->in_eof && s->in_fd >= 0 && !s->msg_ready &&
	    targets_have_room(s))
		pfd[n++] = (struct pollfd){ s->in_fd, POLLIN, 0 };
	if (s->out.mark > s->out.start)
		pfd[n++] = (struct pollfd){ s->out_fd, POLLOUT, 0 };
	first_client = n;
	for (i = 0; i < s->n; i++)
		pfd[n++] = (struct pollfd){ conn_channel_rfd(s->clients[i]->c),
					    client_events(s, s->clients[i]),
					    0 };
	if (poll(pfd, n, conn_stop_check_ms(timeout)) < 0)
		return errno == EINTR ? 0 : CONN_EIO;
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (i >= first_client) {
			struct client *cl = s->clients[i - first_client];

			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				client_input(s, cl);
		} else if (s->l && pfd[i].fd == conn_listener_fd(s->l)) {
			accepting = true;
		} else if (pfd[i].fd == s->in_fd) {
			rc = read_stdin(s);
			if (rc)
				return rc;
		}
	}
	/* Last: making room drops clients, which moves them in s->clients. */
	return accepting ? accept_all(s) : 0;
}

static int serve_loop(struct server *s)
{
	struct pollfd *pfd = calloc(s->o->max_conns + 3, sizeof(*pfd));
	int rc = pfd ? 0 : CONN_ENOMEM, timeout;

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
		timeout = sooner(timeout, expire_holder(s));
		if (s->cut) {
			rc = CONN_ETRUNC;
			break;
		}
		timeout = sooner(timeout, conn_progress_wait_ms(&s->progress));
		timeout = sooner(timeout, server_log_flush(s, false));
		if (s->l && server_accept_wait_ms(s))
			timeout = sooner(timeout, server_accept_wait_ms(s));
		rc = wait_events(s, pfd, timeout);
	}
	free(pfd);
	return rc;
}


/* -------------------------------------------------------------- entry */

static void server_free(struct server *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		client_free(s->clients[i]);
	free(s->clients);
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

	while (s->out.mark > s->out.start &&
	       (rc = write_stdout(s)) == 0 && s->out.mark > s->out.start)
		if (poll(&pfd, 1, 5000) <= 0)
			break;
	if (rc == 0 && s->out.mark > s->out.start && !quiet) {
		snprintf(s->detail, s->capacity, "stdout took nothing for 5 "
			 "s: %zu bytes of whole messages are not written",
			 s->out.mark - s->out.start);
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
	rc = s->clients ? conn_buffer_init(&s->in, CONN_BUFFER_READ_SIZE)
			: CONN_ENOMEM;
	if (rc == 0)
		rc = conn_buffer_init(&s->msg, 4096);
	if (rc == 0)
		rc = conn_buffer_init(&s->out, CONN_BUFFER_READ_SIZE);
	conn_progress_start(&s->progress, o->progress == CLI_PROGRESS_ALWAYS,
			    o->progress_width, s->log, s->log_ctx);
	if (rc == 0)
		rc = serve_loop(s);
	if (rc != CONN_EPIPE) {
		int out_rc = drain_stdout(s, rc && rc != CONN_EINTR);

		/* A stop signal is a quiet end, unless messages are lost. */
		if ((rc == 0 || rc == CONN_EINTR) && out_rc)
			rc = out_rc;
	}
	conn_progress_end(&s->progress);
	server_free(s);
	return rc;
}
