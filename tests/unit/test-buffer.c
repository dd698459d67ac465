/*
 * test-buffer.c - the byte queue (struct conn_buffer): appending,
 * consuming, growing within a limit, holding back half a message
 * (commit, flush limit, drop_partial), reading and writing descriptors;
 * and the helpers of an event loop beside it: conn_fd_copy_nonblocking()
 * and conn_stop_check_ms().
 */
#include "conn.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024u

static bool holds(const struct conn_buffer *b, const char *text)
{
	size_t len = strlen(text);

	return conn_buffer_len(b) == len &&
	       memcmp(b->data + b->start, text, len) == 0;
}

static void test_append_consume(void)
{
	struct conn_buffer b;

	ok(conn_buffer_init(&b, 8) == 0 && b.cap == 8 &&
	   conn_buffer_len(&b) == 0 && conn_buffer_room(&b) == 8,
	   "init: empty, with the room asked for");
	ok(conn_buffer_append(&b, "hello", 5) == 0 && holds(&b, "hello"),
	   "append within the room");
	ok(conn_buffer_append(&b, ", world", 7) == 0 &&
	   holds(&b, "hello, world") && b.cap >= 12,
	   "append past the room grows the queue");
	conn_buffer_consume(&b, 7);
	ok(holds(&b, "world") && b.start == 7, "consume takes from the front");
	ok(conn_buffer_compact(&b) == b.cap - 5 && b.start == 0 &&
	   holds(&b, "world"), "compact slides the bytes to the front");
	conn_buffer_consume(&b, 5);
	ok(b.start == 0 && b.end == 0 && b.mark == 0,
	   "consuming everything rewinds the queue");
	ok(conn_buffer_append(&b, "", 0) == 0 && conn_buffer_len(&b) == 0,
	   "an empty append");
	conn_buffer_free(&b);
	ok(b.data == NULL && b.cap == 0, "free forgets the memory");
}

static void test_reserve(void)
{
	struct conn_buffer b;
	size_t cap;

	if (conn_buffer_init(&b, 16) != 0) {
		ok(0, "init");
		return;
	}
	ok(conn_buffer_reserve(&b, 10, 16) == 0 && b.cap == 16,
	   "reserve within the room changes nothing");
	ok(conn_buffer_append(&b, "0123456789", 10) == 0, "ten bytes in");
	conn_buffer_consume(&b, 8);
	ok(conn_buffer_reserve(&b, 12, 16) == 0 && b.cap == 16 &&
	   b.start == 0 && holds(&b, "89"),
	   "reserve slides the bytes rather than grow when that is enough");
	ok(conn_buffer_reserve(&b, 15, 16) == CONN_ETOOBIG && b.cap == 16 &&
	   holds(&b, "89"), "reserve beyond the limit: CONN_ETOOBIG, kept");
	ok(conn_buffer_reserve(&b, 100, 64) == CONN_ETOOBIG,
	   "more than the limit in all: CONN_ETOOBIG");
	ok(conn_buffer_reserve(&b, 31, 40) == 0 && b.cap == 40 &&
	   conn_buffer_room(&b) >= 31 && holds(&b, "89"),
	   "growing stops at the limit (doubling would pass it)");
	cap = b.cap;
	ok(conn_buffer_reserve(&b, 4 * KIB, SIZE_MAX) == 0 &&
	   b.cap >= 4 * KIB + 2 && b.cap > cap && holds(&b, "89"),
	   "reserve without a limit grows");
	conn_buffer_free(&b);
}

static void test_messages(void)
{
	struct conn_buffer b;

	if (conn_buffer_init(&b, 64 * KIB) != 0) {
		ok(0, "init");
		return;
	}
	ok(conn_buffer_append(&b, "one", 3) == 0, "half a message in");
	ok(conn_buffer_flush_limit(&b) == b.start,
	   "no whole message: nothing may go");
	conn_buffer_commit(&b);
	ok(conn_buffer_flush_limit(&b) == 3, "committed: it may go");
	ok(conn_buffer_append(&b, "two", 3) == 0, "the next one, half");
	ok(conn_buffer_flush_limit(&b) == 3, "only the whole one may go");
	conn_buffer_drop_partial(&b);
	ok(holds(&b, "one") && b.mark == 3,
	   "drop_partial forgets what came after the commit");
	conn_buffer_consume(&b, 3);
	ok(conn_buffer_len(&b) == 0 && b.mark == 0, "the whole one went");
	/* A message too big to hold back goes out half, under low water. */
	ok(conn_buffer_reserve(&b, 60 * KIB, SIZE_MAX) == 0, "room");
	memset(b.data + b.end, 'x', 60 * KIB);
	conn_buffer_extend(&b, 60 * KIB);
	ok(conn_buffer_len(&b) == 60 * KIB && b.mark == 0,
	   "extend counts the bytes written into the room");
	ok(conn_buffer_flush_limit(&b) == b.end,
	   "a queue nearly full of half a message lets it go");
	conn_buffer_consume(&b, 10);
	conn_buffer_drop_partial(&b);
	ok(conn_buffer_len(&b) == 0,
	   "drop_partial after part of it went: the rest goes");
	ok(conn_buffer_append(&b, "abc", 3) == 0, "bytes in again");
	conn_buffer_commit(&b);
	conn_buffer_clear(&b);
	ok(b.start == 0 && b.end == 0 && b.mark == 0 && b.data != NULL,
	   "clear empties the queue and keeps its memory");
	conn_buffer_free(&b);
}

static void test_read_write_fd(void)
{
	struct conn_buffer in, out;
	char detail[120] = "";
	bool eof = false;
	int fds[2], rc;

	if (pipe(fds) != 0 || conn_buffer_init(&in, 16) != 0 ||
	    conn_buffer_init(&out, 16) != 0) {
		ok(0, "pipe and queues");
		return;
	}
	ok(conn_buffer_append(&out, "ping\npong\n", 10) == 0, "queued");
	conn_buffer_commit(&out);
	ok(conn_buffer_append(&out, "half", 4) == 0, "and half a line");
	rc = conn_buffer_write_fd(&out, detail, sizeof(detail), fds[1],
				  "the pipe", out.mark);
	ok(rc == 0 && holds(&out, "half"), "write_fd writes up to the limit");
	close(fds[1]);
	rc = conn_buffer_read_fd(&in, &eof, detail, sizeof(detail), fds[0],
				 "the pipe", 0);
	ok(rc == 0 && !eof && holds(&in, "ping\npong\n"),
	   "read_fd reads what is there, growing past its start size");
	rc = conn_buffer_read_fd(&in, &eof, detail, sizeof(detail), fds[0],
				 "the pipe", 0);
	ok(rc == 0 && eof, "read_fd at end of file sets *eof");
	close(fds[0]);
	rc = conn_buffer_read_fd(&in, &eof, detail, sizeof(detail), fds[0],
				 "the pipe", 0);
	ok(rc == CONN_EIO && strstr(detail, "cannot read the pipe") != NULL,
	   "read_fd of a closed descriptor: CONN_EIO, named (%s)", detail);

	if (pipe(fds) != 0) {
		ok(0, "pipe");
		return;
	}
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	rc = conn_buffer_write_fd(&out, detail, sizeof(detail), fds[1],
				  "the pipe", out.end);
	ok(rc == CONN_EPIPE, "write_fd once the reader left: CONN_EPIPE");
	close(fds[1]);
	rc = conn_buffer_write_fd(&out, detail, sizeof(detail), fds[1],
				  "the pipe", out.end);
	ok(rc == CONN_EIO && strstr(detail, "cannot write the pipe") != NULL,
	   "write_fd to a closed descriptor: CONN_EIO, named (%s)", detail);
	conn_buffer_free(&in);
	conn_buffer_free(&out);
}

static void test_read_limit(void)
{
	struct conn_buffer b;
	char detail[120] = "";
	bool eof = false;
	int fds[2], rc;

	if (pipe(fds) != 0 || conn_buffer_init(&b, 16) != 0) {
		ok(0, "pipe and queue");
		return;
	}
	/* The queue full of half a message as long as the window. */
	rc = conn_buffer_reserve(&b, CONN_BUFFER_READ_SIZE,
				 CONN_BUFFER_READ_SIZE);
	if (rc == 0)
		memset(b.data, 'x', b.cap);
	conn_buffer_extend(&b, conn_buffer_room(&b));
	ok(rc == 0 && conn_buffer_room(&b) == 0 &&
	   b.cap == CONN_BUFFER_READ_SIZE, "a full queue of %zu bytes", b.cap);
	rc = conn_buffer_read_fd(&b, &eof, detail, sizeof(detail), fds[0],
				 "stdin", CONN_BUFFER_READ_SIZE);
	ok(rc == CONN_ETOOBIG &&
	   strcmp(detail, "a message of stdin is too long") == 0,
	   "read_fd with no room within the window: CONN_ETOOBIG (%s)",
	   detail);
	close(fds[0]);
	close(fds[1]);
	conn_buffer_free(&b);
}

static void test_fd_copy(void)
{
	char path[] = "/tmp/test-buffer.XXXXXX";
	bool owned = true;
	int fds[2], fd, file;

	if (pipe(fds) != 0) {
		ok(0, "pipe");
		return;
	}
	fd = conn_fd_copy_nonblocking(&owned, fds[1]);
	ok(owned && fd >= 0 && fd != fds[1] &&
	   (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
	   !(fcntl(fds[1], F_GETFL) & O_NONBLOCK),
	   "a pipe: a non-blocking descriptor of our own, the shared one as "
	   "it was");
	ok(write(fd, "x", 1) == 1, "the copy writes the pipe");
	if (owned)
		close(fd);
	close(fds[0]);
	close(fds[1]);
	file = mkstemp(path);
	if (file < 0) {
		ok(0, "mkstemp");
		return;
	}
	unlink(path);
	fd = conn_fd_copy_nonblocking(&owned, file);
	ok(!owned && fd == file, "a file: the descriptor itself, not owned");
	close(file);
	fd = conn_fd_copy_nonblocking(&owned, -1);
	ok(!owned && fd == -1, "no descriptor: -1, not owned");
}

static void test_stop_check(void)
{
	ok(conn_stop_check_ms(-1) == CONN_STOP_CHECK_MS,
	   "no timeout: at most CONN_STOP_CHECK_MS");
	ok(conn_stop_check_ms(0) == 0 && conn_stop_check_ms(250) == 250,
	   "a shorter timeout is kept");
	ok(conn_stop_check_ms(CONN_STOP_CHECK_MS + 1) == CONN_STOP_CHECK_MS,
	   "a longer one is cut");
}

static void test_adopt(void)
{
	struct conn_buffer b;
	char *text = strdup("adopted text");

	if (conn_buffer_init(&b, 16) != 0 || text == NULL) {
		ok(0, "conn_buffer_init");
		free(text);
		return;
	}
	conn_buffer_adopt(&b, text, 7, 13);
	ok(b.data == (uint8_t *)text && conn_buffer_len(&b) == 7 &&
	   b.mark == 0 && b.cap == 13,
	   "adopt: the text is the storage, its bytes appended, uncommitted");
	conn_buffer_commit(&b);
	ok(conn_buffer_append(&b, "!", 1) == 0 && conn_buffer_len(&b) == 8 &&
	   memcmp(b.data + b.start, "adopted!", 8) == 0,
	   "adopt: appending goes on after it");
	conn_buffer_free(&b);
}

int main(void)
{
	test_append_consume();
	test_reserve();
	test_adopt();
	test_messages();
	test_read_write_fd();
	test_read_limit();
	test_fd_copy();
	test_stop_check();
	return tap_done();
}
