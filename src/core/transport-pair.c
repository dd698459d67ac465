/* transport-pair.c - socketpairs: both ends of a channel in one process. */
#include "internal.h"

#include <errno.h>
#include <sys/socket.h>

int conn_socketpair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return errno == EMFILE || errno == ENFILE ? CONN_EIO
							  : errno_to_conn(errno);
	return 0;
}
