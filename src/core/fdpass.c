/*
 * fdpass.c - descriptors as messages over a Unix stream socket, the way
 * Python's multiprocessing.reduction passes them on Linux: send_handle()
 * (sendfds() of one descriptor) sends one byte, the number of
 * descriptors modulo 256, with the descriptors as SCM_RIGHTS ancillary
 * data; recv_handle() reads that one byte with them.  No acknowledgement
 * comes back (Python sends one on macOS only).  The byte travels in the
 * stream between frames, so both sides must agree on when it comes.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define FDS_MAX 8	/* what one receive makes room for */

/* Waits for events on sock until deadline_ms (-1: none). */
static int fd_wait(int sock, short events, int64_t deadline_ms,
		   volatile sig_atomic_t *stop)
{
	struct pollfd p = { .fd = sock, .events = events };
	int64_t left;
	int n;

	for (;;) {
		if (stop && *stop)
			return CONN_EINTR;
		left = deadline_ms < 0 ? -1 : deadline_ms - conn_clock_ms();
		if (deadline_ms >= 0 && left <= 0)
			return CONN_ETIMEDOUT;
		n = poll(&p, 1, conn_stop_check_ms((int)(left > INT32_MAX ?
							 INT32_MAX : left)));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return CONN_ERESET;
	}
}

int conn_fd_send(int sock, int fd, int64_t deadline_ms,
		 volatile sig_atomic_t *stop)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t count = 1;
	struct iovec iov = { .iov_base = &count, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cmsg;
	int rc;

	memset(&u, 0, sizeof(u));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) == 1)
			return 0;
		if (errno == EBADF || errno == ENOTSOCK || errno == EOPNOTSUPP ||
		    errno == EINVAL)
			return CONN_EINVAL;
		if (errno != EAGAIN && errno != EINTR)
			return CONN_ERESET;
		rc = fd_wait(sock, POLLOUT, deadline_ms, stop);
		if (rc)
			return rc;
	}
}

/* Closes the descriptors a receive brought but the caller will not get. */
static void close_received(struct msghdr *msg, int keep)
{
	struct cmsghdr *cmsg;
	size_t i, n;
	int fd;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			       sizeof(int));
			if (fd != keep)
				close(fd);
		}
	}
}

/* The one descriptor of a received message, or -1. */
static int only_descriptor(struct msghdr *msg)
{
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg);
	int fd;

	if (cmsg == NULL || CMSG_NXTHDR(msg, cmsg) != NULL ||
	    cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

int conn_fd_recv(int *fd, char *detail, size_t capacity, int sock,
		 int64_t deadline_ms, volatile sig_atomic_t *stop)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
		struct cmsghdr align;
	} u;
	uint8_t count;
	struct iovec iov = { .iov_base = &count, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int rc;

	*fd = -1;
	for (;;) {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno == EBADF || errno == ENOTSOCK)
			return CONN_EINVAL;
		if (errno != EAGAIN && errno != EINTR)
			return CONN_ERESET;
		rc = fd_wait(sock, POLLIN, deadline_ms, stop);
		if (rc)
			return rc;
	}
	if (n == 0) {
		snprintf(detail, capacity, "the peer closed the connection "
			 "instead of sending a descriptor");
		return CONN_ERESET;
	}
	*fd = (msg.msg_flags & MSG_CTRUNC) ? -1 : only_descriptor(&msg);
	close_received(&msg, *fd);
	if (*fd >= 0)
		return 0;
	snprintf(detail, capacity, "the peer sent %s instead of one "
		 "descriptor (send_handle())",
		 msg.msg_controllen ? "several descriptors" : "a byte alone");
	return CONN_EPROTO;
}
