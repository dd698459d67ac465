/* tool.c - the front end of the tools: the one place errors become text
 * on stderr and exit statuses. */
#include <config.h>

#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct tool {
	const char *program;
	bool quiet;
	bool tty;		/* stderr is a terminal */
	bool progress_shown;	/* a progress line is on the terminal */
	unsigned columns;	/* of the terminal, at the last progress line */
	unsigned progress_room;	/* for the core's next progress line */
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

volatile sig_atomic_t *tool_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	/* These fail only for a bad signal number. */
	(void)sigemptyset(&sa.sa_mask);
	/* A hang-up (the terminal closed, or a supervisor's reload signal)
	 * stops us as cleanly as SIGTERM: the socket file goes too. */
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	return &stop_requested;
}

/* The width of the terminal on stderr: its own word, else $COLUMNS,
 * else 80. */
static unsigned terminal_columns(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	char *end;
	unsigned long n;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && *env) {
		n = strtoul(env, &end, 10);
		if (*end == '\0' && n > 0 && n < 100000)
			return (unsigned)n;
	}
	return 80;
}

/* Reads the width again (it is cheap at two lines a second, and follows a
 * resized window) and leaves the core room for "PROGRAM: " and the line
 * short of the last column, so that the line never wraps. */
static void tool_measure(struct tool *t)
{
	size_t taken = strlen(t->program) + 2 + 1;

	t->columns = terminal_columns();
	t->progress_room = t->columns > taken ? t->columns - (unsigned)taken
					      : 1;
}

/* A progress line drawn on the terminal.  "\r\033[K" erases only the
 * row the cursor is on, so a line that wrapped would stay behind: it is
 * cut short of the last column (it was made for the width read last
 * time, which a resize may have changed since). */
static void draw_progress(struct tool *t, const char *line)
{
	char text[512];
	int n;

	tool_measure(t);
	n = snprintf(text, sizeof(text), "%s: %s", t->program, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	if ((unsigned)n > t->columns - 1)
		n = (int)t->columns - 1;
	fwrite(text, 1, (size_t)n, stderr);
}

/* On a terminal a progress line is redrawn in place ("\r", erase the
 * line), and other lines first erase it; elsewhere each is a line. */
static void tool_log(void *ctx, enum conn_log_level level, const char *line)
{
	struct tool *t = ctx;
	bool progress = level == CONN_LOG_PROGRESS ||
			level == CONN_LOG_PROGRESS_END;

	if (t->quiet && !progress && level != CONN_LOG_TRACE)
		return;
	if (t->progress_shown)
		fputs("\r\033[K", stderr);
	t->progress_shown = level == CONN_LOG_PROGRESS && t->tty;
	if (t->progress_shown)
		draw_progress(t, line);
	else
		fprintf(stderr, "%s: %s%s\n", t->program,
			level == CONN_LOG_WARNING ? "warning: " : "", line);
	fflush(stderr);
}

int tool_version(const char *program)
{
	printf("%s (%s) %s\n"
	       "Copyright (C) 2026 the conn-tools authors.\n"
	       "License GPLv3+: GNU GPL version 3 or later "
	       "<https://gnu.org/licenses/gpl.html>.\n"
	       "This is free software: you are free to change and "
	       "redistribute it.\n"
	       "There is NO WARRANTY, to the extent permitted by law.\n",
	       program, PACKAGE_NAME, PACKAGE_VERSION);
	return CONN_EXIT_OK;
}

int tool_check_stdout(const char *program, int status)
{
	/* As GNU tools do: --help >/dev/full is an error, not a success. */
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	fprintf(stderr, "%s: write error: %s\n", program, strerror(errno));
	return CONN_EXIT_IO;
}

/* The second line of every usage error, as GNU tools print it. */
static void tool_help_hint(const char *program)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", program);
}

int tool_usage_error(const char *program, const char *detail)
{
	fprintf(stderr, "%s: %s\n", program,
		detail && detail[0] ? detail : "invalid usage");
	tool_help_hint(program);
	return CONN_EXIT_USAGE;
}

int tool_option_error(const char *program, int ch, char **argv)
{
	char detail[160];
	const char *word = argv[optind - 1];

	if (ch == ':')
		snprintf(detail, sizeof(detail),
			 "option '%s' requires an argument", word);
	else if (optopt && word[1] != '-')
		snprintf(detail, sizeof(detail), "invalid option '-%c'",
			 optopt);
	else
		snprintf(detail, sizeof(detail), "unrecognized option '%s'",
			 word);
	return tool_usage_error(program, detail);
}

void tool_help(FILE *out, const char *head,
	       const struct cli_option_layout *l, const char *tail)
{
	fputs(head, out);
	cli_help_print(out, l);
	fputs(tail, out);
}

int tool_info(const struct tool_spec *spec, int code)
{
	int status = CONN_EXIT_OK;

	if (code == 'h')
		tool_help(stdout, spec->help_head, spec->options,
			  spec->help_tail);
	else if (code == CLI_OPT_LIST_OPTIONS)
		cli_options_list(stdout, spec->options);
	else
		status = tool_version(spec->program);
	return tool_check_stdout(spec->program, status);
}

void cli_error_text(char *out, size_t capacity, int rc,
		    const char *detail)
{
	const char *what = "";

	if (detail == NULL || detail[0] == '\0') {
		snprintf(out, capacity, "%s", conn_strerror(rc));
		return;
	}
	/* "the peer asks for authentication" is no failed attempt. */
	if (rc == CONN_EAUTH && strncmp(detail, "the peer asks", 13))
		what = "authentication failed: ";
	else if (rc == CONN_ETIMEDOUT)
		what = "timeout: ";
	snprintf(out, capacity, "%s%s", what, detail);
}

int tool_report(const char *program, int rc, const char *detail)
{
	char text[1024];

	/* A reader that left (| head) or a stop signal is a quiet end. */
	if (rc == CONN_EPIPE || rc == CONN_EINTR)
		return conn_exit_status(rc);
	cli_error_text(text, sizeof(text), rc, detail);
	fprintf(stderr, "%s: %s\n", program, text);
	/* Found once running (-4 with a Unix socket, a CMD that cannot
	 * run), but still a usage error: the same hint. */
	if (conn_exit_status(rc) == CONN_EXIT_USAGE)
		tool_help_hint(program);
	return conn_exit_status(rc);
}

/* The exit status of a run that went well: by the worst verdict, if
 * asked to. */
static int verdict_status(enum conn_pickle_verdict v)
{
	switch (v) {
	case CONN_PICKLE_SUSPICIOUS: return TOOL_EXIT_SUSPICIOUS;
	case CONN_PICKLE_LIKELY_UNSAFE: return TOOL_EXIT_LIKELY_UNSAFE;
	case CONN_PICKLE_OVERTLY_MALICIOUS:
		return TOOL_EXIT_OVERTLY_MALICIOUS;
	default: return CONN_EXIT_OK;
	}
}

static int run(const char *program, struct cli_options *o,
	       tool_session_fn *session)
{
	struct tool t = { .program = program, .quiet = o->quiet,
			  .tty = isatty(STDERR_FILENO) };
	char detail[512] = "";
	int rc;

	if (o->progress == CLI_PROGRESS_AUTO)
		o->progress = t.tty ? CLI_PROGRESS_ALWAYS
				    : CLI_PROGRESS_NEVER;
	if (t.tty) {
		/* Into a file or pipe, lines are whole. */
		tool_measure(&t);
		o->progress_width = &t.progress_room;
	}

	tool_install_signals();
	if (o->authkey_from_option)
		tool_log(&t, CONN_LOG_WARNING, "--authkey TEXT is visible to "
			 "other users (ps); prefer --authkey-file or "
			 "CONN_AUTHKEY");
	if (o->tls.insecure)
		tool_log(&t, CONN_LOG_WARNING, "--tls-insecure: the peer's "
			 "certificate is not checked; anyone on the path can "
			 "read and change the messages");
	if (o->forward_tls.insecure)
		tool_log(&t, CONN_LOG_WARNING, "--forward-tls-insecure: "
			 "TARGET's certificate is not checked; anyone on the "
			 "path there can read and change the messages");
	rc = session(detail, sizeof(detail), o, &stop_requested, tool_log, &t);
	/* A session writes the descriptor, not stdio's stdout, and reports
	 * its own write errors: there is nothing here to fail. */
	(void)fflush(stdout);
	if (rc)
		return tool_report(program, rc, detail);
	return o->verdict ? verdict_status(*o->verdict) : CONN_EXIT_OK;
}

/*
 * A closed stdin, stdout or stderr (<&-) would be taken by the first
 * socket we open, which would then be read as stdin or written as stdout.
 * /dev/null holds the place: a closed stdin reads as empty, a closed
 * stderr swallows notices; a closed stdout is refused where it is used.
 */
void tool_hold_standard_fds(bool closed[3])
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		closed[fd] = fcntl(fd, F_GETFD) < 0 && errno == EBADF;
		if (closed[fd] &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(CONN_EXIT_IO);
	}
}

/* Sessions that write received messages to stdout need it open. */
static bool writes_stdout(const struct cli_options *o)
{
	return !o->send_only && !o->echo && !o->forward &&
	       !(o->exec_argv && o->address);
}

int tool_main(const struct tool_spec *spec, int argc, char **argv)
{
	struct option long_options[CLI_MAX_OPTIONS + 1];
	char short_options[3 * CLI_MAX_OPTIONS + 2];
	enum conn_pickle_verdict verdict = CONN_PICKLE_LIKELY_SAFE;
	struct cli_options o;
	int ch, status = -1, exec_end = 0;
	bool closed[3];

	tool_hold_standard_fds(closed);
	if (cli_getopt_tables(spec->options, long_options, short_options))
		return tool_usage_error(spec->program, "too many options");
	opterr = 0;
	cli_options_init(&o);
	o.tool = spec->options->tool;	/* #18 sockets: LISTEN_FDS is
					 * conn-listen's */
	while (status < 0 && (ch = getopt_long(argc, argv, short_options,
					       long_options, NULL)) != -1) {
		if (ch == 'h' || ch == 'V' || ch == CLI_OPT_LIST_OPTIONS) {
			status = tool_info(spec, ch);
		} else if (ch == '?' || ch == ':') {
			status = tool_option_error(spec->program, ch, argv);
		} else if (cli_options_set(&o, ch, optarg)) {
			status = tool_usage_error(spec->program, o.detail);
		} else if (ch == 'e') {
			exec_end = optind;
			break;	/* what follows CMD is its arguments */
		}
	}
	if (exec_end) {
		/* One more call with CMD's arguments out of view: getopt
		 * moves the operands it skipped (ADDRESS) behind the options
		 * it took, and ends. */
		getopt_long(exec_end, argv, short_options, long_options,
			    NULL);
		o.exec_args = argv + exec_end;
		o.exec_args_count = argc - exec_end;
		argc = exec_end;
	}
	if (status < 0 && cli_options_finish(&o, spec->operands,
					     argc - optind, argv + optind))
		status = tool_usage_error(spec->program, o.detail);
	if (status < 0 && cli_tls_setup(&o, spec->options->tool))
		status = tool_usage_error(spec->program, o.detail);
	if (status < 0 && closed[STDOUT_FILENO] && writes_stdout(&o)) {
		fprintf(stderr, "%s: cannot write stdout: %s\n", spec->program,
			strerror(EBADF));
		status = CONN_EXIT_IO;
	}
	if (status < 0 && spec->exit_by_verdict &&
	    conn_format_is_audit(o.out_format))
		o.verdict = &verdict;
	if (status < 0)
		status = run(spec->program, &o, spec->session);
	cli_options_free(&o);
	return status;
}
