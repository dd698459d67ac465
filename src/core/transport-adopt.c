/*
 * transport-adopt.c - sockets someone else made: a listening socket a
 * service manager bound (systemd's LISTEN_FDS, --fd N), or a connection
 * a parent process handed over.  Any family: the checks ask the socket
 * what it is, never what its address looks like.
 */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Fails unless fd is an open stream socket: "fd 5 is not a socket". */
static int check_stream(char *detail, size_t capacity, int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (fd < 0) {
		detail_set(detail, capacity, "fd %d is not a descriptor", fd);
		return CONN_EINVAL;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		detail_set(detail, capacity, "fd %d is not %s", fd,
			   errno == EBADF ? "open" : "a socket");
		return CONN_EINVAL;
	}
	if (type != SOCK_STREAM) {
		detail_set(detail, capacity, "fd %d is not a stream socket "
			   "(SOCK_STREAM)", fd);
		return CONN_EINVAL;
	}
	return 0;
}

/* The socket's family, from its own address (AF_UNSPEC if it has none). */
static int family_of_socket(int fd)
{
	struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return AF_UNSPEC;
	return ss.ss_family;
}

int conn_listener_adopt(struct conn_listener **out, char *detail,
			size_t capacity, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int), sslen = sizeof(ss);
	struct conn_listener *l;
	int listening = 0, rc;

	*out = NULL;
	rc = check_stream(detail, capacity, fd);
	if (rc)
		return rc;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    !listening) {
		detail_set(detail, capacity, "fd %d is not listening%s", fd,
			   getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0
			   ? " (it is a connection)" : "");
		return CONN_EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return CONN_ENOMEM;
	l->fd = fd;
	l->lock_fd = -1;
	l->ops = transport_for_family(family_of_socket(fd));
	/* Ours now: an --exec command must not inherit it. */
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		CONN_IGNORE(conn_address_format_sockaddr(l->name,
							 sizeof(l->name), &ss,
							 sslen));
	*out = l;
	return 0;
}

int conn_socket_adopt(char *peer, size_t peer_capacity, char *detail,
		      size_t capacity, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc = check_stream(detail, capacity, fd);

	if (rc)
		return rc;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		detail_set(detail, capacity, "fd %d is not connected%s", fd,
			   errno == ENOTCONN ? "" : ": cannot ask its peer");
		return CONN_EINVAL;
	}
	/* An unnamed Unix peer (socketpair) is named "unix:" (or what
	 * conn_address_format_sockaddr() makes of it). */
	if (conn_address_format_sockaddr(peer, peer_capacity, &ss, len))
		detail_set(peer, peer_capacity, "fd %d", fd);
	transport_for_family(ss.ss_family)->tune(fd);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}
