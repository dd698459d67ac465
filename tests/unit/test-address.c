/*
 * test-address.c - the one address syntax: conn_address_parse() and
 * conn_address_format_sockaddr(), which must read each other back.
 */
#include "conn.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static int parse(struct conn_address *a, const char *text)
{
	return conn_address_parse(a, text, strlen(text));
}

static void tcp_ok(const char *text, const char *host, const char *port)
{
	struct conn_address a;
	int rc = parse(&a, text);

	ok(rc == 0 && a.kind == CONN_ADDRESS_TCP &&
	   strcmp(a.host, host) == 0 && strcmp(a.port, port) == 0,
	   "parse \"%s\": tcp host \"%s\" port \"%s\" (rc %d, got \"%s\" "
	   "\"%s\")", text, host, port, rc, a.host, a.port);
}

static void path_ok(const char *text, size_t len,
		    enum conn_address_kind kind, const char *path,
		    size_t path_len)
{
	struct conn_address a;
	int rc = conn_address_parse(&a, text, len);

	ok(rc == 0 && a.kind == kind && a.path_len == path_len &&
	   memcmp(a.path, path, path_len) == 0 && a.path[path_len] == '\0',
	   "parse \"%.*s\": %s path of %zu bytes (rc %d, kind %d, len %zu)",
	   (int)len, text, kind == CONN_ADDRESS_UNIX ? "unix" : "abstract",
	   path_len, rc, a.kind, a.path_len);
}

static void bad(const char *text, size_t len, const char *why)
{
	struct conn_address a;
	int rc = conn_address_parse(&a, text, len);

	ok(rc == CONN_EADDR, "parse rejects %s (rc %d)", why, rc);
}

static void test_parse(void)
{
	char path[CONN_ADDRESS_PATH_MAX + 16];
	char text[CONN_ADDRESS_PATH_MAX + 32];
	struct conn_address a;

	tcp_ok("example.com:8080", "example.com", "8080");
	tcp_ok("127.0.0.1:5000", "127.0.0.1", "5000");
	tcp_ok("localhost:80", "localhost", "80");
	tcp_ok("[::1]:80", "::1", "80");
	tcp_ok("[fe80::1%eth0]:6000", "fe80::1%eth0", "6000");
	tcp_ok(":80", "", "80");
	tcp_ok("80", "", "80");
	tcp_ok("0", "", "0");
	tcp_ok("host:65535", "host", "65535");
	tcp_ok("host:0", "host", "0");

	path_ok("unix:x", 6, CONN_ADDRESS_UNIX, "x", 1);
	path_ok("unix:sock.s", 11, CONN_ADDRESS_UNIX, "sock.s", 6);
	path_ok("./a/b", 5, CONN_ADDRESS_UNIX, "./a/b", 5);
	path_ok("/tmp/s", 6, CONN_ADDRESS_UNIX, "/tmp/s", 6);
	path_ok("a/b:80", 6, CONN_ADDRESS_UNIX, "a/b:80", 6);
	path_ok("@name", 5, CONN_ADDRESS_ABSTRACT, "name", 4);
	path_ok("@a\0b", 4, CONN_ADDRESS_ABSTRACT, "a\0b", 3);

	/* The longest unix path fits, one more byte does not. */
	memset(path, 'p', CONN_ADDRESS_PATH_MAX);
	path[0] = '/';
	path[CONN_ADDRESS_PATH_MAX] = '\0';
	path_ok(path, CONN_ADDRESS_PATH_MAX, CONN_ADDRESS_UNIX, path,
		CONN_ADDRESS_PATH_MAX);
	snprintf(text, sizeof(text), "%sp", path);
	bad(text, strlen(text), "a 108-byte path");
	snprintf(text, sizeof(text), "unix:%s", path + 1);
	ok(conn_address_parse(&a, text, strlen(text)) == 0 &&
	   a.path_len == CONN_ADDRESS_PATH_MAX - 1,
	   "parse unix: with a 106-byte path");
	snprintf(text, sizeof(text), "unix:%sp", path);
	bad(text, strlen(text), "unix: with a 108-byte path");
	snprintf(text, sizeof(text), "@%s", path);
	ok(conn_address_parse(&a, text, strlen(text)) == 0 &&
	   a.kind == CONN_ADDRESS_ABSTRACT &&
	   a.path_len == CONN_ADDRESS_PATH_MAX,
	   "parse @ with a 107-byte name");
	snprintf(text, sizeof(text), "@%sp", path);
	bad(text, strlen(text), "@ with a 108-byte name");

	bad("", 0, "the empty string");
	bad("host", 4, "\"host\"");
	bad("host:", 5, "\"host:\"");
	bad("host:99999", 10, "\"host:99999\"");
	bad("host:65536", 10, "\"host:65536\"");
	bad("host:123456", 11, "a six-digit port");
	bad("host:abc", 8, "\"host:abc\"");
	bad("host:-1", 7, "\"host:-1\"");
	bad("host:+80", 8, "\"host:+80\"");
	bad("host: 80", 8, "\"host: 80\"");
	bad("::1:80", 6, "\"::1:80\" without brackets");
	bad("[::1]80", 7, "\"[::1]80\"");
	bad("[::1]", 5, "\"[::1]\" without a port");
	bad("[::1]:", 6, "\"[::1]:\"");
	bad("[::1:80", 7, "an unclosed bracket");
	bad("[]:80", 5, "empty brackets");
	bad("@", 1, "\"@\" without a name");
	bad("unix:a\0b", 8, "a NUL byte in a unix path");
	bad("host\0:80", 8, "a NUL byte in a host");
	bad("99999", 5, "a bare port over 65535");
	bad(":", 1, "a lone colon");
}

static void format_ok(const void *sa, unsigned len, const char *want,
		      const char *what)
{
	char out[256];
	int rc;

	memset(out, 'X', sizeof(out));
	out[sizeof(out) - 1] = '\0';
	rc = conn_address_format_sockaddr(out, sizeof(out), sa, len);
	ok(rc == 0 && strcmp(out, want) == 0,
	   "format %s: \"%s\" (rc %d, got \"%s\")", what, want, rc, out);
}

/* The formatted address parses back to what was formatted. */
static void round_trip(const void *sa, unsigned len, const char *what)
{
	struct conn_address a;
	char out[256];
	int rc = conn_address_format_sockaddr(out, sizeof(out), sa, len);

	ok(rc == 0 && conn_address_parse(&a, out, strlen(out)) == 0,
	   "format %s then parse: \"%s\"", what, out);
}

static void test_format(void)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	unsigned base = (unsigned)offsetof(struct sockaddr_un, sun_path);
	struct conn_address a;
	char out[256], small[8];
	int rc;

	in4.sin_port = htons(8080);
	inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
	format_ok(&in4, sizeof(in4), "127.0.0.1:8080", "IPv4");
	round_trip(&in4, sizeof(in4), "IPv4");
	in4.sin_port = htons(65535);
	inet_pton(AF_INET, "10.1.2.3", &in4.sin_addr);
	format_ok(&in4, sizeof(in4), "10.1.2.3:65535", "IPv4 port 65535");

	in6.sin6_port = htons(80);
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	format_ok(&in6, sizeof(in6), "[::1]:80", "IPv6 loopback");
	round_trip(&in6, sizeof(in6), "IPv6");
	rc = conn_address_format_sockaddr(out, sizeof(out), &in6,
					  sizeof(in6));
	ok(rc == 0 && conn_address_parse(&a, out, strlen(out)) == 0 &&
	   strcmp(a.host, "::1") == 0 && strcmp(a.port, "80") == 0,
	   "IPv6 round trip gives host ::1 port 80");
	in6.sin6_port = htons(443);
	inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr);
	format_ok(&in6, sizeof(in6), "[2001:db8::7]:443", "IPv6");
	/* An IPv4 peer of a dual-stack socket is shown as IPv4; an IPv6
	 * address that only looks like one (::ffff:0:a.b.c.d) is not. */
	in6.sin6_port = htons(51330);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
	format_ok(&in6, sizeof(in6), "127.0.0.1:51330", "v4-mapped IPv6");
	inet_pton(AF_INET6, "::ffff:0:7f00:1", &in6.sin6_addr);
	format_ok(&in6, sizeof(in6), "[::ffff:0:7f00:1]:51330",
		  "IPv6 that is not v4-mapped");
	inet_pton(AF_INET6, "::", &in6.sin6_addr);
	format_ok(&in6, sizeof(in6), "[::]:51330", "IPv6 any");

	/* A path with a '/' as is; one without gets unix: to parse back. */
	strcpy(un.sun_path, "/tmp/s");
	format_ok(&un, base + 7, "/tmp/s", "unix path with '/'");
	format_ok(&un, sizeof(un), "/tmp/s", "unix path, full length");
	round_trip(&un, base + 7, "unix path with '/'");
	strcpy(un.sun_path, "sock");
	format_ok(&un, base + 5, "unix:sock", "unix path without '/'");
	format_ok(&un, base + 4, "unix:sock", "unix path without its NUL");
	rc = conn_address_format_sockaddr(out, sizeof(out), &un, base + 5);
	ok(rc == 0 && conn_address_parse(&a, out, strlen(out)) == 0 &&
	   a.kind == CONN_ADDRESS_UNIX && strcmp(a.path, "sock") == 0,
	   "unix path without '/' parses back to the same path");

	/* An abstract name: a NUL, then exactly len - base - 1 bytes. */
	memset(un.sun_path, 0, sizeof(un.sun_path));
	memcpy(un.sun_path + 1, "name", 4);
	format_ok(&un, base + 5, "@name", "abstract name");
	rc = conn_address_format_sockaddr(out, sizeof(out), &un, base + 5);
	ok(rc == 0 && conn_address_parse(&a, out, strlen(out)) == 0 &&
	   a.kind == CONN_ADDRESS_ABSTRACT && a.path_len == 4 &&
	   memcmp(a.path, "name", 4) == 0,
	   "abstract name parses back to the same name");

	/* A short buffer is never overrun and stays terminated. */
	strcpy(un.sun_path, "/a/long/path/name");
	memset(small, 'Z', sizeof(small));
	rc = conn_address_format_sockaddr(small, 5, &un, sizeof(un));
	ok(rc == 0 && memchr(small, '\0', 5) != NULL && small[5] == 'Z',
	   "format into 5 bytes stays within them");

	memset(out, 0, sizeof(out));
	ok(conn_address_format_sockaddr(out, sizeof(out),
					&(struct sockaddr){ .sa_family =
							    AF_UNSPEC },
					sizeof(struct sockaddr)) == CONN_EADDR,
	   "format an unknown family: EADDR");
}

int main(void)
{
	test_parse();
	test_format();
	return tap_done();
}
