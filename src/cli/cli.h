/*
 * cli.h - the command-line layer shared by the four tools: options,
 * sessions, the -k server, --exec.  Private to src/cli/: nothing here is
 * installed or in libconn.a; the cli_ prefix keeps it out of the
 * library's conn_ namespace.  Built over the core's public API (conn.h);
 * the files that still reach into the core's internal.h say why ("phase
 * 2": the public non-blocking channel API takes its place).
 *
 * Copyright (C) 2026 the conn-tools authors.  GPL-3.0-or-later.
 */
#ifndef CONN_CLI_H
#define CONN_CLI_H

#include "conn.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* ---------------------------------------------------------- shared options */

/* --progress=WHEN: the tool turns AUTO into ALWAYS or NEVER from isatty(). */
enum cli_progress_when {
	CLI_PROGRESS_NEVER, CLI_PROGRESS_AUTO, CLI_PROGRESS_ALWAYS
};

/* --tls and the options that go with it, for one leg (tls-options.c):
 * the tool's own in o->tls, conn-listen --forward's leg to TARGET
 * (--forward-tls...) in o->forward_tls, read and checked alike. */
struct cli_tls_options {
	bool on;			/* any TLS option given */
	bool psk;			/* --tls-psk */
	const char *cert, *key, *ca, *name, *pin;
	int min;			/* --tls-min 12 or 13; 0 not given */
	bool insecure;
	const char *first;		/* the first TLS option given */
	const char *prefix;		/* "--" or "--forward-": its names */
	struct conn_tls_config *config;	/* made by cli_tls_setup() */
};

/* The options all tools share, parsed once here for every tool; the one
 * line of detail of a failure is in .detail. */
struct cli_options {
	const char *address;
	const char *file;		/* conn-pipe: input file, or NULL */
	const char *exec;		/* --exec CMD */
	const char *sh_exec;		/* --sh-exec LINE */
	char **exec_args;		/* the ARGs after --exec CMD */
	int exec_args_count;
	char **exec_argv;		/* CMD and its ARGs, NULL-ended */
	enum conn_family family;
	struct conn_key *key;
	const char *authkey_text;	/* for the warning only, then wiped */
	bool authkey_from_option;
	const char *authkey_file;
	enum conn_digest digest;
	unsigned auth_flags;
	int64_t handshake_timeout_ms;	/* 0 = none */
	int64_t wait_ms;
	enum conn_format in_format, out_format;
	bool in_pcap;			/* conn-pipe --in pcap: a capture */
	uint16_t port;			/* --port: its conversations; 0 all */
	size_t chunk_size;
	bool chunk_size_given;		/* --chunk-size, not the default */
	uint64_t max_size;
	const char **data;
	size_t *data_len;
	size_t data_count;
	uint64_t count;
	bool send_only, recv_only, close_on_eof;
	int pickle_protocol;
	struct conn_render_options render;	/* --python-repr */
	bool keep_going;
	const char *policy_file;	/* --pickle-policy FILE */
	struct conn_pickle_policy *policy;	/* ... parsed */
	/* --out audit: the worst verdict written, for conn-pipe's exit
	 * status (the tool points it at its own variable) */
	enum conn_pickle_verdict *verdict;
	bool echo;
	bool keep_open;			/* -k: serve connection after connection */
	uint64_t max_conns;		/* at once (default 100) */
	/* --max-startups START:RATE:FULL, connections in the handshake */
	uint64_t startups_start, startups_rate, startups_full;
	bool startups_set;		/* given: -k needed */
	int report_fd;			/* -k --exec child: a pipe to the
					 * server, a newline once the peer is
					 * authenticated; -1: none */
	uint64_t max_buffer;		/* -k: bytes of messages held, about */
	uint64_t max_accepts;		/* in all, then stop; 0 = no limit */
	bool tag;			/* prefix output with the peer's address */
	bool broadcast;			/* stdin messages to every client */
	uint64_t max_sendq;		/* -k: a client this far behind goes */
	int64_t send_timeout_ms;	/* -k: so does one stalled this long */
	int64_t render_timeout_ms;	/* -k: CPU a rendering may take */
	enum cli_progress_when progress;
	const unsigned *progress_width;	/* set by the tool: see the relay's */
	int verbose;
	bool quiet;
	/* --forward TARGET (server-forward.c): the other leg's address,
	 * key (NULL: keyless) and handshake */
	const char *forward;
	const char *forward_authkey_file;
	bool forward_no_authkey;
	struct conn_key *forward_key;
	enum conn_digest forward_digest;
	unsigned forward_auth_flags;
	const char *stdio_option;	/* the first one given that uses
					 * stdin or stdout, for conflicts */
	/* --trace FMT [--trace-file FILE] (trace.c) */
	bool trace;
	enum conn_format trace_format;
	const char *trace_file;
	int trace_fd;			/* where records go; -1: none */
	uint64_t conn_serial;		/* the connection's number (-k) */
	/* --record FILE (record.c): opened before -k forks */
	const char *record;
	struct conn_capture *capture;
	struct cli_tls_options tls;
	struct cli_tls_options forward_tls;	/* TARGET's leg */
	/* #18 sockets (sockets.c, activation.c) */
	unsigned tool;			/* the enum cli_tool bit running */
	int backlog;			/* --backlog N (listen()) */
	int fd;				/* --fd N, or the activated one; -1 */
	const char *fd_name;		/* --fd-name NAME (LISTEN_FDNAMES) */
	const char *fd_origin;		/* "--fd", "LISTEN_FDS": for errors */
	bool inetd;			/* --inetd: the connection on fds 0/1 */
	int64_t connect_timeout_ms;	/* -w: each attempt; 0 = none */
	int64_t idle_timeout_ms;	/* -i: no message for this long; 0 */
	const char *source;		/* -s ADDR (conn-client) */
	/* #18 probe: conn-client --probe (probe.c) */
	bool probe;
	bool probe_all;			/* a connection per reply digest */
	bool probe_json;		/* --json: the report as JSON */
	int64_t probe_wait_ms;		/* for a silent peer's first bytes */
	/* #18 fd passing: conn-client --send-fd, --recv-fd (handle.c) */
	bool send_fd_given;
	int send_fd;			/* passed to the peer after the
					 * handshake */
	bool recv_fd;			/* one from the peer, for --exec */
	char detail[200];
};

/* Option codes for shared long options that have no short letter. */
enum cli_option_code {
	CLI_OPT_IN = 0x100, CLI_OPT_OUT, CLI_OPT_CHUNK_SIZE,
	CLI_OPT_MAX_SIZE, CLI_OPT_DATA, CLI_OPT_SEND_ONLY,
	CLI_OPT_RECV_ONLY, CLI_OPT_CLOSE_ON_EOF, CLI_OPT_AUTHKEY_FILE,
	CLI_OPT_AUTHKEY, CLI_OPT_DIGEST, CLI_OPT_NO_MD5,
	CLI_OPT_HANDSHAKE_TIMEOUT, CLI_OPT_WAIT, CLI_OPT_PICKLE_PROTOCOL,
	CLI_OPT_KEEP_GOING, CLI_OPT_PICKLE_POLICY, CLI_OPT_ECHO, CLI_OPT_SH_EXEC,
	CLI_OPT_MAX_CONNS, CLI_OPT_MAX_ACCEPTS, CLI_OPT_TAG,
	CLI_OPT_BROADCAST, CLI_OPT_PROGRESS, CLI_OPT_LIST_OPTIONS,
	CLI_OPT_MAX_SENDQ, CLI_OPT_SEND_TIMEOUT, CLI_OPT_MAX_STARTUPS,
	CLI_OPT_MAX_BUFFER, CLI_OPT_RENDER_TIMEOUT, CLI_OPT_PYTHON_REPR,
	CLI_OPT_FORWARD, CLI_OPT_FORWARD_AUTHKEY_FILE,
	CLI_OPT_FORWARD_NO_AUTHKEY, CLI_OPT_FORWARD_DIGEST,
	CLI_OPT_FORWARD_NO_MD5, CLI_OPT_TRACE, CLI_OPT_TRACE_FILE,
	CLI_OPT_PORT, CLI_OPT_RECORD, CLI_OPT_TLS, CLI_OPT_TLS_PSK,
	CLI_OPT_TLS_CERT, CLI_OPT_TLS_KEY, CLI_OPT_TLS_CA, CLI_OPT_TLS_NAME,
	CLI_OPT_TLS_PIN, CLI_OPT_TLS_MIN, CLI_OPT_TLS_INSECURE,
	CLI_OPT_FORWARD_TLS_PSK, CLI_OPT_FORWARD_TLS, CLI_OPT_FORWARD_TLS_CERT,
	CLI_OPT_FORWARD_TLS_KEY, CLI_OPT_FORWARD_TLS_CA,
	CLI_OPT_FORWARD_TLS_NAME, CLI_OPT_FORWARD_TLS_PIN,
	CLI_OPT_FORWARD_TLS_MIN, CLI_OPT_FORWARD_TLS_INSECURE,
	/* #18 sockets */
	CLI_OPT_BACKLOG, CLI_OPT_FD, CLI_OPT_FD_NAME, CLI_OPT_INETD,
	CLI_OPT_CONNECT_TIMEOUT = 'w', CLI_OPT_IDLE_TIMEOUT = 'i',
	CLI_OPT_SOURCE = 's'
};

/* #18 probe: conn-client --probe's option codes. */
enum cli_probe_option_code {
	CLI_OPT_PROBE = 0x300, CLI_OPT_PROBE_ALL, CLI_OPT_PROBE_WAIT,
	CLI_OPT_PROBE_JSON,
	CLI_OPT_SEND_FD, CLI_OPT_RECV_FD	/* #18 fd passing */
};

/* conn-bench's own option codes. */
enum cli_bench_option_code {
	CLI_OPT_WORKLOAD = 'w', CLI_OPT_PARALLEL = 'P', CLI_OPT_DURATION = 't',
	CLI_OPT_INTERVAL = 'i', CLI_OPT_REVERSE = 'R',
	CLI_OPT_SIZE = 0x200, CLI_OPT_TRANSPORT,
	CLI_OPT_JSON, CLI_OPT_JSON_STREAM, CLI_OPT_VS_PYTHON,
	CLI_OPT_PYTHON_PEER, CLI_OPT_BIDIR
};

/* ----------------------------------------------------------- option table */

/* Which tools take an option. */
enum cli_tool {
	CLI_LISTEN = 1 << 0, CLI_CLIENT = 1 << 1, CLI_PIPE = 1 << 2,
	CLI_BENCH = 1 << 3,
	CLI_NETWORK_TOOLS = CLI_LISTEN | CLI_CLIENT | CLI_BENCH,
	CLI_RELAY_TOOLS = CLI_LISTEN | CLI_CLIENT | CLI_PIPE,
	CLI_ALL_TOOLS = CLI_RELAY_TOOLS | CLI_BENCH
};

/* Where an option's line goes in --help: each tool lists the groups in
 * its own order. */
enum cli_option_group {
	CLI_GROUP_MESSAGES, CLI_GROUP_NETWORK, CLI_GROUP_TLS, CLI_GROUP_WAIT,
	CLI_GROUP_SERVER, CLI_GROUP_FORWARD, CLI_GROUP_EXEC, CLI_GROUP_HELP, CLI_GROUP_TOOL,
	CLI_GROUP_TOOL_END,
	CLI_GROUP_PROBE		/* #18 probe */
};

/* Completion values of an option that are not words of their own. */
#define CLI_VALUES_FILE "@file"		/* a file name */
#define CLI_VALUES_COMMAND "@command"	/* a command, then its own words */
#define CLI_VALUES_LINE "@line"		/* a command, in one word */

/* One option, described once: getopt_long's table, --help's lines and the
 * completion's list (--list-options) all come from these rows. */
struct cli_option_spec {
	const char *name;	/* long name, or NULL (-4, -0) */
	int letter;		/* short letter, or 0 */
	int code;		/* what getopt_long returns for it */
	int has_arg;		/* no_argument, required_argument, ... */
	const char *placeholder; /* as --help writes it: "=FMT", "[=WHEN]",
				  * " CMD [ARG]..."; "" for none */
	unsigned tools;		/* enum cli_tool bits */
	enum cli_option_group group;
	const char *help;	/* its lines, '\n' between; NULL: hidden */
	const char *values;	/* completion: words, CLI_VALUES_*, or NULL */
};

/* A piece of a tool's option list: the rows of table in group. */
struct cli_option_section {
	const struct cli_option_spec *table;	/* ended by a zero row */
	enum cli_option_group group;
};

/* A tool's options: its bit and its sections, in --help's order, ended by
 * one with a NULL table. */
struct cli_option_layout {
	unsigned tool;
	const struct cli_option_section *sections;
};

/* Each tool's options (options-table.c). */
extern const struct cli_option_layout cli_listen_options, cli_client_options,
	cli_pipe_options, cli_bench_options;

/* The most options a tool has, for the getopt tables built from a
 * layout. */
#define CLI_MAX_OPTIONS 80

/* Calls fn on each option of the layout that the tool takes, in order. */
void cli_option_each(const struct cli_option_layout *l,
		     void (*fn)(const struct cli_option_spec *, void *),
		     void *ctx);

/* Fills getopt_long's tables from the layout: longs (CLI_MAX_OPTIONS + 1
 * entries, zero-ended) and shorts (":" first, 3 * CLI_MAX_OPTIONS + 2
 * bytes); CONN_EINVAL if the layout has too many. */
CONN_NODISCARD
int cli_getopt_tables(const struct cli_option_layout *l, struct option *longs,
		      char *shorts);

/* Prints the --help lines of the layout's options. */
void cli_help_print(FILE *out, const struct cli_option_layout *l);

/* Prints the completion's list, one line per word that names an option:
 * "WORD ARG VALUES...", WORD as it completes ("--format=", "-f"), ARG its
 * placeholder ("-" for none, "?" first when optional), then its values. */
void cli_options_list(FILE *out, const struct cli_option_layout *l);

/* What the operands after the options are. */
enum cli_operands {
	CLI_OPERANDS_ADDRESS,	/* exactly one ADDRESS */
	CLI_OPERANDS_PIPE	/* [FILE], or the ARGs after --exec CMD */
};

void cli_options_init(struct cli_options *o);
void cli_options_free(struct cli_options *o);

/* Applies one option getopt_long returned; CONN_EINVAL with o->detail set,
 * or CONN_EAGAIN when code is not a shared option. */
CONN_NODISCARD
int cli_options_set(struct cli_options *o, int code, char *arg);

/* After the last option: checks conflicts, takes the operands and loads
 * the key (CONN_AUTHKEY when no option gave one, for ADDRESS tools). */
CONN_NODISCARD
int cli_options_finish(struct cli_options *o, enum cli_operands kind,
		       int argc, char **argv);

/* --tls and its options (tls-options.c): one of them, CONN_EINVAL with
 * o->detail set, or CONN_EAGAIN when code is not one. */
CONN_NODISCARD
int cli_tls_option_set(struct cli_options *o, int code, char *arg);
/* Their conflicts, after the last option. */
CONN_NODISCARD
int cli_tls_options_check(struct cli_options *o);
/* Makes o->tls.config for the tool (CLI_LISTEN: the server's side) and
 * o->forward_tls.config (a client of TARGET) from the options, files read
 * and the keys' PSKs derived; CONN_EINVAL with o->detail set.  Nothing
 * without TLS options. */
CONN_NODISCARD
int cli_tls_setup(struct cli_options *o, unsigned tool);
/* Puts TLS on c when the options ask for it, within the handshake
 * timeout; -v says what was agreed through log. */
CONN_NODISCARD
int cli_tls_start(char *detail, size_t capacity, struct conn_channel *c,
		  const struct cli_options *o, conn_log_fn *log, void *ctx);

/* Parses a size with an optional K, M or G suffix, at most max. */
CONN_NODISCARD
int cli_parse_size(uint64_t *out, const char *text, uint64_t max);
/* Parses seconds (fractions allowed, at most max_s) into milliseconds. */
CONN_NODISCARD
int cli_parse_seconds(int64_t *ms, const char *text, double max_s);

/* Every option's number goes through these two: a size or count in
 * [min, max], or seconds in [min_ms, max_s]; else CONN_EINVAL with
 * "invalid NAME 'ARG'" in detail, then " (hint)" or " (seconds)". */
CONN_NODISCARD
int cli_option_size(char *detail, size_t capacity, uint64_t *out,
		    const char *name, const char *arg, uint64_t min,
		    uint64_t max, const char *hint);
CONN_NODISCARD
int cli_option_seconds(char *detail, size_t capacity, int64_t *ms,
		       const char *name, const char *arg, int64_t min_ms,
		       double max_s);

/* #18 sockets (sockets.c): --backlog, --fd, --fd-name, --inetd, -w, -i,
 * -s; CONN_EAGAIN when code is none of them. */
CONN_NODISCARD
int cli_sockets_set(struct cli_options *o, int code, char *arg);
/* Their conflicts, and where the connection comes from when there is no
 * ADDRESS operand (argc 0): --fd, --inetd or LISTEN_FDS; o->address is
 * then a label for messages.  CONN_EAGAIN: no operand and none of them. */
CONN_NODISCARD
int cli_sockets_finish(struct cli_options *o, int argc, char **argv);
/* conn-listen's listener: the --fd or activated socket, else ADDRESS
 * bound with --backlog. */
CONN_NODISCARD
int cli_sockets_listener(struct conn_listener **l, char *detail,
			 size_t capacity, const struct cli_options *o);
/* conn-client's connection: the --fd socket, else ADDRESS connected to
 * (--wait, -w, -s); the peer's name in peer. */
CONN_NODISCARD
int cli_sockets_connect(int *fd, char *peer, size_t peer_capacity,
			char *detail, size_t capacity,
			const struct cli_options *o,
			volatile sig_atomic_t *stop);
/* conn-listen --inetd: serves the one connection on fds 0 and 1. */
CONN_NODISCARD
int cli_sockets_inetd(char *detail, size_t capacity,
		      const struct cli_options *o,
		      volatile sig_atomic_t *stop, conn_log_fn *log,
		      void *log_ctx);
/* systemd socket activation (activation.c): when LISTEN_PID is ours, the
 * descriptor LISTEN_FDS passes (named name in LISTEN_FDNAMES, if not
 * NULL) in *fd, and the variables unset for our children; CONN_EAGAIN
 * when none is passed to us, CONN_EINVAL with detail for a name not
 * there or a choice to make. */
CONN_NODISCARD
int cli_activation_fd(int *fd, char *detail, size_t capacity,
		      const char *name);

/* --------------------------------------------------------------- sessions */

/* What the tools run: accept or connect, authenticate, relay. */
CONN_NODISCARD
int cli_session_listen(char *detail, size_t capacity,
		       const struct cli_options *o,
		       volatile sig_atomic_t *stop, conn_log_fn *log,
		       void *log_ctx);
CONN_NODISCARD
int cli_session_connect(char *detail, size_t capacity,
			const struct cli_options *o,
			volatile sig_atomic_t *stop, conn_log_fn *log,
			void *log_ctx);
/* conn-pipe: convert FILE or stdin between formats over an in-process
 * socketpair, or relay stdin/stdout with an --exec'd command's framed
 * stdin/stdout. */
CONN_NODISCARD
int cli_session_pipe(char *detail, size_t capacity,
		     const struct cli_options *o,
		     volatile sig_atomic_t *stop, conn_log_fn *log,
		     void *log_ctx);

/*
 * The tag and a blank at the start of each record of data (records end in
 * sep), data starting one if *at_start, into b; with close, the last
 * record (maybe empty) gets its sep, as a plain format ends a message.
 * Without it, a record-ending byte inside a message would start a line
 * on which the message could forge another's tag.  A message taken in
 * pieces keeps *at_start from one to the next (tag.c).
 */
CONN_NODISCARD
int cli_tag_records(struct conn_buffer *b, const char *tag,
		    const char *data, size_t len, char sep, bool close,
		    bool *at_start);

/* conn-pipe --in pcap: the messages of the conversations of the capture
 * FILE (or stdin) on stdout (capture.c). */
CONN_NODISCARD
int cli_capture_read(char *detail, size_t capacity,
		     const struct cli_options *o, conn_log_fn *log,
		     void *log_ctx);

/* --------------------------------------------------------------- sessions */

/* Authenticates (when there is a key) and relays over a channel reading
 * rfd and writing wfd, which it takes over; with --exec (network tools),
 * relays with the command instead of in_fd and stdout.  peer names the
 * other end for the command's CONN_PEER (serve.c). */
CONN_NODISCARD
int session_serve(char *detail, size_t capacity, int rfd, int wfd,
		  int in_fd, const struct cli_options *o,
		  enum conn_role role, const char *peer,
		  volatile sig_atomic_t *stop, conn_log_fn *log, void *ctx);

/* Authenticates c in role with o's key, digest and flags, within the
 * handshake timeout; digest (16 bytes) gets the digest the peer answered
 * with ("md5", "sha256"...). */
CONN_NODISCARD
int session_authenticate(char *detail, size_t capacity, char *digest,
			 struct conn_channel *c, const struct cli_options *o,
			 enum conn_role role, conn_log_fn *log, void *ctx);

/* --record: one forwarded connection's two legs in the capture
 * (record.c).  Every call is a no-op without --record, or once a write
 * failed (one warning through log). */
enum { RECORD_CLIENT, RECORD_TARGET };	/* the legs */
struct record_conn {
	struct conn_capture *cap;	/* NULL: not recording */
	const char *path;
	uint64_t id[2];			/* each leg's; 0: none yet */
	conn_log_fn *log;
	void *log_ctx;
};

/* Records the client's leg from its connection on, its handshake too. */
void record_start(struct record_conn *r, const struct cli_options *o,
		  struct conn_channel *client, conn_log_fn *log, void *ctx);
/* Records the target's leg from the connection to it on. */
void record_target(struct record_conn *r, struct conn_channel *target);
/* Bytes that went on leg from its client side (dir 0) or its server's
 * (dir 1), frame headers and all. */
void record_bytes(struct record_conn *r, int leg, int dir,
		  const void *bytes, size_t n);
/* Both legs' end. */
void record_end(struct record_conn *r);
CONN_NODISCARD
bool record_on(const struct record_conn *r);

/* --forward: after the handshake with the client on client (peer its
 * name), connects to o->forward, authenticates there and relays messages
 * both ways until both sides are done (server-forward.c). */
CONN_NODISCARD
int forward_serve(char *detail, size_t capacity, struct conn_channel *client,
		  const struct cli_options *o, const char *peer,
		  struct record_conn *rec, volatile sig_atomic_t *stop,
		  conn_log_fn *log, void *ctx);

/* #18 probe: conn-client --probe: connects to o->address, reports on
 * stdout what the peer speaks without sending it any message, and
 * returns 0 when it speaks the protocol (CONN_EPROTO when not, naming
 * what it sent; CONN_EAUTH when our key is refused) (probe.c). */
CONN_NODISCARD
int probe_run(char *detail, size_t capacity, const struct cli_options *o,
	      volatile sig_atomic_t *stop, conn_log_fn *log, void *ctx);
/* #18 probe: --probe's conflicts, once the options are read. */
CONN_NODISCARD
int probe_options_check(struct cli_options *o);

/* #18 fd passing: --send-fd and --recv-fd's checks, once the options
 * are read (handle.c). */
CONN_NODISCARD
int handle_options_check(struct cli_options *o);
/* #18 fd passing: after the handshake, passes --send-fd's descriptor to
 * the peer, then with --recv-fd takes one from it for --exec, inherited
 * at its own number, named in CONN_FD (handle.c). */
CONN_NODISCARD
int handle_pass(char *detail, size_t capacity, struct conn_channel *c,
		const struct cli_options *o, volatile sig_atomic_t *stop);

/* An error in words, the tools' one way (tool.c): "authentication
 * failed: " or "timeout: " before detail, or conn_strerror() without one. */
void cli_error_text(char *out, size_t capacity, int rc, const char *detail);

/* conn-listen -k: serves connection after connection on l, many at once
 * (server.c: server-poll.c, or server-fork.c for --exec), until a signal
 * or --max-accepts. */
CONN_NODISCARD
int server_run(char *detail, size_t capacity, struct conn_listener *l,
	       const struct cli_options *o, volatile sig_atomic_t *stop,
	       conn_log_fn *log, void *ctx);

/* ------------------------------------------------------------------- exec */

/* Starts argv with stdin_fd and stdout_fd as its stdin and stdout, and
 * CONN_PEER / CONN_DIGEST in its environment when not NULL. */
CONN_NODISCARD
int exec_start(pid_t *pid, char *detail, size_t capacity, int stdin_fd,
	       int stdout_fd, char *const argv[], const char *peer,
	       const char *digest);

/* Likewise on two new pipes: *to_cmd writes its stdin, *from_cmd reads its
 * stdout; both ours, non-blocking, close-on-exec. */
CONN_NODISCARD
int exec_start_piped(pid_t *pid, int *to_cmd, int *from_cmd, char *detail,
		     size_t capacity, char *const argv[], const char *peer,
		     const char *digest);

/* Waits for the command; its failure (non-zero exit, a signal) becomes
 * ours (CONN_EIO) unless rc already says something else went wrong. */
CONN_NODISCARD
int exec_reap(char *detail, size_t capacity, pid_t pid, const char *name,
	      int rc);

#endif /* CONN_CLI_H */
