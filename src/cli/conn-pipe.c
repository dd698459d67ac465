/* conn-pipe - both ends of a connection in one place: convert between
 * message formats, or drive a command over a framed pipe. */
#include "tool.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: conn-pipe [OPTION]... [FILE]\n"
"  or:  conn-pipe [OPTION]... --exec CMD [ARG]...\n"
"Convert the messages of FILE (or stdin) from the --in format to the --out\n"
"format on stdout, with no network; or run CMD with a framed pipe on its\n"
"stdin and stdout while stdin and stdout here speak the chosen formats.\n"
"\n"
"Options:\n%s"
"  -e, --exec CMD [ARG]... run CMD; the arguments after it are its own\n"
"  -h, --help              display this help and exit\n"
"  -V, --version           output version information and exit\n"
"\n"
"Exit status: 0 success, 1 local I/O error or CMD failed, 2 usage,\n"
"3 connection, 5 protocol (malformed input or message).\n"
"\n"
"Full documentation: man conn-pipe\n", cli_options_help_messages());
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		CLI_MESSAGE_LONG_OPTIONS,
		{ "exec", required_argument, NULL, CLI_OPT_EXEC },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tool_spec spec = {
		.program = "conn-pipe",
		.short_options = CLI_MESSAGE_SHORT_OPTIONS
				 CLI_EXEC_SHORT_OPTIONS,
		.long_options = long_options,
		.operands = CLI_OPERANDS_PIPE,
		.usage = usage,
		.session = cli_session_pipe,
	};

	return tool_main(&spec, argc, argv);
}
