/*
 * trace.c - conn-listen --forward --trace=FMT: each forwarded message as
 * one record, "ID PEER DIR SECONDS SIZE " and the message in FMT on one
 * line (pickle-dis: on the lines after), or with --trace json one JSON
 * object a line: {"conn":ID,"peer":PEER,"dir":DIR,"t":SECONDS,"size":SIZE,
 * "message":...}.  A record is one write(2), so that the records of the
 * -k server's connections (a process each) do not mix.
 */
#include "forward.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A record's head: numbers and the peer's name, quoted (a Unix path
 * escaped at worst six bytes a byte). */
#define TRACE_HEAD_MAX 1536

static int64_t clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool trace_on(const struct trace_conn *t)
{
	return t->o != NULL;
}

int trace_start(struct trace_conn *t, const struct cli_options *o,
		const char *peer)
{
	*t = (struct trace_conn){ .start_us = clock_us() };
	if (!o->trace)
		return 0;
	if (o->trace_format == CONN_FORMAT_JSON) {
		if (conn_json_quote(&t->peer, &t->peer_len, peer,
				    strlen(peer)))
			return CONN_ENOMEM;
	} else {
		t->peer = strdup(peer);
		if (t->peer == NULL)
			return CONN_ENOMEM;
		t->peer_len = strlen(peer);
	}
	t->o = o;
	t->id = o->conn_serial;
	return 0;
}

void trace_end(struct trace_conn *t)
{
	free(t->peer);
	t->peer = NULL;
	t->o = NULL;
}

/* The message in the trace's format: a malloc'ed text ending in a
 * newline.  What is no pickle shows in hex, as with --keep-going; in JSON
 * as {"__hex__": "..."}, so that the record stays JSON. */
static int render(char **text, size_t *len, const struct trace_conn *t,
		  const uint8_t *message, uint64_t size)
{
	struct conn_piece p = { message, (size_t)size, 0, size };
	enum conn_format f = t->o->trace_format;
	char why[200], *wrapped;
	bool as_hex;
	int rc;

	if (f == CONN_FORMAT_HEX) {
		*text = malloc(conn_encode_bound(f, p.size));
		if (*text == NULL)
			return CONN_ENOMEM;
		*len = conn_encode_piece((uint8_t *)*text, f, &p);
		return 0;
	}
	rc = conn_format_render_or_hex_with(text, len, &as_hex, why,
					    sizeof(why), f, &t->o->render,
					    message, p.size, true);
	if (rc || !as_hex || f != CONN_FORMAT_JSON)
		return rc;
	wrapped = malloc(*len + 16);
	if (wrapped == NULL) {
		free(*text);
		return CONN_ENOMEM;
	}
	*len = (size_t)sprintf(wrapped, "{\"__hex__\": \"%.*s\"}\n",
			       (int)(*len - 1), *text);
	free(*text);
	*text = wrapped;
	return 0;
}

/* All of b to fd, waiting while a non-blocking stderr is full. */
static int write_all(int fd, const char *b, size_t len)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n < 0 && errno == EAGAIN)
			(void)!poll(&p, 1, CONN_STOP_CHECK_MS);
		else if (n < 0 && errno != EINTR)
			return CONN_EIO;
		if (n > 0) {
			b += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* The record's head, "ID PEER DIR SECONDS SIZE " or its JSON, into head. */
static int record_head(char *head, size_t capacity,
		       const struct trace_conn *t, const char *dir,
		       uint64_t size)
{
	double s = (double)(clock_us() - t->start_us) / 1e6;

	if (t->o->trace_format == CONN_FORMAT_JSON)
		return snprintf(head, capacity, "{\"conn\":%llu,\"peer\":%.*s,"
				"\"dir\":\"%s\",\"t\":%.6f,\"size\":%llu,"
				"\"message\":", (unsigned long long)t->id,
				(int)t->peer_len, t->peer, dir, s,
				(unsigned long long)size);
	return snprintf(head, capacity, "%llu %.*s %s %.6f %llu%s",
			(unsigned long long)t->id, (int)t->peer_len, t->peer,
			dir, s, (unsigned long long)size,
			t->o->trace_format == CONN_FORMAT_PICKLE_DIS ? "\n"
								      : " ");
}

int trace_message(struct trace_conn *t, char *detail, size_t capacity,
		  const char *dir, const uint8_t *message, uint64_t size)
{
	bool json = t->o->trace_format == CONN_FORMAT_JSON;
	char head[TRACE_HEAD_MAX], *text = NULL, *record;
	size_t len = 0, n;
	int rc = 0;

	if (message)
		rc = render(&text, &len, t, message, size);
	else if ((text = strdup(json ? "null\n" : "(streamed, not shown)\n")))
		len = strlen(text);
	if (rc == 0 && text == NULL)
		rc = CONN_ENOMEM;
	n = rc ? 0 : (size_t)record_head(head, sizeof(head), t, dir, size);
	if (n >= sizeof(head))	/* cut short, never overrun */
		n = sizeof(head) - 1;
	record = rc ? NULL : malloc(n + len + 2);
	if (rc == 0 && record == NULL)
		rc = CONN_ENOMEM;
	if (rc == 0) {
		memcpy(record, head, n);
		/* JSON: the object ends before the rendering's newline. */
		memcpy(record + n, text, len - json);
		n += len - json;
		if (json) {
			record[n++] = '}';
			record[n++] = '\n';
		}
		rc = write_all(t->o->trace_fd, record, n);
		if (rc)
			snprintf(detail, capacity, "cannot write the trace%s%s:"
				 " %s", t->o->trace_file ? " to " : "",
				 t->o->trace_file ? t->o->trace_file : "",
				 strerror(errno));
	}
	free(record);
	free(text);
	return rc;
}
