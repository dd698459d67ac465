/*
 * test-tls.c - the TLS layer without a network: pins parsed and written
 * back, the PSK's KDF, both sides of a PSK session stepped in one thread
 * over a socketpair (right key, wrong key), and the new errors' words and
 * exit status.
 */
#include "conn.h"
#include "tap.h"

#include <poll.h>
#include <string.h>

static const char PIN[] = "sha256//aPJHqvqjNNW1dI2d0GNmfXVLxepe0TSBPgVQtsL4htI=";

static int parse(uint8_t *pin, char *detail, const char *text)
{
	return conn_tls_pin_parse(pin, detail, 200, text, strlen(text));
}

static void pins(void)
{
	uint8_t pin[CONN_TLS_PIN_SIZE];
	char detail[200], text[CONN_TLS_PIN_TEXT_MAX];

	ok(parse(pin, detail, PIN) == 0, "a pin parses");
	conn_tls_pin_format(text, pin);
	ok(strcmp(text, PIN) == 0, "and is written back the same: %s", text);
	ok(parse(pin, detail, "sha1//aPJHqvqjNNW1dI2d0GNmfXVLxepe0TSBPgVQtsL4htI=")
	   == CONN_EINVAL && strstr(detail, "starts with 'sha256//'"),
	   "another hash is refused: %s", detail);
	ok(parse(pin, detail, "sha256//aPJHqvqjNNW1dI2d0GNmfXVLxepe0TSB") ==
	   CONN_EINVAL && strstr(detail, "44 base64 characters"),
	   "a short one: %s", detail);
	ok(parse(pin, detail, "sha256//aPJHqvqjNNW1dI2d0GNmfXVLxepe0TSBPgVQtsL4ht I")
	   == CONN_EINVAL, "a blank inside");
	ok(parse(pin, detail, "sha256//aPJHqvqjNNW1dI2d0GNmfXVLxepe0TSBPgVQtsL4htI")
	   == CONN_EINVAL, "no padding");
	ok(parse(pin, detail, "sha256//") == CONN_EINVAL, "the prefix alone");
	ok(conn_tls_pin_parse(pin, detail, sizeof(detail), PIN, 8) ==
	   CONN_EINVAL, "its length is what counts, not a NUL");
}

/* The KDF conn-protocol(7) documents, by Python's hmac:
 * hmac.new(b'secret', b'conn-tools tls-psk v1', 'sha256').hexdigest() */
static void kdf(void)
{
	static const char want[] =
		"3b0edd3c474560dbcc98eca56e4b9f829b03575f06e5f69f02811b3db73548af";
	static const char label[] = CONN_TLS_PSK_LABEL;
	uint8_t mac[32];
	char hex[65];
	size_t i;

	conn_hmac(mac, CONN_DIGEST_SHA256, (const uint8_t *)"secret", 6,
		  (const uint8_t *)label, sizeof(label) - 1);
	for (i = 0; i < sizeof(mac); i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	ok(strcmp(hex, want) == 0, "the PSK of 'secret' is %s", hex);
}

/* Steps both handshakes over a socketpair until both end; their results. */
static void handshake_pair(int *rc_l, int *rc_c, const char *key_l,
			   const char *key_c, char *detail_c)
{
	struct conn_tls_config *tl = NULL, *tc = NULL;
	struct conn_key *kl = NULL, *kc = NULL;
	struct conn_channel *l = NULL, *c = NULL;
	int fds[2], i;

	*rc_l = *rc_c = -1;
	must(conn_socketpair(fds));
	must(conn_channel_new(&l, fds[0], fds[0]));
	must(conn_channel_new(&c, fds[1], fds[1]));
	must(conn_key_new(&kl, key_l, strlen(key_l)));
	must(conn_key_new(&kc, key_c, strlen(key_c)));
	must(conn_tls_config_new(&tl, CONN_ROLE_LISTENER));
	must(conn_tls_config_new(&tc, CONN_ROLE_CLIENT));
	must(conn_tls_config_set_psk(tl, kl));
	must(conn_tls_config_set_psk(tc, kc));
	must(conn_channel_tls_start(l, tl));
	must(conn_channel_tls_start(c, tc));
	*rc_l = *rc_c = CONN_EAGAIN;
	for (i = 0; i < 1000 && (*rc_l == CONN_EAGAIN || *rc_c == CONN_EAGAIN);
	     i++) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 },
				       { fds[1], POLLIN, 0 } };

		if (*rc_c == CONN_EAGAIN)
			*rc_c = conn_channel_tls_step(c);
		if (*rc_l == CONN_EAGAIN)
			*rc_l = conn_channel_tls_step(l);
		CONN_IGNORE(poll(p, 2, 10));
	}
	snprintf(detail_c, 200, "%s", conn_channel_detail(c));
	conn_channel_free(l);
	conn_channel_free(c);
	conn_tls_config_free(tl);
	conn_tls_config_free(tc);
	conn_key_free(kl);
	conn_key_free(kc);
}

static void psk_sessions(void)
{
	char detail[200];
	int rl, rc;

	handshake_pair(&rl, &rc, "secret", "secret", detail);
	ok(rl == 0 && rc == 0, "the same key: both handshakes end well "
	   "(%d, %d)", rl, rc);
	handshake_pair(&rl, &rc, "secret", "another", detail);
	ok(rl == CONN_ETLSCERT && rc == CONN_ETLSCERT &&
	   strstr(detail, "wrong key (TLS PSK)"),
	   "another key: both refuse (%d, %d): %s", rl, rc, detail);
}

static void errors(void)
{
	ok(conn_exit_status(CONN_ETLS) == 7 &&
	   conn_exit_status(CONN_ETLSCERT) == 7 &&
	   conn_exit_status(CONN_ETLSPLAIN) == 7, "TLS failures exit 7");
	ok(strcmp(conn_strerror(CONN_ETLSPLAIN), "the peer does not speak TLS")
	   == 0, "CONN_ETLSPLAIN: %s", conn_strerror(CONN_ETLSPLAIN));
}

static void config(void)
{
	struct conn_tls_config *t;
	char detail[200] = "";

	must(conn_tls_config_new(&t, CONN_ROLE_LISTENER));
	ok(conn_tls_config_set_cert(t, detail, sizeof(detail), "/nonexistent.pem",
				    "/nonexistent.key") == CONN_EINVAL &&
	   strstr(detail, "/nonexistent.pem"),
	   "a missing certificate file is named: %s", detail);
	ok(conn_tls_config_set_min(t, 11) == CONN_EINVAL, "TLS 1.1 is refused");
	ok(conn_tls_config_set_pin(t, detail, sizeof(detail), "sha256//x") ==
	   CONN_EINVAL, "a bad pin is refused");
	conn_tls_config_free(t);
}

int main(void)
{
	pins();
	kdf();
	psk_sessions();
	errors();
	config();
	return tap_done();
}
