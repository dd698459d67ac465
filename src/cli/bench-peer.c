/*
 * bench-peer.c - the peers conn-bench's workloads run against: forked
 * workers using the core (sink or echo), or Python's own Listener.
 *
 * Nothing here prints: results and errors go back to conn-bench.c.
 */
#include "cli.h"
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#define ANNOUNCE_MS 10000	/* time for python to start listening */

extern char **environ;

/* ---------------------------------------------------------------- peers */

struct bench_peer {
	struct conn_listener *listener;	/* ours; NULL for python */
	pid_t *pids;
	unsigned npids;
	char name[CONN_ADDRESS_PATH_MAX + 16];
};

/* Counts messages until our client half-closes, then says how many. */
static int peer_sink(struct conn_channel *c)
{
	struct conn_piece p;
	uint64_t n = 0;
	char reply[32];
	int rc, len;

	while ((rc = conn_channel_recv_piece(c, &p)) == 0)
		if (conn_piece_is_last(&p))
			n++;
	if (rc != CONN_ERESET)
		return rc;
	len = snprintf(reply, sizeof(reply), "%llu", (unsigned long long)n);
	return conn_channel_send(c, reply, (size_t)len);
}

/* Sends every message back, piece by piece (any size in constant
 * memory), flushing when nothing more is buffered: pipelined messages
 * go back in batches, a lone ping at once. */
static int peer_echo(struct conn_channel *c)
{
	struct conn_piece p;
	int rc;

	while ((rc = conn_channel_recv_piece(c, &p)) == 0) {
		rc = conn_channel_append_piece(c, &p);
		if (rc == 0 && (conn_channel_received(c) == 0 ||
				conn_channel_queued(c) >= BENCH_BATCH_BYTES))
			rc = conn_channel_flush(c);
		if (rc)
			return rc;
	}
	return rc == CONN_ERESET ? conn_channel_flush(c) : rc;
}

/* Sends messages of size bytes until the client closes. */
static int peer_source(struct conn_channel *c, size_t size)
{
	uint8_t *payload = calloc(1, size + 1);
	int rc = payload ? 0 : CONN_ENOMEM;

	while (rc == 0)
		rc = conn_channel_queue(c, payload, size);
	free(payload);
	return rc;
}

/* The client's first message picks the direction. */
static int peer_duplex(struct conn_channel *c, size_t size)
{
	char role[16];
	size_t len;
	int rc = conn_channel_recv(c, &len, role, sizeof(role) - 1);

	if (rc)
		return rc;
	role[len] = '\0';
	if (strcmp(role, "sink") == 0)
		return peer_sink(c);
	if (strcmp(role, "source") == 0)
		return peer_source(c, size);
	return CONN_EPROTO;
}

static void peer_serve(int fd, const struct bench_peer_config *cfg)
{
	struct conn_channel *c;
	int rc;

	if (conn_channel_new(&c, fd, fd))
		return;
	conn_channel_set_max_size(c, 0);
	rc = cfg->auth.key ? bench_authenticate(c, &cfg->auth,
					  CONN_ROLE_LISTENER) : 0;
	if (rc == 0)
		rc = cfg->kind == BENCH_PEER_SINK ? peer_sink(c)
		     : cfg->kind == BENCH_PEER_DUPLEX ? peer_duplex(c, cfg->size)
		     : peer_echo(c);
	conn_channel_free(c);
}

/* A worker process: its own process group (a ^C on the terminal is for
 * conn-bench, which then stops us), and it dies with its parent. */
_Noreturn static void peer_worker(struct conn_listener *l,
				  const struct bench_peer_config *cfg)
{
	char peer[160];
	int fd;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	for (;;)
		if (conn_listener_accept(&fd, peer, sizeof(peer), l,
					 NULL) == 0)
			peer_serve(fd, cfg);
}

static int peer_alloc(struct bench_peer **out, unsigned n)
{
	struct bench_peer *p = calloc(1, sizeof(*p));

	*out = p;
	if (p == NULL)
		return CONN_ENOMEM;
	p->pids = calloc(n, sizeof(*p->pids));
	return p->pids ? 0 : CONN_ENOMEM;
}

int bench_peer_start(struct bench_peer **out, char *detail, size_t capacity,
		     const struct conn_address *a,
		     const struct bench_peer_config *cfg)
{
	unsigned n = cfg->workers ? cfg->workers : 1;
	struct bench_peer *p = NULL;
	pid_t pid;
	int rc;

	*out = NULL;
	rc = peer_alloc(&p, n);
	if (rc == 0)
		rc = conn_listener_open(&p->listener, detail, capacity, a,
					cfg->family);
	if (rc)
		goto fail;
	snprintf(p->name, sizeof(p->name), "%s",
		 conn_listener_name(p->listener));
	for (; p->npids < n; p->npids++) {
		pid = fork();
		if (pid == 0)
			peer_worker(p->listener, cfg);
		if (pid < 0) {
			snprintf(detail, capacity, "cannot start the peer: "
				 "%s", strerror(errno));
			rc = CONN_ENOMEM;
			goto fail;
		}
		p->pids[p->npids] = pid;
	}
	*out = p;
	return 0;
fail:
	bench_peer_stop(p);
	return rc;
}

const char *bench_peer_name(const struct bench_peer *p)
{
	return p->name;
}

void bench_peer_stop(struct bench_peer *p)
{
	unsigned i;

	if (p == NULL)
		return;
	/* A worker that is gone already cannot be signalled: no matter. */
	for (i = 0; i < p->npids; i++)
		(void)kill(p->pids[i], SIGTERM);
	for (i = 0; i < p->npids; i++)
		while (waitpid(p->pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	conn_listener_close(p->listener);
	free(p->pids);
	free(p);
}

/* ------------------------------------------------------- the python peer */

/* environ without CONN_AUTHKEY, plus CONN_AUTHKEY=key_text if any. */
static char **python_environment(char **keyvar, const char *key_text)
{
	size_t n = 0, i, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	*keyvar = NULL;
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "CONN_AUTHKEY=", 13))
			env[j++] = environ[i];
	if (key_text && asprintf(keyvar, "CONN_AUTHKEY=%s", key_text) > 0)
		env[j++] = *keyvar;
	return env;
}

_Noreturn static void python_child(int err_fd, char *const argv[],
				   char *const env[])
{
	/* None can fail on what it is given here; were one to, python would
	 * still run and announce, or bench_peer_stop() end it. */
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	(void)dup2(err_fd, STDERR_FILENO);
	execvpe(argv[0], argv, env);
	dprintf(err_fd, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Reads the child's stderr up to its "listening on ADDRESS" line. */
static int python_announce(struct bench_peer *p, char *detail,
			   size_t capacity, int fd)
{
	int64_t deadline = conn_clock_ms() + ANNOUNCE_MS;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char text[1024];
	size_t len = 0;
	char *line, *nl;
	ssize_t n;

	for (;;) {
		text[len] = '\0';
		line = strstr(text, "listening on ");
		if (line && (nl = strchr(line, '\n'))) {
			*nl = '\0';
			snprintf(p->name, sizeof(p->name), "%s", line + 13);
			return 0;
		}
		if (conn_clock_ms() > deadline || len + 1 >= sizeof(text))
			break;
		if (poll(&pfd, 1, BENCH_TICK_MS * 5) <= 0)
			continue;
		n = read(fd, text + len, sizeof(text) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	if ((nl = strchr(text, '\n')))
		*nl = '\0';
	snprintf(detail, capacity, "the python peer did not start%s%s",
		 len ? ": " : "", text);
	return CONN_ECONNECT;
}

int bench_python_start(struct bench_peer **out, char *detail,
		       size_t capacity, const char *python,
		       const char *script, const char *address,
		       enum bench_peer_kind kind, const char *key_text)
{
	char *argv[] = { (char *)python, (char *)script, (char *)address,
			 kind == BENCH_PEER_SINK ? "--sink" : NULL, NULL };
	struct bench_peer *p = NULL;
	char *keyvar = NULL, **env = NULL;
	int fds[2] = { -1, -1 }, rc;
	pid_t pid;

	*out = NULL;
	rc = peer_alloc(&p, 1);
	if (rc == 0 && (env = python_environment(&keyvar, key_text)) == NULL)
		rc = CONN_ENOMEM;
	if (rc == 0 && pipe2(fds, O_CLOEXEC) < 0)
		rc = CONN_ENOMEM;
	if (rc)
		goto done;
	pid = fork();
	if (pid == 0)
		python_child(fds[1], argv, env);
	close(fds[1]);
	if (pid < 0) {
		snprintf(detail, capacity, "cannot start %s: %s", python,
			 strerror(errno));
		rc = CONN_ENOMEM;
		goto done;
	}
	p->pids[p->npids++] = pid;
	rc = python_announce(p, detail, capacity, fds[0]);
done:
	if (fds[0] >= 0)
		close(fds[0]);
	free(keyvar);
	free(env);
	if (rc)
		bench_peer_stop(p);
	else
		*out = p;
	return rc;
}

