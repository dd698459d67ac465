/*
 * test-auth.c - digests, HMAC and the handshake state machine against
 * the vectors of auth.json, with both roles driven step by step.
 */
#include "conn.h"
#include "tap.h"
#include "vectors.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHALLENGE "#CHALLENGE#"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
#define LIT(s) (const uint8_t *)(s), (sizeof(s) - 1)
#define RANDOM_LEN 40
#define LIT_LEN_CHALLENGE (sizeof(CHALLENGE) - 1)

/* ------------------------------------------------- fixed random bytes */

/* conn_auth.random has no context: each role reads its own global. */
static uint8_t listener_random[RANDOM_LEN], client_random[RANDOM_LEN];
static int listener_random_calls, client_random_calls;
static size_t random_bad_len;

static void fixed_random(uint8_t *src, int *calls, void *buf, size_t len)
{
	(*calls)++;
	if (len != RANDOM_LEN) {
		random_bad_len = len;
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, src, len);
}

static void listener_rand(void *buf, size_t len)
{
	fixed_random(listener_random, &listener_random_calls, buf, len);
}

static void client_rand(void *buf, size_t len)
{
	fixed_random(client_random, &client_random_calls, buf, len);
}

static bool bytes_eq(const uint8_t *a, size_t a_len, const uint8_t *b,
		     size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static struct conn_key *key_of(const uint8_t *bytes, size_t len)
{
	struct conn_key *k = NULL;
	int rc = conn_key_new(&k, bytes, len);

	if (rc || k == NULL) {
		printf("Bail out! conn_key_new: %s\n", conn_strerror(rc));
		exit(1);
	}
	return k;
}

/* ------------------------------------------------------------- digests */

static void test_digests(void)
{
	static const struct {
		const char *name;
		enum conn_digest d;
		size_t size;
	} all[] = {
		{ "md5", CONN_DIGEST_MD5, 16 },
		{ "sha256", CONN_DIGEST_SHA256, 32 },
		{ "sha384", CONN_DIGEST_SHA384, 48 },
		{ "sha3_256", CONN_DIGEST_SHA3_256, 32 },
		{ "sha3_384", CONN_DIGEST_SHA3_384, 48 },
	};
	static const char *const bad[] = { "", "sha1", "SHA256", "sha3-256",
					   "md", "sha2566", "sha3_2" };
	enum conn_digest d;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		d = CONN_DIGEST_COUNT;
		rc = conn_digest_from_name(&d, all[i].name,
					   strlen(all[i].name));
		ok(rc == 0 && d == all[i].d, "digest_from_name(%s)",
		   all[i].name);
		ok(strcmp(conn_digest_name(all[i].d), all[i].name) == 0,
		   "digest_name(%s)", all[i].name);
		ok(conn_digest_size(all[i].d) == all[i].size &&
		   conn_digest_size(all[i].d) <= CONN_DIGEST_SIZE_MAX,
		   "digest_size(%s) == %zu", all[i].name, all[i].size);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = conn_digest_from_name(&d, bad[i], strlen(bad[i]));
		ok(rc == CONN_EINVAL, "digest_from_name(\"%s\") is EINVAL",
		   bad[i]);
	}
	/* The length counts, not the terminator. */
	rc = conn_digest_from_name(&d, "sha256junk", 6);
	ok(rc == 0 && d == CONN_DIGEST_SHA256,
	   "digest_from_name reads only len bytes");
	rc = conn_digest_from_name(&d, "sha3_256", 4);
	ok(rc == CONN_EINVAL, "digest_from_name(\"sha3\") is EINVAL");
}

/* ------------------------------------------------- HMAC and responses */

struct response {
	bool legacy;
	enum conn_digest digest;
	uint8_t *key, *challenge, *response, *legacy_reply;
	size_t key_len, challenge_len, response_len, legacy_reply_len;
};

static size_t load_responses(struct response *r, size_t max, json_t *root)
{
	json_t *list = json_object_get(root, "responses"), *e;
	size_t i, n = 0;

	json_array_foreach(list, i, e) {
		const char *name = vectors_str(e, "digest");
		const char *legacy = vectors_str(e, "legacy_md5_reply_hex");

		if (n == max)
			break;
		memset(&r[n], 0, sizeof(r[n]));
		r[n].legacy = strcmp(vectors_str(e, "style"), "legacy") == 0;
		if (conn_digest_from_name(&r[n].digest, name, strlen(name))) {
			printf("Bail out! unknown digest %s in vectors\n",
			       name);
			exit(1);
		}
		r[n].key = vectors_hex(vectors_str(e, "authkey_hex"),
				       &r[n].key_len);
		r[n].challenge = vectors_hex(vectors_str(e,
					     "challenge_payload_hex"),
					     &r[n].challenge_len);
		r[n].response = vectors_hex(vectors_str(e, "response_hex"),
					    &r[n].response_len);
		if (legacy)
			r[n].legacy_reply = vectors_hex(legacy,
							&r[n].legacy_reply_len);
		n++;
	}
	return n;
}

static void test_hmac(struct response *r, size_t count)
{
	size_t i, legacy = 0, modern = 0;
	bool digests_seen[CONN_DIGEST_COUNT] = { false };

	for (i = 0; i < count; i++) {
		uint8_t mac[CONN_DIGEST_SIZE_MAX + 16];
		uint8_t reply[CONN_DIGEST_SIZE_MAX + 32];
		const char *name = conn_digest_name(r[i].digest);
		size_t n;

		memset(mac, 0xaa, sizeof(mac));
		digests_seen[r[i].digest] = true;
		if (r[i].legacy) {
			legacy++;
			conn_hmac(mac, CONN_DIGEST_MD5, r[i].key, r[i].key_len,
				  r[i].challenge, r[i].challenge_len);
			ok(bytes_eq(mac, 16, r[i].response, r[i].response_len)
			   && mac[16] == 0xaa,
			   "hmac: legacy response %zu (key %zu bytes) is raw "
			   "HMAC-MD5", i, r[i].key_len);
			continue;
		}
		modern++;
		n = (size_t)sprintf((char *)reply, "{%s}", name);
		conn_hmac(reply + n, r[i].digest, r[i].key, r[i].key_len,
			  r[i].challenge, r[i].challenge_len);
		n += conn_digest_size(r[i].digest);
		ok(bytes_eq(reply, n, r[i].response, r[i].response_len),
		   "hmac: modern response %zu, %s, key %zu bytes", i, name,
		   r[i].key_len);
		conn_hmac(mac, CONN_DIGEST_MD5, r[i].key, r[i].key_len,
			  r[i].challenge, r[i].challenge_len);
		ok(r[i].legacy_reply &&
		   bytes_eq(mac, 16, r[i].legacy_reply, r[i].legacy_reply_len),
		   "hmac: legacy MD5 reply to modern challenge %zu (%s)", i,
		   name);
	}
	ok(legacy >= 1 && modern >= 5, "vectors: %zu legacy, %zu modern",
	   legacy, modern);
	for (i = 0; i < CONN_DIGEST_COUNT; i++)
		ok(digests_seen[i], "vectors cover %s",
		   conn_digest_name((enum conn_digest)i));
}

/* A client answers every vector's challenge exactly as CPython does, and
 * a listener challenging with the same bytes accepts that answer. */
static void test_responses_through_state_machine(struct response *r,
						 size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct conn_key *k = key_of(r[i].key, r[i].key_len);
		struct conn_auth a;
		uint8_t in[CONN_HANDSHAKE_FRAME_MAX];
		uint8_t out[CONN_HANDSHAKE_FRAME_MAX];
		size_t in_len, out_len = 99;
		int rc;

		memcpy(in, CHALLENGE, strlen(CHALLENGE));
		memcpy(in + strlen(CHALLENGE), r[i].challenge,
		       r[i].challenge_len);
		in_len = strlen(CHALLENGE) + r[i].challenge_len;

		conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
		rc = conn_auth_step(&a, out, &out_len, NULL, 0);
		ok(rc == 0 && out_len == 0,
		   "client %zu: first step sends nothing", i);
		rc = conn_auth_step(&a, out, &out_len, in, in_len);
		ok(rc == 0 && bytes_eq(out, out_len, r[i].response,
				       r[i].response_len),
		   "client %zu: answers the %s %s challenge with "
		   "response_hex (rc %d, %zu bytes)", i,
		   r[i].legacy ? "legacy" : "modern",
		   conn_digest_name(r[i].digest), rc, out_len);

		if (!r[i].legacy && r[i].challenge_len >= RANDOM_LEN) {
			/* The listener's challenge is "{digest}" + random. */
			memcpy(listener_random, r[i].challenge +
			       r[i].challenge_len - RANDOM_LEN, RANDOM_LEN);
			conn_auth_init(&a, CONN_ROLE_LISTENER, k,
				       r[i].digest, 0);
			a.random = listener_rand;
			rc = conn_auth_step(&a, out, &out_len, NULL, 0);
			ok(rc == 0 && out_len == in_len &&
			   memcmp(out, in, in_len) == 0,
			   "listener %zu: challenges with %s exactly as the "
			   "vector", i, conn_digest_name(r[i].digest));
			rc = conn_auth_step(&a, out, &out_len, r[i].response,
					    r[i].response_len);
			ok(rc == 0 && bytes_eq(out, out_len, LIT(WELCOME)),
			   "listener %zu: welcomes response_hex (rc %d: %s)",
			   i, rc, a.detail);
			/* A legacy client answering the same challenge. */
			conn_auth_init(&a, CONN_ROLE_LISTENER, k,
				       r[i].digest, 0);
			a.random = listener_rand;
			rc = conn_auth_step(&a, out, &out_len, NULL, 0);
			rc = rc ? rc : conn_auth_step(&a, out, &out_len,
						      r[i].legacy_reply,
						      r[i].legacy_reply_len);
			ok(rc == 0 && bytes_eq(out, out_len, LIT(WELCOME)),
			   "listener %zu: welcomes legacy_md5_reply_hex "
			   "(rc %d: %s)", i, rc, a.detail);
		}
		conn_key_free(k);
	}
}

/* ---------------------------------------------------- the transcript */

struct step {
	bool from_listener;
	uint8_t *payload;	/* the frame less its 4-byte header */
	size_t len;
	uint8_t *frame;
};

static size_t load_transcript(struct step *s, size_t max, json_t *root,
			      const char **authkey)
{
	json_t *t = json_object_get(root, "transcript_modern_mutual");
	json_t *steps = json_object_get(t, "steps"), *e;
	size_t i, n = 0;

	*authkey = vectors_str(t, "authkey_text");
	json_array_foreach(steps, i, e) {
		size_t frame_len;
		uint64_t length;
		size_t hs;

		if (n == max)
			break;
		s[n].from_listener =
			strcmp(vectors_str(e, "from"), "listener") == 0;
		s[n].frame = vectors_hex(vectors_str(e, "frame_hex"),
					 &frame_len);
		if (conn_frame_header_decode(&length, &hs, s[n].frame,
					     frame_len) ||
		    hs + length != frame_len) {
			printf("Bail out! transcript step %zu: bad frame\n",
			       i);
			exit(1);
		}
		s[n].payload = s[n].frame + hs;
		s[n].len = (size_t)length;
		n++;
	}
	return n;
}

static void test_transcript(json_t *root)
{
	struct step s[8];
	const char *authkey;
	size_t count = load_transcript(s, 8, root, &authkey), i;
	struct conn_key *k;
	struct conn_auth listener, client;
	uint8_t out[CONN_HANDSHAKE_FRAME_MAX];
	size_t out_len;
	int rc;
	bool order_ok;

	order_ok = count == 6 && s[0].from_listener && !s[1].from_listener &&
		   s[2].from_listener && !s[3].from_listener &&
		   s[4].from_listener && !s[5].from_listener && authkey;
	ok(order_ok, "transcript: 6 steps, listener first, alternating");
	if (!order_ok) {
		for (i = 0; i < count; i++)
			free(s[i].frame);
		return;
	}
	ok(s[0].len == strlen(CHALLENGE) + 8 + RANDOM_LEN &&
	   s[3].len == strlen(CHALLENGE) + 8 + RANDOM_LEN,
	   "transcript: both challenges are #CHALLENGE#{sha256} + 40 bytes");
	memcpy(listener_random, s[0].payload + s[0].len - RANDOM_LEN,
	       RANDOM_LEN);
	memcpy(client_random, s[3].payload + s[3].len - RANDOM_LEN,
	       RANDOM_LEN);
	listener_random_calls = client_random_calls = 0;
	random_bad_len = 0;

	k = key_of((const uint8_t *)authkey, strlen(authkey));
	conn_auth_init(&listener, CONN_ROLE_LISTENER, k, CONN_DIGEST_SHA256,
		       0);
	listener.random = listener_rand;
	conn_auth_init(&client, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	client.random = client_rand;

	rc = conn_auth_step(&listener, out, &out_len, NULL, 0);
	ok(rc == 0 && bytes_eq(out, out_len, s[0].payload, s[0].len),
	   "transcript 0: the listener's challenge, byte for byte");
	rc = conn_auth_step(&client, out, &out_len, NULL, 0);
	ok(rc == 0 && out_len == 0 && !conn_auth_is_done(&client),
	   "transcript: the client starts by waiting");
	rc = conn_auth_step(&client, out, &out_len, s[0].payload, s[0].len);
	ok(rc == 0 && bytes_eq(out, out_len, s[1].payload, s[1].len),
	   "transcript 1: the client's reply, byte for byte");
	ok(strcmp(client.our_reply_digest, "sha256") == 0,
	   "transcript: the client answered with sha256 (%s)",
	   client.our_reply_digest);
	rc = conn_auth_step(&listener, out, &out_len, s[1].payload, s[1].len);
	ok(rc == 0 && bytes_eq(out, out_len, s[2].payload, s[2].len),
	   "transcript 2: the listener's #WELCOME#");
	ok(strcmp(listener.peer_digest, "sha256") == 0,
	   "transcript: the listener saw a sha256 reply (%s)",
	   listener.peer_digest);
	ok(!conn_auth_is_done(&listener),
	   "transcript: the listener is not done after one direction");
	rc = conn_auth_step(&client, out, &out_len, s[2].payload, s[2].len);
	ok(rc == 0 && bytes_eq(out, out_len, s[3].payload, s[3].len),
	   "transcript 3: the client's challenge, byte for byte");
	rc = conn_auth_step(&listener, out, &out_len, s[3].payload, s[3].len);
	ok(rc == 0 && bytes_eq(out, out_len, s[4].payload, s[4].len),
	   "transcript 4: the listener's reply, byte for byte");
	ok(!conn_auth_is_done(&client), "transcript: client not done yet");
	rc = conn_auth_step(&client, out, &out_len, s[4].payload, s[4].len);
	ok(rc == 0 && bytes_eq(out, out_len, s[5].payload, s[5].len),
	   "transcript 5: the client's #WELCOME#");
	ok(conn_auth_is_done(&client), "transcript: the client is done");
	rc = conn_auth_step(&listener, out, &out_len, s[5].payload, s[5].len);
	ok(rc == 0 && out_len == 0 && conn_auth_is_done(&listener),
	   "transcript: the listener is done, sending nothing more");
	ok(listener_random_calls == 1 && client_random_calls == 1 &&
	   random_bad_len == 0,
	   "transcript: each side drew 40 random bytes once");
	rc = conn_auth_step(&listener, out, &out_len, s[5].payload, s[5].len);
	ok(rc != 0 && out_len == 0,
	   "transcript: a step after the end is an error");

	conn_key_free(k);
	for (i = 0; i < count; i++)
		free(s[i].frame);
}

/* --------------------------------------------------------- failures */

static void test_wrong_key(void)
{
	struct conn_key *k1 = key_of(LIT("right key"));
	struct conn_key *k2 = key_of(LIT("wrong key"));
	struct conn_auth listener, client;
	uint8_t buf1[CONN_HANDSHAKE_FRAME_MAX], buf2[CONN_HANDSHAKE_FRAME_MAX];
	size_t len1, len2;
	int rc;

	conn_auth_init(&listener, CONN_ROLE_LISTENER, k1, CONN_DIGEST_SHA256,
		       0);
	conn_auth_init(&client, CONN_ROLE_CLIENT, k2, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&listener, buf1, &len1, NULL, 0));
	must(conn_auth_step(&client, buf2, &len2, NULL, 0));
	rc = conn_auth_step(&client, buf2, &len2, buf1, len1);
	ok(rc == 0 && len2 == 8 + 32, "wrong key: the client still answers");
	rc = conn_auth_step(&listener, buf1, &len1, buf2, len2);
	ok(rc == CONN_EAUTH && bytes_eq(buf1, len1, LIT(FAILURE)),
	   "wrong key: the listener says #FAILURE# and fails with EAUTH "
	   "(%d)", rc);
	ok(listener.detail[0] != '\0' && !conn_auth_is_done(&listener),
	   "wrong key: the listener has a detail (%s)", listener.detail);
	rc = conn_auth_step(&client, buf2, &len2, buf1, len1);
	ok(rc == CONN_EAUTH && len2 == 0 && !conn_auth_is_done(&client),
	   "wrong key: #FAILURE# gives the client EAUTH (%d: %s)", rc,
	   client.detail);

	/* The listener side of #FAILURE#, in the second half. */
	conn_auth_init(&listener, CONN_ROLE_LISTENER, k1, CONN_DIGEST_SHA256,
		       0);
	conn_auth_init(&client, CONN_ROLE_CLIENT, k1, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&listener, buf1, &len1, NULL, 0));
	must(conn_auth_step(&client, buf2, &len2, NULL, 0));
	must(conn_auth_step(&client, buf2, &len2, buf1, len1));
	must(conn_auth_step(&listener, buf1, &len1, buf2, len2));
	rc = conn_auth_step(&client, buf2, &len2, buf1, len1);
	ok(rc == 0 && len2 > 0, "second half: the client challenges");
	rc = conn_auth_step(&listener, buf1, &len1, buf2, len2);
	ok(rc == 0 && len1 == 8 + 32, "second half: the listener answers");
	rc = conn_auth_step(&listener, buf1, &len1, LIT(FAILURE));
	ok(rc == CONN_EAUTH && !conn_auth_is_done(&listener),
	   "second half: #FAILURE# gives the listener EAUTH (%d)", rc);

	/* Neither #WELCOME# nor #FAILURE#. */
	conn_auth_init(&client, CONN_ROLE_CLIENT, k1, CONN_DIGEST_SHA256, 0);
	conn_auth_init(&listener, CONN_ROLE_LISTENER, k1, CONN_DIGEST_SHA256,
		       0);
	must(conn_auth_step(&listener, buf1, &len1, NULL, 0));
	must(conn_auth_step(&client, buf2, &len2, NULL, 0));
	must(conn_auth_step(&client, buf2, &len2, buf1, len1));
	rc = conn_auth_step(&client, buf2, &len2, LIT("#WELCOME"));
	ok(rc != 0 && !conn_auth_is_done(&client),
	   "a verdict that is neither #WELCOME# nor #FAILURE# fails (%d)",
	   rc);
	conn_key_free(k1);
	conn_key_free(k2);
}

/* A listener ready for a reply: its challenge is the sha256 vector's. */
static void listener_challenged(struct conn_auth *a, struct conn_key *k,
				const uint8_t *random, unsigned flags)
{
	uint8_t out[CONN_HANDSHAKE_FRAME_MAX];
	size_t out_len;

	memcpy(listener_random, random, RANDOM_LEN);
	conn_auth_init(a, CONN_ROLE_LISTENER, k, CONN_DIGEST_SHA256, flags);
	a->random = listener_rand;
	must(conn_auth_step(a, out, &out_len, NULL, 0));
}

static const struct response *find_response(const struct response *r,
					    size_t count, bool legacy,
					    enum conn_digest d)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (r[i].legacy == legacy && r[i].digest == d &&
		    r[i].key_len == strlen("secret password") &&
		    memcmp(r[i].key, "secret password", r[i].key_len) == 0)
			return &r[i];
	return NULL;
}

static void test_md5(struct response *r, size_t count)
{
	const struct response *legacy = find_response(r, count, true,
						      CONN_DIGEST_MD5);
	const struct response *sha = find_response(r, count, false,
						   CONN_DIGEST_SHA256);
	const struct response *md5 = find_response(r, count, false,
						   CONN_DIGEST_MD5);
	struct conn_key *k = key_of(LIT("secret password"));
	uint8_t in[CONN_HANDSHAKE_FRAME_MAX], out[CONN_HANDSHAKE_FRAME_MAX];
	uint8_t md5_reply[5 + 16];
	size_t in_len, out_len;
	struct conn_auth a;
	int rc;

	if (!legacy || !sha || !md5 || sha->challenge_len != 8 + RANDOM_LEN) {
		ok(0, "vectors hold legacy md5, modern sha256 and md5 "
		   "responses for 'secret password'");
		conn_key_free(k);
		return;
	}

	/* A legacy (Python <= 3.11) challenge: 20 bytes, no prefix. */
	memcpy(in, CHALLENGE, strlen(CHALLENGE));
	memcpy(in + strlen(CHALLENGE), legacy->challenge,
	       legacy->challenge_len);
	in_len = strlen(CHALLENGE) + legacy->challenge_len;
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, in, in_len);
	ok(rc == 0 && out_len == 16 &&
	   bytes_eq(out, out_len, legacy->response, legacy->response_len),
	   "a legacy 20-byte challenge gets the raw 16-byte HMAC-MD5");
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256,
		       CONN_AUTH_NO_MD5);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, in, in_len);
	ok(rc == CONN_EAUTH && out_len == 0,
	   "NO_MD5: a legacy challenge is refused with EAUTH (%d: %s)", rc,
	   a.detail);

	/* A raw 16-byte MD5 reply, the legacy answer to a modern challenge. */
	listener_challenged(&a, k, sha->challenge + 8, 0);
	ok(bytes_eq(a.challenge, a.challenge_len, sha->challenge,
		    sha->challenge_len), "the listener's challenge is the "
	   "sha256 vector's payload");
	rc = conn_auth_step(&a, out, &out_len, sha->legacy_reply,
			    sha->legacy_reply_len);
	ok(rc == 0 && bytes_eq(out, out_len, LIT(WELCOME)),
	   "a raw 16-byte MD5 reply is accepted (%d: %s)", rc, a.detail);
	ok(strstr(a.peer_digest, "md5") != NULL,
	   "peer_digest names md5 (%s)", a.peer_digest);
	listener_challenged(&a, k, sha->challenge + 8, CONN_AUTH_NO_MD5);
	rc = conn_auth_step(&a, out, &out_len, sha->legacy_reply,
			    sha->legacy_reply_len);
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "NO_MD5: a raw 16-byte MD5 reply is refused with #FAILURE# (%d)",
	   rc);

	/* "{md5}" + MAC, likewise. */
	memcpy(md5_reply, "{md5}", 5);
	memcpy(md5_reply + 5, sha->legacy_reply, 16);
	listener_challenged(&a, k, sha->challenge + 8, 0);
	rc = conn_auth_step(&a, out, &out_len, md5_reply, sizeof(md5_reply));
	ok(rc == 0 && bytes_eq(out, out_len, LIT(WELCOME)),
	   "a {md5} reply is accepted (%d: %s)", rc, a.detail);
	listener_challenged(&a, k, sha->challenge + 8, CONN_AUTH_NO_MD5);
	rc = conn_auth_step(&a, out, &out_len, md5_reply, sizeof(md5_reply));
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "NO_MD5: a {md5} reply is refused with #FAILURE# (%d)", rc);

	/* A wrong raw MD5 is not accepted merely for its length. */
	memcpy(md5_reply, sha->legacy_reply, 16);
	md5_reply[15] ^= 1;
	listener_challenged(&a, k, sha->challenge + 8, 0);
	rc = conn_auth_step(&a, out, &out_len, md5_reply, 16);
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "a wrong raw 16-byte MD5 reply gets #FAILURE#");

	/* A modern {md5} challenge under NO_MD5. */
	memcpy(in + strlen(CHALLENGE), md5->challenge, md5->challenge_len);
	in_len = strlen(CHALLENGE) + md5->challenge_len;
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256,
		       CONN_AUTH_NO_MD5);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, in, in_len);
	ok(rc == CONN_EAUTH && out_len == 0,
	   "NO_MD5: a {md5} challenge is refused (%d)", rc);
	conn_key_free(k);
}

static void test_bad_messages(struct response *r, size_t count)
{
	const struct response *sha = find_response(r, count, false,
						   CONN_DIGEST_SHA256);
	struct conn_key *k = key_of(LIT("secret password"));
	uint8_t in[CONN_HANDSHAKE_FRAME_MAX], out[CONN_HANDSHAKE_FRAME_MAX];
	size_t out_len, n;
	struct conn_auth a;
	int rc;

	/* Data instead of a challenge: the peer expects no key. */
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, LIT("hello world"));
	ok(rc == CONN_EAUTH && out_len == 0,
	   "client: data instead of a challenge is EAUTH (%d)", rc);
	ok(strstr(a.detail, "authkey") != NULL,
	   "client: the detail mentions authkey (%s)", a.detail);
	ok(!conn_auth_is_done(&a), "client: not done after the failure");

	/* An empty message instead of a challenge. */
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, (const uint8_t *)"", 0);
	ok(rc == CONN_EAUTH && out_len == 0,
	   "client: an empty message instead of a challenge is EAUTH");

	/* An unknown {digest} in a challenge. */
	n = (size_t)sprintf((char *)in, "%s{sha1}", CHALLENGE);
	memset(in + n, 'r', RANDOM_LEN);
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, in, n + RANDOM_LEN);
	ok(rc != 0 && out_len == 0 && a.detail[0],
	   "client: a {sha1} challenge is refused (%s: %s)",
	   conn_strerror(rc), a.detail);
	n = (size_t)sprintf((char *)in, "%s{sha256", CHALLENGE);
	memset(in + n, 'r', RANDOM_LEN);
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, in, n + RANDOM_LEN);
	ok(rc != 0 && out_len == 0,
	   "client: an unclosed {sha256 challenge is refused");
	/* Too short to be a challenge of any style. */
	n = (size_t)sprintf((char *)in, "%s0123456789", CHALLENGE);
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	rc = conn_auth_step(&a, out, &out_len, in, n);
	ok(rc != 0 && out_len == 0,
	   "client: a 10-byte challenge is refused");

	if (sha == NULL) {
		ok(0, "vectors hold a sha256 response");
		conn_key_free(k);
		return;
	}
	/* An unknown {digest} in a reply. */
	n = (size_t)sprintf((char *)in, "{sha1}");
	memset(in + n, 'm', 20);
	listener_challenged(&a, k, sha->challenge + 8, 0);
	rc = conn_auth_step(&a, out, &out_len, in, n + 20);
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "listener: a {sha1} reply is refused with #FAILURE# (%d)", rc);
	/* The right MAC with a truncated or extended length. */
	listener_challenged(&a, k, sha->challenge + 8, 0);
	rc = conn_auth_step(&a, out, &out_len, sha->response,
			    sha->response_len - 1);
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "listener: a reply one byte short is refused");
	memcpy(in, sha->response, sha->response_len);
	in[sha->response_len] = 0;
	listener_challenged(&a, k, sha->challenge + 8, 0);
	rc = conn_auth_step(&a, out, &out_len, in, sha->response_len + 1);
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "listener: a reply one byte long is refused");
	/* The right MAC under another digest's name. */
	memcpy(in, "{sha3_256}", 10);
	memcpy(in + 10, sha->response + 8, 32);
	listener_challenged(&a, k, sha->challenge + 8, 0);
	rc = conn_auth_step(&a, out, &out_len, in, 42);
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "listener: a sha256 MAC labelled sha3_256 is refused");
	/* A reply that is plain data. */
	listener_challenged(&a, k, sha->challenge + 8, 0);
	rc = conn_auth_step(&a, out, &out_len, LIT("hello"));
	ok(rc == CONN_EAUTH && bytes_eq(out, out_len, LIT(FAILURE)),
	   "listener: a plain-data reply is refused with #FAILURE#");
	ok(strstr(a.detail, "authkey") != NULL,
	   "listener: the detail mentions authkey (%s)", a.detail);
	conn_key_free(k);
}

/* ------------------------------------------------------- key files */

/* The key a client uses, seen through the reply it makes. */
static bool key_is(const struct conn_key *k, const void *bytes, size_t len)
{
	static const uint8_t challenge[] = CHALLENGE "0123456789abcdefghij";
	uint8_t out[CONN_HANDSHAKE_FRAME_MAX], mac[16];
	size_t out_len = 0;
	struct conn_auth a;

	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	must(conn_auth_step(&a, out, &out_len, NULL, 0));
	if (conn_auth_step(&a, out, &out_len, challenge,
			   sizeof(challenge) - 1))
		return false;
	conn_hmac(mac, CONN_DIGEST_MD5, bytes, len,
		  challenge + strlen(CHALLENGE), 20);
	return bytes_eq(out, out_len, mac, 16);
}

static int key_from_content(struct conn_key **k, const void *content,
			    size_t len)
{
	char path[] = "/tmp/conn-test-key-XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0 || write(fd, content, len) != (ssize_t)len) {
		printf("Bail out! cannot write a temporary key file\n");
		exit(1);
	}
	close(fd);
	rc = conn_key_new_from_file(k, path);
	unlink(path);
	return rc;
}

/* CONN_KEY_FILE_MAX bytes are a key; a byte more is CONN_ETOOBIG, and so
 * is a file that never ends. */
static void test_key_file_limit(void)
{
	uint8_t *big = malloc(CONN_KEY_FILE_MAX + 1);
	struct conn_key *k = NULL;
	int rc;

	if (big == NULL)
		abort();
	memset(big, 'k', CONN_KEY_FILE_MAX + 1);
	rc = key_from_content(&k, big, CONN_KEY_FILE_MAX);
	ok(rc == 0 && k && key_is(k, big, CONN_KEY_FILE_MAX),
	   "key file: CONN_KEY_FILE_MAX bytes are a key (%d)", rc);
	conn_key_free(k);
	k = NULL;
	rc = key_from_content(&k, big, CONN_KEY_FILE_MAX + 1);
	ok(rc == CONN_ETOOBIG && k == NULL,
	   "key file: a byte over CONN_KEY_FILE_MAX is ETOOBIG (%d)", rc);
	rc = conn_key_new_from_file(&k, "/dev/zero");
	ok(rc == CONN_ETOOBIG && k == NULL, "key file: /dev/zero is ETOOBIG "
	   "(%d)", rc);
	free(big);
}

static void test_key_files(void)
{
	static const struct {
		const char *content, *key;
		const char *name;
	} cases[] = {
		{ "secret\n", "secret", "one trailing newline stripped" },
		{ "secret", "secret", "no newline, kept whole" },
		{ "secret\n\n", "secret\n", "only one of two newlines" },
		{ "secret\r\n", "secret\r", "the \\r before it is kept" },
		{ "\nsecret", "\nsecret", "a leading newline is kept" },
		{ " sec ret ", " sec ret ", "spaces are kept" },
	};
	struct conn_key *k;
	uint8_t big[5000];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = NULL;
		rc = key_from_content(&k, cases[i].content,
				      strlen(cases[i].content));
		ok(rc == 0 && k && key_is(k, cases[i].key,
					  strlen(cases[i].key)),
		   "key file: %s", cases[i].name);
		conn_key_free(k);
	}
	k = (struct conn_key *)&rc;
	rc = key_from_content(&k, "", 0);
	ok(rc == CONN_EINVAL && k == NULL, "key file: empty is EINVAL (%d)",
	   rc);
	rc = key_from_content(&k, "\n", 1);
	ok(rc == CONN_EINVAL, "key file: a lone newline is EINVAL (%d)", rc);
	rc = conn_key_new_from_file(&k, "/nonexistent/conn-key");
	ok(rc != 0, "key file: a missing file is an error (%d)", rc);

	/* Longer than the first read buffer, with NUL bytes in it. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	big[sizeof(big) - 1] = '\n';
	k = NULL;
	rc = key_from_content(&k, big, sizeof(big));
	ok(rc == 0 && k && key_is(k, big, sizeof(big) - 1),
	   "key file: 5000 binary bytes less the newline");
	conn_key_free(k);

	test_key_file_limit();

	/* conn_key_new with the same bytes is the same key. */
	k = key_of(LIT("secret"));
	ok(key_is(k, "secret", 6) && !key_is(k, "secreT", 6),
	   "key_is tells keys apart");
	conn_key_free(k);
}

/* ------------------------------------------------ the handshake on a wire */

static void put_frame(int fd, const void *payload, size_t len)
{
	uint8_t frame[4 + CONN_HANDSHAKE_FRAME_MAX];
	size_t h = conn_frame_header_encode(frame, len);

	memcpy(frame + h, payload, len);
	if (write(fd, frame, h + len) != (ssize_t)(h + len))
		abort();
}

/* Reads whatever arrives within ms into buf; the byte count. */
static size_t gather(int fd, uint8_t *buf, size_t cap, size_t want, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t have = 0;
	ssize_t n;

	while (have < want && poll(&p, 1, ms) == 1) {
		n = read(fd, buf + have, cap - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	return have;
}

/* Our client over a socketpair, in a child; its exit status is the
 * conn_channel_authenticate() result. */
static pid_t client_child(int fd, struct conn_key *k)
{
	pid_t pid = fork();
	struct conn_channel *c;
	struct conn_auth a;

	if (pid != 0)
		return pid;
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	if (conn_channel_new(&c, fd, fd))
		_exit(100);
	conn_channel_set_deadline(c, conn_clock_ms() + 5000);
	_exit(conn_channel_authenticate(c, &a));
}

/*
 * The client's challenge follows its answer at once, before any
 * #WELCOME#: a listener that never sends #WELCOME# still sees both.
 * Then the #WELCOME# is checked all the same.
 */
static void test_pipelined_client(bool welcome)
{
	struct conn_key *k = key_of(LIT("pipelined"));
	uint8_t challenge[LIT_LEN_CHALLENGE + 20], got[512], mac[32];
	size_t n, answer_len = 4 + 16, early;
	int sv[2], status;
	pid_t pid;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pid = client_child(sv[1], k);
	close(sv[1]);
	memcpy(challenge, CHALLENGE, LIT_LEN_CHALLENGE);
	memset(challenge + LIT_LEN_CHALLENGE, 'c', 20);	/* legacy: raw MD5 */
	put_frame(sv[0], challenge, sizeof(challenge));
	early = answer_len + 4 + LIT_LEN_CHALLENGE + 8 + RANDOM_LEN;
	n = gather(sv[0], got, sizeof(got), early, 2000);
	ok(n == early && memcmp(got + answer_len + 4, CHALLENGE,
				LIT_LEN_CHALLENGE) == 0,
	   "pipelined: the client's challenge comes with its answer, before "
	   "#WELCOME# (%zu of %zu bytes)", n, early);
	if (welcome) {
		put_frame(sv[0], WELCOME, strlen(WELCOME));
		conn_hmac(mac, CONN_DIGEST_SHA256, (const uint8_t *)"pipelined",
			  9, got + answer_len + 4 + LIT_LEN_CHALLENGE,
			  8 + RANDOM_LEN);
		memcpy(got, "{sha256}", 8);
		memcpy(got + 8, mac, sizeof(mac));
		put_frame(sv[0], got, 8 + sizeof(mac));
	} else {
		put_frame(sv[0], FAILURE, strlen(FAILURE));
	}
	waitpid(pid, &status, 0);
	if (welcome) {
		n = gather(sv[0], got, sizeof(got), 4 + strlen(WELCOME), 2000);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		   bytes_eq(got + 4, n - 4, LIT(WELCOME)),
		   "pipelined: #WELCOME#, the answer, then the client's "
		   "#WELCOME# (status %d)", WEXITSTATUS(status));
	} else {
		ok(WIFEXITED(status) && WEXITSTATUS(status) == CONN_EAUTH,
		   "pipelined: #FAILURE# instead of #WELCOME# is still "
		   "CONN_EAUTH (status %d)", WEXITSTATUS(status));
	}
	close(sv[0]);
	conn_key_free(k);
}

/* ----------------------------------------- the non-blocking handshake */

/* One round of a non-blocking side: step, send, receive. */
static int side_round(struct conn_channel *c, struct conn_auth *a, int *rc)
{
	if (*rc == CONN_EAGAIN)
		*rc = conn_channel_handshake_step(c, a);
	if (conn_channel_queued(c) && conn_channel_write_some(c))
		return -1;
	if (*rc == CONN_EAGAIN && conn_channel_read_some(c) > CONN_EAGAIN)
		return -1;
	return 0;
}

/* Both roles driven by conn_channel_handshake_step() in one process:
 * nothing blocks, and the client's early challenge (a Unix socket) is
 * taken by a listener that reads the stream as CPython's does. */
static void test_step_both_roles(enum conn_digest ld, enum conn_digest cd,
				 const char *lname, const char *cname)
{
	struct conn_key *k = key_of(LIT("stepped"));
	struct conn_channel *lc, *cc;
	struct conn_auth la, ca;
	int sv[2], lrc = CONN_EAGAIN, crc = CONN_EAGAIN, rounds = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
	    conn_channel_new(&lc, sv[0], sv[0]) ||
	    conn_channel_new(&cc, sv[1], sv[1]))
		abort();
	conn_auth_init(&la, CONN_ROLE_LISTENER, k, ld, 0);
	conn_auth_init(&ca, CONN_ROLE_CLIENT, k, cd, 0);
	while ((lrc == CONN_EAGAIN || crc == CONN_EAGAIN) && rounds++ < 20)
		if (side_round(lc, &la, &lrc) || side_round(cc, &ca, &crc))
			break;
	ok(lrc == 0 && crc == 0 && conn_auth_is_done(&la) &&
	   conn_auth_is_done(&ca) && conn_channel_queued(lc) == 0 &&
	   conn_channel_queued(cc) == 0,
	   "step, %s/%s: both sides done in %d rounds, nothing left to send "
	   "(listener %d, client %d)", lname, cname, rounds, lrc, crc);
	ok(strcmp(la.peer_digest, lname) == 0 &&
	   strcmp(ca.peer_digest, cname) == 0,
	   "step, %s/%s: each challenge answered in its own digest (%s, %s)",
	   lname, cname, la.peer_digest, ca.peer_digest);
	conn_channel_free(lc);
	conn_channel_free(cc);
	conn_key_free(k);
}

/* A listener's step against what a peer wrote and closed: the error and
 * the channel's words for it. */
static void test_step_fails(const void *bytes, size_t len, int want,
			    const char *detail, const char *what)
{
	struct conn_key *k = key_of(LIT("stepped"));
	struct conn_channel *c;
	struct conn_auth a;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
	    conn_channel_new(&c, sv[0], sv[0]))
		abort();
	if (len && write(sv[1], bytes, len) != (ssize_t)len)
		abort();
	close(sv[1]);
	conn_auth_init(&a, CONN_ROLE_LISTENER, k, CONN_DIGEST_SHA256, 0);
	rc = conn_channel_handshake_step(c, &a);
	ok(rc == CONN_EAGAIN, "step, %s: waits for the peer at first", what);
	while (rc == CONN_EAGAIN && conn_channel_read_some(c) <= CONN_EAGAIN)
		rc = conn_channel_handshake_step(c, &a);
	ok(rc == want && strstr(conn_channel_detail(c), detail) != NULL,
	   "step, %s: %s, \"%s\" (got %d, \"%s\")", what,
	   conn_strerror(want), detail, rc, conn_channel_detail(c));
	conn_channel_free(c);
	conn_key_free(k);
}

static void test_step_failures(void)
{
	static const uint8_t too_big[] = { 0, 0, 1, 1 };
	static const uint8_t cut[] = { 0, 0, 0, 40, 'x', 'y' };
	static const uint8_t negative[] = { 0xff, 0xff, 0xff, 0xf0 };

	test_step_fails("", 0, CONN_EAUTH, "the peer closed the connection "
			"during authentication: does it expect no authkey",
			"the peer leaves");
	test_step_fails(too_big, sizeof(too_big), CONN_EPROTO,
			"the peer announced a 257-byte message during the "
			"handshake (the limit is 256)", "a 257-byte frame");
	test_step_fails(cut, sizeof(cut), CONN_ETRUNC, "(2 of 40 bytes "
			"received)", "a frame cut short");
	test_step_fails(negative, sizeof(negative), CONN_EPROTO,
			"invalid message length", "a negative length");
}

static void test_step_timed_out(void)
{
	struct conn_key *k = key_of(LIT("stepped"));
	struct conn_channel *c;
	struct conn_auth a;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
	    conn_channel_new(&c, sv[0], sv[0]))
		abort();
	conn_auth_init(&a, CONN_ROLE_CLIENT, k, CONN_DIGEST_SHA256, 0);
	ok(conn_channel_handshake_step(c, &a) == CONN_EAGAIN &&
	   conn_channel_handshake_timed_out(c, &a, 1500) == CONN_ETIMEDOUT &&
	   strcmp(conn_channel_detail(c), "no challenge from the peer within "
		  "1.5 s: does it expect no authkey?") == 0,
	   "timed out, a client with no challenge yet: \"%s\"",
	   conn_channel_detail(c));
	conn_auth_init(&a, CONN_ROLE_LISTENER, k, CONN_DIGEST_SHA256, 0);
	ok(conn_channel_handshake_step(c, &a) == CONN_EAGAIN &&
	   conn_channel_handshake_timed_out(c, &a, 999) == CONN_ETIMEDOUT &&
	   strcmp(conn_channel_detail(c), "handshake not finished within "
		  "1 s") == 0,
	   "timed out, a listener, to 10 ms: \"%s\"", conn_channel_detail(c));
	conn_channel_free(c);
	close(sv[1]);
	conn_key_free(k);
}

int main(void)
{
	json_t *root = vectors_load("auth.json");
	struct response r[64];
	size_t count = load_responses(r, 64, root), i;

	test_digests();
	test_hmac(r, count);
	test_responses_through_state_machine(r, count);
	test_transcript(root);
	test_wrong_key();
	test_md5(r, count);
	test_bad_messages(r, count);
	test_key_files();
	test_pipelined_client(true);
	test_pipelined_client(false);
	test_step_both_roles(CONN_DIGEST_SHA256, CONN_DIGEST_SHA384, "sha256",
			     "sha384");
	test_step_both_roles(CONN_DIGEST_MD5, CONN_DIGEST_SHA3_256, "md5",
			     "sha3_256");
	test_step_failures();
	test_step_timed_out();
	for (i = 0; i < count; i++) {
		free(r[i].key);
		free(r[i].challenge);
		free(r[i].response);
		free(r[i].legacy_reply);
	}
	json_decref(root);
	return tap_done();
}
