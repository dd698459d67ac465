/*
 * test-channel.c - framed messages over a socketpair: round trips of all
 * sizes, Python's BufferTooShort, streaming in pieces, end of stream,
 * deadlines and size limits.  Large senders run in a forked child so the
 * socket buffer cannot deadlock the test.
 */
#include "conn.h"
#include "tap.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024u * 1024u)
/* Every blocking call of the parent ends by then, whatever goes wrong. */
#define SAFETY_MS 5000

static uint8_t pattern_byte(size_t i, unsigned seed)
{
	return (uint8_t)((i * 131u + seed * 7u + (i >> 8)) & 0xff);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
	return p;
}

static bool is_pattern(const uint8_t *p, size_t offset, size_t len,
		       unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(offset + i, seed))
			return false;
	return true;
}

/* A channel on one end of a fresh socketpair; *peer is the other end. */
static struct conn_channel *pair(int *peer)
{
	struct conn_channel *c = NULL;
	int fds[2], rc;

	rc = conn_socketpair(fds);
	if (rc == 0)
		rc = conn_channel_new(&c, fds[0], fds[0]);
	if (rc) {
		printf("Bail out! socketpair/channel: %s\n",
		       conn_strerror(rc));
		exit(1);
	}
	conn_channel_set_deadline(c, conn_clock_ms() + SAFETY_MS);
	*peer = fds[1];
	return c;
}

static void write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("Bail out! write: %s\n", strerror(errno));
			exit(1);
		}
		p += n;
		len -= (size_t)n;
	}
}

/* ---------------------------------------------------------- children */

struct sends {
	size_t count;
	size_t sizes[8];
	unsigned seeds[8];
};

/* Runs in the child: sends each message on its own channel, then exits
 * (closing the socket).  Exit status 0 only if every send succeeded. */
static pid_t spawn_sender(struct conn_channel *parent, int peer,
			  const struct sends *s)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("Bail out! fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		struct conn_channel *c = NULL;
		size_t i;
		int rc;

		close(conn_channel_rfd(parent));
		rc = conn_channel_new(&c, peer, peer);
		if (rc == 0)
			conn_channel_set_deadline(c, conn_clock_ms() +
						  SAFETY_MS);
		for (i = 0; rc == 0 && i < s->count; i++) {
			uint8_t *data = pattern(s->sizes[i], s->seeds[i]);

			rc = conn_channel_send(c, data, s->sizes[i]);
			free(data);
		}
		if (rc == 0)
			rc = conn_channel_shutdown(c);
		conn_channel_free(c);
		_exit(rc ? 1 : 0);
	}
	close(peer);
	return pid;
}

static bool child_ok(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* -------------------------------------------------------------- tests */

static void test_round_trips(void)
{
	struct sends s = { 4, { 0, 1, 70000, MIB }, { 1, 2, 3, 4 } };
	size_t capacity = MIB + 64, size, i;
	uint8_t *buf = malloc(capacity);
	struct conn_channel *c;
	int peer, rc;
	pid_t pid;

	c = pair(&peer);
	pid = spawn_sender(c, peer, &s);
	for (i = 0; i < s.count; i++) {
		size = 777;
		rc = conn_channel_recv(c, &size, buf, capacity);
		ok(rc == 0 && size == s.sizes[i] &&
		   is_pattern(buf, 0, size, s.seeds[i]),
		   "round trip of %zu bytes (rc %d, got %zu) %s", s.sizes[i],
		   rc, size, conn_channel_detail(c));
	}
	rc = conn_channel_recv(c, &size, buf, capacity);
	ok(rc == CONN_ERESET, "then the peer's close between messages is "
	   "ERESET (%s)", conn_strerror(rc));
	ok(child_ok(pid), "the sending child succeeded");
	conn_channel_free(c);
	free(buf);
}

static void test_short_buffer(void)
{
	struct sends s = { 3, { 100, 4, 70000 }, { 5, 6, 7 } };
	uint8_t *buf = malloc(70000);
	struct conn_channel *c;
	size_t size;
	int peer, rc;
	pid_t pid;

	c = pair(&peer);
	pid = spawn_sender(c, peer, &s);
	size = 0;
	rc = conn_channel_recv(c, &size, buf, 10);
	ok(rc == CONN_ESHORTBUF && size == 100,
	   "recv into 10 bytes: ESHORTBUF with size 100 (%s, %zu)",
	   conn_strerror(rc), size);
	size = 0;
	rc = conn_channel_recv(c, &size, buf, 99);
	ok(rc == CONN_ESHORTBUF && size == 100,
	   "recv into 99 bytes: ESHORTBUF again, size 100 (%zu)", size);
	rc = conn_channel_recv(c, &size, buf, 100);
	ok(rc == 0 && size == 100 && is_pattern(buf, 0, 100, 5),
	   "recv into 100 bytes: the kept message, whole (rc %d)", rc);
	rc = conn_channel_recv(c, &size, buf, 3);
	ok(rc == CONN_ESHORTBUF && size == 4,
	   "the next message: ESHORTBUF with size 4");
	rc = conn_channel_recv(c, &size, buf, 4);
	ok(rc == 0 && size == 4 && is_pattern(buf, 0, 4, 6),
	   "the next message after it, whole");
	/* A message bigger than one read of the socket. */
	rc = conn_channel_recv(c, &size, buf, 1000);
	ok(rc == CONN_ESHORTBUF && size == 70000,
	   "a 70000-byte message into 1000 bytes: ESHORTBUF 70000");
	rc = conn_channel_recv(c, &size, buf, 70000);
	ok(rc == 0 && size == 70000 && is_pattern(buf, 0, 70000, 7),
	   "then received whole (rc %d)", rc);
	rc = conn_channel_recv(c, &size, buf, 70000);
	ok(rc == CONN_ERESET, "then ERESET (%s)", conn_strerror(rc));
	ok(child_ok(pid), "the sending child succeeded");
	conn_channel_free(c);
	free(buf);
}

static void test_pieces(void)
{
	size_t total = 5 * MIB;
	struct sends s = { 2, { 5 * MIB, 3 }, { 9, 10 } };
	struct conn_channel *c;
	struct conn_piece p;
	size_t got = 0, count = 0, biggest = 0;
	bool in_order = true, content = true, firsts = true;
	uint8_t buf[8];
	size_t size;
	int peer, rc;
	pid_t pid;

	c = pair(&peer);
	pid = spawn_sender(c, peer, &s);
	for (;;) {
		rc = conn_channel_recv_piece(c, &p);
		if (rc)
			break;
		count++;
		if (p.offset != got || p.total != total)
			in_order = false;
		if (conn_piece_is_first(&p) != (count == 1))
			firsts = false;
		if (p.size > biggest)
			biggest = p.size;
		if (!is_pattern(p.data, got, p.size, 9))
			content = false;
		got += p.size;
		if (conn_piece_is_last(&p) || !in_order)
			break;
	}
	ok(rc == 0 && got == total && in_order && firsts,
	   "recv_piece: 5 MiB in %zu pieces, in order (rc %d, %zu bytes)",
	   count, rc, got);
	ok(content, "recv_piece: every byte as sent");
	ok(count > 1 && biggest <= MIB,
	   "recv_piece: streamed in pieces of at most %zu bytes", biggest);
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	ok(rc == 0 && size == 3 && is_pattern(buf, 0, 3, 10),
	   "recv after streaming: the next message");
	rc = conn_channel_recv_piece(c, &p);
	ok(rc == CONN_ERESET, "recv_piece at the end: ERESET (%s)",
	   conn_strerror(rc));
	ok(child_ok(pid), "the sending child succeeded");
	conn_channel_free(c);
}

static void test_end_of_stream(void)
{
	struct conn_channel *c;
	struct conn_piece p;
	uint8_t buf[64];
	size_t size;
	int peer, rc;

	c = pair(&peer);
	close(peer);
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	ok(rc == CONN_ERESET, "close before any message: ERESET (%s)",
	   conn_strerror(rc));
	conn_channel_free(c);

	c = pair(&peer);
	write_all(peer, "\0\0\0\3abc\0\0\0\x0a" "abc", 14);
	close(peer);
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	ok(rc == 0 && size == 3 && memcmp(buf, "abc", 3) == 0,
	   "a whole message before the close");
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	ok(rc == CONN_ETRUNC, "close 3 bytes into a 10-byte message: ETRUNC "
	   "(%s)", conn_strerror(rc));
	ok(conn_channel_detail(c)[0] != '\0', "with a detail (%s)",
	   conn_channel_detail(c));
	conn_channel_free(c);

	c = pair(&peer);
	write_all(peer, "\0\0\0\x0a" "abc", 7);
	close(peer);
	rc = conn_channel_recv_piece(c, &p);
	ok(rc == 0 && p.size == 3 && p.offset == 0 && p.total == 10,
	   "recv_piece: the 3 bytes that came");
	rc = conn_channel_recv_piece(c, &p);
	ok(rc == CONN_ETRUNC, "recv_piece: then ETRUNC (%s)",
	   conn_strerror(rc));
	conn_channel_free(c);

	c = pair(&peer);
	write_all(peer, "\0\0", 2);
	close(peer);
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	ok(rc == CONN_ETRUNC, "close inside a header: ETRUNC (%s)",
	   conn_strerror(rc));
	conn_channel_free(c);

	c = pair(&peer);
	write_all(peer, "\xff\xff\xff\xff\0\0\0", 7);
	close(peer);
	rc = conn_channel_recv_piece(c, &p);
	ok(rc == CONN_ETRUNC, "close inside a long header: ETRUNC (%s)",
	   conn_strerror(rc));
	conn_channel_free(c);

	c = pair(&peer);
	write_all(peer, "\0\0\0\0", 4);
	close(peer);
	rc = conn_channel_recv(c, &size, buf, 0);
	ok(rc == 0 && size == 0, "an empty message into a 0-byte buffer");
	rc = conn_channel_recv(c, &size, buf, 0);
	ok(rc == CONN_ERESET, "then ERESET");
	conn_channel_free(c);
}

static void test_deadline(void)
{
	struct conn_channel *c;
	struct conn_piece p;
	uint8_t buf[64];
	uint8_t *big;
	size_t size;
	int64_t t0, elapsed;
	int peer, rc;

	c = pair(&peer);
	conn_channel_set_deadline(c, conn_clock_ms() + 100);
	t0 = conn_clock_ms();
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	elapsed = conn_clock_ms() - t0;
	ok(rc == CONN_ETIMEDOUT && elapsed >= 90 && elapsed < 2000,
	   "recv from a silent peer: ETIMEDOUT after %lld ms (%s)",
	   (long long)elapsed, conn_strerror(rc));

	/* A deadline already passed fails at once; -1 lifts it. */
	t0 = conn_clock_ms();
	rc = conn_channel_recv_piece(c, &p);
	elapsed = conn_clock_ms() - t0;
	ok(rc == CONN_ETIMEDOUT && elapsed < 1000,
	   "recv_piece past the deadline: ETIMEDOUT at once (%lld ms)",
	   (long long)elapsed);
	conn_channel_set_deadline(c, -1);
	write_all(peer, "\0\0\0\2hi", 6);
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	ok(rc == 0 && size == 2 && memcmp(buf, "hi", 2) == 0,
	   "with the deadline lifted, a message comes through");

	/* Half a message, then silence. */
	write_all(peer, "\0\0\0\x09" "abc", 7);
	conn_channel_set_deadline(c, conn_clock_ms() + 100);
	t0 = conn_clock_ms();
	rc = conn_channel_recv(c, &size, buf, sizeof(buf));
	elapsed = conn_clock_ms() - t0;
	ok(rc == CONN_ETIMEDOUT && elapsed >= 90 && elapsed < 2000,
	   "recv of a half-sent message: ETIMEDOUT after %lld ms",
	   (long long)elapsed);
	conn_channel_free(c);

	/* Sending to a peer that does not read. */
	c = pair(&peer);
	big = malloc(16 * MIB);
	memset(big, 'z', 16 * MIB);
	conn_channel_set_deadline(c, conn_clock_ms() + 100);
	t0 = conn_clock_ms();
	rc = conn_channel_send(c, big, 16 * MIB);
	elapsed = conn_clock_ms() - t0;
	ok(rc == CONN_ETIMEDOUT && elapsed >= 90 && elapsed < 2000,
	   "send 16 MiB to a peer that does not read: ETIMEDOUT after %lld "
	   "ms (%s)", (long long)elapsed, conn_strerror(rc));
	free(big);
	close(peer);
	conn_channel_free(c);
}

static void test_limits(void)
{
	struct conn_channel *c;
	struct conn_piece p;
	uint8_t *buf = calloc(1, 4096);
	size_t size;
	int peer, rc;

	c = pair(&peer);
	conn_channel_set_max_size(c, 100);
	write_all(peer, "\0\0\0\x64", 4);	/* 100 bytes: allowed */
	write_all(peer, buf, 100);
	write_all(peer, "\0\0\x03\xe8", 4);	/* 1000 bytes: too big */
	rc = conn_channel_recv(c, &size, buf, 4096);
	ok(rc == 0 && size == 100, "max_size 100: a 100-byte message passes");
	rc = conn_channel_recv(c, &size, buf, 4096);
	ok(rc == CONN_ETOOBIG, "max_size 100: an announced 1000 bytes is "
	   "ETOOBIG (%s)", conn_strerror(rc));
	ok(strstr(conn_channel_detail(c), "1000") != NULL,
	   "the detail names the announced size (%s)",
	   conn_channel_detail(c));
	close(peer);
	conn_channel_free(c);

	c = pair(&peer);
	conn_channel_set_max_size(c, 100);
	write_all(peer, "\0\0\0\x65", 4);
	rc = conn_channel_recv_piece(c, &p);
	ok(rc == CONN_ETOOBIG, "max_size 100: recv_piece of 101 is ETOOBIG "
	   "(%s)", conn_strerror(rc));
	close(peer);
	conn_channel_free(c);

	/* The default cap (1 GiB) refuses a 2 GiB announcement. */
	c = pair(&peer);
	write_all(peer, "\xff\xff\xff\xff\0\0\0\0\x80\0\0\0", 12);
	rc = conn_channel_recv_piece(c, &p);
	ok(rc == CONN_ETOOBIG, "default max_size: 2 GiB is ETOOBIG (%s)",
	   conn_strerror(rc));
	close(peer);
	conn_channel_free(c);

	/* 0 lifts the cap. */
	c = pair(&peer);
	conn_channel_set_max_size(c, 0);
	write_all(peer, "\xff\xff\xff\xff\0\0\0\0\x80\0\0\0xy", 14);
	rc = conn_channel_recv_piece(c, &p);
	ok(rc == 0 && p.total == 0x80000000ull && p.size == 2,
	   "max_size 0: a 2 GiB announcement starts streaming");
	close(peer);
	conn_channel_free(c);

	/* A negative length is a protocol error. */
	c = pair(&peer);
	write_all(peer, "\x80\0\0\0", 4);
	rc = conn_channel_recv(c, &size, buf, 4096);
	ok(rc == CONN_EPROTO, "a negative length: EPROTO (%s)",
	   conn_strerror(rc));
	close(peer);
	conn_channel_free(c);
	free(buf);
}

static void test_send_errors_and_pipes(void)
{
	struct conn_channel *a, *b;
	int p1[2], p2[2], peer, rc;
	uint8_t buf[16];
	size_t size;

	/* A closed peer is an error, not a SIGPIPE. */
	a = pair(&peer);
	close(peer);
	rc = conn_channel_send(a, "hello", 5);
	ok(rc != 0, "send to a closed peer fails without SIGPIPE (%s)",
	   conn_strerror(rc));
	conn_channel_free(a);

	/* A channel over a pair of pipes, both ways. */
	if (pipe(p1) || pipe(p2)) {
		ok(0, "pipes");
		return;
	}
	if (conn_channel_new(&a, p1[0], p2[1]) ||
	    conn_channel_new(&b, p2[0], p1[1])) {
		ok(0, "channels over pipes");
		return;
	}
	conn_channel_set_deadline(a, conn_clock_ms() + SAFETY_MS);
	conn_channel_set_deadline(b, conn_clock_ms() + SAFETY_MS);
	ok(conn_channel_rfd(a) == p1[0] && conn_channel_wfd(a) == p2[1],
	   "rfd and wfd are the descriptors given");
	rc = conn_channel_send(a, "ping", 4);
	rc = rc ? rc : conn_channel_recv(b, &size, buf, sizeof(buf));
	ok(rc == 0 && size == 4 && memcmp(buf, "ping", 4) == 0,
	   "pipes: a to b");
	rc = conn_channel_send(b, "pong!", 5);
	rc = rc ? rc : conn_channel_recv(a, &size, buf, sizeof(buf));
	ok(rc == 0 && size == 5 && memcmp(buf, "pong!", 5) == 0,
	   "pipes: b to a");
	rc = conn_channel_shutdown(a);
	rc = rc ? rc : conn_channel_recv(b, &size, buf, sizeof(buf));
	ok(rc == CONN_ERESET, "pipes: shutdown reads as ERESET (%s)",
	   conn_strerror(rc));
	conn_channel_free(a);
	conn_channel_free(b);
}

/* The fast path's primitives (--forward): whole frames peeked and
 * consumed as they came, a half one left to the pieces, and a payload's
 * rest handed over to be moved by the caller. */
static void test_pass_through(void)
{
	/* "ab", "", then the header of 10 bytes and 3 of them */
	static const uint8_t bytes[] = { 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0,
					 0, 0, 0, 10, 'x', 'y', 'z' };
	struct conn_channel *c, *dst;
	const uint8_t *data;
	struct conn_piece p;
	uint64_t count = 0, left = 0;
	size_t len = 0, put = 0;
	int peer, dst_peer, rc;
	uint8_t got[16];

	c = pair(&peer);
	dst = pair(&dst_peer);
	write_all(peer, bytes, sizeof(bytes));
	while (conn_channel_received(c) < sizeof(bytes) &&
	       conn_channel_read_some(c) == 0)
		;
	rc = conn_channel_peek_frames(&data, &len, &count, c, SIZE_MAX);
	ok(rc == 0 && len == 10 && count == 2 && data[4] == 'a',
	   "peek_frames: the two whole frames (rc %d, %zu bytes, %llu)", rc,
	   len, (unsigned long long)count);
	rc = conn_channel_peek_frames(&data, &len, &count, c, 9);
	ok(rc == 0 && len == 6 && count == 1,
	   "peek_frames: no more than max bytes, whole frames only");
	must(conn_channel_write_span(&put, dst, data, 10));
	ok(put == 10 && read(dst_peer, got, sizeof(got)) == 10 &&
	   memcmp(got, bytes, 10) == 0, "write_span: the frames as they came");
	conn_channel_consume_frames(c, 10);
	rc = conn_channel_peek_frames(&data, &len, &count, c, SIZE_MAX);
	ok(rc == CONN_EAGAIN, "peek_frames: a half frame is none (%s)",
	   conn_strerror(rc));
	rc = conn_channel_hand_over(&left, c, dst);
	ok(rc == CONN_EAGAIN, "hand_over: not while its bytes are received");
	rc = conn_channel_take_piece(&p, c, SIZE_MAX);
	ok(rc == 0 && p.size == 3 && p.total == 10,
	   "take_piece: the half frame's bytes");
	rc = conn_channel_hand_over(&left, c, dst);
	ok(rc == 0 && left == 7, "hand_over: 7 bytes to come (rc %d, %llu)",
	   rc, (unsigned long long)left);
	write_all(peer, "1234567", 7);
	ok(read(conn_channel_rfd(c), got, 7) == 7,
	   "the caller reads the rest itself");
	write_all(peer, bytes, 6);
	while (conn_channel_received(c) < 6 && conn_channel_read_some(c) == 0)
		;
	rc = conn_channel_peek_frames(&data, &len, &count, c, SIZE_MAX);
	ok(rc == 0 && count == 1 && len == 6,
	   "after the hand-over: the next frame whole");
	close(peer);
	close(dst_peer);
	conn_channel_free(c);
	conn_channel_free(dst);
}

static void on_alarm(int sig)
{
	static const char msg[] = "Bail out! test-channel hangs (20 s)\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

int main(void)
{
	/* Whatever goes wrong, never hang the test run. */
	signal(SIGALRM, on_alarm);
	alarm(20);
	test_round_trips();
	test_short_buffer();
	test_pieces();
	test_end_of_stream();
	test_deadline();
	test_limits();
	test_send_errors_and_pipes();
	test_pass_through();
	return tap_done();
}
