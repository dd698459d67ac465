/*
 * exec.c - --exec and --sh-exec: a command at the other end of the
 * messages.  Starting it with its stdin and stdout on a socket or on
 * pipes, telling it who the peer is, and judging how it ended.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* After SIGTERM, how long a command has before SIGKILL: less than the
 * -k listener's grace for its children (server-fork.c), so a command is
 * ended before the child that watches it is. */
#define EXEC_GRACE_MS 2000

/* environ plus CONN_PEER and CONN_DIGEST (when known), for the command;
 * never CONN_AUTHKEY: the command talks to the peer, and the key is ours. */
static char **command_environment(const char *peer, const char *digest)
{
	size_t n = 0, i;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (i = n = 0; environ[i]; i++)
		if (strncmp(environ[i], "CONN_AUTHKEY=", 13) != 0)
			env[n++] = environ[i];
	if (peer && asprintf(&env[n++], "CONN_PEER=%s", peer) < 0)
		env[--n] = NULL;
	if (digest && asprintf(&env[n++], "CONN_DIGEST=%s", digest) < 0)
		env[--n] = NULL;
	return env;
}

static void free_environment(char **env, const char *peer, const char *digest)
{
	size_t n = 0;

	if (env == NULL)
		return;
	while (env[n])
		n++;
	/* Only the entries we added are ours. */
	if (digest && n > 0)
		free(env[--n]);
	if (peer && n > 0)
		free(env[--n]);
	free(env);
}

/* The command starts as from a shell, as sshd and Python's subprocess
 * start theirs: every signal at its default (we ignore SIGPIPE; a command
 * that ignored it would write on to a closed pipe forever) and none
 * blocked.  0, or an errno. */
static int default_signals(posix_spawnattr_t *attr)
{
	sigset_t all, none;
	int rc = posix_spawnattr_init(attr);

	if (rc)
		return rc;
	/* These fail only for a bad signal number. */
	(void)sigfillset(&all);
	(void)sigemptyset(&none);
	rc = posix_spawnattr_setsigdefault(attr, &all);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETSIGMASK);
	if (rc)
		posix_spawnattr_destroy(attr);
	return rc;
}

int exec_start(pid_t *pid, char *detail, size_t capacity, int stdin_fd,
	       int stdout_fd, char *const argv[], const char *peer,
	       const char *digest)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	char **env = command_environment(peer, digest);
	int rc;

	if (env == NULL)
		return CONN_ENOMEM;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
	rc = default_signals(&attr);
	if (rc == 0) {
		rc = posix_spawnp(pid, argv[0], &actions, &attr, argv, env);
		posix_spawnattr_destroy(&attr);
	}
	posix_spawn_file_actions_destroy(&actions);
	free_environment(env, peer, digest);
	if (rc == 0)
		return 0;
	snprintf(detail, capacity, "cannot run %s: %s", argv[0],
		 strerror(rc));
	return rc == ENOMEM ? CONN_ENOMEM : CONN_EINVAL;
}

/* A pipe whose end of ours (index ours) is non-blocking and neither end
 * leaks into other commands. */
static int command_pipe(int fds[2], int ours)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return errno == EMFILE || errno == ENFILE ? CONN_ENOMEM
							  : CONN_EIO;
	/* Cannot fail on a pipe just made (as in server_run()). */
	(void)fcntl(fds[ours], F_SETFL,
		    fcntl(fds[ours], F_GETFL) | O_NONBLOCK);
	return 0;
}

int exec_start_piped(pid_t *pid, int *to_cmd, int *from_cmd, char *detail,
		     size_t capacity, char *const argv[], const char *peer,
		     const char *digest)
{
	int in[2], out[2], rc;

	rc = command_pipe(in, 1);
	if (rc)
		return rc;
	rc = command_pipe(out, 0);
	if (rc) {
		close(in[0]);
		close(in[1]);
		return rc;
	}
	rc = exec_start(pid, detail, capacity, in[0], out[1], argv, peer,
			digest);
	close(in[0]);
	close(out[1]);
	if (rc) {
		close(in[1]);
		close(out[0]);
		return rc;
	}
	*to_cmd = in[1];
	*from_cmd = out[0];
	return 0;
}

/* Ends the command however it behaves: SIGTERM, EXEC_GRACE_MS to go,
 * then SIGKILL, which nothing ignores. */
static void end_command(int *status, pid_t pid)
{
	int64_t end = conn_clock_ms() + EXEC_GRACE_MS;
	pid_t got;

	/* kill() fails only for a command already gone: waitpid() says. */
	(void)kill(pid, SIGTERM);
	while (((got = waitpid(pid, status, WNOHANG)) == 0 ||
		(got < 0 && errno == EINTR)) && conn_clock_ms() < end)
		poll(NULL, 0, 20);
	if (got == pid)
		return;
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

int exec_reap(char *detail, size_t capacity, pid_t pid, const char *name,
	      int rc)
{
	int status;

	/* Stopped by a signal: the command may be waiting for nothing. */
	if (rc == CONN_EINTR)
		end_command(&status, pid);
	else
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	/* A command that failed explains a broken pipe better than we do. */
	if (rc && rc != CONN_ERESET && rc != CONN_ETRUNC)
		return rc;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		snprintf(detail, capacity, "%s exited with status %d", name,
			 WEXITSTATUS(status));
		return CONN_EIO;
	}
	if (WIFSIGNALED(status)) {
		snprintf(detail, capacity, "%s was killed by signal %d",
			 name, WTERMSIG(status));
		return CONN_EIO;
	}
	return rc;
}
