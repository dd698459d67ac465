/*
 * tool.h - the front end the mains share: printing, exit statuses, signals.
 * Not part of the core library; the core never prints.
 */
#ifndef CONN_TOOL_H
#define CONN_TOOL_H

#include "conn.h"

#include <stdio.h>

typedef int tool_session_fn(char *detail, size_t capacity,
			    const struct conn_options *o,
			    volatile sig_atomic_t *stop, conn_log_fn *log,
			    void *log_ctx);

/* Prints "PROGRAM (conn-tools) VERSION" and the GNU licence lines; 0. */
int tool_version(const char *program);

/* Prints "PROGRAM: detail" and a --help hint; returns the usage status. */
int tool_usage_error(const char *program, const char *detail);

/* The one-line error for an option getopt_long refused (returned '?' or
 * ':', with opterr = 0 and a ':' leading the short options). */
int tool_option_error(const char *program, int ch, char **argv);

/* Runs a session with signals, logging and key warnings set up; frees o
 * and returns the exit status. */
int tool_run(const char *program, struct conn_options *o,
	     tool_session_fn *session);

#endif
