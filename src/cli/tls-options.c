/*
 * tls-options.c - --tls and its options: parsed, checked against each
 * other, turned into the core's TLS config once per run (before -k forks),
 * and the session started on each connection.
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

static const char *option_name(int code)
{
	switch (code) {
	case CLI_OPT_TLS: return "--tls";
	case CLI_OPT_TLS_PSK: return "--tls-psk";
	case CLI_OPT_TLS_CERT: return "--tls-cert";
	case CLI_OPT_TLS_KEY: return "--tls-key";
	case CLI_OPT_TLS_CA: return "--tls-ca";
	case CLI_OPT_TLS_NAME: return "--tls-name";
	case CLI_OPT_TLS_PIN: return "--tls-pin";
	case CLI_OPT_TLS_MIN: return "--tls-min";
	case CLI_OPT_TLS_INSECURE: return "--tls-insecure";
	case CLI_OPT_FORWARD_TLS_PSK: return "--forward-tls-psk";
	default: return NULL;
	}
}

int cli_tls_option_set(struct cli_options *o, int code, char *arg)
{
	struct cli_tls_options *t = &o->tls;
	uint8_t pin[CONN_TLS_PIN_SIZE];

	if (option_name(code) == NULL)
		return CONN_EAGAIN;
	if (code == CLI_OPT_FORWARD_TLS_PSK) {
		t->forward_psk = true;	/* the other leg's: not t->on */
		return 0;
	}
	t->on = true;
	if (t->first == NULL)
		t->first = option_name(code);
	switch (code) {
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
		return tls_invalid(o, "invalid --tls-min '%s' (1.2, 1.3)",
				   arg);
	default:	/* --tls */
		return 0;
	}
}

static int tls_conflict(struct cli_options *o, const char *a, const char *b)
{
	snprintf(o->detail, sizeof(o->detail), "cannot use %s with %s", a, b);
	return CONN_EINVAL;
}

int cli_tls_options_check(struct cli_options *o)
{
	const struct cli_tls_options *t = &o->tls;
	const char *cert_option = t->cert ? "--tls-cert" : t->key ? "--tls-key"
				  : t->ca ? "--tls-ca" : t->pin ? "--tls-pin"
				  : t->name ? "--tls-name"
				  : t->insecure ? "--tls-insecure" : NULL;

	if (t->forward_psk && o->forward == NULL)
		return tls_invalid(o, "%s", "--forward-tls-psk needs --forward");
	if (!t->on)
		return 0;
	if (t->psk && cert_option)
		return tls_conflict(o, "--tls-psk", cert_option);
	if (t->psk && t->min == 12)
		return tls_invalid(o, "%s", "--tls-psk is TLS 1.3 only: "
				   "drop --tls-min 1.2");
	if (t->insecure && (t->pin || t->ca))
		return tls_conflict(o, "--tls-insecure",
				    t->pin ? "--tls-pin" : "--tls-ca");
	if (!t->cert != !t->key)
		return tls_invalid(o, "%s", t->cert
				   ? "--tls-cert needs --tls-key"
				   : "--tls-key needs --tls-cert");
	return 0;
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

/* The client's side: the CAs (the system's by default), the name from
 * ADDRESS unless --tls-name, maybe a pin and our own certificate. */
static int client_config(struct cli_options *o, struct conn_tls_config *c)
{
	const struct cli_tls_options *t = &o->tls;
	struct conn_address a;
	char why[160];

	if (t->psk)
		return 0;
	if (!t->pin && !t->insecure &&
	    conn_tls_config_set_ca(c, o->detail, sizeof(o->detail), t->ca))
		return CONN_EINVAL;
	if (t->name)
		return conn_tls_config_set_name(c, t->name) ? CONN_ENOMEM : 0;
	if (conn_address_from_text(&a, why, sizeof(why), o->address) == 0 &&
	    a.kind == CONN_ADDRESS_TCP && a.host[0])
		return conn_tls_config_set_name(c, a.host) ? CONN_ENOMEM : 0;
	if (!t->pin && !t->insecure)
		return tls_invalid(o, "%s", "no host name in ADDRESS to check "
				   "the certificate with: give --tls-name "
				   "NAME");
	return 0;
}

/* --forward-tls-psk: TARGET's leg keyed by its own key (the one
 * server-forward.c authenticates with there). */
static int forward_setup(struct cli_options *o)
{
	const struct conn_key *key = o->forward_authkey_file ? o->forward_key
				     : o->forward_no_authkey ? NULL : o->key;

	if (!o->tls.forward_psk)
		return 0;
	if (key == NULL)
		return tls_invalid(o, "%s", "--forward-tls-psk needs a key for "
				   "TARGET (--forward-authkey-file, or the "
				   "listening side's)");
	if (conn_tls_config_new(&o->tls.forward_config, CONN_ROLE_CLIENT) ||
	    conn_tls_config_set_psk(o->tls.forward_config, key))
		return tls_invalid(o, "%s", "cannot make the TLS PSK for "
				   "TARGET");
	return 0;
}

int cli_tls_setup(struct cli_options *o, unsigned tool)
{
	struct cli_tls_options *t = &o->tls;
	bool listener = tool == CLI_LISTEN;
	struct conn_tls_config *c;
	int rc;

	if (forward_setup(o))
		return CONN_EINVAL;
	if (!t->on)
		return 0;
	if (t->psk && o->key == NULL)
		return tls_invalid(o, "%s", "--tls-psk needs a key "
				   "(--authkey-file, --authkey or "
				   "CONN_AUTHKEY)");
	rc = conn_tls_config_new(&c, listener ? CONN_ROLE_LISTENER
					      : CONN_ROLE_CLIENT);
	if (rc)
		return tls_invalid(o, "%s", "cannot start GnuTLS");
	t->config = c;
	if (t->min)
		CONN_IGNORE(conn_tls_config_set_min(c, t->min)); /* 12, 13 */
	if (t->pin && conn_tls_config_set_pin(c, o->detail, sizeof(o->detail),
					      t->pin))
		return CONN_EINVAL;
	if (t->psk && conn_tls_config_set_psk(c, o->key))
		return tls_invalid(o, "%s", "cannot make the TLS PSK");
	if (t->cert && conn_tls_config_set_cert(c, o->detail,
						sizeof(o->detail), t->cert,
						t->key))
		return CONN_EINVAL;
	conn_tls_config_set_insecure(c, t->insecure);
	return listener ? listener_config(o, c) : client_config(o, c);
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
		return rc;
	}
	if (o->verbose && log) {
		conn_channel_tls_info(c, info, sizeof(info));
		snprintf(line, sizeof(line), "TLS: %s", info);
		log(ctx, CONN_LOG_TRACE, line);
	}
	return 0;
}
