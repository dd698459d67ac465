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

#include <poll.h>

#define TX_HIGH (1024 * 1024)	/* a client behind: stop reading for it */
#define OUT_HIGH (1024 * 1024)	/* stdout behind: stop reading clients */

struct client {
	struct conn_channel *c;
	struct conn_auth auth;
	bool authed;
	bool tls_pending;	/* its TLS handshake is not done */
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
	/* A message over its share of --max-buffer: in the plain formats it
	 * goes to a file (spill) until whole (spill_whole), then waits for
	 * stdout; in the others it waits for the budget's other half (struct
	 * server's holder), its first piece in whole, the rest in its
	 * socket. */
	bool big;
	uint64_t big_total;
	struct poll_spill *spill;
	bool spill_whole;
	bool at_line_start;	/* --tag: the next byte spilled starts a line */
	int64_t stall_deadline;	/* the holder must send more by then */
	struct render_job *job;	/* its message rendering in a thread */
	int64_t active_at;	/* #18 sockets: -i, bytes last moved */
	/* Its places in the loop's lists (see struct poll_sched). */
	size_t at;		/* in s->clients */
	size_t active_slot;	/* in the active list, plus one; 0: not on it */
	struct client *hs_prev, *hs_next;	/* the handshake list */
	bool in_hs;		/* on it */
	bool parked;		/* has input, may not read it now */
	short mask;		/* the events it is waited for with */
	short revents;		/* what the last wait said of it */
};

/*
 * What keeps a wake-up's cost to the clients that moved (server-poll.c,
 * server-wait.c).  The active list holds the clients with work to do:
 * reported by the wait, sent to, with input they may not read yet
 * (parked), a queue to send, a message to go on, or on their way out; an
 * idle client is on no list and costs nothing until the wait reports it.
 * The handshake list holds the clients in the handshake in accept order,
 * so their deadlines come in its order.
 */
struct poll_sched {
	struct client **active;
	size_t n_active;
	struct client *hs_head, *hs_tail;
	size_t handshaking;
	struct client *newest;	/* stdin's target, unless newest_stale */
	bool newest_stale;
	int epfd;		/* -1: poll() */
	struct epoll_event *events;
	struct pollfd *pfd;
	size_t cap;		/* clients --max-conns allows */
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
int poll_client_queue(struct server *s, struct client *cl, const void *data,
		      size_t size);

/* The client has work: the next step visits it. */
void poll_client_activate(struct server *s, struct client *cl);

/* Without --broadcast, the one client stdin goes to (the newest
 * authenticated one not on its way out), or NULL. */
struct client *poll_newest_target(const struct server *s);

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


/* Sends what each client has queued; lets go of the finished ones. */
void poll_flush_clients(struct server *s);

/* ------------------------------------------------------ server-wait.c */

/* epoll, unless CONN_TOOLS_POLL=poll or the system has none: poll().
 * CONN_ENOMEM, CONN_EIO. */
CONN_NODISCARD
int poll_wait_open(struct poll_sched *w, size_t max_conns);

void poll_wait_close(struct poll_sched *w);

/* "epoll" or "poll", for the trace. */
const char *poll_wait_name(const struct poll_sched *w);

/* The client is waited for with mask (POLLIN, POLLOUT), added on its
 * first call; CONN_EIO if epoll refuses it. */
CONN_NODISCARD
int poll_wait_set(struct poll_sched *w, struct client *cl, short mask);

/* The client is not waited for any more (before its socket closes). */
void poll_wait_forget(struct poll_sched *w, struct client *cl);

/*
 * Waits for the nfixed descriptors of fixed (stdin, stdout...) and the
 * clients, at most timeout ms (-1: no limit); each client reported gets
 * its revents and goes on the active list.  0, or CONN_EIO.
 */
CONN_NODISCARD
int poll_wait(struct server *s, struct pollfd *fixed, nfds_t nfixed,
	      int timeout);

/* ---------------------------------------------------- server-stdout.c */

/* Whether the client's messages may be read now (stdout has room, and a
 * big message waits for its turn). */
bool poll_client_may_read(const struct server *s, const struct client *cl);

/* Whether a message the client sent whole is still to go to stdout (a
 * job renders it, or it waits in its file): the client stays until it
 * has, even once it is gone or dropped. */
bool poll_client_owes(const struct client *cl);

/* Whether the client's big message waits for a turn that has come. */
bool poll_client_waits(const struct server *s, const struct client *cl);

/* The bytes stdout has to take: queued, and of a spilled message. */
uint64_t poll_stdout_pending(const struct server *s);

/* Takes the whole messages in the client's queue while stdout has room;
 * whatever goes wrong drops the client, with a warning. */
void poll_client_messages(struct server *s, struct client *cl);

/* The holder of the budget's other half silent past STALL_MS: dropped
 * (stdout behind, or its message rendering in a job, is no stall of its).  Returns the ms until its deadline, or -1. */
int poll_expire_holder(struct server *s);

/* One more message of the client's is out (or dropped, or discarded with
 * --send-only). */
void poll_count_message(struct server *s, struct client *cl, uint64_t size);

/* The warning for a message --pickle-policy does not let through. */
void poll_say_dropped(struct server *s, struct client *cl, const char *why);

/* A rendering to stdout for the client's message of size bytes (it frees
 * r->text), counted; what goes wrong drops the client, with a warning. */
void poll_show_rendering(struct server *s, struct client *cl,
			 struct poll_rendering *r, uint64_t size);

/* Writes the whole messages queued for stdout (and a spilled one as it
 * goes), without blocking. */
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

/* ------------------------------------------------------ server-spill.c */

/* Writes b (emptied) to the client's spill file, made at the first call:
 * 0; CONN_ENOMEM; CONN_EIO once the client is dropped with a warning
 * saying why (no room in $TMPDIR...). */
CONN_NODISCARD
int poll_spill_write(struct server *s, struct client *cl,
		     struct conn_buffer *b);

/* The client's spill file goes (its message lost, or given away). */
void poll_spill_discard(struct client *cl);

/* The client's whole spilled message becomes the one copied to stdout;
 * false while another one is. */
bool poll_spill_hand_over(struct server *s, struct client *cl);

/* Whether a spilled message is being copied to stdout. */
bool poll_spill_copying(const struct server *s);

/* The bytes of it not yet copied to stdout's queue. */
uint64_t poll_spill_left(const struct server *s);

/* Fills stdout's queue from the spilled message up to OUT_HIGH; CONN_EIO
 * with s->detail if the file cannot be read back. */
CONN_NODISCARD
int poll_spill_refill(struct server *s);

/* The spilled message being copied is given up (at the end). */
void poll_spill_close(struct server *s);

/* ----------------------------------------------------- server-render.c */

/* The options of a rendering here (in_place: within a small budget of
 * work, so that CONN_EAGAIN says it is one for a job) or by a job. */
void poll_render_options(const struct server *s,
			 struct conn_render_options *opt, bool in_place);

/* A job renders the client's message, taken from msg (left empty), and
 * first judges it by --pickle-policy unless judged; the client is not
 * read until it is done.  CONN_ENOMEM. */
CONN_NODISCARD
int poll_render_start(struct server *s, struct client *cl,
		      struct conn_buffer *msg, bool judged);

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

/* Cancels every job and waits for their threads (at the end); returns
 * how many messages are not shown so, each named in a warning if say. */
unsigned poll_render_close(struct server *s, bool say);

#endif
