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
 * The fast path, with no --trace, --record or --pickle-policy: no message
 * is decoded.  The whole frames a read brought go on in one write straight
 * from the channel's receive buffer (flow_pass()), what the socket does
 * not take copied into the queue once; a streaming message's pieces go
 * the same way, and once the channel holds none of it, its rest goes
 * socket -> pipe -> socket by splice(2) (flow_splice_start()), between
 * plain sockets only.  A message up to FORWARD_HOLD that is not whole in
 * one read is held in the queue as on the ordinary path.
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
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FORWARD_HOLD (512u << 10)	/* held whole, or dropped */
#define FORWARD_HIGH (256u << 10)	/* waiting to go: stop reading */
#define FORWARD_PIECE (64u << 10)	/* taken from a channel at once */
#define FORWARD_PIPE (1u << 20)		/* the splice pipe's size, asked */

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
	bool held_back;			/* the queue was full: src's channel
					 * may hold bytes poll() cannot see */
	bool shut;			/* dst_fd's sending side is shut */
	bool fast;			/* untraced: whole frames pass as
					 * they came (flow_pass()) */
	/* The fast path's streaming message: its rest goes src socket ->
	 * pipe -> dst socket by splice(2), never through our memory. */
	int pipe[2];			/* -1: none yet (or none to be had) */
	size_t pipe_cap;
	size_t in_pipe;			/* bytes in the pipe */
	uint64_t splice_left;		/* ... still to come from src */
	uint64_t total;			/* the spliced message's size */
	bool splicing;
	bool spliced;			/* the last message was: the next
					 * may well be large too */
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
	/* --forward-tls...: TLS there first, as a client of TARGET. */
	leg.tls = o->forward_tls;
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
	return flow_limit(f) - f->q.start + f->in_pipe;
}

/* Splicing, src is read into the pipe while it has room. */
static bool flow_may_read(const struct flow *f)
{
	if (f->splicing)
		return !f->src_done && f->splice_left > 0 &&
		       f->in_pipe < f->pipe_cap;
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

/* The receiver is gone: it takes nothing more, and its sender is not
 * read any more. */
static void flow_receiver_gone(struct flow *f)
{
	conn_buffer_clear(&f->q);
	f->in_pipe = 0;
	f->splice_left = 0;
	f->splicing = false;
	conn_channel_discard_input(f->src);
	f->src_done = f->shut = true;
	f->in_message = f->streaming = false;
}

/*
 * Sends n bytes that are whole messages or a streaming one's next piece:
 * straight from where they are when nothing waits before them, and what
 * the socket does not take, copied into the queue (once).
 */
static int flow_send(struct flow *f, const uint8_t *bytes, size_t n)
{
	size_t put = 0;

	if (conn_buffer_len(&f->q) == 0 &&
	    conn_channel_write_span(&put, f->dst, bytes, n)) {
		flow_receiver_gone(f);
		return 0;
	}
	return conn_buffer_append(&f->q, bytes + put, n - put);
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

/* A streaming message's piece, unrecorded: no copy when the queue is
 * empty.  The header is the queue's for a moment: one write more a large
 * message, not a copy of the piece. */
static int flow_stream_piece(struct flow *f, const uint8_t *header, size_t n,
			     const struct conn_piece *p)
{
	/* A piece no larger than a header (conn_channel_read_header()'s
	 * read) goes with it in the same write. */
	bool with = n && p->size <= CONN_FRAME_HEADER_MAX;
	int rc = conn_buffer_append(&f->q, header, n);

	if (rc == 0 && with)
		rc = conn_buffer_append(&f->q, p->data, p->size);
	if (rc == 0 && n && conn_channel_write_bytes(f->dst, &f->q, f->q.end))
		flow_receiver_gone(f);
	return rc || f->shut || with ? rc : flow_send(f, p->data, p->size);
}

static int flow_append(struct forward *fw, struct flow *f,
		       const struct conn_piece *p)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	size_t n = 0;
	int rc = 0;

	if (conn_piece_is_first(p)) {
		n = conn_frame_header_encode(header, p->total);
		f->in_message = true;
		f->streaming = p->total > f->hold;
		f->total = p->total;
	}
	if (f->streaming && !record_on(fw->rec)) {
		rc = flow_stream_piece(f, header, n, p);
		if (rc || f->shut)
			return rc;
		return conn_piece_is_last(p) ? flow_finish(fw, f, p->total)
					     : 0;
	}
	if (n)
		rc = conn_buffer_append(&f->q, header, n);
	if (rc == 0)
		rc = conn_buffer_append(&f->q, p->data, p->size);
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

/* The pipe splice(2) goes through, made once: as large as the kernel
 * lets us (fs.pipe-max-size), for fewer calls a message.  False when
 * there is none to be had: the message goes the ordinary way. */
static bool flow_pipe(struct flow *f)
{
	int size;

	if (f->pipe[0] >= 0)
		return true;
	if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		f->pipe[0] = f->pipe[1] = -1;
		f->fast = false;	/* nor will there be later */
		return false;
	}
	/* Refused (over the limit): the default size works too. */
	CONN_IGNORE(fcntl(f->pipe[1], F_SETPIPE_SZ, FORWARD_PIPE));
	size = fcntl(f->pipe[1], F_GETPIPE_SZ);
	f->pipe_cap = size > 0 ? (size_t)size : 65536;
	return true;
}

/*
 * A streaming message on the fast path whose bytes in the channel are all
 * gone on: its rest is spliced, when both legs are plain sockets.  A TLS
 * leg (src/core/stream.h: the descriptor carries records, which only the
 * session reads and writes) takes the ordinary way, which
 * conn_channel_hand_over() refuses for us.
 */
static bool flow_splice_start(struct flow *f)
{
	uint64_t left;

	if (!f->fast || !f->streaming || f->splicing ||
	    conn_channel_received(f->src) > 0 || !flow_pipe(f) ||
	    conn_channel_hand_over(&left, f->src, f->dst))
		return false;
	f->splice_left = left;
	f->splicing = true;
	return true;
}

/* src socket -> pipe: at the sender's end of stream the message is cut
 * (the receiver gets what came, then end of stream).  True when bytes
 * moved. */
static bool flow_splice_in(struct forward *fw, struct flow *f)
{
	size_t room = f->pipe_cap - f->in_pipe;
	ssize_t n;

	if (room > f->splice_left)
		room = (size_t)f->splice_left;
	if (room == 0 || f->src_done)
		return false;
	n = splice(conn_channel_rfd(f->src), NULL, f->pipe[1], NULL, room,
		   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		f->in_pipe += (size_t)n;
		f->splice_left -= (uint64_t)n;
		return true;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		f->splice_left = 0;
		conn_channel_discard_input(f->src);
		flow_source_ended(fw, f, 0);
	}
	return false;
}

/* pipe -> dst socket, once the queue before it is out; the message is
 * done when all of it went.  True when bytes moved. */
static bool flow_splice_out(struct forward *fw, struct flow *f)
{
	ssize_t n = 0;

	if (f->in_pipe > 0)
		n = splice(f->pipe[0], NULL, f->dst_fd, NULL, f->in_pipe,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0)
		f->in_pipe -= (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		flow_receiver_gone(f);
		return false;
	}
	if (f->in_pipe > 0 || f->splice_left > 0)
		return n > 0;
	f->splicing = false;
	f->spliced = true;
	/* A message whose sender died inside it was told of already. */
	if (f->in_message)
		CONN_IGNORE(flow_finish(fw, f, f->total));
	return n > 0;
}

/* Whole messages pass unread with no trace, record or policy: but the
 * first one from a keyless leg's TARGET is looked at (judge()). */
static bool flow_passes(const struct forward *fw, const struct flow *f)
{
	return f->fast && !f->in_message &&
	       !(fw->keyless && f == &fw->down && f->received == 0);
}

/*
 * The fast path: the whole frames the source holds go on in one write,
 * from the channel's receive queue, as they came (no decoding, no copy
 * unless the socket does not take them all).  CONN_EAGAIN when no whole
 * frame is there.
 */
static int flow_pass(struct flow *f)
{
	const uint8_t *frames;
	uint64_t count;
	size_t len;
	int rc = conn_channel_peek_frames(&frames, &len, &count, f->src,
					  SIZE_MAX);

	if (rc == 0)
		rc = flow_send(f, frames, len);
	if (rc || f->shut)	/* f->shut: the receiver is gone */
		return rc;
	conn_channel_consume_frames(f->src, len);
	conn_buffer_commit(&f->q);
	f->messages += count;
	f->received += count;
	return 0;
}

/* A streaming piece may be as large as what came when it is written
 * straight from the channel; a copied one is cut to FORWARD_PIECE. */
static size_t flow_piece_max(const struct forward *fw, const struct flow *f)
{
	return f->streaming && !record_on(fw->rec) &&
	       conn_buffer_len(&f->q) == 0 ? SIZE_MAX : FORWARD_PIECE;
}

/* Moves what the source channel holds on, or into the queue, while there
 * is room. */
static int flow_take(struct forward *fw, struct flow *f)
{
	struct conn_piece p;
	int rc = 0;

	while (rc == 0 && flow_may_read(f) && !f->splicing) {
		if (f->in_message && flow_splice_start(f))
			return 0;
		rc = flow_passes(fw, f) ? flow_pass(f) : CONN_EAGAIN;
		if (rc != CONN_EAGAIN)
			continue;
		rc = conn_channel_take_piece(&p, f->src,
					     flow_piece_max(fw, f));
		if (rc == 0)
			rc = flow_append(fw, f, &p);
	}
	/* Stopped by a full queue, not by want of bytes. */
	f->held_back = rc == 0 && !f->src_done && !f->splicing;
	if (rc == CONN_EAGAIN) {
		/* All the channel had of a streaming message went on. */
		if (f->in_message)
			CONN_IGNORE(flow_splice_start(f));
		return 0;
	}
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
	int rc;

	if (f->splicing) {
		CONN_IGNORE(flow_splice_in(fw, f));
		return;
	}
	/* After a spliced message, only the next header is read: were the
	 * next one as large, its payload is spliced from the first byte
	 * on, not read and written (a copy each way) up to a buffer's
	 * worth first. */
	rc = f->spliced && f->fast ? conn_channel_read_header(f->src)
				   : conn_channel_read_some(f->src);
	f->spliced = false;

	if (rc && rc != CONN_EAGAIN)
		flow_source_ended(fw, f, rc == CONN_ERESET ? 0 : rc);
}

/* Writes what may go, the queue before the pipe; a receiver that is gone
 * takes nothing more. */
static void flow_write(struct forward *fw, struct flow *f)
{
	int rc = 0;

	if (flow_limit(f) > f->q.start)
		rc = conn_channel_write_bytes(f->dst, &f->q, flow_limit(f));
	if (rc) {
		flow_receiver_gone(f);
		return;
	}
	if (f->splicing && flow_limit(f) == f->q.start)
		CONN_IGNORE(flow_splice_out(fw, f));
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

/* A socket with nothing to wait for is left out: poll() would report its
 * hangup at once, every time, and the loop would spin until the other
 * side closes too. */
static struct pollfd watch(int fd, short events)
{
	return (struct pollfd){ events ? fd : -1, events, 0 };
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
		flow_write(fw, up);
		flow_write(fw, down);
		if (rc || (up->shut && down->shut))
			break;
		/* A write made room for bytes read already: take them now,
		 * for the socket may have no more to wake poll() with. */
		if ((up->held_back && flow_may_read(up)) ||
		    (down->held_back && flow_may_read(down)))
			continue;
		if (*stop)
			return CONN_EINTR;
		p[0] = watch(down->dst_fd, events(up, down));
		p[1] = watch(up->dst_fd, events(down, up));
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

static int flow_init(struct forward *fw, struct flow *f, const char *dir,
		     const char *from, struct conn_channel *src,
		     struct conn_channel *dst)
{
	const struct cli_options *o = fw->o;

	*f = (struct flow){ .dir = dir, .from = from, .src = src,
			    .dst = dst, .dst_fd = conn_channel_wfd(dst),
			    .hold = FORWARD_HOLD, .pipe = { -1, -1 },
			    .fast = !trace_on(&fw->trace) &&
				    !record_on(fw->rec) && !o->policy };
	/* The policy judges whole messages: they are held up to the
	 * largest a channel takes. */
	if (o->policy)
		f->hold = o->max_size && o->max_size < SIZE_MAX
			  ? (size_t)o->max_size : SIZE_MAX;
	conn_channel_set_max_size(src, o->max_size);
	return conn_buffer_init(&f->q, FORWARD_PIECE + CONN_FRAME_HEADER_MAX);
}

static void flow_free(struct flow *f)
{
	conn_buffer_free(&f->q);
	if (f->pipe[0] >= 0) {
		close(f->pipe[0]);
		close(f->pipe[1]);
	}
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
		rc = flow_init(&fw, &fw.up, "c>s", peer ? peer : "the client",
			       client, target);
	if (rc == 0)
		rc = flow_init(&fw, &fw.down, "s>c", o->forward, target,
			       client);
	if (rc == 0)
		rc = relay(&fw, stop);
	flow_free(&fw.up);
	flow_free(&fw.down);
	trace_end(&fw.trace);
	conn_channel_free(target);
	return rc ? rc : fw.rc;
}
