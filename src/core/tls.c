/*
 * tls.c - TLS under a channel, with GnuTLS: the config (certificates or a
 * PSK from the authkey), the non-blocking handshake with its verification
 * in words, and the stream ops that put the session between the channel
 * and its socket.  GnuTLS's GNUTLS_E_AGAIN is the channel's CONN_EAGAIN,
 * so the relay and the -k poll loop drive a TLS channel like a plain one.
 */
#include "stream.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn_tls_config {
	enum conn_role role;
	gnutls_certificate_credentials_t cert;
	gnutls_psk_client_credentials_t psk_client;
	gnutls_psk_server_credentials_t psk_server;
	bool psk_mode, has_ca, insecure, has_pin;
	uint8_t psk[32];
	uint8_t pin[CONN_TLS_PIN_SIZE];
	char *name;
	int min_version;
};

/* Records made from one large write, sent in one system call: GnuTLS
 * hands each record to tls_push() alone, and a sendmsg() a 16 KiB record
 * is eight times the plaintext's calls, on both ends (the receiver wakes
 * for each).  rec[] says which plaintext bytes each record carries, so a
 * write reports only the bytes whose records are wholly sent. */
#define TLS_BATCH (256u * 1024)
#define TLS_BATCH_RECORDS 20
#define TLS_BATCH_ROOM (TLS_BATCH + 2 * (16u * 1024 + 256))

struct tls_batch {
	bool on;		/* tls_push() appends here */
	size_t start, end;	/* the bytes of data[] not yet sent */
	int first, count;	/* the records of rec[] not yet sent */
	struct { size_t end, plain; } rec[TLS_BATCH_RECORDS];
	uint8_t data[TLS_BATCH_ROOM];
};

/* One channel's session. */
struct tls_session {
	gnutls_session_t s;
	const struct conn_tls_config *t;
	int fd;
	size_t corked;		/* bytes in records not yet all sent */
	struct tls_batch *out;	/* records made, not yet all sent */
	uint8_t *raw;		/* TLS_RAW bytes read ahead of GnuTLS */
	size_t raw_start, raw_end;
	bool eof;		/* the peer's close_notify came */
	int error;		/* met after bytes were returned: next read */
	int failed, failed_errno; /* the first fatal error: told again */
	uint8_t first[5];	/* the peer's first bytes: TLS or a frame? */
	size_t first_len;
	int verify_rc;		/* why our verification refused the peer */
	char verify_detail[240];
	bool has_peer;		/* the peer's certificate, for -v */
	char subject[160];
	char pin_text[CONN_TLS_PIN_TEXT_MAX];
};

/* ------------------------------------------------------------- config */

static int verify_peer(gnutls_session_t s);

int conn_tls_config_new(struct conn_tls_config **out, enum conn_role role)
{
	struct conn_tls_config *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return CONN_ENOMEM;
	t->role = role;
	t->min_version = 13;
	if (gnutls_certificate_allocate_credentials(&t->cert) < 0) {
		free(t);
		return CONN_ETLS;
	}
	gnutls_certificate_set_verify_function(t->cert, verify_peer);
	*out = t;
	return 0;
}

void conn_tls_config_free(struct conn_tls_config *t)
{
	if (t == NULL)
		return;
	gnutls_certificate_free_credentials(t->cert);
	if (t->psk_client)
		gnutls_psk_free_client_credentials(t->psk_client);
	if (t->psk_server)
		gnutls_psk_free_server_credentials(t->psk_server);
	gnutls_memset(t->psk, 0, sizeof(t->psk));
	free(t->name);
	free(t);
}

int conn_tls_config_set_cert(struct conn_tls_config *t, char *detail,
			     size_t capacity, const char *cert_file,
			     const char *key_file)
{
	int rc = gnutls_certificate_set_x509_key_file(t->cert, cert_file,
						      key_file,
						      GNUTLS_X509_FMT_PEM);

	if (rc < 0) {
		detail_set(detail, capacity, "cannot use the certificate %s "
			   "with the key %s: %s", cert_file, key_file,
			   gnutls_strerror(rc));
		return CONN_EINVAL;
	}
	return 0;
}

int conn_tls_config_set_ca(struct conn_tls_config *t, char *detail,
			   size_t capacity, const char *ca_file)
{
	int rc = ca_file ? gnutls_certificate_set_x509_trust_file(
				   t->cert, ca_file, GNUTLS_X509_FMT_PEM)
			 : gnutls_certificate_set_x509_system_trust(t->cert);

	if (rc <= 0) {
		detail_set(detail, capacity, "%s%s: %s",
			   ca_file ? "no CA certificate in " : "",
			   ca_file ? ca_file : "cannot load the system's "
					       "trusted CAs",
			   rc < 0 ? gnutls_strerror(rc)
				  : "no certificates found");
		return CONN_EINVAL;
	}
	t->has_ca = ca_file != NULL;
	return 0;
}

int conn_tls_config_set_name(struct conn_tls_config *t, const char *name)
{
	char *copy = strdup(name);

	if (copy == NULL)
		return CONN_ENOMEM;
	free(t->name);
	t->name = copy;
	return 0;
}

int conn_tls_config_set_pin(struct conn_tls_config *t, char *detail,
			    size_t capacity, const char *text)
{
	int rc = conn_tls_pin_parse(t->pin, detail, capacity, text,
				    strlen(text));

	t->has_pin = rc == 0;
	return rc;
}

int conn_tls_config_set_min(struct conn_tls_config *t, int version)
{
	if (version != 12 && version != 13)
		return CONN_EINVAL;
	t->min_version = version;
	return 0;
}

void conn_tls_config_set_insecure(struct conn_tls_config *t, bool insecure)
{
	t->insecure = insecure;
}

/* The server's: the key for our one identity, none for another. */
static int psk_lookup(gnutls_session_t s, const gnutls_datum_t *identity,
		      gnutls_datum_t *key)
{
	struct tls_session *ts = gnutls_session_get_ptr(s);
	size_t n = sizeof(CONN_TLS_PSK_IDENTITY) - 1;

	if (identity->size != n ||
	    memcmp(identity->data, CONN_TLS_PSK_IDENTITY, n))
		return -1;
	key->data = gnutls_malloc(sizeof(ts->t->psk));
	if (key->data == NULL)
		return -1;
	memcpy(key->data, ts->t->psk, sizeof(ts->t->psk));
	key->size = sizeof(ts->t->psk);
	return 0;
}

int conn_tls_config_set_psk(struct conn_tls_config *t,
			    const struct conn_key *key)
{
	static const char label[] = CONN_TLS_PSK_LABEL;
	gnutls_datum_t k = { t->psk, sizeof(t->psk) };
	const uint8_t *bytes;
	size_t len;

	auth_key_bytes(key, &bytes, &len);
	conn_hmac(t->psk, CONN_DIGEST_SHA256, bytes, len,
		  (const uint8_t *)label, sizeof(label) - 1);
	t->psk_mode = true;
	if (t->role == CONN_ROLE_CLIENT) {
		if (t->psk_client == NULL &&
		    gnutls_psk_allocate_client_credentials(&t->psk_client) < 0)
			return CONN_ENOMEM;
		if (gnutls_psk_set_client_credentials(t->psk_client,
						      CONN_TLS_PSK_IDENTITY,
						      &k, GNUTLS_PSK_KEY_RAW) < 0)
			return CONN_ETLS;
		return 0;
	}
	if (t->psk_server == NULL &&
	    gnutls_psk_allocate_server_credentials(&t->psk_server) < 0)
		return CONN_ENOMEM;
	gnutls_psk_set_server_credentials_function2(t->psk_server, psk_lookup);
	return 0;
}

/* TLS 1.3 unless --tls-min 1.2; AES-GCM first (AES-NI makes it the
 * fastest: GnuTLS's NORMAL picked ChaCha20 for a PSK), ChaCha20 allowed;
 * a PSK with (EC)DHE first, for forward secrecy, and no certificates. */
#define TLS_CIPHERS "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"
static const char *priority(const struct conn_tls_config *t)
{
	if (t->psk_mode)
		return "NORMAL:-VERS-ALL:+VERS-TLS1.3:" TLS_CIPHERS
		       ":-KX-ALL:+ECDHE-PSK:+DHE-PSK:+PSK";
	return t->min_version == 12 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3:"
				      "+VERS-TLS1.2:" TLS_CIPHERS
				    : "NORMAL:-VERS-ALL:+VERS-TLS1.3:"
				      TLS_CIPHERS;
}

/* ----------------------------------------------------------- transport */

/* GnuTLS asks for a record's header, then for its body: two system calls
 * a 16 KiB record.  One recv() of up to TLS_RAW bytes serves several: 256
 * KiB, as much as the channel reads at once, took a tenth more MB/s than
 * 64 KiB on a 1 MiB stream.  malloc() maps a block this size, so the pages
 * of an idle connection's buffer that are never filled cost no memory. */
#define TLS_RAW (256u * 1024)

static void keep_first(struct tls_session *ts, const uint8_t *b, size_t r)
{
	size_t keep = sizeof(ts->first) - ts->first_len;

	if (keep > r)
		keep = r;
	memcpy(ts->first + ts->first_len, b, keep);
	ts->first_len += keep;
}

static ssize_t tls_pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct tls_session *ts = p;
	size_t have = ts->raw_end - ts->raw_start;
	ssize_t r;

	if (have == 0) {
		ts->raw_start = ts->raw_end = 0;
		r = recv(ts->fd, ts->raw, TLS_RAW, 0);
		if (r <= 0)
			return r;
		if (ts->first_len < sizeof(ts->first))
			keep_first(ts, ts->raw, (size_t)r);
		ts->raw_end = have = (size_t)r;
	}
	if (n > have)
		n = have;
	memcpy(buf, ts->raw + ts->raw_start, n);
	ts->raw_start += n;
	return (ssize_t)n;
}

static ssize_t tls_push(gnutls_transport_ptr_t p, const giovec_t *iov,
			int n)
{
	struct tls_session *ts = p;
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)n };
	struct tls_batch *b = ts->out;
	size_t total = 0;
	int i;

	if (b == NULL || !b->on)
		return sendmsg(ts->fd, &m, MSG_NOSIGNAL);
	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (total > sizeof(b->data) - b->end) {	/* never: room is kept */
		errno = ENOBUFS;
		return -1;
	}
	for (i = 0; i < n; i++) {
		memcpy(b->data + b->end, iov[i].iov_base, iov[i].iov_len);
		b->end += iov[i].iov_len;
	}
	return (ssize_t)total;
}

/* Only GnuTLS's own timed waits call this; ours go through poll(). */
static int tls_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct tls_session *ts = p;
	struct pollfd pfd = { .fd = ts->fd, .events = POLLIN };

	return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

/* --------------------------------------------------------- verification */

static void when_text(char *out, size_t capacity, time_t when)
{
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(out, capacity, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, capacity, "%lld", (long long)when);
}

/* The names a certificate is for: its DNS and IP alternative names, else
 * its common name, comma-separated. */
static void cert_names(char *out, size_t capacity, gnutls_x509_crt_t crt)
{
	size_t used = 0;
	unsigned i;

	out[0] = '\0';
	for (i = 0; used + 1 < capacity; i++) {
		char name[256];
		size_t len = sizeof(name);
		unsigned char ip[16];
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name,
								&len, NULL);

		if (type < 0 && type != GNUTLS_E_SHORT_MEMORY_BUFFER)
			break;
		if (type == GNUTLS_SAN_IPADDRESS && (len == 4 || len == 16)) {
			memcpy(ip, name, len);
			if (len == 4)
				snprintf(name, sizeof(name), "%u.%u.%u.%u",
					 ip[0], ip[1], ip[2], ip[3]);
			else
				snprintf(name, sizeof(name), "an IPv6 address");
		} else if (type != GNUTLS_SAN_DNSNAME) {
			continue;
		}
		used += (size_t)snprintf(out + used, capacity - used, "%s%s",
					 used ? ", " : "", name);
	}
	if (used == 0) {
		size_t len = capacity;

		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						  0, 0, out, &len) < 0)
			snprintf(out, capacity, "no name");
	}
}

/* The peer's first certificate, its subject and pin kept for -v. */
static int peer_certificate(struct tls_session *ts, gnutls_x509_crt_t *crt,
			    uint8_t *pin)
{
	const gnutls_datum_t *list;
	unsigned n = 0;
	gnutls_pubkey_t key = NULL;
	gnutls_datum_t dn = { NULL, 0 }, spki = { NULL, 0 };
	int rc = -1;

	list = gnutls_certificate_get_peers(ts->s, &n);
	if (list == NULL || n == 0 || gnutls_x509_crt_init(crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(*crt, &list[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_pubkey_init(&key) >= 0 &&
	    gnutls_pubkey_import_x509(key, *crt, 0) >= 0 &&
	    gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &spki) >= 0 &&
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size,
			     pin) >= 0)
		rc = 0;
	if (rc == 0 && gnutls_x509_crt_get_dn3(*crt, &dn, 0) >= 0) {
		snprintf(ts->subject, sizeof(ts->subject), "%.*s",
			 (int)dn.size, (const char *)dn.data);
		gnutls_free(dn.data);
	}
	if (rc == 0) {
		conn_tls_pin_format(ts->pin_text, pin);
		ts->has_peer = true;
	}
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(key);
	if (rc)
		gnutls_x509_crt_deinit(*crt);
	return rc;
}

static int refuse(struct tls_session *ts, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct tls_session *ts, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ts->verify_detail, sizeof(ts->verify_detail), fmt, ap);
	va_end(ap);
	ts->verify_rc = rc;
	return -1;
}

/* What the chain's status says, in the words a user can act on. */
static int refuse_status(struct tls_session *ts, unsigned status,
			 gnutls_x509_crt_t crt)
{
	const char *name = ts->t->name;
	char text[200], when[40];
	gnutls_datum_t out = { NULL, 0 };

	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
		return refuse(ts, CONN_ETLSCERT, "the peer's certificate "
			      "(%s) is not signed by a CA we trust: give "
			      "--tls-ca FILE, or pin its key with --tls-pin "
			      "%s", ts->subject, ts->pin_text);
	if (status & GNUTLS_CERT_EXPIRED) {
		when_text(when, sizeof(when),
			  gnutls_x509_crt_get_expiration_time(crt));
		return refuse(ts, CONN_ETLSCERT, "the peer's certificate (%s) "
			      "expired on %s", ts->subject, when);
	}
	if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		when_text(when, sizeof(when),
			  gnutls_x509_crt_get_activation_time(crt));
		return refuse(ts, CONN_ETLSCERT, "the peer's certificate (%s) "
			      "is not valid before %s", ts->subject, when);
	}
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		cert_names(text, sizeof(text), crt);
		return refuse(ts, CONN_ETLSCERT, "the peer's certificate is "
			      "for %s, not %s (--tls-name NAME sets the name "
			      "expected)", text, name ? name : "?");
	}
	if (gnutls_certificate_verification_status_print(
		    status, GNUTLS_CRT_X509, &out, 0) >= 0) {
		snprintf(text, sizeof(text), "%.*s", (int)out.size,
			 (const char *)out.data);
		gnutls_free(out.data);
	} else {
		snprintf(text, sizeof(text), "status 0x%x", status);
	}
	return refuse(ts, CONN_ETLSCERT, "the peer's certificate is refused: "
		      "%s", text);
}

/* GnuTLS calls this with the peer's chain, in the handshake: a refusal
 * ends it with an alert the peer can read. */
static int verify_peer(gnutls_session_t s)
{
	struct tls_session *ts = gnutls_session_get_ptr(s);
	const struct conn_tls_config *t = ts->t;
	uint8_t pin[CONN_TLS_PIN_SIZE];
	gnutls_x509_crt_t crt;
	unsigned status = 0;
	const char *name = t->role == CONN_ROLE_CLIENT ? t->name : NULL;
	int rc;

	if (peer_certificate(ts, &crt, pin))
		return refuse(ts, CONN_ETLSCERT, "%s", "cannot read the "
			      "peer's certificate");
	if (t->insecure) {
		rc = 0;
	} else if (t->has_pin) {
		rc = memcmp(pin, t->pin, sizeof(pin)) == 0 ? 0 :
		     refuse(ts, CONN_ETLSCERT, "the peer's public key is not "
			    "the pinned one: it is %s (%s)", ts->pin_text,
			    ts->subject);
	} else {
		rc = gnutls_certificate_verify_peers3(s, name, &status);
		if (rc < 0)
			rc = refuse(ts, CONN_ETLSCERT, "cannot verify the "
				    "peer's certificate: %s",
				    gnutls_strerror(rc));
		else if (status)
			rc = refuse_status(ts, status, crt);
	}
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* ---------------------------------------------------------------- errors */

/* The peer's first bytes were no TLS record (a record starts with its
 * type, 20 to 23, then 3): a multiprocessing frame, or something else. */
static bool peer_sent_plain(const struct tls_session *ts)
{
	return ts->first_len > 0 &&
	       (ts->first[0] < 20 || ts->first[0] > 23 ||
		(ts->first_len > 1 && ts->first[1] != 3));
}

static int plain_peer(struct tls_session *ts, char *detail, size_t capacity)
{
	char shown[32];

	if (ts->first[0] == 0x00 || ts->first[0] == 0xff) {
		detail_set(detail, capacity, "the peer sent a multiprocessing "
			   "frame, not TLS: %s",
			   ts->t->role == CONN_ROLE_CLIENT
				   ? "drop --tls?"
				   : "is the client without --tls?");
		return CONN_ETLSPLAIN;
	}
	conn_escape(shown, sizeof(shown), ts->first, ts->first_len, 5);
	detail_set(detail, capacity, "the peer does not speak TLS (it sent "
		   "\"%s\")", shown);
	return CONN_ETLSPLAIN;
}

static bool is_certificate_alert(gnutls_alert_description_t a)
{
	return a == GNUTLS_A_BAD_CERTIFICATE ||
	       a == GNUTLS_A_UNSUPPORTED_CERTIFICATE ||
	       a == GNUTLS_A_CERTIFICATE_REVOKED ||
	       a == GNUTLS_A_CERTIFICATE_EXPIRED ||
	       a == GNUTLS_A_CERTIFICATE_UNKNOWN ||
	       a == GNUTLS_A_UNKNOWN_CA || a == GNUTLS_A_ACCESS_DENIED ||
	       a == GNUTLS_A_CERTIFICATE_REQUIRED;
}

/* A PSK that differs shows as a binder or record that does not check,
 * or as the peer's alert saying so. */
static bool is_psk_mismatch(int err, gnutls_alert_description_t a,
			    bool alert)
{
	if (alert)
		return a == GNUTLS_A_DECRYPT_ERROR ||
		       a == GNUTLS_A_ILLEGAL_PARAMETER ||
		       a == GNUTLS_A_HANDSHAKE_FAILURE ||
		       a == GNUTLS_A_UNKNOWN_PSK_IDENTITY ||
		       a == GNUTLS_A_BAD_RECORD_MAC;
	return err == GNUTLS_E_DECRYPTION_FAILED ||
	       err == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER ||
	       err == GNUTLS_E_INSUFFICIENT_CREDENTIALS ||
	       err == GNUTLS_E_ILLEGAL_PARAMETER ||
	       err == GNUTLS_E_NO_CIPHER_SUITES ||
	       err == GNUTLS_E_UNKNOWN_CIPHER_SUITE;
}

/* A GnuTLS error as ours, with its line. */
static int tls_error(struct tls_session *ts, int err, char *detail,
		     size_t capacity)
{
	bool alert;
	gnutls_alert_description_t a;
	int saved = errno;

	/* A session a fatal error ended refuses every call after: the
	 * first error is the one to tell. */
	if (ts->failed) {
		err = ts->failed;
		saved = ts->failed_errno;
	} else {
		ts->failed = err;
		ts->failed_errno = saved;
	}
	alert = err == GNUTLS_E_FATAL_ALERT_RECEIVED;
	a = alert ? gnutls_alert_get(ts->s) : 0;

	if (ts->verify_rc) {
		detail_set(detail, capacity, "%s", ts->verify_detail);
		return ts->verify_rc;
	}
	if (err == GNUTLS_E_PULL_ERROR || err == GNUTLS_E_PUSH_ERROR) {
		if (saved == ECONNRESET || saved == EPIPE) {
			detail_set(detail, capacity, "%s", peer_sent_plain(ts)
				   ? "the peer does not speak TLS (it closed "
				     "the connection)"
				   : "the connection was reset in the TLS "
				     "session");
			return peer_sent_plain(ts) ? CONN_ETLSPLAIN
						   : CONN_ERESET;
		}
		detail_set(detail, capacity, "cannot %s: %s",
			   err == GNUTLS_E_PULL_ERROR ? "receive" : "send",
			   strerror(saved));
		return errno_to_conn(saved);
	}
	if (peer_sent_plain(ts) && !alert)
		return plain_peer(ts, detail, capacity);
	if (ts->t->psk_mode && is_psk_mismatch(err, a, alert)) {
		detail_set(detail, capacity, "wrong key (TLS PSK): the peer's "
			   "authkey is another one");
		return CONN_ETLSCERT;
	}
	if (err == GNUTLS_E_NO_CERTIFICATE_FOUND ||
	    err == GNUTLS_E_CERTIFICATE_REQUIRED) {
		detail_set(detail, capacity, "the peer sent no certificate: "
			   "give it --tls-cert and --tls-key (--tls-ca asks "
			   "for one)");
		return CONN_ETLSCERT;
	}
	if (alert && a == GNUTLS_A_CERTIFICATE_REQUIRED) {
		detail_set(detail, capacity, "%s", "the peer asks for our "
			   "certificate: give --tls-cert and --tls-key");
		return CONN_ETLSCERT;
	}
	if (alert && is_certificate_alert(a)) {
		detail_set(detail, capacity, "the peer refused our "
			   "certificate (TLS alert: %s)",
			   gnutls_alert_get_name(a));
		return CONN_ETLSCERT;
	}
	if (alert) {
		detail_set(detail, capacity, "the peer ended the TLS session "
			   "(alert: %s)", gnutls_alert_get_name(a));
		return CONN_ETLS;
	}
	if (err == GNUTLS_E_PREMATURE_TERMINATION ||
	    (err == GNUTLS_E_UNEXPECTED_PACKET_LENGTH && ts->first_len == 0)) {
		detail_set(detail, capacity, "%s", "the peer closed the "
			   "connection in the TLS handshake");
		return CONN_ETLS;
	}
	detail_set(detail, capacity, "TLS: %s", gnutls_strerror(err));
	return CONN_ETLS;
}

/* ------------------------------------------------------------ stream ops */

static bool tls_again(ssize_t r)
{
	return r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED;
}

/* Whole records until buf is full or the socket has no more: a read per
 * wake-up, not one per 16 KiB record. */
static int tls_read(struct stream *st, void *buf, size_t n, size_t *got,
		    char *detail, size_t capacity)
{
	struct tls_session *ts = st->ctx;
	size_t total = 0;
	ssize_t r;

	*got = 0;
	while (total < n && !ts->eof && ts->error == 0) {
		r = gnutls_record_recv(ts->s, (uint8_t *)buf + total,
				       n - total);
		if (r > 0)
			total += (size_t)r;
		else if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION)
			ts->eof = true;	/* a frame cut short still shows */
		else if (tls_again(r))
			break;
		else if (gnutls_error_is_fatal((int)r))
			ts->error = (int)r;
	}
	if (total > 0) {
		*got = total;
		return 0;
	}
	if (ts->error)
		return tls_error(ts, ts->error, detail, capacity);
	return ts->eof ? 0 : CONN_EAGAIN;
}

static int tls_write_result(struct tls_session *ts, ssize_t r, size_t done,
			    size_t *put, char *detail, size_t capacity)
{
	if (done > 0) {
		/* The bytes sent count; the error is told on the next call
		 * (the session refuses it), as the first one. */
		if (r < 0 && !tls_again(r) && ts->failed == 0) {
			ts->failed = (int)r;
			ts->failed_errno = errno;
		}
		*put = done;
		return 0;
	}
	return tls_again(r) ? CONN_EAGAIN
			    : tls_error(ts, (int)r, detail, capacity);
}

static bool batch_waiting(const struct tls_session *ts)
{
	return ts->out != NULL && ts->out->end > 0;
}

/* Sends what the batch holds: the plaintext bytes of the records wholly
 * sent are put; the rest waits for the caller's next write of the same
 * bytes. */
static int batch_flush(struct tls_session *ts, size_t *put, char *detail,
		       size_t capacity)
{
	struct tls_batch *b = ts->out;
	size_t plain = 0;
	ssize_t r = 0;

	while (b->start < b->end) {
		r = send(ts->fd, b->data + b->start, b->end - b->start,
			 MSG_NOSIGNAL);
		if (r <= 0)
			break;
		b->start += (size_t)r;
	}
	for (; b->first < b->count && b->rec[b->first].end <= b->start;
	     b->first++)
		plain += b->rec[b->first].plain;
	if (b->start == b->end)
		b->start = b->end = 0, b->first = b->count = 0;
	if (plain > 0) {
		*put = plain;
		return 0;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return CONN_EAGAIN;
	if (ts->failed == 0) {
		ts->failed = GNUTLS_E_PUSH_ERROR;
		ts->failed_errno = r < 0 ? errno : EPIPE;
	}
	return tls_error(ts, GNUTLS_E_PUSH_ERROR, detail, capacity);
}

/* A write that starts with a piece smaller than a record (a frame's
 * header): its first record holds that piece and the start of the next,
 * corked into one, which tls_push() puts in the batch.  The bytes it
 * holds, or GnuTLS's error. */
static ssize_t batch_first_record(struct tls_session *ts,
				  const struct iovec *iov, int n)
{
	size_t room = gnutls_record_get_max_size(ts->s), done = 0, len;
	ssize_t r;
	int i;

	gnutls_record_cork(ts->s);
	for (i = 0; i < n && done < room; i++) {
		len = iov[i].iov_len < room - done ? iov[i].iov_len
						   : room - done;
		r = gnutls_record_send(ts->s, iov[i].iov_base, len);
		if (r <= 0)
			break;	/* what is corked still goes */
		done += (size_t)r;
	}
	r = gnutls_record_uncork(ts->s, 0);
	return r < 0 ? r : (ssize_t)done;
}

static void batch_count(struct tls_batch *b, size_t plain)
{
	b->rec[b->count].end = b->end;
	b->rec[b->count++].plain = plain;
}

static int tls_write_direct(struct tls_session *ts, const struct iovec *iov,
			    int n, size_t *put, char *detail, size_t capacity)
{
	size_t room = gnutls_record_get_max_size(ts->s), done = 0, at = 0,
	       len;
	struct tls_batch *b = ts->out;
	ssize_t r = 1;
	int i = 0;

	if (b == NULL && (b = ts->out = calloc(1, sizeof(*b))) == NULL)
		return CONN_ENOMEM;
	if (batch_waiting(ts))	/* the same bytes again: their records */
		return batch_flush(ts, put, detail, capacity);
	b->on = true;
	if (n > 1 && iov[0].iov_len < room) {
		r = batch_first_record(ts, iov, n);
		if (r > 0)
			batch_count(b, (size_t)(done = (size_t)r));
		for (at = done; i < n && at >= iov[i].iov_len; i++)
			at -= iov[i].iov_len;
	}
	while (r > 0 && i < n && done < TLS_BATCH &&
	       b->count < TLS_BATCH_RECORDS) {
		len = iov[i].iov_len - at;
		if (len > TLS_BATCH - done)
			len = TLS_BATCH - done;
		r = gnutls_record_send(ts->s, (const uint8_t *)iov[i].iov_base +
					      at, len);
		if (r <= 0)
			break;
		batch_count(b, (size_t)r);
		done += (size_t)r;
		at += (size_t)r;
		if (at == iov[i].iov_len)
			i++, at = 0;
	}
	b->on = false;
	if (b->end == 0)
		return tls_write_result(ts, r, 0, put, detail, capacity);
	if (r < 0 && !tls_again(r) && ts->failed == 0) { /* told next */
		ts->failed = (int)r;
		ts->failed_errno = errno;
	}
	return batch_flush(ts, put, detail, capacity);
}

/* Small pieces gathered into one record (at most a record's worth). */
static int tls_write_corked(struct tls_session *ts, const struct iovec *iov,
			    int n, size_t *put, char *detail, size_t capacity)
{
	size_t room = gnutls_record_get_max_size(ts->s), done = 0, len;
	ssize_t r = 0;
	int i;

	/* After CONN_EAGAIN the record is made: only its flush is left,
	 * and the caller offers the same bytes again. */
	if (ts->corked == 0) {
		gnutls_record_cork(ts->s);
		for (i = 0; i < n && done < room; i++) {
			len = iov[i].iov_len < room - done ? iov[i].iov_len
							   : room - done;
			if (len == 0)
				continue;
			r = gnutls_record_send(ts->s, iov[i].iov_base, len);
			if (r <= 0)
				break;
			done += (size_t)r;
		}
		ts->corked = done;
		if (done == 0) {	/* nothing made: never "0 bytes sent" */
			CONN_IGNORE(gnutls_record_uncork(ts->s, 0));
			return tls_write_result(ts, r, 0, put, detail,
						capacity);
		}
	}
	r = gnutls_record_uncork(ts->s, 0);
	if (tls_again(r))
		return CONN_EAGAIN;
	done = ts->corked;
	ts->corked = 0;
	if (r < 0)
		return tls_error(ts, (int)r, detail, capacity);
	*put = done;
	return 0;
}

/* A record's worth or more: up to TLS_BATCH bytes of records made
 * straight from the caller's memory, in one send() (GnuTLS flushes each
 * record on its own even when corked, so corking would only copy); a
 * small first piece (a frame's header) shares the first record with what
 * follows.  Less: corked into one record; a session that only ever writes
 * small pieces needs no batch.  Records left by either path go out
 * through it. */
static int tls_writev(struct stream *st, const struct iovec *iov, int n,
		      size_t *put, char *detail, size_t capacity)
{
	struct tls_session *ts = st->ctx;
	size_t total = 0;
	int i, j;

	*put = 0;
	for (i = 0; i < n && iov[i].iov_len == 0; i++)
		;
	if (i == n)
		return 0;
	for (j = i; j < n; j++)
		total += iov[j].iov_len;
	if (!ts->corked && (batch_waiting(ts) ||
			    total >= gnutls_record_get_max_size(ts->s)))
		return tls_write_direct(ts, iov + i, n - i, put, detail,
					capacity);
	return tls_write_corked(ts, iov + i, n - i, put, detail, capacity);
}

static size_t tls_pending(const struct stream *st)
{
	const struct tls_session *ts = st->ctx;

	/* Read ahead: GnuTLS drains it before it says GNUTLS_E_AGAIN, so
	 * bytes here mean a read now gets further without a wait. */
	return gnutls_record_check_pending(ts->s) +
	       (ts->raw_end - ts->raw_start);
}

/* close_notify, so that the peer tells our end from a cut; its few bytes
 * wait for a full socket a little, never long. */
static int tls_shutdown(struct stream *st, char *detail, size_t capacity)
{
	struct tls_session *ts = st->ctx;
	struct pollfd pfd = { .fd = ts->fd, .events = POLLOUT };
	int rc, tries;

	for (tries = 0; tries < 50; tries++) {
		rc = gnutls_bye(ts->s, GNUTLS_SHUT_WR);
		if (!tls_again(rc))
			break;
		CONN_IGNORE(poll(&pfd, 1, 100));
	}
	if (rc < 0 && !tls_again(rc))
		return tls_error(ts, rc, detail, capacity);
	if (shutdown(ts->fd, SHUT_WR) < 0 && errno != ENOTCONN)
		return errno_to_conn(errno);
	return 0;
}

static void tls_release(struct stream *st)
{
	struct tls_session *ts = st->ctx;

	gnutls_deinit(ts->s);
	free(ts->raw);
	free(ts->out);
	free(ts);
	st->ctx = NULL;
	st->ops = &stream_fd;
}

static const struct stream_ops stream_tls = {
	tls_read, tls_writev, tls_pending, tls_shutdown, tls_release
};

/* -------------------------------------------------------------- sessions */

/* An address is no name for SNI (RFC 6066). */
static bool is_address(const char *name)
{
	return strspn(name, "0123456789.") == strlen(name) ||
	       strchr(name, ':') != NULL;
}

static int session_setup(struct tls_session *ts)
{
	const struct conn_tls_config *t = ts->t;
	bool server = t->role == CONN_ROLE_LISTENER;
	int rc;

	rc = gnutls_priority_set_direct(ts->s, priority(t), NULL);
	if (rc >= 0 && t->psk_mode)
		rc = server ? gnutls_credentials_set(ts->s, GNUTLS_CRD_PSK,
						     t->psk_server)
			    : gnutls_credentials_set(ts->s, GNUTLS_CRD_PSK,
						     t->psk_client);
	else if (rc >= 0)
		rc = gnutls_credentials_set(ts->s, GNUTLS_CRD_CERTIFICATE,
					    t->cert);
	if (rc >= 0 && server && !t->psk_mode && (t->has_ca || t->has_pin))
		gnutls_certificate_server_set_request(ts->s,
						      GNUTLS_CERT_REQUIRE);
	if (rc >= 0 && !server && !t->psk_mode && t->name &&
	    !is_address(t->name))
		rc = gnutls_server_name_set(ts->s, GNUTLS_NAME_DNS, t->name,
					    strlen(t->name));
	return rc;
}

int conn_channel_tls_start(struct conn_channel *c,
			   const struct conn_tls_config *t)
{
	struct stream *st = chan_stream(c);
	struct tls_session *ts;
	unsigned flags = GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS;

	if (st->ops != &stream_fd || st->rfd != st->wfd) {
		chan_set_detail(c, "%s", "TLS needs a socket");
		return CONN_EINVAL;
	}
	ts = calloc(1, sizeof(*ts));
	if (ts)
		ts->raw = malloc(TLS_RAW);
	if (ts == NULL || ts->raw == NULL) {
		free(ts);
		return CONN_ENOMEM;
	}
	ts->t = t;
	ts->fd = st->rfd;
	flags |= t->role == CONN_ROLE_LISTENER ? GNUTLS_SERVER : GNUTLS_CLIENT;
	if (gnutls_init(&ts->s, flags) < 0) {
		free(ts->raw);
		free(ts);
		return CONN_ENOMEM;
	}
	gnutls_session_set_ptr(ts->s, ts);
	if (session_setup(ts) < 0) {
		gnutls_deinit(ts->s);
		free(ts->raw);
		free(ts);
		chan_set_detail(c, "%s", "cannot set the TLS session up");
		return CONN_ETLS;
	}
	gnutls_transport_set_ptr(ts->s, ts);
	gnutls_transport_set_pull_function(ts->s, tls_pull);
	gnutls_transport_set_vec_push_function(ts->s, tls_push);
	gnutls_transport_set_pull_timeout_function(ts->s, tls_pull_timeout);
	/* The channel's deadline times the handshake, not GnuTLS. */
	gnutls_handshake_set_timeout(ts->s, 0);
	st->ops = &stream_tls;
	st->ctx = ts;
	return 0;
}

static struct tls_session *channel_session(const struct conn_channel *c)
{
	const struct stream *st = chan_stream((struct conn_channel *)c);

	return st->ops == &stream_tls ? st->ctx : NULL;
}

/* An alert, so that the peer says why rather than "reset": one try, the
 * socket's buffer has room for it or the peer is not reading anyway. */
static void tell_peer(struct tls_session *ts, int err)
{
	if (err == GNUTLS_E_FATAL_ALERT_RECEIVED || err == GNUTLS_E_PULL_ERROR ||
	    err == GNUTLS_E_PUSH_ERROR || peer_sent_plain(ts))
		return;
	if (ts->verify_rc)
		CONN_IGNORE(gnutls_alert_send(ts->s, GNUTLS_AL_FATAL,
					      GNUTLS_A_BAD_CERTIFICATE));
	else
		CONN_IGNORE(gnutls_alert_send_appropriate(ts->s, err));
}

int conn_channel_tls_step(struct conn_channel *c)
{
	struct tls_session *ts = channel_session(c);
	char detail[240];
	int rc, r;

	if (ts == NULL)
		return CONN_EINVAL;
	do
		r = gnutls_handshake(ts->s);
	while (r < 0 && !tls_again(r) && !gnutls_error_is_fatal(r));
	if (r == 0)
		return 0;
	if (tls_again(r))
		return CONN_EAGAIN;
	tell_peer(ts, r);
	rc = tls_error(ts, r, detail, sizeof(detail));
	chan_set_detail(c, "%s", detail);
	return rc;
}

short conn_channel_tls_events(const struct conn_channel *c)
{
	struct tls_session *ts = channel_session(c);

	return ts && gnutls_record_get_direction(ts->s) ? POLLOUT : POLLIN;
}

int conn_channel_tls_handshake(struct conn_channel *c,
			       const struct conn_tls_config *t)
{
	struct tls_session *ts;
	int rc = conn_channel_tls_start(c, t);

	while (rc == 0 && (rc = conn_channel_tls_step(c)) == CONN_EAGAIN) {
		rc = chan_wait(c, conn_channel_rfd(c),
			       conn_channel_tls_events(c));
		if (rc != CONN_ETIMEDOUT)
			continue;
		ts = channel_session(c);
		chan_set_detail(c, ts->first_len ? "TLS handshake not "
				"finished within %.3g s"
				: "no TLS handshake from the peer within "
				  "%.3g s: does it use TLS?",
				(double)chan_deadline_span(c) / 1000.0);
	}
	return rc;
}

void conn_channel_tls_info(const struct conn_channel *c, char *out,
			   size_t capacity)
{
	struct tls_session *ts = channel_session(c);
	gnutls_session_t s;

	if (ts == NULL) {
		snprintf(out, capacity, "%s", "no TLS");
		return;
	}
	s = ts->s;
	snprintf(out, capacity, "%s, %s%s%s%s%s%s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
		 gnutls_cipher_get_name(gnutls_cipher_get(s)),
		 ts->t->psk_mode ? ", PSK from the authkey" : "",
		 ts->has_peer ? ", peer " : "",
		 ts->has_peer ? ts->subject : "",
		 ts->has_peer ? ", pin " : "",
		 ts->has_peer ? ts->pin_text : "");
}
