/*
 * server.h - what the poll server (server-poll.c) and the fork server
 * (server-fork.c) of conn-listen -k share (server.c): the server's state,
 * its log, its listener, the names of its clients.  Private to src/cli.
 */
#ifndef CLI_SERVER_H
#define CLI_SERVER_H

#include "cli.h"

#include <stdarg.h>
#include <sys/types.h>

#define NAME_MAX_LEN 176

struct client;

struct server {
	const struct cli_options *o;
	struct conn_listener *l;
	struct client **clients;
	size_t n, cap;
	uint64_t accepted, received;
	struct conn_decoder dec;
	struct conn_buffer in;	/* stdin bytes */
	struct conn_buffer msg;	/* the stdin message being gathered */
	bool msg_ready;		/* msg is whole and waits for a client */
	struct conn_buffer out;	/* stdout bytes: whole messages only */
	struct client *holder;	/* streams or gathers a big message */
	bool cut;		/* a streamed message was cut: stop */
	int in_fd, out_fd;
	bool out_fd_owned;	/* out_fd is a non-blocking copy of stdout */
	bool in_eof, in_done;
	bool count_reached;
	pid_t *pids;		/* --exec: the children alive */
	unsigned children;
	struct conn_progress progress;
	volatile sig_atomic_t *stop;
	conn_log_fn *log;
	void *log_ctx;
	char *detail;
	size_t capacity;
};

void server_say(struct server *s, enum conn_log_level level, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

/* Closes the listener (a Unix socket file goes too): no more accepts. */
void server_stop_listening(struct server *s);

/* A client's name for logs and --tag: its address; Unix clients have none
 * of their own, so the listener's and a number. */
void server_name_client(char *name, int fd, const char *peer,
			uint64_t serial);

/* The two servers, each until a stop signal or --max-accepts. */
int server_poll_run(struct server *s);
int server_fork_run(struct server *s);

#endif
