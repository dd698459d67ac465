/* conn-client - connect, authenticate, and relay messages. */
#include "tool.h"

int main(int argc, char **argv)
{
	static const struct tool_spec spec = {
		.program = "conn-client",
		.options = &cli_client_options,
		.operands = CLI_OPERANDS_ADDRESS,
		.help_head =
"Usage: conn-client [OPTION]... ADDRESS [--exec CMD [ARG]...]\n"
"Connect to ADDRESS, authenticate if a key is given, then move messages\n"
"between the connection and stdin/stdout, or CMD (multiprocessing.connection\n"
"wire protocol).\n"
"\n"
"ADDRESS is HOST:PORT, [IPV6]:PORT, :PORT (localhost), unix:PATH, a path\n"
"containing '/', or @NAME (abstract).\n"
"\n"
"Options:\n",
		.help_tail =
"\n"
"The key may also come from the CONN_AUTHKEY environment variable (set\n"
"but empty, it is a usage error).\n"
"Exit status: 0 success, 1 local I/O error, 2 usage, 3 connection,\n"
"4 authentication, 5 protocol, 6 timeout, 7 TLS.\n"
"\n"
"Full documentation: man conn-client\n",
		.session = cli_session_connect,
	};

	return tool_main(&spec, argc, argv);
}
