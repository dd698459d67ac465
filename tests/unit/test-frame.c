/*
 * test-frame.c - the wire framing against the vectors of frames.json:
 * header encoding and decoding, and the incremental frame reader under
 * every split of its input.
 */
#include "conn.h"
#include "tap.h"
#include "vectors.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAX_MESSAGES 64

/* ----------------------------------------------------- piece collection */

/* Rebuilds messages from pieces, checking every piece invariant. */
struct collect {
	uint8_t *msgs[MAX_MESSAGES];
	size_t lens[MAX_MESSAGES];
	size_t count;
	bool in_msg;
	uint8_t *cur;
	size_t cur_len;
	uint64_t cur_total;
	int errors;
	char why[200];
};

static void collect_fail(struct collect *c, const char *why)
{
	if (c->errors++ == 0)
		snprintf(c->why, sizeof(c->why), "%s", why);
}

static void collect_free(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		free(c->msgs[i]);
	free(c->cur);
	memset(c, 0, sizeof(*c));
}

static void collect_piece(struct collect *c, const struct conn_piece *p,
			  const uint8_t *chunk, size_t chunk_len,
			  size_t max_piece)
{
	if (p->size > max_piece)
		collect_fail(c, "a piece is larger than max_piece");
	if (p->size == 0 && p->total != 0)
		collect_fail(c, "an empty piece of a non-empty message");
	if (p->size && (p->data < chunk || p->data + p->size > chunk +
			chunk_len))
		collect_fail(c, "piece data outside the input given");
	if (!c->in_msg) {
		if (!conn_piece_is_first(p)) {
			collect_fail(c, "a message starts at offset != 0");
			return;
		}
		if (p->total > 10u * 1024 * 1024) {
			collect_fail(c, "an unexpectedly huge message");
			return;
		}
		c->in_msg = true;
		c->cur_total = p->total;
		c->cur_len = 0;
		c->cur = malloc((size_t)p->total + 1);
	} else {
		if (conn_piece_is_first(p))
			collect_fail(c, "a middle piece claims to be first");
		if (p->offset != c->cur_len)
			collect_fail(c, "a piece's offset is not where the "
					"last one ended");
		if (p->total != c->cur_total)
			collect_fail(c, "total changed within a message");
	}
	if (c->cur_len + p->size > c->cur_total) {
		collect_fail(c, "pieces overrun the total");
		return;
	}
	if (p->size)
		memcpy(c->cur + c->cur_len, p->data, p->size);
	c->cur_len += p->size;
	if (conn_piece_is_last(p)) {
		if (c->count == MAX_MESSAGES) {
			collect_fail(c, "too many messages");
			free(c->cur);
		} else {
			c->msgs[c->count] = c->cur;
			c->lens[c->count++] = c->cur_len;
		}
		c->cur = NULL;
		c->in_msg = false;
	}
}

/* Feeds one chunk to the reader until it is all consumed.  Returns the
 * first error other than CONN_EAGAIN, else 0. */
static int feed_chunk(struct conn_frame_reader *r, struct collect *c,
		      const uint8_t *chunk, size_t n, size_t max_piece)
{
	const uint8_t *p = chunk;
	size_t left = n;

	while (left > 0) {
		struct conn_piece piece;
		size_t used = 12345;
		int rc = conn_frame_reader_next(r, &piece, &used, p, left,
						max_piece);

		if (used > left) {
			collect_fail(c, "used exceeds the bytes given");
			return CONN_EINVAL;
		}
		if (rc == CONN_EAGAIN) {
			if (used != left)
				collect_fail(c, "EAGAIN without consuming "
						"everything");
			return 0;
		}
		if (rc)
			return rc;
		if (used == 0) {
			collect_fail(c, "a piece consumed no bytes");
			return CONN_EINVAL;
		}
		collect_piece(c, &piece, chunk, n, max_piece);
		p += used;
		left -= used;
	}
	return 0;
}

/* -------------------------------------------------------------- vectors */

struct frame_vec {
	uint64_t length;
	uint8_t *header;
	size_t header_len;
	uint8_t *payload;	/* NULL when the vector gives none */
	uint8_t *frame;		/* from frame_hex, or NULL */
	size_t frame_len;
};

static size_t load_frames(struct frame_vec *v, size_t max)
{
	json_t *root = vectors_load("frames.json");
	json_t *frames = json_object_get(root, "frames"), *f;
	size_t i, count = 0;

	json_array_foreach(frames, i, f) {
		const char *hex;
		const char *desc = vectors_str(f, "payload_desc");
		size_t len;
		char ch;
		unsigned long long n;

		if (count == max)
			break;
		memset(&v[count], 0, sizeof(v[count]));
		v[count].length =
			(uint64_t)json_integer_value(json_object_get(f,
								     "length"));
		v[count].header = vectors_hex(vectors_str(f, "header_hex"),
					      &v[count].header_len);
		hex = vectors_str(f, "payload_hex");
		if (hex) {
			v[count].payload = vectors_hex(hex, &len);
			if (len != v[count].length)
				printf("# payload_hex length mismatch\n");
		} else if (desc && sscanf(desc, "b'%c' * %llu", &ch, &n) == 2 &&
			   n == v[count].length && n < (1u << 24)) {
			v[count].payload = malloc(n + 1);
			memset(v[count].payload, ch, n);
		}
		hex = vectors_str(f, "frame_hex");
		if (hex)
			v[count].frame = vectors_hex(hex, &v[count].frame_len);
		count++;
	}
	json_decref(root);
	return count;
}

/* The frame built from the vector's header and payload. */
static uint8_t *build_frame(const struct frame_vec *v, size_t *len)
{
	uint8_t *out = malloc(v->header_len + (size_t)v->length + 1);

	memcpy(out, v->header, v->header_len);
	memcpy(out + v->header_len, v->payload, (size_t)v->length);
	*len = v->header_len + (size_t)v->length;
	return out;
}

static void test_vectors(struct frame_vec *v, size_t count)
{
	size_t i, k;
	bool saw_long = false, saw_short_max = false;

	ok(count >= 7, "frames.json has its %zu entries", count);
	for (i = 0; i < count; i++) {
		uint8_t header[CONN_FRAME_HEADER_MAX + 4];
		uint64_t length = 0;
		size_t size, header_size = 0;
		int rc;

		if (v[i].length == 0x80000000ull)
			saw_long = true;
		if (v[i].length == 0x7fffffffull)
			saw_short_max = true;

		memset(header, 0xaa, sizeof(header));
		size = conn_frame_header_encode(header, v[i].length);
		ok(size == v[i].header_len &&
		   memcmp(header, v[i].header, size) == 0 &&
		   header[size] == 0xaa,
		   "encode length %llu gives header %zu bytes as in vector",
		   (unsigned long long)v[i].length, v[i].header_len);

		rc = conn_frame_header_decode(&length, &header_size,
					      v[i].header, v[i].header_len);
		ok(rc == 0 && length == v[i].length &&
		   header_size == v[i].header_len,
		   "decode header of length %llu round-trips (rc %d, got "
		   "%llu/%zu)", (unsigned long long)v[i].length, rc,
		   (unsigned long long)length, header_size);

		/* Trailing payload bytes do not disturb the decoding. */
		memcpy(header, v[i].header, v[i].header_len);
		memset(header + v[i].header_len, 0xff, 4);
		rc = conn_frame_header_decode(&length, &header_size, header,
					      v[i].header_len + 4);
		ok(rc == 0 && length == v[i].length &&
		   header_size == v[i].header_len,
		   "decode header of length %llu with bytes after it",
		   (unsigned long long)v[i].length);

		for (k = 0; k < v[i].header_len; k++) {
			rc = conn_frame_header_decode(&length, &header_size,
						      v[i].header, k);
			if (rc != CONN_EAGAIN)
				break;
		}
		ok(k == v[i].header_len,
		   "decode of length %llu header short by any bytes: EAGAIN "
		   "(failed at %zu bytes, rc %d)",
		   (unsigned long long)v[i].length, k, rc);

		if (v[i].payload) {
			size_t len;
			uint8_t *frame = build_frame(&v[i], &len);

			if (v[i].frame)
				ok(len == v[i].frame_len &&
				   memcmp(frame, v[i].frame, len) == 0,
				   "header + payload of length %llu equal "
				   "frame_hex",
				   (unsigned long long)v[i].length);
			free(frame);
		}
	}
	ok(saw_long, "vectors include the 2^31 long-header boundary");
	ok(saw_short_max, "vectors include 2^31-1");
}

/* Each framed vector fed one byte at a time. */
static void test_reader_bytewise(struct frame_vec *v, size_t count)
{
	size_t i, k;

	for (i = 0; i < count; i++) {
		struct conn_frame_reader r;
		struct collect c = { 0 };
		uint8_t *frame;
		size_t len;
		int rc = 0;
		bool idle_mid = false;

		if (v[i].payload == NULL)
			continue;
		frame = build_frame(&v[i], &len);
		conn_frame_reader_init(&r, 0);
		for (k = 0; k < len && rc == 0; k++) {
			rc = feed_chunk(&r, &c, frame + k, 1, SIZE_MAX);
			if (k + 1 < len && conn_frame_reader_is_idle(&r))
				idle_mid = true;
		}
		ok(rc == 0 && c.errors == 0 && c.count == 1 &&
		   c.lens[0] == v[i].length &&
		   memcmp(c.msgs[0], v[i].payload, (size_t)v[i].length) == 0,
		   "reader byte by byte: length %llu payload exact (rc %d, "
		   "%zu messages%s%s)", (unsigned long long)v[i].length, rc,
		   c.count, c.errors ? ", " : "", c.errors ? c.why : "");
		ok(!idle_mid && conn_frame_reader_is_idle(&r) &&
		   r.messages == 1,
		   "reader byte by byte: length %llu busy until the end, "
		   "then idle with 1 message",
		   (unsigned long long)v[i].length);
		collect_free(&c);
		free(frame);
	}
}

/* All framed vectors back to back, cut at random places (fixed seeds),
 * with random max_piece limits. */
static void test_reader_random_splits(struct frame_vec *v, size_t count)
{
	uint8_t *stream = NULL;
	size_t stream_len = 0, i, expected = 0;
	uint64_t seed = 0x5eed1234abcdull;
	int round, bad_rounds = 0;
	char first_bad[240] = "";

	/* Twice over, so that messages also follow each other. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < count; i++) {
			uint8_t *frame;
			size_t len;

			if (v[i].payload == NULL)
				continue;
			frame = build_frame(&v[i], &len);
			stream = realloc(stream, stream_len + len);
			memcpy(stream + stream_len, frame, len);
			stream_len += len;
			free(frame);
			expected++;
		}
	}

	for (round = 0; round < 200; round++) {
		struct conn_frame_reader r;
		struct collect c = { 0 };
		size_t pos = 0, m, idx;
		size_t max_piece = round % 3 == 0 ? SIZE_MAX :
				   1 + vectors_rand(&seed) % 300;
		size_t max_chunk = round % 2 ? 16 : 100000;
		int rc = 0;
		bool good;

		conn_frame_reader_init(&r, 0);
		while (pos < stream_len && rc == 0) {
			size_t n = 1 + vectors_rand(&seed) % max_chunk;

			if (n > stream_len - pos)
				n = stream_len - pos;
			rc = feed_chunk(&r, &c, stream + pos, n, max_piece);
			pos += n;
		}
		good = rc == 0 && c.errors == 0 && c.count == expected &&
		       conn_frame_reader_is_idle(&r) && r.messages == expected;
		for (m = 0, idx = 0; good && m < c.count; m++) {
			while (v[idx % count].payload == NULL)
				idx++;
			good = c.lens[m] == v[idx % count].length &&
			       memcmp(c.msgs[m], v[idx % count].payload,
				      c.lens[m]) == 0;
			idx++;
		}
		if (!good && bad_rounds++ == 0)
			snprintf(first_bad, sizeof(first_bad),
				 "round %d: rc %d, %zu of %zu messages, %s",
				 round, rc, c.count, expected, c.why);
		collect_free(&c);
	}
	ok(bad_rounds == 0,
	   "reader: 200 random splits of %zu frames (%zu bytes) give every "
	   "payload exactly %s", expected, stream_len, first_bad);
	free(stream);
}

/* --------------------------------------------------------- edge cases */

static void test_negative_lengths(void)
{
	static const uint32_t bad[] = { 0x80000000u, 0x80000001u,
					0xfffffffeu, 0xfffffff0u,
					0xc0000000u };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t h[CONN_FRAME_HEADER_MAX] = { 0 };
		struct conn_frame_reader r;
		struct conn_piece p;
		uint64_t length;
		size_t hs, used = 0;
		int rc;

		h[0] = bad[i] >> 24;
		h[1] = bad[i] >> 16;
		h[2] = bad[i] >> 8;
		h[3] = bad[i];
		rc = conn_frame_header_decode(&length, &hs, h, 4);
		ok(rc == CONN_EPROTO, "decode: length %d gives EPROTO (%d)",
		   (int32_t)bad[i], rc);
		rc = conn_frame_header_decode(&length, &hs, h, sizeof(h));
		ok(rc == CONN_EPROTO,
		   "decode: length %d gives EPROTO with 12 bytes (%d)",
		   (int32_t)bad[i], rc);
		conn_frame_reader_init(&r, 0);
		rc = conn_frame_reader_next(&r, &p, &used, h, sizeof(h),
					    SIZE_MAX);
		ok(rc == CONN_EPROTO && used <= 4,
		   "reader: length %d gives EPROTO (%d, used %zu)",
		   (int32_t)bad[i], rc, used);
	}
}

static void test_long_header_forms(void)
{
	static const uint8_t minus1_short[] = { 0xff, 0xff, 0xff, 0xff,
						0, 0, 0, 0, 0, 0, 0, 5 };
	static const uint8_t long_big[] = { 0xff, 0xff, 0xff, 0xff, 0, 0,
					    0, 1, 0, 0, 0, 0 };
	uint8_t h[CONN_FRAME_HEADER_MAX];
	uint64_t length = 0;
	size_t hs = 0, k;
	int rc;

	/* CPython reads -1 then any 8-byte length, even a short one. */
	rc = conn_frame_header_decode(&length, &hs, minus1_short,
				      sizeof(minus1_short));
	ok(rc == 0 && length == 5 && hs == 12,
	   "decode: -1 then 8-byte length 5 is 5 with a 12-byte header");
	rc = conn_frame_header_decode(&length, &hs, long_big, sizeof(long_big));
	ok(rc == 0 && length == 1ull << 32 && hs == 12,
	   "decode: long header of 2^32");

	ok(conn_frame_header_encode(h, 0xffffffffull) == 12 &&
	   memcmp(h, "\xff\xff\xff\xff\0\0\0\0\xff\xff\xff\xff", 12) == 0,
	   "encode 2^32-1 uses the long header");
	ok(conn_frame_header_encode(h, UINT64_MAX) == 12 &&
	   memcmp(h, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		  12) == 0,
	   "encode 2^64-1 uses the long header");
	ok(conn_frame_header_encode(h, 1) == 4 &&
	   memcmp(h, "\0\0\0\1", 4) == 0, "encode 1");

	for (k = 0; k < 12; k++)
		if (conn_frame_header_decode(&length, &hs, long_big, k) !=
		    CONN_EAGAIN)
			break;
	ok(k == 12, "decode: a long header short by any bytes is EAGAIN");
}

/* The reader over a 2 GiB announcement it never sees the end of. */
static void test_reader_long_header(void)
{
	static const uint8_t h[] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
				     0x80, 0, 0, 0, 'a', 'b', 'c' };
	struct conn_frame_reader r;
	struct conn_piece p = { 0 };
	size_t used = 0, k;
	int rc = 0;
	bool eagain = true;
	const uint8_t *seen;

	conn_frame_reader_init(&r, 0);
	for (k = 0; k < 12; k++) {
		rc = conn_frame_reader_next(&r, &p, &used, h + k, 1, SIZE_MAX);
		if (rc != CONN_EAGAIN || used != 1)
			eagain = false;
		if (k == 5)
			ok(conn_frame_reader_header(&r, &seen) == 6 &&
			   memcmp(seen, h, 6) == 0,
			   "reader_header shows the 6 header bytes seen");
	}
	ok(eagain, "reader: 12 long-header bytes one by one each EAGAIN");
	ok(!conn_frame_reader_is_idle(&r), "reader: not idle after a header");
	rc = conn_frame_reader_next(&r, &p, &used, h + 12, 3, SIZE_MAX);
	ok(rc == 0 && used == 3 && p.size == 3 && p.offset == 0 &&
	   p.total == 0x80000000ull && p.data == h + 12 &&
	   conn_piece_is_first(&p) && !conn_piece_is_last(&p),
	   "reader: first piece of a 2^31-byte message");
	rc = conn_frame_reader_next(&r, &p, &used, h + 12, 3, 2);
	ok(rc == 0 && used == 2 && p.size == 2 && p.offset == 3 &&
	   !conn_piece_is_first(&p), "reader: next piece, max_piece 2");
	ok(!conn_frame_reader_is_idle(&r), "reader: still not idle");

	/* The same at once, with a cap: 2^31-1 is too small, 2^31 is fine. */
	conn_frame_reader_init(&r, 0x7fffffffull);
	rc = conn_frame_reader_next(&r, &p, &used, h, sizeof(h), SIZE_MAX);
	ok(rc == CONN_ETOOBIG, "reader: 2^31 over max_size 2^31-1: ETOOBIG");
	conn_frame_reader_init(&r, 0x80000000ull);
	rc = conn_frame_reader_next(&r, &p, &used, h, sizeof(h), SIZE_MAX);
	ok(rc == 0 && used == sizeof(h) && p.size == 3,
	   "reader: 2^31 at max_size 2^31 is accepted");
}

static void test_reader_max_size(void)
{
	static const uint8_t five[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	static const uint8_t six[] = { 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o',
				       '!' };
	struct conn_frame_reader r;
	struct conn_piece p;
	size_t used;
	int rc;

	conn_frame_reader_init(&r, 5);
	rc = conn_frame_reader_next(&r, &p, &used, five, sizeof(five),
				    SIZE_MAX);
	ok(rc == 0 && p.size == 5 && used == sizeof(five),
	   "reader: 5 bytes at max_size 5 pass");
	rc = conn_frame_reader_next(&r, &p, &used, six, sizeof(six), SIZE_MAX);
	ok(rc == CONN_ETOOBIG, "reader: 6 bytes over max_size 5: ETOOBIG "
	   "(%d)", rc);

	/* Byte by byte, the error comes with the header's last byte. */
	conn_frame_reader_init(&r, 5);
	rc = conn_frame_reader_next(&r, &p, &used, six, 3, SIZE_MAX);
	ok(rc == CONN_EAGAIN && used == 3, "reader: 3 header bytes: EAGAIN");
	rc = conn_frame_reader_next(&r, &p, &used, six + 3, 1, SIZE_MAX);
	ok(rc == CONN_ETOOBIG, "reader: 4th header byte of a too-big "
	   "message: ETOOBIG (%d)", rc);

	conn_frame_reader_init(&r, 0);
	rc = conn_frame_reader_next(&r, &p, &used, six, sizeof(six), SIZE_MAX);
	ok(rc == 0 && p.size == 6, "reader: max_size 0 is no limit");
}

static void test_reader_empty_and_idle(void)
{
	static const uint8_t in[] = { 0, 0, 0, 0, 0, 0, 0, 1, 'A', 0, 0, 0,
				      0 };
	struct conn_frame_reader r;
	struct conn_piece p;
	size_t used;
	int rc;

	conn_frame_reader_init(&r, 0);
	ok(conn_frame_reader_is_idle(&r) && r.messages == 0,
	   "reader: idle when new");
	rc = conn_frame_reader_next(&r, &p, &used, in, sizeof(in), SIZE_MAX);
	ok(rc == 0 && used == 4 && p.size == 0 && p.offset == 0 &&
	   p.total == 0 && conn_piece_is_first(&p) && conn_piece_is_last(&p),
	   "reader: an empty message is one empty piece, first and last");
	ok(conn_frame_reader_is_idle(&r) && r.messages == 1,
	   "reader: idle after the empty message");
	rc = conn_frame_reader_next(&r, &p, &used, in + 4, 2, SIZE_MAX);
	ok(rc == CONN_EAGAIN && used == 2 && !conn_frame_reader_is_idle(&r),
	   "reader: half a header: EAGAIN and not idle");
	rc = conn_frame_reader_next(&r, &p, &used, in + 6, 2, SIZE_MAX);
	ok(rc == CONN_EAGAIN && used == 2 && !conn_frame_reader_is_idle(&r),
	   "reader: a whole header, no payload yet: EAGAIN and not idle");
	rc = conn_frame_reader_next(&r, &p, &used, in + 8, 5, SIZE_MAX);
	ok(rc == 0 && used == 1 && p.size == 1 && p.data[0] == 'A' &&
	   conn_piece_is_first(&p) && conn_piece_is_last(&p),
	   "reader: the one-byte payload, leaving the next frame unread");
	ok(conn_frame_reader_is_idle(&r) && r.messages == 2,
	   "reader: idle again, 2 messages");
	rc = conn_frame_reader_next(&r, &p, &used, in + 9, 4, SIZE_MAX);
	ok(rc == 0 && used == 4 && p.size == 0 && p.total == 0 &&
	   r.messages == 3, "reader: a second empty message");
	rc = conn_frame_reader_next(&r, &p, &used, in, 0, SIZE_MAX);
	ok(rc == CONN_EAGAIN && used == 0 && conn_frame_reader_is_idle(&r),
	   "reader: no bytes: EAGAIN, nothing used");
}

int main(void)
{
	struct frame_vec v[32];
	size_t count = load_frames(v, 32), i;

	test_vectors(v, count);
	test_reader_bytewise(v, count);
	test_reader_random_splits(v, count);
	test_negative_lengths();
	test_long_header_forms();
	test_reader_long_header();
	test_reader_max_size();
	test_reader_empty_and_idle();
	for (i = 0; i < count; i++) {
		free(v[i].header);
		free(v[i].payload);
		free(v[i].frame);
	}
	return tap_done();
}
