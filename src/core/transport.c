/* transport.c - listeners and connections, whatever the transport. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
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

const struct transport_ops *transport_for_family(int family)
{
	return family == AF_UNIX ? &transport_unix : &transport_tcp;
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
	return conn_listener_open_backlog(out, detail, capacity, a, family,
					  CONN_LISTEN_BACKLOG);
}

int conn_listener_open_backlog(struct conn_listener **out, char *detail,
			       size_t capacity, const struct conn_address *a,
			       enum conn_family family, int backlog)
{
	struct conn_listener *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (l == NULL)
		return CONN_ENOMEM;
	l->fd = -1;
	l->lock_fd = -1;
	l->backlog = backlog > 0 ? backlog : CONN_LISTEN_BACKLOG;
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

/* The ms until deadline_ms for poll(), 0 when it passed, -1: none. */
static int ms_left(int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms < 0)
		return -1;
	left = deadline_ms - conn_clock_ms();
	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* A connect() in progress, waited for: its own result. */
static int connect_wait(int fd, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int n, err = 0;

	do
		n = poll(&pfd, 1, ms_left(deadline_ms));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		err = ETIMEDOUT;
	else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	errno = err;
	return err ? -1 : 0;
}

int transport_connect_by(int fd, const struct sockaddr *sa, socklen_t len,
			 int64_t deadline_ms)
{
	int flags, rc, err;

	if (deadline_ms < 0)
		return connect(fd, sa, len);
	/* Non-blocking for the attempt only: the caller's socket blocks. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	rc = connect(fd, sa, len);
	if (rc < 0 && errno == EINPROGRESS)
		rc = connect_wait(fd, deadline_ms);
	/* A full Unix socket backlog says EAGAIN at once: wait for room
	 * as a blocking connect() would, up to the deadline. */
	while (rc < 0 && errno == EAGAIN && ms_left(deadline_ms) > 0) {
		poll(NULL, 0, CONNECT_RETRY_MS);
		rc = connect(fd, sa, len);
	}
	if (rc < 0 && errno == EAGAIN)
		errno = ETIMEDOUT;
	err = errno;
	if (fcntl(fd, F_SETFL, flags) < 0 && rc == 0)
		return -1;
	errno = err;
	return rc;
}

int conn_connect(int *fd, char *detail, size_t capacity,
		 const struct conn_address *a, enum conn_family family,
		 int64_t wait_ms, volatile sig_atomic_t *stop)
{
	struct conn_connect_options opt = { .wait_ms = wait_ms };

	return conn_connect_with(fd, detail, capacity, a, family, &opt, stop);
}

int conn_connect_with(int *fd, char *detail, size_t capacity,
		      const struct conn_address *a, enum conn_family family,
		      const struct conn_connect_options *opt,
		      volatile sig_atomic_t *stop)
{
	const struct transport_ops *ops = transport_for(a);
	int64_t wait_ms = opt->wait_ms, deadline = conn_clock_ms() + wait_ms;
	struct connect_limits lim = { .source = opt->source };
	bool retry;
	int rc;

	for (;;) {
		lim.deadline_ms = opt->timeout_ms > 0 ?
				  conn_clock_ms() + opt->timeout_ms : -1;
		rc = ops->connect(fd, &retry, detail, capacity, a, family,
				  &lim);
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
