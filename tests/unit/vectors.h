/*
 * vectors.h - what the C unit tests share: loading the JSON test vectors
 * (frames.json, auth.json, pickles.json, which tests/vectors/generate.py
 * computes with CPython) and decoding hex.  Header-only: every helper is
 * static inline so that a test using only some of them builds without
 * warnings.
 *
 * The vectors are read from the directory in CONN_VECTORS (make check
 * generates them and sets it); without it, from where make check generates
 * them in the build tree (CONN_VECTORS_BUILT, set by Makefile.am).
 */
#ifndef VECTORS_H
#define VECTORS_H

#include "hex.h"	/* the core's hex digit, the one the formats use */

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CONN_VECTORS_BUILT
#define CONN_VECTORS_BUILT "tests/vectors"
#endif

/* Loads NAME (e.g. "frames.json") from the vectors directory; exits with a
 * TAP "Bail out!" line when it cannot, so a missing file never passes. */
static inline json_t *vectors_load(const char *name)
{
	const char *dir = getenv("CONN_VECTORS");
	char path[4096];
	json_error_t err;
	json_t *root;

	if (dir == NULL || dir[0] == '\0')
		dir = CONN_VECTORS_BUILT;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	root = json_load_file(path, 0, &err);
	if (root == NULL) {
		printf("Bail out! cannot load %s: %s (line %d); make check "
		       "generates it, or run tests/vectors/generate.py DIR and "
		       "set CONN_VECTORS=DIR\n", path, err.text, err.line);
		exit(1);
	}
	return root;
}

/* Decodes a hex string into a new buffer (never NULL, even for ""; one
 * spare byte); *len gets its size.  Bails out on malformed hex. */
static inline uint8_t *vectors_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex), i;
	uint8_t *out = malloc(n / 2 + 1);

	if (out == NULL || n % 2) {
		printf("Bail out! bad hex or no memory: %.40s\n", hex);
		exit(1);
	}
	for (i = 0; i < n / 2; i++) {
		int hi = hex_digit_value(hex[2 * i]);
		int lo = hex_digit_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			printf("Bail out! bad hex: %.40s\n", hex);
			exit(1);
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

/* The string member KEY of object O, or NULL when absent or not a string. */
static inline const char *vectors_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Writes data as lowercase hex into out (2 * len + 1 bytes), for messages. */
static inline const char *vectors_to_hex(char *out, const uint8_t *data,
					 size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

/* A small deterministic generator (xorshift64*), for reproducible splits. */
static inline uint64_t vectors_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

#endif
