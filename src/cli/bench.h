/*
 * bench.h - the workloads of conn-bench (bench-workload.c), the peers
 * they run against (bench-peer.c) and its JSON text (bench-json.c).
 *
 * Nothing there prints: results and errors are values, with a one-line
 * detail where it helps.  Kept apart from conn.h because only conn-bench
 * uses it.
 */
#ifndef CONN_BENCH_H
#define CONN_BENCH_H

#include "conn.h"

#include <jansson.h>
#include <stdio.h>
#include <sys/types.h>

enum bench_workload {
	BENCH_STREAM,		/* one-way messages: messages/s, MB/s */
	BENCH_PINGPONG,		/* round trips: latency percentiles */
	BENCH_HANDSHAKE,	/* connect + authenticate + close */
	BENCH_WORKLOAD_COUNT
};

const char *bench_workload_name(enum bench_workload w);
/* CONN_EINVAL for a name that is no workload. */
CONN_NODISCARD
int bench_workload_from_name(enum bench_workload *w, const char *name);

/* What the peer does with the stream workload's messages. */
enum bench_peer_kind {
	BENCH_PEER_SINK,	/* counts them; at our EOF, replies the count */
	BENCH_PEER_ECHO,	/* sends every message back */
	BENCH_PEER_DUPLEX	/* -R, --bidir: the client's first message
				 * says "sink" (as above) or "source" (sends
				 * messages until the client closes) */
};

/* The handshake both sides run when key is not NULL. */
struct bench_auth {
	const struct conn_key *key;
	enum conn_digest digest;
	unsigned flags;
	int64_t timeout_ms;	/* 0 = none */
};

/* One connection's share of a workload (iperf3's "stream"). */
struct bench_stream {
	int id;			/* its socket descriptor, as iperf3 numbers
				 * streams; handshake (a socket per turn):
				 * the stream's number from 1 */
	uint64_t messages;	/* messages, round trips or handshakes */
	uint64_t received;	/* stream: messages the peer sent us */
	double start, end;	/* seconds since the workload started */
};

/* Running totals, for progress reports while a workload runs. */
struct bench_progress {
	uint64_t messages;	/* messages, round trips or handshakes */
	uint64_t received;	/* stream: messages the peer sent us */
	double seconds;		/* since the workload started */
	unsigned nstreams;	/* the connections' own totals so far */
	const struct bench_stream *streams;
};

typedef void bench_progress_fn(void *ctx, const struct bench_progress *p);

struct bench_config {
	enum bench_workload workload;
	enum bench_peer_kind peer;	/* stream: sink or echo protocol */
	size_t size;			/* payload bytes of each message */
	uint64_t count;			/* per connection; 0 = duration_ms */
	int64_t duration_ms;
	unsigned parallel;		/* connections at once (>= 1) */
	bool reverse;			/* DUPLEX stream: the peer sends */
	bool bidir;			/* DUPLEX stream: P each way at once */
	struct bench_auth auth;
	enum conn_family family;
	volatile sig_atomic_t *stop;
	int64_t interval_ms;		/* progress every; 0 = once a second */
	bench_progress_fn *progress;	/* may be NULL */
	void *progress_ctx;
};

struct bench_latency {
	uint64_t p50, p90, p99, p999, max;	/* nanoseconds */
};

struct bench_result {
	uint64_t messages;	/* messages, round trips or handshakes */
	uint64_t bytes;		/* payload bytes we sent */
	uint64_t received;	/* stream: messages from a source or echoes */
	uint64_t bytes_received;
	double seconds;		/* first send to last answer */
	bool has_latency;	/* pingpong and handshake */
	struct bench_latency latency_ns;
	unsigned nstreams;	/* P (2P with --bidir): each connection's */
	struct bench_stream *streams;
};

/* Runs one workload against the peer at a and fills r (to free with
 * bench_result_free(), on success only: a failed run keeps nothing). */
CONN_NODISCARD
int bench_run(struct bench_result *r, char *detail, size_t capacity,
	      const struct conn_address *a, const struct bench_config *cfg);

/* Frees what bench_run() allocated in r (not r). */
void bench_result_free(struct bench_result *r);

/* A peer process (or processes) serving the workloads. */
struct bench_peer;

struct bench_peer_config {
	enum bench_peer_kind kind;
	unsigned workers;		/* connections served at once */
	size_t size;			/* DUPLEX: what a source sends */
	struct bench_auth auth;
	enum conn_family family;
};

/* Listens on a and forks cfg->workers processes that accept, authenticate
 * and serve connections one after another until bench_peer_stop(). */
CONN_NODISCARD
int bench_peer_start(struct bench_peer **out, char *detail, size_t capacity,
		     const struct conn_address *a,
		     const struct bench_peer_config *cfg);

/*
 * Starts python3 SCRIPT (tools/bench-peer.py) on address, with --sink for
 * a sink, and waits for its "listening on ADDRESS" line.  key_text, if not
 * NULL, reaches it as CONN_AUTHKEY in its environment only.
 */
CONN_NODISCARD
int bench_python_start(struct bench_peer **out, char *detail,
		       size_t capacity, const char *python,
		       const char *script, const char *address,
		       enum bench_peer_kind kind, const char *key_text);

/* The address the peer listens on, in conn_address_parse() syntax. */
const char *bench_peer_name(const struct bench_peer *p);

/* Stops the peer's processes, waits for them and frees p. */
void bench_peer_stop(struct bench_peer *p);

/*
 * Writes j (nothing if NULL) and a newline to out, laid out byte for byte
 * as json_dumps() with JSON_INDENT(indent), or JSON_COMPACT for 0, in
 * insertion order; but reals are spelt as Python's repr() of a float
 * (conn_float_repr()), the shortest text that reads back as the double.
 */
void bench_json_print(FILE *out, json_t *j, int indent);

/* ------------------------- between bench-workload.c and bench-peer.c */

#define BENCH_BATCH_BYTES (64 * 1024)	/* frames handed over at once */
#define BENCH_TICK_MS 20		/* how often a waiter looks around */

/* The handshake in role within au's timeout, if any. */
CONN_NODISCARD
int bench_authenticate(struct conn_channel *c, const struct bench_auth *au,
		       enum conn_role role);

#endif
