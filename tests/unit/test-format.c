/*
 * test-format.c - the stdin/stdout message formats: decoders under any
 * split of their input, encoders and their bounds, and the size and
 * seconds option parsers.
 */
#include "conn.h"
#include "cli.h"	/* cli_parse_size(), cli_parse_seconds() */
#include "tap.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define MAX_MSGS 64

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* ------------------------------------------------------------ decoding */

struct msgs {
	size_t count;
	size_t len[MAX_MSGS];
	uint8_t data[MAX_MSGS][512];
	int rc;			/* 0, or the error that ended decoding */
	int errors;		/* piece invariants broken */
	char why[160];
};

static void msgs_fail(struct msgs *m, const char *why)
{
	if (m->errors++ == 0)
		snprintf(m->why, sizeof(m->why), "%s", why);
}

/*
 * Decodes len bytes of input as a caller does: it hands the decoder all
 * bytes not yet consumed (in a buffer of exactly that size, so ASan sees
 * any over-read), adds a random amount of input (1..max_add) whenever the
 * decoder wants more, and says eof once all input is in view.
 */
static void decode(struct msgs *m, enum conn_format f, uint64_t max_size,
		   size_t chunk_size, const void *input, size_t len,
		   size_t max_add, size_t max_piece)
{
	const uint8_t *in = input;
	struct conn_decoder d;
	size_t start = 0, end = 0, guard = 0;
	bool in_msg = false;
	uint64_t total = 0;

	memset(m, 0, sizeof(*m));
	conn_decoder_init(&d, f, max_size, chunk_size);
	if (max_add == 0)
		end = len;
	while (guard++ < 100000) {
		bool eof = end == len;
		size_t n = end - start, used = 99999;
		uint8_t *view = malloc(n ? n : 1);
		struct conn_piece p;
		int rc;

		memcpy(view, in + start, n);
		rc = conn_decoder_next(&d, &p, &used, view, n, eof, max_piece);
		if (used > n) {
			msgs_fail(m, "used is more than the bytes given");
			free(view);
			m->rc = -1;
			break;
		}
		if (rc == 0) {
			if (p.size > max_piece)
				msgs_fail(m, "a piece over max_piece");
			if (p.size == 0 && p.total != 0)
				msgs_fail(m, "an empty piece of a message");
			if (!in_msg) {
				if (p.offset != 0)
					msgs_fail(m, "a message not at 0");
				if (m->count == MAX_MSGS || p.total > 512) {
					msgs_fail(m, "too many or too long");
					free(view);
					break;
				}
				in_msg = true;
				total = p.total;
				m->len[m->count] = 0;
			} else if (p.offset != m->len[m->count] ||
				   p.total != total || p.offset == 0) {
				msgs_fail(m, "pieces out of order");
			}
			if (p.offset + p.size > total) {
				msgs_fail(m, "pieces overrun the total");
				free(view);
				break;
			}
			memcpy(m->data[m->count] + p.offset, p.data, p.size);
			m->len[m->count] += p.size;
			if (conn_piece_is_last(&p)) {
				in_msg = false;
				m->count++;
			}
			if (used == 0 && p.size == 0 && p.total == 0 &&
			    f != CONN_FORMAT_HEX && f != CONN_FORMAT_LINES &&
			    f != CONN_FORMAT_NULL)
				msgs_fail(m, "an empty piece using no input");
		}
		free(view);
		start += used;
		if (rc == CONN_EAGAIN) {
			if (eof && start == end)
				break;	/* all done */
			if (eof && used == 0) {
				msgs_fail(m, "EAGAIN at eof with input left");
				break;
			}
			if (!eof) {
				size_t add = 1 + (size_t)(rng() % max_add);

				end = end + add > len ? len : end + add;
			}
		} else if (rc) {
			m->rc = rc;
			break;
		}
	}
	if (guard >= 100000)
		msgs_fail(m, "the decoder loops");
	if (in_msg && m->rc == 0)
		msgs_fail(m, "input ended inside a message");
	conn_decoder_free(&d);
}

/* Expected messages as (pointer, length) pairs; count, then the pairs. */
static bool msgs_equal(const struct msgs *m, size_t count, va_list ap)
{
	size_t i;
	bool same = m->count == count && m->rc == 0 && m->errors == 0;

	for (i = 0; i < count; i++) {
		const char *want = va_arg(ap, const char *);
		size_t want_len = va_arg(ap, size_t);

		if (same && (m->len[i] != want_len ||
			     memcmp(m->data[i], want, want_len) != 0))
			same = false;
	}
	return same;
}

static const size_t splits[] = { 0, 1, 2, 3, 7 };
static const size_t pieces[] = { SIZE_MAX, 1, 2, 5 };

/* Decodes input whole, then under several splits and piece limits, and
 * checks every run yields the expected messages. */
static void decodes_to(const char *name, enum conn_format f,
		       uint64_t max_size, size_t chunk_size,
		       const void *input, size_t len, size_t count, ...)
{
	size_t s, p, runs = 0, bad = 0;
	char first_bad[400] = "";
	struct msgs m;
	va_list ap;

	for (s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
		for (p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
			int round;

			for (round = 0; round < (splits[s] ? 4 : 1);
			     round++) {
				bool same;

				decode(&m, f, max_size, chunk_size, input, len,
				       splits[s], pieces[p]);
				va_start(ap, count);
				same = msgs_equal(&m, count, ap);
				va_end(ap);
				runs++;
				if (!same && bad++ == 0)
					snprintf(first_bad, sizeof(first_bad),
						 "; first bad run: input %s "
						 "%zu, max_piece %zd: rc %d, "
						 "%zu msgs %s",
						 splits[s] ? "added by <=" :
							     "whole",
						 splits[s],
						 pieces[p] == SIZE_MAX ? -1 :
						 (ssize_t)pieces[p], m.rc,
						 m.count, m.why);
			}
		}
	}
	ok(bad == 0, "%s %s: %zu messages in all %zu runs%s",
	   conn_format_name(f), name, count, runs, first_bad);
}

/* Decoding fails with want in every run (whole and split). */
static void decode_fails(const char *name, enum conn_format f,
			 uint64_t max_size, const void *input, size_t len,
			 int want)
{
	size_t s, bad = 0;
	int got = 0;
	struct msgs m;

	for (s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
		decode(&m, f, max_size, 64, input, len, splits[s], SIZE_MAX);
		if (m.rc != want && bad++ == 0)
			got = m.rc;
	}
	ok(bad == 0, "%s %s: %s (got %d)", conn_format_name(f), name,
	   conn_strerror(want), got);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_lines(void)
{
	decodes_to("with a trailing newline", CONN_FORMAT_LINES, 0, 0,
		   S("a\nbb\nccc\n"), 3, S("a"), S("bb"), S("ccc"));
	decodes_to("without a trailing newline", CONN_FORMAT_LINES, 0, 0,
		   S("a\nbb\nccc"), 3, S("a"), S("bb"), S("ccc"));
	decodes_to("empty lines are empty messages", CONN_FORMAT_LINES, 0, 0,
		   S("\n\nx\n\n"), 4, S(""), S(""), S("x"), S(""));
	decodes_to("a lone newline", CONN_FORMAT_LINES, 0, 0, S("\n"), 1,
		   S(""));
	decodes_to("no input, no messages", CONN_FORMAT_LINES, 0, 0, S(""),
		   0);
	decodes_to("CRLF keeps \\r", CONN_FORMAT_LINES, 0, 0,
		   S("x\r\ny\r\n\r\n"), 3, S("x\r"), S("y\r"), S("\r"));
	decodes_to("NUL and binary bytes kept", CONN_FORMAT_LINES, 0, 0,
		   S("a\0b\xff\nz\n"), 2, S("a\0b\xff"), S("z"));
	decodes_to("a line of exactly max_size", CONN_FORMAT_LINES, 10, 0,
		   S("0123456789\nab\n"), 2, S("0123456789"), S("ab"));
	decode_fails("a line over max_size", CONN_FORMAT_LINES, 10,
		     S("0123456789A\nab\n"), CONN_ETOOBIG);
	decode_fails("a long line with no newline before eof",
		     CONN_FORMAT_LINES, 10, S("0123456789ABCDEFGHIJKLMN"),
		     CONN_ETOOBIG);
	decode_fails("a last line over max_size", CONN_FORMAT_LINES, 10,
		     S("ok\n0123456789AB"), CONN_ETOOBIG);
}

static void test_null(void)
{
	decodes_to("NUL-separated", CONN_FORMAT_NULL, 0, 0,
		   S("a\0bb\0\0c\nd\0"), 4, S("a"), S("bb"), S(""),
		   S("c\nd"));
	decodes_to("no trailing NUL", CONN_FORMAT_NULL, 0, 0, S("a\0b"), 2,
		   S("a"), S("b"));
	decode_fails("a message over max_size", CONN_FORMAT_NULL, 4,
		     S("12345\0"), CONN_ETOOBIG);
	decodes_to("a message of max_size", CONN_FORMAT_NULL, 4, 0,
		   S("1234\0"), 1, S("1234"));
}

static void test_raw(void)
{
	static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	struct msgs m;
	size_t s, p, runs = 0, bad = 0, i;

	decode(&m, CONN_FORMAT_RAW, 0, 4, S("abcdefghij"), 0, SIZE_MAX);
	ok(m.rc == 0 && m.errors == 0 && m.count == 3 && m.len[0] == 4 &&
	   memcmp(m.data[0], "abcd", 4) == 0 && m.len[1] == 4 &&
	   memcmp(m.data[1], "efgh", 4) == 0 && m.len[2] == 2 &&
	   memcmp(m.data[2], "ij", 2) == 0,
	   "raw: all in view, chunk_size 4 cuts 4+4+2 (%zu messages)",
	   m.count);
	decode(&m, CONN_FORMAT_RAW, 0, 4, S(""), 0, SIZE_MAX);
	ok(m.rc == 0 && m.errors == 0 && m.count == 0,
	   "raw: no input, no messages");
	decode(&m, CONN_FORMAT_RAW, 0, 100, S("abc"), 0, 2);
	ok(m.rc == 0 && m.errors == 0 && m.count == 1 && m.len[0] == 3,
	   "raw: a 3-byte message in 2-byte pieces");

	/* Any split: messages of at most chunk_size, bytes in order. */
	for (s = 1; s < sizeof(splits) / sizeof(splits[0]); s++) {
		for (p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
			uint8_t all[64];
			size_t n = 0;
			bool good;

			decode(&m, CONN_FORMAT_RAW, 0, 5, S(text), splits[s],
			       pieces[p]);
			good = m.rc == 0 && m.errors == 0;
			for (i = 0; good && i < m.count; i++) {
				good = m.len[i] >= 1 && m.len[i] <= 5;
				memcpy(all + n, m.data[i], m.len[i]);
				n += m.len[i];
			}
			good = good && n == strlen(text) &&
			       memcmp(all, text, n) == 0;
			runs++;
			bad += !good;
		}
	}
	ok(bad == 0, "raw: %zu split runs keep every byte, messages of "
	   "1..chunk_size bytes", runs);
}

static void test_hex(void)
{
	decodes_to("lowercase", CONN_FORMAT_HEX, 0, 0, S("68656c6c6f\n"), 1,
		   S("hello"));
	decodes_to("uppercase and mixed", CONN_FORMAT_HEX, 0, 0,
		   S("FF00AB\naBcD\n"), 2, S("\xff\0\xab"), S("\xab\xcd"));
	decodes_to("spaces and tabs ignored", CONN_FORMAT_HEX, 0, 0,
		   S(" 68 65\t6c 6c6f \n"), 1, S("hello"));
	decodes_to("spaces within a byte ignored", CONN_FORMAT_HEX, 0, 0,
		   S("6 8\n"), 1, S("h"));
	decodes_to("CRLF", CONN_FORMAT_HEX, 0, 0, S("6869\r\n0a\r\n"), 2,
		   S("hi"), S("\n"));
	decodes_to("an empty line is an empty message", CONN_FORMAT_HEX, 0, 0,
		   S("\n41\n\n"), 3, S(""), S("A"), S(""));
	decodes_to("no trailing newline", CONN_FORMAT_HEX, 0, 0, S("4142"), 1,
		   S("AB"));
	decode_fails("an odd number of digits", CONN_FORMAT_HEX, 0,
		     S("414\n"), CONN_EPROTO);
	decode_fails("an odd digit at eof", CONN_FORMAT_HEX, 0, S("41424"),
		     CONN_EPROTO);
	decode_fails("a non-hex character", CONN_FORMAT_HEX, 0, S("4g\n"),
		     CONN_EPROTO);
	decode_fails("0x prefix", CONN_FORMAT_HEX, 0, S("0x41\n"),
		     CONN_EPROTO);
	decode_fails("a bad second line", CONN_FORMAT_HEX, 0, S("41\nzz\n"),
		     CONN_EPROTO);
	decode_fails("over max_size", CONN_FORMAT_HEX, 2, S("414243\n"),
		     CONN_ETOOBIG);
	decodes_to("max_size", CONN_FORMAT_HEX, 2, 0, S("4142\n43\n"), 2,
		   S("AB"), S("C"));
}

static size_t encode_message(uint8_t *out, enum conn_format f,
			     const void *data, size_t len)
{
	struct conn_piece p = { data, len, 0, len };

	return conn_encode_piece(out, f, &p);
}

static void test_frames(void)
{
	static const char *const msgs[] = { "hello", "", "x", "\0\n\xff" };
	static const size_t lens[] = { 5, 0, 1, 3 };
	uint8_t stream[256];
	size_t n = 0, i;

	for (i = 0; i < 4; i++)
		n += encode_message(stream + n, CONN_FORMAT_FRAMES, msgs[i],
				    lens[i]);
	ok(n == 4 * 4 + 9 && memcmp(stream, "\0\0\0\5hello\0\0\0\0\0\0\0\1x",
				   18) == 0,
	   "frames: four messages encode to their frames");
	decodes_to("round trip", CONN_FORMAT_FRAMES, 0, 0, stream, n, 4,
		   msgs[0], lens[0], msgs[1], lens[1], msgs[2], lens[2],
		   msgs[3], lens[3]);
	decode_fails("truncated payload at eof", CONN_FORMAT_FRAMES, 0,
		     S("\0\0\0\5hel"), CONN_ETRUNC);
	decode_fails("truncated header at eof", CONN_FORMAT_FRAMES, 0,
		     S("\0\0\0\1x\0\0"), CONN_ETRUNC);
	decode_fails("truncated long header at eof", CONN_FORMAT_FRAMES, 0,
		     S("\xff\xff\xff\xff\0\0\0\0\0"), CONN_ETRUNC);
	decode_fails("a negative length", CONN_FORMAT_FRAMES, 0,
		     S("\x80\0\0\0"), CONN_EPROTO);
	decodes_to("a header with nothing after, then eof",
		   CONN_FORMAT_FRAMES, 0, 0, S("\0\0\0\0"), 1, S(""));
	decodes_to("no input", CONN_FORMAT_FRAMES, 0, 0, S(""), 0);
}

static void test_window(void)
{
	struct conn_decoder d;
	static const struct {
		enum conn_format f;
		uint64_t max;
		size_t want;
	} cases[] = {
		{ CONN_FORMAT_LINES, 10, 11 },
		{ CONN_FORMAT_NULL, 10, 11 },
		{ CONN_FORMAT_HEX, 10, 44 },	/* \xNN-quoted is 4 a byte */
		{ CONN_FORMAT_QUOTED, 10, 44 },
		{ CONN_FORMAT_LINES, 0, SIZE_MAX },
		{ CONN_FORMAT_HEX, 0, SIZE_MAX },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conn_decoder_init(&d, cases[i].f, cases[i].max, 64);
		ok(conn_decoder_window(&d) == cases[i].want,
		   "window: %s, max_size %llu: %zu (got %zu)",
		   conn_format_name(cases[i].f),
		   (unsigned long long)cases[i].max, cases[i].want,
		   conn_decoder_window(&d));
		conn_decoder_free(&d);
	}
	conn_decoder_init(&d, CONN_FORMAT_FRAMES, 10, 64);
	ok(conn_decoder_window(&d) >= CONN_FRAME_HEADER_MAX,
	   "window: frames can hold a long header");
	conn_decoder_free(&d);
	conn_decoder_init(&d, CONN_FORMAT_RAW, 10, 64);
	ok(conn_decoder_window(&d) >= 1, "window: raw is positive");
	conn_decoder_free(&d);

	/* A maximal message and its separator fit in the window, and the
	 * decoder cuts it from exactly that many bytes in view. */
	for (i = 0; i < 3; i++) {
		enum conn_format f = i == 0 ? CONN_FORMAT_LINES :
				     i == 1 ? CONN_FORMAT_NULL :
					      CONN_FORMAT_HEX;
		uint8_t buf[64], msg[10];
		struct conn_piece p;
		size_t n, used, w;
		int rc;

		memset(msg, 'a', sizeof(msg));
		n = encode_message(buf, f, msg, sizeof(msg));
		conn_decoder_init(&d, f, sizeof(msg), 64);
		w = conn_decoder_window(&d);
		memset(buf + n, 'b', sizeof(buf) - n);
		rc = n <= w ? conn_decoder_next(&d, &p, &used, buf, w, false,
						SIZE_MAX) : -1;
		ok(rc == 0 && p.total == sizeof(msg),
		   "window: %s cuts a max_size message from the window "
		   "(%zu <= %zu, rc %d)", conn_format_name(f), n, w, rc);
		conn_decoder_free(&d);
	}
	/* Hex at its most spaced: "61 61 ... 61\r\n". */
	{
		uint8_t buf[64];
		struct conn_piece p;
		size_t n = 0, used, w, i2;
		int rc;

		for (i2 = 0; i2 < 10; i2++)
			n += (size_t)sprintf((char *)buf + n, i2 ? " 61" :
					     "61");
		n += (size_t)sprintf((char *)buf + n, "\r\n");
		conn_decoder_init(&d, CONN_FORMAT_HEX, 10, 64);
		w = conn_decoder_window(&d);
		rc = n <= w ? conn_decoder_next(&d, &p, &used, buf, n, false,
						SIZE_MAX) : -1;
		ok(rc == 0 && p.total == 10 && used == n,
		   "window: spaced hex line of max_size fits (%zu <= %zu, "
		   "rc %d, used %zu)", n, w, rc, used);
		conn_decoder_free(&d);
	}
}

/* The decoder's line count and detail after an error. */
static void test_details(void)
{
	struct conn_decoder d;
	struct conn_piece p;
	size_t used;
	int rc;

	conn_decoder_init(&d, CONN_FORMAT_HEX, 0, 64);
	rc = conn_decoder_next(&d, &p, &used, (const uint8_t *)"41\nxy\n", 6,
			       true, SIZE_MAX);
	ok(rc == 0 && used == 3 && p.size == 1 && p.data[0] == 'A',
	   "hex: the first line decodes, using its 3 bytes (used %zu)",
	   used);
	rc = conn_decoder_next(&d, &p, &used, (const uint8_t *)"xy\n", 3,
			       true, SIZE_MAX);
	ok(rc == CONN_EPROTO && strstr(d.detail, "2") != NULL,
	   "hex: the bad second line is EPROTO naming line 2 (%s)",
	   d.detail);
	conn_decoder_free(&d);

	conn_decoder_init(&d, CONN_FORMAT_LINES, 3, 64);
	rc = conn_decoder_next(&d, &p, &used, (const uint8_t *)"abcd\n", 5,
			       false, SIZE_MAX);
	ok(rc == CONN_ETOOBIG && d.detail[0] != '\0',
	   "lines: ETOOBIG with a detail (%s)", d.detail);
	conn_decoder_free(&d);
}

/* ------------------------------------------------------------ encoding */

static void encodes_to(enum conn_format f, const char *name,
		       const struct conn_piece *p, const void *want,
		       size_t want_len)
{
	size_t bound = conn_encode_bound(f, p->size);
	uint8_t *out = malloc(bound ? bound : 1);
	size_t n = conn_encode_piece(out, f, p);

	ok(n == want_len && n <= bound && memcmp(out, want, n) == 0,
	   "encode %s %s: %zu bytes (got %zu, bound %zu)",
	   conn_format_name(f), name, want_len, n, bound);
	free(out);
}

static void test_encoders(void)
{
	static const uint8_t hello[] = "hello world";
	struct conn_piece whole = { hello, 5, 0, 5 };
	struct conn_piece empty = { (const uint8_t *)"", 0, 0, 0 };
	struct conn_piece a = { hello, 4, 0, 11 };
	struct conn_piece b = { hello + 4, 5, 4, 11 };
	struct conn_piece c = { hello + 9, 2, 9, 11 };
	struct conn_piece bin = { (const uint8_t *)"\0\x0f\xf0\xff", 4, 0,
				  4 };
	enum conn_format f;
	size_t sizes[] = { 0, 1, 2, 3, 100, 4096 };
	size_t i, bad = 0, runs = 0;

	encodes_to(CONN_FORMAT_LINES, "a message", &whole, S("hello\n"));
	encodes_to(CONN_FORMAT_NULL, "a message", &whole, "hello\0", 6);
	encodes_to(CONN_FORMAT_RAW, "a message", &whole, S("hello"));
	encodes_to(CONN_FORMAT_FRAMES, "a message", &whole,
		   S("\0\0\0\5hello"));
	encodes_to(CONN_FORMAT_HEX, "a message", &whole,
		   S("68656c6c6f\n"));
	encodes_to(CONN_FORMAT_HEX, "binary bytes", &bin, S("000ff0ff\n"));

	encodes_to(CONN_FORMAT_LINES, "an empty message", &empty, S("\n"));
	encodes_to(CONN_FORMAT_NULL, "an empty message", &empty, "\0", 1);
	encodes_to(CONN_FORMAT_RAW, "an empty message", &empty, "", 0);
	encodes_to(CONN_FORMAT_FRAMES, "an empty message", &empty,
		   S("\0\0\0\0"));
	encodes_to(CONN_FORMAT_HEX, "an empty message", &empty, S("\n"));

	/* "hello world" in three pieces. */
	encodes_to(CONN_FORMAT_LINES, "first piece", &a, S("hell"));
	encodes_to(CONN_FORMAT_LINES, "middle piece", &b, S("o wor"));
	encodes_to(CONN_FORMAT_LINES, "last piece", &c, S("ld\n"));
	encodes_to(CONN_FORMAT_NULL, "middle piece", &b, S("o wor"));
	encodes_to(CONN_FORMAT_NULL, "last piece", &c, "ld\0", 3);
	encodes_to(CONN_FORMAT_RAW, "last piece", &c, S("ld"));
	encodes_to(CONN_FORMAT_FRAMES, "first piece", &a,
		   S("\0\0\0\x0bhell"));
	encodes_to(CONN_FORMAT_FRAMES, "middle piece", &b, S("o wor"));
	encodes_to(CONN_FORMAT_FRAMES, "last piece", &c, S("ld"));
	encodes_to(CONN_FORMAT_HEX, "first piece", &a, S("68656c6c"));
	encodes_to(CONN_FORMAT_HEX, "middle piece", &b, S("6f20776f72"));
	encodes_to(CONN_FORMAT_HEX, "last piece", &c, S("6c64\n"));

	/* A long-header message's first piece. */
	{
		struct conn_piece big = { hello, 3, 0, 0x80000000ull };

		encodes_to(CONN_FORMAT_FRAMES, "first piece of 2^31 bytes",
			   &big, S("\xff\xff\xff\xff\0\0\0\0\x80\0\0\0hel"));
	}

	/* The bound holds for every format, size and position. */
	for (f = 0; f < CONN_FORMAT_COUNT; f++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			static uint8_t data[4096];
			uint64_t totals[3] = { sizes[i], sizes[i] + 7,
					       (1ull << 32) + sizes[i] };
			uint64_t offsets[3] = { 0, 3, 0 };
			size_t t;

			for (t = 0; t < 3; t++) {
				size_t bound = conn_encode_bound(f, sizes[i]);
				uint8_t *out = malloc(bound ? bound : 1);
				struct conn_piece p = { data, sizes[i],
							t == 1 ? 0 : offsets[t],
							totals[t] };
				size_t n = conn_encode_piece(out, f, &p);

				runs++;
				bad += n > bound;
				if (t == 1) {	/* the end of a message */
					p.offset = 7;
					n = conn_encode_piece(out, f, &p);
					runs++;
					bad += n > bound;
				}
				free(out);
			}
		}
	}
	ok(bad == 0, "encode_bound holds in %zu encodings", runs);

	/* Whatever a format encodes piece by piece, it decodes back. */
	for (f = 0; f < CONN_FORMAT_COUNT; f++) {
		static const char *const msgs[] = { "one", "", "two words",
						    "\t\r" };

		if (conn_format_is_whole(f))
			continue;	/* rendered whole: test_render */
		uint8_t stream[128];
		size_t n = 0;

		if (f == CONN_FORMAT_RAW)
			continue;
		for (i = 0; i < 4; i++)
			n += encode_message(stream + n, f, msgs[i],
					    strlen(msgs[i]));
		decodes_to("encoder round trip", f, 0, 0, stream, n, 4,
			   msgs[0], strlen(msgs[0]), msgs[1], (size_t)0,
			   msgs[2], strlen(msgs[2]), msgs[3],
			   strlen(msgs[3]));
	}
}

static void test_format_names(void)
{
	static const char *const names[] = { "lines", "null", "raw", "frames",
					     "hex", "quoted", "json", "repr",
					     "pickle-dis" };
	enum conn_format f;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		f = CONN_FORMAT_COUNT;
		ok(conn_format_from_name(&f, names[i]) == 0 &&
		   strcmp(conn_format_name(f), names[i]) == 0,
		   "format name %s", names[i]);
	}
	ok(conn_format_from_name(&f, "line") == CONN_EINVAL &&
	   conn_format_from_name(&f, "") == CONN_EINVAL &&
	   conn_format_from_name(&f, "HEX") == CONN_EINVAL,
	   "unknown format names are EINVAL");
}

/* ------------------------------------------------------------- options */

static void size_is(const char *text, uint64_t max, uint64_t want)
{
	uint64_t got = 12345;
	int rc = cli_parse_size(&got, text, max);

	ok(rc == 0 && got == want, "parse_size(\"%s\") == %llu (rc %d, "
	   "got %llu)", text, (unsigned long long)want, rc,
	   (unsigned long long)got);
}

static void size_bad(const char *text, uint64_t max)
{
	uint64_t got = 12345;
	int rc = cli_parse_size(&got, text, max);

	ok(rc == CONN_EINVAL && got == 12345,
	   "parse_size(\"%s\", max %llu) is EINVAL (rc %d)", text,
	   (unsigned long long)max, rc);
}

static void seconds_is(const char *text, int64_t want)
{
	int64_t got = 12345;
	int rc = cli_parse_seconds(&got, text, 1e6);

	ok(rc == 0 && got == want, "parse_seconds(\"%s\") == %lld ms (rc %d, "
	   "got %lld)", text, (long long)want, rc, (long long)got);
}

static void seconds_bad(const char *text, double max)
{
	int64_t got = 12345;
	int rc = cli_parse_seconds(&got, text, max);

	ok(rc == CONN_EINVAL && got == 12345,
	   "parse_seconds(\"%s\") is EINVAL (rc %d)", text, rc);
}

static void test_options(void)
{
	size_is("0", UINT64_MAX, 0);
	size_is("100", UINT64_MAX, 100);
	size_is("64K", UINT64_MAX, 65536);
	size_is("64k", UINT64_MAX, 65536);
	size_is("5M", UINT64_MAX, 5ull << 20);
	size_is("1G", UINT64_MAX, 1ull << 30);
	size_is("1g", 1ull << 30, 1ull << 30);
	size_is("16G", UINT64_MAX, 16ull << 30);
	size_is("18446744073709551615", UINT64_MAX, UINT64_MAX);
	size_bad("18446744073709551616", UINT64_MAX);
	size_bad("99999999999999999999999", UINT64_MAX);
	size_bad("17179869184G", UINT64_MAX);	/* 2^34 G = 2^64 */
	size_bad("18014398509481984K", UINT64_MAX);
	size_bad("2G", 1ull << 30);
	size_bad("1025", 1024);
	size_bad("", UINT64_MAX);
	size_bad("abc", UINT64_MAX);
	size_bad("12x", UINT64_MAX);
	size_bad("1KB", UINT64_MAX);
	size_bad("K", UINT64_MAX);
	size_bad("-1", UINT64_MAX);
	size_bad("+1", UINT64_MAX);
	size_bad(" 1", UINT64_MAX);
	size_bad("1 ", UINT64_MAX);
	size_bad("1.5K", UINT64_MAX);
	size_bad("1T", UINT64_MAX);

	seconds_is("0", 0);
	seconds_is("0.5", 500);
	seconds_is("10", 10000);
	seconds_is("0.25", 250);
	seconds_is("0.001", 1);
	seconds_is("1.1", 1100);
	seconds_is("2.2", 2200);
	seconds_is("1000000", 1000000000);
	/* Exact decimal seconds are exact milliseconds. */
	seconds_is("16.1", 16100);
	seconds_is("4.03", 4030);
	seconds_is("2.007", 2007);
	seconds_bad("-1", 1e6);
	seconds_bad("-0.5", 1e6);
	seconds_bad("junk", 1e6);
	seconds_bad("", 1e6);
	seconds_bad("1s", 1e6);
	seconds_bad("1.5.", 1e6);
	seconds_bad("nan", 1e6);
	seconds_bad("inf", 1e6);
	seconds_bad("11", 10);
	seconds_bad("1e400", 1e6);
}

/* ---------------------------------------------------------------- quoted */

static void test_quoted(void)
{
	decodes_to("both quote styles, with and without b", CONN_FORMAT_QUOTED,
		   0, 0, S("b'a'\nb\"b\"\n'c'\n\"d\"\n"), 4, S("a"), S("b"),
		   S("c"), S("d"));
	decodes_to("every escape", CONN_FORMAT_QUOTED, 0, 0,
		   S("b'\\\\\\'\\\"\\n\\r\\t\\a\\b\\f\\v\\0\\x00\\xFf'\n"), 1,
		   S("\\'\"\n\r\t\a\b\f\v\0\0\xff"));
	decodes_to("empty, CR and trailing spaces", CONN_FORMAT_QUOTED, 0, 0,
		   S("b''\r\nb'x'  \n"), 2, S(""), S("x"));
	decode_fails("no quotes", CONN_FORMAT_QUOTED, 0, S("abc\n"),
		     CONN_EPROTO);
	decode_fails("an unknown escape", CONN_FORMAT_QUOTED, 0,
		     S("b'\\q'\n"), CONN_EPROTO);
	decode_fails("a short \\x", CONN_FORMAT_QUOTED, 0, S("b'\\x4'\n"),
		     CONN_EPROTO);
	decode_fails("a bare quote inside", CONN_FORMAT_QUOTED, 0,
		     S("b'a'b'\n"), CONN_EPROTO);
	decode_fails("unterminated", CONN_FORMAT_QUOTED, 0, S("b'abc\n"),
		     CONN_EPROTO);
}

/* Renders bytes as conn_format_render does for quoted. */
static void renders_to(const char *input, size_t len, const char *want)
{
	char detail[100], *got = NULL;
	size_t got_len = 0;
	int rc = conn_format_render(&got, &got_len, detail, sizeof(detail),
				    CONN_FORMAT_QUOTED,
				    (const uint8_t *)input, len);

	ok(rc == 0 && got_len == strlen(want) &&
	   memcmp(got, want, got_len) == 0, "quoted renders %s (got %s)",
	   want, rc ? conn_strerror(rc) : got);
	free(got);
}

static void test_render(void)
{
	/* What CPython's repr(bytes) prints, quote choice included. */
	renders_to(S("abc"), "b'abc'\n");
	renders_to(S(""), "b''\n");
	renders_to(S("it's"), "b\"it's\"\n");
	renders_to(S("it's \"x\""), "b'it\\'s \"x\"'\n");
	renders_to(S("\t\n\r\\\x00\x1f\x7f\x80\xff"),
		   "b'\\t\\n\\r\\\\\\x00\\x1f\\x7f\\x80\\xff'\n");
	ok(conn_format_is_whole(CONN_FORMAT_QUOTED) &&
	   conn_format_is_whole(CONN_FORMAT_REPR) &&
	   !conn_format_is_whole(CONN_FORMAT_HEX) &&
	   !conn_format_is_input(CONN_FORMAT_REPR) &&
	   !conn_format_is_input(CONN_FORMAT_PICKLE_DIS) &&
	   conn_format_is_input(CONN_FORMAT_JSON),
	   "whole, input-only and output-only formats");
}

int main(void)
{
	test_quoted();
	test_render();
	test_lines();
	test_null();
	test_raw();
	test_hex();
	test_frames();
	test_window();
	test_details();
	test_encoders();
	test_format_names();
	test_options();
	return tap_done();
}
