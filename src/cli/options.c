/* options.c - the command-line options every tool shares, parsed once. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#define DEFAULT_CHUNK_SIZE (64 * 1024)
#define DEFAULT_MAX_SIZE (1ull << 30)
#define DEFAULT_HANDSHAKE_MS 10000
#define MAX_CHUNK_SIZE (1ull << 30)
#define MAX_SECONDS 1e6
#define DEFAULT_PICKLE_PROTOCOL 4	/* what Python 3.8-3.13 send */
#define DEFAULT_MAX_CONNS 100
#define DEFAULT_STARTUPS_START 10	/* --max-startups, as OpenSSH's */
#define DEFAULT_STARTUPS_RATE 30
#define DEFAULT_STARTUPS_FULL 100
#define MAX_CONNS 100000
#define DEFAULT_MAX_SENDQ (4ull << 20)	/* room for a few big messages */
#define DEFAULT_SEND_TIMEOUT_MS 30000
#define DEFAULT_RENDER_TIMEOUT_MS 10000
#define DEFAULT_MAX_BUFFER (64 * 1024 * 1024)
#define MIN_MAX_BUFFER (1024 * 1024)
/* A single connection's rendering: see render_memory(). */
#define MIN_RENDER_MEMORY (DEFAULT_MAX_BUFFER / 2)

void cli_options_init(struct cli_options *o)
{
	*o = (struct cli_options){
		.digest = CONN_DIGEST_SHA256,
		.handshake_timeout_ms = DEFAULT_HANDSHAKE_MS,
		.in_format = CONN_FORMAT_LINES,
		.out_format = CONN_FORMAT_LINES,
		.chunk_size = DEFAULT_CHUNK_SIZE,
		.max_size = DEFAULT_MAX_SIZE,
		.pickle_protocol = DEFAULT_PICKLE_PROTOCOL,
		.max_conns = DEFAULT_MAX_CONNS,
		.max_sendq = DEFAULT_MAX_SENDQ,
		.send_timeout_ms = DEFAULT_SEND_TIMEOUT_MS,
		.render_timeout_ms = DEFAULT_RENDER_TIMEOUT_MS,
		.startups_start = DEFAULT_STARTUPS_START,
		.startups_rate = DEFAULT_STARTUPS_RATE,
		.startups_full = DEFAULT_STARTUPS_FULL,
		.report_fd = -1,
		.max_buffer = DEFAULT_MAX_BUFFER,
		.forward_digest = CONN_DIGEST_SHA256,
		.trace_format = CONN_FORMAT_REPR,
		.trace_fd = -1,
		.conn_serial = 1,
		.fd = -1,	/* #18 sockets */
	};
}

void cli_options_free(struct cli_options *o)
{
	conn_key_free(o->key);
	conn_key_free(o->forward_key);
	o->forward_key = NULL;
	if (o->trace_file && o->trace_fd >= 0)
		close(o->trace_fd);
	o->trace_fd = -1;
	/* The children wrote their packets whole: nothing is pending. */
	(void)!conn_capture_close(o->capture, o->detail, sizeof(o->detail));
	o->capture = NULL;
	conn_pickle_policy_free(o->policy);
	o->policy = NULL;
	conn_tls_config_free(o->tls.config);
	o->tls.config = NULL;
	conn_tls_config_free(o->forward_tls.config);
	o->forward_tls.config = NULL;
	free(o->exec_argv);
	free(o->data);
	free(o->data_len);
	o->key = NULL;
	o->data = NULL;
	o->data_len = NULL;
	o->exec_argv = NULL;
}

int cli_parse_size(uint64_t *out, const char *text, uint64_t max)
{
	unsigned long long value;
	unsigned shift = 0;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return CONN_EINVAL;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno)
		return CONN_EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || value > (max >> shift))
		return CONN_EINVAL;
	*out = (uint64_t)value << shift;
	return 0;
}

int cli_parse_seconds(int64_t *ms, const char *text, double max_s)
{
	char *end;
	double s;

	if (text[0] < '0' || text[0] > '9')
		return CONN_EINVAL;
	errno = 0;
	s = strtod(text, &end);
	if (errno || *end != '\0' || !isfinite(s) || s < 0 || s > max_s)
		return CONN_EINVAL;
	/* Round to the millisecond: 16.1 is not 16101 ms. */
	*ms = (int64_t)llround(s * 1000.0);
	return 0;
}

static int invalid(struct cli_options *o, const char *fmt, const char *arg)
{
	snprintf(o->detail, sizeof(o->detail), fmt, arg);
	return CONN_EINVAL;
}

/* --python-repr 3.Y: a Python 3 version, kept as 300 + Y. */
static int set_python_repr(struct cli_options *o, const char *arg)
{
	bool three = strncmp(arg, "3.", 2) == 0;
	size_t digits = three ? strspn(arg + 2, "0123456789") : 0;

	if (digits < 1 || digits > 2 || arg[2 + digits] != '\0')
		return invalid(o, "invalid --python-repr '%s' (a Python 3 "
			       "version X.Y, such as 3.11)", arg);
	o->render.python = 300 + (unsigned)atoi(arg + 2);
	return 0;
}

static int set_format(struct cli_options *o, enum conn_format *f,
		      const char *name)
{
	if (conn_format_from_name(f, name))
		return invalid(o, "unknown format '%s' (lines, null, raw, "
			       "frames, hex, quoted, json, repr, pickle-dis)",
			       name);
	return 0;
}

static int add_data(struct cli_options *o, const char *text)
{
	size_t n = o->data_count + 1;
	const char **data = realloc(o->data, n * sizeof(*data));
	size_t *lens;

	if (data == NULL)
		return CONN_ENOMEM;
	o->data = data;
	lens = realloc(o->data_len, n * sizeof(*lens));
	if (lens == NULL)
		return CONN_ENOMEM;
	o->data_len = lens;
	o->data[o->data_count] = text;
	o->data_len[o->data_count] = strlen(text);
	o->data_count = n;
	return 0;
}

/* The one message of a bad number: "invalid --name 'arg' (hint)". */
static int invalid_number(char *detail, size_t capacity, const char *name,
			  const char *arg, const char *hint)
{
	if (hint)
		snprintf(detail, capacity, "invalid %s '%s' (%s)", name, arg,
			 hint);
	else
		snprintf(detail, capacity, "invalid %s '%s'", name, arg);
	return CONN_EINVAL;
}

int cli_option_size(char *detail, size_t capacity, uint64_t *out,
		    const char *name, const char *arg, uint64_t min,
		    uint64_t max, const char *hint)
{
	if (cli_parse_size(out, arg, max) || *out < min)
		return invalid_number(detail, capacity, name, arg, hint);
	return 0;
}

int cli_option_seconds(char *detail, size_t capacity, int64_t *ms,
		       const char *name, const char *arg, int64_t min_ms,
		       double max_s)
{
	if (cli_parse_seconds(ms, arg, max_s) || *ms < min_ms)
		return invalid_number(detail, capacity, name, arg, "seconds");
	return 0;
}

static int set_size_option(struct cli_options *o, uint64_t *out,
			   const char *arg, uint64_t min, uint64_t max,
			   const char *name)
{
	return cli_option_size(o->detail, sizeof(o->detail), out, name, arg,
			       min, max, NULL);
}

static int set_seconds(struct cli_options *o, int64_t *ms, const char *arg,
		       const char *name)
{
	return cli_option_seconds(o->detail, sizeof(o->detail), ms, name, arg,
				  0, MAX_SECONDS);
}

/* Up to three decimal numbers parted by ':' (--max-startups): how many,
 * or -1 for anything else. */
static int colon_numbers(unsigned long long v[3], const char *text)
{
	char *end;
	int n = 0;

	for (;;) {
		if (n == 3 || *text < '0' || *text > '9')
			return -1;
		errno = 0;
		v[n++] = strtoull(text, &end, 10);
		if (errno)
			return -1;
		if (*end == '\0')
			return n;
		if (*end != ':')
			return -1;
		text = end + 1;
	}
}

/* --max-startups START:RATE:FULL, as OpenSSH's MaxStartups; N alone is
 * N:100:N (past N, every newcomer makes the oldest go). */
static int set_startups(struct cli_options *o, const char *arg)
{
	unsigned long long v[3];
	int n = colon_numbers(v, arg);

	if (n == 1) {
		v[2] = v[0];
		v[1] = 100;
	}
	if ((n != 1 && n != 3) || v[0] == 0 || v[2] < v[0] ||
	    v[2] > MAX_CONNS || v[1] > 100)
		return invalid(o, "invalid --max-startups '%s' (START:RATE:FULL,"
			       " 1 <= START <= FULL, RATE 0-100)", arg);
	o->startups_start = v[0];
	o->startups_rate = v[1];
	o->startups_full = v[2];
	o->startups_set = true;
	return 0;
}

/* The options about stdin and stdout (or a command in their place): their
 * names, for "cannot use --forward with --x"; NULL for the others. */
static const char *stdio_option_name(int code)
{
	switch (code) {
	case 'f': return "--format";
	case '0': return "-0";
	case CLI_OPT_IN: return "--in";
	case CLI_OPT_OUT: return "--out";
	case CLI_OPT_DATA: return "--data";
	case 'c': return "--count";
	case CLI_OPT_SEND_ONLY: return "--send-only";
	case CLI_OPT_RECV_ONLY: return "--recv-only";
	case CLI_OPT_CLOSE_ON_EOF: return "--close-on-eof";
	case CLI_OPT_ECHO: return "--echo";
	case 'e': return "--exec";
	case CLI_OPT_SH_EXEC: return "--sh-exec";
	case CLI_OPT_TAG: return "--tag";
	case CLI_OPT_BROADCAST: return "--broadcast";
	case CLI_OPT_CHUNK_SIZE: return "--chunk-size";
	case CLI_OPT_PICKLE_PROTOCOL: return "--pickle-protocol";
	case CLI_OPT_KEEP_GOING: return "--keep-going";
	case CLI_OPT_PROGRESS: return "--progress";
	default: return NULL;
	}
}

/* --digest, --forward-digest: a digest by its Python name. */
static int set_digest(struct cli_options *o, enum conn_digest *d,
		      const char *arg)
{
	if (conn_digest_from_name(d, arg, strlen(arg)))
		return invalid(o, "unknown digest '%s' (sha256, sha384, "
			       "sha3_256, sha3_384, md5)", arg);
	return 0;
}

/* #18 probe: conn-client --probe's options. */
static int set_probe_option(struct cli_options *o, int code, char *arg)
{
	uint64_t n = 0;
	int rc;

	switch (code) {
	case CLI_OPT_PROBE:
		o->probe = true;
		return 0;
	case CLI_OPT_PROBE_ALL:
		o->probe_all = true;
		return 0;
	case CLI_OPT_PROBE_JSON:
		o->probe_json = true;
		return 0;
	case CLI_OPT_PROBE_WAIT:
		return cli_option_seconds(o->detail, sizeof(o->detail),
					  &o->probe_wait_ms, "--probe-wait",
					  arg, 1, MAX_SECONDS);
	case CLI_OPT_SEND_FD:	/* #18 fd passing */
		o->send_fd_given = true;
		rc = cli_option_size(o->detail, sizeof(o->detail), &n,
				     "--send-fd", arg, 0, INT_MAX, NULL);
		o->send_fd = (int)n;
		return rc;
	case CLI_OPT_RECV_FD:
		o->recv_fd = true;
		return 0;
	default:
		return CONN_EAGAIN;
	}
}

/* --forward and --trace's options. */
static int set_forward_option(struct cli_options *o, int code, char *arg)
{
	switch (code) {
	case CLI_OPT_FORWARD:
		o->forward = arg;
		return 0;
	case CLI_OPT_FORWARD_AUTHKEY_FILE:
		o->forward_authkey_file = arg;
		return 0;
	case CLI_OPT_FORWARD_NO_AUTHKEY:
		o->forward_no_authkey = true;
		return 0;
	case CLI_OPT_FORWARD_DIGEST:
		return set_digest(o, &o->forward_digest, arg);
	case CLI_OPT_FORWARD_NO_MD5:
		o->forward_auth_flags |= CONN_AUTH_NO_MD5;
		return 0;
	case CLI_OPT_TRACE:
		o->trace = true;
		/* The formats from hex on show a message in one record. */
		if (conn_format_from_name(&o->trace_format, arg) == 0 &&
		    o->trace_format >= CONN_FORMAT_HEX)
			return 0;
		return invalid(o, "unknown --trace format '%s' (repr, json, "
			       "hex, quoted, pickle-dis, audit)", arg);
	case CLI_OPT_TRACE_FILE:
		o->trace_file = arg;
		return 0;
	case CLI_OPT_RECORD:
		o->record = arg;
		return 0;
	default:
		return set_probe_option(o, code, arg);
	}
}

int cli_options_set(struct cli_options *o, int code, char *arg)
{
	uint64_t n;
	int rc;

	if (o->stdio_option == NULL)
		o->stdio_option = stdio_option_name(code);
	switch (code) {
	case '4':
	case '6':
		if (o->family != CONN_FAMILY_ANY &&
		    o->family != (code == '4' ? CONN_FAMILY_IPV4
					      : CONN_FAMILY_IPV6))
			return invalid(o, "%s", "cannot use -4 with -6");
		o->family = code == '4' ? CONN_FAMILY_IPV4 : CONN_FAMILY_IPV6;
		return 0;
	case 'f':
		o->in_pcap = false;
		rc = set_format(o, &o->in_format, arg);
		o->out_format = o->in_format;
		return rc;
	case '0':
		o->in_pcap = false;
		o->in_format = o->out_format = CONN_FORMAT_NULL;
		return 0;
	case CLI_OPT_IN:
		o->in_pcap = strcmp(arg, "pcap") == 0;
		return o->in_pcap ? 0 : set_format(o, &o->in_format, arg);
	case CLI_OPT_PORT:
		rc = set_size_option(o, &n, arg, 1, 65535, "--port");
		o->port = (uint16_t)n;
		return rc;
	case CLI_OPT_PICKLE_PROTOCOL:
		rc = set_size_option(o, &n, arg, 0, 5, "--pickle-protocol");
		o->pickle_protocol = (int)n;
		return rc;
	case CLI_OPT_PYTHON_REPR:
		return set_python_repr(o, arg);
	case CLI_OPT_PICKLE_POLICY:
		o->policy_file = arg;
		return 0;
	case CLI_OPT_KEEP_GOING:
		o->keep_going = true;
		return 0;
	case 'e':
		o->exec = arg;
		return 0;
	case CLI_OPT_SH_EXEC:
		o->sh_exec = arg;
		return 0;
	case 'k':
		o->keep_open = true;
		return 0;
	case CLI_OPT_MAX_CONNS:
		return set_size_option(o, &o->max_conns, arg, 1, MAX_CONNS,
				       "--max-conns");
	case CLI_OPT_MAX_STARTUPS:
		return set_startups(o, arg);
	case CLI_OPT_MAX_BUFFER:
		return set_size_option(o, &o->max_buffer, arg, MIN_MAX_BUFFER,
				       UINT64_MAX >> 2, "--max-buffer");
	case CLI_OPT_MAX_ACCEPTS:
		o->keep_open = true;
		return set_size_option(o, &o->max_accepts, arg, 1,
				       UINT64_MAX >> 2, "--max-accepts");
	case CLI_OPT_PROGRESS:
		if (arg == NULL || strcmp(arg, "auto") == 0)
			o->progress = CLI_PROGRESS_AUTO;
		else if (strcmp(arg, "always") == 0)
			o->progress = CLI_PROGRESS_ALWAYS;
		else if (strcmp(arg, "never") == 0)
			o->progress = CLI_PROGRESS_NEVER;
		else
			return invalid(o, "invalid --progress '%s' (auto, "
				       "always, never)", arg);
		return 0;
	case CLI_OPT_TAG:
		o->tag = true;
		return 0;
	case CLI_OPT_BROADCAST:
		o->broadcast = true;
		return 0;
	case CLI_OPT_MAX_SENDQ:
		return set_size_option(o, &o->max_sendq, arg, 0,
				       UINT64_MAX >> 2, "--max-sendq");
	case CLI_OPT_SEND_TIMEOUT:
		return set_seconds(o, &o->send_timeout_ms, arg,
				   "--send-timeout");
	case CLI_OPT_RENDER_TIMEOUT:
		return set_seconds(o, &o->render_timeout_ms, arg,
				   "--render-timeout");
	case CLI_OPT_ECHO:
		o->echo = true;
		return 0;
	case CLI_OPT_OUT:
		return set_format(o, &o->out_format, arg);
	case CLI_OPT_CHUNK_SIZE:
		rc = set_size_option(o, &n, arg, 1, MAX_CHUNK_SIZE,
				     "--chunk-size");
		o->chunk_size = (size_t)n;
		o->chunk_size_given = true;
		return rc;
	case CLI_OPT_MAX_SIZE:
		return set_size_option(o, &o->max_size, arg, 0,
				       UINT64_MAX >> 2, "--max-size");
	case CLI_OPT_DATA:
		return add_data(o, arg);
	case 'c':
		return set_size_option(o, &o->count, arg, 1, UINT64_MAX >> 2,
				       "--count");
	case CLI_OPT_SEND_ONLY:
		o->send_only = true;
		return 0;
	case CLI_OPT_RECV_ONLY:
		o->recv_only = true;
		return 0;
	case CLI_OPT_CLOSE_ON_EOF:
		o->close_on_eof = true;
		return 0;
	case CLI_OPT_AUTHKEY_FILE:
		o->authkey_file = arg;
		return 0;
	case CLI_OPT_AUTHKEY:
		o->authkey_text = arg;
		return 0;
	case CLI_OPT_DIGEST:
		return set_digest(o, &o->digest, arg);
	case CLI_OPT_NO_MD5:
		o->auth_flags |= CONN_AUTH_NO_MD5;
		return 0;
	case CLI_OPT_HANDSHAKE_TIMEOUT:
		return set_seconds(o, &o->handshake_timeout_ms, arg,
				   "--handshake-timeout");
	case CLI_OPT_WAIT:
		return set_seconds(o, &o->wait_ms, arg, "--wait");
	case 'v':
		o->verbose++;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	default:
		rc = cli_sockets_set(o, code, arg);	/* #18 sockets */
		if (rc == CONN_EAGAIN)
			rc = set_forward_option(o, code, arg);
		return rc == CONN_EAGAIN ? cli_tls_option_set(o, code, arg)
					 : rc;
	}
}

static int conflict(struct cli_options *o, const char *a, const char *b)
{
	snprintf(o->detail, sizeof(o->detail), "cannot use %s with %s", a,
		 b);
	return CONN_EINVAL;
}

/* --pickle-policy FILE, read whole (1 MiB at most) and parsed; o->detail
 * names the file, and the line of a bad rule. */
#define POLICY_FILE_MAX (1 << 20)
static int load_policy(struct cli_options *o)
{
	char *text, why[160] = "";
	const char *problem = NULL;
	size_t len = 0;
	FILE *f;
	int rc = CONN_EINVAL;

	if (o->policy_file == NULL)
		return 0;
	text = malloc(POLICY_FILE_MAX + 1);
	f = text ? fopen(o->policy_file, "r") : NULL;
	if (f == NULL) {
		problem = text ? strerror(errno) : "out of memory";
	} else {
		len = fread(text, 1, POLICY_FILE_MAX + 1, f);
		if (ferror(f))
			problem = "cannot read it";
		else if (len > POLICY_FILE_MAX)
			problem = "longer than 1 MiB";
		fclose(f);
	}
	if (problem == NULL)
		rc = conn_pickle_policy_parse(&o->policy, why, sizeof(why),
					      text, len);
	free(text);
	if (problem != NULL || rc == CONN_EINVAL)
		snprintf(o->detail, sizeof(o->detail), "--pickle-policy %s: "
			 "%s", o->policy_file, problem ? problem : why);
	return rc;
}

/* The key from --authkey-file, --authkey, or CONN_AUTHKEY, in that order;
 * an empty one from any of them is an error, never "no key". */
static int load_key_file(struct cli_options *o, struct conn_key **key,
			 const char *path)
{
	int rc = conn_key_new_from_file(key, path);

	if (rc == CONN_EINVAL)
		snprintf(o->detail, sizeof(o->detail),
			 "%s: the key file is empty", path);
	else if (rc == CONN_ETOOBIG)
		snprintf(o->detail, sizeof(o->detail),
			 "%s: the key file is longer than 1 MiB: "
			 "is it the key?", path);
	else if (rc)
		snprintf(o->detail, sizeof(o->detail),
			 "cannot read the key file %s: %s", path,
			 strerror(errno));
	return rc ? CONN_EINVAL : 0;
}

static int load_key(struct cli_options *o)
{
	const char *env = getenv("CONN_AUTHKEY");
	int rc = 0;

	if (o->authkey_file)
		return load_key_file(o, &o->key, o->authkey_file);
	if (o->authkey_text) {
		size_t len = strlen(o->authkey_text);

		if (len == 0)
			return invalid(o, "%s", "--authkey: the key is empty");
		rc = conn_key_new(&o->key, o->authkey_text, len);
		/* Hide the key from ps(1) as soon as we hold our copy. */
		memset((char *)o->authkey_text, 'x', len);
		o->authkey_from_option = true;
		o->authkey_text = NULL;
		return rc;
	}
	if (env == NULL)
		return 0;
	/* Fail closed: an empty key must not quietly mean no handshake. */
	if (env[0] == '\0')
		return invalid(o, "%s", "CONN_AUTHKEY is set but empty: unset "
			       "it for no key, or give a key");
	return conn_key_new(&o->key, env, strlen(env));
}

/* --exec CMD [ARG...] or --sh-exec LINE: the command line to run. */
static int make_exec_argv(struct cli_options *o)
{
	int i, n = o->exec_args_count;

	if (o->exec == NULL && o->sh_exec == NULL)
		return 0;
	o->exec_argv = calloc((size_t)n + 4, sizeof(char *));
	if (o->exec_argv == NULL)
		return CONN_ENOMEM;
	if (o->sh_exec) {
		o->exec_argv[0] = "/bin/sh";
		o->exec_argv[1] = "-c";
		o->exec_argv[2] = (char *)o->sh_exec;
		return 0;
	}
	o->exec_argv[0] = (char *)o->exec;
	for (i = 0; i < n; i++)
		o->exec_argv[i + 1] = o->exec_args[i];
	return 0;
}

/* conn-pipe's operand: a FILE to convert (or - for stdin). */
static int take_pipe_operands(struct cli_options *o, int argc, char **argv)
{
	if (argc > 0 && o->exec_argv)
		return invalid(o, "unexpected argument '%s' (options and "
			       "FILE go before --exec)", argv[0]);
	if (argc > 1)
		return invalid(o, "unexpected argument '%s'", argv[1]);
	o->file = argc == 1 && strcmp(argv[0], "-") ? argv[0] : NULL;
	return 0;
}

/* --max-sendq, --send-timeout and --render-timeout are about the one
 * loop of -k that serves every client: not a single connection, not
 * --exec. */
static int check_sendq_options(struct cli_options *o)
{
	const char *name = o->max_sendq != DEFAULT_MAX_SENDQ ? "--max-sendq"
			   : o->send_timeout_ms != DEFAULT_SEND_TIMEOUT_MS ?
			   "--send-timeout"
			   : o->render_timeout_ms != DEFAULT_RENDER_TIMEOUT_MS ?
			   "--render-timeout" : NULL;

	if (name && !o->keep_open)
		return invalid(o, "%s needs -k (--keep-open)", name);
	if (name && o->exec_argv)
		return conflict(o, name, o->exec ? "--exec" : "--sh-exec");
	if (name && o->forward)
		return conflict(o, name, "--forward");
	return 0;
}

/* --in raw makes messages of up to --chunk-size bytes: one over
 * --max-size would be sent although the peer is told to refuse it.  The
 * default chunk shrinks to --max-size (the decoder's doing); one asked
 * for is a usage error, not a silent change. */
static int check_chunk_size(struct cli_options *o)
{
	if (o->in_format != CONN_FORMAT_RAW || !o->chunk_size_given ||
	    o->max_size == 0 || o->chunk_size <= o->max_size)
		return 0;
	snprintf(o->detail, sizeof(o->detail), "--chunk-size (%zu bytes) is "
		 "over --max-size (%llu bytes): no message may be larger",
		 o->chunk_size, (unsigned long long)o->max_size);
	return CONN_EINVAL;
}

/* What only makes sense for some output formats or modes. */
static int check_server_options(struct cli_options *o)
{
	if (o->tag && (o->out_format == CONN_FORMAT_RAW ||
		       o->out_format == CONN_FORMAT_FRAMES))
		return conflict(o, "--tag", o->out_format == CONN_FORMAT_RAW ?
				"--out raw" : "--out frames");
	if ((o->tag || o->broadcast || o->max_conns != DEFAULT_MAX_CONNS ||
	     o->startups_set || o->max_buffer != DEFAULT_MAX_BUFFER) &&
	    !o->keep_open)
		return invalid(o, "%s needs -k (--keep-open)", o->tag ?
			       "--tag" : o->broadcast ? "--broadcast" :
			       o->startups_set ? "--max-startups" :
			       o->max_buffer != DEFAULT_MAX_BUFFER ?
			       "--max-buffer" : "--max-conns");
	if (o->tag && o->exec_argv)
		return conflict(o, "--tag", "--exec");
	if (o->broadcast && o->exec_argv)
		return conflict(o, "--broadcast", "--exec");
	return check_sendq_options(o);
}

/* --forward-authkey-file's key (without it the leg takes the listening
 * side's, or none with --forward-no-authkey: see forward_key()). */
static int load_forward_key(struct cli_options *o)
{
	if (o->forward == NULL || o->forward_authkey_file == NULL)
		return 0;
	return load_key_file(o, &o->forward_key, o->forward_authkey_file);
}

/* --forward relays between two sockets: stdin, stdout and what stands for
 * them have no part in it; the --trace options need it. */
static int check_forward_options(struct cli_options *o)
{
	struct conn_address target;
	char why[160];
	const char *needs = o->forward_authkey_file ? "--forward-authkey-file"
			    : o->forward_no_authkey ? "--forward-no-authkey"
			    : o->forward_auth_flags ? "--forward-no-md5"
			    : o->forward_digest != CONN_DIGEST_SHA256 ?
			    "--forward-digest"
			    : o->trace ? "--trace"
			    : o->trace_file ? "--trace-file"
			    : o->record ? "--record" : NULL;

	if (o->forward == NULL && needs)
		return invalid(o, "%s needs --forward", needs);
	if (o->forward == NULL)
		return 0;
	if (conn_address_from_text(&target, why, sizeof(why), o->forward))
		return invalid(o, "--forward: %s", why);
	if (o->stdio_option)
		return conflict(o, "--forward", o->stdio_option);
	if (o->forward_authkey_file && o->forward_no_authkey)
		return conflict(o, "--forward-authkey-file",
				"--forward-no-authkey");
	if (o->trace_file && !o->trace)
		return invalid(o, "%s", "--trace-file needs --trace");
	return 0;
}

/* --trace's records go to stderr, or to --trace-file FILE, made anew. */
static int open_trace(struct cli_options *o)
{
	if (!o->trace)
		return 0;
	if (o->trace_file == NULL) {
		o->trace_fd = STDERR_FILENO;
		return 0;
	}
	o->trace_fd = open(o->trace_file, O_WRONLY | O_CREAT | O_TRUNC |
			   O_APPEND | O_CLOEXEC, 0666);
	if (o->trace_fd >= 0)
		return 0;
	snprintf(o->detail, sizeof(o->detail), "cannot open --trace-file "
		 "%s: %s", o->trace_file, strerror(errno));
	return CONN_EIO;
}

/* --record FILE: made anew, its header written, before -k forks. */
static int open_record(struct cli_options *o)
{
	char why[180];
	int rc;

	if (o->record == NULL)
		return 0;
	rc = conn_capture_open(&o->capture, why, sizeof(why), o->record);
	if (rc)
		snprintf(o->detail, sizeof(o->detail), "--record: %s", why);
	return rc;
}

/* conn-pipe --in pcap prints what it reads, tagged: nothing is sent, no
 * command runs, and the output needs records for its tags. */
static int check_capture_options(struct cli_options *o, bool pipe)
{
	if (o->in_pcap && !pipe)
		return invalid(o, "%s", "--in pcap is conn-pipe's alone");
	if (o->port && !o->in_pcap)
		return invalid(o, "%s", "--port needs --in pcap");
	if (!o->in_pcap)
		return 0;
	if (o->out_format == CONN_FORMAT_RAW ||
	    o->out_format == CONN_FORMAT_FRAMES)
		return conflict(o, "--in pcap", o->out_format ==
				CONN_FORMAT_RAW ? "--out raw" : "--out frames");
	if (o->exec_argv)
		return conflict(o, "--in pcap", "--exec");
	if (o->data_count)
		return conflict(o, "--in pcap", "--data");
	if (o->policy_file)
		return conflict(o, "--in pcap", "--pickle-policy");
	if (o->send_only || o->echo)
		return conflict(o, "--in pcap", o->echo ? "--echo"
							: "--send-only");
	return 0;
}

/*
 * The memory a message's decoded objects may take when it is rendered or
 * judged by a single connection (-k sets its own, server-render.c): one
 * message is held at a time, whole up to --max-size, and its objects may
 * take as much again; never less than -k's default (half of 64M), for
 * everyday pickles take 10 to 17 times their size, and a hand-made one
 * up to 80.  0 (no --max-size): only the decoder's own limits.
 */
static size_t render_memory(uint64_t max_size)
{
	if (max_size == 0 || max_size >= SIZE_MAX)
		return 0;
	return max_size > MIN_RENDER_MEMORY ? (size_t)max_size
					     : MIN_RENDER_MEMORY;
}

int cli_options_finish(struct cli_options *o, enum cli_operands kind,
		       int argc, char **argv)
{
	int rc;

	if (!conn_format_is_input(o->in_format))
		return invalid(o, "format '%s' is for output only",
			       conn_format_name(o->in_format));
	if (o->send_only && o->recv_only)
		return conflict(o, "--send-only", "--recv-only");
	if (o->data_count && o->recv_only)
		return conflict(o, "--data", "--recv-only");
	if (o->echo && (o->send_only || o->recv_only))
		return conflict(o, "--echo", o->send_only ? "--send-only"
							  : "--recv-only");
	if (o->echo && (o->exec || o->sh_exec))
		return conflict(o, "--echo", o->exec ? "--exec" : "--sh-exec");
	if (o->exec && o->sh_exec)
		return conflict(o, "--exec", "--sh-exec");
	if (o->authkey_file && o->authkey_text)
		return conflict(o, "--authkey", "--authkey-file");
	if (o->policy_file && o->echo)
		return conflict(o, "--pickle-policy", "--echo");
	if (make_exec_argv(o))
		return CONN_ENOMEM;
	if (check_server_options(o) || check_chunk_size(o) ||
	    check_forward_options(o) || cli_tls_options_check(o) ||
	    check_capture_options(o, kind == CLI_OPERANDS_PIPE) ||
	    load_policy(o))
		return CONN_EINVAL;
	o->render.max_memory = render_memory(o->max_size);
	if (kind == CLI_OPERANDS_PIPE)
		return take_pipe_operands(o, argc, argv);
	rc = cli_sockets_finish(o, argc, argv);	/* #18 sockets */
	if (rc == CONN_EAGAIN)
		return invalid(o, "%s", "missing ADDRESS");
	if (rc)
		return rc;
	if (argc > 1)
		return invalid(o, "unexpected argument '%s'", argv[1]);
	if (o->address == NULL)
		o->address = argv[0];
	rc = load_key(o);
	if (rc == 0)
		rc = load_forward_key(o);
	if (rc == 0)
		rc = probe_options_check(o);	/* #18 probe */
	if (rc == 0)
		rc = handle_options_check(o);	/* #18 fd passing */
	if (rc == 0)
		rc = open_trace(o);
	return rc ? rc : open_record(o);
}
