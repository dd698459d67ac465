/*
 * capture.c - conn-pipe --in pcap: a packet capture (pcap or pcapng, read
 * with libpcap) in, the messages of its conversations out, each in the
 * --out format after a prefix naming its conversation and direction:
 *
 *   1 127.0.0.1:40000>127.0.0.2:5000 hello
 *   1 127.0.0.2:5000>127.0.0.1:40000 (welcome) b'#WELCOME#'
 *
 * (every line of a message that takes several, as --tag does), or with
 * --out json one JSON object a line: {"conn": 1, "src": ..., "dst": ...,
 * "dir": "client", "time": 1700000000.000001, "message": ...}, with
 * "handshake": LABEL for the handshake's messages.  The handshake's
 * messages are no pickles: they are shown quoted (hex and quoted: in
 * their format; json: {"__hex__": ...}).  The reassembly is the core's
 * (conn_capture_reader).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	const struct cli_options *o;
	const char *name;		/* of the capture, for messages */
	struct conn_buffer out;
	uint64_t messages;
	conn_log_fn *log;
	void *log_ctx;
	char *detail;
	size_t capacity;
};

static void warn(struct capture *cap, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct capture *cap, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	if (cap->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cap->log(cap->log_ctx, CONN_LOG_WARNING, line);
}

/* The reader's warnings: the tool's, with the tool's context. */
static void forward_log(void *ctx, enum conn_log_level level,
			const char *line)
{
	struct capture *cap = ctx;

	if (cap->log)
		cap->log(cap->log_ctx, level, line);
}

/* Writes all of b to stdout, waiting when stdout is non-blocking. */
static int flush_out(struct capture *cap)
{
	struct conn_buffer *b = &cap->out;
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
	ssize_t n;

	while (conn_buffer_len(b) > 0) {
		n = write(STDOUT_FILENO, b->data + b->start,
			  conn_buffer_len(b));
		if (n > 0) {
			conn_buffer_consume(b, (size_t)n);
		} else if (n < 0 && errno == EAGAIN) {
			(void)poll(&p, 1, -1);
		} else if (n < 0 && errno == EPIPE) {
			return CONN_EPIPE;
		} else if (n < 0 && errno != EINTR) {
			snprintf(cap->detail, cap->capacity,
				 "cannot write stdout: %s", strerror(errno));
			return CONN_EIO;
		}
	}
	return 0;
}

static int put(struct capture *cap, const char *text, size_t len)
{
	return conn_buffer_append(&cap->out, text, len);
}

static int put_text(struct capture *cap, const char *text)
{
	return put(cap, text, strlen(text));
}

/* text (ending in sep) with "1 SRC>DST" before each of its records, and
 * "(LABEL)" for the handshake's. */
static int put_tagged(struct capture *cap,
		      const struct conn_capture_message *m, const char *text,
		      size_t len, char sep)
{
	char tag[300];
	bool at_start = true;

	snprintf(tag, sizeof(tag), "%" PRIu64 " %s>%s%s%s%s", m->conn, m->src,
		 m->dst, m->handshake ? " (" : "",
		 m->handshake ? m->handshake : "", m->handshake ? ")" : "");
	return cli_tag_records(&cap->out, tag, text, len, sep, false,
			       &at_start);
}

/* The message in a plain format f (conn_encode_piece()): *out is
 * malloc'ed. */
static int encode_plain(char **out, size_t *len, enum conn_format f,
			const struct conn_capture_message *m)
{
	struct conn_piece p = { m->data, m->size, 0, m->size };

	*out = malloc(conn_encode_bound(f, m->size) + 1);
	if (*out == NULL)
		return CONN_ENOMEM;
	*len = conn_encode_piece((uint8_t *)*out, f, &p);
	return 0;
}

/* The handshake's messages are shown as bytes: quoted in the formats
 * that would take them for text or pickles. */
static enum conn_format shown_as(const struct capture *cap,
				 const struct conn_capture_message *m)
{
	enum conn_format f = cap->o->out_format;

	if (m->handshake == NULL || f == CONN_FORMAT_HEX ||
	    f == CONN_FORMAT_QUOTED)
		return f;
	return f == CONN_FORMAT_JSON ? CONN_FORMAT_HEX : CONN_FORMAT_QUOTED;
}

/* --out audit: the verdict's line, which raises the tool's worst
 * verdict, conn-pipe's exit status (as the relay does for a stream). */
static int audit(struct capture *cap, char **out, size_t *len,
		 enum conn_format f, const struct conn_capture_message *m)
{
	enum conn_pickle_verdict *worst = cap->o->verdict;
	struct conn_pickle_report report;
	char *line = NULL;
	size_t n = 0;
	int rc = f == CONN_FORMAT_AUDIT_JSON
		 ? conn_pickle_audit_json(&line, &n, &report, &cap->o->render,
					  m->data, m->size)
		 : conn_pickle_audit_with(&line, &n, &report, &cap->o->render,
					  m->data, m->size);

	if (rc == 0 && worst != NULL && report.verdict > *worst)
		*worst = report.verdict;
	if (rc == 0)
		*out = realloc(line, n + 1);
	if (rc == 0 && *out == NULL) {
		free(line);
		return CONN_ENOMEM;
	}
	if (rc == 0) {
		(*out)[n] = '\n';	/* in place of its NUL */
		*len = n + 1;
	}
	return rc;
}

/* The message in format f: *out malloc'ed, ending in its separator;
 * *as_hex when --keep-going put a pickle that is not one in hex. */
static int render(struct capture *cap, char **out, size_t *len,
		  bool *as_hex, enum conn_format f,
		  const struct conn_capture_message *m)
{
	char why[200];
	int rc;

	*as_hex = false;
	if (!conn_format_is_whole(f))
		return encode_plain(out, len, f, m);
	if (conn_format_is_audit(f))
		return audit(cap, out, len, f, m);
	rc = conn_format_render_or_hex_with(out, len, as_hex, why, sizeof(why),
					    f, &cap->o->render, m->data,
					    m->size, cap->o->keep_going);
	if (rc == CONN_EPROTO || rc == CONN_ETOOBIG)
		snprintf(cap->detail, cap->capacity, "connection %" PRIu64
			 " %s>%s: message %" PRIu64 ": %s", m->conn, m->src,
			 m->dst, cap->messages, why);
	else if (rc == 0 && *as_hex)
		warn(cap, "connection %" PRIu64 " %s>%s: message %" PRIu64
			" is not shown as %s (%s); here it is in hex", m->conn,
			m->src, m->dst, cap->messages, conn_format_name(f),
			why);
	return rc;
}

/* '{"conn": 1, "src": "...", ..., "message": ' (the caller ends it). */
static int open_json(struct capture *cap, const struct conn_capture_message *m)
{
	char head[400];
	char *src = NULL, *dst = NULL;
	size_t src_len, dst_len;
	int rc = conn_json_quote(&src, &src_len, m->src, strlen(m->src));

	if (rc == 0)
		rc = conn_json_quote(&dst, &dst_len, m->dst, strlen(m->dst));
	if (rc == 0) {
		snprintf(head, sizeof(head), "{\"conn\": %" PRIu64 ", \"src\": "
			 "%s, \"dst\": %s, \"dir\": \"%s\", \"time\": "
			 "%" PRId64 ".%06" PRId64 ", %s%s%s\"message\": ",
			 m->conn, src, dst, m->dir ? "server" : "client",
			 m->time_us / 1000000, m->time_us % 1000000,
			 m->handshake ? "\"handshake\": \"" : "",
			 m->handshake ? m->handshake : "",
			 m->handshake ? "\", " : "");
		rc = put_text(cap, head);
	}
	free(src);
	free(dst);
	return rc;
}

/* One JSON record; text is the rendering (ending in a newline), or a hex
 * line that goes in {"__hex__": ...}. */
static int put_json(struct capture *cap, const struct conn_capture_message *m,
		    const char *text, size_t len, bool hex)
{
	int rc = open_json(cap, m);

	if (rc == 0 && hex)
		rc = put_text(cap, "{\"__hex__\": \"");
	if (rc == 0)
		rc = put(cap, text, len - 1);
	if (rc == 0 && hex)
		rc = put_text(cap, "\"}");
	return rc ? rc : put_text(cap, "}\n");
}

/* What the reader hands out: one message to stdout. */
static int show(void *ctx, const struct conn_capture_message *m)
{
	struct capture *cap = ctx;
	enum conn_format f = shown_as(cap, m);
	char sep = f == CONN_FORMAT_NULL ? '\0' : '\n';
	char *text = NULL;
	size_t len = 0;
	bool as_hex;
	int rc;

	cap->messages++;
	rc = render(cap, &text, &len, &as_hex, f, m);
	if (rc == 0 && cap->o->out_format == CONN_FORMAT_JSON)
		rc = put_json(cap, m, text, len,
			      as_hex || f == CONN_FORMAT_HEX);
	else if (rc == 0)
		rc = put_tagged(cap, m, text, len, sep);
	free(text);
	if (rc == 0)
		rc = flush_out(cap);
	if (rc == 0 && cap->o->count && cap->messages >= cap->o->count)
		rc = CONN_ECANCELED;	/* --count: enough */
	return rc;
}

/* Every packet of p through the reader; a capture cut short (tcpdump
 * stopped while writing) ends with a warning. */
static int read_packets(struct capture *cap, pcap_t *p,
			struct conn_capture_reader *r)
{
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int got, rc = 0;

	while (rc == 0 && (got = pcap_next_ex(p, &h, &bytes)) == 1)
		rc = conn_capture_reader_packet(r, bytes, h->caplen,
						(int64_t)h->ts.tv_sec *
						1000000 + h->ts.tv_usec);
	if (rc == 0 && got == PCAP_ERROR)
		warn(cap, "%s: %s",
			cap->name, pcap_geterr(p));
	return rc ? rc : conn_capture_reader_finish(r);
}

/* The capture FILE (or stdin) opened by libpcap. */
static int open_capture(struct capture *cap, pcap_t **p, FILE **f)
{
	char err[PCAP_ERRBUF_SIZE];
	const char *file = cap->o->file;

	*f = file ? fopen(file, "rb") : stdin;
	if (*f == NULL) {
		snprintf(cap->detail, cap->capacity, "cannot open %s: %s",
			 file, strerror(errno));
		return CONN_EIO;
	}
	*p = pcap_fopen_offline(*f, err);
	if (*p == NULL) {
		snprintf(cap->detail, cap->capacity, "%s: %s", cap->name, err);
		if (file)
			fclose(*f);
		return CONN_EPROTO;
	}
	return 0;
}

static int read_capture(struct capture *cap, pcap_t *p)
{
	struct conn_capture_reader *r = NULL;
	int link = pcap_datalink(p), rc;

	if (!conn_capture_link_supported(link)) {
		snprintf(cap->detail, cap->capacity, "%s: link type %d (%s) "
			 "is not one conn-pipe reads (Ethernet, Linux cooked, "
			 "loopback, raw IP)", cap->name, link,
			 pcap_datalink_val_to_name(link) ?
			 pcap_datalink_val_to_name(link) : "unknown");
		return CONN_EPROTO;
	}
	rc = conn_capture_reader_new(&r, link, cap->o->port, cap->o->max_size,
				     show, forward_log, cap);
	if (rc == 0)
		rc = read_packets(cap, p, r);
	conn_capture_reader_free(r);
	if (rc == CONN_ECANCELED)
		return 0;
	if (rc == 0 && cap->messages == 0)
		warn(cap, "%s: no message of this protocol in the capture%s",
			cap->name, cap->o->port ? ""
			: " (--port N reads a conversation that does not "
			  "start like one)");
	return rc;
}

int cli_capture_read(char *detail, size_t capacity,
		     const struct cli_options *o, conn_log_fn *log,
		     void *log_ctx)
{
	struct capture cap = { .o = o, .name = o->file ? o->file : "stdin",
			       .log = log, .log_ctx = log_ctx,
			       .detail = detail, .capacity = capacity };
	pcap_t *p = NULL;
	FILE *f = NULL;
	int rc = open_capture(&cap, &p, &f);

	if (rc)
		return rc;
	rc = read_capture(&cap, p);
	if (rc == 0)
		rc = flush_out(&cap);
	pcap_close(p);	/* closes f too */
	conn_buffer_free(&cap.out);
	return rc;
}
