/* conn-pipe - both ends of a connection in one place: convert between
 * message formats, or drive a command over a framed pipe. */
#include "tool.h"

int main(int argc, char **argv)
{
	static const struct tool_spec spec = {
		.program = "conn-pipe",
		.options = &cli_pipe_options,
		.operands = CLI_OPERANDS_PIPE,
		.help_head =
"Usage: conn-pipe [OPTION]... [FILE]\n"
"  or:  conn-pipe [OPTION]... --exec CMD [ARG]...\n"
"Convert the messages of FILE (or stdin) from the --in format to the --out\n"
"format on stdout, with no network; or run CMD with a framed pipe on its\n"
"stdin and stdout while stdin and stdout here speak the chosen formats.\n"
"\n"
"Options:\n",
		.help_tail =
"\n"
"Exit status: 0 success, 1 local I/O error or CMD failed, 2 usage,\n"
"3 connection, 5 protocol (malformed input or message); with --out audit\n"
"or audit-json, by the worst verdict: 0 likely safe, 10 suspicious,\n"
"11 likely unsafe, 12 overtly malicious.\n"
"\n"
"Full documentation: man conn-pipe\n",
		.session = cli_session_pipe,
		.exit_by_verdict = true,
	};

	return tool_main(&spec, argc, argv);
}
