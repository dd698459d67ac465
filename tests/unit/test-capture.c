/* test-capture.c - the capture reader over hand-built packets: link
 * layers, IPv4 and IPv6, reassembly out of order, retransmissions, a
 * capture that starts mid-stream, gaps, the handshake's labels. */
#include "conn.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SYN = 0x02, FIN = 0x01, ACK = 0x10, RST = 0x04 };

/* What the reader handed out, as text: "conn dir src>dst [label] bytes". */
struct seen {
	char text[8192];
	size_t len;
	int messages;
	char warnings[4096];
	int warning_count;
};

static unsigned long sum_of(const uint8_t *data, size_t size)
{
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i < size; i++)
		sum = sum * 31 + data[i];
	return sum;
}

/* A message over 64 bytes as its size and a sum of its bytes. */
static int on_message(void *ctx, const struct conn_capture_message *m)
{
	struct seen *s = ctx;
	unsigned long sum = sum_of(m->data, m->size);
	int n;

	if (m->size > 64)
		n = snprintf(s->text + s->len, sizeof(s->text) - s->len,
			     "%llu %d %s>%s %s %zu bytes %lx|",
			     (unsigned long long)m->conn, m->dir, m->src,
			     m->dst, m->handshake ? m->handshake : "-",
			     m->size, sum);
	else
		n = snprintf(s->text + s->len, sizeof(s->text) - s->len,
			     "%llu %d %s>%s %s %.*s|",
			     (unsigned long long)m->conn, m->dir, m->src,
			     m->dst, m->handshake ? m->handshake : "-",
			     (int)m->size, (const char *)m->data);

	if (n > 0 && (size_t)n < sizeof(s->text) - s->len)
		s->len += (size_t)n;
	s->messages++;
	return 0;
}

static void on_log(void *ctx, enum conn_log_level level, const char *line)
{
	struct seen *s = ctx;
	size_t have = strlen(s->warnings);

	(void)level;
	snprintf(s->warnings + have, sizeof(s->warnings) - have, "%s; ", line);
	s->warning_count++;
}

/* One end of a packet's conversation. */
struct end {
	uint8_t addr[16];
	uint16_t port;
};

static const struct end v4_client = { { 127, 0, 0, 1 }, 40000 };
static const struct end v4_server = { { 127, 0, 0, 2 }, 5000 };
static const struct end v6_client = { { [15] = 1 }, 40001 };
static const struct end v6_server = { { 0xfe, 0x80, [15] = 2 }, 6000 };

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
	return 4;
}

static size_t tcp(uint8_t *p, const struct end *from, const struct end *to,
		  uint32_t seq, uint8_t flags, const void *data, size_t n)
{
	memset(p, 0, 20);
	put16(p, from->port);
	put16(p + 2, to->port);
	put32(p + 4, seq);
	p[12] = 5 << 4;
	p[13] = flags;
	put16(p + 14, 65535);
	memcpy(p + 20, data, n);
	return 20 + n;
}

static size_t ipv4(uint8_t *p, const struct end *from, const struct end *to,
		   uint32_t seq, uint8_t flags, const void *data, size_t n)
{
	size_t len = 20 + tcp(p + 20, from, to, seq, flags, data, n);

	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (unsigned)len);
	p[6] = 0x40;	/* don't fragment */
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, from->addr, 4);
	memcpy(p + 16, to->addr, 4);
	return len;
}

static size_t ipv6(uint8_t *p, const struct end *from, const struct end *to,
		   uint32_t seq, uint8_t flags, const void *data, size_t n)
{
	size_t len = tcp(p + 40, from, to, seq, flags, data, n);

	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (unsigned)len);
	p[6] = 6;
	p[7] = 64;
	memcpy(p + 8, from->addr, 16);
	memcpy(p + 24, to->addr, 16);
	return 40 + len;
}

/* A packet of the reader's link type around an IP packet. */
struct link {
	int type;
	bool v6;
};

static uint8_t packet[1 << 16];

static void send_packet(struct conn_capture_reader *r, const struct link *l,
			const struct end *from, const struct end *to,
			uint32_t seq, uint8_t flags, const void *data, size_t n)
{
	size_t head = 0, ip;
	uint16_t type = l->v6 ? 0x86dd : 0x0800;
	uint8_t *p = packet;

	switch (l->type) {
	case 1:		/* Ethernet */
		memset(p, 0, 12);
		put16(p + 12, type);
		head = 14;
		break;
	case 113:	/* SLL */
		memset(p, 0, 14);
		put16(p + 14, type);
		head = 16;
		break;
	case 276:	/* SLL2 */
		memset(p, 0, 20);
		put16(p, type);
		head = 20;
		break;
	case 0:		/* null: the family in host order */
		p[0] = l->v6 ? 30 : 2;
		p[1] = p[2] = p[3] = 0;
		head = 4;
		break;
	}
	ip = l->v6 ? ipv6(p + head, from, to, seq, flags, data, n)
		   : ipv4(p + head, from, to, seq, flags, data, n);
	if (conn_capture_reader_packet(r, p, head + ip, 1000) != 0)
		ok(0, "conn_capture_reader_packet");
}

/* A frame: 4-byte length, then text. */
static size_t frame(uint8_t *out, const char *text)
{
	size_t n = strlen(text);

	put32(out, (uint32_t)n);
	memcpy(out + 4, text, n);
	return 4 + n;
}

static struct conn_capture_reader *reader(struct seen *s, int link,
					  uint16_t port)
{
	struct conn_capture_reader *r = NULL;

	memset(s, 0, sizeof(*s));
	must(conn_capture_reader_new(&r, link, port, 1 << 20, on_message,
				     on_log, s));
	return r;
}

/* A connection: SYN, SYN-ACK, a keyed handshake, one message each way. */
static void test_handshake(const struct link *l, const struct end *c,
			   const struct end *sv, const char *want)
{
	struct seen s;
	struct conn_capture_reader *r = reader(&s, l->type, 0);
	uint8_t b[256];
	size_t n;

	send_packet(r, l, c, sv, 100, SYN, "", 0);
	send_packet(r, l, sv, c, 900, SYN | ACK, "", 0);
	n = frame(b, "#CHALLENGE#{sha256}xyz");
	send_packet(r, l, sv, c, 901, ACK, b, n);
	n = frame(b, "{sha256}mac");
	send_packet(r, l, c, sv, 101, ACK, b, n);
	n = frame(b, "#WELCOME#");
	send_packet(r, l, sv, c, 901 + 26, ACK, b, n);
	n = frame(b, "hello");
	send_packet(r, l, c, sv, 101 + 15, ACK, b, n);
	send_packet(r, l, c, sv, 101 + 24, FIN | ACK, "", 0);
	must(conn_capture_reader_finish(r));
	ok(strcmp(s.text, want) == 0, "link %d%s: %s", l->type,
	   l->v6 ? " IPv6" : "", s.text);
	ok(s.warning_count == 0, "link %d: no warnings: %s", l->type,
	   s.warnings);
	conn_capture_reader_free(r);
}

static void test_links(void)
{
	static const char v4[] =
		"1 1 127.0.0.2:5000>127.0.0.1:40000 challenge "
		"#CHALLENGE#{sha256}xyz|"
		"1 0 127.0.0.1:40000>127.0.0.2:5000 digest {sha256}mac|"
		"1 1 127.0.0.2:5000>127.0.0.1:40000 welcome #WELCOME#|"
		"1 0 127.0.0.1:40000>127.0.0.2:5000 - hello|";
	static const char v6[] =
		"1 1 [fe80::2]:6000>[::1]:40001 challenge "
		"#CHALLENGE#{sha256}xyz|"
		"1 0 [::1]:40001>[fe80::2]:6000 digest {sha256}mac|"
		"1 1 [fe80::2]:6000>[::1]:40001 welcome #WELCOME#|"
		"1 0 [::1]:40001>[fe80::2]:6000 - hello|";
	static const int types[] = { 1, 113, 276, 0 };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct link l4 = { types[i], false }, l6 = { types[i], true };

		test_handshake(&l4, &v4_client, &v4_server, v4);
		test_handshake(&l6, &v6_client, &v6_server, v6);
	}
	{
		struct link raw4 = { 101, false }, raw6 = { 101, true };

		test_handshake(&raw4, &v4_client, &v4_server, v4);
		test_handshake(&raw6, &v6_client, &v6_server, v6);
	}
	ok(!conn_capture_link_supported(9999), "an unknown link type");
}

/* Three frames as one stream, sent as segments out of order, one of them
 * twice and one overlapping the next. */
static void test_out_of_order(void)
{
	const struct link l = { 1, false };
	struct seen s;
	struct conn_capture_reader *r = reader(&s, 1, 0);
	uint8_t b[256];
	size_t n = 0;

	n += frame(b + n, "one");
	n += frame(b + n, "two two");
	n += frame(b + n, "three");	/* 7 + 11 + 9 = 27 bytes */
	send_packet(r, &l, &v4_client, &v4_server, 1000, SYN, "", 0);
	send_packet(r, &l, &v4_client, &v4_server, 1001 + 10, ACK, b + 10, 8);
	send_packet(r, &l, &v4_client, &v4_server, 1001 + 20, ACK, b + 20, 7);
	ok(s.messages == 0, "nothing before the first bytes");
	send_packet(r, &l, &v4_client, &v4_server, 1001, ACK, b, 5);
	send_packet(r, &l, &v4_client, &v4_server, 1001, ACK, b, 5);
	send_packet(r, &l, &v4_client, &v4_server, 1001 + 3, ACK, b + 3, 9);
	ok(s.messages == 2, "two frames whole: %s", s.text);
	send_packet(r, &l, &v4_client, &v4_server, 1001 + 10, ACK, b + 10, 8);
	send_packet(r, &l, &v4_client, &v4_server, 1001 + 17, ACK, b + 17, 4);
	must(conn_capture_reader_finish(r));
	ok(strcmp(s.text, "1 0 127.0.0.1:40000>127.0.0.2:5000 - one|"
			  "1 0 127.0.0.1:40000>127.0.0.2:5000 - two two|"
			  "1 0 127.0.0.1:40000>127.0.0.2:5000 - three|") == 0,
	   "reassembled: %s", s.text);
	ok(s.warning_count == 0, "no warnings: %s", s.warnings);
	conn_capture_reader_free(r);
}

/* No SYN: the capture starts inside a message. */
static void test_mid_stream(void)
{
	const struct link l = { 1, false };
	struct seen s;
	struct conn_capture_reader *r = reader(&s, 1, 0);
	uint8_t b[256];
	size_t n = 0;

	n += frame(b + n, "the end of a message");
	n += frame(b + n, "next");
	n += frame(b + n, "last");
	send_packet(r, &l, &v4_client, &v4_server, 7, ACK, b + 9, n - 9);
	must(conn_capture_reader_finish(r));
	ok(strcmp(s.text, "1 0 127.0.0.1:40000>127.0.0.2:5000 - next|"
			  "1 0 127.0.0.1:40000>127.0.0.2:5000 - last|") == 0,
	   "mid-stream: %s", s.text);
	ok(strstr(s.warnings, "skipped 15 bytes at stream offset 0") != NULL,
	   "mid-stream: says so: %s", s.warnings);
	conn_capture_reader_free(r);
}

/* What is not this protocol is left out, unless --port picks it. */
static void test_not_ours(void)
{
	const struct link l = { 1, false };
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct seen s;
	struct conn_capture_reader *r = reader(&s, 1, 0);

	send_packet(r, &l, &v4_client, &v4_server, 1, SYN, "", 0);
	send_packet(r, &l, &v4_client, &v4_server, 2, ACK, http,
		    sizeof(http) - 1);
	must(conn_capture_reader_finish(r));
	ok(s.messages == 0 && s.warning_count == 0, "HTTP left out: %s %s",
	   s.text, s.warnings);
	conn_capture_reader_free(r);

	r = reader(&s, 1, 5000);
	send_packet(r, &l, &v4_client, &v4_server, 1, SYN, "", 0);
	send_packet(r, &l, &v4_client, &v4_server, 2, ACK, http,
		    sizeof(http) - 1);
	must(conn_capture_reader_finish(r));
	ok(s.messages == 0 && strstr(s.warnings, "no frame header") != NULL,
	   "--port: HTTP is a broken stream: %s", s.warnings);
	conn_capture_reader_free(r);

	r = reader(&s, 1, 6000);
	send_packet(r, &l, &v4_client, &v4_server, 1, SYN, "", 0);
	send_packet(r, &l, &v4_client, &v4_server, 2, ACK, "\0\0\0\1x", 5);
	must(conn_capture_reader_finish(r));
	ok(s.messages == 0, "--port: another port is left out");
	conn_capture_reader_free(r);
}

/* A gap bigger than what is held: given up, with a warning. */
static void test_gap(void)
{
	const struct link l = { 1, false };
	static uint8_t big[60000];
	struct seen s;
	struct conn_capture_reader *r = reader(&s, 1, 0);
	uint32_t seq = 1001 + 100;
	size_t i;

	send_packet(r, &l, &v4_client, &v4_server, 1000, SYN, "", 0);
	/* Frames of 59996 bytes after 100 lost bytes, 80 of them (4.8 MB). */
	put32(big, sizeof(big) - 4);
	memset(big + 4, 'x', sizeof(big) - 4);
	for (i = 0; i < 80; i++, seq += sizeof(big))
		send_packet(r, &l, &v4_client, &v4_server, seq, ACK, big,
			    sizeof(big));
	ok(strstr(s.warnings, "100 bytes missing") != NULL,
	   "gap: says so: %s", s.warnings);
	ok(s.messages == 80, "gap: every frame after it: %d", s.messages);
	must(conn_capture_reader_finish(r));
	conn_capture_reader_free(r);
}

/* A message cut short by the capture's end; a legacy handshake. */
static void test_cut_short_and_legacy(void)
{
	const struct link l = { 1, false };
	struct seen s;
	struct conn_capture_reader *r = reader(&s, 1, 0);
	uint8_t b[64];
	size_t n;

	send_packet(r, &l, &v4_server, &v4_client, 50, SYN | ACK, "", 0);
	n = frame(b, "#CHALLENGE#01234567890123456789");
	send_packet(r, &l, &v4_server, &v4_client, 51, ACK, b, n);
	n = frame(b, "0123456789abcdef");
	/* The SYN-ACK acknowledged 0 (tcp() leaves it so): the client's
	 * stream starts there, in step, though its SYN is not here. */
	send_packet(r, &l, &v4_client, &v4_server, 0, ACK, b, n);
	n = frame(b, "#FAILURE#");
	send_packet(r, &l, &v4_server, &v4_client, 51 + 35, ACK, b, n);
	n = frame(b, "cut");
	send_packet(r, &l, &v4_server, &v4_client, 51 + 48, ACK, b, n - 1);
	must(conn_capture_reader_finish(r));
	ok(strstr(s.text, "1 1 127.0.0.2:5000>127.0.0.1:40000 challenge") &&
	   strstr(s.text, "1 0 127.0.0.1:40000>127.0.0.2:5000 digest") &&
	   strstr(s.text, "failure #FAILURE#"), "legacy: %s", s.text);
	ok(strstr(s.warnings, "6 bytes at stream offset 48 are no whole") !=
	   NULL, "cut short: %s", s.warnings);
	conn_capture_reader_free(r);
}

/* Ports used again after a conversation ended: a new one; the last ACK
 * after the FINs starts none. */
static void test_ports_again(void)
{
	const struct link l = { 1, false };
	struct seen s;
	struct conn_capture_reader *r = reader(&s, 1, 0);
	uint8_t b[64];
	size_t n = frame(b, "a");

	send_packet(r, &l, &v4_client, &v4_server, 10, SYN, "", 0);
	send_packet(r, &l, &v4_client, &v4_server, 11, ACK, b, n);
	send_packet(r, &l, &v4_client, &v4_server, 16, FIN | ACK, "", 0);
	send_packet(r, &l, &v4_server, &v4_client, 90, FIN | ACK, "", 0);
	send_packet(r, &l, &v4_client, &v4_server, 17, ACK, "", 0);
	send_packet(r, &l, &v4_client, &v4_server, 500, SYN, "", 0);
	n = frame(b, "b");
	send_packet(r, &l, &v4_client, &v4_server, 501, ACK, b, n);
	must(conn_capture_reader_finish(r));
	ok(strcmp(s.text, "1 0 127.0.0.1:40000>127.0.0.2:5000 - a|"
			  "2 0 127.0.0.1:40000>127.0.0.2:5000 - b|") == 0,
	   "ports again: %s", s.text);
	conn_capture_reader_free(r);
}

/* ------------------------------------------------------------ the writer */

static struct sockaddr_in v4_addr(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static struct sockaddr_in6 v6_addr(const char *ip, uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(port) };

	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

static uint8_t big[150000];

/* Records the frame of text from side dir of id. */
static void record(struct conn_capture *cap, uint64_t id, int dir,
		   const void *text, size_t n, int64_t t)
{
	static uint8_t b[200000];

	put32(b, (uint32_t)n);
	memcpy(b + 4, text, n);
	must(conn_capture_write(cap, id, dir, b, n + 4, t));
}

static void record_text(struct conn_capture *cap, uint64_t id, int dir,
			const char *text, int64_t t)
{
	record(cap, id, dir, text, strlen(text), t);
}

/*
 * The sample capture: an IPv4 connection with a handshake and a message
 * of 150000 bytes (three segments), an IPv6 one between its writes, one
 * over Unix sockets (synthetic addresses).  tests/bats/capture.bats reads
 * it with tshark too (test-capture FILE keeps it).
 */
static void write_sample(const char *path)
{
	struct sockaddr_in c4 = v4_addr("127.0.0.1", 40000),
			   s4 = v4_addr("127.0.0.1", 5000);
	struct sockaddr_in6 c6 = v6_addr("::1", 40001),
			    s6 = v6_addr("::1", 5001);
	struct conn_capture *cap = NULL;
	uint64_t a = 0, b = 0, c = 0;
	int64_t t = 1700000000000000;
	char detail[200];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + i / 256);
	must(conn_capture_open(&cap, detail, sizeof(detail), path));
	must(conn_capture_connect(cap, &a, (void *)&c4, (void *)&s4, t));
	record_text(cap, a, 1, "#CHALLENGE#{sha256}"
		    "0123456789012345678901234567890123456789", t + 1);
	record_text(cap, a, 0, "{sha256}01234567890123456789012345678901",
		    t + 2);
	record_text(cap, a, 1, "#WELCOME#", t + 3);
	must(conn_capture_connect(cap, &b, (void *)&c6, (void *)&s6, t + 4));
	record_text(cap, b, 0, "over IPv6", t + 5);
	record_text(cap, a, 0, "hello", t + 6);
	record(cap, a, 1, big, sizeof(big), t + 7);
	must(conn_capture_end(cap, b, t + 8));
	must(conn_capture_end(cap, a, t + 9));
	must(conn_capture_connect(cap, &c, NULL, NULL, t + 10));
	record_text(cap, c, 0, "over a Unix socket", t + 11);
	record_text(cap, c, 1, "reply", t + 12);
	must(conn_capture_end(cap, c, t + 13));
	ok(conn_capture_write(cap, a, 0, "x", 1, t) == CONN_EINVAL,
	   "writer: a connection ended takes no more");
	ok(conn_capture_write(cap, 99, 0, "x", 1, t) == CONN_EINVAL,
	   "writer: nor one never connected");
	must(conn_capture_close(cap, detail, sizeof(detail)));
}

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The writer's file through the reader: what went in comes out. */
static void test_round_trip(const char *keep)
{
	char path[] = "/tmp/test-capture-XXXXXX";
	const char *file = keep ? keep : path;
	static uint8_t data[1 << 20];
	struct seen s;
	struct conn_capture_reader *r;
	char want[1000];
	size_t n, at = 24;
	FILE *f;
	int fd = -1;

	if (keep == NULL && (fd = mkstemp(path)) < 0) {
		ok(0, "mkstemp");
		return;
	}
	write_sample(file);
	f = fopen(file, "rb");
	n = f ? fread(data, 1, sizeof(data), f) : 0;
	if (f)
		fclose(f);
	ok(n > 24 && get32le(data) == 0xa1b2c3d4 && get32le(data + 20) == 101,
	   "writer: a classic pcap of raw IP");
	r = reader(&s, 101, 0);
	while (at + 16 <= n && at + 16 + get32le(data + at + 8) <= n) {
		size_t len = get32le(data + at + 8);

		must(conn_capture_reader_packet(r, data + at + 16, len, 0));
		at += 16 + len;
	}
	ok(at == n, "writer: whole records only");
	must(conn_capture_reader_finish(r));
	snprintf(want, sizeof(want),
		  "1 1 127.0.0.1:5000>127.0.0.1:40000 challenge "
		  "#CHALLENGE#{sha256}0123456789012345678901234567890123456789|"
		  "1 0 127.0.0.1:40000>127.0.0.1:5000 digest "
		  "{sha256}01234567890123456789012345678901|"
		  "1 1 127.0.0.1:5000>127.0.0.1:40000 welcome #WELCOME#|"
		  "2 0 [::1]:40001>[::1]:5001 - over IPv6|"
		  "1 0 127.0.0.1:40000>127.0.0.1:5000 - hello|"
		  "1 1 127.0.0.1:5000>127.0.0.1:40000 - 150000 bytes %lx|"
		  "3 0 127.0.0.1:49155>127.0.0.2:5000 - over a Unix socket|"
		  "3 1 127.0.0.2:5000>127.0.0.1:49155 - reply|",
		  sum_of(big, sizeof(big)));
	ok(strcmp(s.text, want) == 0, "writer: read back: %s", s.text);
	ok(s.warning_count == 0, "writer: no warnings: %s", s.warnings);
	conn_capture_reader_free(r);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
}

/* test-capture [FILE]: FILE keeps the writer's sample capture. */
/* Numbered from N (a forked child's connections), nothing buffered: the
 * file holds each packet once it is recorded, 56 bytes a bare IPv4 one. */
static void test_number_from(void)
{
	char path[] = "/tmp/test-capture-XXXXXX", detail[200];
	struct conn_capture *cap = NULL;
	uint64_t id = 0;
	struct stat st;
	int fd = mkstemp(path);

	if (fd < 0 || conn_capture_open(&cap, detail, sizeof(detail), path)) {
		ok(0, "mkstemp, conn_capture_open");
		return;
	}
	ok(conn_capture_number_from(cap, 0) == CONN_EINVAL,
	   "writer: no connection 0");
	must(conn_capture_number_from(cap, 7));
	must(conn_capture_connect(cap, &id, NULL, NULL, 1));
	ok(id == 7, "writer: numbered from 7: %llu", (unsigned long long)id);
	ok(conn_capture_number_from(cap, 9) == CONN_EINVAL,
	   "writer: numbered before the first connection only");
	ok(conn_capture_write(cap, 1, 0, "x", 1, 2) == CONN_EINVAL,
	   "writer: no connection 1 then");
	must(conn_capture_write(cap, 7, 0, "x", 1, 2));
	ok(fstat(fd, &st) == 0 && st.st_size == 24 + 3 * 56 + 57,
	   "writer: every packet in the file at once: %lld bytes",
	   (long long)st.st_size);
	must(conn_capture_close(cap, detail, sizeof(detail)));
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	test_number_from();
	test_links();
	test_out_of_order();
	test_mid_stream();
	test_not_ours();
	test_gap();
	test_cut_short_and_legacy();
	test_ports_again();
	test_round_trip(argc > 1 ? argv[1] : NULL);
	return tap_done();
}
