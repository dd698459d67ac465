/* conn-bench - measure throughput, latency and handshakes of conn-tools'
 * core, or of a peer that is already running. */
#include <config.h>

#include "tool.h"
#include "bench.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "conn-bench"
#define BUILTIN_KEY "conn-bench"	/* the handshake workload's default */
#define DEFAULT_SIZE 64
#define MAX_SIZE (1ull << 30)
#define DEFAULT_DURATION_MS 1000
#define MAX_PARALLEL 256
#define MAX_DURATION_S 86400
#define MAX_INTERVAL_S 3600
#define MAX_ROWS 16

enum transport { TRANSPORT_UNIX, TRANSPORT_TCP, TRANSPORT_COUNT };

static const char *const transport_names[TRANSPORT_COUNT] = {
	"unix", "tcp"
};

/* One line of the table: who was measured, how, and what came out. */
struct row {
	const char *peer;		/* "conn", "python" or "remote" */
	const char *transport;
	enum bench_workload workload;
	struct bench_result r;
};

/* What one -i interval of a row carried, over all its
 * connections or over one. */
struct interval {
	double start, end;		/* seconds since the workload began */
	uint64_t messages, bytes;
};

struct bench_cli {
	struct cli_options o;
	bool workloads[BENCH_WORKLOAD_COUNT];
	bool any_workload;
	bool transports[TRANSPORT_COUNT];
	bool any_transport;
	uint64_t size;
	int64_t duration_ms;
	int64_t interval_ms;		/* -i; 0 = none, -1 = not given */
	unsigned parallel;
	bool json, json_stream, vs_python;
	bool reverse, bidir;		/* -R, --bidir: the stream workload */
	const char *python_peer;
	char *key_text;			/* the key for the python peer */
	struct conn_key *builtin_key;
	char tmpdir[CONN_ADDRESS_PATH_MAX - 16];
	struct row rows[MAX_ROWS];
	size_t nrows;
	struct row *current;		/* for progress reports */
	struct bench_progress last;	/* the current row's last report */
	struct bench_stream last_streams[2 * MAX_PARALLEL];	/* its own */
	json_t *intervals;		/* --json -i: every interval's object */
	struct rusage self0, children0;	/* CPU used before the run */
	int64_t start_ms;		/* the run's start, for CPU shares */
	time_t started;			/* the run's start, wall clock */
	volatile sig_atomic_t *stop;
	bool tty;
	char detail[512];
};


/* For --help, --version and --list-options; conn-bench runs its own
 * session. */
static const struct tool_spec bench_spec = {
	.program = PROGRAM,
	.options = &cli_bench_options,
	.help_head =
"Usage: conn-bench [OPTION]... [ADDRESS]\n"
"Measure message throughput, round-trip latency and handshakes per second\n"
"of the multiprocessing.connection wire protocol.  Without ADDRESS, run our\n"
"own peer over a Unix socket and over TCP loopback; with ADDRESS, measure the\n"
"peer listening there (conn-listen --echo, or tools/bench-peer.py).\n"
"\n"
"Options:\n",
	.help_tail =
"\n"
"The handshake workload needs a key: without one it uses the built-in key\n"
"'" BUILTIN_KEY "'.  The key may also come from CONN_AUTHKEY (set but\n"
"empty, it is a usage error).\n"
"Exit status: 0 success, 1 local error, 2 usage, 3 connection,\n"
"4 authentication, 5 protocol, 6 timeout.\n"
"\n"
"Full documentation: man conn-bench\n",
};

/* --------------------------------------------------------------- output */

static void notice(const struct bench_cli *b, const char *fmt,
		   const char *arg)
{
	if (b->o.quiet)
		return;
	fprintf(stderr, PROGRAM ": ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

/* Latency in the unit that keeps three or four digits. */
static const char *format_ns(char *out, size_t capacity, uint64_t ns)
{
	if (ns < 10000)
		snprintf(out, capacity, "%.2fus", (double)ns / 1e3);
	else if (ns < 10000000)
		snprintf(out, capacity, "%.1fus", (double)ns / 1e3);
	else
		snprintf(out, capacity, "%.1fms", (double)ns / 1e6);
	return out;
}

static double rate(const struct bench_result *r, double what)
{
	return r->seconds > 0 ? what / r->seconds : 0;
}

/* The messages a stream moved: with -R or --bidir, those the peer sent
 * us count too (with -R they are all there is). */
static uint64_t moved(const struct bench_cli *b, enum bench_workload w,
		      uint64_t sent, uint64_t received)
{
	return w == BENCH_STREAM && (b->reverse || b->bidir)
	       ? sent + received : sent;
}

static double moved_rate(const struct bench_cli *b, const struct row *w)
{
	return rate(&w->r, (double)moved(b, w->workload, w->r.messages,
					 w->r.received));
}

static void print_header(void)
{
	printf("%-7s %-9s %-10s %8s %12s %10s %10s %10s %12s\n", "peer",
	       "transport", "workload", "size", "messages/s", "MB/s", "p50",
	       "p99", "handshakes/s");
}

static void print_row(const struct bench_cli *b, const struct row *w)
{
	char p50[24] = "-", p99[24] = "-", msgs[24] = "-", mb[24] = "-",
	     hs[24] = "-", sz[24] = "-";
	const struct bench_result *r = &w->r;

	if (r->has_latency) {
		format_ns(p50, sizeof(p50), r->latency_ns.p50);
		format_ns(p99, sizeof(p99), r->latency_ns.p99);
	}
	if (w->workload == BENCH_HANDSHAKE) {
		snprintf(hs, sizeof(hs), "%.0f", rate(r, (double)r->messages));
	} else {
		snprintf(sz, sizeof(sz), "%llu", (unsigned long long)b->size);
		snprintf(msgs, sizeof(msgs), "%.0f", moved_rate(b, w));
		snprintf(mb, sizeof(mb), "%.1f",
			 moved_rate(b, w) * (double)b->size / 1e6);
	}
	printf("%-7s %-9s %-10s %8s %12s %10s %10s %10s %12s\n", w->peer,
	       w->transport, bench_workload_name(w->workload), sz, msgs, mb,
	       p50, p99, hs);
}

static const struct row *find_row(const struct bench_cli *b,
				  const char *peer, const struct row *like)
{
	size_t i;

	for (i = 0; i < b->nrows; i++)
		if (strcmp(b->rows[i].peer, peer) == 0 &&
		    strcmp(b->rows[i].transport, like->transport) == 0 &&
		    b->rows[i].workload == like->workload)
			return &b->rows[i];
	return NULL;
}

/* ours / python, of the rate that matters for each workload. */
static void print_ratios(const struct bench_cli *b)
{
	const struct row *py;
	size_t i;

	for (i = 0; i < b->nrows; i++) {
		if (strcmp(b->rows[i].peer, "conn"))
			continue;
		py = find_row(b, "python", &b->rows[i]);
		if (py == NULL || py->r.messages == 0 ||
		    b->rows[i].r.seconds <= 0)
			continue;
		printf("ratio ours/python %-5s %-10s %6.2fx %s\n",
		       b->rows[i].transport,
		       bench_workload_name(b->rows[i].workload),
		       rate(&b->rows[i].r, (double)b->rows[i].r.messages) /
		       rate(&py->r, (double)py->r.messages),
		       b->rows[i].workload == BENCH_HANDSHAKE ? "handshakes/s"
		       : b->rows[i].workload == BENCH_PINGPONG ? "round trips/s"
		       : "messages/s");
	}
}

static void print_table(const struct bench_cli *b)
{
	size_t i;

	if (b->o.address)
		printf("remote peer: %s\n", b->o.address);
	print_header();
	for (i = 0; i < b->nrows; i++)
		print_row(b, &b->rows[i]);
	if (b->vs_python)
		print_ratios(b);
}

/* ----------------------------------------------------------------- JSON */

static const char *remote_transport(const struct bench_cli *b);

/* iperf3's "timestamp": the start, in RFC 1123 form and in seconds. */
static json_t *json_timestamp(const struct bench_cli *b)
{
	char text[64] = "";
	struct tm tm;

	if (gmtime_r(&b->started, &tm))
		strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return json_pack("{s:s, s:I}", "time", text,
			 "timesecs", (json_int_t)b->started);
}

/* iperf3's "system_info": uname -a's fields. */
static json_t *json_system_info(void)
{
	struct utsname u;
	char text[5 * sizeof(u.sysname) + 8];

	if (uname(&u))
		return json_string("");
	snprintf(text, sizeof(text), "%s %s %s %s %s", u.sysname, u.nodename,
		 u.release, u.version, u.machine);
	return json_string(text);
}

/* iperf3's "connecting_to": ADDRESS's host and port (a Unix socket's
 * path as the host, port 0). */
static json_t *json_connecting_to(const struct bench_cli *b)
{
	struct conn_address a;

	if (conn_address_parse(&a, b->o.address, strlen(b->o.address)))
		return json_pack("{s:s, s:i}", "host", b->o.address, "port", 0);
	if (a.kind == CONN_ADDRESS_TCP)
		return json_pack("{s:s, s:i}", "host", a.host,
				 "port", atoi(a.port));
	return json_pack("{s:s, s:i}", "host", a.path, "port", 0);
}

static json_t *json_test_start(const struct bench_cli *b)
{
	char protocol[16];
	int i;

	protocol[0] = '\0';
	if (b->o.address)
		snprintf(protocol, sizeof(protocol), "%s", remote_transport(b));
	for (i = 0; i < TRANSPORT_COUNT && !b->o.address; i++)
		if (b->transports[i])
			snprintf(protocol + strlen(protocol),
				 sizeof(protocol) - strlen(protocol), "%s%s",
				 protocol[0] ? "," : "", transport_names[i]);
	return json_pack("{s:s, s:i, s:I, s:f, s:I, s:i, s:i}",
			 "protocol", protocol, "num_streams", (int)b->parallel,
			 "blksize", (json_int_t)b->size,
			 "duration", b->o.count ? 0.0
				     : (double)b->duration_ms / 1e3,
			 "blocks", (json_int_t)b->o.count,
			 "reverse", (int)b->reverse, "bidir", (int)b->bidir);
}

static json_t *json_start(const struct bench_cli *b)
{
	json_t *w = json_array(), *t = json_array();
	int i;

	for (i = 0; i < BENCH_WORKLOAD_COUNT; i++)
		if (b->workloads[i])
			json_array_append_new(w, json_string(
				bench_workload_name((enum bench_workload)i)));
	for (i = 0; i < TRANSPORT_COUNT && !b->o.address; i++)
		if (b->transports[i])
			json_array_append_new(t,
					      json_string(transport_names[i]));
	return json_pack("{s:s, s:s?, s:o, s:o, s:I, s:I, s:f, s:i, s:b, "
			 "s:b, s:s}",
			 "version", PACKAGE_VERSION, "address", b->o.address,
			 "workloads", w, "transports", t,
			 "size", (json_int_t)b->size,
			 "count", (json_int_t)b->o.count,
			 "duration", b->o.count ? 0.0
				     : (double)b->duration_ms / 1e3,
			 "parallel", (int)b->parallel,
			 "authkey", b->o.key != NULL,
			 "vs_python", b->vs_python,
			 "digest", conn_digest_name(b->o.digest));
}

/* start's iperf3 members after ours. */
static json_t *json_start_iperf3(const struct bench_cli *b)
{
	json_t *j = json_start(b);

	json_object_set_new(j, "timestamp", json_timestamp(b));
	if (b->o.address)
		json_object_set_new(j, "connecting_to", json_connecting_to(b));
	json_object_set_new(j, "system_info", json_system_info());
	json_object_set_new(j, "test_start", json_test_start(b));
	return j;
}

static json_t *json_sum(uint64_t bytes, double seconds)
{
	return json_pack("{s:f, s:f, s:I, s:f}", "start", 0.0,
			 "seconds", seconds, "bytes", (json_int_t)bytes,
			 "bits_per_second",
			 seconds > 0 ? (double)bytes * 8 / seconds : 0.0);
}

static double tv_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The percent of the run's wall time that now's CPU times, less then's,
 * make: user, system and their total. */
static void cpu_share(double out[3], const struct rusage *now,
		      const struct rusage *then, double wall)
{
	out[0] = tv_seconds(now->ru_utime) - tv_seconds(then->ru_utime);
	out[1] = tv_seconds(now->ru_stime) - tv_seconds(then->ru_stime);
	out[0] = wall > 0 ? out[0] * 100 / wall : 0;
	out[1] = wall > 0 ? out[1] * 100 / wall : 0;
	out[2] = out[0] + out[1];
}

/* iperf3's cpu_utilization_percent: ours from getrusage() of all our
 * threads; the peer's, when it is ours (forked and waited for, or the
 * python child), from getrusage() of our children. */
static json_t *json_cpu(const struct bench_cli *b)
{
	double wall = (double)(conn_clock_ms() - b->start_ms) / 1e3;
	double host[3], remote[3];
	struct rusage self, children;
	json_t *j;

	if (getrusage(RUSAGE_SELF, &self) || getrusage(RUSAGE_CHILDREN,
							&children))
		return json_null();
	cpu_share(host, &self, &b->self0, wall);
	cpu_share(remote, &children, &b->children0, wall);
	j = json_pack("{s:f, s:f, s:f}", "host_total", host[2],
		      "host_user", host[0], "host_system", host[1]);
	if (!b->o.address)
		json_object_update_new(j, json_pack(
			"{s:f, s:f, s:f}", "remote_total", remote[2],
			"remote_user", remote[0], "remote_system", remote[1]));
	return j;
}

static struct interval stream_total(const struct bench_cli *b,
				    const struct row *w,
				    const struct bench_stream *s);
static json_t *json_stream(int id, const struct interval *iv);

/* end's "streams": every row's connections, each with its row's names. */
static json_t *json_end_streams(const struct bench_cli *b)
{
	json_t *all = json_array(), *j;
	const struct row *w;
	struct interval iv;
	unsigned k;
	size_t i;

	for (i = 0; i < b->nrows; i++) {
		w = &b->rows[i];
		for (k = 0; k < w->r.nstreams; k++) {
			j = json_pack("{s:s, s:s, s:s}", "peer", w->peer,
				      "transport", w->transport, "workload",
				      bench_workload_name(w->workload));
			iv = stream_total(b, w, &w->r.streams[k]);
			json_object_update_new(j, json_stream(
				w->r.streams[k].id, &iv));
			json_array_append_new(all, j);
		}
	}
	return all;
}

/* iperf3's "end": every connection's totals, the bytes of every row,
 * sent and received, over the rows' time, and the CPU used. */
static json_t *json_end(const struct bench_cli *b)
{
	uint64_t sent = 0, received = 0;
	double seconds = 0;
	size_t i;

	for (i = 0; i < b->nrows; i++) {
		sent += b->rows[i].r.bytes;
		received += b->rows[i].r.bytes_received;
		seconds += b->rows[i].r.seconds;
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o}",
			 "streams", json_end_streams(b),
			 "sum_sent", json_sum(sent, seconds),
			 "sum_received", json_sum(received, seconds),
			 "sum", json_sum(sent + received, seconds),
			 "cpu_utilization_percent", json_cpu(b));
}

/* The run's error for JSON: what the exit's message says. */
static const char *run_error(const struct bench_cli *b, int rc)
{
	return b->detail[0] ? b->detail : conn_strerror(rc);
}

static json_t *json_result(const struct bench_cli *b, const struct row *w)
{
	const struct bench_result *r = &w->r;
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:f}",
			      "peer", w->peer, "transport", w->transport,
			      "workload", bench_workload_name(w->workload),
			      "size", (json_int_t)(w->workload ==
						   BENCH_HANDSHAKE ? 0
						   : b->size),
			      "messages", (json_int_t)r->messages,
			      "seconds", r->seconds,
			      "messages_per_second", moved_rate(b, w),
			      "mb_per_second",
			      w->workload == BENCH_HANDSHAKE ? 0.0
			      : moved_rate(b, w) * (double)b->size / 1e6);

	if (w->workload == BENCH_STREAM && (b->reverse || b->bidir))
		json_object_set_new(j, "received",
				    json_integer((json_int_t)r->received));

	if (w->workload == BENCH_HANDSHAKE)
		json_object_set_new(j, "handshakes_per_second",
				    json_real(rate(r, (double)r->messages)));
	if (r->has_latency)
		json_object_set_new(j, "latency_ns", json_pack(
			"{s:I, s:I, s:I, s:I, s:I}",
			"p50", (json_int_t)r->latency_ns.p50,
			"p90", (json_int_t)r->latency_ns.p90,
			"p99", (json_int_t)r->latency_ns.p99,
			"p999", (json_int_t)r->latency_ns.p999,
			"max", (json_int_t)r->latency_ns.max));
	return j;
}

/* Prints j on one line and frees it. */
static void json_line(json_t *j)
{
	bench_json_print(stdout, j, 0);
	json_decref(j);
	/* Each event as it happens; a write error stays in ferror(stdout),
	 * which main() looks at in the end. */
	(void)fflush(stdout);
}

static void json_event(const char *event, json_t *fields)
{
	json_t *j = json_pack("{s:s}", "event", event);

	if (fields)
		json_object_update(j, fields);
	json_decref(fields);
	json_line(j);
}

static void print_json(const struct bench_cli *b, int rc)
{
	json_t *results = json_array(), *doc;
	size_t i;

	for (i = 0; i < b->nrows; i++)
		json_array_append_new(results, json_result(b, &b->rows[i]));
	doc = json_pack("{s:o, s:o, s:O, s:o}", "start", json_start_iperf3(b),
			"results", results, "intervals", b->intervals,
			"end", json_end(b));
	if (rc)
		json_object_set_new(doc, "error",
				    json_string(run_error(b, rc)));
	bench_json_print(stdout, doc, 2);
	json_decref(doc);
}

/* ------------------------------------------------------------- progress */

static double interval_bps(const struct interval *iv)
{
	double s = iv->end - iv->start;

	return s > 0 ? (double)iv->bytes * 8 / s : 0;
}

static json_t *json_span(const struct interval *iv)
{
	return json_pack("{s:f, s:f, s:f, s:I, s:f, s:I}",
			 "start", iv->start, "end", iv->end,
			 "seconds", iv->end - iv->start,
			 "bytes", (json_int_t)iv->bytes,
			 "bits_per_second", interval_bps(iv),
			 "messages", (json_int_t)iv->messages);
}

/* The messages and bytes one connection moved, less those of then (NULL:
 * from the start), between start and end. */
static struct interval stream_span(const struct bench_cli *b,
				   const struct row *w,
				   const struct bench_stream *now,
				   const struct bench_stream *then,
				   double start, double end)
{
	struct interval iv = {
		.start = start, .end = end,
		.messages = moved(b, w->workload, now->messages,
				  now->received) -
			    (then ? moved(b, w->workload, then->messages,
					  then->received) : 0),
	};

	if (w->workload != BENCH_HANDSHAKE)
		iv.bytes = iv.messages * b->size;
	return iv;
}

/* A connection's whole run, for end's streams. */
static struct interval stream_total(const struct bench_cli *b,
				    const struct row *w,
				    const struct bench_stream *s)
{
	return stream_span(b, w, s, NULL, s->start, s->end);
}

/* iperf3's stream object: its socket (our id), then the span's figures. */
static json_t *json_stream(int id, const struct interval *iv)
{
	json_t *j = json_pack("{s:i}", "socket", id);

	json_object_update_new(j, json_span(iv));
	return j;
}

static json_t *json_interval(const struct row *w, json_t *streams,
			     const struct interval *sum)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o}",
			 "peer", w->peer, "transport", w->transport,
			 "workload", bench_workload_name(w->workload),
			 "streams", streams, "sum", json_span(sum));
}

/* v scaled to the largest of K, M, G (of base) that keeps it >= 1. */
static const char *scaled(char *out, size_t capacity, double v,
			  double base, const char *unit)
{
	static const char prefix[] = " KMG";
	int i = 0;

	while (i < 3 && v >= base) {
		v /= base;
		i++;
	}
	snprintf(out, capacity, "%.*f %s%s", v < 100 ? 2 : 0, v,
		 i ? (char[]){ prefix[i], '\0' } : "", unit);
	return out;
}

/* iperf3's interval line, of one connection ("  5") or all ("SUM"):
 * Transfer in powers of 1024, Bitrate of 1000. */
static void print_interval(const char *id, const struct row *w,
			   const struct interval *iv)
{
	char transfer[32], bitrate[32];

	printf("[%3s] %6.2f-%-6.2f sec  %-12s  %-15s  %8llu  %s %s %s\n",
	       id, iv->start, iv->end,
	       scaled(transfer, sizeof(transfer), (double)iv->bytes, 1024,
		      "Bytes"),
	       scaled(bitrate, sizeof(bitrate), interval_bps(iv), 1000,
		      "bits/sec"),
	       (unsigned long long)iv->messages, w->peer, w->transport,
	       bench_workload_name(w->workload));
}

/* The header before a workload's first interval; between intervals of
 * several connections, iperf3's dashed line. */
static void print_interval_head(unsigned streams, double start)
{
	if (start == 0)
		printf("[ ID] Interval           Transfer      Bitrate"
		       "          Messages  Workload\n");
	else if (streams > 1)
		printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n");
}

/* An interval report: a line per connection and (of several) their sum,
 * or its JSON object, or its event. */
static void report_interval(struct bench_cli *b, const struct row *w,
			    const struct bench_progress *p)
{
	bool lines = !b->json_stream && !b->json;
	struct interval sum = {
		.start = b->last.seconds, .end = p->seconds,
		.messages = moved(b, w->workload, p->messages, p->received) -
			    moved(b, w->workload, b->last.messages,
				  b->last.received),
	};
	json_t *streams = json_array();
	struct interval iv;
	char id[16];
	unsigned i, n = p->nstreams;

	if (w->workload != BENCH_HANDSHAKE)
		sum.bytes = sum.messages * b->size;
	if (n > 2 * MAX_PARALLEL)
		n = 2 * MAX_PARALLEL;
	if (lines)
		print_interval_head(n, sum.start);
	for (i = 0; i < n; i++) {
		iv = stream_span(b, w, &p->streams[i], &b->last_streams[i],
				 sum.start, sum.end);
		b->last_streams[i] = p->streams[i];
		if (lines) {
			snprintf(id, sizeof(id), "%d", p->streams[i].id);
			print_interval(id, w, &iv);
			continue;
		}
		json_array_append_new(streams,
				      json_stream(p->streams[i].id, &iv));
	}
	b->last = *p;
	b->last.streams = NULL;		/* ours is last_streams */
	if (lines && n > 1)
		print_interval("SUM", w, &sum);
	if (lines)
		json_decref(streams);
	else if (b->json_stream)
		json_event("interval", json_pack("{s:o}", "data",
						 json_interval(w, streams,
							       &sum)));
	else
		json_array_append_new(b->intervals,
				      json_interval(w, streams, &sum));
}

static void on_progress(void *ctx, const struct bench_progress *p)
{
	struct bench_cli *b = ctx;
	const struct row *w = b->current;

	/* Without -i, --json-stream has an interval a second, as before. */
	bool intervals = b->interval_ms > 0 ||
			 (b->interval_ms < 0 && b->json_stream);
	bool lines = intervals && !b->json && !b->json_stream;

	if (intervals)
		report_interval(b, w, p);
	if (b->tty && !b->o.quiet && !lines)
		fprintf(stderr, PROGRAM ": %s %s %s: %.0f s, %llu done, "
			"%.0f/s\n", w->peer, w->transport,
			bench_workload_name(w->workload), p->seconds,
			(unsigned long long)p->messages,
			p->seconds > 0 ? (double)p->messages / p->seconds : 0);
}

/* ----------------------------------------------------------------- runs */

/* The key a workload authenticates with (NULL: none). */
static const struct conn_key *workload_key(const struct bench_cli *b,
					   enum bench_workload w)
{
	if (b->o.key)
		return b->o.key;
	return w == BENCH_HANDSHAKE ? b->builtin_key : NULL;
}

static struct bench_auth workload_auth(const struct bench_cli *b,
				       enum bench_workload w)
{
	return (struct bench_auth){
		.key = workload_key(b, w), .digest = b->o.digest,
		.flags = b->o.auth_flags,
		.timeout_ms = b->o.handshake_timeout_ms,
	};
}

static struct bench_config workload_config(struct bench_cli *b,
					   enum bench_workload w,
					   enum bench_peer_kind peer)
{
	return (struct bench_config){
		.workload = w, .peer = peer, .size = (size_t)b->size,
		.count = b->o.count, .duration_ms = b->duration_ms,
		.interval_ms = b->interval_ms > 0 ? b->interval_ms : 0,
		.reverse = b->reverse, .bidir = b->bidir,
		.parallel = b->parallel, .auth = workload_auth(b, w),
		.family = b->o.family, .stop = b->stop,
		.progress = on_progress, .progress_ctx = b,
	};
}

/* Runs workload w against address and keeps its row. */
static int measure(struct bench_cli *b, const char *peer,
		   const char *transport, const char *address,
		   enum bench_workload w, enum bench_peer_kind kind)
{
	struct bench_config cfg = workload_config(b, w, kind);
	struct row *row = &b->rows[b->nrows];
	struct conn_address a;
	char detail[400] = "";
	int rc;

	*row = (struct row){ .peer = peer, .transport = transport,
			     .workload = w };
	b->current = row;
	b->last = (struct bench_progress){ 0 };
	memset(b->last_streams, 0, sizeof(b->last_streams));
	rc = conn_address_from_text(&a, detail, sizeof(detail), address);
	if (rc == 0)
		rc = bench_run(&row->r, detail, sizeof(detail), &a, &cfg);
	if (rc) {
		snprintf(b->detail, sizeof(b->detail), "%s %s %s: %s", peer,
			 transport, bench_workload_name(w),
			 detail[0] ? detail : conn_strerror(rc));
		return rc;
	}
	b->nrows++;
	if (b->json_stream)
		json_event("result", json_result(b, row));
	return 0;
}

/* The address our peer or the python peer listens on, per transport. */
static void peer_address(char *out, size_t capacity,
			 const struct bench_cli *b, enum transport t,
			 const char *who)
{
	if (t == TRANSPORT_TCP)
		snprintf(out, capacity, "127.0.0.1:0");
	else
		snprintf(out, capacity, "%s/%s.sock", b->tmpdir, who);
}

static int measure_ours(struct bench_cli *b, enum transport t,
			enum bench_workload w)
{
	bool duplex = w == BENCH_STREAM && (b->reverse || b->bidir);
	enum bench_peer_kind kind = duplex ? BENCH_PEER_DUPLEX
				    : w == BENCH_STREAM ? BENCH_PEER_SINK
				    : BENCH_PEER_ECHO;
	struct bench_peer_config pc = {
		.kind = kind, .size = (size_t)b->size,
		.workers = b->parallel * (duplex && b->bidir ? 2 : 1),
		.auth = workload_auth(b, w), .family = b->o.family,
	};
	struct bench_peer *p = NULL;
	struct conn_address a;
	char address[CONN_ADDRESS_PATH_MAX + 32];
	int rc;

	peer_address(address, sizeof(address), b, t, "conn");
	rc = conn_address_from_text(&a, b->detail, sizeof(b->detail), address);
	if (rc == 0)
		rc = bench_peer_start(&p, b->detail, sizeof(b->detail), &a,
				      &pc);
	if (rc == 0)
		rc = measure(b, "conn", transport_names[t], bench_peer_name(p),
			     w, kind);
	bench_peer_stop(p);
	return rc;
}

static const char *python(void)
{
	const char *p = getenv("PYTHON");

	return p && p[0] ? p : "python3";
}

static int measure_python(struct bench_cli *b, enum transport t,
			  enum bench_workload w)
{
	enum bench_peer_kind kind = w == BENCH_STREAM ? BENCH_PEER_SINK
						      : BENCH_PEER_ECHO;
	const char *key = b->o.key ? b->key_text
		: w == BENCH_HANDSHAKE ? BUILTIN_KEY : NULL;
	struct bench_peer *p = NULL;
	char address[CONN_ADDRESS_PATH_MAX + 32];
	int rc;

	peer_address(address, sizeof(address), b, t, "python");
	rc = bench_python_start(&p, b->detail, sizeof(b->detail), python(),
				b->python_peer, address, kind, key);
	if (rc == 0)
		rc = measure(b, "python", transport_names[t],
			     bench_peer_name(p), w, kind);
	bench_peer_stop(p);
	if (t == TRANSPORT_UNIX)
		(void)unlink(address);	/* python leaves it when killed */
	return rc;
}

static int run_self_contained(struct bench_cli *b)
{
	int t, w, rc = 0;

	for (t = 0; rc == 0 && t < TRANSPORT_COUNT; t++)
		for (w = 0; rc == 0 && w < BENCH_WORKLOAD_COUNT; w++) {
			if (!b->transports[t] || !b->workloads[w] ||
			    *b->stop)
				continue;
			rc = measure_ours(b, (enum transport)t,
					  (enum bench_workload)w);
			if (rc == 0 && b->vs_python && !*b->stop)
				rc = measure_python(b, (enum transport)t,
						    (enum bench_workload)w);
		}
	return rc;
}

/* "tcp" or "unix" for ADDRESS (an unparsable one fails later). */
static const char *remote_transport(const struct bench_cli *b)
{
	struct conn_address a;

	if (conn_address_parse(&a, b->o.address, strlen(b->o.address)) == 0
	    && a.kind != CONN_ADDRESS_TCP)
		return transport_names[TRANSPORT_UNIX];
	return transport_names[TRANSPORT_TCP];
}

static int run_remote(struct bench_cli *b)
{
	int w, rc = 0;

	for (w = 0; rc == 0 && w < BENCH_WORKLOAD_COUNT; w++)
		if (b->workloads[w] && !*b->stop)
			rc = measure(b, "remote", remote_transport(b),
				     b->o.address,
				     (enum bench_workload)w, BENCH_PEER_ECHO);
	return rc;
}

/* -------------------------------------------------------------- set-up */

static bool readable(const char *path)
{
	return path && access(path, R_OK) == 0;
}

/* True when we run as the build tree's own binary, not an installed (or
 * copied) one: only then is the source tree ours to look into. */
static bool running_in_build_tree(void)
{
	char exe[PATH_MAX], built[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0 || realpath(BUILD_TREE_BINARY, built) == NULL)
		return false;
	exe[n] = '\0';
	return strcmp(exe, built) == 0;
}

/* --python-peer, $CONN_BENCH_PEER, the installed copy in the package's
 * data directory, or for an uninstalled build the source tree's: an
 * installed conn-bench never picks up a tools/bench-peer.py near it. */
static int find_python_peer(struct bench_cli *b)
{
	if (!b->python_peer)
		b->python_peer = getenv("CONN_BENCH_PEER");
	if (b->python_peer) {
		if (readable(b->python_peer))
			return 0;
		snprintf(b->detail, sizeof(b->detail), "cannot read the "
			 "python peer %s: %s", b->python_peer,
			 strerror(errno));
		return CONN_EINVAL;
	}
	if (readable(PKGDATADIR "/bench-peer.py")) {
		b->python_peer = PKGDATADIR "/bench-peer.py";
		return 0;
	}
	if (running_in_build_tree() && readable(SOURCE_BENCH_PEER)) {
		b->python_peer = SOURCE_BENCH_PEER;
		return 0;
	}
	snprintf(b->detail, sizeof(b->detail), "--vs-python: cannot find "
		 "bench-peer.py: give --python-peer=FILE or CONN_BENCH_PEER");
	return CONN_EINVAL;
}

/* The key as text for the python peer, which gets it in its
 * environment: from --authkey (copied before it is wiped), the key
 * file, or CONN_AUTHKEY. */
static int python_key_text(struct bench_cli *b)
{
	const char *env = getenv("CONN_AUTHKEY");
	FILE *f;
	size_t n;
	bool failed;
	char buf[4096];

	if (b->key_text || b->o.key == NULL)
		return 0;
	if (b->o.authkey_file == NULL) {
		b->key_text = strdup(env ? env : "");
		return b->key_text ? 0 : CONN_ENOMEM;
	}
	f = fopen(b->o.authkey_file, "r");
	if (f == NULL)
		return CONN_EINVAL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	failed = ferror(f);
	(void)fclose(f);	/* read only: nothing is lost */
	if (failed) {	/* as a file that cannot be opened */
		explicit_bzero(buf, sizeof(buf));
		return CONN_EINVAL;
	}
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	b->key_text = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return b->key_text ? 0 : CONN_ENOMEM;
}

static int make_tmpdir(struct bench_cli *b)
{
	const char *tmp = getenv("TMPDIR");

	/* A socket path must fit in sun_path: a long TMPDIR is passed by. */
	if (!tmp || !tmp[0] || strlen(tmp) + 20 >= sizeof(b->tmpdir))
		tmp = "/tmp";
	snprintf(b->tmpdir, sizeof(b->tmpdir), "%s/conn-bench.XXXXXX", tmp);
	if (mkdtemp(b->tmpdir))
		return 0;
	snprintf(b->detail, sizeof(b->detail), "cannot make a directory "
		 "for the Unix sockets: %s", strerror(errno));
	b->tmpdir[0] = '\0';
	return CONN_EIO;
}

/* Which workloads run, and the notices about keys. */
static void plan(struct bench_cli *b)
{
	int i;

	if (!b->any_workload) {
		for (i = 0; i < BENCH_WORKLOAD_COUNT; i++)
			b->workloads[i] = true;
		/* A remote peer without a key has no handshake to measure. */
		if (b->o.address && !b->o.key) {
			b->workloads[BENCH_HANDSHAKE] = false;
			notice(b, "%s", "no key: the handshake workload is "
			       "skipped (-w handshake uses the built-in key '"
			       BUILTIN_KEY "')");
		}
	}
	if (!b->any_transport)
		for (i = 0; i < TRANSPORT_COUNT; i++)
			b->transports[i] = true;
	if (b->workloads[BENCH_HANDSHAKE] && !b->o.key)
		notice(b, "%s", "handshake: no key given, using the built-in "
		       "benchmark key '" BUILTIN_KEY "'");
}

static int run(struct bench_cli *b)
{
	int rc = 0;

	if (!b->o.address)
		rc = make_tmpdir(b);
	if (rc == 0 && b->vs_python)
		rc = find_python_peer(b);
	if (rc == 0 && b->vs_python)
		rc = python_key_text(b);
	b->started = time(NULL);
	b->start_ms = conn_clock_ms();
	if (getrusage(RUSAGE_SELF, &b->self0) ||
	    getrusage(RUSAGE_CHILDREN, &b->children0))
		rc = CONN_EIO;	/* only for a bad "who" */
	if (rc == 0 && b->json_stream)
		json_event("start", json_pack("{s:o}", "start",
					      json_start_iperf3(b)));
	if (rc == 0)
		rc = b->o.address ? run_remote(b) : run_self_contained(b);
	if (b->tmpdir[0])
		rmdir(b->tmpdir);
	if (b->json_stream && rc)
		json_event("error", json_pack("{s:s}", "data",
					      run_error(b, rc)));
	if (b->json_stream)
		json_event("end", json_pack("{s:o}", "data", json_end(b)));
	else if (b->json)
		print_json(b, rc);
	else if (b->nrows)
		print_table(b);
	return rc;
}

/* ------------------------------------------------------------ options */

static int usage_error(struct bench_cli *b, const char *fmt, const char *arg)
{
	snprintf(b->detail, sizeof(b->detail), fmt, arg);
	return CONN_EINVAL;
}

static int set_workload(struct bench_cli *b, const char *name)
{
	enum bench_workload w;

	if (bench_workload_from_name(&w, name))
		return usage_error(b, "unknown workload '%s' (stream, "
				   "pingpong, handshake)", name);
	b->workloads[w] = true;
	b->any_workload = true;
	return 0;
}

static int set_transport(struct bench_cli *b, const char *name)
{
	int i;

	for (i = 0; i < TRANSPORT_COUNT; i++)
		if (strcmp(name, transport_names[i]) == 0) {
			b->transports[i] = true;
			b->any_transport = true;
			return 0;
		}
	return usage_error(b, "unknown transport '%s' (unix, tcp)", name);
}

static int set_parallel(struct bench_cli *b, const char *arg)
{
	uint64_t n;
	int rc = cli_option_size(b->detail, sizeof(b->detail), &n,
				 "--parallel", arg, 1, MAX_PARALLEL,
				 "1 to 256");

	if (rc == 0)
		b->parallel = (unsigned)n;
	return rc;
}

/* Our own options; CONN_EAGAIN for the shared ones. */
static int set_option(struct bench_cli *b, int code, char *arg)
{
	switch (code) {
	case CLI_OPT_WORKLOAD:
		return set_workload(b, arg);
	case CLI_OPT_TRANSPORT:
		return set_transport(b, arg);
	case CLI_OPT_PARALLEL:
		return set_parallel(b, arg);
	case CLI_OPT_SIZE:
		return cli_option_size(b->detail, sizeof(b->detail), &b->size,
				       "--size", arg, 0, MAX_SIZE, NULL);
	case CLI_OPT_DURATION:
		return cli_option_seconds(b->detail, sizeof(b->detail),
					  &b->duration_ms, "--duration", arg,
					  1, MAX_DURATION_S);
	case CLI_OPT_INTERVAL:
		return cli_option_seconds(b->detail, sizeof(b->detail),
					  &b->interval_ms, "--interval", arg,
					  0, MAX_INTERVAL_S);
	case CLI_OPT_REVERSE:
		b->reverse = true;
		return 0;
	case CLI_OPT_BIDIR:
		b->bidir = true;
		return 0;
	case CLI_OPT_JSON:
		b->json = true;
		return 0;
	case CLI_OPT_JSON_STREAM:
		b->json_stream = true;
		return 0;
	case CLI_OPT_VS_PYTHON:
		b->vs_python = true;
		return 0;
	case CLI_OPT_PYTHON_PEER:
		b->python_peer = arg;
		return 0;
	case CLI_OPT_AUTHKEY:
		/* The python peer needs the text, which the core wipes. */
		free(b->key_text);
		b->key_text = strdup(arg);
		return cli_options_set(&b->o, code, arg);
	default:
		return CONN_EAGAIN;
	}
}

static int check_options(struct bench_cli *b, int argc, char **argv)
{
	static char *no_address[] = { "-", NULL };
	int rc;

	if (b->json && b->json_stream)
		return usage_error(b, "%s", "cannot use --json with "
				   "--json-stream");
	if (b->reverse && b->bidir)
		return usage_error(b, "%s", "cannot use --reverse with --bidir");
	if ((b->reverse || b->bidir) && b->vs_python)
		return usage_error(b, "cannot use %s with --vs-python",
				   b->reverse ? "--reverse" : "--bidir");
	if (argc >= 1 && b->reverse)
		return usage_error(b, "%s", "cannot use --reverse with ADDRESS "
				   "(an echo peer sends only what it gets; "
				   "--bidir counts the echoes)");
	if (argc >= 1 && (b->any_transport || b->vs_python))
		return usage_error(b, "cannot use %s with ADDRESS",
				   b->vs_python ? "--vs-python"
						: "--transport");
	/* ADDRESS is optional here: the shared checks and key loading run
	 * on a stand-in that is then forgotten. */
	rc = cli_options_finish(&b->o, CLI_OPERANDS_ADDRESS,
				argc ? argc : 1, argc ? argv : no_address);
	if (rc)
		snprintf(b->detail, sizeof(b->detail), "%s", b->o.detail);
	if (argc == 0)
		b->o.address = NULL;
	return rc;
}

/* 0 when the run can start; with *done set, the getopt_long code that
 * ends it before a run ('h', 'V', CLI_OPT_LIST_OPTIONS, '?', ':'); else
 * CONN_EINVAL with b->detail. */
static int parse(struct bench_cli *b, int argc, char **argv, bool *done)
{
	struct option long_options[CLI_MAX_OPTIONS + 1];
	char short_options[3 * CLI_MAX_OPTIONS + 2];
	int ch, rc;

	if (cli_getopt_tables(bench_spec.options, long_options,
			      short_options))
		return usage_error(b, "%s", "too many options");
	opterr = 0;
	while ((ch = getopt_long(argc, argv, short_options, long_options,
				 NULL)) != -1) {
		if (ch == 'h' || ch == 'V' || ch == CLI_OPT_LIST_OPTIONS ||
		    ch == '?' || ch == ':') {
			*done = true;
			return ch;
		}
		rc = set_option(b, ch, optarg);
		if (rc == CONN_EAGAIN && cli_options_set(&b->o, ch, optarg))
			return usage_error(b, "%s", b->o.detail);
		if (rc && rc != CONN_EAGAIN)
			return rc;
	}
	return check_options(b, argc - optind, argv + optind);
}

static void cleanup(struct bench_cli *b)
{
	cli_options_free(&b->o);
	conn_key_free(b->builtin_key);
	if (b->key_text)
		explicit_bzero(b->key_text, strlen(b->key_text));
	free(b->key_text);
	json_decref(b->intervals);
	while (b->nrows)
		bench_result_free(&b->rows[--b->nrows].r);
}

int main(int argc, char **argv)
{
	static struct bench_cli b;
	bool done = false, closed[3];
	int status, rc;

	tool_hold_standard_fds(closed);

	b.size = DEFAULT_SIZE;
	b.duration_ms = DEFAULT_DURATION_MS;
	b.parallel = 1;
	b.intervals = json_array();
	b.interval_ms = -1;
	b.stop = tool_install_signals();
	b.tty = isatty(STDERR_FILENO);
	cli_options_init(&b.o);
	rc = parse(&b, argc, argv, &done);
	if (done && (rc == '?' || rc == ':')) {
		status = tool_option_error(PROGRAM, rc, argv);
	} else if (done) {
		status = tool_info(&bench_spec, rc);
	} else if (rc) {
		status = tool_usage_error(PROGRAM, b.detail);
	} else {
		plan(&b);
		if (b.o.authkey_from_option)
			notice(&b, "%s", "warning: --authkey TEXT is visible "
			       "to other users (ps); prefer --authkey-file "
			       "or CONN_AUTHKEY");
		rc = conn_key_new(&b.builtin_key, BUILTIN_KEY,
				  strlen(BUILTIN_KEY));
		if (rc == 0)
			rc = run(&b);
		if (rc == 0) {
			/* Results that could not be written fail the run,
			 * as they fail --help. */
			status = tool_check_stdout(PROGRAM, CONN_EXIT_OK);
		} else {
			/* The results so far, then the run's error: the one
			 * to report. */
			(void)fflush(stdout);
			status = tool_report(PROGRAM, rc, b.detail);
		}
	}
	cleanup(&b);
	return status;
}
