/* conn-listen - accept connections and relay messages over them. */
#include "tool.h"

int main(int argc, char **argv)
{
	static const struct tool_spec spec = {
		.program = "conn-listen",
		.options = &cli_listen_options,
		.operands = CLI_OPERANDS_ADDRESS,
		.help_head =
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
"Options:\n",
		.help_tail =
"\n"
"The key may also come from the CONN_AUTHKEY environment variable (set\n"
"but empty, it is a usage error).\n"
"Exit status: 0 success, 1 local I/O error, 2 usage, 3 connection,\n"
"4 authentication, 5 protocol, 6 timeout, 7 TLS.\n"
"\n"
"Full documentation: man conn-listen\n",
		.session = cli_session_listen,
	};

	return tool_main(&spec, argc, argv);
}
