/* address.c - the one address syntax of every tool, parsed without I/O. */
#include "internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A decimal port 0-65535 made of digits only. */
static int parse_port(char *out, const char *text, size_t len)
{
	unsigned long value = 0;
	size_t i;

	if (len == 0 || len > 5)
		return CONN_EADDR;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return CONN_EADDR;
		value = value * 10 + (unsigned long)(text[i] - '0');
	}
	if (value > 65535)
		return CONN_EADDR;
	snprintf(out, 8, "%lu", value);
	return 0;
}

static int parse_path(struct conn_address *a, enum conn_address_kind kind,
		      const char *path, size_t len)
{
	if (len == 0 || len > CONN_ADDRESS_PATH_MAX)
		return CONN_EADDR;
	if (kind == CONN_ADDRESS_UNIX && memchr(path, '\0', len))
		return CONN_EADDR;
	a->kind = kind;
	memcpy(a->path, path, len);
	a->path[len] = '\0';
	a->path_len = len;
	return 0;
}

static int parse_tcp(struct conn_address *a, const char *text, size_t len)
{
	const char *colon, *host = text;
	size_t host_len;

	a->kind = CONN_ADDRESS_TCP;
	if (len > 0 && text[0] == '[') {
		const char *close = memchr(text, ']', len);

		if (close == NULL || close + 1 == text + len ||
		    close[1] != ':')
			return CONN_EADDR;
		host = text + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
		if (host_len == 0 || !memchr(host, ':', host_len))
			return CONN_EADDR;
	} else {
		colon = memrchr(text, ':', len);
		if (colon == NULL)	/* a bare PORT */
			return parse_port(a->port, text, len);
		host_len = (size_t)(colon - text);
		if (memchr(text, ':', host_len))
			return CONN_EADDR;	/* IPv6 needs brackets */
	}
	if (host_len >= sizeof(a->host))
		return CONN_EADDR;
	memcpy(a->host, host, host_len);
	a->host[host_len] = '\0';
	return parse_port(a->port, colon + 1,
			  len - (size_t)(colon + 1 - text));
}

int conn_address_parse(struct conn_address *a, const char *text, size_t len)
{
	*a = (struct conn_address){ 0 };
	if (len == 0)
		return CONN_EADDR;
	if (text[0] == '@')	/* abstract names may hold any byte */
		return parse_path(a, CONN_ADDRESS_ABSTRACT, text + 1, len - 1);
	if (memchr(text, '\0', len))
		return CONN_EADDR;
	if (len > 5 && memcmp(text, "unix:", 5) == 0)
		return parse_path(a, CONN_ADDRESS_UNIX, text + 5, len - 5);
	if (memchr(text, '/', len))
		return parse_path(a, CONN_ADDRESS_UNIX, text, len);
	return parse_tcp(a, text, len);
}

int conn_address_from_text(struct conn_address *a, char *detail,
			   size_t capacity, const char *text)
{
	if (conn_address_parse(a, text, strlen(text)) == 0)
		return 0;
	detail_set(detail, capacity, "invalid address '%s' (HOST:PORT, "
		   "[IPV6]:PORT, :PORT, unix:PATH or @NAME)", text);
	return CONN_EADDR;
}

/* Bare, a path reads back as itself only if it has a '/' and does not
 * start like the other syntaxes: "@x/y" and "unix:a/b" need "unix:". */
static bool path_needs_prefix(const char *path, size_t len)
{
	return !memchr(path, '/', len) || path[0] == '@' ||
	       (len >= 5 && memcmp(path, "unix:", 5) == 0);
}

static void format_unix(char *out, size_t capacity,
			const struct sockaddr_un *sun, unsigned len)
{
	size_t path_len = len - offsetof(struct sockaddr_un, sun_path);
	const char *path = sun->sun_path;

	if (len <= offsetof(struct sockaddr_un, sun_path)) {
		snprintf(out, capacity, "unix:(unnamed)");
		return;
	}
	if (path[0] == '\0') {
		snprintf(out, capacity, "@%.*s", (int)path_len - 1, path + 1);
		return;
	}
	path_len = strnlen(path, path_len);
	snprintf(out, capacity, "%s%.*s",
		 path_needs_prefix(path, path_len) ? "unix:" : "",
		 (int)path_len, path);
}

static void format_inet(char *out, size_t capacity,
			const struct in_addr *addr, uint16_t port)
{
	char host[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, addr, host, sizeof(host));
	snprintf(out, capacity, "%s:%u", host, ntohs(port));
}

/* An IPv4 peer of a dual-stack socket arrives as ::ffff:a.b.c.d; it is
 * shown as the IPv4 address it is, as the user wrote and reads it. */
static void format_inet6(char *out, size_t capacity,
			 const struct sockaddr_in6 *in6)
{
	char host[INET6_ADDRSTRLEN];
	struct in_addr v4;

	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memcpy(&v4, in6->sin6_addr.s6_addr + 12, sizeof(v4));
		format_inet(out, capacity, &v4, in6->sin6_port);
		return;
	}
	inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
	snprintf(out, capacity, "[%s]:%u", host, ntohs(in6->sin6_port));
}

int conn_address_format_sockaddr(char *out, size_t capacity,
				 const void *sockaddr, unsigned len)
{
	const struct sockaddr *sa = sockaddr;

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = sockaddr;

		format_inet(out, capacity, &in->sin_addr, in->sin_port);
		return 0;
	}
	case AF_INET6:
		format_inet6(out, capacity, sockaddr);
		return 0;
	case AF_UNIX:
		format_unix(out, capacity, sockaddr, len);
		return 0;
	default:
		snprintf(out, capacity, "(family %d)", sa->sa_family);
		return CONN_EADDR;
	}
}
