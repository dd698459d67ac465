/* transport-tcp.c - TCP over IPv4 and IPv6. */
#include "transport.h"

#include <errno.h>
#include <netdb.h>
#include <time.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int family_of(enum conn_family family)
{
	return family == CONN_FAMILY_IPV4 ? AF_INET :
	       family == CONN_FAMILY_IPV6 ? AF_INET6 : AF_UNSPEC;
}

/* Lookups given up on (gai_cancel() could not stop them): their request
 * stays reachable, as the resolver thread still writes into it. */
#define ABANDONED_MAX 8
static struct gaicb *abandoned[ABANDONED_MAX];

/* getaddrinfo() done by deadline_ms (-1: none): the resolver's thread
 * (getaddrinfo_a()) is waited for with gai_suspend() until then.
 * EAI_AGAIN with *late set when the deadline passed. */
static int lookup_by(struct addrinfo **res, bool *late, const char *host,
		     const char *port, const struct addrinfo *hints,
		     int64_t deadline_ms)
{
	struct gaicb *req, *list[1];
	struct timespec ts;
	int64_t left;
	int rc, i;

	*late = false;
	if (deadline_ms < 0)
		return getaddrinfo(host, port, hints, res);
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return EAI_MEMORY;
	*req = (struct gaicb){ .ar_name = host, .ar_service = port,
			       .ar_request = hints };
	list[0] = req;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc == 0)
		rc = gai_error(req);
	while (rc == EAI_INPROGRESS) {
		left = deadline_ms - conn_clock_ms();
		if (left <= 0)
			break;
		ts = (struct timespec){ left / 1000, (left % 1000) * 1000000 };
		(void)gai_suspend((const struct gaicb *const *)list, 1, &ts);
		rc = gai_error(req);
	}
	if (rc == EAI_INPROGRESS) {
		*late = true;
		if (gai_cancel(req) == EAI_CANCELED ||
		    gai_error(req) != EAI_INPROGRESS) {
			freeaddrinfo(req->ar_result);
			free(req);
			return EAI_AGAIN;
		}
		for (i = 0; i < ABANDONED_MAX && abandoned[i]; i++)
			;
		if (i < ABANDONED_MAX)
			abandoned[i] = req;	/* else it leaks: it must */
		return EAI_AGAIN;
	}
	*res = rc == 0 ? req->ar_result : NULL;
	free(req);
	return rc;
}

static int resolve(struct addrinfo **res, char *detail, size_t capacity,
		   const char *host, const char *port, enum conn_family family,
		   int flags, int64_t deadline_ms)
{
	struct addrinfo hints = { .ai_family = family_of(family),
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = flags };
	bool late;
	int rc = lookup_by(res, &late, host, port, &hints, deadline_ms);

	if (rc == 0)
		return 0;
	if (late) {
		detail_set(detail, capacity, "cannot resolve %s: no answer in "
			   "time", host ? host : "(any)");
		return CONN_ETIMEDOUT;
	}
	detail_set(detail, capacity, "cannot resolve %s: %s",
		   host ? host : "(any)", gai_strerror(rc));
	return rc == EAI_MEMORY ? CONN_ENOMEM : CONN_ERESOLVE;
}

static void tcp_tune(int fd)
{
	int one = 1;

	/* Without it small messages wait a little longer; they still go. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* [::] also takes IPv4 unless -6 asked for IPv6 alone.  0, or -1 with
 * errno set: a socket that cannot be told which is not used, as one that
 * cannot bind. */
static int set_v6only(int fd, const struct addrinfo *ai)
{
	int v6only = !(ai->ai_flags & AI_V4MAPPED);

	if (ai->ai_family != AF_INET6)
		return 0;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
			  sizeof(v6only));
}

static int bind_one(int *fd, const struct addrinfo *ai, int backlog)
{
	int one = 1;

	*fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		     ai->ai_protocol);
	if (*fd < 0)
		return -1;
	/* Without it a port just freed may be refused: bind() then says so. */
	(void)setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (set_v6only(*fd, ai) == 0 &&
	    bind(*fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	    listen(*fd, backlog) == 0)
		return 0;
	close(*fd);
	*fd = -1;
	return -1;
}

/* The wildcard ":PORT": one dual-stack [::] socket, else 0.0.0.0. */
static int listen_any(struct conn_listener *l, const char *port,
		      enum conn_family family, int *err)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct addrinfo v6 = { .ai_family = AF_INET6,
			       .ai_socktype = SOCK_STREAM,
			       .ai_addr = (struct sockaddr *)&in6,
			       .ai_addrlen = sizeof(in6),
			       .ai_flags = family == CONN_FAMILY_ANY ?
					   AI_V4MAPPED : 0 };
	struct addrinfo v4 = { .ai_family = AF_INET,
			       .ai_socktype = SOCK_STREAM,
			       .ai_addr = (struct sockaddr *)&in,
			       .ai_addrlen = sizeof(in) };
	uint16_t p = htons((uint16_t)atoi(port));

	in6.sin6_port = p;
	in.sin_port = p;
	if (family != CONN_FAMILY_IPV4 && bind_one(&l->fd, &v6, l->backlog) == 0)
		return 0;
	*err = errno;
	if (family != CONN_FAMILY_IPV6 && bind_one(&l->fd, &v4, l->backlog) == 0)
		return 0;
	*err = errno;
	return -1;
}

static int tcp_listen(struct conn_listener *l, char *detail, size_t capacity,
		      const struct conn_address *a, enum conn_family family)
{
	struct addrinfo *res = NULL, *ai;
	int rc, err = 0;

	if (a->host[0] == '\0') {
		if (listen_any(l, a->port, family, &err) == 0)
			goto bound;
		goto fail;
	}
	rc = resolve(&res, detail, capacity, a->host, a->port, family,
		     AI_PASSIVE, -1);
	if (rc)
		return rc;
	for (ai = res; ai; ai = ai->ai_next) {
		if (bind_one(&l->fd, ai, l->backlog) == 0)
			break;
		err = errno;
	}
	freeaddrinfo(res);
	if (l->fd < 0)
		goto fail;
bound:
	return 0;
fail:
	detail_set(detail, capacity, "cannot listen on %s:%s: %s",
		   a->host[0] ? a->host : "*", a->port, strerror(err));
	return CONN_EBIND;
}

/* -s ADDR: binds fd to the source address of the target's family before
 * it connects: 0, or -1 with errno set (EAFNOSUPPORT: none of that
 * family). */
static int bind_source(int fd, int family, const struct conn_address *src)
{
	struct addrinfo hints = { .ai_family = family,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *res = NULL;
	int rc;

	if (src == NULL)
		return 0;
	rc = getaddrinfo(src->host[0] ? src->host : NULL, src->port, &hints,
			 &res);
	if (rc) {
		errno = rc == EAI_SYSTEM ? errno : EAFNOSUPPORT;
		return -1;
	}
	rc = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return rc;
}

/* One socket for ai, bound to the source and connected: -1 with errno
 * set if not. */
static int connect_one(const struct addrinfo *ai,
		       const struct connect_limits *lim)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			ai->ai_protocol), err;

	if (fd < 0)
		return -1;
	if (bind_source(fd, ai->ai_family, lim->source) == 0 &&
	    transport_connect_by(fd, ai->ai_addr, ai->ai_addrlen,
				 lim->deadline_ms) == 0)
		return fd;
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int tcp_connect(int *fd, bool *retry, char *detail, size_t capacity,
		       const struct conn_address *a, enum conn_family family,
		       const struct connect_limits *lim)
{
	struct addrinfo *res = NULL, *ai;
	const char *host = a->host[0] ? a->host : "localhost";
	int rc, err = 0;

	*retry = false;
	*fd = -1;
	rc = resolve(&res, detail, capacity, host, a->port, family, 0,
		     lim->deadline_ms);
	if (rc)
		return rc;
	for (ai = res; ai && *fd < 0; ai = ai->ai_next) {
		*fd = connect_one(ai, lim);
		/* A timeout is the answer: the next address would have no
		 * time left either. */
		if (*fd < 0 && (err = errno) == ETIMEDOUT &&
		    lim->deadline_ms >= 0)
			break;
	}
	freeaddrinfo(res);
	if (*fd >= 0)
		return 0;
	*retry = err == ECONNREFUSED || err == ETIMEDOUT ||
		 err == EHOSTUNREACH || err == ENETUNREACH;
	detail_set(detail, capacity, "cannot connect to %s%s%s:%s: %s",
		   strchr(host, ':') ? "[" : "", host,
		   strchr(host, ':') ? "]" : "", a->port,
		   err == ETIMEDOUT && lim->deadline_ms >= 0 ?
		   "no answer in time" : err == EAFNOSUPPORT && lim->source ?
		   "the source address is not of its family" : strerror(err));
	return err == ETIMEDOUT && lim->deadline_ms >= 0 ? CONN_ETIMEDOUT
							 : CONN_ECONNECT;
}

const struct transport_ops transport_tcp = {
	.listen = tcp_listen,
	.connect = tcp_connect,
	.tune = tcp_tune,
};
