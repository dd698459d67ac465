/*
 * stream-fd.c - the plain stream: the channel's bytes straight to and from
 * its descriptors.
 */
#include "stream.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd_read(struct stream *s, void *buf, size_t n, size_t *got,
		   char *detail, size_t capacity)
{
	ssize_t r = read(s->rfd, buf, n);

	*got = 0;
	if (r >= 0) {
		*got = (size_t)r;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_EAGAIN;
	detail_set(detail, capacity, "cannot receive: %s", strerror(errno));
	return errno_to_conn(errno);
}

static int fd_writev(struct stream *s, const struct iovec *iov, int n,
		     size_t *put, char *detail, size_t capacity)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)n };
	ssize_t w;

	*put = 0;
	for (;;) {
		/* sendmsg() spares us SIGPIPE on sockets; pipes need
		 * writev(). */
		w = sendmsg(s->wfd, &m, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = writev(s->wfd, iov, n);
		if (w >= 0 || errno != EINTR)
			break;
	}
	if (w >= 0) {
		*put = (size_t)w;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return CONN_EAGAIN;
	detail_set(detail, capacity, "cannot send: %s", strerror(errno));
	return errno_to_conn(errno);
}

static size_t fd_pending(const struct stream *s)
{
	(void)s;
	return 0;
}

static int fd_shutdown(struct stream *s, char *detail, size_t capacity)
{
	(void)detail;
	(void)capacity;
	if (shutdown(s->wfd, SHUT_WR) < 0 && errno != ENOTCONN)
		return errno_to_conn(errno);
	return 0;
}

static void fd_release(struct stream *s)
{
	(void)s;
}

const struct stream_ops stream_fd = {
	fd_read, fd_writev, fd_pending, fd_shutdown, fd_release
};
