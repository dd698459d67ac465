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

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* ---------------------------------------------------------- shared options */

/* --progress=WHEN: the tool turns AUTO into ALWAYS or NEVER from isatty(). */
enum cli_progress_when {
	CLI_PROGRESS_NEVER, CLI_PROGRESS_AUTO, CLI_PROGRESS_ALWAYS
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
	size_t chunk_size;
	uint64_t max_size;
	const char **data;
	size_t *data_len;
	size_t data_count;
	uint64_t count;
	bool send_only, recv_only, close_on_eof;
	int pickle_protocol;
	bool keep_going;
	bool echo;
	bool keep_open;			/* -k: serve connection after connection */
	uint64_t max_conns;		/* at once (default 100) */
	uint64_t max_accepts;		/* in all, then stop; 0 = no limit */
	bool tag;			/* prefix output with the peer's address */
	bool broadcast;			/* stdin messages to every client */
	enum cli_progress_when progress;
	const unsigned *progress_width;	/* set by the tool: see the relay's */
	int verbose;
	bool quiet;
	char detail[200];
};

/* Option codes for shared long options that have no short letter. */
enum cli_option_code {
	CLI_OPT_IN = 0x100, CLI_OPT_OUT, CLI_OPT_CHUNK_SIZE,
	CLI_OPT_MAX_SIZE, CLI_OPT_DATA, CLI_OPT_SEND_ONLY,
	CLI_OPT_RECV_ONLY, CLI_OPT_CLOSE_ON_EOF, CLI_OPT_AUTHKEY_FILE,
	CLI_OPT_AUTHKEY, CLI_OPT_DIGEST, CLI_OPT_NO_MD5,
	CLI_OPT_HANDSHAKE_TIMEOUT, CLI_OPT_WAIT, CLI_OPT_PICKLE_PROTOCOL,
	CLI_OPT_KEEP_GOING, CLI_OPT_EXEC, CLI_OPT_ECHO, CLI_OPT_SH_EXEC,
	CLI_OPT_MAX_CONNS, CLI_OPT_MAX_ACCEPTS, CLI_OPT_TAG,
	CLI_OPT_BROADCAST, CLI_OPT_PROGRESS
};

/* The short letters of the shared options, for getopt_long: those about
 * messages (every tool) and those about connections (network tools). */
#define CLI_MESSAGE_SHORT_OPTIONS "f:0c:vq"
#define CLI_NETWORK_SHORT_OPTIONS "46"

/* The shared entries of a getopt_long table (struct option), likewise. */
#define CLI_MESSAGE_LONG_OPTIONS \
	{ "format", required_argument, NULL, 'f' }, \
	{ "in", required_argument, NULL, CLI_OPT_IN }, \
	{ "out", required_argument, NULL, CLI_OPT_OUT }, \
	{ "chunk-size", required_argument, NULL, CLI_OPT_CHUNK_SIZE }, \
	{ "max-size", required_argument, NULL, CLI_OPT_MAX_SIZE }, \
	{ "data", required_argument, NULL, CLI_OPT_DATA }, \
	{ "count", required_argument, NULL, 'c' }, \
	{ "send-only", no_argument, NULL, CLI_OPT_SEND_ONLY }, \
	{ "recv-only", no_argument, NULL, CLI_OPT_RECV_ONLY }, \
	{ "close-on-eof", no_argument, NULL, CLI_OPT_CLOSE_ON_EOF }, \
	{ "pickle-protocol", required_argument, NULL, \
	  CLI_OPT_PICKLE_PROTOCOL }, \
	{ "keep-going", no_argument, NULL, CLI_OPT_KEEP_GOING }, \
	{ "echo", no_argument, NULL, CLI_OPT_ECHO }, \
	{ "progress", optional_argument, NULL, CLI_OPT_PROGRESS }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "quiet", no_argument, NULL, 'q' }

#define CLI_NETWORK_LONG_OPTIONS \
	{ "authkey-file", required_argument, NULL, CLI_OPT_AUTHKEY_FILE }, \
	{ "authkey", required_argument, NULL, CLI_OPT_AUTHKEY }, \
	{ "digest", required_argument, NULL, CLI_OPT_DIGEST }, \
	{ "no-md5", no_argument, NULL, CLI_OPT_NO_MD5 }, \
	{ "handshake-timeout", required_argument, NULL, \
	  CLI_OPT_HANDSHAKE_TIMEOUT }

/* conn-listen's server options and the network tools' --exec. */
#define CLI_SERVER_SHORT_OPTIONS "k"
#define CLI_EXEC_SHORT_OPTIONS "e:"

#define CLI_SERVER_LONG_OPTIONS \
	{ "keep-open", no_argument, NULL, 'k' }, \
	{ "max-conns", required_argument, NULL, CLI_OPT_MAX_CONNS }, \
	{ "max-accepts", required_argument, NULL, CLI_OPT_MAX_ACCEPTS }, \
	{ "tag", no_argument, NULL, CLI_OPT_TAG }, \
	{ "broadcast", no_argument, NULL, CLI_OPT_BROADCAST }

#define CLI_EXEC_LONG_OPTIONS \
	{ "exec", required_argument, NULL, 'e' }, \
	{ "sh-exec", required_argument, NULL, CLI_OPT_SH_EXEC }

/* What the operands after the options are. */
enum cli_operands {
	CLI_OPERANDS_ADDRESS,	/* exactly one ADDRESS */
	CLI_OPERANDS_PIPE	/* [FILE], or the ARGs after --exec CMD */
};

void cli_options_init(struct cli_options *o);
void cli_options_free(struct cli_options *o);

/* Applies one option getopt_long returned; CONN_EINVAL with o->detail set,
 * or CONN_EAGAIN when code is not a shared option. */
int cli_options_set(struct cli_options *o, int code, char *arg);

/* After the last option: checks conflicts, takes the operands and loads
 * the key (CONN_AUTHKEY when no option gave one, for ADDRESS tools). */
int cli_options_finish(struct cli_options *o, enum cli_operands kind,
		       int argc, char **argv);

/* The help lines of the shared options, for --help. */
const char *cli_options_help_messages(void);
const char *cli_options_help_network(void);
const char *cli_options_help_server(void);
const char *cli_options_help_exec(void);

/* Parses a size with an optional K, M or G suffix, at most max. */
int cli_parse_size(uint64_t *out, const char *text, uint64_t max);
/* Parses seconds (fractions allowed, at most max_s) into milliseconds. */
int cli_parse_seconds(int64_t *ms, const char *text, double max_s);

/* --------------------------------------------------------------- sessions */

/* What the tools run: accept or connect, authenticate, relay. */
int cli_session_listen(char *detail, size_t capacity,
		       const struct cli_options *o,
		       volatile sig_atomic_t *stop, conn_log_fn *log,
		       void *log_ctx);
int cli_session_connect(char *detail, size_t capacity,
			const struct cli_options *o,
			volatile sig_atomic_t *stop, conn_log_fn *log,
			void *log_ctx);
/* conn-pipe: convert FILE or stdin between formats over an in-process
 * socketpair, or relay stdin/stdout with an --exec'd command's framed
 * stdin/stdout. */
int cli_session_pipe(char *detail, size_t capacity,
		     const struct cli_options *o,
		     volatile sig_atomic_t *stop, conn_log_fn *log,
		     void *log_ctx);

/* --------------------------------------------------------------- sessions */

/* Authenticates (when there is a key) and relays over a channel reading
 * rfd and writing wfd, which it takes over; with --exec (network tools),
 * relays with the command instead of in_fd and stdout.  peer names the
 * other end for the command's CONN_PEER (serve.c). */
int session_serve(char *detail, size_t capacity, int rfd, int wfd,
		  int in_fd, const struct cli_options *o,
		  enum conn_role role, const char *peer,
		  volatile sig_atomic_t *stop, conn_log_fn *log, void *ctx);

/* An error in words, the tools' one way (tool.c): "authentication
 * failed: " or "timeout: " before detail, or conn_strerror() without one. */
void cli_error_text(char *out, size_t capacity, int rc, const char *detail);

/* conn-listen -k: serves connection after connection on l, many at once
 * (server.c: server-poll.c, or server-fork.c for --exec), until a signal
 * or --max-accepts. */
int server_run(char *detail, size_t capacity, struct conn_listener *l,
	       const struct cli_options *o, volatile sig_atomic_t *stop,
	       conn_log_fn *log, void *ctx);

/* ------------------------------------------------------------------- exec */

/* Starts argv with stdin_fd and stdout_fd as its stdin and stdout, and
 * CONN_PEER / CONN_DIGEST in its environment when not NULL. */
int exec_start(pid_t *pid, char *detail, size_t capacity, int stdin_fd,
	       int stdout_fd, char *const argv[], const char *peer,
	       const char *digest);

/* Likewise on two new pipes: *to_cmd writes its stdin, *from_cmd reads its
 * stdout; both ours, non-blocking, close-on-exec. */
int exec_start_piped(pid_t *pid, int *to_cmd, int *from_cmd, char *detail,
		     size_t capacity, char *const argv[], const char *peer,
		     const char *digest);

/* Waits for the command; its failure (non-zero exit, a signal) becomes
 * ours (CONN_EIO) unless rc already says something else went wrong. */
int exec_reap(char *detail, size_t capacity, pid_t pid, const char *name,
	      int rc);

#endif /* CONN_CLI_H */
