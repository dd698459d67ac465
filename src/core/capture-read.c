/*
 * capture-read.c - the messages of captured TCP traffic: packets in (one
 * captured packet's bytes at a time), link layer, IPv4/IPv6 and TCP
 * headers read, each direction of each conversation reassembled by
 * sequence number, then cut into frames and handed out whole.
 *
 * Memory, per direction of a conversation: the message being gathered
 * (at most max_size plus its header, or PLAUSIBLE_MAX while looking for
 * a frame header) and at most HOLD_MAX bytes of segments that arrived
 * ahead of a missing one.  When the held segments would go over it, the
 * missing bytes are given up for lost: a warning, and the direction
 * looks for the next plausible frame header after the gap.  A
 * conversation is freed once both directions have ended (FIN or RST);
 * one never ended keeps a few hundred bytes to the capture's end.  They
 * are looked up newest first, in a list: a capture of thousands of
 * connections open at once reads slowly.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#define HOLD_MAX (4u << 20)	/* bytes held ahead of a gap, a direction */
#define PLAUSIBLE_MAX (16u << 20) /* a frame's length, while hunting */

/* The link types of pcap files (LINKTYPE_...) and libpcap's DLT_RAW. */
enum {
	LINK_NULL = 0, LINK_ETHERNET = 1, LINK_DLT_RAW = 12,
	LINK_DLT_RAW_BSD = 14, LINK_RAW = 101, LINK_LOOP = 108,
	LINK_SLL = 113, LINK_IPV4 = 228, LINK_IPV6 = 229, LINK_SLL2 = 276
};

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_ACK = 0x10 };

/* A segment that came before the bytes ahead of it. */
struct held {
	struct held *next;
	uint32_t seq;
	size_t len;
	uint8_t data[];
};

enum mode {
	MODE_HUNT,	/* looking for a frame header (mid-stream, a gap) */
	MODE_SYNC,	/* at a frame boundary, cutting frames */
	MODE_OFF	/* not this protocol: ignored */
};

/* One direction of a conversation. */
struct half {
	bool started;		/* next is known */
	bool from_start;	/* its SYN was seen */
	bool ended;		/* FIN or RST */
	bool past_handshake;	/* a message that is not the handshake's */
	bool expect_digest;	/* the other side sent a challenge */
	enum mode mode;
	uint32_t next;		/* sequence number of the next byte */
	uint64_t offset;	/* stream offset of buf[0] */
	uint64_t skipped;	/* hunting: bytes passed over so far */
	uint64_t hunt_from;	/* hunting: the stream offset it began at */
	uint8_t *buf;		/* bytes in order, not yet cut */
	size_t len, cap;
	struct held *held;	/* ahead of next, by sequence number */
	size_t held_bytes;
	uint64_t messages;
	char name[2 * INET6_ADDRSTRLEN + 20];	/* "SRC>DST" */
	size_t src_len;		/* SRC's length in name */
};

/* Both ends of a TCP conversation, as packet headers have them. */
struct endpoints {
	uint8_t addr[2][16];	/* IPv4 in the first 4 bytes */
	uint16_t port[2];
	bool v6;
};

struct conv {
	struct conv *next;
	uint64_t id;
	struct endpoints ends;	/* ends 0 is the one that spoke first */
	struct half half[2];	/* half[d]: what ends d sent */
};

struct conn_capture_reader {
	int link;
	uint16_t port;		/* 0: every conversation that parses */
	uint64_t max_size;
	conn_capture_fn *fn;
	conn_log_fn *log;
	void *ctx;
	struct conv *convs;	/* newest first */
	uint64_t count;
	int64_t time_us;	/* of the packet in hand */
};

/* One TCP segment, out of the packet it came in. */
struct segment {
	struct endpoints ends;	/* ends 0 sent it */
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *data;
	size_t len;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void say(struct conn_capture_reader *r, enum conn_log_level level,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(struct conn_capture_reader *r, enum conn_log_level level,
		const char *fmt, ...)
{
	char line[400];
	va_list ap;

	if (r->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->log(r->ctx, level, line);
}

/* ------------------------------------------------------ headers, pure */

/* TCP over the IP payload p (n bytes); false if it is no TCP segment. */
static bool parse_tcp(struct segment *s, const uint8_t *p, size_t n)
{
	size_t header;

	if (n < 20)
		return false;
	header = (size_t)(p[12] >> 4) * 4;
	if (header < 20 || header > n)
		return false;
	s->ends.port[0] = be16(p);
	s->ends.port[1] = be16(p + 2);
	s->seq = be32(p + 4);
	s->ack = be32(p + 8);
	s->flags = p[13];
	s->data = p + header;
	s->len = n - header;
	return true;
}

static bool parse_ipv4(struct segment *s, const uint8_t *p, size_t n)
{
	size_t header, total;

	if (n < 20)
		return false;
	header = (size_t)(p[0] & 15) * 4;
	total = be16(p + 2);
	/* Fragments are not put back together: TCP rarely makes them. */
	if (header < 20 || total < header || p[9] != 6 ||
	    (be16(p + 6) & 0x3fff) != 0)
		return false;
	if (total < n)		/* the link layer's padding */
		n = total;
	if (header > n)
		return false;
	memset(&s->ends, 0, sizeof(s->ends));
	memcpy(s->ends.addr[0], p + 12, 4);
	memcpy(s->ends.addr[1], p + 16, 4);
	return parse_tcp(s, p + header, n - header);
}

/* IPv6, through the extension headers a TCP segment may follow. */
static bool parse_ipv6(struct segment *s, const uint8_t *p, size_t n)
{
	size_t at = 40, payload;
	uint8_t next;

	if (n < 40)
		return false;
	payload = be16(p + 4);
	if (40 + payload < n)
		n = 40 + payload;
	next = p[6];
	while (next == 0 || next == 43 || next == 60) {	/* hop, route, dst */
		if (at + 8 > n)
			return false;
		next = p[at];
		at += ((size_t)p[at + 1] + 1) * 8;
	}
	if (next != 6 || at > n)	/* a fragment (44) among others */
		return false;
	memset(&s->ends, 0, sizeof(s->ends));
	s->ends.v6 = true;
	memcpy(s->ends.addr[0], p + 8, 16);
	memcpy(s->ends.addr[1], p + 24, 16);
	return parse_tcp(s, p + at, n - at);
}

/* An IP packet of either version, by its first nibble. */
static bool parse_ip(struct segment *s, const uint8_t *p, size_t n)
{
	if (n < 1)
		return false;
	if (p[0] >> 4 == 4)
		return parse_ipv4(s, p, n);
	return p[0] >> 4 == 6 && parse_ipv6(s, p, n);
}

/* An ethertype's payload; the others are not IP. */
static bool parse_ethertype(struct segment *s, uint16_t type,
			    const uint8_t *p, size_t n)
{
	if (type == 0x0800 || type == 0x86dd)
		return parse_ip(s, p, n);
	return false;
}

static bool parse_ethernet(struct segment *s, const uint8_t *p, size_t n)
{
	size_t at = 12;
	uint16_t type;

	if (n < 14)
		return false;
	type = be16(p + at);
	while ((type == 0x8100 || type == 0x88a8) && at + 6 <= n) {
		at += 4;	/* a VLAN tag */
		type = be16(p + at);
	}
	return parse_ethertype(s, type, p + at + 2, n - at - 2);
}

/* The TCP segment in a packet of link type link; false if none. */
static bool parse_packet(struct segment *s, int link, const uint8_t *p,
			 size_t n)
{
	switch (link) {
	case LINK_ETHERNET:
		return parse_ethernet(s, p, n);
	case LINK_SLL:
		return n >= 16 && parse_ethertype(s, be16(p + 14), p + 16,
						  n - 16);
	case LINK_SLL2:
		return n >= 20 && parse_ethertype(s, be16(p), p + 20, n - 20);
	case LINK_NULL:
	case LINK_LOOP:
		/* The address family's value differs between systems and
		 * byte orders; the IP header says its version itself. */
		return n >= 4 && parse_ip(s, p + 4, n - 4);
	case LINK_RAW:
	case LINK_DLT_RAW:
	case LINK_DLT_RAW_BSD:
	case LINK_IPV4:
	case LINK_IPV6:
		return parse_ip(s, p, n);
	}
	return false;
}

bool conn_capture_link_supported(int link)
{
	/* The cases of parse_packet(). */
	switch (link) {
	case LINK_NULL: case LINK_ETHERNET: case LINK_DLT_RAW:
	case LINK_DLT_RAW_BSD: case LINK_RAW: case LINK_LOOP: case LINK_SLL:
	case LINK_IPV4: case LINK_IPV6: case LINK_SLL2:
		return true;
	}
	return false;
}

/* ------------------------------------------------------- conversations */

static void endpoint_text(char *out, size_t capacity,
			  const struct endpoints *e, int side)
{
	char host[INET6_ADDRSTRLEN];

	inet_ntop(e->v6 ? AF_INET6 : AF_INET, e->addr[side], host,
		  sizeof(host));
	snprintf(out, capacity, e->v6 ? "[%s]:%u" : "%s:%u", host,
		 (unsigned)e->port[side]);
}

/* "SRC>DST" of each half, once. */
static void name_halves(struct conv *c)
{
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];

	endpoint_text(a, sizeof(a), &c->ends, 0);
	endpoint_text(b, sizeof(b), &c->ends, 1);
	snprintf(c->half[0].name, sizeof(c->half[0].name), "%s>%s", a, b);
	snprintf(c->half[1].name, sizeof(c->half[1].name), "%s>%s", b, a);
	c->half[0].src_len = strlen(a);
	c->half[1].src_len = strlen(b);
}

static bool same_side(const struct endpoints *a, int i,
		      const struct endpoints *b, int j)
{
	return a->port[i] == b->port[j] &&
	       memcmp(a->addr[i], b->addr[j], 16) == 0;
}

/* The conversation of s and the direction s goes in, or NULL. */
static struct conv *find_conv(struct conn_capture_reader *r,
			      const struct segment *s, int *dir)
{
	struct conv *c;

	/* Newest first: a capture's packets mostly belong to the few
	 * conversations that are going on. */
	for (c = r->convs; c != NULL; c = c->next) {
		if (c->ends.v6 != s->ends.v6)
			continue;
		if (same_side(&c->ends, 0, &s->ends, 0) &&
		    same_side(&c->ends, 1, &s->ends, 1)) {
			*dir = 0;
			return c;
		}
		if (same_side(&c->ends, 0, &s->ends, 1) &&
		    same_side(&c->ends, 1, &s->ends, 0)) {
			*dir = 1;
			return c;
		}
	}
	return NULL;
}

static bool conv_ended(const struct conv *c)
{
	return c->half[0].ended && c->half[1].ended;
}

/* A new conversation; its first segment's sender is its side 0, except
 * for a SYN-ACK: the side that answers is the server. */
static int add_conv(struct conv **out, struct conn_capture_reader *r,
		    const struct segment *s, int *dir)
{
	struct conv *c = calloc(1, sizeof(*c));
	bool answer = (s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);

	if (c == NULL)
		return CONN_ENOMEM;
	c->id = ++r->count;
	c->ends = s->ends;
	*dir = 0;
	if (answer) {
		memcpy(c->ends.addr[0], s->ends.addr[1], 16);
		memcpy(c->ends.addr[1], s->ends.addr[0], 16);
		c->ends.port[0] = s->ends.port[1];
		c->ends.port[1] = s->ends.port[0];
		*dir = 1;
	}
	name_halves(c);
	c->next = r->convs;
	r->convs = c;
	*out = c;
	return 0;
}

static void half_free(struct half *h)
{
	struct held *g;

	while ((g = h->held) != NULL) {
		h->held = g->next;
		free(g);
	}
	h->held_bytes = 0;
	free(h->buf);
	h->buf = NULL;
	h->len = h->cap = 0;
}

/* A conversation ended both ways goes: a new SYN on its ports is a new
 * one, and its memory is not kept to the end of the capture. */
static void drop_conv(struct conn_capture_reader *r, struct conv *c)
{
	struct conv **at = &r->convs;

	while (*at != c)
		at = &(*at)->next;
	*at = c->next;
	free(c);	/* its halves were freed as they ended */
}

/* ------------------------------------------------------------ messages */

/* A message of the handshake: its label, or NULL. */
static const char *handshake_label(struct half *h, struct half *other,
				   const uint8_t *p, size_t n)
{
	const char *label = NULL;

	if (h->past_handshake)
		return NULL;
	if (n >= 11 && memcmp(p, "#CHALLENGE#", 11) == 0) {
		label = "challenge";
		other->expect_digest = true;
	} else if (n == 9 && memcmp(p, "#WELCOME#", 9) == 0) {
		label = "welcome";
	} else if (n == 9 && memcmp(p, "#FAILURE#", 9) == 0) {
		label = "failure";
	} else if (h->expect_digest) {
		label = "digest";
	}
	h->expect_digest = false;
	if (label == NULL)
		h->past_handshake = true;
	return label;
}

static int emit(struct conn_capture_reader *r, struct conv *c, int dir,
		const uint8_t *p, size_t n)
{
	struct half *h = &c->half[dir];
	struct conn_capture_message m = {
		.conn = c->id, .dir = dir, .time_us = r->time_us,
		.data = p, .size = n,
	};
	char src[sizeof(h->name)];

	memcpy(src, h->name, h->src_len);
	src[h->src_len] = '\0';
	m.src = src;
	m.dst = h->name + h->src_len + 1;
	m.handshake = handshake_label(h, &c->half[!dir], p, n);
	h->messages++;
	return r->fn ? r->fn(r->ctx, &m) : 0;
}

/* How long the frame at p says it is, header (*header bytes) and all,
 * if the header is there and plausible (its length at most limit, the
 * long form only for what the short one cannot say): FRAME_YES;
 * FRAME_NO if it is no frame, FRAME_SHORT if the header is not all
 * there. */
enum frame { FRAME_NO, FRAME_YES, FRAME_SHORT };

static enum frame frame_at(uint64_t *size, size_t *header, const uint8_t *p,
		    size_t n, uint64_t limit)
{
	uint64_t length;
	int rc = conn_frame_header_decode(&length, header, p, n);

	if (rc == CONN_EAGAIN)
		return FRAME_SHORT;
	/* A long header's length near 2^64 would wrap size around. */
	if (rc || (limit && length > limit) ||
	    (*header > 4 && length <= CONN_FRAME_SHORT_MAX) ||
	    length > UINT64_MAX - *header)
		return FRAME_NO;
	*size = *header + length;
	return FRAME_YES;
}

enum hunt { HUNT_NO, HUNT_YES, HUNT_WAIT };

/*
 * Whether a frame header plausibly starts at p[0]: a chain of plausible
 * frames from there ends exactly where the bytes in hand end (a packet's
 * end, where senders mostly end a message), or runs past it after two
 * whole frames at least; HUNT_WAIT when too few bytes tell.
 */
static enum hunt plausible_at(const uint8_t *p, size_t n, uint64_t limit)
{
	uint64_t at = 0, size;
	size_t header;
	int frames = 0;
	enum frame f;

	while (at < n) {
		f = frame_at(&size, &header, p + at, (size_t)(n - at), limit);
		if (f == FRAME_SHORT)
			return frames >= 2 ? HUNT_YES : HUNT_WAIT;
		if (f == FRAME_NO)
			return HUNT_NO;
		at += size;
		if (at <= n)
			frames++;
		else if (frames >= 2)
			return HUNT_YES;
		else
			return HUNT_WAIT;
	}
	return HUNT_YES;
}

static uint64_t hunt_limit(const struct conn_capture_reader *r)
{
	return r->max_size && r->max_size < PLAUSIBLE_MAX ? r->max_size
							  : PLAUSIBLE_MAX;
}

static void drop_front(struct half *h, size_t n)
{
	if (n == 0)
		return;	/* buf may be NULL, which memmove() may not get */
	memmove(h->buf, h->buf + n, h->len - n);
	h->len -= n;
	h->offset += n;
}

/* MODE_HUNT: skips to the first plausible frame header; true once in
 * step, saying how much was skipped.  A candidate that needs more bytes
 * is waited for; with none, all but the last 3 bytes go (a header may
 * start there). */
static bool hunt(struct conn_capture_reader *r, struct conv *c, int dir)
{
	struct half *h = &c->half[dir];
	uint64_t limit = hunt_limit(r);
	enum hunt found = HUNT_NO;
	size_t at;

	if (h->skipped == 0)
		h->hunt_from = h->offset;
	for (at = 0; at + 4 <= h->len; at++) {
		found = plausible_at(h->buf + at, h->len - at, limit);
		if (found != HUNT_NO)
			break;
	}
	if (found == HUNT_NO)
		at = h->len > 3 ? h->len - 3 : 0;
	h->skipped += at;
	drop_front(h, at);
	if (found != HUNT_YES)
		return false;
	if (h->skipped)
		say(r, CONN_LOG_WARNING, "connection %llu %s: skipped %llu "
		    "bytes at stream offset %llu to the first plausible "
		    "frame header", (unsigned long long)c->id, h->name,
		    (unsigned long long)h->skipped,
		    (unsigned long long)h->hunt_from);
	h->skipped = 0;
	h->mode = MODE_SYNC;
	return true;
}

/*
 * MODE_SYNC: hands out every whole frame in buf.  A header that is no
 * frame (or over max_size) turns the direction to hunting, with a
 * warning; or, on the first frame of a conversation no --port chose,
 * says the conversation is not this protocol.
 */
static int cut_frames(struct conn_capture_reader *r, struct conv *c, int dir)
{
	struct half *h = &c->half[dir];
	bool chosen = r->port != 0;
	size_t at = 0, header;
	uint64_t size;
	enum frame found;
	int rc = 0;

	while (rc == 0 && h->mode == MODE_SYNC) {
		uint64_t limit = h->messages || chosen ? r->max_size
						       : hunt_limit(r);

		if (at == h->len)
			break;	/* buf may be NULL: no pointer past it */
		found = frame_at(&size, &header, h->buf + at, h->len - at,
				 limit);
		if (found == FRAME_SHORT ||
		    (found == FRAME_YES && size > h->len - at))
			break;
		if (found == FRAME_YES) {
			rc = emit(r, c, dir, h->buf + at + header,
				  (size_t)size - header);
			at += (size_t)size;
		} else if (h->messages == 0 && c->half[!dir].messages == 0 &&
			   !chosen) {
			h->mode = c->half[!dir].mode = MODE_OFF;
		} else {
			say(r, CONN_LOG_WARNING, "connection %llu %s: no frame "
			    "header at stream offset %llu: looking for the "
			    "next", (unsigned long long)c->id, h->name,
			    (unsigned long long)(h->offset + at));
			h->mode = MODE_HUNT;
		}
	}
	drop_front(h, at);
	return rc;
}

/* Cuts what buf holds, hunting first where needed. */
static int take_bytes(struct conn_capture_reader *r, struct conv *c, int dir)
{
	struct half *h = &c->half[dir];
	int rc = 0;

	while (rc == 0) {
		if (h->mode == MODE_OFF) {
			h->offset += h->len;
			h->len = 0;
			return 0;
		}
		if (h->mode == MODE_HUNT && !hunt(r, c, dir))
			return 0;
		rc = cut_frames(r, c, dir);
		if (h->mode != MODE_HUNT)
			break;
	}
	return rc;
}

/* --------------------------------------------------------- reassembly */

static int append(struct half *h, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;	/* buf may be NULL, which memcpy() may not get */
	if (h->cap - h->len < n) {
		size_t cap = h->cap ? h->cap : 4096;
		uint8_t *grown;

		while (cap - h->len < n)
			cap *= 2;
		grown = realloc(h->buf, cap);
		if (grown == NULL)
			return CONN_ENOMEM;
		h->buf = grown;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
	h->next += (uint32_t)n;
	return 0;
}

/* Bytes at seq (n of them) in order: what is not already had goes on. */
static int take_in_order(struct half *h, uint32_t seq, const uint8_t *p,
			 size_t n)
{
	uint32_t old = h->next - seq;	/* bytes already had */

	if (old >= n)
		return 0;
	return append(h, p + old, n - old);
}

/* Whether seq is at or before next, in sequence space. */
static bool due(const struct half *h, uint32_t seq)
{
	return (int32_t)(seq - h->next) <= 0;
}

/* Moves the held segments that are now in order into buf. */
static int take_held(struct half *h)
{
	struct held *g;
	int rc = 0;

	while (rc == 0 && (g = h->held) != NULL && due(h, g->seq)) {
		h->held = g->next;
		h->held_bytes -= g->len;
		rc = take_in_order(h, g->seq, g->data, g->len);
		free(g);
	}
	return rc;
}

/* Keeps a segment ahead of a gap, in sequence order. */
static int hold(struct half *h, uint32_t seq, const uint8_t *p, size_t n)
{
	struct held **at = &h->held, *g;

	while (*at != NULL && (int32_t)((*at)->seq - seq) < 0)
		at = &(*at)->next;
	if (*at != NULL && (*at)->seq == seq && (*at)->len >= n)
		return 0;	/* a retransmission of one held */
	g = malloc(sizeof(*g) + n);
	if (g == NULL)
		return CONN_ENOMEM;
	g->seq = seq;
	g->len = n;
	memcpy(g->data, p, n);
	g->next = *at;
	*at = g;
	h->held_bytes += n;
	return 0;
}

/* The bytes before the first held segment are lost: what was being cut
 * goes, and the direction looks for a frame header after the gap. */
static void skip_gap(struct conn_capture_reader *r, struct conv *c, int dir)
{
	struct half *h = &c->half[dir];
	uint32_t missing = h->held->seq - h->next;

	say(r, CONN_LOG_WARNING, "connection %llu %s: %lu bytes missing from "
	    "the capture at stream offset %llu: looking for the next frame "
	    "header", (unsigned long long)c->id, h->name,
	    (unsigned long)missing, (unsigned long long)(h->offset + h->len));
	h->offset += h->len + missing;
	h->len = 0;
	h->next = h->held->seq;
	if (h->mode != MODE_OFF)
		h->mode = MODE_HUNT;
}

/* A direction's first sequence number: from its start (its SYN seen, or
 * acknowledged), in step; else mid-stream, looking for a frame header. */
static void start_half(struct half *h, uint32_t next, bool from_start)
{
	h->started = true;
	h->from_start = from_start;
	h->mode = from_start ? MODE_SYNC : MODE_HUNT;
	h->next = next;
}

/* A segment's payload into its direction: in order, or held. */
static int take_segment(struct conn_capture_reader *r, struct conv *c,
			int dir, const struct segment *s)
{
	struct half *h = &c->half[dir];
	uint32_t seq = s->seq + ((s->flags & TCP_SYN) ? 1 : 0);
	int rc = 0;

	if (!h->started)
		start_half(h, seq, (s->flags & TCP_SYN) != 0);
	/* A SYN-ACK acknowledges the SYN: the other side's stream starts at
	 * its acknowledgement number, even when the SYN was not captured. */
	if ((s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) &&
	    !c->half[!dir].started)
		start_half(&c->half[!dir], s->ack, true);
	if (s->len == 0 || h->mode == MODE_OFF)
		return 0;
	if (!due(h, seq) && h->held != NULL &&
	    h->held_bytes + s->len > HOLD_MAX)
		skip_gap(r, c, dir);
	if (due(h, seq))
		rc = take_in_order(h, seq, s->data, s->len);
	else
		rc = hold(h, seq, s->data, s->len);
	if (rc == 0)
		rc = take_held(h);
	return rc ? rc : take_bytes(r, c, dir);
}

/* The end of one direction (FIN or RST, or the capture's): a gap left
 * is skipped, what follows it cut; a message not whole is reported. */
static int end_half(struct conn_capture_reader *r, struct conv *c, int dir)
{
	struct half *h = &c->half[dir];
	int rc = 0;

	while (rc == 0 && h->held != NULL) {
		skip_gap(r, c, dir);
		rc = take_held(h);
		if (rc == 0)
			rc = take_bytes(r, c, dir);
	}
	if (rc == 0 && h->mode == MODE_HUNT && h->skipped + h->len > 0)
		say(r, CONN_LOG_WARNING, "connection %llu %s: %llu bytes at "
		    "stream offset %llu hold no frame header",
		    (unsigned long long)c->id, h->name,
		    (unsigned long long)(h->skipped + h->len),
		    (unsigned long long)h->hunt_from);
	else if (rc == 0 && h->len > 0 && h->mode == MODE_SYNC)
		say(r, CONN_LOG_WARNING, "connection %llu %s: %zu bytes at "
		    "stream offset %llu are no whole message (cut short)",
		    (unsigned long long)c->id, h->name, h->len,
		    (unsigned long long)h->offset);
	h->ended = true;
	half_free(h);
	return rc;
}

/* Whether a segment belongs to the conversations asked for. */
static bool wanted(const struct conn_capture_reader *r,
		   const struct segment *s)
{
	return r->port == 0 || s->ends.port[0] == r->port ||
	       s->ends.port[1] == r->port;
}

int conn_capture_reader_new(struct conn_capture_reader **out, int link,
			    uint16_t port, uint64_t max_size,
			    conn_capture_fn *fn, conn_log_fn *log, void *ctx)
{
	struct conn_capture_reader *r;

	*out = NULL;
	if (!conn_capture_link_supported(link))
		return CONN_EINVAL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return CONN_ENOMEM;
	*r = (struct conn_capture_reader){ .link = link, .port = port,
		.max_size = max_size, .fn = fn, .log = log, .ctx = ctx };
	*out = r;
	return 0;
}

int conn_capture_reader_packet(struct conn_capture_reader *r,
			       const uint8_t *bytes, size_t n,
			       int64_t time_us)
{
	struct segment s;
	struct conv *c;
	int dir, rc = 0;

	if (!parse_packet(&s, r->link, bytes, n) || !wanted(r, &s))
		return 0;
	r->time_us = time_us;
	c = find_conv(r, &s, &dir);
	/* The last ACK after the FINs, or a stray one, starts nothing. */
	if (c == NULL && s.len == 0 && !(s.flags & TCP_SYN))
		return 0;
	if (c == NULL)
		rc = add_conv(&c, r, &s, &dir);
	if (rc || c->half[dir].ended)
		return rc;
	rc = take_segment(r, c, dir, &s);
	if (rc == 0 && (s.flags & (TCP_FIN | TCP_RST)))
		rc = end_half(r, c, dir);
	if (rc == 0 && (s.flags & TCP_RST) && !c->half[!dir].ended)
		rc = end_half(r, c, !dir);
	if (conv_ended(c))
		drop_conv(r, c);
	return rc;
}

int conn_capture_reader_finish(struct conn_capture_reader *r)
{
	struct conv *c;
	int dir, rc = 0;

	for (c = r->convs; c != NULL && rc == 0; c = c->next)
		for (dir = 0; dir < 2 && rc == 0; dir++)
			if (!c->half[dir].ended)
				rc = end_half(r, c, dir);
	return rc;
}

void conn_capture_reader_free(struct conn_capture_reader *r)
{
	struct conv *c;

	if (r == NULL)
		return;
	while ((c = r->convs) != NULL) {
		r->convs = c->next;
		half_free(&c->half[0]);
		half_free(&c->half[1]);
		free(c);
	}
	free(r);
}
