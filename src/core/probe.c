/*
 * probe.c - what a peer's first bytes say it speaks (conn-client --probe).
 *
 * A keyed Listener of multiprocessing.connection sends a #CHALLENGE#
 * frame at once; a keyless one sends nothing and waits.  Other servers
 * give themselves away with their first bytes: a text line (HTTP, SSH,
 * SMTP banners), a TLS record.  Pure: bytes in, a verdict out.
 */
#include "internal.h"

#include <stdio.h>

#define CHALLENGE "#CHALLENGE#"
#define CHALLENGE_LEN (sizeof(CHALLENGE) - 1)
#define LEGACY_LEN 20		/* Python <= 3.11's challenge */
#define TEXT_LINE_MAX 60	/* of a text line shown */
/* A first frame longer than the default --max-size is no message a
 * peer of ours sends: 4 bytes that read as such are something else. */
#define MESSAGE_MAX (1u << 30)

static const char *const kind_names[] = {
	[CONN_PROBE_SILENT] = "silent",
	[CONN_PROBE_CHALLENGE] = "challenge",
	[CONN_PROBE_BAD_CHALLENGE] = "bad-challenge",
	[CONN_PROBE_MESSAGE] = "message",
	[CONN_PROBE_HTTP] = "http",
	[CONN_PROBE_SSH] = "ssh",
	[CONN_PROBE_TLS] = "tls",
	[CONN_PROBE_OTHER] = "other",
};

const char *conn_probe_kind_name(enum conn_probe_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "other";
	return kind_names[kind];
}

static bool is_text_byte(uint8_t b)
{
	return (b >= 0x20 && b < 0x7f) || b == '\r' || b == '\n' || b == '\t';
}

static bool prefix_of(const uint8_t *bytes, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return memcmp(bytes, lit, len < n ? len : n) == 0;
}

/* Appends to out (capacity bytes, NUL-ended) what fits of fmt. */
static void append(char *out, size_t capacity, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *out, size_t capacity, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n + 1 >= capacity)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, capacity - n, fmt, ap);
	va_end(ap);
}

/* The first line of bytes, quoted, printable, cut at TEXT_LINE_MAX. */
static void quote_line(char *out, size_t capacity, const uint8_t *bytes,
		       size_t len)
{
	size_t i;

	append(out, capacity, "\"");
	for (i = 0; i < len && bytes[i] != '\r' && bytes[i] != '\n'; i++) {
		if (i == TEXT_LINE_MAX) {
			append(out, capacity, "...");
			break;
		}
		if (bytes[i] == '"' || bytes[i] == '\\')
			append(out, capacity, "\\%c", bytes[i]);
		else if (bytes[i] >= 0x20 && bytes[i] < 0x7f)
			append(out, capacity, "%c", bytes[i]);
		else
			append(out, capacity, "\\x%02x", bytes[i]);
	}
	append(out, capacity, "\"");
}

/* What is neither text nor a frame: the (up to) 4 bytes that tell, in
 * hex, the same however many came after them. */
static void hex_bytes(char *out, size_t capacity, const uint8_t *bytes,
		      size_t len)
{
	size_t i;

	if (len < 4)
		append(out, capacity, "%zu byte%s:", len, len == 1 ? "" : "s");
	else
		append(out, capacity, "bytes that are no frame:");
	for (i = 0; i < len && i < 4; i++)
		append(out, capacity, " %02x", bytes[i]);
}

static int decided(struct conn_probe_first *out, enum conn_probe_kind kind)
{
	out->kind = kind;
	return 0;
}

/* A text line: decided at its end, at TEXT_LINE_MAX bytes, or at the
 * end of what comes. */
static int classify_text(struct conn_probe_first *out, const uint8_t *bytes,
			 size_t len, bool complete)
{
	if (!complete && len <= TEXT_LINE_MAX &&
	    memchr(bytes, '\n', len) == NULL)
		return CONN_EAGAIN;
	quote_line(out->text, sizeof(out->text), bytes, len);
	if (prefix_of(bytes, len, "HTTP/"))
		return decided(out, CONN_PROBE_HTTP);
	if (prefix_of(bytes, len, "SSH-"))
		return decided(out, CONN_PROBE_SSH);
	return decided(out, CONN_PROBE_OTHER);
}

/* The payload of a #CHALLENGE# frame: a style and a digest, as CPython's
 * answer_challenge() reads them. */
static int classify_challenge(struct conn_probe_first *out,
			      const uint8_t *msg, size_t len)
{
	char name[AUTH_DIGEST_NAME_MAX + 1];
	size_t skip;

	if (len < LEGACY_LEN) {
		snprintf(out->text, sizeof(out->text), "a challenge of %zu "
			 "byte%s, too short", len, len == 1 ? "" : "s");
		return decided(out, CONN_PROBE_BAD_CHALLENGE);
	}
	if (auth_parse_digest_prefix(&out->digest, name, &skip, msg, len)) {
		append(out->text, sizeof(out->text), "a challenge with an "
		       "unknown digest: ");
		quote_line(out->text, sizeof(out->text), msg,
			   len < 12 ? len : 12);
		return decided(out, CONN_PROBE_BAD_CHALLENGE);
	}
	out->style = name[0] ? CONN_PROBE_MODERN : CONN_PROBE_LEGACY;
	return decided(out, CONN_PROBE_CHALLENGE);
}

/* A frame: a challenge, or a keyless peer's first message. */
static int classify_frame(struct conn_probe_first *out, const uint8_t *bytes,
			  size_t len, bool complete)
{
	uint64_t size;
	size_t header, have;
	int rc = conn_frame_header_decode(&size, &header, bytes, len);

	if (rc == CONN_EAGAIN && !complete)
		return rc;
	if (rc || (header == 4 && size > MESSAGE_MAX)) {
		hex_bytes(out->text, sizeof(out->text), bytes, len);
		return decided(out, CONN_PROBE_OTHER);
	}
	out->size = size;
	have = len - header;
	/* Enough of the payload to tell a challenge from a message? */
	if (have < CHALLENGE_LEN && have < size) {
		if (!complete)
			return CONN_EAGAIN;
		snprintf(out->text, sizeof(out->text), "a frame of %llu bytes "
			 "cut short after %zu", (unsigned long long)size, have);
		return decided(out, CONN_PROBE_OTHER);
	}
	if (size < CHALLENGE_LEN ||
	    memcmp(bytes + header, CHALLENGE, CHALLENGE_LEN) != 0) {
		snprintf(out->text, sizeof(out->text), "a message of %llu "
			 "byte%s", (unsigned long long)size,
			 size == 1 ? "" : "s");
		return decided(out, CONN_PROBE_MESSAGE);
	}
	if (size > CONN_HANDSHAKE_FRAME_MAX) {
		snprintf(out->text, sizeof(out->text), "a challenge of %llu "
			 "bytes, over the handshake's %d",
			 (unsigned long long)size, CONN_HANDSHAKE_FRAME_MAX);
		return decided(out, CONN_PROBE_BAD_CHALLENGE);
	}
	if (have < size) {
		if (!complete)
			return CONN_EAGAIN;
		snprintf(out->text, sizeof(out->text), "a challenge cut short "
			 "after %zu of %llu bytes", have,
			 (unsigned long long)size);
		return decided(out, CONN_PROBE_BAD_CHALLENGE);
	}
	out->frame_len = header + (size_t)size;
	return classify_challenge(out, bytes + header + CHALLENGE_LEN,
				  (size_t)size - CHALLENGE_LEN);
}

int conn_probe_classify(struct conn_probe_first *out, const uint8_t *bytes,
			size_t len, bool complete)
{
	size_t i, look = len < 4 ? len : 4;
	bool text = true;

	*out = (struct conn_probe_first){ .kind = CONN_PROBE_OTHER,
					  .digest = CONN_DIGEST_MD5 };
	if (len == 0)
		return complete ? decided(out, CONN_PROBE_SILENT) : CONN_EAGAIN;
	/* A TLS record: a handshake (22) or an alert (21), version 3.x. */
	if (bytes[0] == 0x16 || bytes[0] == 0x15) {
		if (len < 2 && !complete)
			return CONN_EAGAIN;
		if (len >= 2 && bytes[1] == 0x03) {
			snprintf(out->text, sizeof(out->text), "a TLS %s record",
				 bytes[0] == 0x16 ? "handshake" : "alert");
			return decided(out, CONN_PROBE_TLS);
		}
	}
	/* Four text bytes would announce over 500 MB: a line of text. */
	for (i = 0; i < look; i++)
		text = text && is_text_byte(bytes[i]);
	if (text && look < 4 && !complete)
		return CONN_EAGAIN;
	if (text)
		return classify_text(out, bytes, len, complete);
	return classify_frame(out, bytes, len, complete);
}
