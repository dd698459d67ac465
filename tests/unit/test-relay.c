/*
 * test-relay.c - conn_relay_run() between pipes and a socketpair: messages
 * both ways, the peer's end of stream (clean and in a message), count,
 * and --keep-going's hex fallback.  Everything a case sends fits in the
 * kernel's pipe and socket buffers, so the relay runs to its end in this
 * process before the test reads what it wrote.
 */
#include "conn.h"
#include "tap.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* One case's descriptors: the relay's channel, our peer end of it, and
 * the pipes standing for its stdin and stdout. */
struct rig {
	struct conn_channel *c, *peer;
	int in_w, out_r;
	struct conn_relay_config cfg;
	char log[1024];		/* the relay's warnings, one a line */
	char detail[256];
};

static void collect_log(void *ctx, enum conn_log_level level,
			const char *line)
{
	struct rig *r = ctx;
	size_t n = strlen(r->log);

	if (level == CONN_LOG_WARNING)
		snprintf(r->log + n, sizeof(r->log) - n, "%s\n", line);
}

static void rig_open(struct rig *r, enum conn_format in, enum conn_format out)
{
	int fds[2], in_p[2], out_p[2];

	memset(r, 0, sizeof(*r));
	if (conn_socketpair(fds) || pipe(in_p) || pipe(out_p) ||
	    conn_channel_new(&r->c, fds[0], fds[0]) ||
	    conn_channel_new(&r->peer, fds[1], fds[1])) {
		printf("Bail out! socketpair/pipe/channel\n");
		exit(1);
	}
	conn_channel_set_log(r->c, collect_log, r, false);
	conn_channel_set_deadline(r->peer, conn_clock_ms() + 5000);
	r->in_w = in_p[1];
	r->out_r = out_p[0];
	r->cfg = (struct conn_relay_config){
		.in_fd = in_p[0], .out_fd = out_p[1],
		.in_format = in, .out_format = out,
		.chunk_size = 65536, .max_size = 1 << 20,
	};
}

/* Runs the relay with stdin holding input (then its end). */
static int rig_run(struct rig *r, const char *input)
{
	int rc;

	if (input && write(r->in_w, input, strlen(input)) < 0)
		return -1;
	close(r->in_w);
	rc = conn_relay_run(r->detail, sizeof(r->detail), r->c, &r->cfg);
	close(r->cfg.in_fd);
	close(r->cfg.out_fd);
	return rc;
}

/* What the relay wrote to stdout, NUL-ended (the pipe's writer is closed). */
static const char *rig_output(struct rig *r, char *buf, size_t capacity)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < capacity &&
	       (n = read(r->out_r, buf + got, capacity - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return buf;
}

/* The next message the relay sent to our peer end, NUL-ended. */
static int peer_recv(struct rig *r, char *buf, size_t capacity)
{
	size_t len;
	int rc = conn_channel_recv(r->peer, &len, buf, capacity - 1);

	buf[rc == 0 ? len : 0] = '\0';
	return rc;
}

static void rig_close(struct rig *r)
{
	close(r->out_r);
	conn_channel_free(r->c);
	conn_channel_free(r->peer);
}

static void test_both_ways(void)
{
	struct rig r;
	char out[256], msg[64];
	int rc;

	rig_open(&r, CONN_FORMAT_LINES, CONN_FORMAT_LINES);
	/* the peer's messages wait in the socket, then its end of stream */
	rc = conn_channel_send(r.peer, "pong 1", 6);
	if (rc == 0)
		rc = conn_channel_send(r.peer, "pong 2", 6);
	if (rc == 0)
		rc = conn_channel_shutdown(r.peer);
	ok(rc == 0, "both ways: the peer sends two and half-closes");
	rc = rig_run(&r, "ping 1\nping 2\n");
	ok(rc == 0, "both ways: the relay ends with both directions (%s)",
	   conn_strerror(rc));
	ok(strcmp(rig_output(&r, out, sizeof(out)), "pong 1\npong 2\n") == 0,
	   "both ways: stdout has the peer's messages, a line each");
	ok(peer_recv(&r, msg, sizeof(msg)) == 0 && strcmp(msg, "ping 1") == 0,
	   "both ways: the peer gets stdin's first line as a message");
	ok(peer_recv(&r, msg, sizeof(msg)) == 0 && strcmp(msg, "ping 2") == 0,
	   "both ways: and its second");
	ok(peer_recv(&r, msg, sizeof(msg)) == CONN_ERESET,
	   "both ways: then the relay's end of stream, between messages");
	rig_close(&r);
}

static void test_truncated(void)
{
	/* a 10-byte message announced, 3 bytes of it, then the end */
	static const uint8_t cut[] = { 0, 0, 0, 10, 'a', 'b', 'c' };
	struct rig r;
	char out[64];
	int rc;

	rig_open(&r, CONN_FORMAT_LINES, CONN_FORMAT_LINES);
	r.cfg.recv_only = true;
	rc = conn_channel_send(r.peer, "whole", 5);
	ok(rc == 0 && write(conn_channel_wfd(r.peer), cut, sizeof(cut)) ==
	   (ssize_t)sizeof(cut) && conn_channel_shutdown(r.peer) == 0,
	   "truncated: the peer sends a message and 3 bytes of the next");
	rc = rig_run(&r, NULL);
	ok(rc == CONN_ETRUNC, "truncated: CONN_ETRUNC (%s)", conn_strerror(rc));
	ok(strstr(r.detail, "(3 of 10 bytes received)") != NULL,
	   "truncated: the detail says how much came: '%s'", r.detail);
	ok(strcmp(rig_output(&r, out, sizeof(out)), "whole\n") == 0,
	   "truncated: the whole message before it still reaches stdout");
	rig_close(&r);
}

static void test_count(void)
{
	struct rig r;
	char out[64];
	int rc = 0, i;

	rig_open(&r, CONN_FORMAT_LINES, CONN_FORMAT_LINES);
	r.cfg.recv_only = true;
	r.cfg.count = 2;
	for (i = 1; i <= 3 && rc == 0; i++)
		rc = conn_channel_send(r.peer, i == 1 ? "one" : i == 2 ?
				       "two" : "three", i == 3 ? 5 : 3);
	ok(rc == 0, "count: the peer sends three and stays connected");
	rc = rig_run(&r, NULL);
	ok(rc == 0, "count: the relay ends after two (%s)", conn_strerror(rc));
	ok(strcmp(rig_output(&r, out, sizeof(out)), "one\ntwo\n") == 0,
	   "count: stdout has the first two only");
	rig_close(&r);
}

/* A message that is no pickle, rendered as repr, with keep_going or not. */
static void test_keep_going(bool keep_going)
{
	const char *how = keep_going ? "keep-going" : "no keep-going";
	struct rig r;
	char out[64];
	int rc;

	rig_open(&r, CONN_FORMAT_LINES, CONN_FORMAT_REPR);
	r.cfg.recv_only = true;
	r.cfg.keep_going = keep_going;
	rc = conn_channel_send(r.peer, "hello", 5);
	if (rc == 0)
		rc = conn_channel_shutdown(r.peer);
	ok(rc == 0, "%s: the peer sends 'hello', no pickle", how);
	rc = rig_run(&r, NULL);
	rig_output(&r, out, sizeof(out));
	if (keep_going) {
		ok(rc == 0, "%s: the relay goes on (%s)", how,
		   conn_strerror(rc));
		ok(strcmp(out, "68656c6c6f\n") == 0,
		   "%s: the message is shown in hex", how);
		ok(strstr(r.log, "message 1 is not shown as repr") != NULL &&
		   strstr(r.log, "here it is in hex") != NULL,
		   "%s: one warning says so", how);
	} else {
		ok(rc == CONN_EPROTO, "%s: CONN_EPROTO (%s)", how,
		   conn_strerror(rc));
		ok(strncmp(r.detail, "message 1: ", 11) == 0,
		   "%s: the detail names the message: '%s'", how, r.detail);
		ok(out[0] == '\0' && r.log[0] == '\0',
		   "%s: nothing on stdout, no warning", how);
	}
	rig_close(&r);
}

int main(void)
{
	/* a relay writing to a pipe whose reader we closed must not kill us */
	signal(SIGPIPE, SIG_IGN);
	test_both_ways();
	test_truncated();
	test_count();
	test_keep_going(true);
	test_keep_going(false);
	return tap_done();
}
