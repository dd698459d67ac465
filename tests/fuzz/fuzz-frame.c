/*
 * fuzz-frame.c - libFuzzer harness for the frame decoder
 * (conn_frame_reader_next): a stream cut at split points taken from the
 * input must decode to what the whole stream decodes to.
 *
 * Input: [limits] [split seed, 2 bytes] then the stream of frames.
 * limits, bits 0-1: the size cap (none, 1, 16, 64 KiB); bits 2-3: the
 * largest piece (no limit, 1, 7, 64).
 */
#include "conn.h"
#include "fuzz.h"

#include <stdbool.h>

static const uint64_t max_sizes[4] = { 0, 1, 16, 65536 };
static const size_t max_pieces[4] = { SIZE_MAX, 1, 7, 64 };

/* What a decoding produced: every message's bytes and bounds, hashed. */
struct outcome {
	uint64_t hash;
	uint64_t messages;
	int rc;			/* the error that stopped it, or 0 */
	bool idle;		/* between messages at the end */
};

struct run {
	struct conn_frame_reader r;
	struct outcome o;
	uint64_t offset;	/* where the next piece must start */
	uint64_t max_size;
	size_t max_piece;
};

static void run_init(struct run *run, uint64_t max_size, size_t max_piece)
{
	*run = (struct run){ .o.hash = FUZZ_HASH_INIT, .max_size = max_size,
			     .max_piece = max_piece };
	conn_frame_reader_init(&run->r, max_size);
}

/* A whole message: the reader counts it, and the header we would send for
 * its length reads back as that length. */
static void end_message(struct run *run, uint64_t total)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	uint64_t length;
	size_t size, used;

	run->offset = 0;
	run->o.messages++;
	FUZZ_CHECK(run->r.messages == run->o.messages);
	FUZZ_CHECK(conn_frame_reader_is_idle(&run->r));
	size = conn_frame_header_encode(header, total);
	FUZZ_CHECK(conn_frame_header_decode(&length, &used, header, size) == 0);
	FUZZ_CHECK(length == total && used == size);
}

/* Checks one piece against the bytes it came from and hashes it. */
static void take_piece(struct run *run, const struct conn_piece *p,
		       const uint8_t *bytes, size_t n)
{
	FUZZ_CHECK(p->size <= run->max_piece);
	FUZZ_CHECK(p->data >= bytes && p->data + p->size <= bytes + n);
	FUZZ_CHECK(p->offset == run->offset);
	FUZZ_CHECK(p->offset + p->size <= p->total);
	FUZZ_CHECK(p->size > 0 || p->total == 0);
	FUZZ_CHECK(run->max_size == 0 || p->total <= run->max_size);
	if (conn_piece_is_first(p))
		run->o.hash = fuzz_hash_u64(run->o.hash, p->total);
	run->o.hash = fuzz_hash(run->o.hash, p->data, p->size);
	run->offset += p->size;
	if (conn_piece_is_last(p))
		end_message(run, p->total);
}

/* Feeds one chunk until it is consumed; false once the reader failed. */
static bool feed(struct run *run, const uint8_t *bytes, size_t n)
{
	struct conn_piece p;
	size_t at = 0, used;
	int rc;

	while (at < n) {
		rc = conn_frame_reader_next(&run->r, &p, &used, bytes + at,
					    n - at, run->max_piece);
		FUZZ_CHECK(used <= n - at);
		if (rc == 0)
			take_piece(run, &p, bytes + at, n - at);
		at += used;
		if (rc == CONN_EAGAIN) {
			/* Waiting for more means it took all it was given. */
			FUZZ_CHECK(at == n);
			continue;
		}
		if (rc) {
			FUZZ_CHECK(rc == CONN_EPROTO || rc == CONN_ETOOBIG);
			run->o.rc = rc;
			return false;
		}
		FUZZ_CHECK(used > 0 || p.total == 0);
	}
	return true;
}

static void finish(struct run *run)
{
	const uint8_t *header;
	size_t have = conn_frame_reader_header(&run->r, &header);

	FUZZ_CHECK(have <= CONN_FRAME_HEADER_MAX);
	run->o.idle = conn_frame_reader_is_idle(&run->r);
}

/* The stream in chunks, each in a buffer of its own exact size. */
static void decode_split(struct run *run, const uint8_t *stream, size_t n,
			 unsigned seed)
{
	uint64_t state = fuzz_rand_init(seed);
	size_t at = 0, len;
	uint8_t *chunk;
	bool going = true;

	while (going && at < n) {
		len = fuzz_chunk(&state, seed, n - at);
		chunk = fuzz_copy(stream + at, len);
		going = feed(run, chunk, len);
		free(chunk);
		at += len;
	}
	finish(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t limits = fuzz_byte(&in);
	unsigned seed = fuzz_u16(&in);
	uint64_t max_size = max_sizes[limits & 3];
	struct run whole, split;
	uint8_t *stream = fuzz_copy(in.p, in.n);

	run_init(&whole, max_size, SIZE_MAX);
	feed(&whole, stream, in.n);
	finish(&whole);
	free(stream);

	run_init(&split, max_size, max_pieces[limits >> 2 & 3]);
	decode_split(&split, in.p, in.n, seed);

	FUZZ_CHECK(split.o.rc == whole.o.rc);
	FUZZ_CHECK(split.o.messages == whole.o.messages);
	FUZZ_CHECK(split.o.hash == whole.o.hash);
	FUZZ_CHECK(split.o.idle == whole.o.idle);
	return 0;
}
