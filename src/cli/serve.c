/*
 * serve.c - one connection's session, for session.c and for the -k
 * server's forked --exec children alike: authenticate, then relay with
 * stdin/stdout or with the --exec command.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* With -v, which digests the handshake used, through the channel's log. */
static void trace_digests(conn_log_fn *log, void *ctx,
			  const struct cli_options *o,
			  const struct conn_auth *a)
{
	char line[200];

	if (o->verbose == 0 || log == NULL)
		return;
	snprintf(line, sizeof(line), "authenticated: we asked for %s, the "
		 "peer answered with %s; we answered with %s",
		 conn_digest_name(o->digest), a->peer_digest,
		 a->our_reply_digest);
	log(ctx, CONN_LOG_TRACE, line);
}

/* The digest the peer answered with goes to the CONN_DIGEST of an
 * --exec command. */
int session_authenticate(char *detail, size_t capacity, char *digest,
			 struct conn_channel *c, const struct cli_options *o,
			 enum conn_role role, conn_log_fn *log, void *ctx)
{
	struct conn_auth a;
	int rc;

	conn_auth_init(&a, role, o->key, o->digest, o->auth_flags);
	conn_channel_set_deadline(c, o->handshake_timeout_ms ?
				  conn_clock_ms() + o->handshake_timeout_ms
				  : -1);
	rc = conn_channel_authenticate(c, &a);
	if (rc) {
		snprintf(detail, capacity, "%s", conn_channel_detail(c));
		return rc;
	}
	trace_digests(log, ctx, o, &a);
	/* "md5 (legacy)" -> "md5" */
	snprintf(digest, 16, "%.*s", (int)strcspn(a.peer_digest, " "),
		 a.peer_digest);
	return 0;
}

/* The relay as the options ask for it, between in_fd and stdout. */
static struct conn_relay_config relay_config(const struct cli_options *o,
					     int in_fd,
					     volatile sig_atomic_t *stop)
{
	return (struct conn_relay_config){
		.in_fd = in_fd, .out_fd = STDOUT_FILENO,
		.in_format = o->in_format, .out_format = o->out_format,
		.chunk_size = o->chunk_size, .max_size = o->max_size,
		.in_name = o->file,
		.data = o->data, .data_len = o->data_len,
		.data_count = o->data_count, .count = o->count,
		.send_only = o->send_only, .recv_only = o->recv_only,
		.close_on_eof = o->close_on_eof,
		/* Only a network peer's #CHALLENGE# means a missing key:
		 * conn-pipe may be reading a capture. */
		.no_key = o->key == NULL && o->address != NULL,
		.capture = o->address == NULL,
		/* A command that exits takes its input with it. */
		.end_with_peer = o->exec_argv != NULL && o->address == NULL,
		.pickle_protocol = o->pickle_protocol,
		.render = &o->render,
		.keep_going = o->keep_going,
		.policy = o->policy,
		.verdict = o->verdict,
		.echo = o->echo,
		.progress = o->progress == CLI_PROGRESS_ALWAYS,
		.progress_width = o->progress_width,
		.stop = stop,
		.idle_ms = o->idle_timeout_ms,	/* #18 sockets */
	};
}

/*
 * --exec: the command's stdout is our input and its stdin our output, in
 * the chosen formats; at the peer's end its stdin closes, and the session
 * ends when both directions have.
 */
static int relay_command(char *detail, size_t capacity,
			 struct conn_channel *c, const struct cli_options *o,
			 const char *peer, const char *digest,
			 volatile sig_atomic_t *stop)
{
	struct conn_relay_config cfg;
	int to_cmd, from_cmd, rc;
	pid_t pid;

	rc = exec_start_piped(&pid, &to_cmd, &from_cmd, detail, capacity,
			      o->exec_argv, peer, digest[0] ? digest : NULL);
	if (rc)
		return rc;
	cfg = relay_config(o, from_cmd, stop);
	cfg.peer = peer;
	cfg.in_name = "the command's output";
	cfg.out_fd = to_cmd;
	cfg.close_out = true;
	/* The command's end (its stdout closed) ends the connection, once
	 * all it said is sent, as with nc -e. */
	cfg.close_on_eof = true;
	rc = conn_relay_run(detail, capacity, c, &cfg);
	close(from_cmd);
	/* A command that quit reading ends its part: its status tells. */
	return exec_reap(detail, capacity, pid, o->exec_argv[0],
			 rc == CONN_EPIPE ? 0 : rc);
}

int session_serve(char *detail, size_t capacity, int rfd, int wfd,
		  int in_fd, const struct cli_options *o,
		  enum conn_role role, const char *peer,
		  volatile sig_atomic_t *stop, conn_log_fn *log, void *ctx)
{
	struct conn_relay_config cfg = relay_config(o, in_fd, stop);
	struct conn_channel *c = NULL;
	struct record_conn rec;
	char digest[16] = "";
	int rc;

	cfg.peer = peer;
	rc = conn_channel_new(&c, rfd, wfd);
	if (rc)
		return rc;
	conn_channel_set_log(c, log, ctx, o->verbose > 0);
	conn_channel_set_stop_flag(c, stop);
	record_start(&rec, o, c, log, ctx);
	rc = cli_tls_start(detail, capacity, c, o, log, ctx);
	if (rc == 0 && o->key)
		rc = session_authenticate(detail, capacity, digest, c, o,
					  role, log, ctx);
	/* Tells the -k --exec server that this child is past its handshake
	 * (--max-startups counts those that are not); if it is gone, the
	 * child soon is too. */
	if (rc == 0 && o->report_fd >= 0)
		(void)!write(o->report_fd, "\n", 1);
	if (rc == 0 && o->forward)
		rc = forward_serve(detail, capacity, c, o, peer, &rec, stop,
				   log, ctx);
	else if (rc == 0 && o->exec_argv && o->address)
		rc = relay_command(detail, capacity, c, o, peer, digest,
				   stop);
	else if (rc == 0)
		rc = conn_relay_run(detail, capacity, c, &cfg);
	record_end(&rec);
	conn_channel_free(c);
	return rc;
}
