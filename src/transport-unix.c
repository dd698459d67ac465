/* transport-unix.c - Unix sockets: file system paths and Linux abstract names. */
#include "transport.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
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

/* A socket file nobody answers on is stale and may go. */
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
	if (!socket_is_stale(sun, len)) {
		detail_set(detail, capacity,
			   "cannot listen on %s: another process listens there",
			   path);
		return CONN_EBIND;
	}
	unlink(path);
	return 0;
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
		strcpy(l->path, a->path);
	if (listen(l->fd, SOMAXCONN) < 0)	/* a burst of clients for -k */
		goto fail;
	transport_name_listener(l);
	return 0;
fail:
	detail_set(detail, capacity, "cannot listen on %s%s: %s",
		   is_file ? "" : "@", a->path, strerror(errno));
	return CONN_EBIND;
}

static int unix_connect(int *fd, bool *retry, char *detail, size_t capacity,
			const struct conn_address *a, enum conn_family family)
{
	struct sockaddr_un sun;
	socklen_t len = make_sockaddr(&sun, a);
	int rc;

	*retry = false;
	rc = unix_family_check(detail, capacity, family);
	if (rc)
		return rc;
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd >= 0 && connect(*fd, (struct sockaddr *)&sun, len) == 0)
		return 0;
	*retry = errno == ECONNREFUSED || errno == ENOENT ||
		 errno == EAGAIN;
	detail_set(detail, capacity, "cannot connect to %s%s: %s",
		   a->kind == CONN_ADDRESS_ABSTRACT ? "@" : "", a->path,
		   strerror(errno));
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return CONN_ECONNECT;
}

static void unix_tune(int fd)
{
	(void)fd;
}

const struct transport_ops transport_unix = {
	.listen = unix_listen,
	.connect = unix_connect,
	.tune = unix_tune,
};
