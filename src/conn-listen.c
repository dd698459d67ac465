/* conn-listen - accept one connection and relay messages over it. */
#include "tool.h"

#include <getopt.h>

#define PROGRAM "conn-listen"

static int usage(void)
{
	printf("Usage: %s [OPTION]... ADDRESS\n"
	       "Listen on ADDRESS, accept one connection, authenticate it if "
	       "a key is given,\nthen move messages between it and "
	       "stdin/stdout (multiprocessing.connection\nwire protocol).\n\n"
	       "ADDRESS is HOST:PORT, [IPV6]:PORT, :PORT (all interfaces), "
	       "unix:PATH, a path\ncontaining '/', or @NAME (abstract). "
	       "Port 0 picks a free port; the bound\naddress is announced "
	       "on stderr.\n\n"
	       "Options:\n%s"
	       "  -h, --help              display this help and exit\n"
	       "  -V, --version           output version information and exit\n"
	       "\nThe key may also come from the CONN_AUTHKEY environment "
	       "variable.\nExit status: 0 success, 1 local I/O error, 2 usage, "
	       "3 connection,\n4 authentication, 5 protocol, 6 timeout.\n"
	       "\nFull documentation: man conn-listen\n",
	       PROGRAM, conn_options_help());
	return CONN_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		CONN_LONG_OPTIONS,
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
	return tool_run(PROGRAM, &o, conn_session_listen);
}
