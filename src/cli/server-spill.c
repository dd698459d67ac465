/*
 * server-spill.c - conn-listen -k: a message too big to hold, in a plain
 * format (lines, null, raw, frames, hex), waits in a temporary file until
 * it is whole, then goes to stdout from there.
 *
 * Streaming such a message to stdout as it came would keep memory small
 * too, but a client that went before the end would leave a cut message
 * on stdout, which nothing can take back: the listener had to stop, so
 * any client could stop it.  In a file, a cut message is only the
 * client's loss, said in its warning, and stdout holds whole messages
 * alone.  The file is unlinked from the start (O_TMPFILE in $TMPDIR, else
 * /tmp), so that nothing is left behind, whatever ends the listener.
 * Memory stays at a piece at a time both ways; the file takes the
 * message's bytes as they will be written (encoded, tagged).
 */
#include "server-poll.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COPY_PIECE (256 * 1024)	/* of a spilled message read at a time */

struct poll_spill {
	int fd;
	uint64_t size;		/* bytes written to it */
	uint64_t copied;	/* of them, to stdout */
};

static const char *spill_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

/* An unlinked file in the temporary directory, or -1 with errno. */
static int open_unlinked(const char *dir)
{
	char path[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
			errno != EINVAL))
		return fd;
	/* A file system without O_TMPFILE: made, then unlinked at once. */
	if (snprintf(path, sizeof(path), "%s/conn-listen-XXXXXX", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Says what went wrong with the client's spill file: the client goes,
 * its message lost (nothing of it is on stdout). */
static int spill_failed(struct server *s, struct client *cl, int err,
			const char *what)
{
	char why[300];

	snprintf(why, sizeof(why), "message %llu (%llu bytes) is lost: "
		 "cannot %s a file in %s to hold it (%s); the client is "
		 "dropped", (unsigned long long)cl->received + 1,
		 (unsigned long long)cl->big_total, what, spill_dir(),
		 strerror(err));
	poll_client_fail(s, cl, CONN_EIO, why);	/* (its file goes there) */
	return CONN_EIO;
}

int poll_spill_write(struct server *s, struct client *cl,
		     struct conn_buffer *b)
{
	struct poll_spill *sp = cl->spill;
	ssize_t n;

	if (sp == NULL) {
		sp = calloc(1, sizeof(*sp));
		if (sp == NULL)
			return CONN_ENOMEM;
		sp->fd = open_unlinked(spill_dir());
		if (sp->fd < 0) {
			int err = errno;

			free(sp);
			return spill_failed(s, cl, err, "make");
		}
		cl->spill = sp;
	}
	while (conn_buffer_len(b) > 0) {
		n = write(sp->fd, b->data + b->start, conn_buffer_len(b));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return spill_failed(s, cl, n < 0 ? errno : ENOSPC,
					    "write to");
		b->start += (size_t)n;
		sp->size += (uint64_t)n;
	}
	conn_buffer_clear(b);
	return 0;
}

/* The file and its record go; *sp is NULL after. */
static void spill_free(struct poll_spill **sp)
{
	if (*sp) {
		close((*sp)->fd);
		free(*sp);
		*sp = NULL;
	}
}

void poll_spill_discard(struct client *cl)
{
	spill_free(&cl->spill);
}

bool poll_spill_hand_over(struct server *s, struct client *cl)
{
	if (s->copy)
		return false;
	s->copy = cl->spill;
	cl->spill = NULL;
	return true;
}

bool poll_spill_copying(const struct server *s)
{
	return s->copy != NULL;
}

uint64_t poll_spill_left(const struct server *s)
{
	return s->copy ? s->copy->size - s->copy->copied : 0;
}

int poll_spill_refill(struct server *s)
{
	struct poll_spill *sp = s->copy;
	size_t want;
	ssize_t n;
	int rc;

	while (sp && conn_buffer_len(&s->out) < OUT_HIGH) {
		want = sp->size - sp->copied < COPY_PIECE
			       ? (size_t)(sp->size - sp->copied) : COPY_PIECE;
		if (want == 0) {
			spill_free(&s->copy);
			break;
		}
		rc = conn_buffer_reserve(&s->out, want, SIZE_MAX);
		if (rc)
			return rc;
		n = pread(sp->fd, s->out.data + s->out.end, want,
			  (off_t)sp->copied);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(s->detail, s->capacity, "reading back a "
				 "message held in %s: %s", spill_dir(),
				 n < 0 ? strerror(errno) : "the file is short");
			return CONN_EIO;
		}
		conn_buffer_extend(&s->out, (size_t)n);
		conn_buffer_commit(&s->out);
		sp->copied += (uint64_t)n;
	}
	return 0;
}

void poll_spill_close(struct server *s)
{
	spill_free(&s->copy);
}
