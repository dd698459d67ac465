/*
 * tls-options.c - --tls and its options, and --forward-tls and its
 * (conn-listen --forward's leg to TARGET, a client's options): parsed,
 * checked against each other, turned into the core's TLS configs once per
 * run (before -k forks), and the session started on each connection.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int tls_invalid(struct cli_options *o, const char *fmt,
		       const char *arg)
{
	snprintf(o->detail, sizeof(o->detail), fmt, arg);
	return CONN_EINVAL;
}

/* Each option as the one of conn-client's it stands for, on its leg. */
static const struct tls_option {
	int code, as;
	const char *name;
	bool forward;		/* --forward's leg to TARGET */
} tls_options[] = {
	{ CLI_OPT_TLS, CLI_OPT_TLS, "--tls", false },
	{ CLI_OPT_TLS_PSK, CLI_OPT_TLS_PSK, "--tls-psk", false },
	{ CLI_OPT_TLS_CERT, CLI_OPT_TLS_CERT, "--tls-cert", false },
	{ CLI_OPT_TLS_KEY, CLI_OPT_TLS_KEY, "--tls-key", false },
	{ CLI_OPT_TLS_CA, CLI_OPT_TLS_CA, "--tls-ca", false },
	{ CLI_OPT_TLS_NAME, CLI_OPT_TLS_NAME, "--tls-name", false },
	{ CLI_OPT_TLS_PIN, CLI_OPT_TLS_PIN, "--tls-pin", false },
	{ CLI_OPT_TLS_MIN, CLI_OPT_TLS_MIN, "--tls-min", false },
	{ CLI_OPT_TLS_INSECURE, CLI_OPT_TLS_INSECURE, "--tls-insecure",
	  false },
	{ CLI_OPT_FORWARD_TLS, CLI_OPT_TLS, "--forward-tls", true },
	{ CLI_OPT_FORWARD_TLS_PSK, CLI_OPT_TLS_PSK, "--forward-tls-psk",
	  true },
	{ CLI_OPT_FORWARD_TLS_CERT, CLI_OPT_TLS_CERT, "--forward-tls-cert",
	  true },
	{ CLI_OPT_FORWARD_TLS_KEY, CLI_OPT_TLS_KEY, "--forward-tls-key",
	  true },
	{ CLI_OPT_FORWARD_TLS_CA, CLI_OPT_TLS_CA, "--forward-tls-ca", true },
	{ CLI_OPT_FORWARD_TLS_NAME, CLI_OPT_TLS_NAME, "--forward-tls-name",
	  true },
	{ CLI_OPT_FORWARD_TLS_PIN, CLI_OPT_TLS_PIN, "--forward-tls-pin",
	  true },
	{ CLI_OPT_FORWARD_TLS_MIN, CLI_OPT_TLS_MIN, "--forward-tls-min",
	  true },
	{ CLI_OPT_FORWARD_TLS_INSECURE, CLI_OPT_TLS_INSECURE,
	  "--forward-tls-insecure", true },
};

static const struct tls_option *find_option(int code)
{
	size_t i;

	for (i = 0; i < sizeof(tls_options) / sizeof(tls_options[0]); i++)
		if (tls_options[i].code == code)
			return &tls_options[i];
	return NULL;
}

static bool is_forward(const struct cli_tls_options *t)
{
	return t->prefix && strcmp(t->prefix, "--forward-") == 0;
}

int cli_tls_option_set(struct cli_options *o, int code, char *arg)
{
	const struct tls_option *opt = find_option(code);
	struct cli_tls_options *t;
	uint8_t pin[CONN_TLS_PIN_SIZE];

	if (opt == NULL)
		return CONN_EAGAIN;
	t = opt->forward ? &o->forward_tls : &o->tls;
	t->on = true;
	t->prefix = opt->forward ? "--forward-" : "--";
	if (t->first == NULL)
		t->first = opt->name;
	switch (opt->as) {
	case CLI_OPT_TLS_PSK: t->psk = true; return 0;
	case CLI_OPT_TLS_CERT: t->cert = arg; return 0;
	case CLI_OPT_TLS_KEY: t->key = arg; return 0;
	case CLI_OPT_TLS_CA: t->ca = arg; return 0;
	case CLI_OPT_TLS_NAME: t->name = arg; return 0;
	case CLI_OPT_TLS_INSECURE: t->insecure = true; return 0;
	case CLI_OPT_TLS_PIN:
		t->pin = arg;
		return conn_tls_pin_parse(pin, o->detail, sizeof(o->detail),
					  arg, strlen(arg));
	case CLI_OPT_TLS_MIN:
		if (strcmp(arg, "1.2") == 0 || strcmp(arg, "1.3") == 0) {
			t->min = arg[2] == '2' ? 12 : 13;
			return 0;
		}
		snprintf(o->detail, sizeof(o->detail),
			 "invalid %s '%s' (1.2, 1.3)", opt->name, arg);
		return CONN_EINVAL;
	default:	/* --tls */
		return 0;
	}
}

/* "cannot use --A with --B" and "--A needs --B": a and b are the names
 * after the leg's prefix (tls-psk is --tls-psk or --forward-tls-psk). */
static int tls_conflict(struct cli_options *o,
			const struct cli_tls_options *t, const char *a,
			const char *b)
{
	snprintf(o->detail, sizeof(o->detail), "cannot use %s%s with %s%s",
		 t->prefix, a, t->prefix, b);
	return CONN_EINVAL;
}

static int tls_needs(struct cli_options *o, const struct cli_tls_options *t,
		     const char *a, const char *b)
{
	snprintf(o->detail, sizeof(o->detail), "%s%s needs %s%s", t->prefix,
		 a, t->prefix, b);
	return CONN_EINVAL;
}

static int leg_check(struct cli_options *o, const struct cli_tls_options *t)
{
	const char *cert_option = t->cert ? "tls-cert" : t->key ? "tls-key"
				  : t->ca ? "tls-ca" : t->pin ? "tls-pin"
				  : t->name ? "tls-name"
				  : t->insecure ? "tls-insecure" : NULL;

	if (!t->on)
		return 0;
	if (t->psk && cert_option)
		return tls_conflict(o, t, "tls-psk", cert_option);
	if (t->psk && t->min == 12) {
		snprintf(o->detail, sizeof(o->detail), "%stls-psk is TLS 1.3 "
			 "only: drop %stls-min 1.2", t->prefix, t->prefix);
		return CONN_EINVAL;
	}
	if (t->insecure && (t->pin || t->ca))
		return tls_conflict(o, t, "tls-insecure",
				    t->pin ? "tls-pin" : "tls-ca");
	if (!t->cert != !t->key)
		return t->cert ? tls_needs(o, t, "tls-cert", "tls-key")
			       : tls_needs(o, t, "tls-key", "tls-cert");
	return 0;
}

int cli_tls_options_check(struct cli_options *o)
{
	if (o->forward_tls.on && o->forward == NULL)
		return tls_invalid(o, "%s needs --forward",
				   o->forward_tls.first);
	return leg_check(o, &o->tls) || leg_check(o, &o->forward_tls)
	       ? CONN_EINVAL : 0;
}

/* The listener's side: its certificate (or the PSK), and a CA or pin for
 * the clients' certificates. */
static int listener_config(struct cli_options *o, struct conn_tls_config *c)
{
	const struct cli_tls_options *t = &o->tls;

	if (t->name || t->insecure)
		return tls_invalid(o, "%s", t->name
				   ? "--tls-name is for conn-client"
				   : "--tls-insecure is for conn-client");
	if (!t->psk && t->cert == NULL)
		return tls_invalid(o, "%s", "conn-listen --tls needs "
				   "--tls-cert FILE and --tls-key FILE (or "
				   "--tls-psk)");
	if (t->ca && conn_tls_config_set_ca(c, o->detail, sizeof(o->detail),
					    t->ca))
		return CONN_EINVAL;
	return 0;
}

/* A client's side (conn-client's, or --forward's to TARGET): the CAs (the
 * system's by default), the name from the address unless --tls-name,
 * maybe a pin and our own certificate. */
static int client_config(struct cli_options *o,
			 const struct cli_tls_options *t,
			 struct conn_tls_config *c, const char *address)
{
	struct conn_address a;
	char why[160];

	if (t->psk)
		return 0;
	if (!t->pin && !t->insecure &&
	    conn_tls_config_set_ca(c, o->detail, sizeof(o->detail), t->ca))
		return CONN_EINVAL;
	if (t->name)
		return conn_tls_config_set_name(c, t->name) ? CONN_ENOMEM : 0;
	if (conn_address_from_text(&a, why, sizeof(why), address) == 0 &&
	    a.kind == CONN_ADDRESS_TCP && a.host[0])
		return conn_tls_config_set_name(c, a.host) ? CONN_ENOMEM : 0;
	if (!t->pin && !t->insecure) {
		snprintf(o->detail, sizeof(o->detail), "no host name in %s to "
			 "check the certificate with: give %stls-name NAME",
			 is_forward(t) ? "TARGET" : "ADDRESS", t->prefix);
		return CONN_EINVAL;
	}
	return 0;
}

/* One leg's config: a client's, or the listener's; the PSK from key. */
static int leg_setup(struct cli_options *o, struct cli_tls_options *t,
		     bool listener, const struct conn_key *key,
		     const char *address)
{
	struct conn_tls_config *c;

	if (!t->on)
		return 0;
	if (t->psk && key == NULL)
		return tls_invalid(o, "%s", is_forward(t)
				   ? "--forward-tls-psk needs a key for TARGET "
				     "(--forward-authkey-file, or the "
				     "listening side's)"
				   : "--tls-psk needs a key (--authkey-file, "
				     "--authkey or CONN_AUTHKEY)");
	if (conn_tls_config_new(&c, listener ? CONN_ROLE_LISTENER
					     : CONN_ROLE_CLIENT))
		return tls_invalid(o, "%s", "cannot start GnuTLS");
	t->config = c;
	if (t->min)
		CONN_IGNORE(conn_tls_config_set_min(c, t->min)); /* 12, 13 */
	if (t->pin && conn_tls_config_set_pin(c, o->detail, sizeof(o->detail),
					      t->pin))
		return CONN_EINVAL;
	if (t->psk && conn_tls_config_set_psk(c, key))
		return tls_invalid(o, "%s", is_forward(t)
				   ? "cannot make the TLS PSK for TARGET"
				   : "cannot make the TLS PSK");
	if (t->cert && conn_tls_config_set_cert(c, o->detail,
						sizeof(o->detail), t->cert,
						t->key))
		return CONN_EINVAL;
	conn_tls_config_set_insecure(c, t->insecure);
	return listener ? listener_config(o, c)
			: client_config(o, t, c, address);
}

int cli_tls_setup(struct cli_options *o, unsigned tool)
{
	/* TARGET's leg is keyed by its own key, the one server-forward.c
	 * authenticates with there. */
	const struct conn_key *forward_key = o->forward_authkey_file
					     ? o->forward_key
					     : o->forward_no_authkey ? NULL
					     : o->key;

	if (leg_setup(o, &o->forward_tls, false, forward_key, o->forward))
		return CONN_EINVAL;
	return leg_setup(o, &o->tls, tool == CLI_LISTEN, o->key, o->address);
}

/* The core's hints name conn-client's options: on TARGET's leg they are
 * its --forward-tls... ones. */
static void forward_names(char *detail, size_t capacity)
{
	char out[600];
	const char *p = detail, *hit;
	size_t used = 0;

	while ((hit = strstr(p, "--tls")) != NULL && used < sizeof(out)) {
		used += (size_t)snprintf(out + used, sizeof(out) - used,
					 "%.*s--forward-tls", (int)(hit - p),
					 p);
		p = hit + 5;
	}
	if (used >= sizeof(out) || p == detail)
		return;
	snprintf(out + used, sizeof(out) - used, "%s", p);
	snprintf(detail, capacity, "%s", out);
}

int cli_tls_start(char *detail, size_t capacity, struct conn_channel *c,
		  const struct cli_options *o, conn_log_fn *log, void *ctx)
{
	char line[400], info[300];
	int rc;

	if (o->tls.config == NULL)
		return 0;
	conn_channel_set_deadline(c, o->handshake_timeout_ms ?
				  conn_clock_ms() + o->handshake_timeout_ms
				  : -1);
	rc = conn_channel_tls_handshake(c, o->tls.config);
	if (rc) {
		snprintf(detail, capacity, "%s", conn_channel_detail(c));
		if (is_forward(&o->tls))
			forward_names(detail, capacity);
		return rc;
	}
	if (o->verbose && log) {
		conn_channel_tls_info(c, info, sizeof(info));
		snprintf(line, sizeof(line), "TLS%s: %s",
			 is_forward(&o->tls) ? " to TARGET" : "", info);
		log(ctx, CONN_LOG_TRACE, line);
	}
	return 0;
}
