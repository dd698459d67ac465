/* options-table.c - every option of every tool once, and which of them
 * each tool takes in which order; options-make.c makes getopt_long's
 * tables, --help's lines and the completion's list from them. */
#include "cli.h"

#define INPUT_FORMATS "lines null raw frames hex quoted json"
#define ALL_FORMATS INPUT_FORMATS " repr pickle-dis audit audit-json"

static const struct cli_option_spec shared_options[] = {
	/* About connections: the network tools. */
	{ NULL, '4', '4', no_argument, "", CLI_NETWORK_TOOLS,
	  CLI_GROUP_NETWORK, "use IPv4 only", NULL },
	{ NULL, '6', '6', no_argument, "", CLI_NETWORK_TOOLS,
	  CLI_GROUP_NETWORK, "use IPv6 only", NULL },
	{ "authkey-file", 0, CLI_OPT_AUTHKEY_FILE, required_argument, "=FILE",
	  CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "authenticate with the key in FILE", CLI_VALUES_FILE },
	{ "authkey", 0, CLI_OPT_AUTHKEY, required_argument, "=TEXT",
	  CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "authenticate with TEXT (visible to other users)", NULL },
	{ "digest", 0, CLI_OPT_DIGEST, required_argument, "=NAME",
	  CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "digest of our challenge: sha256 (default), sha384,\n"
	  "  sha3_256, sha3_384, md5",
	  "sha256 sha384 sha3_256 sha3_384 md5" },
	{ "no-md5", 0, CLI_OPT_NO_MD5, no_argument, "", CLI_NETWORK_TOOLS,
	  CLI_GROUP_NETWORK, "never use MD5 (refuses legacy Python peers)",
	  NULL },
	{ "handshake-timeout", 0, CLI_OPT_HANDSHAKE_TIMEOUT,
	  required_argument, "=SEC", CLI_NETWORK_TOOLS, CLI_GROUP_NETWORK,
	  "time allowed for the handshake (default 10;\n  0 = no limit)",
	  NULL },
	/* #18 sockets: where the connection comes from, how long to wait */
	{ "backlog", 0, CLI_OPT_BACKLOG, required_argument, "=N", CLI_LISTEN,
	  CLI_GROUP_NETWORK,
	  "connections waiting to be accepted at most (listen();\n"
	  "  default SOMAXCONN, 4096)", NULL },
	{ "fd", 0, CLI_OPT_FD, required_argument, "=N", CLI_LISTEN,
	  CLI_GROUP_NETWORK,
	  "accept on N, a listening socket of any family\n"
	  "  handed over (no ADDRESS)", NULL },
	{ "fd-name", 0, CLI_OPT_FD_NAME, required_argument, "=NAME",
	  CLI_LISTEN, CLI_GROUP_NETWORK,
	  "systemd socket activation (LISTEN_FDS, used when\n"
	  "  there is no ADDRESS): the socket named NAME in\n"
	  "  LISTEN_FDNAMES", NULL },
	{ "inetd", 0, CLI_OPT_INETD, no_argument, "", CLI_LISTEN,
	  CLI_GROUP_NETWORK,
	  "serve the one connection on stdin and stdout\n"
	  "  (inetd, systemd Accept=yes); needs --exec,\n"
	  "  --sh-exec, --echo or --forward", NULL },
	{ "fd", 0, CLI_OPT_FD, required_argument, "=N", CLI_CLIENT,
	  CLI_GROUP_NETWORK,
	  "use N, a connected socket of any family handed over\n"
	  "  (no ADDRESS)", NULL },
	{ "connect-timeout", 'w', CLI_OPT_CONNECT_TIMEOUT, required_argument,
	  "=SEC", CLI_CLIENT, CLI_GROUP_NETWORK,
	  "give up connecting (name lookup and\n"
	  "  connect) after SEC seconds (each attempt\n"
	  "  of --wait; exit 6)", NULL },
	{ "source", 's', CLI_OPT_SOURCE, required_argument, "=ADDR",
	  CLI_CLIENT, CLI_GROUP_NETWORK,
	  "connect from ADDR: HOST, HOST:PORT or [IPV6]:PORT", NULL },
	{ "idle-timeout", 'i', CLI_OPT_IDLE_TIMEOUT, required_argument, "=SEC",
	  CLI_LISTEN, CLI_GROUP_NETWORK,
	  "no message either way for SEC seconds:\n"
	  "  exit 6 (-k: drop that client)", NULL },
	{ "idle-timeout", 'i', CLI_OPT_IDLE_TIMEOUT, required_argument, "=SEC",
	  CLI_CLIENT, CLI_GROUP_NETWORK,
	  "no message either way for SEC seconds:\n"
	  "  exit 6", NULL },
	/* TLS (tls-options.c): conn-listen and conn-client. */
	{ "tls", 0, CLI_OPT_TLS, no_argument, "", CLI_LISTEN | CLI_CLIENT,
	  CLI_GROUP_TLS,
	  "TLS 1.3 under the protocol; conn-client verifies the\n"
	  "  server's certificate (system CAs or --tls-ca) and\n"
	  "  name; conn-listen needs --tls-cert and --tls-key", NULL },
	{ "tls-psk", 0, CLI_OPT_TLS_PSK, no_argument, "",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_TLS,
	  "TLS 1.3 keyed by the authkey itself (no\n"
	  "  certificates): both sides need the same key", NULL },
	{ "tls-cert", 0, CLI_OPT_TLS_CERT, required_argument, "=FILE",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_TLS,
	  "our certificate chain (PEM): the server's, or the\n"
	  "  client's for mutual TLS", CLI_VALUES_FILE },
	{ "tls-key", 0, CLI_OPT_TLS_KEY, required_argument, "=FILE",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_TLS,
	  "the private key of --tls-cert (PEM)", CLI_VALUES_FILE },
	{ "tls-ca", 0, CLI_OPT_TLS_CA, required_argument, "=FILE",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_TLS,
	  "verify the peer with the CAs in FILE (PEM); on\n"
	  "  conn-listen, require a client certificate", CLI_VALUES_FILE },
	{ "tls-name", 0, CLI_OPT_TLS_NAME, required_argument, "=NAME",
	  CLI_CLIENT, CLI_GROUP_TLS,
	  "the name the server's certificate must carry\n"
	  "  (default: the host in ADDRESS)", NULL },
	{ "tls-pin", 0, CLI_OPT_TLS_PIN, required_argument, "=sha256//B64",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_TLS,
	  "accept only the peer whose public key has this\n"
	  "  SHA-256 (-v prints it); then no CA or name check", NULL },
	{ "tls-min", 0, CLI_OPT_TLS_MIN, required_argument, "=VERSION",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_TLS,
	  "the lowest TLS version: 1.3 (default) or 1.2", "1.2 1.3" },
	{ "tls-insecure", 0, CLI_OPT_TLS_INSECURE, no_argument, "",
	  CLI_CLIENT, CLI_GROUP_TLS,
	  "accept any server certificate (warns: no protection\n"
	  "  against an attacker on the path)", NULL },
	/* conn-client's retries. */
	{ "wait", 0, CLI_OPT_WAIT, required_argument, "=SEC", CLI_CLIENT,
	  CLI_GROUP_WAIT, "retry connecting for up to SEC seconds", NULL },
	/* conn-listen's server. */
	{ "keep-open", 'k', 'k', no_argument, "", CLI_LISTEN,
	  CLI_GROUP_SERVER,
	  "after a connection, accept the next; serve many at\n"
	  "  once (fan-in to stdout, stdin to the newest)", NULL },
	{ "max-conns", 0, CLI_OPT_MAX_CONNS, required_argument, "=N",
	  CLI_LISTEN, CLI_GROUP_SERVER,
	  "-k: at most N connections at once (default 100)", NULL },
	{ "max-startups", 0, CLI_OPT_MAX_STARTUPS, required_argument,
	  "=S:R:F", CLI_LISTEN, CLI_GROUP_SERVER,
	  "-k with a key: past S connections in the handshake,\n"
	  "  a new one makes the oldest of them (1 s or more)\n"
	  "  go, with a chance of R% rising to 100% at F\n"
	  "  (default 10:30:100; N alone: N:100:N)", NULL },
	{ "max-buffer", 0, CLI_OPT_MAX_BUFFER, required_argument, "=BYTES",
	  CLI_LISTEN, CLI_GROUP_SERVER,
	  "-k: memory for received messages, about (default\n"
	  "  64M, at least 1M): larger ones stream to stdout", NULL },
	{ "max-accepts", 0, CLI_OPT_MAX_ACCEPTS, required_argument, "=N",
	  CLI_LISTEN, CLI_GROUP_SERVER,
	  "stop listening after N connections (implies -k)", NULL },
	{ "tag", 0, CLI_OPT_TAG, no_argument, "", CLI_LISTEN,
	  CLI_GROUP_SERVER,
	  "prefix each message on stdout with the peer's\n"
	  "  address (text formats: each of its lines, so that\n"
	  "  none passes for another peer's); with --out json,\n"
	  "  one object: {\"peer\": ADDRESS, \"message\": ...}", NULL },
	{ "broadcast", 0, CLI_OPT_BROADCAST, no_argument, "", CLI_LISTEN,
	  CLI_GROUP_SERVER, "-k: send each stdin message to every client",
	  NULL },
	{ "max-sendq", 0, CLI_OPT_MAX_SENDQ, required_argument, "=BYTES",
	  CLI_LISTEN, CLI_GROUP_SERVER,
	  "-k --broadcast: drop a client that falls this far\n"
	  "  behind (default 4M; 0 = no limit: stdin waits\n"
	  "  for the slowest client)", NULL },
	{ "send-timeout", 0, CLI_OPT_SEND_TIMEOUT, required_argument, "=SEC",
	  CLI_LISTEN, CLI_GROUP_SERVER,
	  "-k: drop a client that reads nothing of what is\n"
	  "  queued for it for SEC seconds (default 30;\n"
	  "  0 = no limit)", NULL },
	{ "render-timeout", 0, CLI_OPT_RENDER_TIMEOUT, required_argument,
	  "=SEC", CLI_LISTEN, CLI_GROUP_SERVER,
	  "-k: drop a client whose message takes more than\n"
	  "  SEC seconds of CPU to render (repr, json,\n"
	  "  pickle-dis, audit, audit-json) or to judge\n"
	  "  (--pickle-policy) (default 10; 0 = no limit)", NULL },
	/* conn-listen --forward: a relay to another listener. */
	{ "forward", 0, CLI_OPT_FORWARD, required_argument, "=TARGET",
	  CLI_LISTEN, CLI_GROUP_FORWARD,
	  "relay each connection's messages, after its\n"
	  "  handshake, to and from a connection to TARGET\n"
	  "  (any ADDRESS; stdin and stdout are not used)", NULL },
	{ "forward-authkey-file", 0, CLI_OPT_FORWARD_AUTHKEY_FILE,
	  required_argument, "=FILE", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "authenticate to TARGET with the key in FILE\n"
	  "  (default: the listening side's key, or none)",
	  CLI_VALUES_FILE },
	{ "forward-no-authkey", 0, CLI_OPT_FORWARD_NO_AUTHKEY, no_argument,
	  "", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "no handshake with TARGET (a keyless service)", NULL },
	{ "forward-digest", 0, CLI_OPT_FORWARD_DIGEST, required_argument,
	  "=NAME", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "digest of our challenge to TARGET (as --digest)",
	  "sha256 sha384 sha3_256 sha3_384 md5" },
	{ "forward-no-md5", 0, CLI_OPT_FORWARD_NO_MD5, no_argument, "",
	  CLI_LISTEN, CLI_GROUP_FORWARD, "never use MD5 with TARGET", NULL },
	{ "forward-tls-psk", 0, CLI_OPT_FORWARD_TLS_PSK, no_argument, "",
	  CLI_LISTEN, CLI_GROUP_FORWARD,
	  "TLS 1.3 to TARGET keyed by its leg's key (as\n"
	  "  --tls-psk); the clients' side is set apart", NULL },
	{ "forward-tls", 0, CLI_OPT_FORWARD_TLS, no_argument, "",
	  CLI_LISTEN, CLI_GROUP_FORWARD,
	  "TLS 1.3 to TARGET, verifying its certificate\n"
	  "  (system CAs or --forward-tls-ca) and name, as\n"
	  "  conn-client --tls does", NULL },
	{ "forward-tls-ca", 0, CLI_OPT_FORWARD_TLS_CA, required_argument,
	  "=FILE", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "verify TARGET with the CAs in FILE (PEM)", CLI_VALUES_FILE },
	{ "forward-tls-name", 0, CLI_OPT_FORWARD_TLS_NAME, required_argument,
	  "=NAME", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "the name TARGET's certificate must carry\n"
	  "  (default: the host in TARGET)", NULL },
	{ "forward-tls-pin", 0, CLI_OPT_FORWARD_TLS_PIN, required_argument,
	  "=sha256//B64", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "accept only the TARGET whose public key has this\n"
	  "  SHA-256; then no CA or name check", NULL },
	{ "forward-tls-cert", 0, CLI_OPT_FORWARD_TLS_CERT, required_argument,
	  "=FILE", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "our certificate chain (PEM) for TARGET's mutual\n"
	  "  TLS", CLI_VALUES_FILE },
	{ "forward-tls-key", 0, CLI_OPT_FORWARD_TLS_KEY, required_argument,
	  "=FILE", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "the private key of --forward-tls-cert (PEM)", CLI_VALUES_FILE },
	{ "forward-tls-min", 0, CLI_OPT_FORWARD_TLS_MIN, required_argument,
	  "=VERSION", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "the lowest TLS version to TARGET: 1.3 (default)\n"
	  "  or 1.2", "1.2 1.3" },
	{ "forward-tls-insecure", 0, CLI_OPT_FORWARD_TLS_INSECURE,
	  no_argument, "", CLI_LISTEN, CLI_GROUP_FORWARD,
	  "accept any certificate from TARGET (warns)", NULL },
	{ "trace", 0, CLI_OPT_TRACE, required_argument, "=FMT", CLI_LISTEN,
	  CLI_GROUP_FORWARD,
	  "--forward: write each message to stderr as one\n"
	  "  record (connection, peer, c>s or s>c, seconds,\n"
	  "  size, the message in FMT: repr, json, hex,\n"
	  "  quoted, pickle-dis, audit)",
	  "repr json hex quoted pickle-dis audit" },
	{ "trace-file", 0, CLI_OPT_TRACE_FILE, required_argument, "=FILE",
	  CLI_LISTEN, CLI_GROUP_FORWARD, "--trace: to FILE instead of stderr",
	  CLI_VALUES_FILE },
	{ "record", 0, CLI_OPT_RECORD, required_argument, "=FILE",
	  CLI_LISTEN, CLI_GROUP_FORWARD,
	  "--forward: write both legs of every connection,\n"
	  "  handshakes included, to FILE as a pcap capture\n"
	  "  (tshark, Wireshark, conn-pipe --in pcap)",
	  CLI_VALUES_FILE },
	/* --exec: CMD's arguments follow it, so it comes last.  conn-pipe
	 * has no network, hence its shorter line and no --sh-exec. */
	{ "exec", 'e', 'e', required_argument, " CMD [ARG]...",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_EXEC,
	  "run CMD on each connection, its stdin and stdout\n"
	  "  carrying the messages in the chosen formats;\n"
	  "  the arguments after CMD are its own, so it\n"
	  "  comes last", CLI_VALUES_COMMAND },
	{ "sh-exec", 0, CLI_OPT_SH_EXEC, required_argument, "=LINE",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_EXEC,
	  "like --exec, with /bin/sh -c LINE", CLI_VALUES_LINE },
	{ "exec", 'e', 'e', required_argument, " CMD [ARG]...", CLI_PIPE,
	  CLI_GROUP_EXEC, "run CMD; the arguments after it are its own",
	  CLI_VALUES_COMMAND },
	/* About messages: every tool but conn-bench. */
	{ "format", 'f', 'f', required_argument, "=FMT", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES,
	  "message format of stdin and stdout: lines (default),\n"
	  "  null, raw, frames, hex, quoted, json; output only:\n"
	  "  repr, pickle-dis, audit, audit-json", INPUT_FORMATS },
	{ "in", 0, CLI_OPT_IN, required_argument, "=FMT",
	  CLI_LISTEN | CLI_CLIENT, CLI_GROUP_MESSAGES, "format of stdin",
	  INPUT_FORMATS },
	{ "in", 0, CLI_OPT_IN, required_argument, "=FMT", CLI_PIPE,
	  CLI_GROUP_MESSAGES,
	  "format of FILE or stdin; pcap: a packet capture\n"
	  "  (pcap or pcapng), its TCP conversations' messages",
	  INPUT_FORMATS " pcap" },
	{ "port", 0, CLI_OPT_PORT, required_argument, "=N", CLI_PIPE,
	  CLI_GROUP_MESSAGES,
	  "--in pcap: the conversations on port N only (default:\n"
	  "  all that look like this protocol)", NULL },
	{ "out", 0, CLI_OPT_OUT, required_argument, "=FMT", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "format of stdout", ALL_FORMATS },
	{ NULL, '0', '0', no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "same as --format=null", NULL },
	{ "chunk-size", 0, CLI_OPT_CHUNK_SIZE, required_argument, "=BYTES",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "raw input: largest message made from one read\n"
	  "  (default 64K, at most --max-size)",
	  NULL },
	{ "max-size", 0, CLI_OPT_MAX_SIZE, required_argument, "=BYTES",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "largest message accepted (default 1G; 0 = no limit);\n"
	  "  also the memory a rendered or judged message's\n"
	  "  objects may take, 32M at least (one connection)",
	  NULL },
	{ "pickle-protocol", 0, CLI_OPT_PICKLE_PROTOCOL, required_argument,
	  "=N", CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "json input: pickle protocol 0-5 (default 4)", "0 1 2 3 4 5" },
	{ "python-repr", 0, CLI_OPT_PYTHON_REPR, required_argument, "=X.Y",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "repr output: as CPython X.Y prints it where repr()\n"
	  "  changed (default: the newest)",
	  "3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13 3.14" },
	{ "keep-going", 0, CLI_OPT_KEEP_GOING, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "show a message that is not a pickle in hex and go on", NULL },
	{ "pickle-policy", 0, CLI_OPT_PICKLE_POLICY, required_argument,
	  "=FILE", CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "drop (with a warning) each received message that\n"
	  "  imports a global FILE's rules do not allow", CLI_VALUES_FILE },
	{ "data", 0, CLI_OPT_DATA, required_argument, "=TEXT",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "send TEXT as a message before stdin (repeatable)", NULL },
	{ "count", 'c', 'c', required_argument, "=N", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "exit after receiving N messages", NULL },
	{ "send-only", 0, CLI_OPT_SEND_ONLY, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "only send; discard received messages", NULL },
	{ "recv-only", 0, CLI_OPT_RECV_ONLY, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "only receive; do not read stdin", NULL },
	{ "close-on-eof", 0, CLI_OPT_CLOSE_ON_EOF, no_argument, "",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "at stdin EOF, exit once all is sent instead of\n"
	  "  waiting for the peer to close", NULL },
	{ "echo", 0, CLI_OPT_ECHO, no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES,
	  "send every received message back (stdin and stdout\n"
	  "  are not used)", NULL },
	{ "progress", 0, CLI_OPT_PROGRESS, optional_argument, "[=WHEN]",
	  CLI_RELAY_TOOLS, CLI_GROUP_MESSAGES,
	  "show messages, bytes, rate and time on stderr:\n"
	  "  auto (when stderr is a terminal; the default\n"
	  "  of --progress), always, never", "auto always never" },
	{ "verbose", 'v', 'v', no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "trace connection events and frames to stderr",
	  NULL },
	{ "quiet", 'q', 'q', no_argument, "", CLI_RELAY_TOOLS,
	  CLI_GROUP_MESSAGES, "print no notices", NULL },
	/* Every tool's last lines; --list-options is the completion's. */
	{ "help", 'h', 'h', no_argument, "", CLI_ALL_TOOLS, CLI_GROUP_HELP,
	  "display this help and exit", NULL },
	{ "version", 'V', 'V', no_argument, "", CLI_ALL_TOOLS,
	  CLI_GROUP_HELP, "output version information and exit", NULL },
	{ "list-options", 0, CLI_OPT_LIST_OPTIONS, no_argument, "",
	  CLI_ALL_TOOLS, CLI_GROUP_HELP, NULL, NULL },
	{ 0 }
};

/* #18 probe: conn-client --probe and its options. */
static const struct cli_option_spec probe_options[] = {
	{ "probe", 0, CLI_OPT_PROBE, no_argument, "", CLI_CLIENT,
	  CLI_GROUP_PROBE,
	  "report what ADDRESS speaks without sending it any\n"
	  "  message: authentication, challenge style and\n"
	  "  digest, the key's verdict (with a key), whether\n"
	  "  a 257-byte handshake frame is refused, latency;\n"
	  "  exit 0 if it speaks the protocol, 5 if not", NULL },
	{ "probe-all", 0, CLI_OPT_PROBE_ALL, no_argument, "", CLI_CLIENT,
	  CLI_GROUP_PROBE,
	  "--probe with a key: also which reply digests it\n"
	  "  accepts, one connection each", NULL },
	{ "probe-wait", 0, CLI_OPT_PROBE_WAIT, required_argument, "=SEC",
	  CLI_CLIENT, CLI_GROUP_PROBE,
	  "--probe: wait SEC for the peer's first bytes; a\n"
	  "  peer silent so long needs no key (default 1)", NULL },
	{ "json", 0, CLI_OPT_PROBE_JSON, no_argument, "", CLI_CLIENT,
	  CLI_GROUP_PROBE, "--probe: the report as one JSON object", NULL },
	/* #18 fd passing */
	{ "send-fd", 0, CLI_OPT_SEND_FD, required_argument, "=N", CLI_CLIENT,
	  CLI_GROUP_PROBE,
	  "Unix socket: after the handshake, pass descriptor N\n"
	  "  to the peer (Python's recv_handle() takes it)", NULL },
	{ "recv-fd", 0, CLI_OPT_RECV_FD, no_argument, "", CLI_CLIENT,
	  CLI_GROUP_PROBE,
	  "Unix socket, --exec: after the handshake, take a\n"
	  "  descriptor the peer's send_handle() passes; CMD\n"
	  "  has it open, its number in CONN_FD", NULL },
	{ 0 }
};

/* conn-bench's own options; it takes the shared network ones too. */
static const struct cli_option_spec bench_options[] = {
	{ "workload", 'w', CLI_OPT_WORKLOAD, required_argument, "=NAME",
	  CLI_BENCH, CLI_GROUP_TOOL,
	  "stream, pingpong or handshake (repeatable;\n  default: all three)",
	  "stream pingpong handshake" },
	{ "size", 0, CLI_OPT_SIZE, required_argument, "=BYTES", CLI_BENCH,
	  CLI_GROUP_TOOL, "payload of each message (default 64)", NULL },
	{ "count", 'c', 'c', required_argument, "=N", CLI_BENCH,
	  CLI_GROUP_TOOL,
	  "N messages, round trips or handshakes per connection", NULL },
	{ "duration", 't', CLI_OPT_DURATION, required_argument, "=SEC", CLI_BENCH,
	  CLI_GROUP_TOOL, "run each workload SEC seconds (default 1)", NULL },
	{ "interval", 'i', CLI_OPT_INTERVAL, required_argument, "=SEC",
	  CLI_BENCH, CLI_GROUP_TOOL,
	  "report every SEC seconds while a workload runs\n"
	  "  (iperf3's interval lines; 0 = none; default:\n"
	  "  none, but 1 with --json-stream)", NULL },
	{ "reverse", 'R', CLI_OPT_REVERSE, no_argument, "", CLI_BENCH,
	  CLI_GROUP_TOOL,
	  "stream: the peer sends, we receive (our own peer\n"
	  "  only: an echo peer sends only what it gets)", NULL },
	{ "bidir", 0, CLI_OPT_BIDIR, no_argument, "", CLI_BENCH,
	  CLI_GROUP_TOOL,
	  "stream: both ways at once (our peer: N connections\n"
	  "  each way; ADDRESS: the echoes count too)", NULL },
	{ "parallel", 'P', CLI_OPT_PARALLEL, required_argument, "=N", CLI_BENCH,
	  CLI_GROUP_TOOL, "N connections at once (default 1)", NULL },
	{ "transport", 0, CLI_OPT_TRANSPORT, required_argument, "=NAME",
	  CLI_BENCH, CLI_GROUP_TOOL,
	  "without ADDRESS: unix or tcp (repeatable;\n  default: both)",
	  "unix tcp" },
	{ "vs-python", 0, CLI_OPT_VS_PYTHON, no_argument, "", CLI_BENCH,
	  CLI_GROUP_TOOL,
	  "also measure python3's multiprocessing.connection\n"
	  "  peer and print the ratio ours / python", NULL },
	{ "python-peer", 0, CLI_OPT_PYTHON_PEER, required_argument, "=FILE",
	  CLI_BENCH, CLI_GROUP_TOOL,
	  "the python peer script (default: $CONN_BENCH_PEER,\n"
	  "  else the installed copy,\n"
	  "  " PKGDATADIR "/bench-peer.py,\n"
	  "  else, for a build not installed, the source\n"
	  "  tree's tools/bench-peer.py)", CLI_VALUES_FILE },
	{ "json", 0, CLI_OPT_JSON, no_argument, "", CLI_BENCH, CLI_GROUP_TOOL,
	  "print the results as one JSON document", NULL },
	{ "json-stream", 0, CLI_OPT_JSON_STREAM, no_argument, "", CLI_BENCH,
	  CLI_GROUP_TOOL, "print one JSON event per line as the run goes",
	  NULL },
	{ "quiet", 'q', 'q', no_argument, "", CLI_BENCH, CLI_GROUP_TOOL_END,
	  "print no notices or progress", NULL },
	{ 0 }
};

/* Each tool's sections, in the order of its --help. */
static const struct cli_option_section listen_sections[] = {
	{ shared_options, CLI_GROUP_NETWORK },
	{ shared_options, CLI_GROUP_TLS },
	{ shared_options, CLI_GROUP_SERVER },
	{ shared_options, CLI_GROUP_FORWARD },
	{ shared_options, CLI_GROUP_EXEC },
	{ shared_options, CLI_GROUP_MESSAGES },
	{ shared_options, CLI_GROUP_HELP },
	{ NULL, 0 }
};

static const struct cli_option_section client_sections[] = {
	{ shared_options, CLI_GROUP_NETWORK },
	{ shared_options, CLI_GROUP_TLS },
	{ shared_options, CLI_GROUP_WAIT },
	{ probe_options, CLI_GROUP_PROBE },	/* #18 probe */
	{ shared_options, CLI_GROUP_EXEC },
	{ shared_options, CLI_GROUP_MESSAGES },
	{ shared_options, CLI_GROUP_HELP },
	{ NULL, 0 }
};

static const struct cli_option_section pipe_sections[] = {
	{ shared_options, CLI_GROUP_MESSAGES },
	{ shared_options, CLI_GROUP_EXEC },
	{ shared_options, CLI_GROUP_HELP },
	{ NULL, 0 }
};

static const struct cli_option_section bench_sections[] = {
	{ bench_options, CLI_GROUP_TOOL },
	{ shared_options, CLI_GROUP_NETWORK },
	{ bench_options, CLI_GROUP_TOOL_END },
	{ shared_options, CLI_GROUP_HELP },
	{ NULL, 0 }
};

const struct cli_option_layout cli_listen_options = {
	CLI_LISTEN, listen_sections
};
const struct cli_option_layout cli_client_options = {
	CLI_CLIENT, client_sections
};
const struct cli_option_layout cli_pipe_options = { CLI_PIPE, pipe_sections };
const struct cli_option_layout cli_bench_options = {
	CLI_BENCH, bench_sections
};
