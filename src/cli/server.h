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

/* An --exec child (server-fork.c). */
struct server_child {
	pid_t pid;
	int report_fd;		/* the pipe from it, or -1 once it ended */
	bool authed;		/* its peer is: it said so on the pipe */
	bool ending;		/* ended to make room (--max-startups) */
	uint64_t serial;	/* accept order */
	int64_t since;		/* accepted at (ms) */
	char name[NAME_MAX_LEN];
};

/* Warnings of one kind (the same line but for its numbers) in the log's
 * current second: the first SERVER_LOG_BURST are said, the rest counted
 * and summed up in one line when the second is over (server.c). */
#define SERVER_LOG_BURST 5
#define SERVER_LOG_KINDS 16

struct server_log_kind {
	uint64_t key;		/* the line's hash, digits left out */
	int64_t window_end;	/* ms; 0: the slot is free */
	unsigned said;		/* said in full in this window */
	uint64_t more;		/* and counted only */
	char last[200];		/* the last one counted, for the summary */
};

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
	struct client *holder;	/* gathers a big message to render */
	struct poll_spill *copy;	/* a spilled message going to stdout */
	struct conn_buffer stage;	/* a piece on its way to a spill file */
	int in_fd, out_fd;
	bool out_fd_owned;	/* out_fd is a non-blocking copy of stdout */
	bool in_eof, in_done;
	bool count_reached;
	struct server_child *kids;	/* --exec: the children alive */
	unsigned children;
	struct conn_progress progress;
	volatile sig_atomic_t *stop;
	conn_log_fn *log;
	void *log_ctx;
	char *detail;
	size_t capacity;
	struct server_log_kind kinds[SERVER_LOG_KINDS];
	int64_t accept_resume;	/* out of descriptors: no accept before */
	bool out_of_fds;	/* since the last accept that worked */
	struct render_pool *render;	/* -k: renderings in threads */
	struct poll_sched *sched;	/* -k: the loop's lists, its wait */
};

/* Logs a line; warnings are rate-limited by kind (see struct
 * server_log_kind), so that an attack cannot flood the log. */
void server_say(struct server *s, enum conn_log_level level, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

/* Says the summaries of the rate-limited warnings whose second is over
 * (all of them if all); returns the ms until the next is due, or -1. */
int server_log_flush(struct server *s, bool all);

/*
 * --max-startups START:RATE:FULL, before a newcomer: true if one of the
 * connections still in the handshake is to go to make room.  Past START
 * of them, by chance, RATE% rising linearly to 100% at FULL (OpenSSH's
 * MaxStartups numbers); always once conns reach --max-conns.
 */
bool server_must_make_room(const struct server *s, size_t in_handshake,
			   size_t conns);

/* Whether a connection in the handshake since then may be the one to go:
 * past the grace, so that a burst of honest clients that answer within it
 * loses none; at once if --max-conns are all taken (full). */
#define SERVER_STARTUP_GRACE_MS 1000
bool server_may_drop(int64_t since, bool full);

/* The warning for a connection dropped to make room. */
void server_say_made_room(struct server *s, const char *name, int64_t since,
			  size_t in_handshake);

/* Accepting failed for want of descriptors (EMFILE, ENFILE): no accepts
 * for SERVER_FD_PAUSE_MS, so that the loop does not spin; one warning
 * until an accept works again. */
#define SERVER_FD_PAUSE_MS 500
void server_pause_accepting(struct server *s);

/* An accept worked: descriptors are there again. */
void server_accepted(struct server *s);

/* The ms until accepts resume (0: now; they are not paused). */
int server_accept_wait_ms(const struct server *s);

/* Closes the listener (a Unix socket file goes too): no more accepts. */
void server_stop_listening(struct server *s);

/* A client's name for logs and --tag: its address; Unix clients have none
 * of their own, so the listener's and a number. */
void server_name_client(char *name, int fd, const char *peer,
			uint64_t serial);

/* The two servers, each until a stop signal or --max-accepts. */
CONN_NODISCARD
int server_poll_run(struct server *s);
CONN_NODISCARD
int server_fork_run(struct server *s);

#endif
