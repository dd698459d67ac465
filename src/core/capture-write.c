/*
 * capture-write.c - connections written as a packet capture that
 * Wireshark, tshark, tcpdump and conn-pipe --in pcap follow: a classic
 * pcap file (link type raw IP, microsecond timestamps, little-endian
 * headers) of synthetic IPv4 or IPv6 and TCP headers around the bytes
 * each side sent, with consistent sequence and acknowledgement numbers
 * and checksums: SYN, SYN-ACK and ACK when a connection is recorded as
 * connected, data segments of at most SEGMENT_MAX bytes, then FIN both
 * ways and the last ACK at its end.  No libpcap: the format is small
 * (https://www.tcpdump.org/manpages/pcap-savefile.5.html).
 *
 * Each packet record (its header and its bytes) is one write(2) to a
 * file opened for appending, nothing buffered: the records of processes
 * that share the capture after a fork, each recording connections of its
 * own, follow each other whole.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#define LINKTYPE_RAW 101
#define SNAPLEN 262144
#define SEGMENT_MAX 65495	/* IPv4's 65535 less the two headers */
#define SERVER_PORT 5000	/* of an endpoint that is no IP socket */
#define CLIENT_PORTS 49152	/* the first of the client's, likewise */

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10 };

struct recorded {
	bool v6;
	uint8_t addr[2][16];	/* [0] the client's, [1] the server's */
	uint16_t port[2];
	uint32_t next[2];	/* each side's next sequence number */
	bool open;
};

struct conn_capture {
	int fd;
	struct recorded *conns;	/* conns[id - base - 1] */
	uint64_t base;		/* the ids before the first one */
	uint64_t count, cap;
	int error;		/* the first failure to write; then none */
	char detail[200];
	uint8_t record[16 + 60 + SEGMENT_MAX];	/* its header, the packet */
};

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

/* The ones' complement sum of the Internet checksum, carried on. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int fail(struct conn_capture *cap, const char *what)
{
	if (cap->error == 0) {
		snprintf(cap->detail, sizeof(cap->detail), "%s: %s", what,
			 strerror(errno));
		cap->error = CONN_EIO;
	}
	return cap->error;
}

/* n bytes in one write(2), as a regular file takes them; one that falls
 * short (a full disk, a file size limit) is followed by another for the
 * rest, whose error tells why. */
static int put(struct conn_capture *cap, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t done;

	while (cap->error == 0 && n > 0) {
		done = write(cap->fd, b, n);
		if (done < 0 && errno != EINTR)
			return fail(cap, "cannot write the capture");
		if (done > 0) {
			b += done;
			n -= (size_t)done;
		}
	}
	return cap->error;
}

int conn_capture_open(struct conn_capture **out, char *detail,
		      size_t capacity, const char *path)
{
	struct conn_capture *cap = calloc(1, sizeof(*cap));
	uint8_t head[24] = { 0 };

	*out = NULL;
	if (cap == NULL)
		return CONN_ENOMEM;
	cap->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
		       O_CLOEXEC, 0666);
	if (cap->fd < 0) {
		snprintf(detail, capacity, "cannot create %s: %s", path,
			 strerror(errno));
		free(cap);
		return CONN_EIO;
	}
	le32(head, 0xa1b2c3d4);
	head[4] = 2;		/* version 2.4 */
	head[6] = 4;
	le32(head + 16, SNAPLEN);
	le32(head + 20, LINKTYPE_RAW);
	if (put(cap, head, sizeof(head))) {
		snprintf(detail, capacity, "%s", cap->detail);
		close(cap->fd);
		free(cap);
		return CONN_EIO;
	}
	*out = cap;
	return 0;
}

/* ------------------------------------------------------------ endpoints */

/* An address into r's side: IPv4 (a v4-mapped IPv6 one too) or IPv6;
 * false for one that is no IP socket's. */
static bool take_ip(struct recorded *r, int side, const struct sockaddr *sa,
		    bool *v6)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const struct sockaddr_in6 *s6 = (const void *)sa;
	const struct sockaddr_in *s4 = (const void *)sa;

	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(r->addr[side], mapped, 12);
		memcpy(r->addr[side] + 12, &s4->sin_addr, 4);
		r->port[side] = ntohs(s4->sin_port);
		*v6 = false;
		return true;
	}
	if (sa == NULL || sa->sa_family != AF_INET6)
		return false;
	memcpy(r->addr[side], &s6->sin6_addr, 16);
	r->port[side] = ntohs(s6->sin6_port);
	*v6 = memcmp(r->addr[side], mapped, 12) != 0;
	return true;
}

/* Both ends: the real ones, or for a Unix socket 127.0.0.1:CLIENT_PORTS+
 * for the client and 127.0.0.2:SERVER_PORT for the server.  Addresses
 * are kept as IPv6 (IPv4 as ::ffff:a.b.c.d); a connection is written as
 * IPv4 unless one end is IPv6. */
static void take_endpoints(struct recorded *r, uint64_t id,
			   const struct sockaddr *client,
			   const struct sockaddr *server)
{
	static const uint8_t v4[2][16] = {
		{ [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 },
		{ [10] = 0xff, [11] = 0xff, 127, 0, 0, 2 },
	};
	bool v6[2] = { false, false };

	if (!take_ip(r, 0, client, &v6[0])) {
		memcpy(r->addr[0], v4[0], 16);
		r->port[0] = (uint16_t)(CLIENT_PORTS + id % 16384);
	}
	if (!take_ip(r, 1, server, &v6[1])) {
		memcpy(r->addr[1], v4[1], 16);
		r->port[1] = SERVER_PORT;
	}
	r->v6 = v6[0] || v6[1];
}

/* -------------------------------------------------------------- packets */

static int64_t now_us(int64_t time_us)
{
	struct timeval tv;

	if (time_us >= 0)
		return time_us;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The IP header of a packet of tcp_len bytes of TCP from side to the
 * other, at p; its length. */
static size_t ip_header(uint8_t *p, const struct recorded *r, int side,
			size_t tcp_len)
{
	if (r->v6) {
		memset(p, 0, 40);
		p[0] = 0x60;
		be16(p + 4, (uint16_t)tcp_len);
		p[6] = 6;	/* TCP */
		p[7] = 64;
		memcpy(p + 8, r->addr[side], 16);
		memcpy(p + 24, r->addr[!side], 16);
		return 40;
	}
	memset(p, 0, 20);
	p[0] = 0x45;
	be16(p + 2, (uint16_t)(20 + tcp_len));
	p[6] = 0x40;		/* don't fragment */
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, r->addr[side] + 12, 4);
	memcpy(p + 16, r->addr[!side] + 12, 4);
	be16(p + 10, fold(sum16(0, p, 20)));
	return 20;
}

/* The TCP checksum over the pseudo-header of ip (ip_len bytes). */
static uint16_t tcp_checksum(const uint8_t *ip, size_t ip_len,
			     const uint8_t *tcp, size_t tcp_len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	if (ip_len == 40) {
		sum = sum16(0, ip + 8, 32);
		be32(tail, (uint32_t)tcp_len);
		tail[7] = 6;
		sum = sum16(sum, tail, 8);
	} else {
		sum = sum16(0, ip + 12, 8);
		tail[1] = 6;
		be16(tail + 2, (uint16_t)tcp_len);
		sum = sum16(sum, tail, 4);
	}
	return fold(sum16(sum, tcp, tcp_len));
}

/* One segment from side, its record header first; SYN and FIN take a
 * sequence number each, as TCP counts them. */
static int put_segment(struct conn_capture *cap, struct recorded *r, int side,
		       uint8_t flags, const uint8_t *data, size_t n,
		       int64_t time_us)
{
	uint8_t *record = cap->record, *p = record + 16;
	size_t ip_len = ip_header(p, r, side, 20 + n), len = ip_len + 20 + n;
	uint8_t *tcp = p + ip_len;
	int rc;

	memset(tcp, 0, 20);
	be16(tcp, r->port[side]);
	be16(tcp + 2, r->port[!side]);
	be32(tcp + 4, r->next[side]);
	be32(tcp + 8, (flags & TCP_ACK) ? r->next[!side] : 0);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	be16(tcp + 14, 65535);
	if (n)
		memcpy(tcp + 20, data, n);
	be16(tcp + 16, tcp_checksum(p, ip_len, tcp, 20 + n));
	le32(record, (uint32_t)(time_us / 1000000));
	le32(record + 4, (uint32_t)(time_us % 1000000));
	le32(record + 8, (uint32_t)len);
	le32(record + 12, (uint32_t)len);
	rc = put(cap, record, 16 + len);
	r->next[side] += (uint32_t)n + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
	return rc;
}

static struct recorded *find(struct conn_capture *cap, uint64_t id)
{
	if (id <= cap->base || id - cap->base > cap->count ||
	    !cap->conns[id - cap->base - 1].open)
		return NULL;
	return &cap->conns[id - cap->base - 1];
}

int conn_capture_number_from(struct conn_capture *cap, uint64_t first)
{
	if (cap->count || first == 0)
		return CONN_EINVAL;
	cap->base = first - 1;
	return 0;
}

int conn_capture_connect(struct conn_capture *cap, uint64_t *id,
			 const struct sockaddr *client,
			 const struct sockaddr *server, int64_t time_us)
{
	struct recorded *r;
	int rc;

	if (cap->count == cap->cap) {
		uint64_t n = cap->cap ? cap->cap * 2 : 16;
		struct recorded *grown = realloc(cap->conns,
						 n * sizeof(*grown));

		if (grown == NULL)
			return CONN_ENOMEM;
		cap->conns = grown;
		cap->cap = n;
	}
	r = &cap->conns[cap->count++];
	*id = cap->base + cap->count;
	*r = (struct recorded){ .open = true };
	take_endpoints(r, *id, client, server);
	/* Initial sequence numbers of their own, so that connections on the
	 * same ports (Unix sockets) do not look like one. */
	r->next[0] = (uint32_t)(*id * 0x01000193u);
	r->next[1] = (uint32_t)(*id * 0x9e3779b9u);
	time_us = now_us(time_us);
	rc = put_segment(cap, r, 0, TCP_SYN, NULL, 0, time_us);
	if (rc == 0)
		rc = put_segment(cap, r, 1, TCP_SYN | TCP_ACK, NULL, 0,
				 time_us);
	return rc ? rc : put_segment(cap, r, 0, TCP_ACK, NULL, 0, time_us);
}

int conn_capture_write(struct conn_capture *cap, uint64_t id, int dir,
		       const void *bytes, size_t n, int64_t time_us)
{
	struct recorded *r = find(cap, id);
	const uint8_t *p = bytes;
	size_t take;
	int rc = 0;

	if (r == NULL || (dir != 0 && dir != 1))
		return CONN_EINVAL;
	time_us = now_us(time_us);
	while (rc == 0 && n > 0) {
		take = n < SEGMENT_MAX ? n : SEGMENT_MAX;
		rc = put_segment(cap, r, dir, TCP_ACK | TCP_PSH, p, take,
				 time_us);
		p += take;
		n -= take;
	}
	return rc;
}

int conn_capture_end(struct conn_capture *cap, uint64_t id, int64_t time_us)
{
	struct recorded *r = find(cap, id);
	int rc;

	if (r == NULL)
		return CONN_EINVAL;
	time_us = now_us(time_us);
	rc = put_segment(cap, r, 0, TCP_FIN | TCP_ACK, NULL, 0, time_us);
	if (rc == 0)
		rc = put_segment(cap, r, 1, TCP_FIN | TCP_ACK, NULL, 0,
				 time_us);
	if (rc == 0)
		rc = put_segment(cap, r, 0, TCP_ACK, NULL, 0, time_us);
	r->open = false;
	return rc;
}

int conn_capture_flush(struct conn_capture *cap)
{
	return cap->error;	/* nothing is buffered */
}

const char *conn_capture_detail(const struct conn_capture *cap)
{
	return cap->detail;
}

int conn_capture_close(struct conn_capture *cap, char *detail,
		       size_t capacity)
{
	int rc;

	if (cap == NULL)
		return 0;
	rc = conn_capture_flush(cap);
	if (close(cap->fd) != 0 && rc == 0)
		rc = fail(cap, "cannot write the capture");
	if (rc)
		snprintf(detail, capacity, "%s", cap->detail);
	free(cap->conns);
	free(cap);
	return rc;
}
