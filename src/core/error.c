/* error.c - error texts and the exit status each error maps to. */
#include "conn.h"
#include "detail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const texts[CONN_ERROR_COUNT] = {
	[CONN_OK] = "success",
	[CONN_EAGAIN] = "more input needed",
	[CONN_EINVAL] = "invalid argument",
	[CONN_ENOMEM] = "out of memory",
	[CONN_EIO] = "input/output error",
	[CONN_EPIPE] = "output closed",
	[CONN_EADDR] = "invalid address",
	[CONN_ERESOLVE] = "cannot resolve host name",
	[CONN_EBIND] = "cannot listen",
	[CONN_ECONNECT] = "cannot connect",
	[CONN_ERESET] = "connection closed by the peer",
	[CONN_EAUTH] = "authentication failed",
	[CONN_EPROTO] = "protocol error",
	[CONN_ETOOBIG] = "message too long",
	[CONN_ETRUNC] = "message truncated",
	[CONN_ESHORTBUF] = "buffer too short for the message",
	[CONN_ETIMEDOUT] = "timed out",
	[CONN_EINTR] = "interrupted",
	[CONN_ECANCELED] = "canceled",
	[CONN_ETLS] = "TLS failed",
	[CONN_ETLSCERT] = "TLS verification failed",
	[CONN_ETLSPLAIN] = "the peer does not speak TLS",
};

const char *conn_strerror(int err)
{
	if (err < 0 || err >= CONN_ERROR_COUNT)
		return "unknown error";
	return texts[err];
}

/* The one table that turns errors into exit statuses for every tool. */
static const unsigned char statuses[CONN_ERROR_COUNT] = {
	[CONN_OK] = CONN_EXIT_OK,
	[CONN_EAGAIN] = CONN_EXIT_IO,
	[CONN_EINVAL] = CONN_EXIT_USAGE,
	[CONN_ENOMEM] = CONN_EXIT_IO,
	[CONN_EIO] = CONN_EXIT_IO,
	[CONN_EPIPE] = CONN_EXIT_OK,	/* `| head -1` is not a failure */
	[CONN_EADDR] = CONN_EXIT_USAGE,
	[CONN_ERESOLVE] = CONN_EXIT_CONNECT,
	[CONN_EBIND] = CONN_EXIT_CONNECT,
	[CONN_ECONNECT] = CONN_EXIT_CONNECT,
	[CONN_ERESET] = CONN_EXIT_CONNECT,
	[CONN_EAUTH] = CONN_EXIT_AUTH,
	[CONN_EPROTO] = CONN_EXIT_PROTO,
	[CONN_ETOOBIG] = CONN_EXIT_PROTO,
	[CONN_ETRUNC] = CONN_EXIT_PROTO,
	[CONN_ESHORTBUF] = CONN_EXIT_PROTO,
	[CONN_ETIMEDOUT] = CONN_EXIT_TIMEOUT,
	[CONN_EINTR] = CONN_EXIT_OK,
	[CONN_ECANCELED] = CONN_EXIT_TIMEOUT,
	[CONN_ETLS] = CONN_EXIT_TLS,
	[CONN_ETLSCERT] = CONN_EXIT_TLS,
	[CONN_ETLSPLAIN] = CONN_EXIT_TLS,
};

int conn_exit_status(int err)
{
	if (err < 0 || err >= CONN_ERROR_COUNT)
		return CONN_EXIT_IO;
	return statuses[err];
}

int errno_to_conn(int err)
{
	switch (err) {
	case EPIPE:
	case ECONNRESET:
	case ENOTCONN:
	case ECONNABORTED:
		return CONN_ERESET;
	case ETIMEDOUT:
		return CONN_ETIMEDOUT;
	case ENOMEM:
	case ENOBUFS:
		return CONN_ENOMEM;
	default:
		return CONN_EIO;
	}
}

void detail_set(char *detail, size_t capacity, const char *fmt, ...)
{
	va_list ap;

	if (detail == NULL || capacity == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, capacity, fmt, ap);
	va_end(ap);
}
