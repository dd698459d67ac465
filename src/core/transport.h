/*
 * transport.h - the ops table each transport file fills in (nng style):
 * transport-tcp.c, transport-unix.c.  transport.c picks one by address kind.
 */
#ifndef CONN_TRANSPORT_H
#define CONN_TRANSPORT_H

#include "internal.h"

#include <sys/socket.h>
#include <sys/types.h>

#define LOCK_SUFFIX ".lock"

struct conn_listener {
	int fd;
	const struct transport_ops *ops;
	char name[CONN_ADDRESS_PATH_MAX + 16];	/* as announced */
	char path[CONN_ADDRESS_PATH_MAX + 1];	/* a socket file to remove */
	dev_t dev;				/* ... if it is still this one */
	ino_t ino;
	int lock_fd;				/* PATH.lock, held: -1 if none */
	char lock_path[CONN_ADDRESS_PATH_MAX + sizeof(LOCK_SUFFIX)];
	int backlog;				/* for listen() */
};

/* What bounds one connection attempt: the monotonic ms it must be done
 * by (-1: none), and the local address to bind first (NULL: any). */
struct connect_limits {
	int64_t deadline_ms;
	const struct conn_address *source;
};

struct transport_ops {
	/* Binds and listens: sets l->fd and maybe l->path (transport.c then
	 * names the listener from the bound address). */
	int (*listen)(struct conn_listener *l, char *detail, size_t capacity,
		      const struct conn_address *a, enum conn_family family);
	/* One connection attempt; *retry says a later one may succeed. */
	int (*connect)(int *fd, bool *retry, char *detail, size_t capacity,
		       const struct conn_address *a, enum conn_family family,
		       const struct connect_limits *lim);
	/* Tunes a connected socket (TCP_NODELAY). */
	void (*tune)(int fd);
	/* Removes what listen left in the file system, if it is still ours
	 * (NULL: nothing to remove). */
	void (*release)(struct conn_listener *l);
};

/* connect() on fd, given up at lim->deadline_ms: 0, or -1 with errno set
 * (ETIMEDOUT when the deadline passed).  fd stays blocking. */
int transport_connect_by(int fd, const struct sockaddr *sa, socklen_t len,
			 int64_t deadline_ms);

/* The ops for a socket of family (AF_UNIX or an IP one). */
const struct transport_ops *transport_for_family(int family);

extern const struct transport_ops transport_tcp;
extern const struct transport_ops transport_unix;

#endif
