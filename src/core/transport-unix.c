/* transport-unix.c - Unix sockets: file system paths and Linux abstract names. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t make_sockaddr(struct sockaddr_un *sun,
			       const struct conn_address *a)
{
	size_t skip = a->kind == CONN_ADDRESS_ABSTRACT ? 1 : 0;

	*sun = (struct sockaddr_un){ .sun_family = AF_UNIX };
	/* Abstract: a leading NUL, then exactly the name, as Python sends. */
	memcpy(sun->sun_path + skip, a->path, a->path_len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + skip +
			   a->path_len + (skip ? 0 : 1));
}

static int unix_family_check(char *detail, size_t capacity,
			     enum conn_family family)
{
	if (family == CONN_FAMILY_ANY)
		return 0;
	detail_set(detail, capacity, "cannot use -4 or -6 with a Unix socket");
	return CONN_EINVAL;
}

/* A socket file nobody answers on is stale and may go.  Asked only while
 * we hold its lock, so never of a conn-tools listener: a live one holds
 * the lock, and would take our probe for its connection. */
static bool socket_is_stale(const struct sockaddr_un *sun, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool stale;

	if (fd < 0)
		return false;
	stale = connect(fd, (const struct sockaddr *)sun, len) < 0 &&
		errno == ECONNREFUSED;
	close(fd);
	return stale;
}

static int in_use(char *detail, size_t capacity, const char *path)
{
	detail_set(detail, capacity,
		   "cannot listen on %s: another process listens there", path);
	return CONN_EBIND;
}

/* Never bind over a file that is not a socket, nor a live socket. */
static int clear_path(char *detail, size_t capacity,
		      const struct sockaddr_un *sun, socklen_t len,
		      const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		detail_set(detail, capacity,
			   "cannot listen on %s: it exists and is not a socket",
			   path);
		return CONN_EBIND;
	}
	if (!socket_is_stale(sun, len))
		return in_use(detail, capacity, path);
	/* Should it stay, bind() fails on it and says why. */
	(void)unlink(path);
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* PATH.lock, opened never through a symbolic link (nor blocking on a
 * FIFO), created 0600 only if absent: an existing file is not ours to
 * create over (protected_regular in sticky directories). */
static int open_lock(const char *lock_path)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	int fd = open(lock_path, flags);

	if (fd < 0 && errno == ENOENT)
		fd = open(lock_path, flags | O_CREAT | O_EXCL, 0600);
	return fd;
}

static int lock_error(char *detail, size_t capacity, const char *path,
		      const char *lock_path, const char *why)
{
	detail_set(detail, capacity, "cannot listen on %s: its lock file "
		   "%s: %s", path, lock_path, why);
	return CONN_EBIND;
}

/* One attempt at PATH.lock: 0 with it held in *out, CONN_EAGAIN when the
 * file we locked is no longer PATH.lock (its owner removed it between our
 * open and flock), or an error. */
static int try_lock(int *out, char *detail, size_t capacity, const char *path,
		    const char *lock_path)
{
	struct stat held, named;
	int fd = open_lock(lock_path), err;

	if (fd < 0 && errno == EEXIST)
		return CONN_EAGAIN;	/* created by another meanwhile */
	if (fd < 0)
		return lock_error(detail, capacity, path, lock_path,
				  errno == ELOOP ? "it is a symbolic link"
						 : strerror(errno));
	if (fstat(fd, &held) < 0 || !S_ISREG(held.st_mode)) {
		close(fd);
		return lock_error(detail, capacity, path, lock_path,
				  "it is not a regular file");
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno;
		close(fd);
		return err == EWOULDBLOCK ? in_use(detail, capacity, path)
			: lock_error(detail, capacity, path, lock_path,
				     strerror(err));
	}
	if (lstat(lock_path, &named) < 0 || !same_file(&held, &named)) {
		close(fd);
		return CONN_EAGAIN;
	}
	*out = fd;
	return 0;
}

/* Holds PATH.lock for as long as the socket is bound: a second listener
 * sees that this one is alive without connecting to it. */
static int take_lock(struct conn_listener *l, char *detail, size_t capacity,
		     const char *path)
{
	int i, rc = CONN_EAGAIN;

	snprintf(l->lock_path, sizeof(l->lock_path), "%s" LOCK_SUFFIX, path);
	for (i = 0; i < 8 && rc == CONN_EAGAIN; i++)
		rc = try_lock(&l->lock_fd, detail, capacity, path,
			      l->lock_path);
	if (rc == CONN_EAGAIN)	/* locks come and go: someone is there */
		return in_use(detail, capacity, path);
	return rc;
}

/* What is bound at PATH now, to remove only that at the end. */
static void remember_socket(struct conn_listener *l, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	strcpy(l->path, path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
}

/* Removes PATH if it is still the file st describes. */
static void unlink_if_same(const char *path, const struct stat *st)
{
	struct stat now;

	/* Best effort on the way out: a stale file is cleared by the next
	 * listener (clear_path()). */
	if (lstat(path, &now) == 0 && same_file(&now, st))
		(void)unlink(path);
}

/* The socket file and then the lock file go while we still hold the
 * lock, and only if they are still ours: a later listener's stay. */
static void unix_release(struct conn_listener *l)
{
	struct stat st = { .st_dev = l->dev, .st_ino = l->ino };

	if (l->path[0])
		unlink_if_same(l->path, &st);
	if (l->lock_fd < 0)
		return;
	if (fstat(l->lock_fd, &st) == 0)
		unlink_if_same(l->lock_path, &st);
	close(l->lock_fd);
	l->lock_fd = -1;
}

static int unix_listen(struct conn_listener *l, char *detail,
		       size_t capacity, const struct conn_address *a,
		       enum conn_family family)
{
	struct sockaddr_un sun;
	socklen_t len = make_sockaddr(&sun, a);
	bool is_file = a->kind == CONN_ADDRESS_UNIX;
	mode_t old_mask;
	int rc, err;

	rc = unix_family_check(detail, capacity, family);
	if (rc == 0 && is_file)
		rc = take_lock(l, detail, capacity, a->path);
	if (rc == 0 && is_file)
		rc = clear_path(detail, capacity, &sun, len, a->path);
	if (rc)
		return rc;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail;
	old_mask = umask(0177);	/* the socket file is born 0600 */
	rc = bind(l->fd, (struct sockaddr *)&sun, len);
	err = errno;
	umask(old_mask);
	errno = err;
	if (rc < 0)
		goto fail;
	if (is_file)
		remember_socket(l, a->path);
	if (listen(l->fd, l->backlog) < 0)
		goto fail;
	return 0;
fail:
	detail_set(detail, capacity, "cannot listen on %s%s: %s",
		   is_file ? "" : "@", a->path, strerror(errno));
	return CONN_EBIND;
}

static int unix_connect(int *fd, bool *retry, char *detail, size_t capacity,
			const struct conn_address *a, enum conn_family family,
			const struct connect_limits *lim)
{
	struct sockaddr_un sun;
	socklen_t len = make_sockaddr(&sun, a);
	bool timed_out;
	int rc;

	*retry = false;
	rc = unix_family_check(detail, capacity, family);
	if (rc)
		return rc;
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd >= 0 && transport_connect_by(*fd, (struct sockaddr *)&sun, len,
					     lim->deadline_ms) == 0)
		return 0;
	timed_out = errno == ETIMEDOUT && lim->deadline_ms >= 0;
	*retry = errno == ECONNREFUSED || errno == ENOENT ||
		 errno == EAGAIN || timed_out;
	detail_set(detail, capacity, "cannot connect to %s%s: %s",
		   a->kind == CONN_ADDRESS_ABSTRACT ? "@" : "", a->path,
		   timed_out ? "no answer in time" : strerror(errno));
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return timed_out ? CONN_ETIMEDOUT : CONN_ECONNECT;
}

static void unix_tune(int fd)
{
	(void)fd;
}

const struct transport_ops transport_unix = {
	.listen = unix_listen,
	.connect = unix_connect,
	.tune = unix_tune,
	.release = unix_release,
};
