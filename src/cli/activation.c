/*
 * activation.c - systemd socket activation, the protocol of
 * sd_listen_fds(3) read by hand (no libsystemd): LISTEN_PID names the
 * process the sockets are for, LISTEN_FDS how many there are from fd 3
 * on, LISTEN_FDNAMES their names, parted by ':'.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_FDS_START 3
#define LISTEN_FDS_MAX 4096	/* more is a broken variable */

/* A decimal number in [1, max] from the variable, else -1. */
static long env_number(const char *name, long max)
{
	const char *text = getenv(name);
	char *end;
	long n;

	if (text == NULL || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	n = strtol(text, &end, 10);
	return errno || *end || n < 1 || n > max ? -1 : n;
}

/* The index of name among LISTEN_FDNAMES's n names, or -1. */
static long name_index(const char *names, const char *name, long n)
{
	size_t len = strlen(name);
	long i;

	for (i = 0; names && i < n; i++) {
		size_t part = strcspn(names, ":");

		if (part == len && strncmp(names, name, len) == 0)
			return i;
		names = names[part] ? names + part + 1 : NULL;
	}
	return -1;
}

/* The variables are ours alone: a child (--exec) must not take our
 * sockets for its own, as sd_listen_fds(1) has it. */
static void unset_variables(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int cli_activation_fd(int *fd, char *detail, size_t capacity,
		      const char *name)
{
	long pid = env_number("LISTEN_PID", 0x7fffffffL);
	long n = env_number("LISTEN_FDS", LISTEN_FDS_MAX), i = 0, k;
	const char *names = getenv("LISTEN_FDNAMES");

	if (pid != (long)getpid() || n < 1)
		return CONN_EAGAIN;
	if (name) {
		i = name_index(names, name, n);
		if (i < 0) {
			snprintf(detail, capacity, "--fd-name %s: no socket "
				 "of that name in LISTEN_FDNAMES (%s)", name,
				 names ? names : "not set");
			return CONN_EINVAL;
		}
	} else if (n > 1) {
		snprintf(detail, capacity, "LISTEN_FDS passes %ld sockets: "
			 "pick one with --fd-name (LISTEN_FDNAMES: %s)", n,
			 names ? names : "not set");
		return CONN_EINVAL;
	}
	/* The others are not for an --exec command either. */
	for (k = 0; k < n; k++)
		(void)fcntl(LISTEN_FDS_START + (int)k, F_SETFD, FD_CLOEXEC);
	unset_variables();
	*fd = LISTEN_FDS_START + (int)i;
	return 0;
}
