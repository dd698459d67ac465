/*
 * fuzz-decoder.c - libFuzzer harness for the input formats' decoders
 * (conn_decoder_next): lines, null, raw, frames, hex, quoted and json.
 * The stream is read the way the relay reads stdin, in chunks cut at split
 * points taken from the input, and must give the messages that decoding
 * the whole stream at once gives.
 *
 * Input: [format] [limits] [pickle protocol] [split seed, 2 bytes] stream.
 * format: its number modulo 7 (lines, null, raw, frames, hex, quoted,
 * json); limits, bits 0-1: --max-size (none, 1, 16, 1 KiB), bits 2-3:
 * --chunk-size (1, 3, 64, 64 KiB), bits 4-5: the largest piece (no limit,
 * 1, 5, 64); pickle protocol: modulo 6.
 */
#include "conn.h"
#include "fuzz.h"

#include <stdbool.h>

#define INPUT_FORMATS (CONN_FORMAT_JSON + 1)

static const uint64_t max_sizes[4] = { 0, 1, 16, 1024 };
static const size_t chunk_sizes[4] = { 1, 3, 64, 65536 };
static const size_t max_pieces[4] = { SIZE_MAX, 1, 5, 64 };

/* What a decoding produced.  Raw messages are cut where reads end, so
 * only their bytes, not their bounds, must match between decodings. */
struct outcome {
	uint64_t hash;		/* the messages, each with its length */
	uint64_t bytes_hash;	/* the bytes of all messages in a row */
	uint64_t *ends;		/* hash after each whole message */
	size_t messages, cap;
	int rc;
};

struct run {
	struct conn_decoder d;
	struct outcome o;
	uint64_t offset;	/* where the next piece must start */
	size_t max_piece;
	unsigned stalls;	/* calls in a row that did nothing */
};

static void run_init(struct run *run, const uint8_t *control, size_t max_piece)
{
	enum conn_format f = (enum conn_format)(control[0] % INPUT_FORMATS);

	*run = (struct run){ .o.hash = FUZZ_HASH_INIT,
			     .o.bytes_hash = FUZZ_HASH_INIT,
			     .max_piece = max_piece };
	conn_decoder_init(&run->d, f, max_sizes[control[1] & 3],
			  chunk_sizes[control[1] >> 2 & 3]);
	run->d.pickle_protocol = control[2] % 6;
}

static void end_message(struct outcome *o)
{
	uint64_t *grown;

	if (o->messages == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 16;
		grown = realloc(o->ends, o->cap * sizeof(*o->ends));
		if (grown == NULL)
			abort();
		o->ends = grown;
	}
	o->ends[o->messages++] = o->hash;
}

static void take_piece(struct run *run, const struct conn_piece *p)
{
	FUZZ_CHECK(p->size <= run->max_piece);
	FUZZ_CHECK(p->offset == run->offset);
	FUZZ_CHECK(p->offset + p->size <= p->total);
	FUZZ_CHECK(p->size > 0 || p->total == 0);
	/* Frames stream whatever their length, raw messages are bounded by
	 * the chunk size and json ones only by the window on their text. */
	if (run->d.max_size && run->d.format != CONN_FORMAT_FRAMES &&
	    run->d.format != CONN_FORMAT_RAW &&
	    run->d.format != CONN_FORMAT_JSON)
		FUZZ_CHECK(p->total <= run->d.max_size);
	if (run->d.format == CONN_FORMAT_RAW)
		FUZZ_CHECK(p->total <= run->d.chunk_size);
	if (conn_piece_is_first(p))
		run->o.hash = fuzz_hash_u64(run->o.hash, p->total);
	run->o.hash = fuzz_hash(run->o.hash, p->data, p->size);
	run->o.bytes_hash = fuzz_hash(run->o.bytes_hash, p->data, p->size);
	run->offset += p->size;
	if (conn_piece_is_last(p)) {
		run->offset = 0;
		end_message(&run->o);
	}
}

/*
 * One call on the n bytes in view.  Returns the bytes consumed, or
 * SIZE_MAX once the decoder wants more than there is (or is done) or
 * failed; run->o.rc then says which.
 */
static size_t step(struct run *run, const uint8_t *view, size_t n, bool eof)
{
	struct conn_piece p;
	size_t used = SIZE_MAX;
	int rc = conn_decoder_next(&run->d, &p, &used, view, n, eof,
				   run->max_piece);

	FUZZ_CHECK(used <= n);
	FUZZ_CHECK(fuzz_terminated(run->d.detail, sizeof(run->d.detail)));
	if (rc == 0)
		take_piece(run, &p);
	if (rc == CONN_EAGAIN && used == 0) {
		/* The caller's window must suffice for what it waits for. */
		FUZZ_CHECK(eof || n <= conn_decoder_window(&run->d));
		return SIZE_MAX;
	}
	if (rc && rc != CONN_EAGAIN) {
		FUZZ_CHECK(rc == CONN_EPROTO || rc == CONN_ETOOBIG ||
			   rc == CONN_ETRUNC);
		FUZZ_CHECK(run->d.detail[0] != '\0');
		run->o.rc = rc;
		return SIZE_MAX;
	}
	/* Every call moves on: it consumes bytes or hands some out. */
	if (used > 0 || (rc == 0 && p.size > 0))
		run->stalls = 0;
	else
		run->stalls++;
	FUZZ_CHECK(run->stalls < 3);
	return used;
}

/*
 * Decodes what is in view until the decoder wants more; false once it is
 * done or failed.  *view and *n keep what was not consumed.  The view ends
 * where its buffer ends, so ASan sees a read past the bytes given.
 */
static bool pump(struct run *run, uint8_t **view, size_t *n, bool eof)
{
	size_t at = 0, used;
	uint8_t *rest;

	for (;;) {
		used = step(run, *view + at, *n - at, eof);
		if (used == SIZE_MAX)
			break;
		at += used;
	}
	rest = fuzz_copy(*view + at, *n - at);
	free(*view);
	*view = rest;
	*n -= at;
	return run->o.rc == 0 && !eof;
}

/* Appends the next chunk of the stream to the bytes in view. */
static void add_input(uint8_t **view, size_t *n, const uint8_t *bytes,
		      size_t len)
{
	uint8_t *grown = malloc(*n + len);

	if (grown == NULL)
		abort();
	if (*n > 0)
		memcpy(grown, *view, *n);
	memcpy(grown + *n, bytes, len);
	free(*view);
	*view = grown;
	*n += len;
}

/* As the relay reads stdin: a chunk at a time, eof after the last. */
static void decode_split(struct run *run, const uint8_t *stream, size_t len,
			 unsigned seed)
{
	uint64_t state = fuzz_rand_init(seed);
	uint8_t *view = fuzz_copy(NULL, 0);
	size_t n = 0, at = 0, chunk;
	bool going = true;

	while (going && at < len) {
		chunk = fuzz_chunk(&state, seed, len - at);
		add_input(&view, &n, stream + at, chunk);
		at += chunk;
		going = pump(run, &view, &n, false);
	}
	if (going)
		pump(run, &view, &n, true);
	free(view);
}

static void decode_whole(struct run *run, const uint8_t *stream, size_t len)
{
	uint8_t *view = fuzz_copy(stream, len);
	size_t n = len;

	pump(run, &view, &n, true);
	free(view);
}

/*
 * The same messages, except that a line longer than the window is refused
 * as soon as that much of it is in view, while the whole stream may still
 * cut it (a hex line padded with spaces, say): then the messages before it
 * must agree.
 */
static void compare(const struct run *whole, const struct run *split)
{
	size_t n = split->o.messages;

	if (whole->d.format == CONN_FORMAT_RAW) {
		if (whole->o.rc == split->o.rc)
			FUZZ_CHECK(whole->o.bytes_hash == split->o.bytes_hash);
		return;
	}
	if (whole->o.rc != split->o.rc || whole->o.messages != n) {
		FUZZ_CHECK(split->o.rc == CONN_ETOOBIG);
		FUZZ_CHECK(n <= whole->o.messages);
		FUZZ_CHECK(n == 0 || whole->o.ends[n - 1] == split->o.ends[n - 1]);
		return;
	}
	FUZZ_CHECK(whole->o.hash == split->o.hash);
	FUZZ_CHECK(whole->o.bytes_hash == split->o.bytes_hash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t control[3];
	unsigned seed;
	struct run whole, split;

	control[0] = fuzz_byte(&in);
	control[1] = fuzz_byte(&in);
	control[2] = fuzz_byte(&in);
	seed = fuzz_u16(&in);

	run_init(&whole, control, SIZE_MAX);
	decode_whole(&whole, in.p, in.n);
	run_init(&split, control, max_pieces[control[1] >> 4 & 3]);
	decode_split(&split, in.p, in.n, seed);
	compare(&whole, &split);
	conn_decoder_free(&whole.d);
	conn_decoder_free(&split.d);
	free(whole.o.ends);
	free(split.o.ends);
	return 0;
}
