/*
 * probe.c - conn-client --probe: what does the peer at ADDRESS speak?
 *
 * Like nc -z, but protocol-aware, and no message is ever sent: a keyed
 * Listener challenges at once, a keyless one stays silent, and anything
 * else shows itself by its first bytes (the core's conn_probe_classify()
 * judges them).  Then, on connections of their own:
 * - with a key, the whole mutual handshake: is the key right?
 * - a reply of 257 bytes: Python reads a handshake frame with
 *   recv_bytes(256) and drops the connection unread;
 * - with --probe-all, a reply in each digest: which does it accept?
 * A report in text or JSON on stdout; the error, if any, is the tool's.
 */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_WAIT_MS 1000
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
#define CHALLENGE_LEN 11	/* "#CHALLENGE#" */
#define OVERSIZED (CONN_HANDSHAKE_FRAME_MAX + 1)

/* One connection to the peer and what it sent that is not taken yet. */
struct probe_conn {
	int fd;
	uint8_t buf[512];
	size_t len;
	bool eof;
	volatile sig_atomic_t *stop;
};

/* How the peer answered a reply of ours. */
enum answer {
	ANSWER_WELCOME, ANSWER_FAILURE, ANSWER_CLOSED, ANSWER_OTHER,
	ANSWER_NONE	/* nothing within the wait */
};

/* The reply styles --probe-all tries: a raw 16-byte HMAC-MD5 (what
 * Python <= 3.11 sends), then each digest with its "{name}" prefix. */
#define REPLY_STYLES (1 + CONN_DIGEST_COUNT)

/* What the probe found out. */
struct probe_report {
	const char *address;
	struct conn_probe_first first;
	bool speaks;
	double connect_ms, challenge_ms, handshake_ms;	/* < 0: none */
	int key;		/* -1 not tried, 0 refused, 1 accepted */
	char key_words[240];
	int oversized;		/* -1 not tried, 1 refused, 0 read */
	char oversized_words[80];
	int accepts[REPLY_STYLES];	/* -1 not tried, 0 no, 1 yes */
};

static const char *reply_style_name(int style)
{
	return style == 0 ? "md5-legacy"
			  : conn_digest_name((enum conn_digest)(style - 1));
}

int probe_options_check(struct cli_options *o)
{
	const char *needs = o->probe_all ? "--probe-all"
			    : o->probe_wait_ms ? "--probe-wait"
			    : o->probe_json ? "--json" : NULL;

	if (!o->probe) {
		if (needs == NULL)
			return 0;
		snprintf(o->detail, sizeof(o->detail), "%s needs --probe",
			 needs);
		return CONN_EINVAL;
	}
	if (o->stdio_option || o->tls.on) {
		/* (the probe speaks the protocol bare: no TLS under it) */
		snprintf(o->detail, sizeof(o->detail),
			 "cannot use --probe with %s", o->stdio_option ?
			 o->stdio_option : o->tls.first);
		return CONN_EINVAL;
	}
	if (o->probe_all && o->key == NULL) {
		snprintf(o->detail, sizeof(o->detail), "--probe-all needs a "
			 "key (--authkey-file, --authkey or CONN_AUTHKEY): "
			 "without it every reply is refused alike");
		return CONN_EINVAL;
	}
	return 0;
}

/* How long the peer's first bytes (and the 257-byte answer) are waited
 * for. */
static int64_t probe_wait(const struct cli_options *o)
{
	return o->probe_wait_ms ? o->probe_wait_ms : DEFAULT_WAIT_MS;
}

static double since_ms(int64_t start_us)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 -
			start_us) / 1000.0;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int probe_connect(struct probe_conn *pc, char *detail,
			 size_t capacity, const struct cli_options *o,
			 volatile sig_atomic_t *stop)
{
	struct conn_address a;
	int rc;

	*pc = (struct probe_conn){ .fd = -1, .stop = stop };
	rc = conn_address_from_text(&a, detail, capacity, o->address);
	if (rc == 0)
		rc = conn_connect(&pc->fd, detail, capacity, &a, o->family,
				  o->wait_ms, stop);
	return rc;
}

static void probe_close(struct probe_conn *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
}

/* Reads what comes within deadline_ms (conn_clock_ms()): 0 when bytes
 * or the end of stream came, CONN_ETIMEDOUT, CONN_EINTR. */
static int read_more(struct probe_conn *pc, int64_t deadline_ms)
{
	struct pollfd p = { .fd = pc->fd, .events = POLLIN };
	ssize_t n;
	int64_t left;

	for (;;) {
		if (pc->stop && *pc->stop)
			return CONN_EINTR;
		left = deadline_ms - conn_clock_ms();
		if (left <= 0)
			return CONN_ETIMEDOUT;
		if (poll(&p, 1, conn_stop_check_ms((int)left)) <= 0)
			continue;
		n = read(pc->fd, pc->buf + pc->len, sizeof(pc->buf) - pc->len);
		if (n > 0) {
			pc->len += (size_t)n;
			return 0;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* A reset is an end too: what came stays. */
			pc->eof = true;
			return 0;
		}
	}
}

/* Waits for the peer's first bytes until they decide, or the end of
 * stream, or the probe's wait: *first says what they are. */
static int read_first(struct probe_conn *pc, char *detail, size_t capacity,
		      struct conn_probe_first *first, int64_t wait_ms)
{
	int64_t deadline = conn_clock_ms() + wait_ms;
	int rc;

	for (;;) {
		bool full = pc->len == sizeof(pc->buf);

		rc = conn_probe_classify(first, pc->buf, pc->len,
					 pc->eof || full);
		if (rc != CONN_EAGAIN)
			return rc;
		rc = read_more(pc, deadline);
		if (rc == CONN_ETIMEDOUT && pc->len == 0)
			return conn_probe_classify(first, pc->buf, 0, true);
		if (rc == CONN_ETIMEDOUT) {
			snprintf(detail, capacity, "the peer sent %zu bytes "
				 "of something, then nothing for %.3g s",
				 pc->len, (double)wait_ms / 1000);
			return rc;
		}
		if (rc)
			return rc;
	}
}

/* Takes the first frame of what was read (after the challenge): 0 with
 * *msg (a copy, at most 256 bytes) and *len, or an end. */
static int read_frame(struct probe_conn *pc, uint8_t *msg, size_t *len,
		      int64_t deadline_ms)
{
	uint64_t size;
	size_t header;
	int rc;

	for (;;) {
		rc = conn_frame_header_decode(&size, &header, pc->buf, pc->len);
		if (rc == CONN_EPROTO ||
		    (rc == 0 && size > CONN_HANDSHAKE_FRAME_MAX))
			return CONN_EPROTO;
		if (rc == 0 && pc->len >= header + size) {
			memcpy(msg, pc->buf + header, (size_t)size);
			*len = (size_t)size;
			pc->len -= header + (size_t)size;
			memmove(pc->buf, pc->buf + header + size, pc->len);
			return 0;
		}
		if (pc->eof)
			return CONN_ERESET;
		rc = read_more(pc, deadline_ms);
		if (rc)
			return rc;
	}
}

/* Drops the first frame (the challenge) from what was read. */
static void take_first(struct probe_conn *pc, size_t frame_len)
{
	pc->len -= frame_len;
	memmove(pc->buf, pc->buf + frame_len, pc->len);
}

/* Sends one frame, whole. */
static int send_frame(struct probe_conn *pc, const uint8_t *msg, size_t len)
{
	uint8_t out[CONN_FRAME_HEADER_MAX + OVERSIZED];
	size_t n = conn_frame_header_encode(out, len), done = 0;
	struct pollfd p = { .fd = pc->fd, .events = POLLOUT };
	ssize_t w;

	memcpy(out + n, msg, len);
	n += len;
	while (done < n) {
		w = write(pc->fd, out + done, n - done);
		if (w > 0)
			done += (size_t)w;
		else if (w < 0 && errno == EAGAIN)
			(void)poll(&p, 1, CONN_STOP_CHECK_MS);
		else if (w < 0 && errno != EINTR)
			return CONN_ERESET;
	}
	return 0;
}

static int64_t answer_deadline(const struct cli_options *o)
{
	return o->handshake_timeout_ms ? conn_clock_ms() +
					 o->handshake_timeout_ms
				       : INT64_MAX / 2;
}

/* How the peer answers a reply of ours: #WELCOME#, #FAILURE#, its end. */
static int read_answer(struct probe_conn *pc, enum answer *answer,
		       int64_t deadline_ms)
{
	uint8_t msg[CONN_HANDSHAKE_FRAME_MAX];
	size_t len;
	int rc = read_frame(pc, msg, &len, deadline_ms);

	if (rc == CONN_ERESET) {
		*answer = ANSWER_CLOSED;
		return 0;
	}
	if (rc == CONN_EPROTO || rc == CONN_ETIMEDOUT) {
		*answer = rc == CONN_EPROTO ? ANSWER_OTHER : ANSWER_NONE;
		return 0;
	}
	if (rc)
		return rc;
	*answer = len == 9 && memcmp(msg, WELCOME, 9) == 0 ? ANSWER_WELCOME
		  : len == 9 && memcmp(msg, FAILURE, 9) == 0 ? ANSWER_FAILURE
		  : ANSWER_OTHER;
	return 0;
}

/* A new connection whose first frame must be a challenge: *first. */
static int challenged(struct probe_conn *pc, char *detail, size_t capacity,
		      struct conn_probe_first *first,
		      const struct cli_options *o,
		      volatile sig_atomic_t *stop)
{
	int rc = probe_connect(pc, detail, capacity, o, stop);

	if (rc == 0)
		rc = read_first(pc, detail, capacity, first,
				probe_wait(o));
	if (rc == 0 && first->kind != CONN_PROBE_CHALLENGE) {
		snprintf(detail, capacity, "the peer challenged the first "
			 "connection, but sent %s to the next",
			 first->text[0] ? first->text : "nothing");
		rc = CONN_EPROTO;
	}
	return rc;
}

/* A reply of 257 bytes to the challenge: does the peer refuse it? */
static int probe_oversized(struct probe_report *r,
			   const struct cli_options *o, char *detail,
			   size_t capacity, volatile sig_atomic_t *stop)
{
	struct conn_probe_first first;
	struct probe_conn pc;
	uint8_t reply[OVERSIZED] = { 0 };
	enum answer answer;
	int rc = challenged(&pc, detail, capacity, &first, o, stop);

	if (rc == 0) {
		take_first(&pc, first.frame_len);
		rc = send_frame(&pc, reply, sizeof(reply));
	}
	/* Python 2.7 keeps the refused connection open (the traceback
	 * holds it) until its next exception: no answer is a refusal. */
	if (rc == 0)
		rc = read_answer(&pc, &answer, conn_clock_ms() + probe_wait(o));
	probe_close(&pc);
	if (rc == CONN_ERESET)	/* closed before we could even send */
		answer = ANSWER_CLOSED, rc = 0;
	if (rc)
		return rc;
	r->oversized = answer == ANSWER_CLOSED || answer == ANSWER_NONE;
	snprintf(r->oversized_words, sizeof(r->oversized_words), "%s",
		 answer == ANSWER_CLOSED ? "refused (closed the connection)"
		 : answer == ANSWER_NONE ? "refused (no answer, the "
		 "connection left open)"
		 : answer == ANSWER_FAILURE ? "read (answered #FAILURE#)"
		 : answer == ANSWER_WELCOME ? "read (answered #WELCOME#!)"
		 : "read (answered with something else)");
	return 0;
}

/* The challenge's message: what its frame carries after "#CHALLENGE#". */
static const uint8_t *challenge_message(const struct probe_conn *pc,
					const struct conn_probe_first *f,
					size_t *len)
{
	size_t header = f->frame_len - (size_t)f->size;

	*len = (size_t)f->size - CHALLENGE_LEN;
	return pc->buf + header + CHALLENGE_LEN;
}

/* --probe-all: a reply in each style, one connection each. */
static int probe_styles(struct probe_report *r, const struct cli_options *o,
			char *detail, size_t capacity,
			volatile sig_atomic_t *stop)
{
	struct conn_probe_first first;
	struct probe_conn pc;
	uint8_t reply[CONN_HANDSHAKE_FRAME_MAX];
	const uint8_t *message;
	enum answer answer;
	size_t len, n;
	int style, rc;

	for (style = 0; style < REPLY_STYLES; style++) {
		rc = challenged(&pc, detail, capacity, &first, o, stop);
		if (rc == 0) {
			message = challenge_message(&pc, &first, &len);
			n = conn_auth_reply(reply, o->key,
					    (enum conn_digest)(style ? style - 1
								     : 0),
					    style == 0, message, len);
			take_first(&pc, first.frame_len);
			rc = send_frame(&pc, reply, n);
		}
		if (rc == 0)
			rc = read_answer(&pc, &answer, answer_deadline(o));
		probe_close(&pc);
		if (rc == CONN_ERESET)
			answer = ANSWER_CLOSED, rc = 0;
		if (rc)
			return rc;
		r->accepts[style] = answer == ANSWER_WELCOME;
	}
	return 0;
}

/* With a key, the whole handshake on the first connection, as the
 * client does it: the key's verdict and the handshake's time. */
static int probe_key(struct probe_report *r, struct probe_conn *pc,
		     const struct cli_options *o, int64_t start_us)
{
	struct conn_auth a;
	uint8_t in[CONN_HANDSHAKE_FRAME_MAX], out[CONN_HANDSHAKE_FRAME_MAX];
	size_t in_len, out_len;
	int64_t deadline = answer_deadline(o);
	int rc;

	conn_auth_init(&a, CONN_ROLE_CLIENT, o->key, o->digest, o->auth_flags);
	rc = conn_auth_step(&a, out, &out_len, NULL, 0);
	/* The challenge, then #WELCOME#, then the reply to ours. */
	memcpy(in, pc->buf + (r->first.frame_len - (size_t)r->first.size),
	       (size_t)r->first.size);
	in_len = (size_t)r->first.size;
	take_first(pc, r->first.frame_len);
	while (rc == 0 && !conn_auth_is_done(&a)) {
		rc = conn_auth_step(&a, out, &out_len, in, in_len);
		if (out_len && send_frame(pc, out, out_len) && rc == 0)
			rc = CONN_ERESET;
		if (rc == 0 && !conn_auth_is_done(&a))
			rc = read_frame(pc, in, &in_len, deadline);
	}
	r->key = rc == 0;
	if (rc == 0) {
		r->handshake_ms = since_ms(start_us);
		snprintf(r->key_words, sizeof(r->key_words), "accepted "
			 "(mutual handshake done; we answered with %s, it "
			 "with %s)", a.our_reply_digest, a.peer_digest);
	} else if (rc == CONN_ERESET) {
		snprintf(r->key_words, sizeof(r->key_words), "refused: the "
			 "peer closed the connection during the handshake");
	} else if (rc == CONN_ETIMEDOUT || rc == CONN_EINTR) {
		return rc;
	} else {
		snprintf(r->key_words, sizeof(r->key_words), "refused: %s",
			 a.detail[0] ? a.detail : conn_strerror(rc));
	}
	return 0;
}

/* The first connection: what the peer sends first, and with a key the
 * handshake. */
static int probe_first(struct probe_report *r, const struct cli_options *o,
		       char *detail, size_t capacity,
		       volatile sig_atomic_t *stop)
{
	struct probe_conn pc;
	int64_t start = now_us();
	int rc = probe_connect(&pc, detail, capacity, o, stop);

	if (rc)
		return rc;
	r->connect_ms = since_ms(start);
	start = now_us();
	rc = read_first(&pc, detail, capacity, &r->first,
			probe_wait(o));
	if (rc == 0 && r->first.kind == CONN_PROBE_CHALLENGE) {
		r->challenge_ms = since_ms(start);
		if (o->key)
			rc = probe_key(r, &pc, o, start);
	}
	probe_close(&pc);
	return rc;
}

/* ----------------------------------------------------------- the report */

static const char *style_name(enum conn_probe_style s)
{
	return s == CONN_PROBE_LEGACY ? "legacy" : "modern";
}

/* What the peer is, in words. */
static void describe(char *out, size_t capacity, const struct probe_report *r,
		     const struct cli_options *o)
{
	const struct conn_probe_first *f = &r->first;

	switch (f->kind) {
	case CONN_PROBE_CHALLENGE:
		snprintf(out, capacity, "required (%s challenge, %s)",
			 style_name(f->style), conn_digest_name(f->digest));
		break;
	case CONN_PROBE_SILENT:
		snprintf(out, capacity, "none (silent for %.3g s, as a keyless "
			 "Listener waits for the first message)",
			 (double)probe_wait(o) / 1000);
		break;
	case CONN_PROBE_MESSAGE:
		snprintf(out, capacity, "none (it sent %s first)", f->text);
		break;
	default:
		snprintf(out, capacity, "-");
	}
}

/* The reply styles whose verdict was v, on one line. */
static void print_styles(const char *what, const struct probe_report *r,
			 int v)
{
	int s, n = 0;

	printf("%s:", what);
	for (s = 0; s < REPLY_STYLES; s++)
		if (r->accepts[s] == v && ++n)
			printf(" %s", reply_style_name(s));
	printf("%s\n", n ? "" : " none");
}

static void print_text(const struct probe_report *r,
		       const struct cli_options *o)
{
	char words[200];

	printf("address: %s\n", r->address);
	if (!r->speaks) {
		printf("protocol: no: it sent %s (%s)\n",
		       r->first.kind == CONN_PROBE_SILENT ? "nothing"
							  : r->first.text,
		       conn_probe_kind_name(r->first.kind));
		return;
	}
	printf("protocol: multiprocessing.connection\n");
	describe(words, sizeof(words), r, o);
	printf("authentication: %s\n", words);
	if (r->first.kind != CONN_PROBE_CHALLENGE)
		return;
	printf("key: %s\n", r->key < 0 ? "not given" : r->key_words);
	if (r->accepts[0] >= 0) {
		print_styles("accepts", r, 1);
		print_styles("refuses", r, 0);
	}
	printf("257-byte handshake frame: %s\n", r->oversized_words);
	printf("connect: %.3f ms\nchallenge: %.3f ms\n", r->connect_ms,
	       r->challenge_ms);
	if (r->handshake_ms >= 0)
		printf("handshake: %.3f ms\n", r->handshake_ms);
}

/* A number of ms, or null. */
static json_t *ms_or_null(double ms)
{
	return ms >= 0 ? json_real(ms) : json_null();
}

static json_t *tristate(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static int print_json(const struct probe_report *r)
{
	const struct conn_probe_first *f = &r->first;
	bool challenge = f->kind == CONN_PROBE_CHALLENGE;
	json_t *j = json_object(), *accepts = NULL;
	char *text;
	int s;

	if (j == NULL)
		return CONN_ENOMEM;
	json_object_set_new(j, "address", json_string(r->address));
	json_object_set_new(j, "protocol", json_boolean(r->speaks));
	json_object_set_new(j, "first", json_string(
		conn_probe_kind_name(f->kind)));
	json_object_set_new(j, "sent", f->text[0] ? json_string(f->text)
						  : json_null());
	json_object_set_new(j, "authentication", !r->speaks ? json_null()
			    : json_string(challenge ? "required" : "none"));
	json_object_set_new(j, "style", challenge ?
			    json_string(style_name(f->style)) : json_null());
	json_object_set_new(j, "digest", challenge ?
			    json_string(conn_digest_name(f->digest))
			    : json_null());
	json_object_set_new(j, "key", tristate(r->key));
	json_object_set_new(j, "key_detail", r->key >= 0 ?
			    json_string(r->key_words) : json_null());
	if (r->accepts[0] >= 0) {
		accepts = json_object();
		for (s = 0; s < REPLY_STYLES && accepts; s++)
			json_object_set_new(accepts, reply_style_name(s),
					    json_boolean(r->accepts[s]));
	}
	json_object_set_new(j, "accepts", accepts ? accepts : json_null());
	json_object_set_new(j, "refuses_257", tristate(r->oversized));
	json_object_set_new(j, "connect_ms", ms_or_null(r->connect_ms));
	json_object_set_new(j, "challenge_ms", ms_or_null(r->challenge_ms));
	json_object_set_new(j, "handshake_ms", ms_or_null(r->handshake_ms));
	text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII |
			  JSON_REAL_PRECISION(6));
	json_decref(j);
	if (text == NULL)
		return CONN_ENOMEM;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* ------------------------------------------------------------- the run */

/* The probe's status: the peer speaks the protocol, or what it sent. */
static int verdict(char *detail, size_t capacity,
		   const struct probe_report *r)
{
	if (!r->speaks) {
		snprintf(detail, capacity, "not the protocol: it sent %s (%s)",
			 r->first.text, conn_probe_kind_name(r->first.kind));
		return CONN_EPROTO;
	}
	if (r->key == 0) {
		snprintf(detail, capacity, "the peer speaks the protocol, "
			 "but our key is %s", r->key_words);
		return CONN_EAUTH;
	}
	return 0;
}

int probe_run(char *detail, size_t capacity, const struct cli_options *o,
	      volatile sig_atomic_t *stop, conn_log_fn *log, void *ctx)
{
	struct probe_report r = { .address = o->address, .connect_ms = -1,
				  .challenge_ms = -1, .handshake_ms = -1,
				  .key = -1, .oversized = -1 };
	int rc, s;

	(void)log;
	(void)ctx;
	for (s = 0; s < REPLY_STYLES; s++)
		r.accepts[s] = -1;
	rc = probe_first(&r, o, detail, capacity, stop);
	if (rc)
		return rc;
	r.speaks = r.first.kind == CONN_PROBE_CHALLENGE ||
		   r.first.kind == CONN_PROBE_SILENT ||
		   r.first.kind == CONN_PROBE_MESSAGE;
	if (r.first.kind == CONN_PROBE_CHALLENGE) {
		rc = probe_oversized(&r, o, detail, capacity, stop);
		if (rc == 0 && o->probe_all)
			rc = probe_styles(&r, o, detail, capacity, stop);
		if (rc)
			return rc;
	}
	if (o->probe_json)
		rc = print_json(&r);
	else
		print_text(&r, o);
	return rc ? rc : verdict(detail, capacity, &r);
}
