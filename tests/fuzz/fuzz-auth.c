/*
 * fuzz-auth.c - libFuzzer harness for the handshake state machine
 * (conn_auth_step), in either role, against arbitrary peer messages.
 *
 * Input: [setup] [key] then the peer's messages, each a 2-byte big-endian
 * length (at most CONN_HANDSHAKE_FRAME_MAX: the channel refuses longer
 * handshake frames before the state machine sees them) and its bytes.
 * setup, bit 0: the role (listener, client); bits 1-3: our digest modulo
 * 5; bit 4: CONN_AUTH_NO_MD5.  key: one of four keys, modulo 4.
 *
 * Our random bytes are those of auth.json's transcript (0x64... for the
 * listener, 0xc8... for the client), so that its peer messages, with the
 * key "secret password", complete the handshake and seeds reach the end.
 */
#include "conn.h"
#include "fuzz.h"

#include <stdbool.h>

#define KEYS 4

static struct conn_key *keys[KEYS];
static uint8_t random_next;

static void free_keys(void)
{
	int i;

	for (i = 0; i < KEYS; i++)
		conn_key_free(keys[i]);
}

#define KEY_TEXT(s) { s, sizeof(s) - 1 }

/* Keys live in locked memory that costs system calls to get: made once. */
static const struct conn_key *key(unsigned choice)
{
	static const struct {
		const char *bytes;
		size_t len;
	} texts[KEYS] = {
		KEY_TEXT("secret password"),
		KEY_TEXT("k"),
		KEY_TEXT("a key\0with a NUL"),
		/* Longer than the block of every digest: HMAC hashes it. */
		KEY_TEXT("a key longer than the block of any digest, 64 bytes "
			 "for md5 and sha256, 128 for sha384, 136 and 104 for "
			 "sha3_256 and sha3_384, so that HMAC hashes it first"),
	};
	int i;

	if (keys[0] == NULL) {
		for (i = 0; i < KEYS; i++)
			if (conn_key_new(&keys[i], texts[i].bytes,
					 texts[i].len))
				abort();
		atexit(free_keys);
	}
	return keys[choice % KEYS];
}

static void fixed_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len--)
		*p++ = random_next++;
}

/* The next peer message, in a buffer of its exact size; NULL at the end. */
static uint8_t *next_message(struct fuzz_input *in, size_t *len)
{
	size_t n;
	uint8_t *msg;

	if (in->n < 2)
		return NULL;
	n = fuzz_u16(in);
	if (n > CONN_HANDSHAKE_FRAME_MAX)
		n = CONN_HANDSHAKE_FRAME_MAX;
	if (n > in->n)
		n = in->n;
	msg = fuzz_copy(in->p, n);
	in->p += n;
	in->n -= n;
	*len = n;
	return msg;
}

/* What every step's result must satisfy. */
static void check_step(const struct conn_auth *a, int rc, const uint8_t *out,
		       size_t out_len)
{
	FUZZ_CHECK(out_len <= CONN_HANDSHAKE_FRAME_MAX);
	FUZZ_CHECK(fuzz_terminated(a->detail, sizeof(a->detail)));
	FUZZ_CHECK(fuzz_terminated(a->peer_digest, sizeof(a->peer_digest)));
	FUZZ_CHECK(fuzz_terminated(a->our_reply_digest,
				   sizeof(a->our_reply_digest)));
	FUZZ_CHECK(a->challenge_len <= sizeof(a->challenge));
	if (rc) {
		FUZZ_CHECK(rc == CONN_EAUTH || rc == CONN_EPROTO ||
			   rc == CONN_EINVAL);
		FUZZ_CHECK(a->detail[0] != '\0');
		FUZZ_CHECK(!conn_auth_is_done(a));
		/* The only message that may come with an error. */
		FUZZ_CHECK(out_len == 0 ||
			   (out_len == 9 && memcmp(out, "#FAILURE#", 9) == 0));
	}
	if (conn_auth_is_done(a)) {
		/* Mutual: both sides proved the key. */
		FUZZ_CHECK(a->peer_digest[0] != '\0');
		FUZZ_CHECK(a->our_reply_digest[0] != '\0');
	}
}

/* After the end, good or bad, no message may move the machine on. */
static void check_over(struct conn_auth *a, uint8_t *out,
		       const uint8_t *msg, size_t len)
{
	size_t out_len = 1;

	FUZZ_CHECK(conn_auth_step(a, out, &out_len, msg, len) == CONN_EINVAL);
	FUZZ_CHECK(out_len == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t setup = fuzz_byte(&in);
	const struct conn_key *k = key(fuzz_byte(&in));
	enum conn_role role = setup & 1 ? CONN_ROLE_CLIENT : CONN_ROLE_LISTENER;
	uint8_t *out = malloc(CONN_HANDSHAKE_FRAME_MAX), *msg = NULL;
	size_t out_len, len = 0;
	struct conn_auth a;
	int rc;

	if (out == NULL)
		abort();
	conn_auth_init(&a, role, k, (enum conn_digest)((setup >> 1 & 7) % 5),
		       setup & 16 ? CONN_AUTH_NO_MD5 : 0);
	a.random = fixed_random;
	random_next = role == CONN_ROLE_LISTENER ? 0x64 : 0xc8;
	rc = conn_auth_step(&a, out, &out_len, NULL, 0);
	check_step(&a, rc, out, out_len);
	while (rc == 0 && !conn_auth_is_done(&a) &&
	       (msg = next_message(&in, &len)) != NULL) {
		rc = conn_auth_step(&a, out, &out_len, msg, len);
		check_step(&a, rc, out, out_len);
		free(msg);
		msg = NULL;
	}
	if (rc || conn_auth_is_done(&a)) {
		msg = next_message(&in, &len);
		check_over(&a, out, msg, len);
		free(msg);
	}
	free(out);
	return 0;
}
