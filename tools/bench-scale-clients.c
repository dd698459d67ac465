/*
 * bench-scale-clients.c - the clients of tools/bench-scale: many
 * concurrent connections from one process, on libconn's non-blocking
 * channel and handshake, so that the driver is not what is measured.
 *
 *   bench-scale-clients ADDRESS CLIENTS MESSAGES [KEYFILE [BURST OUTPUT]]
 *
 * 1. Connects CLIENTS clients, at most IN_FLIGHT of them in the handshake
 *    at once (with KEYFILE, the mutual handshake, sha256), and prints
 *    "handshakes N SECONDS" once all are authenticated.
 * 2. Prints "ready", then waits for a line on stdin: the clients are idle
 *    meanwhile (tools/bench-scale reads the listener's memory).
 * 3. Each client sends MESSAGES messages "c<client> m<seq>", both numbers
 *    six digits wide (so each output line is 16 bytes), all clients at
 *    once; prints "sent SECONDS" once every byte is written.  With BURST,
 *    in rounds: each client sends BURST messages (the last round what is
 *    left), and the next round waits until the listener's OUTPUT file
 *    has every message so far (16 bytes each): so that it reads them
 *    BURST at a time per client, as when each of many clients sends
 *    BURST, however many messages each sends in all.
 * 4. Waits for another line on stdin (or its end), and closes them all:
 *    so the listener's CPU time per message can be read without the
 *    closes in it.
 *
 * Exit 1 with a line on stderr when anything fails.  Never installed.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IN_FLIGHT 128		/* handshakes under way at once */
#define EVENTS 1024
#define LINE 16			/* bytes of a message on the listener's stdout */

struct client {
	struct conn_channel *c;
	struct conn_auth auth;
	unsigned id;
	bool done;		/* authenticated; in phase 3: all sent */
};

static void die(const char *what, int rc, const char *detail)
{
	fprintf(stderr, "bench-scale-clients: %s: %s%s%s\n", what,
		conn_strerror(rc), detail && *detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

static double seconds_since(int64_t start_ms)
{
	return (double)(conn_clock_ms() - start_ms) / 1000.0;
}

static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
		r.rlim_cur = r.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &r) != 0)
			perror("bench-scale-clients: setrlimit");
	}
}

static void watch(int ep, int op, struct client *cl, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = cl };

	if (epoll_ctl(ep, op, conn_channel_rfd(cl->c), &ev) < 0)
		die("epoll_ctl", CONN_EIO, strerror(errno));
}

/* A new connection, its handshake started (the listener speaks first). */
static void start(int ep, struct client *cl, const struct conn_address *a,
		  const struct conn_key *key)
{
	char detail[256] = "";
	int fd, rc = conn_connect(&fd, detail, sizeof(detail), a,
				  CONN_FAMILY_ANY, 5000, NULL);

	if (rc)
		die("connect", rc, detail);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl", CONN_EIO, strerror(errno));
	rc = conn_channel_new(&cl->c, fd, fd);
	if (rc)
		die("channel", rc, NULL);
	if (key == NULL) {
		cl->done = true;
		return;
	}
	conn_auth_init(&cl->auth, CONN_ROLE_CLIENT, key, CONN_DIGEST_SHA256,
		       0);
	watch(ep, EPOLL_CTL_ADD, cl, EPOLLIN);
}

/* What the listener sent, as far as the handshake goes: true once done. */
static bool handshake_input(int ep, struct client *cl)
{
	int rc = conn_channel_read_some(cl->c);

	if (rc && rc != CONN_EAGAIN)
		die("handshake read", rc, conn_channel_detail(cl->c));
	rc = conn_channel_handshake_step(cl->c, &cl->auth);
	if (rc && rc != CONN_EAGAIN)
		die("handshake", rc, conn_channel_detail(cl->c));
	/* Replies are small: a socket buffer takes them whole. */
	if (conn_channel_queued(cl->c) &&
	    (conn_channel_write_some(cl->c) || conn_channel_queued(cl->c)))
		die("handshake write", CONN_EIO, conn_channel_detail(cl->c));
	if (rc)
		return false;
	watch(ep, EPOLL_CTL_DEL, cl, 0);
	cl->done = true;
	return true;
}

static void connect_all(int ep, struct client *cls, unsigned n,
			const struct conn_address *a,
			const struct conn_key *key)
{
	struct epoll_event *evs = calloc(EVENTS, sizeof(*evs));
	unsigned started = 0, done = 0, i;
	int64_t t0 = conn_clock_ms();

	if (evs == NULL)
		die("memory", CONN_ENOMEM, NULL);
	while (done < n) {
		int k;

		while (started < n && started - done < IN_FLIGHT) {
			start(ep, &cls[started], a, key);
			done += cls[started++].done;
		}
		if (done == n)
			break;
		k = epoll_wait(ep, evs, EVENTS, 10000);
		if (k <= 0)
			die("waiting for handshakes", CONN_ETIMEDOUT,
			    k < 0 ? strerror(errno) : "10 s without a reply");
		for (i = 0; i < (unsigned)k; i++)
			done += handshake_input(ep, evs[i].data.ptr);
	}
	printf("handshakes %u %.6f\n", n, seconds_since(t0));
	free(evs);
}

/* Queues up to burst (0: all) of the client's messages after its first
 * *sent, and writes what the socket takes now; true when some is left. */
static bool queue_some(struct client *cl, unsigned *sent, unsigned m,
		       unsigned burst)
{
	unsigned j, end = burst && m - *sent > burst ? *sent + burst : m;
	char msg[32];
	int rc = 0;

	for (j = *sent; j < end && rc == 0; j++) {
		int len = snprintf(msg, sizeof(msg), "c%06u m%06u", cl->id, j);

		rc = conn_channel_append(cl->c, msg, (size_t)len);
	}
	*sent = end;
	if (rc == 0)
		rc = conn_channel_write_some(cl->c);
	if (rc && rc != CONN_EAGAIN)
		die("send", rc, conn_channel_detail(cl->c));
	return conn_channel_queued(cl->c) != 0;
}

/* Writes the clients' queues as the sockets take them. */
static void flush_all(int ep, struct client *cls, unsigned n,
		      struct epoll_event *evs, unsigned left)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (conn_channel_queued(cls[i].c))
			watch(ep, EPOLL_CTL_ADD, &cls[i], EPOLLOUT);
	while (left) {
		int k = epoll_wait(ep, evs, EVENTS, 30000);

		if (k <= 0)
			die("sending", CONN_ETIMEDOUT,
			    k < 0 ? strerror(errno) : "30 s without progress");
		for (i = 0; i < (unsigned)k; i++) {
			struct client *cl = evs[i].data.ptr;
			int rc = conn_channel_write_some(cl->c);

			if (rc && rc != CONN_EAGAIN)
				die("send", rc, conn_channel_detail(cl->c));
			if (conn_channel_queued(cl->c) == 0) {
				watch(ep, EPOLL_CTL_DEL, cl, 0);
				left--;
			}
		}
	}
}

/* Until the listener has written size bytes of messages to output. */
static void wait_output(const char *output, off_t size)
{
	struct timespec nap = { 0, 20000 };
	int64_t end = conn_clock_ms() + 30000;
	struct stat st;

	while (stat(output, &st) != 0 || st.st_size < size) {
		if (conn_clock_ms() > end)
			die("waiting for the listener's output", CONN_ETIMEDOUT,
			    output);
		nanosleep(&nap, NULL);
	}
}

/* Every client's messages (or with burst, a burst of each per round)
 * queued at once, then written as the sockets take them. */
static void send_all(int ep, struct client *cls, unsigned n, unsigned m,
		     unsigned burst, const char *output)
{
	struct epoll_event *evs = calloc(EVENTS, sizeof(*evs));
	unsigned *sent = calloc(n, sizeof(*sent)), left, i, done = 0;
	int64_t t0 = conn_clock_ms();

	if (evs == NULL || sent == NULL)
		die("memory", CONN_ENOMEM, NULL);
	while (done < m) {
		for (i = left = 0; i < n; i++)
			left += queue_some(&cls[i], &sent[i], m, burst);
		flush_all(ep, cls, n, evs, left);
		done = sent[0];
		if (burst)
			wait_output(output, (off_t)LINE * n * done);
	}
	printf("sent %.6f\n", seconds_since(t0));
	free(sent);
	free(evs);
}

int main(int argc, char **argv)
{
	struct conn_address a;
	struct conn_key *key = NULL;
	struct client *cls;
	char detail[256] = "", line[64];
	unsigned n, m, i, burst = 0;
	int ep, rc;

	if (argc != 4 && argc != 5 && argc != 7) {
		fprintf(stderr, "usage: bench-scale-clients ADDRESS CLIENTS "
			"MESSAGES [KEYFILE [BURST OUTPUT]]\n");
		return 2;
	}
	rc = conn_address_from_text(&a, detail, sizeof(detail), argv[1]);
	if (rc)
		die(argv[1], rc, detail);
	n = (unsigned)strtoul(argv[2], NULL, 10);
	m = (unsigned)strtoul(argv[3], NULL, 10);
	if (argc == 7)
		burst = (unsigned)strtoul(argv[5], NULL, 10);
	if (n == 0 || n > 999999 || m > 999999 || (argc == 7 && burst == 0))
		die("CLIENTS 1-999999, MESSAGES 0-999999, BURST 1 or more",
		    CONN_EINVAL, NULL);
	if (argc >= 5 && (rc = conn_key_new_from_file(&key, argv[4])) != 0)
		die(argv[4], rc, NULL);
	raise_fd_limit();
	cls = calloc(n, sizeof(*cls));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (cls == NULL || ep < 0)
		die("setup", cls ? CONN_EIO : CONN_ENOMEM, NULL);
	for (i = 0; i < n; i++)
		cls[i].id = i;
	connect_all(ep, cls, n, &a, key);
	printf("ready\n");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	send_all(ep, cls, n, m, burst, argc == 7 ? argv[6] : NULL);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin))
		return 1;
	for (i = 0; i < n; i++)
		conn_channel_free(cls[i].c);
	free(cls);
	conn_key_free(key);
	close(ep);
	return 0;
}
