/* transport.c - listeners and connections, whatever the transport. */
#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_RETRY_MS 50

static const struct transport_ops *transport_for(const struct conn_address *a)
{
	return a->kind == CONN_ADDRESS_TCP ? &transport_tcp : &transport_unix;
}

/* Fills l->name from the socket's bound address, whatever the transport. */
static void name_listener(struct conn_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	/* A family it cannot name is named "(family N)": all there is to
	 * say, and no reason to refuse a socket that works. */
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == 0)
		CONN_IGNORE(conn_address_format_sockaddr(l->name,
							 sizeof(l->name), &ss,
							 len));
}

int conn_listener_open(struct conn_listener **out, char *detail,
		       size_t capacity, const struct conn_address *a,
		       enum conn_family family)
{
	struct conn_listener *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (l == NULL)
		return CONN_ENOMEM;
	l->fd = -1;
	l->lock_fd = -1;
	l->ops = transport_for(a);
	rc = l->ops->listen(l, detail, capacity, a, family);
	if (rc) {
		conn_listener_close(l);
		return rc;
	}
	name_listener(l);
	*out = l;
	return 0;
}

void conn_listener_close(struct conn_listener *l)
{
	if (l == NULL)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->ops->release)
		l->ops->release(l);
	free(l);
}

void conn_listener_close_in_child(struct conn_listener *l)
{
	close(l->fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
}

const char *conn_listener_name(const struct conn_listener *l)
{
	return l->name;
}

int conn_listener_fd(const struct conn_listener *l)
{
	return l->fd;
}

int conn_listener_accept_now(int *fd, char *peer, size_t peer_capacity,
			     struct conn_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		      SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (*fd < 0 && (errno == EMFILE || errno == ENFILE))
		return CONN_ENOMEM;	/* out of descriptors: ulimit -n */
	if (*fd < 0)
		return errno == EINTR || errno == EAGAIN ||
		       errno == EWOULDBLOCK || errno == ECONNABORTED
		       ? CONN_EAGAIN : CONN_EIO;
	l->ops->tune(*fd);
	if (ss.ss_family == AF_UNIX)
		detail_set(peer, peer_capacity, "%s", l->name);
	else	/* "(family N)" at worst, as for the listener's name */
		CONN_IGNORE(conn_address_format_sockaddr(peer, peer_capacity,
							 &ss, len));
	return 0;
}

int conn_listener_accept(int *fd, char *peer, size_t peer_capacity,
			 struct conn_listener *l, volatile sig_atomic_t *stop)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	int rc;

	for (;;) {
		if (stop && *stop)
			return CONN_EINTR;
		if (poll(&pfd, 1, conn_stop_check_ms(-1)) < 0) {
			if (errno == EINTR)
				continue;
			return CONN_EIO;
		}
		rc = conn_listener_accept_now(fd, peer, peer_capacity, l);
		if (rc != CONN_EAGAIN)
			return rc;
	}
}

static int sleep_ms(int ms, volatile sig_atomic_t *stop)
{
	if (stop && *stop)
		return CONN_EINTR;
	poll(NULL, 0, ms);
	return stop && *stop ? CONN_EINTR : 0;
}

int conn_connect(int *fd, char *detail, size_t capacity,
		 const struct conn_address *a, enum conn_family family,
		 int64_t wait_ms, volatile sig_atomic_t *stop)
{
	const struct transport_ops *ops = transport_for(a);
	int64_t deadline = conn_clock_ms() + wait_ms;
	bool retry;
	int rc;

	for (;;) {
		rc = ops->connect(fd, &retry, detail, capacity, a, family);
		if (rc == 0) {
			ops->tune(*fd);
			return 0;
		}
		if (!retry || wait_ms <= 0)
			return rc;
		if (conn_clock_ms() >= deadline) {
			size_t n = strlen(detail);

			detail_set(detail + n, capacity - n,
				   " (gave up after --wait)");
			return CONN_ETIMEDOUT;
		}
		rc = sleep_ms(CONNECT_RETRY_MS, stop);
		if (rc)
			return rc;
	}
}
