/*
 * test-adopt.c - sockets made elsewhere (conn_listener_adopt(),
 * conn_socket_adopt()) and conn_connect_with()'s time limit and source
 * address, on loopback.
 */
#include "conn.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TCP socket on 127.0.0.1, any port: listening with backlog, or only
 * bound when backlog < 0; its port in *port. */
static int tcp_socket(int backlog, unsigned *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) ||
	    (backlog >= 0 && listen(fd, backlog)) ||
	    getsockname(fd, (struct sockaddr *)&in, &len))
		return -1;
	*port = ntohs(in.sin_port);
	return fd;
}

static int address(struct conn_address *a, const char *fmt, unsigned port)
{
	char text[64], detail[160];

	snprintf(text, sizeof(text), fmt, port);
	return conn_address_from_text(a, detail, sizeof(detail), text);
}

static void test_listener_adopt(void)
{
	struct conn_listener *l = NULL;
	struct conn_address a;
	char detail[200] = "", name[64], peer[64];
	unsigned port = 0;
	int fd = tcp_socket(4, &port), client = -1, accepted = -1;

	ok(fd >= 0 && conn_listener_adopt(&l, detail, sizeof(detail), fd) == 0,
	   "a listening TCP socket is adopted (%s)", detail);
	if (l == NULL)
		return;
	snprintf(name, sizeof(name), "127.0.0.1:%u", port);
	ok(strcmp(conn_listener_name(l), name) == 0,
	   "it is named by its own address: %s", conn_listener_name(l));
	ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
	   "it is close-on-exec: no --exec command inherits it");
	must(address(&a, "127.0.0.1:%u", port));
	ok(conn_connect(&client, detail, sizeof(detail), &a, CONN_FAMILY_ANY,
			0, NULL) == 0 &&
	   conn_listener_accept(&accepted, peer, sizeof(peer), l, NULL) == 0,
	   "it accepts a connection (%s)", detail);
	if (client >= 0)
		close(client);
	if (accepted >= 0)
		close(accepted);
	conn_listener_close(l);
	ok(fcntl(fd, F_GETFD) < 0 && errno == EBADF,
	   "conn_listener_close() closes the adopted descriptor");
}

/* adopt(fd) fails with CONN_EINVAL and this detail. */
static void refused(bool listener, int fd, const char *want, const char *what)
{
	struct conn_listener *l = NULL;
	char detail[200] = "", peer[64];
	int rc = listener ? conn_listener_adopt(&l, detail, sizeof(detail), fd)
			  : conn_socket_adopt(peer, sizeof(peer), detail,
					      sizeof(detail), fd);

	ok(rc == CONN_EINVAL && l == NULL && strcmp(detail, want) == 0,
	   "%s: '%s'", what, detail);
}

static void test_wrong_kinds(void)
{
	unsigned port;
	int bound = tcp_socket(-1, &port), lst = tcp_socket(1, &port);
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int file = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char want[64];

	snprintf(want, sizeof(want), "fd %d is not a socket", file);
	refused(true, file, want, "a file is no listener");
	refused(false, file, want, "a file is no connection");
	snprintf(want, sizeof(want), "fd %d is not a stream socket "
		 "(SOCK_STREAM)", udp);
	refused(true, udp, want, "a datagram socket is no listener");
	snprintf(want, sizeof(want), "fd %d is not listening", bound);
	refused(true, bound, want, "a bound socket is not listening");
	snprintf(want, sizeof(want), "fd %d is not connected", lst);
	refused(false, lst, want, "a listening socket is no connection");
	refused(true, 999, "fd 999 is not open", "a closed descriptor");
	close(bound);
	close(lst);
	close(udp);
	close(file);
}

static void test_socket_adopt(void)
{
	char peer[64] = "", detail[200] = "";
	int sv[2];

	must(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ok(conn_socket_adopt(peer, sizeof(peer), detail, sizeof(detail),
			     sv[0]) == 0 && strncmp(peer, "unix:", 5) == 0,
	   "a socketpair's end is a connection, its peer '%s' (%s)", peer,
	   detail);
	close(sv[0]);
	close(sv[1]);
}

/* A listener whose accept queue (listen(0)) is full: a new connect()
 * gets no answer on Linux loopback, its SYNs dropped. */
static int full_listener(unsigned *port, int held[4])
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = tcp_socket(0, port), i;

	in.sin_port = htons((uint16_t)*port);
	for (i = 0; i < 4; i++) {
		held[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (held[i] >= 0)
			(void)!connect(held[i], (struct sockaddr *)&in,
				       sizeof(in));
	}
	usleep(200000);	/* the handshakes of the ones that fit */
	return fd;
}

static void test_connect_timeout(void)
{
	struct conn_connect_options opt = { .timeout_ms = 300 };
	struct conn_address a;
	char detail[200] = "";
	unsigned port = 0;
	int held[4], i, fd = -1, lst = full_listener(&port, held), rc;
	int64_t start;

	must(address(&a, "127.0.0.1:%u", port));
	start = conn_clock_ms();
	rc = conn_connect_with(&fd, detail, sizeof(detail), &a,
			       CONN_FAMILY_ANY, &opt, NULL);
	ok(rc == CONN_ETIMEDOUT && fd < 0, "no answer: CONN_ETIMEDOUT (%s)",
	   detail);
	ok(conn_clock_ms() - start >= 290 && conn_clock_ms() - start < 3000,
	   "after the 300 ms asked for (%lld ms)",
	   (long long)(conn_clock_ms() - start));
	for (i = 0; i < 4; i++)
		if (held[i] >= 0)
			close(held[i]);
	close(lst);
}

static void test_source(void)
{
	struct conn_listener *l = NULL;
	struct conn_address a, src;
	struct conn_connect_options opt = { .timeout_ms = 2000,
					    .source = &src };
	char detail[200] = "", peer[64] = "";
	unsigned port = 0;
	int lst = tcp_socket(4, &port), fd = -1, accepted = -1;

	must(address(&a, "127.0.0.1:%u", port));
	must(address(&src, "127.0.0.2:%u", 0));
	must(conn_listener_adopt(&l, detail, sizeof(detail), lst));
	if (l == NULL)
		return;
	ok(conn_connect_with(&fd, detail, sizeof(detail), &a,
			     CONN_FAMILY_ANY, &opt, NULL) == 0 &&
	   conn_listener_accept(&accepted, peer, sizeof(peer), l, NULL) == 0 &&
	   strncmp(peer, "127.0.0.2:", 10) == 0,
	   "connected from the source address: the peer is %s (%s)", peer,
	   detail);
	if (fd >= 0)
		close(fd);
	if (accepted >= 0)
		close(accepted);
	conn_listener_close(l);
}

int main(void)
{
	alarm(20);	/* whatever goes wrong, never hang the run */
	test_listener_adopt();
	test_wrong_kinds();
	test_socket_adopt();
	test_connect_timeout();
	test_source();
	return tap_done();
}
