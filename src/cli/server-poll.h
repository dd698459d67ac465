/*
 * server-poll.h - what the three files of conn-listen -k's poll server
 * share (server-poll.c: clients, handshakes, accepting and the loop;
 * server-stdout.c: client messages to stdout, the memory budget;
 * server-stdin.c: stdin to the clients).  Private to them; their
 * cross-file functions carry the poll_ prefix.
 */
#ifndef CONN_SERVER_POLL_H
#define CONN_SERVER_POLL_H

#include "server.h"

#define TX_HIGH (1024 * 1024)	/* a client behind: stop reading for it */

struct client {
	struct conn_channel *c;
	struct conn_auth auth;
	bool authed;
	bool closing;		/* the client is done: flush, then close */
	bool abandoned;		/* closing without flushing: it reads not */
	int64_t deadline;	/* of the handshake, or -1 */
	int64_t since;		/* accepted at (ms) */
	bool heard;		/* it has sent a byte */
	uint64_t serial;	/* accept order: the newest gets stdin */
	uint64_t received;
	int64_t moved_at;	/* when its send queue last moved or filled */
	struct conn_buffer whole;	/* the message being gathered */
	char name[NAME_MAX_LEN];
	char *json_name;	/* --tag --out json: name as a JSON string */
	size_t json_name_len;
	/* A message over its share of --max-buffer needs stdout to itself
	 * (struct server's holder); until then it waits, its first piece in
	 * whole, the rest in its socket. */
	bool big;
	uint64_t big_total;
	uint64_t streamed;	/* bytes of it already on stdout */
	bool at_line_start;	/* --tag: the next streamed byte starts a line */
	int64_t stall_deadline;	/* the holder must send more by then */
	struct render_job *job;	/* its message rendering in a thread */
};

/* A message's rendering (repr, json, pickle-dis), made here or by a job:
 * conn_format_render_or_hex_with()'s results. */
struct poll_rendering {
	int rc;
	char *text;
	size_t len;
	bool hex;
	char why[200];
};

/* ------------------------------------------------------ server-poll.c */

/* Queues one message for the client without ever blocking; the clock
 * of --send-timeout starts when its queue stops being empty. */
CONN_NODISCARD
int poll_client_queue(struct client *cl, const void *data, size_t size);

/* Logs why a client goes, and lets it go; the server goes on. */
void poll_client_fail(struct server *s, struct client *cl, int rc,
		      const char *why);

/* A message of the client's that cannot be held, rendered or queued
 * (out of memory) is lost: the client goes with a warning that says so,
 * rather than the loss going unseen; the others go on. */
void poll_client_lost(struct server *s, struct client *cl, int rc,
		      uint64_t size);

/* stdout is free again for the clients waiting with big messages. */
void poll_release_stdout(struct server *s, struct client *cl);

/*
 * The holder of stdout goes before its message is whole.  Nothing of a
 * held message was written: it is lost with the client's warning.  Part
 * of a streamed one is on stdout already and cannot be taken back: the
 * listener stops (exit 5) rather than go on with a cut message there.
 */
void poll_holder_gone(struct server *s, struct client *cl);

/* Sends what each client has queued; lets go of the finished ones. */
void poll_flush_clients(struct server *s);

/* ---------------------------------------------------- server-stdout.c */

/* Whether the client's messages may be read now (stdout has room, and a
 * big message waits until stdout is its own). */
bool poll_client_may_read(const struct server *s, const struct client *cl);

/* Takes the whole messages in the client's queue while stdout has room;
 * whatever goes wrong drops the client, with a warning. */
void poll_client_messages(struct server *s, struct client *cl);

/* Holder of stdout silent past STALL_MS: dropped (stdout behind, or its
 * message rendering in a job, is no stall of its).  Returns the ms until its deadline, or -1. */
int poll_expire_holder(struct server *s);

/* A rendering to stdout for the client's message of size bytes (it frees
 * r->text), counted; what goes wrong drops the client, with a warning. */
void poll_show_rendering(struct server *s, struct client *cl,
			 struct poll_rendering *r, uint64_t size);

/* Writes the whole messages queued for stdout, without blocking. */
CONN_NODISCARD
int poll_write_stdout(struct server *s);

/* ----------------------------------------------------- server-stdin.c */

/* One read of stdin, without blocking. */
CONN_NODISCARD
int poll_read_stdin(struct server *s);

/* Cuts stdin into messages and hands each to the clients. */
CONN_NODISCARD
int poll_pump_stdin(struct server *s);

/*
 * Whether stdin may go on: only its targets count, never an older client
 * that stopped reading.  The newest client must have room; with
 * --broadcast one client at least (the fastest sets the pace; one that
 * falls --max-sendq behind is dropped), or with --max-sendq=0 every one.
 */
bool poll_targets_have_room(const struct server *s);

/* Lets a client go at once, its queue unsent: it stopped reading.  The
 * next poll_flush_clients() frees it. */
void poll_client_abandon(struct server *s, struct client *cl,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ----------------------------------------------------- server-render.c */

/* The options of a rendering here (in_place: within a small budget of
 * work, so that CONN_EAGAIN says it is one for a job) or by a job. */
void poll_render_options(const struct server *s,
			 struct conn_render_options *opt, bool in_place);

/* A job renders the client's message, taken from msg (left empty); the
 * client is not read until it is done.  CONN_ENOMEM. */
CONN_NODISCARD
int poll_render_start(struct server *s, struct client *cl,
		      struct conn_buffer *msg);

/* The client goes: its job, if any, is canceled and its result dropped. */
void poll_render_orphan(struct client *cl);

/* The fd that is readable when a job is done; -1 while there is none. */
int poll_render_fd(const struct server *s);

/* The done jobs' renderings go to stdout; jobs waiting for a thread
 * start. */
void poll_render_collect(struct server *s);

/* Cancels the jobs past --render-timeout of CPU; returns the ms until
 * the next look, or -1. */
int poll_render_expire(struct server *s);

/* Cancels every job and waits for their threads (at the end). */
void poll_render_close(struct server *s);

#endif
