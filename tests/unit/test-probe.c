/* test-probe.c - conn_probe_classify() over what peers send first:
 * Python's legacy and modern challenges, a keyless peer's message,
 * other servers' bytes, and each of them cut short. */
#include "conn.h"
#include "tap.h"

#include <string.h>

/* A frame of payload (len bytes) into out; its size. */
static size_t frame(uint8_t *out, const void *payload, size_t len)
{
	size_t h = conn_frame_header_encode(out, len);

	memcpy(out + h, payload, len);
	return h + len;
}

/* "#CHALLENGE#" + prefix + n random-looking bytes, framed. */
static size_t challenge(uint8_t *out, const char *prefix, size_t n)
{
	uint8_t payload[300];
	size_t len = 0, i;

	memcpy(payload, "#CHALLENGE#", 11);
	len = 11;
	memcpy(payload + len, prefix, strlen(prefix));
	len += strlen(prefix);
	for (i = 0; i < n; i++)
		payload[len++] = (uint8_t)(i * 37 + 1);
	return frame(out, payload, len);
}

static struct conn_probe_first classify(const void *bytes, size_t len,
					bool complete, int *rc)
{
	struct conn_probe_first f;

	*rc = conn_probe_classify(&f, bytes, len, complete);
	return f;
}

/* Every cut of bytes short of the whole asks for more, and at the end
 * of stream is decided. */
static void check_prefixes(const char *what, const uint8_t *bytes,
			   size_t len)
{
	size_t cut;
	int rc, eagain = 0, decided = 0;

	for (cut = 0; cut < len; cut++) {
		(void)classify(bytes, cut, false, &rc);
		eagain += rc == CONN_EAGAIN;
		(void)classify(bytes, cut, true, &rc);
		decided += rc == 0;
	}
	ok(eagain == (int)len && decided == (int)len,
	   "%s: every cut short waits for more, or is decided at the end",
	   what);
}

static void test_challenges(void)
{
	static const char *const modern[] = {
		"{sha256}", "{md5}", "{sha384}", "{sha3_256}", "{sha3_384}"
	};
	static const enum conn_digest digests[] = {
		CONN_DIGEST_SHA256, CONN_DIGEST_MD5, CONN_DIGEST_SHA384,
		CONN_DIGEST_SHA3_256, CONN_DIGEST_SHA3_384
	};
	uint8_t buf[400];
	struct conn_probe_first f;
	size_t n, i;
	int rc;

	n = challenge(buf, "", 20);
	f = classify(buf, n, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_CHALLENGE &&
	   f.style == CONN_PROBE_LEGACY && f.digest == CONN_DIGEST_MD5 &&
	   f.frame_len == n && f.size == 31,
	   "a 20-byte challenge is legacy HMAC-MD5");
	check_prefixes("legacy challenge", buf, n);
	for (i = 0; i < 5; i++) {
		n = challenge(buf, modern[i], 40);
		f = classify(buf, n, false, &rc);
		ok(rc == 0 && f.kind == CONN_PROBE_CHALLENGE &&
		   f.style == CONN_PROBE_MODERN && f.digest == digests[i] &&
		   f.frame_len == n, "%s challenge is modern, %s", modern[i],
		   conn_digest_name(digests[i]));
	}
	check_prefixes("modern challenge", buf, n);
	/* What follows the frame is not its business. */
	n = challenge(buf, "{sha256}", 40);
	memcpy(buf + n, "more", 4);
	f = classify(buf, n + 4, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_CHALLENGE && f.frame_len == n,
	   "bytes after the challenge frame are left alone");
	n = challenge(buf, "{blake2b}", 40);
	f = classify(buf, n, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_BAD_CHALLENGE &&
	   strstr(f.text, "unknown digest") && strstr(f.text, "{blake2b"),
	   "an unknown digest is a bad challenge: %s", f.text);
	n = challenge(buf, "", 5);
	f = classify(buf, n, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_BAD_CHALLENGE &&
	   strstr(f.text, "too short"), "a 5-byte challenge: %s", f.text);
	n = challenge(buf, "{sha256}", 260);
	f = classify(buf, 40, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_BAD_CHALLENGE &&
	   strstr(f.text, "over the handshake"),
	   "a challenge over 256 bytes is judged from its header: %s",
	   f.text);
	n = challenge(buf, "{sha256}", 40);
	f = classify(buf, n - 1, true, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_BAD_CHALLENGE &&
	   strstr(f.text, "cut short"), "a challenge cut short: %s", f.text);
}

static void test_messages(void)
{
	uint8_t buf[64], big[24] = { 0 };
	struct conn_probe_first f;
	size_t n;
	int rc;

	n = frame(buf, "hello", 5);
	f = classify(buf, n, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_MESSAGE && f.size == 5 &&
	   strcmp(f.text, "a message of 5 bytes") == 0,
	   "a short frame is a keyless peer's message: %s", f.text);
	check_prefixes("message", buf, n);
	n = frame(buf, "", 0);
	f = classify(buf, n, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_MESSAGE && f.size == 0,
	   "an empty message");
	/* Judged once 11 payload bytes show it is no challenge. */
	n = frame(buf, "a long message, not all here", 28);
	f = classify(buf, 4 + 11, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_MESSAGE && f.size == 28,
	   "a message is told from a challenge by its first 11 bytes");
	n = conn_frame_header_encode(big, 3u << 30);
	f = classify(big, n + 11, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_MESSAGE && f.size == 3u << 30,
	   "a message over 2 GiB (the 12-byte header)");
	f = classify("\x7f\x00\x00\x00", 4, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_OTHER &&
	   strcmp(f.text, "bytes that are no frame: 7f 00 00 00") == 0,
	   "a length over 1 GiB is no first message: %s", f.text);
	f = classify("\xff\xff\xff\xfe", 4, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_OTHER,
	   "a negative length is no frame: %s", f.text);
}

static void test_other_servers(void)
{
	static const char http[] = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian\r\n";
	static const uint8_t tls[] = { 0x16, 0x03, 0x01, 0x00, 0x2f };
	struct conn_probe_first f;
	char line[200];
	int rc;

	f = classify(http, strlen(http), false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_HTTP &&
	   strcmp(f.text, "\"HTTP/1.1 200 OK\"") == 0,
	   "an HTTP reply names its status line: %s", f.text);
	f = classify(http, 8, false, &rc);
	ok(rc == CONN_EAGAIN, "half an HTTP line waits for its end");
	f = classify(http, 8, true, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_HTTP &&
	   strcmp(f.text, "\"HTTP/1.1\"") == 0, "... or its end of stream");
	f = classify(ssh, strlen(ssh), false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_SSH &&
	   strcmp(f.text, "\"SSH-2.0-OpenSSH_9.2p1 Debian\"") == 0,
	   "an SSH banner: %s", f.text);
	f = classify(tls, sizeof(tls), false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_TLS, "a TLS record: %s", f.text);
	f = classify("220 smtp \"x\\y\" ready\n", 22, false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_OTHER &&
	   strcmp(f.text, "\"220 smtp \\\"x\\\\y\\\" ready\"") == 0,
	   "another text line, quotes escaped: %s", f.text);
	memset(line, 'a', sizeof(line));
	f = classify(line, sizeof(line), false, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_OTHER &&
	   strlen(f.text) == 60 + 5 && strstr(f.text, "...\""),
	   "a long line is decided at 61 bytes and cut: %s", f.text);
	f = classify("GE", 2, false, &rc);
	ok(rc == CONN_EAGAIN, "two text bytes wait for more");
	f = classify("GE", 2, true, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_OTHER &&
	   strcmp(f.text, "\"GE\"") == 0, "... or are what came");
	f = classify("\x01\x02", 2, true, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_OTHER &&
	   strcmp(f.text, "2 bytes: 01 02") == 0,
	   "two binary bytes at the end: %s", f.text);
	f = classify("", 0, true, &rc);
	ok(rc == 0 && f.kind == CONN_PROBE_SILENT, "nothing at the end");
	f = classify("", 0, false, &rc);
	ok(rc == CONN_EAGAIN, "nothing yet waits");
	ok(strcmp(conn_probe_kind_name(CONN_PROBE_HTTP), "http") == 0 &&
	   strcmp(conn_probe_kind_name(CONN_PROBE_SILENT), "silent") == 0 &&
	   strcmp(conn_probe_kind_name((enum conn_probe_kind)99), "other") == 0,
	   "the kinds' names");
}

int main(void)
{
	test_challenges();
	test_messages();
	test_other_servers();
	return tap_done();
}
