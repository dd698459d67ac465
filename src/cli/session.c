/*
 * session.c - what a tool runs: accept (one connection, or with -k the
 * server's many) or connect, or conn-pipe's socketpair or command; then
 * serve.c's session_serve() does the rest.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(conn_log_fn *log, void *ctx, enum conn_log_level level,
		const char *fmt, const char *arg)
{
	char line[512];

	if (log == NULL)
		return;
	snprintf(line, sizeof(line), fmt, arg);
	log(ctx, level, line);
}

int cli_session_listen(char *detail, size_t capacity,
		       const struct cli_options *o,
		       volatile sig_atomic_t *stop, conn_log_fn *log,
		       void *log_ctx)
{
	struct conn_listener *l = NULL;
	char peer[160];
	int rc, fd = -1;

	if (o->inetd)
		return cli_sockets_inetd(detail, capacity, o, stop, log,
					 log_ctx);
	rc = cli_sockets_listener(&l, detail, capacity, o);
	if (rc)
		return rc;
	say(log, log_ctx, CONN_LOG_NOTICE, "listening on %s",
	    conn_listener_name(l));
	if (o->keep_open)	/* the server closes l when it is done */
		return server_run(detail, capacity, l, o, stop, log, log_ctx);
	rc = conn_listener_accept(&fd, peer, sizeof(peer), l, stop);
	/* One connection: stop listening now, the socket file goes too. */
	conn_listener_close(l);
	if (rc)
		return rc;
	if (o->verbose)
		say(log, log_ctx, CONN_LOG_TRACE, "connection from %s", peer);
	return session_serve(detail, capacity, fd, fd, STDIN_FILENO, o,
			     CONN_ROLE_LISTENER, peer, stop, log, log_ctx);
}

int cli_session_connect(char *detail, size_t capacity,
			const struct cli_options *o,
			volatile sig_atomic_t *stop, conn_log_fn *log,
			void *log_ctx)
{
	char peer[160];
	int rc, fd = -1;

	rc = cli_sockets_connect(&fd, peer, sizeof(peer), detail, capacity, o,
				 stop);
	if (rc)
		return rc;
	if (o->verbose)
		say(log, log_ctx, CONN_LOG_TRACE, "connected to %s", peer);
	return session_serve(detail, capacity, fd, fd, STDIN_FILENO, o,
			     CONN_ROLE_CLIENT, peer, stop, log, log_ctx);
}

/*
 * Conversion is a relay over a socketpair that writes one end and reads
 * the other: messages are framed and unframed on the way, exactly as
 * between two tools, with the same formats, limits and back-pressure.
 */
static int pipe_convert(char *detail, size_t capacity,
			const struct cli_options *o,
			volatile sig_atomic_t *stop, conn_log_fn *log,
			void *log_ctx)
{
	int fds[2], in_fd = STDIN_FILENO, rc;

	if (o->file) {
		in_fd = open(o->file, O_RDONLY | O_CLOEXEC);
		if (in_fd < 0) {
			snprintf(detail, capacity, "cannot open %s: %s",
				 o->file, strerror(errno));
			return CONN_EIO;
		}
	}
	rc = conn_socketpair(fds);
	if (rc == 0)
		rc = session_serve(detail, capacity, fds[1], fds[0], in_fd, o,
				   CONN_ROLE_CLIENT, NULL, stop, log, log_ctx);
	if (in_fd != STDIN_FILENO)
		close(in_fd);
	return rc;
}

static int pipe_exec(char *detail, size_t capacity,
		     const struct cli_options *o, volatile sig_atomic_t *stop,
		     conn_log_fn *log, void *log_ctx)
{
	int fds[2], rc;
	pid_t pid;

	rc = conn_socketpair(fds);
	if (rc)
		return rc;
	rc = exec_start(&pid, detail, capacity, fds[1], fds[1], o->exec_argv,
			NULL, NULL);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		return rc;
	}
	rc = session_serve(detail, capacity, fds[0], fds[0], STDIN_FILENO, o,
			   CONN_ROLE_CLIENT, NULL, stop, log, log_ctx);
	return exec_reap(detail, capacity, pid, o->exec_argv[0], rc);
}

int cli_session_pipe(char *detail, size_t capacity,
		     const struct cli_options *o,
		     volatile sig_atomic_t *stop, conn_log_fn *log,
		     void *log_ctx)
{
	if (o->in_pcap)
		return cli_capture_read(detail, capacity, o, log, log_ctx);
	if (o->exec_argv)
		return pipe_exec(detail, capacity, o, stop, log, log_ctx);
	return pipe_convert(detail, capacity, o, stop, log, log_ctx);
}
