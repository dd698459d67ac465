/*
 * server-forward.c - conn-listen --forward TARGET: once the client is
 * authenticated, connect to TARGET, authenticate there, and relay the
 * messages both ways until both sides have closed.
 *
 * Each direction (a "flow": client to target "c>s", target to client
 * "s>c") reads its source channel's frames and queues them, header and
 * payload as they came, in a queue of its own that is written to the
 * other socket.  A message of up to FORWARD_HOLD bytes is held back until
 * it is whole: if its sender dies inside it, it is dropped and the other
 * side gets every whole message before it, then end of stream.  A larger
 * one streams through in constant memory (FORWARD_HOLD + FORWARD_HIGH +
 * a read per direction); its sender dying inside it leaves the other side
 * a cut frame, which it sees as a truncated message.  A side whose peer is
 * not draining is not read (back-pressure both ways).
 *
 * With --record, each message is recorded on the leg it came by as it
 * comes, and on the other as it goes: whole, once judged, or piece by
 * piece when it streams (record.c).
 *
 * The connection to TARGET blocks this process only: with -k every
 * forwarded connection has a process of its own (server-fork.c).
 */
#include "forward.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FORWARD_HOLD (1u << 20)		/* held whole, or dropped */
#define FORWARD_HIGH (256u << 10)	/* waiting to go: stop reading */
#define FORWARD_PIECE (64u << 10)	/* taken from a channel at once */

struct flow {
	const char *dir;		/* "c>s" or "s>c" */
	const char *from;		/* the sender's name, for warnings */
	struct conn_channel *src;
	struct conn_channel *dst;	/* written through: it may be TLS */
	int dst_fd;
	struct conn_buffer q;		/* frames on their way to dst_fd */
	size_t hold;			/* messages up to this held whole */
	bool in_message;		/* a message's pieces are coming */
	bool streaming;			/* ... and go out as they come */
	bool src_done;			/* nothing more comes from src */
	bool shut;			/* dst_fd's sending side is shut */
	uint64_t messages;		/* forwarded whole */
	uint64_t received;		/* whole, forwarded or dropped */
};

struct forward {
	const struct cli_options *o;
	struct flow up, down;		/* c>s, s>c */
	struct trace_conn trace;
	struct record_conn *rec;
	bool keyless;			/* the forward leg has no key */
	int rc;				/* the first fault, told at the end */
	char *detail;
	size_t capacity;
	conn_log_fn *log;
	void *log_ctx;
};

/* ---------------------------------------------------- the target's leg */

/* The forward leg's key: --forward-authkey-file's, none with
 * --forward-no-authkey, else the listening side's. */
static struct conn_key *forward_key(const struct cli_options *o)
{
	if (o->forward_authkey_file)
		return o->forward_key;
	return o->forward_no_authkey ? NULL : o->key;
}

/* Connects to TARGET and authenticates there, as its client would. */
static int open_target(struct conn_channel **out, char *detail,
		       size_t capacity, const struct cli_options *o,
		       struct record_conn *rec, volatile sig_atomic_t *stop,
		       conn_log_fn *log, void *ctx)
{
	struct cli_options leg = *o;
	struct conn_address a;
	char why[400], digest[16];
	int rc, fd = -1;

	leg.key = forward_key(o);
	leg.digest = o->forward_digest;
	leg.auth_flags = o->forward_auth_flags;
	rc = conn_address_from_text(&a, detail, capacity, o->forward);
	if (rc == 0)
		rc = conn_connect(&fd, detail, capacity, &a, CONN_FAMILY_ANY, 0,
				  stop);
	if (rc == 0)
		rc = conn_channel_new(out, fd, fd);
	if (rc == 0)
		record_target(rec, *out);
	if (rc)
		return rc;
	conn_channel_set_stop_flag(*out, stop);
	conn_channel_set_log(*out, log, ctx, o->verbose > 0);
	/* --forward-tls-psk: TLS there first, as a client of TARGET. */
	leg.tls.config = o->tls.forward_config;
	rc = cli_tls_start(why, sizeof(why), *out, &leg, log, ctx);
	if (rc == 0 && leg.key)
		rc = session_authenticate(why, sizeof(why), digest, *out, &leg,
					  CONN_ROLE_CLIENT, log, ctx);
	if (rc)
		snprintf(detail, capacity, "--forward %s: %s", o->forward,
			 why);
	return rc;
}

/* ---------------------------------------------------------------- flows */

/* Where the flow's queue may be written up to: whole messages, and a
 * streaming one as far as it came. */
static size_t flow_limit(const struct flow *f)
{
	if (f->streaming)
		return f->q.end;
	return f->q.mark > f->q.start ? f->q.mark : f->q.start;
}

static size_t flow_pending(const struct flow *f)
{
	return flow_limit(f) - f->q.start;
}

static bool flow_may_read(const struct flow *f)
{
	return !f->src_done && flow_pending(f) < FORWARD_HIGH;
}

/* Remembers the first fault; the relay goes on with the other flow. */
static void forward_fault(struct forward *fw, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void forward_fault(struct forward *fw, int rc, const char *fmt, ...)
{
	va_list ap;

	if (fw->rc)
		return;
	fw->rc = rc;
	va_start(ap, fmt);
	vsnprintf(fw->detail, fw->capacity, fmt, ap);
	va_end(ap);
}

/* --record: bytes of f's on the leg they came by (to: false) or on the
 * one they go by. */
static void flow_record(struct forward *fw, const struct flow *f, bool to,
			const uint8_t *bytes, size_t n)
{
	bool up = f == &fw->up;

	record_bytes(fw->rec, up == to ? RECORD_TARGET : RECORD_CLIENT,
		     up ? 0 : 1, bytes, n);
}

static bool starts_with(const uint8_t *data, size_t len, const char *text)
{
	return len >= strlen(text) && memcmp(data, text, strlen(text)) == 0;
}

/* Whether a whole held message goes on: --pickle-policy may drop it (one
 * warning), and a keyless leg to a TARGET that asks for a key ends. */
static int judge(struct forward *fw, struct flow *f, const uint8_t *msg,
		 size_t len, bool *pass)
{
	char why[300];
	int rc = 0;

	*pass = true;
	if (fw->keyless && f == &fw->down && f->received == 1 &&
	    starts_with(msg, len, "#CHALLENGE#")) {
		forward_fault(fw, CONN_EAUTH, "--forward %s asks for a key "
			      "(#CHALLENGE#) but the forward leg has none "
			      "(--forward-authkey-file)", fw->o->forward);
		*pass = false;
		f->src_done = true;
		return 0;
	}
	if (fw->o->policy)
		rc = conn_pickle_policy_check_with(fw->o->policy, pass, why,
						   sizeof(why), &fw->o->render,
						   msg, len);
	if (rc == 0 && !*pass && fw->log) {
		char line[600];

		snprintf(line, sizeof(line), "%s: %s message %llu dropped: %s",
			 fw->up.from, f->dir, (unsigned long long)f->received,
			 why);
		fw->log(fw->log_ctx, CONN_LOG_WARNING, line);
	}
	return rc == CONN_ENOMEM ? rc : 0;
}

/* A message's last piece is queued: judged, traced, then let go. */
static int flow_finish(struct forward *fw, struct flow *f, uint64_t total)
{
	/* held: the whole payload is the queue's last bytes */
	const uint8_t *msg = f->streaming ? NULL
					  : f->q.data + f->q.end - total;
	bool pass = true;
	int rc = 0;

	f->received++;
	if (msg)
		rc = judge(fw, f, msg, (size_t)total, &pass);
	if (rc == 0 && pass && trace_on(&fw->trace))
		rc = trace_message(&fw->trace, fw->detail, fw->capacity,
				   f->dir, msg, total);
	if (pass && msg && record_on(fw->rec)) {
		uint8_t header[CONN_FRAME_HEADER_MAX];
		size_t n = conn_frame_header_encode(header, total);

		flow_record(fw, f, true, msg - n, n + (size_t)total);
	}
	if (pass) {
		conn_buffer_commit(&f->q);
		f->messages++;
	} else {
		conn_buffer_drop_partial(&f->q);
	}
	f->in_message = f->streaming = false;
	return rc;
}

static int flow_append(struct forward *fw, struct flow *f,
		       const struct conn_piece *p)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	size_t n = 0;
	int rc = 0;

	if (conn_piece_is_first(p)) {
		n = conn_frame_header_encode(header, p->total);
		rc = conn_buffer_append(&f->q, header, n);
		f->in_message = true;
	}
	if (rc == 0)
		rc = conn_buffer_append(&f->q, p->data, p->size);
	if (rc == 0 && !f->streaming && p->total > f->hold)
		f->streaming = true;
	if (rc == 0 && record_on(fw->rec)) {
		/* the queue's last bytes: the header, if any, and the piece */
		n += p->size;
		flow_record(fw, f, false, f->q.data + f->q.end - n, n);
		if (f->streaming)
			flow_record(fw, f, true, f->q.data + f->q.end - n, n);
	}
	if (rc == 0 && conn_piece_is_last(p))
		rc = flow_finish(fw, f, p->total);
	return rc;
}

/* The sender is gone (cut says how): a held half message is dropped, a
 * streaming one is cut where it is. */
static void flow_source_ended(struct forward *fw, struct flow *f, int cut)
{
	f->src_done = true;
	if (!f->in_message && cut == 0)
		return;
	if (f->in_message)
		forward_fault(fw, CONN_ETRUNC, "%s: %s closed inside a message"
			      "%s", f->dir, f->from, f->streaming ?
			      ": the other side got it cut short" :
			      ": not forwarded");
	else
		forward_fault(fw, cut, "%s: %s: %s", f->dir, f->from,
			      conn_channel_detail(f->src)[0] ?
			      conn_channel_detail(f->src) :
			      conn_strerror(cut));
	if (!f->streaming)
		conn_buffer_drop_partial(&f->q);
	f->in_message = false;
}

/* Moves what the source channel holds into the queue while there is room. */
static int flow_take(struct forward *fw, struct flow *f)
{
	struct conn_piece p;
	int rc = 0;

	while (rc == 0 && flow_may_read(f)) {
		rc = conn_channel_take_piece(&p, f->src, FORWARD_PIECE);
		if (rc == 0)
			rc = flow_append(fw, f, &p);
	}
	if (rc == CONN_EAGAIN)
		return 0;
	if (rc == CONN_ERESET || rc == CONN_ETRUNC) {
		flow_source_ended(fw, f, 0);
		return 0;
	}
	if (rc == CONN_EPROTO || rc == CONN_ETOOBIG) {
		flow_source_ended(fw, f, rc);
		return 0;
	}
	return rc;
}

/* Reads the source's socket; a read that fails ends the flow's source. */
static void flow_read(struct forward *fw, struct flow *f)
{
	int rc = conn_channel_read_some(f->src);

	if (rc && rc != CONN_EAGAIN)
		flow_source_ended(fw, f, rc == CONN_ERESET ? 0 : rc);
}

/* Writes what may go; a receiver that is gone takes nothing more. */
static void flow_write(struct flow *f)
{
	int rc = 0;

	if (flow_pending(f))
		rc = conn_channel_write_bytes(f->dst, &f->q, flow_limit(f));
	if (rc) {
		conn_buffer_clear(&f->q);
		conn_channel_discard_input(f->src);
		f->src_done = f->shut = true;
		f->in_message = f->streaming = false;
		return;
	}
	/* All that came is out: the other side's end of stream. */
	if (f->src_done && !f->shut && flow_pending(f) == 0) {
		f->shut = true;
		/* close_notify under TLS; a receiver gone: no matter */
		CONN_IGNORE(conn_channel_shutdown(f->dst));
	}
}

/* -------------------------------------------------------------- the loop */

static short events(const struct flow *in, const struct flow *out)
{
	return (short)((flow_may_read(in) ? POLLIN : 0) |
		       (flow_pending(out) ? POLLOUT : 0));
}

static int relay(struct forward *fw, volatile sig_atomic_t *stop)
{
	struct flow *up = &fw->up, *down = &fw->down;
	struct pollfd p[2];
	bool buffered;
	int rc = 0;

	while (rc == 0 && !(up->shut && down->shut)) {
		rc = flow_take(fw, up);
		if (rc == 0)
			rc = flow_take(fw, down);
		flow_write(up);
		flow_write(down);
		if (rc || (up->shut && down->shut))
			break;
		if (*stop)
			return CONN_EINTR;
		p[0] = (struct pollfd){ down->dst_fd, events(up, down), 0 };
		p[1] = (struct pollfd){ up->dst_fd, events(down, up), 0 };
		/* Bytes a TLS session decrypted already: no wait. */
		buffered = (flow_may_read(up) &&
			    conn_channel_has_buffered_input(up->src)) ||
			   (flow_may_read(down) &&
			    conn_channel_has_buffered_input(down->src));
		if (poll(p, 2, buffered ? 0 : CONN_STOP_CHECK_MS) < 0 &&
		    errno != EINTR)
			return CONN_EIO;
		if (conn_channel_has_buffered_input(up->src))
			p[0].revents |= POLLIN;
		if (conn_channel_has_buffered_input(down->src))
			p[1].revents |= POLLIN;
		if ((p[0].revents & ~POLLOUT) && flow_may_read(up))
			flow_read(fw, up);
		if ((p[1].revents & ~POLLOUT) && flow_may_read(down))
			flow_read(fw, down);
	}
	return rc;
}

static int flow_init(struct flow *f, const char *dir, const char *from,
		     struct conn_channel *src, struct conn_channel *dst,
		     const struct cli_options *o)
{
	*f = (struct flow){ .dir = dir, .from = from, .src = src,
			    .dst = dst, .dst_fd = conn_channel_wfd(dst),
			    .hold = FORWARD_HOLD };
	/* The policy judges whole messages: they are held up to the
	 * largest a channel takes. */
	if (o->policy)
		f->hold = o->max_size && o->max_size < SIZE_MAX
			  ? (size_t)o->max_size : SIZE_MAX;
	conn_channel_set_max_size(src, o->max_size);
	return conn_buffer_init(&f->q, FORWARD_PIECE + CONN_FRAME_HEADER_MAX);
}

int forward_serve(char *detail, size_t capacity, struct conn_channel *client,
		  const struct cli_options *o, const char *peer,
		  struct record_conn *rec, volatile sig_atomic_t *stop,
		  conn_log_fn *log, void *ctx)
{
	struct forward fw = { .o = o, .detail = detail, .capacity = capacity,
			      .log = log, .log_ctx = ctx, .rec = rec,
			      .keyless = forward_key(o) == NULL };
	struct conn_channel *target = NULL;
	int rc;

	/* The trace's clock starts as the client is authenticated. */
	rc = trace_start(&fw.trace, o, peer ? peer : "-");
	if (rc == 0)
		rc = open_target(&target, detail, capacity, o, rec, stop, log,
				 ctx);
	if (rc == 0)
		rc = flow_init(&fw.up, "c>s", peer ? peer : "the client",
			       client, target, o);
	if (rc == 0)
		rc = flow_init(&fw.down, "s>c", o->forward, target, client, o);
	if (rc == 0)
		rc = relay(&fw, stop);
	conn_buffer_free(&fw.up.q);
	conn_buffer_free(&fw.down.q);
	trace_end(&fw.trace);
	conn_channel_free(target);
	return rc ? rc : fw.rc;
}
