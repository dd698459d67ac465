/*
 * forward.h - conn-listen --forward's relay (server-forward.c) and its
 * --trace records (trace.c).  Private to src/cli.
 */
#ifndef CLI_FORWARD_H
#define CLI_FORWARD_H

#include "cli.h"

/* One forwarded connection's trace: where its records go and what each
 * record starts with. */
struct trace_conn {
	const struct cli_options *o;	/* trace_fd, trace_format, render */
	uint64_t id;			/* the connection's number */
	char *peer;			/* the client's name, quoted for JSON
					 * with --trace json */
	size_t peer_len;
	int64_t start_us;		/* the connection's start */
};

/* Starts a trace for the client peer (a no-op without --trace). */
CONN_NODISCARD
int trace_start(struct trace_conn *t, const struct cli_options *o,
		const char *peer);
void trace_end(struct trace_conn *t);

/* True when messages are to be traced. */
CONN_NODISCARD
bool trace_on(const struct trace_conn *t);

/*
 * Writes one record, in one write(2): the message of size bytes that went
 * the way dir says ("c>s", "s>c"); message is NULL when it was streamed
 * and is not shown.  CONN_EIO with detail set when the record cannot be
 * written.
 */
CONN_NODISCARD
int trace_message(struct trace_conn *t, char *detail, size_t capacity,
		  const char *dir, const uint8_t *message, uint64_t size);

#endif
