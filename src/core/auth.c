/*
 * auth.c - the mutual HMAC challenge/response of multiprocessing.connection.
 *
 * A challenge is "#CHALLENGE#" + message.  Modern peers (Python >= 3.12)
 * send message = "{digest}" + 40 random bytes and answer "{digest}" + MAC;
 * legacy peers (Python <= 3.11) send 20 random bytes and answer with the
 * raw 16-byte HMAC-MD5.  The MAC always covers the whole message.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHALLENGE "#CHALLENGE#"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
#define LIT_LEN(s) (sizeof(s) - 1)
#define RANDOM_LEN 40		/* Python's MESSAGE_LENGTH */
#define LEGACY_CHALLENGE_LEN 20	/* what Python <= 3.11 sends */
#define MD5_LEN 16
#define DIGEST_NAME_MAX 8	/* "sha3_384" */

/* ----------------------------------------------------------------- digests */

static const struct {
	const char *name;
	size_t size;
} digests[CONN_DIGEST_COUNT] = {
	[CONN_DIGEST_MD5] = { "md5", 16 },
	[CONN_DIGEST_SHA256] = { "sha256", 32 },
	[CONN_DIGEST_SHA384] = { "sha384", 48 },
	[CONN_DIGEST_SHA3_256] = { "sha3_256", 32 },
	[CONN_DIGEST_SHA3_384] = { "sha3_384", 48 },
};

int conn_digest_from_name(enum conn_digest *d, const char *name, size_t len)
{
	int i;

	for (i = 0; i < CONN_DIGEST_COUNT; i++) {
		if (strlen(digests[i].name) == len &&
		    memcmp(digests[i].name, name, len) == 0) {
			*d = (enum conn_digest)i;
			return 0;
		}
	}
	return CONN_EINVAL;
}

const char *conn_digest_name(enum conn_digest d)
{
	return digests[d].name;
}

size_t conn_digest_size(enum conn_digest d)
{
	return digests[d].size;
}

/* nettle's generic HMAC, for the digests libsodium lacks. */
static void hmac_nettle(uint8_t *mac, const struct nettle_hash *hash,
			const uint8_t *key, size_t key_len,
			const uint8_t *message, size_t len)
{
	union hash_context {
		struct md5_ctx md5;
		struct sha384_ctx sha384;
		struct sha3_256_ctx sha3_256;
		struct sha3_384_ctx sha3_384;
	} outer, inner, state;

	hmac_set_key(&outer, &inner, &state, hash, key_len, key);
	hmac_update(&state, hash, len, message);
	hmac_digest(&outer, &inner, &state, hash, hash->digest_size, mac);
	sodium_memzero(&outer, sizeof(outer));
	sodium_memzero(&inner, sizeof(inner));
	sodium_memzero(&state, sizeof(state));
}

void conn_hmac(uint8_t *mac, enum conn_digest d, const uint8_t *key,
	       size_t key_len, const uint8_t *message, size_t len)
{
	crypto_auth_hmacsha256_state st;

	switch (d) {
	case CONN_DIGEST_SHA256:
		crypto_auth_hmacsha256_init(&st, key, key_len);
		crypto_auth_hmacsha256_update(&st, message, len);
		crypto_auth_hmacsha256_final(&st, mac);
		sodium_memzero(&st, sizeof(st));
		break;
	case CONN_DIGEST_MD5:
		hmac_nettle(mac, &nettle_md5, key, key_len, message, len);
		break;
	case CONN_DIGEST_SHA384:
		hmac_nettle(mac, &nettle_sha384, key, key_len, message, len);
		break;
	case CONN_DIGEST_SHA3_256:
		hmac_nettle(mac, &nettle_sha3_256, key, key_len, message, len);
		break;
	case CONN_DIGEST_SHA3_384:
		hmac_nettle(mac, &nettle_sha3_384, key, key_len, message, len);
		break;
	case CONN_DIGEST_COUNT:
		break;
	}
}

/* -------------------------------------------------------------------- keys */

struct conn_key {
	uint8_t *bytes;		/* sodium_malloc: locked, guarded, wiped */
	size_t len;
};

void auth_key_bytes(const struct conn_key *k, const uint8_t **bytes,
		    size_t *len)
{
	*bytes = k->bytes;
	*len = k->len;
}

static int key_alloc(struct conn_key **out, size_t capacity)
{
	struct conn_key *k;

	*out = NULL;
	if (sodium_init() < 0)
		return CONN_ENOMEM;
	k = sodium_malloc(sizeof(*k));
	if (k == NULL)
		return CONN_ENOMEM;
	k->len = 0;
	k->bytes = sodium_malloc(capacity ? capacity : 1);
	if (k->bytes == NULL) {
		sodium_free(k);
		return CONN_ENOMEM;
	}
	*out = k;
	return 0;
}

int conn_key_new(struct conn_key **out, const void *bytes, size_t len)
{
	int rc = key_alloc(out, len);

	if (rc)
		return rc;
	memcpy((*out)->bytes, bytes, len);
	(*out)->len = len;
	return 0;
}

void conn_key_free(struct conn_key *k)
{
	if (k == NULL)
		return;
	sodium_free(k->bytes);	/* wipes before it frees */
	sodium_free(k);
}

/* At CONN_KEY_FILE_MAX bytes: 0 if the file ends there, else
 * CONN_ETOOBIG (a file of anything, /dev/zero, is no key). */
static int key_read_end(int fd)
{
	uint8_t more;
	ssize_t n;

	while ((n = read(fd, &more, 1)) < 0 && errno == EINTR)
		;
	return n == 0 ? 0 : n > 0 ? CONN_ETOOBIG : CONN_EIO;
}

/* Reads fd whole into locked memory, growing as needed. */
static int key_read_fd(struct conn_key *k, int fd)
{
	size_t capacity = 256;
	ssize_t n;

	for (;;) {
		if (k->len == capacity && capacity >= CONN_KEY_FILE_MAX)
			return key_read_end(fd);
		if (k->len == capacity) {
			uint8_t *bigger;

			bigger = sodium_malloc(capacity * 2);
			if (bigger == NULL)
				return CONN_ENOMEM;
			memcpy(bigger, k->bytes, k->len);
			sodium_free(k->bytes);
			k->bytes = bigger;
			capacity *= 2;
		}
		n = read(fd, k->bytes + k->len, capacity - k->len);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return CONN_EIO;
		if (n > 0)
			k->len += (size_t)n;
	}
}

int conn_key_new_from_file(struct conn_key **out, const char *path)
{
	struct conn_key *k = NULL;
	int fd, rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return CONN_EIO;
	rc = key_alloc(&k, 256);
	if (rc == 0)
		rc = key_read_fd(k, fd);
	close(fd);
	if (rc == 0 && k->len > 0 && k->bytes[k->len - 1] == '\n')
		k->len--;
	if (rc == 0 && k->len == 0)
		rc = CONN_EINVAL;
	if (rc) {
		conn_key_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* ----------------------------------------------------------- the handshake */

enum auth_state {
	AUTH_START,
	AUTH_WAIT_CHALLENGE,	/* to answer the peer's challenge */
	AUTH_WAIT_WELCOME,	/* the peer's verdict on our answer */
	AUTH_WAIT_REPLY,	/* the peer's answer to our challenge */
	AUTH_WAIT_EARLY_WELCOME, /* the verdict, our challenge already sent */
	AUTH_DONE,
	AUTH_FAILED
};

static void random_bytes(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void conn_auth_init(struct conn_auth *a, enum conn_role role,
		    const struct conn_key *key, enum conn_digest digest,
		    unsigned flags)
{
	*a = (struct conn_auth){ .role = role, .state = AUTH_START,
				 .key = key, .digest = digest,
				 .flags = flags, .random = random_bytes };
	if (sodium_init() < 0)
		a->random = NULL;
}

bool conn_auth_is_done(const struct conn_auth *a)
{
	return a->state == AUTH_DONE;
}

static int auth_fail(struct conn_auth *a, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int auth_fail(struct conn_auth *a, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->detail, sizeof(a->detail), fmt, ap);
	va_end(ap);
	a->state = AUTH_FAILED;
	return err;
}

/*
 * Which digest a challenge or reply uses, as CPython decides: 16 or 20
 * bytes are legacy MD5 with no prefix ("" in name); otherwise a known
 * "{name}" must lead.  *skip is the prefix length.
 */
static int parse_digest_prefix(enum conn_digest *d, char *name, size_t *skip,
			       const uint8_t *msg, size_t len)
{
	const uint8_t *close;

	if (len == MD5_LEN || len == LEGACY_CHALLENGE_LEN) {
		*d = CONN_DIGEST_MD5;
		name[0] = '\0';
		*skip = 0;
		return 0;
	}
	if (len < 2 || msg[0] != '{')
		return CONN_EAUTH;
	close = memchr(msg + 1, '}', len - 1 < DIGEST_NAME_MAX + 1 ?
				     len - 1 : DIGEST_NAME_MAX + 1);
	if (close == NULL ||
	    conn_digest_from_name(d, (const char *)msg + 1,
				  (size_t)(close - msg - 1)))
		return CONN_EAUTH;
	memcpy(name, msg + 1, (size_t)(close - msg - 1));
	name[close - msg - 1] = '\0';
	*skip = (size_t)(close - msg + 1);
	return 0;
}

static size_t put(uint8_t *out, const void *bytes, size_t len)
{
	memcpy(out, bytes, len);
	return len;
}

/* Our challenge: #CHALLENGE#{digest} + 40 random bytes. */
static size_t make_challenge(struct conn_auth *a, uint8_t *out)
{
	size_t n = 0;

	n += put(a->challenge + n, "{", 1);
	n += put(a->challenge + n, digests[a->digest].name,
		 strlen(digests[a->digest].name));
	n += put(a->challenge + n, "}", 1);
	a->random(a->challenge + n, RANDOM_LEN);
	a->challenge_len = n + RANDOM_LEN;
	memcpy(out, CHALLENGE, LIT_LEN(CHALLENGE));
	memcpy(out + LIT_LEN(CHALLENGE), a->challenge, a->challenge_len);
	return LIT_LEN(CHALLENGE) + a->challenge_len;
}

static bool starts_with(const uint8_t *in, size_t len, const char *lit)
{
	return len >= strlen(lit) && memcmp(in, lit, strlen(lit)) == 0;
}

/* Answers the peer's challenge in its own style. */
static int answer_challenge(struct conn_auth *a, uint8_t *out,
			    size_t *out_len, const uint8_t *in, size_t len)
{
	enum conn_digest d;
	char name[DIGEST_NAME_MAX + 1];
	size_t skip, n = 0;

	if (!starts_with(in, len, CHALLENGE))
		return auth_fail(a, CONN_EAUTH,
				 "the peer sent data instead of a challenge: "
				 "does it expect no authkey?");
	in += LIT_LEN(CHALLENGE);
	len -= LIT_LEN(CHALLENGE);
	if (len < LEGACY_CHALLENGE_LEN ||
	    parse_digest_prefix(&d, name, &skip, in, len))
		return auth_fail(a, CONN_EPROTO,
				 "the peer's challenge is malformed or uses "
				 "an unknown digest");
	if (d == CONN_DIGEST_MD5 && (a->flags & CONN_AUTH_NO_MD5))
		return auth_fail(a, CONN_EAUTH,
				 "the peer challenges with MD5%s and "
				 "--no-md5 refuses it",
				 name[0] ? "" : " (a legacy peer)");
	if (name[0]) {
		n += put(out, "{", 1);
		n += put(out + n, name, strlen(name));
		n += put(out + n, "}", 1);
	}
	conn_hmac(out + n, d, a->key->bytes, a->key->len, in, len);
	*out_len = n + digests[d].size;
	snprintf(a->our_reply_digest, sizeof(a->our_reply_digest), "%s%s",
		 digests[d].name, name[0] ? "" : " (legacy)");
	return 0;
}

/* Checks the peer's answer to our challenge in constant time. */
static int verify_reply(struct conn_auth *a, const uint8_t *in, size_t len)
{
	uint8_t expected[CONN_DIGEST_SIZE_MAX];
	enum conn_digest d;
	char name[DIGEST_NAME_MAX + 1];
	size_t skip;

	if (parse_digest_prefix(&d, name, &skip, in, len))
		return auth_fail(a, CONN_EAUTH,
				 "the peer's reply is not a digest: does it "
				 "use no authkey?");
	if (d == CONN_DIGEST_MD5 && (a->flags & CONN_AUTH_NO_MD5))
		return auth_fail(a, CONN_EAUTH,
				 "the peer answered with MD5%s and --no-md5 "
				 "refuses it", name[0] ? "" : " (a legacy peer)");
	conn_hmac(expected, d, a->key->bytes, a->key->len, a->challenge,
		  a->challenge_len);
	if (len - skip != digests[d].size ||
	    sodium_memcmp(expected, in + skip, digests[d].size) != 0)
		return auth_fail(a, CONN_EAUTH,
				 "the peer's reply does not match our key");
	snprintf(a->peer_digest, sizeof(a->peer_digest), "%s%s",
		 digests[d].name, name[0] ? "" : " (legacy)");
	return 0;
}

static int check_welcome(struct conn_auth *a, const uint8_t *in, size_t len)
{
	if (len == LIT_LEN(WELCOME) && memcmp(in, WELCOME, len) == 0)
		return 0;
	if (len == LIT_LEN(FAILURE) && memcmp(in, FAILURE, len) == 0)
		return auth_fail(a, CONN_EAUTH,
				 "the peer rejected our key (#FAILURE#)");
	return auth_fail(a, CONN_EPROTO,
			 "the peer answered our reply with neither #WELCOME# "
			 "nor #FAILURE#");
}

int conn_auth_step(struct conn_auth *a, uint8_t *out, size_t *out_len,
		   const uint8_t *in, size_t in_len)
{
	int rc;

	*out_len = 0;
	if (a->random == NULL || a->key == NULL)
		return auth_fail(a, CONN_EINVAL, "no key or no randomness");
	switch (a->state) {
	case AUTH_START:
		if (a->role == CONN_ROLE_LISTENER) {
			*out_len = make_challenge(a, out);
			a->state = AUTH_WAIT_REPLY;
		} else {
			a->state = AUTH_WAIT_CHALLENGE;
		}
		return 0;
	case AUTH_WAIT_CHALLENGE:
		rc = answer_challenge(a, out, out_len, in, in_len);
		if (rc == 0)
			a->state = AUTH_WAIT_WELCOME;
		return rc;
	case AUTH_WAIT_WELCOME:
		rc = check_welcome(a, in, in_len);
		if (rc)
			return rc;
		if (a->role == CONN_ROLE_LISTENER) {
			a->state = AUTH_DONE;
		} else {
			*out_len = make_challenge(a, out);
			a->state = AUTH_WAIT_REPLY;
		}
		return 0;
	case AUTH_WAIT_EARLY_WELCOME:
		rc = check_welcome(a, in, in_len);
		if (rc == 0)
			a->state = AUTH_WAIT_REPLY;
		return rc;
	case AUTH_WAIT_REPLY:
		rc = verify_reply(a, in, in_len);
		*out_len = put(out, rc ? FAILURE : WELCOME,
			       rc ? LIT_LEN(FAILURE) : LIT_LEN(WELCOME));
		if (rc)
			return rc;
		a->state = a->role == CONN_ROLE_LISTENER ? AUTH_WAIT_CHALLENGE
							 : AUTH_DONE;
		return 0;
	default:
		return auth_fail(a, CONN_EINVAL, "the handshake is over");
	}
}

/* ------------------------------------------------- the handshake on a wire */

/* The step's error, or an answer that could not be queued, as c's error. */
static int handshake_failed(struct conn_channel *c, struct conn_auth *a,
			    int rc)
{
	chan_set_detail(c, "%s", a->detail);
	return rc;
}

/* Queues out on c, traced as a frame we send. */
static int handshake_queue(struct conn_channel *c, const uint8_t *out,
			   size_t out_len)
{
	struct conn_piece p = { out, out_len, 0, out_len };

	conn_channel_trace_frame(c, '>', &p);
	chan_tap_handshake(c, true, out, out_len);
	return conn_channel_append(c, out, out_len);
}

/* One step of a over c: in (NULL at the start) in, our message queued. */
static int handshake_advance(struct conn_channel *c, struct conn_auth *a,
			     const uint8_t *in, size_t in_len)
{
	uint8_t out[CONN_HANDSHAKE_FRAME_MAX];
	size_t out_len;
	int rc = conn_auth_step(a, out, &out_len, in, in_len);
	int queued = out_len ? handshake_queue(c, out, out_len) : 0;

	/* A #FAILURE# goes with the error, if it could be queued; the
	 * handshake's error is what counts. */
	if (rc)
		return handshake_failed(c, a, rc);
	return queued;
}

/*
 * A client sends its challenge right behind its answer instead of after
 * the peer's #WELCOME#: a round trip less.  The peer reads it when it
 * would have anyway (CPython's Listener too: it is a stream), and the
 * #WELCOME# is still checked before anything else (AUTH_WAIT_EARLY_WELCOME).
 * Only over a Unix socket: over TCP, CPython (no TCP_NODELAY) would then
 * write #WELCOME# and its answer back to back, and Nagle holds the answer
 * until our delayed ACK, 40 ms later.
 */
static bool may_challenge_early(const struct conn_channel *c,
				const struct conn_auth *a)
{
	int domain = 0;
	socklen_t len = sizeof(domain);

	return a->role == CONN_ROLE_CLIENT && a->state == AUTH_WAIT_WELCOME &&
	       getsockopt(conn_channel_wfd(c), SOL_SOCKET, SO_DOMAIN, &domain,
			  &len) == 0 &&
	       domain == AF_UNIX;
}

static int challenge_early(struct conn_channel *c, struct conn_auth *a)
{
	uint8_t out[CONN_HANDSHAKE_FRAME_MAX];
	size_t out_len = make_challenge(a, out);

	a->state = AUTH_WAIT_EARLY_WELCOME;
	return handshake_queue(c, out, out_len);
}

/* The next handshake message if it is all here; CONN_EAGAIN if not yet;
 * or why the peer is not going to finish the handshake. */
static int handshake_take(struct conn_piece *msg, struct conn_channel *c)
{
	uint64_t length;
	int rc = conn_channel_next_size(&length, c);

	if (rc == 0 && length > CONN_HANDSHAKE_FRAME_MAX &&
	    (length >> 16) == 0x1603) {
		/* A TLS record: handshake (22), version 3.x. */
		chan_set_detail(c, "the peer started a TLS handshake: use "
				"--tls (or --tls-psk) here too");
		return CONN_ETLSPLAIN;
	}
	if (rc == 0 && length > CONN_HANDSHAKE_FRAME_MAX) {
		chan_set_detail(c, "the peer announced a %llu-byte message "
				"during the handshake (the limit is %d): it "
				"does not speak this protocol",
				(unsigned long long)length,
				CONN_HANDSHAKE_FRAME_MAX);
		return CONN_EPROTO;
	}
	if (rc == CONN_EPROTO)	/* the reader says what the header was */
		return conn_channel_take_piece(msg, c, SIZE_MAX);
	if (rc == 0)
		rc = conn_channel_take_message(msg, c);
	if (rc == 0) {
		conn_channel_trace_frame(c, '<', msg);
		chan_tap_handshake(c, false, msg->data, msg->size);
	}
	if (rc == CONN_EAGAIN && conn_channel_peer_eof(c)) {
		if (conn_channel_received(c) == 0) {
			chan_set_detail(c, "the peer closed the connection "
					"during authentication: does it "
					"expect no authkey, or another key?");
			return CONN_EAUTH;
		}
		/* Part of a message, never to be whole: the reader's end
		 * of stream says how much of it came. */
		do
			rc = conn_channel_take_piece(msg, c, SIZE_MAX);
		while (rc == 0);
	}
	return rc;
}

int conn_channel_handshake_step(struct conn_channel *c, struct conn_auth *a)
{
	struct conn_piece msg;
	int rc = 0;

	if (a->state == AUTH_START)
		rc = handshake_advance(c, a, NULL, 0);
	while (rc == 0 && !conn_auth_is_done(a)) {
		rc = handshake_take(&msg, c);
		if (rc == 0)
			rc = handshake_advance(c, a, msg.data, msg.size);
		if (rc == 0 && may_challenge_early(c, a))
			rc = challenge_early(c, a);
	}
	return rc;
}

int conn_channel_handshake_timed_out(struct conn_channel *c,
				     const struct conn_auth *a,
				     int64_t limit_ms)
{
	/* To 10 ms: the caller read the clock a moment before we did. */
	double limit_s = (double)((limit_ms + 5) / 10 * 10) / 1000.0;
	bool first = a->state == AUTH_WAIT_CHALLENGE &&
		     a->role == CONN_ROLE_CLIENT;

	chan_set_detail(c, first ? "no challenge from the peer within %.3g s: "
				   "does it expect no authkey?"
				 : "handshake not finished within %.3g s",
			limit_s);
	return CONN_ETIMEDOUT;
}

/* Waits for more of the peer's handshake, within c's deadline. */
static int handshake_wait(struct conn_channel *c, const struct conn_auth *a)
{
	int rc = chan_wait(c, conn_channel_rfd(c), POLLIN);

	if (rc == CONN_ETIMEDOUT)
		return conn_channel_handshake_timed_out(c, a,
							chan_deadline_span(c));
	if (rc == 0)
		rc = conn_channel_read_some(c);
	return rc == CONN_EAGAIN ? 0 : rc;
}

/*
 * The blocking driver over the same steps.  Each step takes every
 * message already here before we send, so replies to messages that came
 * together leave together: one system call, one wake-up of the peer.
 */
int conn_channel_authenticate(struct conn_channel *c, struct conn_auth *a)
{
	int rc;

	while ((rc = conn_channel_handshake_step(c, a)) == CONN_EAGAIN) {
		rc = chan_flush(c);
		if (rc == 0)
			rc = handshake_wait(c, a);
		if (rc)
			return rc;
	}
	if (rc) {
		char why[256];

		/* A #FAILURE# tells the peer why, if it still listens; the
		 * handshake's error and its words are what count. */
		snprintf(why, sizeof(why), "%s", conn_channel_detail(c));
		CONN_IGNORE(chan_flush(c));
		chan_set_detail(c, "%s", why);
		return rc;
	}
	return chan_flush(c);
}
