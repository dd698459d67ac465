/*
 * fuzz.h - what the fuzz harnesses share: control bytes taken from the
 * front of the input, deterministic split points derived from them,
 * exact-size copies and checks that crash.
 *
 * Every harness is built twice: with clang and libFuzzer (tools/fuzz), and
 * with the project's compiler and replay.c for make check.  Header-only
 * and static inline, so each harness is one file.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant of the code under test.  A broken one must crash, so that
 * libFuzzer keeps the input as a crash and the replay reports it.
 */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

static inline __attribute__((noreturn)) void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}

/* The input, read from the front: control bytes first, then the rest. */
struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

/* The next control byte; 0 once the input is used up, so that any input,
 * even an empty one, is a valid one. */
static inline uint8_t fuzz_byte(struct fuzz_input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static inline unsigned fuzz_u16(struct fuzz_input *in)
{
	unsigned high = fuzz_byte(in);

	return high << 8 | fuzz_byte(in);
}

/*
 * A heap copy of exactly n bytes: a chunk of the input handed to the code
 * under test must end where it ends, or ASan would not see an over-read
 * into the bytes after it.
 */
static inline uint8_t *fuzz_copy(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n);

	if (copy == NULL && n > 0)
		abort();
	if (n > 0)
		memcpy(copy, p, n);
	return copy;
}

/* A small deterministic generator (xorshift64*) for split points. */
static inline uint64_t fuzz_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* The generator's start from a 16-bit seed out of the input: never 0,
 * which xorshift would keep forever. */
static inline uint64_t fuzz_rand_init(unsigned seed)
{
	return 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 17 | seed);
}

/*
 * The size of the next chunk of a stream, of left bytes still to come.
 * The seed picks a style: seed 0 gives it all at once, 1 byte by byte;
 * others mix single bytes, short runs, long runs and the whole rest, so
 * that a header, an escape or a separator is cut at every place.
 */
static inline size_t fuzz_chunk(uint64_t *state, unsigned seed, size_t left)
{
	uint64_t r;
	size_t n;

	if (seed == 0 || left == 0)
		return left;
	if (seed == 1)
		return 1;
	r = fuzz_rand(state);
	switch (r & 3) {
	case 0:
		n = 1;
		break;
	case 1:
		n = 1 + (size_t)(r >> 8) % 8;
		break;
	case 2:
		n = 1 + (size_t)(r >> 8) % 300;
		break;
	default:
		n = left;
		break;
	}
	return n < left ? n : left;
}

/* FNV-1a over bytes, to compare what two decodings produced. */
static inline uint64_t fuzz_hash(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static inline uint64_t fuzz_hash_u64(uint64_t h, uint64_t v)
{
	return fuzz_hash(h, &v, sizeof(v));
}

#define FUZZ_HASH_INIT 0xcbf29ce484222325ull

/* True when the detail buffer of capacity bytes holds a terminated text. */
static inline int fuzz_terminated(const char *detail, size_t capacity)
{
	return memchr(detail, '\0', capacity) != NULL;
}

#endif
