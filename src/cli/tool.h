/*
 * tool.h - the front end the mains share: printing, exit statuses, signals.
 * Not part of the core library; the core never prints.
 */
#ifndef CONN_TOOL_H
#define CONN_TOOL_H

#include "cli.h"

#include <getopt.h>
#include <stdio.h>

typedef int tool_session_fn(char *detail, size_t capacity,
			    const struct cli_options *o,
			    volatile sig_atomic_t *stop, conn_log_fn *log,
			    void *log_ctx);

/* Puts /dev/null on a closed stdin, stdout or stderr, so that no socket
 * takes their place; closed[] says which were closed. */
void tool_hold_standard_fds(bool closed[3]);

/* Prints "PROGRAM (conn-tools) VERSION" and the GNU licence lines; 0. */
CONN_NODISCARD
int tool_version(const char *program);

/* status, or CONN_EXIT_IO with a line on stderr when stdout could not
 * be written (--help > /dev/full). */
CONN_NODISCARD
int tool_check_stdout(const char *program, int status);

/* Prints "PROGRAM: detail" and GNU's "Try 'PROGRAM --help' for more
 * information."; returns the usage status. */
CONN_NODISCARD
int tool_usage_error(const char *program, const char *detail);

/* SIGINT/SIGTERM interrupt blocking calls (no SA_RESTART) and set the
 * returned flag, which the core checks; SIGPIPE is ignored, so a closed
 * socket or pipe is an error value. */
volatile sig_atomic_t *tool_install_signals(void);

/* Prints the error line for rc (none for a quiet end), with the --help
 * hint when rc is a usage error, and returns the exit status. */
CONN_NODISCARD
int tool_report(const char *program, int rc, const char *detail);

/* What makes one tool: its name, its options (getopt_long's tables and
 * --help's lines come from them), the --help text before and after the
 * options, and the session it runs. */
struct tool_spec {
	const char *program;
	const struct cli_option_layout *options;
	enum cli_operands operands;
	const char *help_head;		/* up to "Options:\n" */
	const char *help_tail;
	tool_session_fn *session;
	bool exit_by_verdict;		/* --out audit: the worst verdict's
					 * status (conn-pipe) */
};

/* --out audit's exit statuses, past those of conn.h's CONN_EXIT_. */
enum {
	TOOL_EXIT_SUSPICIOUS = 10,
	TOOL_EXIT_LIKELY_UNSAFE = 11,
	TOOL_EXIT_OVERTLY_MALICIOUS = 12
};

/* The whole --help: head, the option lines, tail. */
void tool_help(FILE *out, const char *head,
	       const struct cli_option_layout *l, const char *tail);

/* The one-line usage error for an option getopt_long refused (ch is '?'
 * or ':'), with the --help hint; the usage status. */
CONN_NODISCARD
int tool_option_error(const char *program, int ch, char **argv);

/* What --help, --version and --list-options print (code is 'h', 'V' or
 * CLI_OPT_LIST_OPTIONS): the exit status. */
CONN_NODISCARD
int tool_info(const struct tool_spec *spec, int code);

/* Parses argv, runs the session, and returns the exit status: the whole
 * life of a tool after main(). */
CONN_NODISCARD
int tool_main(const struct tool_spec *spec, int argc, char **argv);

#endif
