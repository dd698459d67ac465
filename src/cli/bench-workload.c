/*
 * bench-workload.c - the workloads of conn-bench: stream, pingpong and
 * handshake, over P connections at once (one thread each).  The peers
 * they run against are bench-peer.c's.
 *
 * Nothing here prints: results and errors go back to conn-bench.c.
 */
#include "cli.h"
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_MS 10000		/* a peer silent this long is stuck */
#define PROGRESS_MS 1000

static const char *const workload_names[BENCH_WORKLOAD_COUNT] = {
	[BENCH_STREAM] = "stream",
	[BENCH_PINGPONG] = "pingpong",
	[BENCH_HANDSHAKE] = "handshake",
};

const char *bench_workload_name(enum bench_workload w)
{
	return w < BENCH_WORKLOAD_COUNT ? workload_names[w] : "?";
}

int bench_workload_from_name(enum bench_workload *w, const char *name)
{
	int i;

	for (i = 0; i < BENCH_WORKLOAD_COUNT; i++)
		if (strcmp(name, workload_names[i]) == 0) {
			*w = (enum bench_workload)i;
			return 0;
		}
	return CONN_EINVAL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool stopped(volatile sig_atomic_t *stop)
{
	return stop && *stop;
}

/* ------------------------------------------------------------ handshake */

int bench_authenticate(struct conn_channel *c, const struct bench_auth *au,
		       enum conn_role role)
{
	struct conn_auth a;
	int rc;

	conn_auth_init(&a, role, au->key, au->digest, au->flags);
	conn_channel_set_deadline(c, au->timeout_ms ?
				  conn_clock_ms() + au->timeout_ms : -1);
	rc = conn_channel_authenticate(c, &a);
	conn_channel_set_deadline(c, -1);
	return rc;
}


/* -------------------------------------------------------------- clients */

/* Where the workers wait until all are connected: the clock starts for
 * every one of them at once (or never, if one thread failed to start). */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready;
	int state;		/* 0: wait, 1: go, 2: give up */
};

/* A worker is ready; returns false when the run was given up. */
static bool gate_pass(struct gate *g)
{
	bool go;

	pthread_mutex_lock(&g->lock);
	g->ready++;
	pthread_cond_broadcast(&g->cond);
	while (g->state == 0)
		pthread_cond_wait(&g->cond, &g->lock);
	go = g->state == 1;
	pthread_mutex_unlock(&g->lock);
	return go;
}

/* The main thread opens the gate once started workers are all ready. */
static void gate_open(struct gate *g, unsigned started, bool go)
{
	pthread_mutex_lock(&g->lock);
	while (g->ready < started)
		pthread_cond_wait(&g->cond, &g->lock);
	g->state = go ? 1 : 2;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* One connection's share of a workload, run by its own thread. */
struct worker {
	const struct bench_config *cfg;
	const struct conn_address *a;
	struct gate *gate;
	struct conn_channel *c;
	int64_t deadline;		/* the channel's, for our own waits */
	bool reverse;			/* stream: the peer sends, we count */
	int id;				/* struct bench_stream's */
	uint64_t done;			/* read by the main thread: atomics */
	uint64_t received;		/* likewise */
	uint64_t *samples;		/* latencies, ns */
	size_t nsamples, cap;
	int64_t start_ns, end_ns;
	bool finished;			/* read by the main thread: atomics */
	int rc;
	char detail[300];
};

static void worker_count(struct worker *w, uint64_t n)
{
	__atomic_store_n(&w->done, n, __ATOMIC_RELAXED);
}

static void worker_received(struct worker *w, uint64_t n)
{
	__atomic_store_n(&w->received, n, __ATOMIC_RELAXED);
}

/* True when the workload has done its count or used up its time. */
static bool worker_finished(const struct worker *w, uint64_t done)
{
	if (stopped(w->cfg->stop))
		return true;
	if (w->cfg->count)
		return done >= w->cfg->count;
	return now_ns() - w->start_ns >= w->cfg->duration_ms * 1000000;
}

static int add_sample(struct worker *w, uint64_t ns)
{
	if (w->nsamples == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		uint64_t *s = realloc(w->samples, cap * sizeof(*s));

		if (s == NULL)
			return CONN_ENOMEM;
		w->samples = s;
		w->cap = cap;
	}
	w->samples[w->nsamples++] = ns;
	return 0;
}

/* A silent peer must not hang us: every wait gets a fresh deadline. */
static void keep_alive(struct worker *w)
{
	w->deadline = conn_clock_ms() + IDLE_MS;
	conn_channel_set_deadline(w->c, w->deadline);
}

/* Keeps the first error's detail, prefixed by what was going on ("" for
 * nothing more than the row the caller prints). */
/* Waits for pfd's events within the worker's deadline. */
static int wait_both(struct worker *w, struct pollfd *pfd)
{
	int64_t left;
	int n;

	for (;;) {
		if (stopped(w->cfg->stop))
			return CONN_EINTR;
		left = w->deadline - conn_clock_ms();
		if (left <= 0)
			return CONN_ETIMEDOUT;
		n = poll(pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return CONN_EIO;
	}
}

static int worker_error(struct worker *w, int rc, const char *what)
{
	const char *d = w->c ? conn_channel_detail(w->c) : "";

	if (w->detail[0])
		return rc;
	if (rc == CONN_ETIMEDOUT)
		snprintf(w->detail, sizeof(w->detail), "%s%sthe peer did "
			 "not answer within %d s", what, what[0] ? ": " : "",
			 IDLE_MS / 1000);
	else
		snprintf(w->detail, sizeof(w->detail), "%s%s%s", what,
			 what[0] ? ": " : "", d[0] ? d : conn_strerror(rc));
	return rc;
}

static int worker_connect(struct worker *w)
{
	int fd, rc;

	rc = conn_connect(&fd, w->detail, sizeof(w->detail), w->a,
			  w->cfg->family, 0, w->cfg->stop);
	if (rc == 0)
		rc = conn_channel_new(&w->c, fd, fd);
	if (rc)
		return rc;
	if (w->cfg->workload != BENCH_HANDSHAKE)
		w->id = fd;
	conn_channel_set_max_size(w->c, 0);
	conn_channel_set_stop_flag(w->c, w->cfg->stop);
	if (w->cfg->auth.key) {
		rc = bench_authenticate(w->c, &w->cfg->auth, CONN_ROLE_CLIENT);
		/* The handshake's own words: its timeout is not IDLE_MS. */
		if (rc)
			snprintf(w->detail, sizeof(w->detail), "%s",
				 conn_channel_detail(w->c));
	}
	/* Our own duplex peer: which way this connection's stream goes. */
	if (rc == 0 && w->cfg->peer == BENCH_PEER_DUPLEX)
		rc = w->reverse ? conn_channel_send(w->c, "source", 6)
				: conn_channel_send(w->c, "sink", 4);
	return rc;
}

/* frames back-to-back messages of size bytes, ~BENCH_BATCH_BYTES in all. */
static uint8_t *make_batch(size_t *frames, size_t *frame_len, size_t size)
{
	uint8_t header[CONN_FRAME_HEADER_MAX];
	size_t h = conn_frame_header_encode(header, size), i;
	uint8_t *batch;

	*frame_len = h + size;
	*frames = *frame_len >= BENCH_BATCH_BYTES ? 1 : BENCH_BATCH_BYTES / *frame_len;
	batch = malloc(*frames * *frame_len);
	if (batch == NULL)
		return NULL;
	for (i = 0; i < *frames; i++) {
		memcpy(batch + i * *frame_len, header, h);
		memset(batch + i * *frame_len + h, 'x', size);
	}
	return batch;
}

/* Appends up to a batch of ready frames to tx without writing anything,
 * for the echo loop, which must never block on a send. */
static size_t append_batch(struct worker *w, const uint8_t *batch,
			   size_t frames, size_t frame_len, uint64_t sent)
{
	uint64_t n = frames;

	if (w->cfg->count && w->cfg->count - sent < n)
		n = w->cfg->count - sent;
	if (conn_channel_append_frames(w->c, batch, (size_t)n * frame_len))
		return 0;
	return (size_t)n;
}

/* Queues up to a batch (about BENCH_BATCH_BYTES) of messages one by one through
 * the core's API, no more than the count asks; the core decides when they
 * leave. */
static int queue_batch(struct worker *w, const uint8_t *payload,
		       uint64_t *sent)
{
	size_t size = w->cfg->size;
	uint64_t n = size + 4 >= BENCH_BATCH_BYTES ? 1 : BENCH_BATCH_BYTES / (size + 4);
	int rc = 0;

	if (w->cfg->count && w->cfg->count - *sent < n)
		n = w->cfg->count - *sent;
	for (; n > 0 && rc == 0; n--) {
		rc = conn_channel_queue(w->c, payload, size);
		*sent += rc == 0;
	}
	return rc;
}

static int stream_reply(struct worker *w, uint64_t sent)
{
	char reply[32];
	size_t len;
	int rc;

	keep_alive(w);
	rc = conn_channel_recv(w->c, &len, reply, sizeof(reply) - 1);
	if (rc)
		return worker_error(w, rc, "waiting for the sink's count");
	reply[len] = '\0';
	if (strtoull(reply, NULL, 10) != sent) {
		snprintf(w->detail, sizeof(w->detail), "the peer counted "
			 "%s messages of the %llu sent: is it a --sink peer?",
			 reply, (unsigned long long)sent);
		return CONN_EPROTO;
	}
	return 0;
}

/* Against a sink: every message queued, then our EOF, then its count. */
static int stream_sink(struct worker *w)
{
	uint8_t *payload = malloc(w->cfg->size + 1);
	uint64_t sent = 0;
	int rc = 0;

	if (payload == NULL)
		return CONN_ENOMEM;
	memset(payload, 'x', w->cfg->size);
	while (rc == 0 && !worker_finished(w, sent)) {
		keep_alive(w);
		rc = queue_batch(w, payload, &sent);
		worker_count(w, sent);
	}
	if (rc == 0)
		rc = conn_channel_shutdown(w->c);
	if (rc == 0)
		rc = stream_reply(w, sent);
	else
		worker_error(w, rc, "");
	w->end_ns = now_ns();
	free(payload);
	return rc;
}

/* -R: counts the source's messages until the count or the time is up
 * (looking at the clock and renewing the deadline every 256 messages),
 * then the connection closes and the source stops. */
static int stream_receive(struct worker *w)
{
	struct conn_piece p;
	uint64_t got = 0;
	int rc = 0;

	keep_alive(w);
	while (rc == 0) {
		if ((w->cfg->count || (got & 255) == 0) &&
		    worker_finished(w, got))
			break;
		if ((got & 255) == 0)
			keep_alive(w);
		rc = conn_channel_recv_piece(w->c, &p);
		if (rc == 0 && conn_piece_is_last(&p))
			worker_received(w, ++got);
	}
	if (rc)
		worker_error(w, rc, "");
	w->end_ns = now_ns();
	return rc;
}

/* Counts the whole messages now in rx. */
static int count_received(struct worker *w, uint64_t *received)
{
	struct conn_piece p;
	int rc;

	for (;;) {
		rc = conn_channel_take_piece(&p, w->c, SIZE_MAX);
		/* An early end of stream: echo_read() says what is missing. */
		if (rc == CONN_EAGAIN || rc == CONN_ERESET ||
		    rc == CONN_ETRUNC)
			return 0;
		if (rc)
			return rc;
		if (conn_piece_is_last(&p))
			(*received)++;
	}
}

struct echo_state {
	uint64_t sent, received;
	bool sending;
};

/* One turn of the echo loop's writing side: refill, write, or end. */
static int echo_write(struct worker *w, struct echo_state *s,
		      const uint8_t *batch, size_t frames, size_t frame_len)
{
	struct conn_channel *c = w->c;
	size_t n;

	if (conn_channel_queued(c) == 0) {
		if (worker_finished(w, s->sent)) {
			s->sending = false;
			return conn_channel_shutdown(c);
		}
		n = append_batch(w, batch, frames, frame_len, s->sent);
		if (n == 0)
			return CONN_ENOMEM;
		s->sent += n;
		worker_count(w, s->sent);
	}
	return conn_channel_write_some(c);
}

/* One turn of the reading side: take what came, count the echoes. */
static int echo_read(struct worker *w, struct echo_state *s)
{
	int rc = conn_channel_read_some(w->c);

	if (rc == CONN_EAGAIN)
		return 0;
	if (rc == 0)
		rc = count_received(w, &s->received);
	if (rc == 0 && conn_channel_peer_eof(w->c) && s->received < s->sent) {
		snprintf(w->detail, sizeof(w->detail), "the peer closed "
			 "after echoing %llu of %llu messages",
			 (unsigned long long)s->received,
			 (unsigned long long)s->sent);
		rc = CONN_ERESET;
	}
	return rc;
}

/*
 * Against an echo peer: send pipelined batches while reading the echoes,
 * polling both directions so neither side's socket queue can fill up
 * and block the other (no deadlock whatever the sizes).
 */
static int stream_echo(struct worker *w)
{
	size_t frames, frame_len;
	uint8_t *batch = make_batch(&frames, &frame_len, w->cfg->size);
	struct echo_state s = { .sending = true };
	struct pollfd pfd = { .fd = conn_channel_rfd(w->c) };
	int rc = 0;

	if (batch == NULL)
		return CONN_ENOMEM;
	while (rc == 0 && (s.sending || s.received < s.sent)) {
		if (s.sending)
			rc = echo_write(w, &s, batch, frames, frame_len);
		if (rc)
			break;
		pfd.events = POLLIN |
			     (s.sending && conn_channel_queued(w->c) ? POLLOUT
								     : 0);
		if (poll(&pfd, 1, IDLE_MS) == 0) {
			rc = worker_error(w, CONN_ETIMEDOUT, "");
			break;
		}
		if (stopped(w->cfg->stop) && !s.sending)
			break;
		rc = echo_read(w, &s);
		worker_received(w, s.received);
	}
	if (rc && !w->detail[0])
		worker_error(w, rc, "");
	w->end_ns = now_ns();
	worker_count(w, s.sent);
	free(batch);
	return rc;
}

/* Sends all of tx while taking in what arrives: a message larger than
 * the socket buffers comes back while we are still sending it, and an
 * echo peer blocked on a full queue would otherwise wait for us forever. */
static int send_reading(struct worker *w)
{
	struct conn_channel *c = w->c;
	struct pollfd pfd = { .fd = conn_channel_rfd(c),
			      .events = POLLIN | POLLOUT };
	int rc;

	for (;;) {
		rc = conn_channel_write_some(c);
		if (rc || conn_channel_queued(c) == 0)
			return rc;
		rc = wait_both(w, &pfd);
		if (rc == 0 && (pfd.revents & (POLLIN | POLLHUP)))
			rc = conn_channel_read_some(c);
		if (rc && rc != CONN_EAGAIN)
			return rc;
	}
}

/* Round trips: one message, its echo, the time between them. */
static int pingpong(struct worker *w)
{
	size_t frames, frame_len, len;
	uint8_t *frame = make_batch(&frames, &frame_len, w->cfg->size);
	uint8_t *echo = malloc(w->cfg->size + 1);
	uint64_t done = 0;
	int64_t t0;
	int rc = CONN_ENOMEM;

	if (frame == NULL || echo == NULL)
		goto done;
	for (rc = 0; rc == 0 && !worker_finished(w, done);) {
		keep_alive(w);
		t0 = now_ns();
		rc = conn_channel_append_frames(w->c, frame, frame_len);
		if (rc == 0)
			rc = send_reading(w);
		if (rc == 0)
			rc = conn_channel_recv(w->c, &len, echo,
					       w->cfg->size + 1);
		if (rc == 0)
			rc = add_sample(w, (uint64_t)(now_ns() - t0));
		worker_count(w, ++done);
	}
	if (rc)
		worker_error(w, rc, "");
done:
	w->end_ns = now_ns();
	free(frame);
	free(echo);
	return rc;
}

/* One connection: connect, authenticate, close. */
static int handshake_once(struct worker *w)
{
	int rc = worker_connect(w);

	conn_channel_free(w->c);
	w->c = NULL;
	return rc;
}

static int handshakes(struct worker *w)
{
	uint64_t done = 0;
	int64_t t0;
	int rc = 0;

	while (rc == 0 && !worker_finished(w, done)) {
		t0 = now_ns();
		rc = handshake_once(w);
		if (rc == 0)
			rc = add_sample(w, (uint64_t)(now_ns() - t0));
		worker_count(w, ++done);
	}
	w->end_ns = now_ns();
	return rc;
}

static int worker_run(struct worker *w)
{
	switch (w->cfg->workload) {
	case BENCH_STREAM:
		if (w->reverse)
			return stream_receive(w);
		return w->cfg->peer == BENCH_PEER_ECHO ? stream_echo(w)
						       : stream_sink(w);
	case BENCH_PINGPONG:
		return pingpong(w);
	default:
		return handshakes(w);
	}
}

/* Connections are set up before the gate; the clock starts after it,
 * for every worker at once. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc = 0;

	if (w->cfg->workload != BENCH_HANDSHAKE)
		rc = worker_connect(w);
	if (!gate_pass(w->gate) && rc == 0)
		rc = CONN_ENOMEM;
	w->start_ns = now_ns();
	w->end_ns = w->start_ns;
	if (rc == 0)
		rc = worker_run(w);
	w->rc = rc;
	__atomic_store_n(&w->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

/* ------------------------------------------------------------- results */

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The sample at or below which a fraction q of them lie. */
static uint64_t percentile(const uint64_t *s, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	return s[i ? (i > n ? n : i) - 1 : 0];
}

static int merge_latency(struct bench_result *r, struct worker *w,
			 unsigned n)
{
	size_t total = 0, k = 0;
	uint64_t *all;
	unsigned i;

	for (i = 0; i < n; i++)
		total += w[i].nsamples;
	if (total == 0)
		return 0;
	all = malloc(total * sizeof(*all));
	if (all == NULL)
		return CONN_ENOMEM;
	for (i = 0; i < n; i++) {
		memcpy(all + k, w[i].samples, w[i].nsamples * sizeof(*all));
		k += w[i].nsamples;
	}
	qsort(all, total, sizeof(*all), compare_u64);
	r->has_latency = true;
	r->latency_ns = (struct bench_latency){
		.p50 = percentile(all, total, 0.50),
		.p90 = percentile(all, total, 0.90),
		.p99 = percentile(all, total, 0.99),
		.p999 = percentile(all, total, 0.999),
		.max = all[total - 1],
	};
	free(all);
	return 0;
}

/* Totals over the workers; the time is from the first start to the last
 * end, so P connections share one clock. */
static int collect(struct bench_result *r, char *detail, size_t capacity,
		   struct worker *w, unsigned n)
{
	int64_t start = w[0].start_ns, end = w[0].end_ns;
	unsigned i;

	*r = (struct bench_result){ 0 };
	for (i = 0; i < n; i++) {
		if (w[i].rc) {
			snprintf(detail, capacity, "%s", w[i].detail);
			return w[i].rc;
		}
		r->messages += w[i].done;
		r->received += w[i].received;
		start = w[i].start_ns < start ? w[i].start_ns : start;
		end = w[i].end_ns > end ? w[i].end_ns : end;
	}
	r->seconds = (double)(end - start) / 1e9;
	r->streams = calloc(n, sizeof(*r->streams));
	if (r->streams == NULL)
		return CONN_ENOMEM;
	r->nstreams = n;
	for (i = 0; i < n; i++)
		r->streams[i] = (struct bench_stream){
			.id = w[i].id, .messages = w[i].done,
			.received = w[i].received,
			.start = (double)(w[i].start_ns - start) / 1e9,
			.end = (double)(w[i].end_ns - start) / 1e9,
		};
	if (w->cfg->workload != BENCH_HANDSHAKE) {
		r->bytes = r->messages * w->cfg->size;
		/* A round trip's echo is a message received too. */
		if (w->cfg->workload == BENCH_PINGPONG)
			r->received = r->messages;
		r->bytes_received = r->received * w->cfg->size;
	}
	return merge_latency(r, w, n);
}

/* ------------------------------------------------------------ the run */

/* How many workers are done; p's totals and live[] (p->streams) are
 * those of now. */
static unsigned workers_finished(struct worker *w, unsigned n,
				 struct bench_progress *p,
				 struct bench_stream *live)
{
	unsigned i, k = 0;

	p->messages = p->received = 0;
	for (i = 0; i < n; i++) {
		k += __atomic_load_n(&w[i].finished, __ATOMIC_ACQUIRE);
		live[i] = (struct bench_stream){
			.id = w[i].id,
			.messages = __atomic_load_n(&w[i].done,
						    __ATOMIC_RELAXED),
			.received = __atomic_load_n(&w[i].received,
						    __ATOMIC_RELAXED),
		};
		p->messages += live[i].messages;
		p->received += live[i].received;
	}
	p->nstreams = n;
	p->streams = live;
	return k;
}

/* The main thread waits for the workers, reporting progress every
 * interval (at the resolution of its tick: a late report is not followed
 * by catching-up ones); signals are for it alone (the workers block them). */
static void watch(struct worker *w, unsigned n, const struct bench_config *cfg,
		  struct bench_stream *live)
{
	int64_t every = cfg->interval_ms > 0 ? cfg->interval_ms : PROGRESS_MS;
	int64_t start = now_ns(), next = every, elapsed_ms;
	struct bench_progress p;

	while (workers_finished(w, n, &p, live) < n) {
		poll(NULL, 0, BENCH_TICK_MS);
		elapsed_ms = (now_ns() - start) / 1000000;
		if (cfg->progress && elapsed_ms >= next) {
			p.seconds = (double)(now_ns() - start) / 1e9;
			cfg->progress(cfg->progress_ctx, &p);
			while (next <= elapsed_ms)
				next += every;
		}
	}
}

static int start_workers(pthread_t *threads, unsigned *started,
			 struct worker *w, unsigned n)
{
	sigset_t block, old;
	int rc = 0;

	/* These fail only for a bad signal number or "how". */
	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGINT);
	(void)sigaddset(&block, SIGTERM);
	(void)pthread_sigmask(SIG_BLOCK, &block, &old);
	for (*started = 0; *started < n; (*started)++)
		if (pthread_create(&threads[*started], NULL, worker_main,
				   &w[*started])) {
			rc = CONN_ENOMEM;
			break;
		}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void free_workers(struct worker *w, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		conn_channel_free(w[i].c);
		free(w[i].samples);
	}
	free(w);
}

/* --bidir doubles the connections: the second half receive. */
static unsigned worker_count_for(const struct bench_config *cfg, bool *split)
{
	unsigned p = cfg->parallel ? cfg->parallel : 1;

	*split = cfg->workload == BENCH_STREAM &&
		 cfg->peer == BENCH_PEER_DUPLEX && cfg->bidir;
	return *split ? 2 * p : p;
}

int bench_run(struct bench_result *r, char *detail, size_t capacity,
	      const struct conn_address *a, const struct bench_config *cfg)
{
	bool split;
	unsigned n = worker_count_for(cfg, &split), started = 0, i;
	struct worker *w = calloc(n, sizeof(*w));
	pthread_t *threads = calloc(n, sizeof(*threads));
	struct bench_stream *live = calloc(n, sizeof(*live));
	struct gate gate = { PTHREAD_MUTEX_INITIALIZER,
			     PTHREAD_COND_INITIALIZER, 0, 0 };
	int rc = CONN_ENOMEM;

	*r = (struct bench_result){ 0 };
	if (w == NULL || threads == NULL || live == NULL)
		goto done;
	for (i = 0; i < n; i++)
		w[i] = (struct worker){
			.cfg = cfg, .a = a, .gate = &gate, .id = (int)i + 1,
			.reverse = cfg->workload == BENCH_STREAM &&
				   cfg->peer == BENCH_PEER_DUPLEX &&
				   (split ? i >= n / 2 : cfg->reverse),
		};
	rc = start_workers(threads, &started, w, n);
	gate_open(&gate, started, rc == 0);
	if (rc == 0)
		watch(w, n, cfg, live);
	else
		snprintf(detail, capacity, "cannot start %u threads", n);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (rc == 0)
		rc = collect(r, detail, capacity, w, n);
	if (rc)
		bench_result_free(r);
done:
	if (w)
		free_workers(w, n);
	free(threads);
	free(live);
	return rc;
}

void bench_result_free(struct bench_result *r)
{
	free(r->streams);
	r->streams = NULL;
	r->nstreams = 0;
}

