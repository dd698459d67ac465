/*
 * sockets.c - where the connection comes from, and how long a tool waits
 * for it (#18): --backlog, --fd N (a socket handed over), LISTEN_FDS
 * (activation.c), --inetd (the connection on stdin/stdout), and
 * conn-client's -w (connect timeout) and -s (source address); -i (idle
 * timeout) is the relay's and the -k server's.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BACKLOG 65535	/* the kernel caps it lower anyway */
#define MAX_FD 0x7fffffff
#define MAX_TIMEOUT_S 1e6

static int invalid(struct cli_options *o, const char *fmt, const char *arg)
{
	snprintf(o->detail, sizeof(o->detail), fmt, arg);
	return CONN_EINVAL;
}

static int conflict(struct cli_options *o, const char *a, const char *b)
{
	snprintf(o->detail, sizeof(o->detail), "cannot use %s with %s", a,
		 b);
	return CONN_EINVAL;
}

/* -s ADDR: HOST, HOST:PORT, [IPV6]:PORT or a bare IPv6 address; port 0
 * (any) when none is given. */
static int source_address(struct conn_address *a, char *detail,
			  size_t capacity, const char *text)
{
	const char *colon = strchr(text, ':');
	char buf[300];

	if (colon == NULL)
		snprintf(buf, sizeof(buf), "%s:0", text);
	else if (text[0] != '[' && strchr(colon + 1, ':'))
		snprintf(buf, sizeof(buf), "[%s]:0", text);
	else
		snprintf(buf, sizeof(buf), "%s", text);
	if (conn_address_from_text(a, detail, capacity, buf) ||
	    a->kind != CONN_ADDRESS_TCP || a->host[0] == '\0') {
		snprintf(detail, capacity, "invalid --source '%s' (HOST, "
			 "HOST:PORT or [IPV6]:PORT)", text);
		return CONN_EINVAL;
	}
	return 0;
}

int cli_sockets_set(struct cli_options *o, int code, char *arg)
{
	struct conn_address a;
	uint64_t n;
	int rc;

	switch (code) {
	case CLI_OPT_BACKLOG:
		rc = cli_option_size(o->detail, sizeof(o->detail), &n,
				     "--backlog", arg, 1, MAX_BACKLOG,
				     "1 to 65535");
		o->backlog = (int)n;
		return rc;
	case CLI_OPT_FD:
		rc = cli_option_size(o->detail, sizeof(o->detail), &n, "--fd",
				     arg, 0, MAX_FD, "a descriptor number");
		o->fd = (int)n;
		o->fd_origin = "--fd";
		return rc;
	case CLI_OPT_FD_NAME:
		o->fd_name = arg;
		return 0;
	case CLI_OPT_INETD:
		o->inetd = true;
		return 0;
	case CLI_OPT_CONNECT_TIMEOUT:
		return cli_option_seconds(o->detail, sizeof(o->detail),
					  &o->connect_timeout_ms,
					  "--connect-timeout", arg, 1,
					  MAX_TIMEOUT_S);
	case CLI_OPT_IDLE_TIMEOUT:
		return cli_option_seconds(o->detail, sizeof(o->detail),
					  &o->idle_timeout_ms,
					  "--idle-timeout", arg, 1,
					  MAX_TIMEOUT_S);
	case CLI_OPT_SOURCE:
		o->source = arg;
		rc = source_address(&a, o->detail, sizeof(o->detail), arg);
		return rc;
	default:
		return CONN_EAGAIN;
	}
}

/* --inetd: the connection is stdin and stdout, so the messages must go
 * to a command, back (--echo) or on (--forward). */
static int check_inetd(struct cli_options *o, int argc, char **argv)
{
	if (argc > 0)
		return invalid(o, "unexpected argument '%s' (--inetd "
			       "serves stdin and stdout)", argv[0]);
	if (o->keep_open)
		return conflict(o, "--inetd", "-k");
	if (o->fd_origin)
		return conflict(o, "--inetd", "--fd");
	if (o->fd_name)
		return conflict(o, "--inetd", "--fd-name");
	if (o->backlog)
		return conflict(o, "--inetd", "--backlog");
	if (!o->exec_argv && !o->echo && !o->forward)
		return invalid(o, "%s", "--inetd needs --exec, --sh-exec, "
			       "--echo or --forward (stdin and stdout are "
			       "the connection)");
	o->address = "inetd";
	return 0;
}

/* No ADDRESS: conn-listen under systemd takes the socket LISTEN_FDS
 * passes (named by --fd-name). */
static int take_activated(struct cli_options *o, int argc)
{
	int rc;

	if (o->fd_name && (argc > 0 || o->fd_origin))
		return conflict(o, "--fd-name", argc > 0 ? "ADDRESS" : "--fd");
	if (argc > 0 || o->fd_origin || !(o->tool & CLI_LISTEN))
		return 0;
	rc = cli_activation_fd(&o->fd, o->detail, sizeof(o->detail),
			       o->fd_name);
	if (rc == CONN_EAGAIN && o->fd_name)
		return invalid(o, "--fd-name %s needs LISTEN_FDS (systemd "
			       "socket activation)", o->fd_name);
	if (rc == 0)
		o->fd_origin = "LISTEN_FDS";
	return rc == CONN_EAGAIN ? 0 : rc;
}

int cli_sockets_finish(struct cli_options *o, int argc, char **argv)
{
	int rc;

	if (o->source && o->fd_origin)
		return conflict(o, "--source", "--fd");
	if (o->connect_timeout_ms && o->fd_origin)
		return conflict(o, "--connect-timeout", "--fd");
	if (o->wait_ms && o->fd_origin)
		return conflict(o, "--wait", "--fd");
	if (o->idle_timeout_ms && o->forward)
		return conflict(o, "--idle-timeout", "--forward");
	if (o->inetd)
		return check_inetd(o, argc, argv);
	rc = take_activated(o, argc);
	if (rc)
		return rc;
	if (o->fd_origin == NULL)
		return argc > 0 ? 0 : CONN_EAGAIN;
	if (argc > 0)
		return invalid(o, "unexpected argument '%s' (the socket is "
			       "--fd's)", argv[0]);
	if (o->backlog)
		return conflict(o, "--backlog", o->fd_origin);
	o->address = o->fd_origin;
	return 0;
}

int cli_sockets_listener(struct conn_listener **l, char *detail,
			 size_t capacity, const struct cli_options *o)
{
	struct conn_address a;
	int rc;

	if (o->fd_origin)
		return conn_listener_adopt(l, detail, capacity, o->fd);
	rc = conn_address_from_text(&a, detail, capacity, o->address);
	if (rc)
		return rc;
	return conn_listener_open_backlog(l, detail, capacity, &a, o->family,
					  o->backlog ? o->backlog
						     : CONN_LISTEN_BACKLOG);
}

int cli_sockets_connect(int *fd, char *peer, size_t peer_capacity,
			char *detail, size_t capacity,
			const struct cli_options *o,
			volatile sig_atomic_t *stop)
{
	struct conn_connect_options opt = {
		.wait_ms = o->wait_ms, .timeout_ms = o->connect_timeout_ms
	};
	struct conn_address a, src;
	int rc;

	*fd = -1;
	if (o->fd_origin) {
		rc = conn_socket_adopt(peer, peer_capacity, detail, capacity,
				       o->fd);
		if (rc == 0)
			*fd = o->fd;
		return rc;
	}
	snprintf(peer, peer_capacity, "%s", o->address);
	rc = conn_address_from_text(&a, detail, capacity, o->address);
	if (rc)
		return rc;
	if (o->source && a.kind != CONN_ADDRESS_TCP) {
		snprintf(detail, capacity, "cannot use --source with a Unix "
			 "socket address");
		return CONN_EINVAL;
	}
	if (o->source) {
		/* Checked when parsed: it does not fail now. */
		CONN_IGNORE(source_address(&src, detail, capacity, o->source));
		opt.source = &src;
	}
	return conn_connect_with(fd, detail, capacity, &a, o->family, &opt,
				 stop);
}

/* Under inetd, stderr may be the connection too: a notice there would
 * be bytes in the protocol.  It then goes to /dev/null. */
static void keep_stderr_off_the_wire(void)
{
	struct stat in, err;
	int null;

	if (fstat(STDIN_FILENO, &in) || fstat(STDERR_FILENO, &err) ||
	    in.st_dev != err.st_dev || in.st_ino != err.st_ino)
		return;
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0 && dup2(null, STDERR_FILENO) >= 0)
		close(null);
	else if (null >= 0)
		close(null);
}

int cli_sockets_inetd(char *detail, size_t capacity,
		      const struct cli_options *o,
		      volatile sig_atomic_t *stop, conn_log_fn *log,
		      void *log_ctx)
{
	char peer[160] = "inetd", why[160];
	int in, out;

	keep_stderr_off_the_wire();
	/* A socket names its peer; a pipe pair (socat, a test) does not. */
	if (conn_socket_adopt(peer, sizeof(peer), why, sizeof(why),
			      STDIN_FILENO))
		snprintf(peer, sizeof(peer), "inetd");
	/* The channel owns what it is given: copies, so that fds 0 and 1
	 * stay held (a closed 0 or 1 would be the next socket's). */
	in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	out = in < 0 ? -1 : fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (out < 0) {
		if (in >= 0)
			close(in);
		snprintf(detail, capacity, "--inetd: %s", strerror(errno));
		return CONN_EIO;
	}
	if (o->verbose && log) {
		snprintf(why, sizeof(why), "connection from %s (inetd)", peer);
		log(log_ctx, CONN_LOG_TRACE, why);
	}
	return session_serve(detail, capacity, in, out, -1, o,
			     CONN_ROLE_LISTENER, peer, stop, log, log_ctx);
}
