/*
 * relay.c - the full-duplex loop: stdin messages to the peer, the peer's
 * messages to stdout, both at once, with back-pressure and no deadlock.
 *
 * Bytes flow stdin -> in -> (decoder) -> the channel's send queue ->
 * socket and socket -> the channel's receive queue -> out -> stdout.
 * Queues hold back half messages (conn_buffer_flush_limit) so a cut connection
 * leaves only whole messages behind, unless one message is larger than
 * the queue.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define IN_BUF_SIZE (256 * 1024)
#define OUT_BUF_SIZE (512 * 1024)
#define MIN_PIECE 64		/* less room than this: wait for a flush */
#define READ_SIZE (64 * 1024)
#define DRAIN_MS 5000		/* how long to push out what was accepted */

struct relay {
	const struct conn_relay_config *cfg;
	struct conn_channel *c;
	struct conn_decoder dec;
	struct conn_buffer in, out;
	struct conn_buffer whole;	/* a message gathered for rendering */
	int in_fd, out_fd;
	bool out_fd_owned;
	bool in_eof;		/* stdin said end of file */
	bool input_done;	/* ... and every message of it is queued */
	bool input_stalled;	/* the decoder waits for send queue room */
	bool output_stalled;	/* the frame reader waits for room in out */
	bool output_done;	/* the peer closed and all it sent is queued */
	bool count_reached;
	bool past_handshake;	/* a capture's handshake frames are behind */
	bool in_handshake;	/* a capture's handshake frames were seen */
	bool shut;		/* our sending side is shut down */
	int input_error;	/* conn-pipe: malformed stdin, told at the end */
	uint64_t received;
	struct conn_progress progress;
	uint64_t idle_mark;	/* cfg->idle_ms: the counts last seen ... */
	int64_t idle_since;	/* ... and since when */
	char *detail;
	size_t capacity;
};

/* A pipe on stdout gets a descriptor of our own that never blocks, without
 * touching the flags of the one we share with other processes. */
int conn_fd_copy_nonblocking(bool *owned, int fd)
{
	struct stat st;
	char path[32];
	int own;

	*owned = false;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (own < 0)
		return fd;
	*owned = true;
	return own;
}

static int relay_fail(struct relay *r, int err, const char *text)
{
	if (text && text[0])
		detail_set(r->detail, r->capacity, "%s", text);
	return err;
}

/* ------------------------------------------------------- stdin -> socket */

/* Pieces are cut to the room chan_tx_room() gave: the queue never grows.
 * A big one may go straight out (chan_send_piece()). */
static int queue_piece(struct relay *r, const struct conn_piece *p)
{
	int rc = chan_send_piece(r->c, p);

	r->progress.sent_bytes += p->size;
	if (conn_piece_is_last(p))
		r->progress.sent++;
	return rc;
}

/*
 * Malformed stdin ends the input, not what came before it.  A network tool
 * fails now and flushes the whole messages already queued on its way out;
 * conn-pipe, whose peer is itself or its command, carries them on to stdout
 * as at end of input, and fails when all is written.
 */
static int input_failed(struct relay *r, int rc)
{
	relay_fail(r, rc, r->dec.detail);
	if (!r->cfg->capture)
		return rc;
	chan_drop_partial(r->c);
	r->input_error = rc;
	r->in_eof = r->input_done = true;
	return 0;
}

/* Cuts queued stdin bytes into messages while the socket queue has room. */
static int pump_input(struct relay *r)
{
	struct conn_piece p;
	size_t used, room;
	int rc;

	r->input_stalled = false;
	if (r->cfg->echo) {
		/* Echoes are queued as they arrive: input ends with the peer's. */
		r->input_done = r->output_done;
		return 0;
	}
	while (!r->input_done) {
		room = chan_tx_room(r->c, READ_SIZE);
		if (room < CONN_FRAME_HEADER_MAX + MIN_PIECE) {
			r->input_stalled = true;
			return 0;
		}
		rc = conn_decoder_next(&r->dec, &p, &used,
				       r->in.data + r->in.start,
				       conn_buffer_len(&r->in), r->in_eof,
				       room - CONN_FRAME_HEADER_MAX);
		if (rc == 0)
			rc = queue_piece(r, &p);
		conn_buffer_consume(&r->in, used);
		if (rc == CONN_EAGAIN && used == 0) {
			r->input_done = r->in_eof;
			return 0;
		}
		if (rc && rc != CONN_EAGAIN)
			return input_failed(r, rc);
	}
	return 0;
}

static int read_input(struct relay *r)
{
	return conn_buffer_read_fd(&r->in, &r->in_eof, r->detail, r->capacity,
				   r->in_fd,
				   r->cfg->in_name ? r->cfg->in_name : "stdin",
				   conn_decoder_window(&r->dec));
}

/* ------------------------------------------------------ socket -> stdout */

static bool starts_with(const struct conn_piece *p, const char *text)
{
	size_t n = strlen(text);

	return p->size >= n && memcmp(p->data, text, n) == 0;
}

/* "{name}" + a MAC of exactly that digest's size: a modern reply. */
static bool is_digest_reply(const struct conn_piece *p)
{
	const uint8_t *close = memchr(p->data, '}', p->size);
	enum conn_digest d;
	size_t name_len;

	if (p->size < 2 || p->data[0] != '{' || close == NULL)
		return false;
	name_len = (size_t)(close - p->data) - 1;
	return conn_digest_from_name(&d, (const char *)p->data + 1,
				     name_len) == 0 &&
	       p->size == name_len + 2 + conn_digest_size(d);
}

/*
 * A capture of a connection (conn-pipe) starts with the handshake: its
 * frames are no pickles, so they are shown as bytes.  The first other
 * message ends it.  A live peer's messages are never taken for these:
 * our own handshake is done by then.
 */
static bool is_handshake_message(struct relay *r, const struct conn_piece *p)
{
	/* A digest reply, or a raw 16-byte legacy MD5.  One direction of a
	 * capture starts with it, the other has it after #WELCOME#. */
	bool reply = (p->size == 16 || is_digest_reply(p)) &&
		     (r->received == 0 || r->in_handshake);

	if (!r->cfg->capture || r->past_handshake)
		return false;
	if (reply || starts_with(p, "#CHALLENGE#") ||
	    (p->size == 9 && (starts_with(p, "#WELCOME#") ||
			      starts_with(p, "#FAILURE#")))) {
		r->in_handshake = true;
		return true;
	}
	return false;
}

/* A capture's first frames may be the handshake's, shown as bytes. */
static bool may_be_handshake(const struct relay *r)
{
	return r->cfg->capture && !r->past_handshake;
}

/* Appends text and a newline to out; text is freed. */
static int put_line(struct relay *r, char *text, size_t len)
{
	int rc = conn_buffer_append(&r->out, text, len);

	free(text);
	return rc ? rc : conn_buffer_append(&r->out, "\n", 1);
}

/* --out audit or audit-json: the verdict's line, which raises
 * cfg->verdict.  In a capture, a handshake frame is no pickle: it is
 * shown as bytes. */
static int render_audit(struct relay *r, const struct conn_piece *p)
{
	struct conn_pickle_report report;
	char why[200], *text;
	size_t len;
	int rc = r->cfg->out_format == CONN_FORMAT_AUDIT_JSON
		 ? conn_pickle_audit_json(&text, &len, &report, r->cfg->render,
					  p->data, p->size)
		 : conn_pickle_audit_with(&text, &len, &report, r->cfg->render,
					  p->data, p->size);

	if (rc)
		return rc;
	if (!report.decoded && is_handshake_message(r, p)) {
		free(text);
		rc = conn_format_render(&text, &len, why, sizeof(why),
					CONN_FORMAT_QUOTED, p->data, p->size);
		if (rc == 0)	/* the text ends in its newline already */
			rc = conn_buffer_append(&r->out, text, len);
		free(text);
		return rc;
	}
	r->past_handshake = true;
	if (r->cfg->verdict != NULL && report.verdict > *r->cfg->verdict)
		*r->cfg->verdict = report.verdict;
	return put_line(r, text, len);
}

/* A plain format under a policy: the message gathered, now written. */
static int encode_whole(struct relay *r, const struct conn_piece *p)
{
	enum conn_format f = r->cfg->out_format;
	uint8_t *text = malloc(conn_encode_bound(f, p->size));
	int rc;

	if (text == NULL)
		return CONN_ENOMEM;
	rc = conn_buffer_append(&r->out, text,
				conn_encode_piece(text, f, p));
	free(text);
	return rc;
}

/* Renders a gathered message into out; --keep-going shows a message the
 * format cannot render in hex instead. */
static int render_rendering(struct relay *r, struct conn_piece p)
{
	enum conn_format f = r->cfg->out_format;
	bool keep_going = r->cfg->keep_going, hex = false;
	char why[200], *text = NULL;
	size_t len;
	int rc;

	/* In a capture, a failure may be a handshake frame: look first. */
	rc = conn_format_render_or_hex_with(&text, &len, &hex, why,
					    sizeof(why), f, r->cfg->render,
					    p.data, p.size,
					    keep_going && !may_be_handshake(r));
	/* Only what is no pickle may be a handshake frame. */
	if (rc == CONN_EPROTO && is_handshake_message(r, &p))
		f = CONN_FORMAT_QUOTED;
	else if (rc == 0)
		r->past_handshake = true;
	if ((rc == CONN_EPROTO || rc == CONN_ETOOBIG) &&
	    (keep_going || f == CONN_FORMAT_QUOTED))
		rc = conn_format_render_or_hex_with(&text, &len, &hex, why,
						    sizeof(why), f,
						    r->cfg->render, p.data,
						    p.size, keep_going);
	if (hex)
		chan_log(r->c, CONN_LOG_WARNING, "message %llu is not shown "
			 "as %s (%s); here it is in hex",
			 (unsigned long long)r->received + 1,
			 conn_format_name(f), why);
	if (rc == 0 && conn_buffer_len(&r->out) == 0 && len > OUT_BUF_SIZE) {
		/* A big rendering is queued as it is, not copied: the copy
		 * would be the largest allocation of all. */
		conn_buffer_adopt(&r->out, text, len, len + 1);
		text = NULL;
	} else if (rc == 0) {
		rc = conn_buffer_append(&r->out, text, len);
	} else if (rc == CONN_EPROTO || rc == CONN_ETOOBIG)
		detail_set(r->detail, r->capacity, "message %llu: %s",
			   (unsigned long long)r->received + 1, why);
	free(text);
	return rc;
}

/* --pickle-policy: whether the message may go on; one that may not is
 * dropped with a warning that names the global. */
static int police(struct relay *r, const struct conn_piece *p, bool *pass)
{
	char why[300];
	int rc = conn_pickle_policy_check_with(r->cfg->policy, pass, why,
					       sizeof(why), r->cfg->render,
					       p->data, p->size);

	if (rc == 0 && !*pass)
		chan_log(r->c, CONN_LOG_WARNING, "%s%smessage %llu dropped: %s",
			 r->cfg->peer ? r->cfg->peer : "",
			 r->cfg->peer ? ": " : "",
			 (unsigned long long)r->received + 1, why);
	return rc;
}

/* A gathered message to out, through the policy and the format. */
static int render_whole(struct relay *r)
{
	struct conn_piece p = { r->whole.data, conn_buffer_len(&r->whole), 0,
				conn_buffer_len(&r->whole) };
	bool pass = true;
	int rc = r->cfg->policy ? police(r, &p, &pass) : 0;

	if (rc == 0 && pass && !conn_format_is_whole(r->cfg->out_format))
		rc = encode_whole(r, &p);
	else if (rc == 0 && pass && conn_format_is_audit(r->cfg->out_format))
		rc = render_audit(r, &p);
	else if (rc == 0 && pass)
		rc = render_rendering(r, p);
	conn_buffer_clear(&r->whole);
	return rc;
}

/* Messages are held whole to be rendered, or judged by the policy. */
static bool gathers(const struct relay *r)
{
	return conn_format_is_whole(r->cfg->out_format) ||
	       r->cfg->policy != NULL;
}

/* A message that cannot be held or rendered ends the relay (exit 1): the
 * words say which one is lost and how big it was, for it is not on
 * stdout, not even in part. */
static int message_lost(struct relay *r, const struct conn_piece *p)
{
	detail_set(r->detail, r->capacity, "message %llu (%llu bytes) is "
		   "lost: out of memory", (unsigned long long)r->received + 1,
		   (unsigned long long)p->total);
	conn_buffer_free(&r->whole);
	return CONN_ENOMEM;
}

/* Gathers pieces for a whole-message format, then renders. */
static int gather_piece(struct relay *r, const struct conn_piece *p)
{
	int rc = conn_buffer_append(&r->whole, p->data, p->size);

	if (rc == 0 && conn_piece_is_last(p))
		rc = render_whole(r);
	return rc == CONN_ENOMEM ? message_lost(r, p) : rc;
}

static int deliver_piece(struct relay *r, const struct conn_piece *p)
{
	int rc;

	if (conn_piece_is_first(p)) {
		conn_channel_trace_frame(r->c, '<', p);
		if (r->cfg->no_key && r->received == 0 &&
		    starts_with(p, "#CHALLENGE#"))
			return relay_fail(r, CONN_EAUTH,
					  "the peer asks for authentication "
					  "(#CHALLENGE#) but no authkey was "
					  "given: use --authkey-file");
	}
	if (r->cfg->echo) {
		rc = queue_piece(r, p);
		if (rc)
			return rc;
	} else if (!r->cfg->send_only && gathers(r)) {
		rc = gather_piece(r, p);
		if (rc)
			return rc;
	} else if (!r->cfg->send_only) {
		conn_buffer_extend(&r->out,
				   conn_encode_piece(r->out.data + r->out.end,
						     r->cfg->out_format, p));
	}
	r->progress.received_bytes += p->size;
	if (conn_piece_is_last(p)) {
		conn_buffer_commit(&r->out);
		r->received++;
		r->progress.received++;
		if (r->cfg->count && r->received >= r->cfg->count)
			r->count_reached = true;
	}
	return 0;
}

/* The largest piece whose encoding fits in room bytes. */
static size_t piece_fitting(enum conn_format f, size_t room)
{
	if (f == CONN_FORMAT_HEX)
		return room > 1 ? (room - 1) / 2 : 0;
	if (f == CONN_FORMAT_FRAMES)
		return room > CONN_FRAME_HEADER_MAX ?
		       room - CONN_FRAME_HEADER_MAX : 0;
	if (f == CONN_FORMAT_RAW)
		return room;
	return room ? room - 1 : 0;
}

static int pump_output(struct relay *r)
{
	struct conn_channel *c = r->c;
	struct conn_piece p;
	size_t room, max_piece = SIZE_MAX;
	int rc;

	r->output_stalled = false;
	while (!r->output_done && !r->count_reached) {
		if (r->cfg->echo) {
			/* An echo goes to the socket queue: wait for room. */
			room = chan_tx_room(c, READ_SIZE);
			if (room < CONN_FRAME_HEADER_MAX + MIN_PIECE) {
				r->output_stalled = true;
				return 0;
			}
			max_piece = room - CONN_FRAME_HEADER_MAX;
		} else if (gathers(r) && !r->cfg->send_only) {
			/* Renderings grow out; stop while it is full. */
			if (conn_buffer_len(&r->out) >= OUT_BUF_SIZE) {
				r->output_stalled = true;
				return 0;
			}
		} else if (!r->cfg->send_only) {
			room = conn_buffer_room(&r->out) >= READ_SIZE ?
			       conn_buffer_room(&r->out) :
			       conn_buffer_compact(&r->out);
			max_piece = piece_fitting(r->cfg->out_format, room);
			if (max_piece < MIN_PIECE) {
				r->output_stalled = true;
				return 0;
			}
		}
		rc = conn_channel_take_piece(&p, c, max_piece);
		if (rc == CONN_EAGAIN)
			return 0;
		if (rc == CONN_ERESET) {
			if (chan_tracing(c))
				chan_log(c, CONN_LOG_TRACE, "the peer closed "
					 "its sending side after %llu messages",
					 (unsigned long long)r->received);
			r->output_done = true;
			return 0;
		}
		if (rc)
			return relay_fail(r, rc, conn_channel_detail(c));
		rc = deliver_piece(r, &p);
		if (rc)
			return rc;	/* the detail is set already */
	}
	return 0;
}

static int write_output(struct relay *r, size_t limit)
{
	return conn_buffer_write_fd(&r->out, r->detail, r->capacity, r->out_fd,
				    "stdout", limit);
}

/* Whole messages that stdout would not take in time are lost: an error
 * (exit 1), not a quiet end. */
static int output_stuck(struct relay *r)
{
	detail_set(r->detail, r->capacity, "stdout took nothing for %d s: "
		   "%zu bytes of whole messages are not written",
		   DRAIN_MS / 1000, r->out.mark - r->out.start);
	return CONN_EIO;
}

/* Writes every whole message held for stdout, waiting as needed; quiet
 * keeps the detail of the error that ended the relay. */
static int drain_output(struct relay *r, bool quiet)
{
	struct pollfd pfd = { .fd = r->out_fd, .events = POLLOUT };
	int rc;

	while (r->out.mark > r->out.start) {
		rc = write_output(r, r->out.mark);
		if (rc)
			return rc;
		if (r->out.mark > r->out.start && poll(&pfd, 1, DRAIN_MS) <= 0)
			return quiet ? CONN_EIO : output_stuck(r);
	}
	return 0;
}

/* Sends what is whole in the socket queue, for a little while at most. */
static void drain_tx(struct relay *r)
{
	chan_drop_partial(r->c);
	conn_channel_set_deadline(r->c, conn_clock_ms() + DRAIN_MS);
	/* Best effort on the way out: the error that ended the loop is the
	 * one to report, not a second one from the same broken peer. */
	CONN_IGNORE(chan_flush(r->c));
}

/* ------------------------------------------------------------- the loop */

static int send_data(struct relay *r)
{
	const struct conn_relay_config *cfg = r->cfg;
	struct conn_piece p;
	size_t i;
	int rc = 0;

	for (i = 0; i < cfg->data_count && rc == 0; i++) {
		p = (struct conn_piece){ (const uint8_t *)cfg->data[i],
					 cfg->data_len[i], 0,
					 cfg->data_len[i] };
		conn_channel_trace_frame(r->c, '>', &p);
		rc = conn_channel_append(r->c, p.data, p.size);
		r->progress.sent++;
		r->progress.sent_bytes += p.size;
	}
	return rc;
}

/* After stdin ends and all is sent: half-close, or close at once. */
static int finish_input(struct relay *r, bool *stop_now)
{
	int rc;

	*stop_now = false;
	if (!r->input_done || conn_channel_queued(r->c) > 0 || r->shut)
		return 0;
	if (r->cfg->close_on_eof) {
		if (chan_tracing(r->c))
			chan_log(r->c, CONN_LOG_TRACE, "end of input, all "
				 "sent: closing (--close-on-eof)");
		*stop_now = true;
		return 0;
	}
	r->shut = true;
	if (r->cfg->recv_only)
		return 0;
	if (chan_tracing(r->c))
		chan_log(r->c, CONN_LOG_TRACE, "end of input, all sent: "
			 "shutting down our sending side");
	rc = conn_channel_shutdown(r->c);
	return rc == CONN_ERESET ? 0 : rc;
}

/* A command reading our output sees its end of file once the peer's
 * messages are all written, and may then finish its answer. */
static void close_finished_output(struct relay *r)
{
	if (r->cfg->close_out && r->out_fd >= 0 && r->output_done &&
	    conn_buffer_len(&r->out) == 0) {
		close(r->out_fd);
		r->out_fd = -1;
	}
}

static bool relay_is_over(const struct relay *r)
{
	if (r->cfg->end_with_peer && r->output_done)
		return conn_buffer_len(&r->out) == 0;
	if (r->count_reached)
		return conn_buffer_len(&r->out) == 0 || r->cfg->send_only;
	return r->output_done && conn_buffer_len(&r->out) == 0 && r->shut;
}

/* cfg->idle_ms: the ms left before a relay in which no message (nor a
 * piece of one) went either way times out; -1: no limit.  Any progress
 * of the counts restarts the clock. */
static int idle_left_ms(struct relay *r)
{
	const struct conn_progress *p = &r->progress;
	uint64_t mark = p->sent + p->received + p->sent_bytes +
			p->received_bytes;
	int64_t now, left;

	if (r->cfg->idle_ms <= 0)
		return -1;
	now = conn_clock_ms();
	if (mark != r->idle_mark || r->idle_since == 0) {
		r->idle_mark = mark;
		r->idle_since = now;
	}
	left = r->idle_since + r->cfg->idle_ms - now;
	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* The sooner of two poll() waits, -1 being none. */
static int sooner_ms(int a, int b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static int io_events(struct relay *r)
{
	struct conn_channel *c = r->c;
	struct pollfd pfd[3];
	nfds_t n = 0;
	int rc, timeout, in_slot = -1, sock_slot = -1, out_slot = -1;
	short sock_events = 0;
	bool buffered;

	if (r->in_fd >= 0 && !r->in_eof && !r->input_stalled)
		pfd[in_slot = (int)n++] = (struct pollfd){ r->in_fd, POLLIN, 0 };
	if (!conn_channel_peer_eof(c) && !r->output_stalled &&
	    !r->count_reached)
		sock_events |= POLLIN;
	if (chan_may_write(c))
		sock_events |= POLLOUT;
	if (sock_events)
		pfd[sock_slot = (int)n++] =
			(struct pollfd){ conn_channel_rfd(c), sock_events, 0 };
	if (conn_buffer_flush_limit(&r->out) > r->out.start)
		pfd[out_slot = (int)n++] = (struct pollfd){ r->out_fd,
							    POLLOUT, 0 };
	if (n == 0)
		return relay_fail(r, CONN_EIO, "relay has nothing to wait for");
	timeout = conn_stop_check_ms(sooner_ms(conn_progress_wait_ms(
		&r->progress), idle_left_ms(r)));
	/* Bytes a TLS session decrypted already: no wait for them. */
	buffered = (sock_events & POLLIN) && conn_channel_has_buffered_input(c);
	if (buffered)
		timeout = 0;
	if (poll(pfd, n, timeout) < 0)
		return errno == EINTR ? 0 : CONN_EIO;
	if (buffered)
		pfd[sock_slot].revents |= POLLIN;
	if (in_slot >= 0 && pfd[in_slot].revents) {
		rc = read_input(r);
		if (rc)
			return rc;
	}
	if (sock_slot >= 0 && (pfd[sock_slot].revents & ~POLLOUT) &&
	    (sock_events & POLLIN)) {
		rc = conn_channel_read_some(c);
		if (rc && rc != CONN_EAGAIN)
			return relay_fail(r, rc, conn_channel_detail(c));
	}
	return 0;
}

/* Writes what both queues may send now; *wrote says if any went out. */
static int flush_queues(struct relay *r, bool *wrote)
{
	size_t before = conn_channel_queued(r->c) + conn_buffer_len(&r->out);
	int rc = chan_write_whole(r->c);

	if (rc) {
		if (conn_channel_peer_eof(r->c) && rc == CONN_ERESET)
			return relay_fail(r, rc, "the peer closed the "
					  "connection before all input was "
					  "sent");
		return relay_fail(r, rc, conn_channel_detail(r->c));
	}
	if (!r->cfg->send_only)
		rc = write_output(r, conn_buffer_flush_limit(&r->out));
	*wrote = conn_channel_queued(r->c) + conn_buffer_len(&r->out) < before;
	return rc;
}

static int relay_loop(struct relay *r)
{
	bool stop_now = false, wrote = false;
	int rc;

	for (;;) {
		if (r->cfg->stop && *r->cfg->stop)
			return CONN_EINTR;
		rc = pump_output(r);
		if (rc == 0)
			rc = pump_input(r);
		if (rc == 0)
			rc = flush_queues(r, &wrote);
		/* A flush made room a stalled pump is waiting for: pump again
		 * before polling, or bytes already read would sit unseen. */
		if (rc == 0 && wrote && (r->input_stalled || r->output_stalled))
			continue;
		if (rc == 0)
			rc = finish_input(r, &stop_now);
		if (rc == 0)
			close_finished_output(r);
		conn_progress_tick(&r->progress);
		if (rc || stop_now || relay_is_over(r))
			return rc ? rc : r->input_error;
		if (idle_left_ms(r) == 0) {
			detail_set(r->detail, r->capacity, "no message either "
				   "way for %g s (idle timeout)",
				   (double)r->cfg->idle_ms / 1000.0);
			return CONN_ETIMEDOUT;
		}
		rc = io_events(r);
		if (rc)
			return rc;
	}
}

int conn_relay_run(char *detail, size_t capacity, struct conn_channel *c,
		   const struct conn_relay_config *cfg)
{
	struct relay r = { .cfg = cfg, .c = c, .detail = detail,
			   .capacity = capacity };
	conn_log_fn *log;
	void *log_ctx;
	int rc;

	detail_set(detail, capacity, "%s", "");
	r.in_fd = cfg->recv_only || cfg->echo ? -1 : cfg->in_fd;
	r.in_eof = r.in_fd < 0;
	if (cfg->close_out) {
		r.out_fd = cfg->out_fd;
		r.out_fd_owned = true;
	} else {
		r.out_fd = conn_fd_copy_nonblocking(&r.out_fd_owned,
						    cfg->out_fd);
	}
	conn_decoder_init(&r.dec, cfg->in_format, cfg->max_size,
			  cfg->chunk_size);
	r.dec.pickle_protocol = cfg->pickle_protocol;
	conn_channel_set_max_size(c, cfg->max_size);
	conn_channel_set_deadline(c, -1);
	chan_log_target(c, &log, &log_ctx);
	conn_progress_start(&r.progress, cfg->progress, cfg->progress_width,
			    log, log_ctx);
	rc = chan_grow(c);
	if (rc == 0)
		rc = conn_buffer_init(&r.in, IN_BUF_SIZE);
	if (rc == 0)
		rc = conn_buffer_init(&r.out, OUT_BUF_SIZE);
	if (rc == 0)
		rc = conn_buffer_init(&r.whole, 4096);
	if (rc == 0)
		rc = send_data(&r);
	if (rc == 0)
		rc = relay_loop(&r);
	/* Whatever ended the loop, whole messages already accepted go on. */
	if (rc != CONN_EPIPE && !cfg->send_only) {
		int out_rc = drain_output(&r, rc && rc != CONN_EINTR);

		/* A stop signal is a quiet end, unless messages are lost. */
		if ((rc == 0 || rc == CONN_EINTR) && out_rc)
			rc = out_rc;
	}
	if (rc && rc != CONN_EPIPE)
		drain_tx(&r);
	conn_progress_end(&r.progress);
	if (r.out_fd_owned && r.out_fd >= 0)
		close(r.out_fd);
	conn_decoder_free(&r.dec);
	conn_buffer_free(&r.in);
	conn_buffer_free(&r.out);
	conn_buffer_free(&r.whole);
	return rc;
}
