/*
 * fuzz-address.c - libFuzzer harness for the address parser
 * (conn_address_parse): the input is the address text.  What it accepts
 * must fit its fields, and a socket address made from it must format
 * (conn_address_format_sockaddr) as text that parses back the same.
 */
#include "conn.h"
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#define TEXT_MAX 300	/* more than any address formats to */

static void check_fields(const struct conn_address *a)
{
	size_t i;

	switch (a->kind) {
	case CONN_ADDRESS_TCP:
		FUZZ_CHECK(fuzz_terminated(a->host, sizeof(a->host)));
		FUZZ_CHECK(fuzz_terminated(a->port, sizeof(a->port)));
		FUZZ_CHECK(a->port[0] != '\0' && strlen(a->port) <= 5);
		for (i = 0; a->port[i]; i++)
			FUZZ_CHECK(a->port[i] >= '0' && a->port[i] <= '9');
		FUZZ_CHECK(atoi(a->port) <= 65535);
		break;
	case CONN_ADDRESS_UNIX:
	case CONN_ADDRESS_ABSTRACT:
		FUZZ_CHECK(a->path_len > 0 &&
			   a->path_len <= CONN_ADDRESS_PATH_MAX);
		FUZZ_CHECK(a->path[a->path_len] == '\0');
		if (a->kind == CONN_ADDRESS_UNIX)
			FUZZ_CHECK(strlen(a->path) == a->path_len);
		break;
	default:
		fuzz_fail(__FILE__, __LINE__, "a known kind");
	}
}

/* Formats the socket address and parses the text back into *back. */
static void format_and_parse(struct conn_address *back, const void *sa,
			     socklen_t len)
{
	char text[TEXT_MAX];

	memset(text, 'x', sizeof(text));
	FUZZ_CHECK(conn_address_format_sockaddr(text, sizeof(text), sa,
						len) == 0);
	FUZZ_CHECK(fuzz_terminated(text, sizeof(text)));
	if (conn_address_parse(back, text, strlen(text)) != 0) {
		fprintf(stderr, "formatted as '%s', which does not parse\n",
			text);
		fuzz_fail(__FILE__, __LINE__, "the formatted address parses");
	}
}

static void round_trip_path(const struct conn_address *a)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t at = a->kind == CONN_ADDRESS_ABSTRACT ? 1 : 0;
	struct conn_address back;

	/* A NUL in an abstract name ends the text, which is for people. */
	if (memchr(a->path, '\0', a->path_len) != NULL)
		return;
	memcpy(sun.sun_path + at, a->path, a->path_len);
	format_and_parse(&back, &sun, (socklen_t)(offsetof(struct sockaddr_un,
		sun_path) + at + a->path_len + (at ? 0 : 1)));
	FUZZ_CHECK(back.kind == a->kind);
	FUZZ_CHECK(back.path_len == a->path_len);
	FUZZ_CHECK(memcmp(back.path, a->path, a->path_len) == 0);
}

/* A numeric host, in whatever form inet_ntop() writes it back. */
static void round_trip_tcp(const struct conn_address *a)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct conn_address back;
	char host[INET6_ADDRSTRLEN];
	uint16_t port = (uint16_t)atoi(a->port);

	if (inet_pton(AF_INET, a->host, &in.sin_addr) == 1) {
		in.sin_port = htons(port);
		inet_ntop(AF_INET, &in.sin_addr, host, sizeof(host));
		format_and_parse(&back, &in, sizeof(in));
	} else if (inet_pton(AF_INET6, a->host, &in6.sin6_addr) == 1) {
		in6.sin6_port = htons(port);
		inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof(host));
		format_and_parse(&back, &in6, sizeof(in6));
	} else {
		return;
	}
	FUZZ_CHECK(back.kind == CONN_ADDRESS_TCP);
	FUZZ_CHECK(strcmp(back.host, host) == 0);
	FUZZ_CHECK(atoi(back.port) == port);
}

/* The C-string entry point agrees, and its detail fits any buffer. */
static void check_from_text(const uint8_t *data, size_t size, int rc)
{
	struct conn_address a;
	char detail[24];
	char *text = malloc(size + 1);
	int text_rc;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	memset(detail, 'x', sizeof(detail));
	text_rc = conn_address_from_text(&a, detail, sizeof(detail), text);
	FUZZ_CHECK(text_rc == 0 || text_rc == CONN_EADDR);
	if (text_rc)
		FUZZ_CHECK(fuzz_terminated(detail, sizeof(detail)));
	if (strlen(text) == size)
		FUZZ_CHECK(text_rc == rc);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn_address a;
	int rc = conn_address_parse(&a, (const char *)data, size);

	FUZZ_CHECK(rc == 0 || rc == CONN_EADDR);
	if (rc == 0) {
		check_fields(&a);
		if (a.kind == CONN_ADDRESS_TCP)
			round_trip_tcp(&a);
		else
			round_trip_path(&a);
	}
	check_from_text(data, size, rc);
	return 0;
}
