/* conn-client - connect, authenticate, and relay messages. */
#include "tool.h"

#include <getopt.h>

#define PROGRAM "conn-client"

static int usage(void)
{
	printf("Usage: %s [OPTION]... ADDRESS\n"
	       "Connect to ADDRESS, authenticate if a key is given, then move "
	       "messages\nbetween the connection and "
	       "stdin/stdout (multiprocessing.connection\nwire protocol).\n\n"
	       "ADDRESS is HOST:PORT, [IPV6]:PORT, :PORT (localhost), "
	       "unix:PATH, a path\ncontaining '/', or @NAME (abstract).\n\n"
	       "Options:\n%s"
	       "      --wait=SEC          retry connecting for up to SEC seconds\n"
	       "  -h, --help              display this help and exit\n"
	       "  -V, --version           output version information and exit\n"
	       "\nThe key may also come from the CONN_AUTHKEY environment "
	       "variable.\nExit status: 0 success, 1 local I/O error, 2 usage, "
	       "3 connection,\n4 authentication, 5 protocol, 6 timeout.\n"
	       "\nFull documentation: man conn-client\n",
	       PROGRAM, conn_options_help());
	return CONN_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		CONN_LONG_OPTIONS,
		{ "wait", required_argument, NULL, CONN_OPT_WAIT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct conn_options o;
	int ch;

	conn_options_init(&o);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":" CONN_SHORT_OPTIONS "hV",
				 long_options, NULL)) != -1) {
		if (ch == 'h')
			return usage();
		if (ch == 'V')
			return tool_version(PROGRAM);
		if (ch == '?' || ch == ':')
			return tool_option_error(PROGRAM, ch, argv);
		if (conn_options_set(&o, ch, optarg))
			return tool_usage_error(PROGRAM, o.detail);
	}
	if (conn_options_finish(&o, argc - optind, argv + optind))
		return tool_usage_error(PROGRAM, o.detail);
	return tool_run(PROGRAM, &o, conn_session_connect);
}
