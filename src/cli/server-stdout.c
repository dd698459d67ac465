/*
 * server-stdout.c - conn-listen -k: each client's messages to stdout,
 * whole and one at a time (--tag, --keep-going's hex, the formats), and
 * the memory budget of --max-buffer: a message over its client's share
 * waits in a file in the plain formats, or holds the budget's other half
 * in the others.
 */
#include "server-poll.h"

#define PIECE_MAX (64 * 1024)	/* of a client's message taken at a time */
#define STALL_MS 10000		/* a big message's sender silent: dropped */


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

/* ------------------------------------------------------ client -> stdout */

/* The plain formats, whose big messages are spilled to a file; with a
 * policy, which judges whole messages only, none. */
static bool streams(const struct server *s)
{
	return !conn_format_is_whole(s->o->out_format) &&
	       s->o->policy == NULL;
}

/* --tag: "NAME " into b. */
static int append_tag(struct conn_buffer *b, const struct client *cl)
{
	int rc = conn_buffer_append(b, cl->name, strlen(cl->name));

	return rc ? rc : conn_buffer_append(b, " ", 1);
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

/* The tag at the start of each record of data (cli_tag_records()). */
static int append_tagged_records(struct conn_buffer *b,
				 const struct client *cl, const char *data,
				 size_t len, char sep, bool close,
				 bool *at_start)
{
	return cli_tag_records(b, cl->name, data, len, sep, close, at_start);
}

/* A rendering (repr, json, pickle-dis) with --tag on each of its lines. */
static int append_tagged_lines(struct server *s, const struct client *cl,
			       const char *text, size_t len)
{
	bool at_start = true;

	return append_tagged_records(&s->out, cl, text, len, '\n', false,
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
		rc = append_tag(&s->out, cl);
	/* In JSON, the hex line's newline goes after the object's end. */
	if (rc == 0)
		rc = conn_buffer_append(&s->out, hex, json ? len - 1 : len);
	if (rc == 0 && json)
		rc = conn_buffer_append(&s->out, "\"}}\n", 4);
	return rc;
}

/* A rendering made (r->rc 0), in hex, or refused; it frees r->text. */
static int show(struct server *s, struct client *cl, struct poll_rendering *r)
{
	enum conn_format f = s->o->out_format;
	int rc = r->rc;

	if (rc == 0 && r->hex) {
		server_say(s, CONN_LOG_WARNING, "%s: message %llu is not shown "
			   "as %s (%s); here it is in hex", cl->name,
			   (unsigned long long)cl->received + 1,
			   conn_format_name(f), r->why);
		rc = append_hex(s, cl, r->text, r->len);
	} else if (rc == CONN_EPROTO || rc == CONN_ETOOBIG) {
		char line[300];

		snprintf(line, sizeof(line), "message %llu: %s",
			 (unsigned long long)cl->received + 1, r->why);
		poll_client_fail(s, cl, rc, line);
		rc = 0;
	} else if (rc == 0 && tag_as_json(s)) {
		rc = append_json_tagged(s, cl, r->text, r->len);
	} else if (rc == 0 && !s->o->tag && conn_buffer_len(&s->out) == 0 &&
		   r->len > OUT_HIGH) {
		/* A big rendering is queued as it is, not copied. */
		conn_buffer_adopt(&s->out, r->text, r->len, r->len + 1);
		r->text = NULL;
	} else if (rc == 0) {
		rc = s->o->tag ? append_tagged_lines(s, cl, r->text, r->len)
			       : conn_buffer_append(&s->out, r->text, r->len);
	}
	free(r->text);
	r->text = NULL;
	return rc;
}

/* A message to stdout in its format; CONN_EAGAIN: one too costly to
 * render here, for a job (see server-render.c). */
static int render_message(struct server *s, struct client *cl,
			  const uint8_t *data, size_t size)
{
	enum conn_format f = s->o->out_format;
	struct conn_piece p = { data, size, 0, size };
	struct conn_render_options opt;
	struct poll_rendering r = { 0 };
	char sep;
	int rc;

	if (tag_each_record(s, data, size, &sep)) {
		bool at_start = true;

		return append_tagged_records(&s->out, cl, (const char *)data,
					     size, sep, true, &at_start);
	}
	if (!conn_format_is_whole(f)) {
		/* The plain formats: one tag before the message, whose
		 * payload may hold newlines of its own. */
		rc = conn_buffer_reserve(&s->out, conn_encode_bound(f, size) +
					 NAME_MAX_LEN + 1, SIZE_MAX);
		if (rc == 0 && s->o->tag)
			rc = append_tag(&s->out, cl);
		if (rc == 0)
			conn_buffer_extend(&s->out, conn_encode_piece(
				s->out.data + s->out.end, f, &p));
		return rc;
	}
	poll_render_options(s, &opt, true);
	r.rc = conn_format_render_or_hex_with(&r.text, &r.len, &r.hex, r.why,
					      sizeof(r.why), f, &opt, data,
					      size, s->o->keep_going);
	return r.rc == CONN_EAGAIN ? CONN_EAGAIN : show(s, cl, &r);
}

/* One more message of the client's is out (or discarded, --send-only). */
void poll_count_message(struct server *s, struct client *cl, uint64_t size)
{
	conn_buffer_commit(&s->out);
	poll_release_stdout(s, cl);
	cl->received++;
	s->received++;
	s->progress.received++;
	s->progress.received_bytes += size;
	if (s->o->count && s->received >= s->o->count)
		s->count_reached = true;
}

void poll_show_rendering(struct server *s, struct client *cl,
			 struct poll_rendering *r, uint64_t size)
{
	int rc = show(s, cl, r);

	if (rc) {
		conn_buffer_drop_partial(&s->out); /* no half a rendering */
		poll_client_lost(s, cl, rc, size);
		return;
	}
	poll_count_message(s, cl, size);
}

void poll_say_dropped(struct server *s, struct client *cl, const char *why)
{
	server_say(s, CONN_LOG_WARNING, "%s: message %llu dropped: %s",
		   cl->name, (unsigned long long)cl->received + 1, why);
}

/* --pickle-policy: whether the message goes on; one that does not is
 * dropped with a warning naming its client and the global.  Judged here
 * within a small budget of work: past it, *rc is CONN_EAGAIN and a job
 * judges it (see server-render.c). */
static bool passes_policy(struct server *s, struct client *cl,
			  const struct conn_piece *p, int *rc)
{
	struct conn_render_options opt;
	char why[300];
	bool allowed = true;

	if (s->o->policy == NULL)
		return true;
	poll_render_options(s, &opt, true);
	*rc = conn_pickle_policy_check_with(s->o->policy, &allowed, why,
					    sizeof(why), &opt, p->data,
					    p->size);
	if (*rc == 0 && !allowed)
		poll_say_dropped(s, cl, why);
	return *rc == 0 && allowed;
}

/* A whole message from a client: to stdout, or back with --echo.  It is
 * in cl->whole, or (msg) still in the channel's buffer, where it goes out
 * from without a copy; it is copied into cl->whole only for a job. */
static int deliver(struct server *s, struct client *cl,
		   const struct conn_piece *msg)
{
	struct conn_buffer *w = &cl->whole;
	size_t len = msg ? msg->size : conn_buffer_len(w);
	/* (cl->whole has no memory before its first byte: "" then) */
	struct conn_piece p = { msg ? msg->data : len ? w->data + w->start
						     : (const uint8_t *)"",
				len, 0, len };
	int rc = 0;

	bool judged = false;

	conn_channel_trace_frame(cl->c, '<', &p);
	if (s->o->echo)
		rc = poll_client_queue(s, cl, p.data, p.size);
	else if (!s->o->send_only &&
		 (judged = passes_policy(s, cl, &p, &rc)))
		rc = render_message(s, cl, p.data, p.size);
	/* Too costly to judge or render here: a job takes the message, its
	 * memory with it, and counts it when done. */
	if (rc == CONN_EAGAIN && msg)
		rc = conn_buffer_append(w, p.data, p.size) ? CONN_ENOMEM
							   : CONN_EAGAIN;
	if (rc == CONN_EAGAIN &&
	    (rc = poll_render_start(s, cl, w, judged)) == 0)
		return 0;
	/* A big message's memory goes back now, not when its client goes. */
	if (w->cap > PIECE_MAX)
		conn_buffer_free(w);
	else
		conn_buffer_clear(w);
	if (rc) {
		conn_buffer_drop_partial(&s->out); /* no half a rendering */
		return rc;
	}
	poll_count_message(s, cl, p.size);
	return 0;
}

/*
 * While a spilled message is copied to stdout, only the clients filling
 * their files are read; a whole spilled one waits for its turn.  The
 * holder of the budget's other half writes nothing before its message is
 * whole: the others' small messages go on meanwhile, and only another
 * big one waits.
 */
static bool may_take_stdout(const struct server *s, const struct client *cl)
{
	if (cl->spill_whole)
		return false;
	if (poll_spill_copying(s))
		return cl->big && streams(s);
	return s->holder == NULL || s->holder == cl || !cl->big;
}

bool poll_client_may_read(const struct server *s, const struct client *cl)
{
	return !cl->closing && !s->count_reached && cl->job == NULL &&
	       may_take_stdout(s, cl) &&
	       conn_buffer_len(&s->out) < OUT_HIGH &&
	       (!s->o->echo || conn_channel_queued(cl->c) < TX_HIGH);
}

/* ------------------------------------------------- the memory budget */

/*
 * Half of --max-buffer is shared among --max-conns clients: a message up
 * to a share (64K at least) is held whole, by any number of clients at
 * once.  A bigger one in the plain formats waits in a file until it is
 * whole (server-spill.c), then has stdout to itself while it is copied
 * there.  In the others it is held whole, up to the other half of the
 * budget, to be rendered: one at a time, by the holder; another big
 * message waits in its socket meanwhile, the small ones go on.
 */
static bool is_big(const struct server *s, uint64_t total)
{
	uint64_t share = s->o->max_buffer / 2 / s->o->max_conns;

	return !s->o->echo && !s->o->send_only &&
	       total > (share < PIECE_MAX ? PIECE_MAX : share);
}

/* A piece of a message in a plain format into b, tagged as it goes. */
static int encode_piece(struct server *s, struct client *cl,
			struct conn_buffer *b, const struct conn_piece *p)
{
	enum conn_format f = s->o->out_format;
	char sep = f == CONN_FORMAT_NULL ? '\0' : '\n';
	int rc;

	if (s->o->tag && (f == CONN_FORMAT_LINES || f == CONN_FORMAT_NULL))
		return append_tagged_records(b, cl, (const char *)p->data,
					     p->size, sep,
					     conn_piece_is_last(p),
					     &cl->at_line_start);
	rc = conn_buffer_reserve(b, NAME_MAX_LEN + 1 +
				 conn_encode_bound(f, p->size), SIZE_MAX);
	if (rc == 0 && s->o->tag && conn_piece_is_first(p))
		rc = append_tag(b, cl);
	if (rc == 0)
		conn_buffer_extend(b, conn_encode_piece(b->data + b->end, f, p));
	return rc;
}

/* The client's spilled message, whole, goes to stdout if nothing else is
 * being copied there; it counts as out from now. */
static bool hand_over_spill(struct server *s, struct client *cl)
{
	if (!poll_spill_hand_over(s, cl))
		return false;
	cl->spill_whole = false;
	poll_count_message(s, cl, cl->big_total);
	return true;
}

/* A piece of a big message in a plain format, to its file. */
static int spill_piece(struct server *s, struct client *cl,
		       const struct conn_piece *p)
{
	int rc;

	if (conn_piece_is_first(p))
		conn_channel_trace_frame(cl->c, '<', p);
	rc = encode_piece(s, cl, &s->stage, p);
	if (rc == 0)
		rc = poll_spill_write(s, cl, &s->stage);
	conn_buffer_clear(&s->stage);
	if (rc == CONN_EIO)
		return 0;	/* the client is dropped, with its warning */
	if (rc == 0 && conn_piece_is_last(p)) {
		cl->spill_whole = true;
		hand_over_spill(s, cl);
	}
	return rc;
}

/* The client's big message to render has the other half of the budget:
 * it is the holder. */
static int hold_stdout(struct server *s, struct client *cl)
{
	s->holder = cl;
	cl->stall_deadline = conn_clock_ms() + STALL_MS;
	if (conn_buffer_len(&cl->whole) == cl->big_total && cl->big_total)
		return deliver(s, cl, NULL);
	return 0;
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
	poll_client_fail(s, cl, CONN_ETOOBIG, why);
	return CONN_ETOOBIG;
}

/* One piece of a client's message: held until whole, or spilled. */
static int client_piece(struct server *s, struct client *cl,
			const struct conn_piece *p)
{
	int rc;

	if (conn_piece_is_first(p) && is_big(s, p->total)) {
		if (check_big(s, cl, p->total))
			return 0;	/* dropped, with its warning */
		cl->big = true;
		cl->big_total = p->total;
		cl->at_line_start = true;
		if (!streams(s) && s->holder == NULL &&
		    (rc = hold_stdout(s, cl)) != 0)
			return rc;
	}
	if (cl->big && streams(s))
		return spill_piece(s, cl, p);
	if (s->o->send_only) {
		/* Read and discarded: nothing to hold. */
		if (conn_piece_is_first(p))
			conn_channel_trace_frame(cl->c, '<', p);
		if (conn_piece_is_last(p))
			poll_count_message(s, cl, p->total);
		return 0;
	}
	/* A message in one piece goes out from the channel's buffer. */
	if (conn_piece_is_first(p) && conn_piece_is_last(p) && !cl->big)
		return deliver(s, cl, p);
	rc = conn_buffer_append(&cl->whole, p->data, p->size);
	if (rc == 0 && conn_piece_is_last(p) && (!cl->big || s->holder == cl))
		rc = deliver(s, cl, NULL);
	return rc;
}

bool poll_client_owes(const struct client *cl)
{
	return cl->job != NULL || cl->spill_whole;
}

/* Whether the client waits for a turn: its whole big message for stdout
 * (spilled) or for the budget's other half (to render). */
bool poll_client_waits(const struct server *s, const struct client *cl)
{
	if (cl->spill_whole)
		return !poll_spill_copying(s);
	return cl->big && !streams(s) && s->holder == NULL;
}

/* Holder of stdout silent past STALL_MS: dropped (stdout behind, or its
 * message rendering in a job, is no stall of its).  Returns the ms until its deadline, or -1. */
int poll_expire_holder(struct server *s)
{
	struct client *cl = s->holder;
	int64_t left;

	if (cl == NULL)
		return -1;
	if (conn_buffer_len(&s->out) >= OUT_HIGH || cl->job ||
	    conn_channel_received(cl->c))
		cl->stall_deadline = conn_clock_ms() + STALL_MS;
	left = cl->stall_deadline - conn_clock_ms();
	if (left > 0)
		return left > 1000000 ? 1000000 : (int)left;
	poll_client_fail(s, cl, CONN_ETIMEDOUT, "sent nothing for 10 s inside "
			 "a big message, which holds half of --max-buffer; "
			 "the client is dropped");
	return -1;
}

/* Takes the whole messages in the client's queue while stdout has room;
 * whatever goes wrong drops the client, with a warning. */
void poll_client_messages(struct server *s, struct client *cl)
{
	struct conn_channel *c = cl->c;
	struct conn_piece p;
	int rc = CONN_EAGAIN;

	if (cl->spill_whole && !hand_over_spill(s, cl))
		return;
	while (poll_client_may_read(s, cl)) {
		if (cl->big && !streams(s) && s->holder == NULL) {
			rc = hold_stdout(s, cl);
			if (rc) {
				poll_client_lost(s, cl, rc, cl->big_total);
				return;
			}
			continue;
		}
		rc = conn_channel_take_piece(&p, c, PIECE_MAX);
		if (rc)
			break;
		rc = client_piece(s, cl, &p);
		if (rc) {
			poll_client_lost(s, cl, rc, p.total);
			return;
		}
	}
	/* Its end of stream counts even while stdout is full, but not before
	 * a big message it holds whole, or one a job renders, has had its
	 * turn. */
	if ((rc == 0 || rc == CONN_EAGAIN) && !cl->closing && !cl->big &&
	    cl->job == NULL && conn_channel_peer_eof(c) &&
	    conn_channel_received(c) == 0)
		rc = conn_channel_take_piece(&p, c, SIZE_MAX);
	if (rc == CONN_ERESET) {
		server_say(s, CONN_LOG_TRACE, "%s: closed after %llu messages",
			   cl->name, (unsigned long long)cl->received);
		cl->closing = true;
	} else if (rc && rc != CONN_EAGAIN) {
		poll_client_fail(s, cl, rc, conn_channel_detail(c));
	}
}


/* --------------------------------------------------------------- stdout */

uint64_t poll_stdout_pending(const struct server *s)
{
	return s->out.mark - s->out.start + poll_spill_left(s);
}

int poll_write_stdout(struct server *s)
{
	int rc = poll_spill_refill(s);

	if (rc == 0)
		rc = conn_buffer_write_fd(&s->out, s->detail, s->capacity,
					  s->out_fd, "stdout", s->out.mark);

	/* A big rendering's room goes back once it is out; appending
	 * allocates anew. */
	if (rc == 0 && conn_buffer_len(&s->out) == 0 &&
	    s->out.cap > 2 * OUT_HIGH)
		conn_buffer_free(&s->out);
	return rc;
}
