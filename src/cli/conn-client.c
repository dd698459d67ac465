/* conn-client - connect, authenticate, and relay messages. */
#include "tool.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: conn-client [OPTION]... ADDRESS [--exec CMD [ARG]...]\n"
"Connect to ADDRESS, authenticate if a key is given, then move messages\n"
"between the connection and stdin/stdout, or CMD (multiprocessing.connection\n"
"wire protocol).\n"
"\n"
"ADDRESS is HOST:PORT, [IPV6]:PORT, :PORT (localhost), unix:PATH, a path\n"
"containing '/', or @NAME (abstract).\n"
"\n"
"Options:\n%s"
"      --wait=SEC          retry connecting for up to SEC seconds\n%s%s"
"  -h, --help              display this help and exit\n"
"  -V, --version           output version information and exit\n"
"\n"
"The key may also come from the CONN_AUTHKEY environment variable (set\n"
"but empty, it is a usage error).\n"
"Exit status: 0 success, 1 local I/O error, 2 usage, 3 connection,\n"
"4 authentication, 5 protocol, 6 timeout.\n"
"\n"
"Full documentation: man conn-client\n", cli_options_help_network(),
		cli_options_help_exec(), cli_options_help_messages());
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		CLI_MESSAGE_LONG_OPTIONS,
		CLI_NETWORK_LONG_OPTIONS,
		{ "wait", required_argument, NULL, CLI_OPT_WAIT },
		CLI_EXEC_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tool_spec spec = {
		.program = "conn-client",
		.short_options = CLI_MESSAGE_SHORT_OPTIONS
				 CLI_NETWORK_SHORT_OPTIONS
				 CLI_EXEC_SHORT_OPTIONS,
		.operands = CLI_OPERANDS_ADDRESS,
		.long_options = long_options,
		.usage = usage,
		.session = cli_session_connect,
	};

	return tool_main(&spec, argc, argv);
}
