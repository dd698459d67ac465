/* session.c - what a tool runs: accept or connect, authenticate, relay. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void say(conn_log_fn *log, void *ctx, enum conn_log_level level,
		const char *fmt, const char *arg)
{
	char line[512];

	if (log == NULL)
		return;
	snprintf(line, sizeof(line), fmt, arg);
	log(ctx, level, line);
}

static int authenticate(char *detail, size_t capacity,
			struct conn_channel *c, const struct conn_options *o,
			enum conn_role role)
{
	struct conn_auth a;
	int rc;

	conn_auth_init(&a, role, o->key, o->digest, o->auth_flags);
	conn_channel_set_deadline(c, o->handshake_timeout_ms ?
				  conn_clock_ms() + o->handshake_timeout_ms
				  : -1);
	rc = conn_channel_authenticate(c, &a);
	if (rc) {
		detail_set(detail, capacity, "%s", conn_channel_detail(c));
		return rc;
	}
	if (o->verbose)
		chan_log(c, CONN_LOG_TRACE, "authenticated: we asked for %s, "
			 "the peer answered with %s; we answered with %s",
			 conn_digest_name(o->digest), a.peer_digest,
			 a.our_reply_digest);
	return 0;
}

/* The relay as the options ask for it, between in_fd and stdout. */
static struct conn_relay_config relay_config(const struct conn_options *o,
					     int in_fd,
					     volatile sig_atomic_t *stop)
{
	return (struct conn_relay_config){
		.in_fd = in_fd, .out_fd = STDOUT_FILENO,
		.in_format = o->in_format, .out_format = o->out_format,
		.chunk_size = o->chunk_size, .max_size = o->max_size,
		.data = o->data, .data_len = o->data_len,
		.data_count = o->data_count, .count = o->count,
		.send_only = o->send_only, .recv_only = o->recv_only,
		.close_on_eof = o->close_on_eof,
		/* Only a network peer's #CHALLENGE# means a missing key:
		 * conn-pipe may be reading a capture. */
		.no_key = o->key == NULL && o->address != NULL,
		.capture = o->address == NULL,
		/* A command that exits takes its input with it. */
		.end_with_peer = o->exec_argv != NULL,
		.pickle_protocol = o->pickle_protocol,
		.keep_going = o->keep_going,
		.echo = o->echo,
		.stop = stop,
	};
}

/* Authenticates (when there is a key) and relays over a channel reading
 * rfd and writing wfd, which it takes over. */
static int serve(char *detail, size_t capacity, int rfd, int wfd, int in_fd,
		 const struct conn_options *o, enum conn_role role,
		 volatile sig_atomic_t *stop, conn_log_fn *log, void *ctx)
{
	struct conn_relay_config cfg = relay_config(o, in_fd, stop);
	struct conn_channel *c = NULL;
	int rc;

	rc = conn_channel_new(&c, rfd, wfd);
	if (rc)
		return rc;
	conn_channel_set_log(c, log, ctx, o->verbose > 0);
	conn_channel_set_stop_flag(c, stop);
	if (o->key)
		rc = authenticate(detail, capacity, c, o, role);
	if (rc == 0)
		rc = conn_relay_run(detail, capacity, c, &cfg);
	conn_channel_free(c);
	return rc;
}

int conn_session_listen(char *detail, size_t capacity,
			const struct conn_options *o,
			volatile sig_atomic_t *stop, conn_log_fn *log,
			void *log_ctx)
{
	struct conn_listener *l = NULL;
	struct conn_address a;
	char peer[160];
	int rc, fd = -1;

	rc = conn_address_from_text(&a, detail, capacity, o->address);
	if (rc == 0)
		rc = conn_listener_open(&l, detail, capacity, &a, o->family);
	if (rc)
		return rc;
	say(log, log_ctx, CONN_LOG_NOTICE, "listening on %s",
	    conn_listener_name(l));
	rc = conn_listener_accept(&fd, peer, sizeof(peer), l, stop);
	/* One connection: stop listening now, the socket file goes too. */
	conn_listener_close(l);
	if (rc)
		return rc;
	if (o->verbose)
		say(log, log_ctx, CONN_LOG_TRACE, "connection from %s", peer);
	return serve(detail, capacity, fd, fd, STDIN_FILENO, o,
		     CONN_ROLE_LISTENER, stop, log, log_ctx);
}

int conn_session_connect(char *detail, size_t capacity,
			 const struct conn_options *o,
			 volatile sig_atomic_t *stop, conn_log_fn *log,
			 void *log_ctx)
{
	struct conn_address a;
	int rc, fd = -1;

	rc = conn_address_from_text(&a, detail, capacity, o->address);
	if (rc == 0)
		rc = conn_connect(&fd, detail, capacity, &a, o->family,
				  o->wait_ms, stop);
	if (rc)
		return rc;
	if (o->verbose)
		say(log, log_ctx, CONN_LOG_TRACE, "connected to %s",
		    o->address);
	return serve(detail, capacity, fd, fd, STDIN_FILENO, o,
		     CONN_ROLE_CLIENT, stop, log, log_ctx);
}

/*
 * Conversion is a relay over a socketpair that writes one end and reads
 * the other: messages are framed and unframed on the way, exactly as
 * between two tools, with the same formats, limits and back-pressure.
 */
static int pipe_convert(char *detail, size_t capacity,
			const struct conn_options *o,
			volatile sig_atomic_t *stop, conn_log_fn *log,
			void *log_ctx)
{
	int fds[2], in_fd = STDIN_FILENO, rc;

	if (o->file) {
		in_fd = open(o->file, O_RDONLY | O_CLOEXEC);
		if (in_fd < 0) {
			detail_set(detail, capacity, "cannot open %s: %s",
				   o->file, strerror(errno));
			return CONN_EIO;
		}
	}
	rc = conn_socketpair(fds);
	if (rc == 0)
		rc = serve(detail, capacity, fds[1], fds[0], in_fd, o,
			   CONN_ROLE_CLIENT, stop, log, log_ctx);
	if (in_fd != STDIN_FILENO)
		close(in_fd);
	return rc;
}

/* The child's stdin and stdout are its end of the socketpair. */
static int spawn(pid_t *pid, char *detail, size_t capacity, int fd,
		 char *const argv[])
{
	posix_spawn_file_actions_t actions;
	int rc;

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
	rc = posix_spawnp(pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	if (rc == 0)
		return 0;
	detail_set(detail, capacity, "cannot run %s: %s", argv[0],
		   strerror(rc));
	return rc == ENOMEM ? CONN_ENOMEM : CONN_EINVAL;
}

/* Waits for the child; a failure of its own is ours to report. */
static int reap(char *detail, size_t capacity, pid_t pid, const char *name,
		int rc)
{
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* A command that failed explains a broken pipe better than we do. */
	if (rc && rc != CONN_ERESET && rc != CONN_ETRUNC)
		return rc;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		detail_set(detail, capacity, "%s exited with status %d", name,
			   WEXITSTATUS(status));
		return CONN_EIO;
	}
	if (WIFSIGNALED(status)) {
		detail_set(detail, capacity, "%s was killed by signal %d",
			   name, WTERMSIG(status));
		return CONN_EIO;
	}
	return rc;
}

static int pipe_exec(char *detail, size_t capacity,
		     const struct conn_options *o, volatile sig_atomic_t *stop,
		     conn_log_fn *log, void *log_ctx)
{
	int fds[2], rc;
	pid_t pid;

	rc = conn_socketpair(fds);
	if (rc)
		return rc;
	rc = spawn(&pid, detail, capacity, fds[1], o->exec_argv);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		return rc;
	}
	rc = serve(detail, capacity, fds[0], fds[0], STDIN_FILENO, o,
		   CONN_ROLE_CLIENT, stop, log, log_ctx);
	return reap(detail, capacity, pid, o->exec_argv[0], rc);
}

int conn_session_pipe(char *detail, size_t capacity,
		      const struct conn_options *o,
		      volatile sig_atomic_t *stop, conn_log_fn *log,
		      void *log_ctx)
{
	if (o->exec_argv)
		return pipe_exec(detail, capacity, o, stop, log, log_ctx);
	return pipe_convert(detail, capacity, o, stop, log, log_ctx);
}
