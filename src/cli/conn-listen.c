/* conn-listen - accept connections and relay messages over them. */
#include "tool.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: conn-listen [OPTION]... ADDRESS [--exec CMD [ARG]...]\n"
"Listen on ADDRESS, accept one connection (with -k, one after another and\n"
"many at once), authenticate it if a key is given, then move messages\n"
"between it and stdin/stdout, or CMD (multiprocessing.connection wire\n"
"protocol).\n"
"\n"
"ADDRESS is HOST:PORT, [IPV6]:PORT, :PORT (all interfaces), unix:PATH, a path\n"
"containing '/', or @NAME (abstract). Port 0 picks a free port; the bound\n"
"address is announced on stderr.\n"
"\n"
"Options:\n%s%s%s%s"
"  -h, --help              display this help and exit\n"
"  -V, --version           output version information and exit\n"
"\n"
"The key may also come from the CONN_AUTHKEY environment variable (set\n"
"but empty, it is a usage error).\n"
"Exit status: 0 success, 1 local I/O error, 2 usage, 3 connection,\n"
"4 authentication, 5 protocol, 6 timeout.\n"
"\n"
"Full documentation: man conn-listen\n", cli_options_help_network(),
		cli_options_help_server(), cli_options_help_exec(),
		cli_options_help_messages());
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		CLI_MESSAGE_LONG_OPTIONS,
		CLI_NETWORK_LONG_OPTIONS,
		CLI_SERVER_LONG_OPTIONS,
		CLI_EXEC_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tool_spec spec = {
		.program = "conn-listen",
		.short_options = CLI_MESSAGE_SHORT_OPTIONS
				 CLI_NETWORK_SHORT_OPTIONS
				 CLI_SERVER_SHORT_OPTIONS
				 CLI_EXEC_SHORT_OPTIONS,
		.operands = CLI_OPERANDS_ADDRESS,
		.long_options = long_options,
		.usage = usage,
		.session = cli_session_listen,
	};

	return tool_main(&spec, argc, argv);
}
