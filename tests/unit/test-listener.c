/*
 * test-listener.c - conn_listener_close_in_child(): a child forked by a
 * server lets go of the listener's descriptors, and the parent's listener
 * still accepts, keeps its Unix socket file and its lock.
 */
#include "conn.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* In the child: 0 when the listening descriptor is closed. */
static int child_lets_go(struct conn_listener *l)
{
	int fd = conn_listener_fd(l);

	conn_listener_close_in_child(l);
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF ? 0 : 1;
}

static void test_close_in_child(const char *dir)
{
	struct conn_listener *l = NULL, *second = NULL;
	struct conn_address a;
	char text[200], path[150], lock[160], detail[200] = "", peer[64];
	int status = -1, client = -1, accepted = -1;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	snprintf(text, sizeof(text), "unix:%s", path);
	if (conn_address_from_text(&a, detail, sizeof(detail), text) ||
	    conn_listener_open(&l, detail, sizeof(detail), &a,
			       CONN_FAMILY_ANY)) {
		ok(0, "listening on %s: %s", text, detail);
		return;
	}
	pid = fork();
	if (pid == 0)
		_exit(child_lets_go(l));
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	   WEXITSTATUS(status) == 0,
	   "the child's copy of the listening descriptor is closed");
	ok(exists(path) && exists(lock), "the socket file and the lock stay");
	ok(conn_listener_open(&second, detail, sizeof(detail), &a,
			      CONN_FAMILY_ANY) == CONN_EBIND,
	   "the path is still locked by the parent (%s)", detail);
	ok(conn_connect(&client, detail, sizeof(detail), &a, CONN_FAMILY_ANY,
			0, NULL) == 0 &&
	   conn_listener_accept(&accepted, peer, sizeof(peer), l, NULL) == 0,
	   "the parent's listener still accepts");
	if (client >= 0)
		close(client);
	if (accepted >= 0)
		close(accepted);
	conn_listener_close(l);
	ok(!exists(path) && !exists(lock),
	   "the parent's conn_listener_close() removes the files");
}

int main(void)
{
	char dir[] = "/tmp/test-listener.XXXXXX";

	/* Whatever goes wrong, never hang the test run. */
	alarm(20);
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	test_close_in_child(dir);
	rmdir(dir);
	return tap_done();
}
