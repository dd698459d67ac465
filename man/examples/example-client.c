/*
 * example-client.c - the smallest useful program on libconn: connect
 * to a multiprocessing.connection Listener, authenticate, send each
 * MESSAGE as Python's send_bytes() would, print each reply on a line.
 *
 *   cc -o example-client example-client.c \
 *      $(pkg-config --cflags --libs conn-tools)
 *   ./example-client 127.0.0.1:6000 keyfile hello world
 *
 * Exit status as the tools': 0, or conn_exit_status() of the error.
 */
#include <conn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int err, const char *detail)
{
	/* The detail, if any, says more than the error's name. */
	if (detail == NULL || detail[0] == '\0')
		detail = conn_strerror(err);
	fprintf(stderr, "example-client: %s: %s\n", what, detail);
	return conn_exit_status(err);
}

/* Receives one message into *buf, growing it: a reply may be any size
 * up to the channel's max size (1 GiB unless set). */
static int recv_message(struct conn_channel *c, char **buf, size_t *cap,
			size_t *len)
{
	int rc = conn_channel_recv(c, len, *buf, *cap);

	if (rc == CONN_ESHORTBUF) {
		/* Kept for the next call; *len is its size. */
		char *bigger = realloc(*buf, *len);

		if (bigger == NULL)
			return CONN_ENOMEM;
		*buf = bigger;
		*cap = *len;
		rc = conn_channel_recv(c, len, *buf, *cap);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct conn_address address;
	struct conn_key *key;
	struct conn_channel *c;
	struct conn_auth auth;
	char detail[256] = "";
	size_t cap = 4096, len;
	char *buf;
	int fd, i, rc;

	if (argc < 3) {
		fputs("usage: example-client ADDRESS KEYFILE"
		      " [MESSAGE]...\n", stderr);
		return CONN_EXIT_USAGE;
	}
	rc = conn_address_from_text(&address, detail, sizeof(detail),
				    argv[1]);
	if (rc)
		return fail(argv[1], rc, detail);
	rc = conn_key_new_from_file(&key, argv[2]);
	if (rc)
		return fail(argv[2], rc, NULL);

	/* Retries a refused connection for up to 5 s: the listener
	 * may be starting.  fd is ours, then the channel's. */
	rc = conn_connect(&fd, detail, sizeof(detail), &address,
			  CONN_FAMILY_ANY, 5000, NULL);
	if (rc) {
		conn_key_free(key);
		return fail(argv[1], rc, detail);
	}
	rc = conn_channel_new(&c, fd, fd);
	if (rc) {
		conn_key_free(key);
		return fail("channel", rc, NULL);
	}

	/* The mutual HMAC handshake, bounded as the tools bound it. */
	conn_channel_set_deadline(c, conn_clock_ms() + 10000);
	conn_auth_init(&auth, CONN_ROLE_CLIENT, key, CONN_DIGEST_SHA256,
		       0);
	rc = conn_channel_authenticate(c, &auth);
	conn_channel_set_deadline(c, -1);
	conn_key_free(key);	/* only the handshake needs it */
	if (rc) {
		rc = fail("authentication failed", rc,
			  conn_channel_detail(c));
		conn_channel_free(c);
		return rc;
	}

	buf = malloc(cap);
	if (buf == NULL)
		rc = CONN_ENOMEM;
	for (i = 3; i < argc && rc == 0; i++) {
		rc = conn_channel_send(c, argv[i], strlen(argv[i]));
		if (rc == 0)
			rc = recv_message(c, &buf, &cap, &len);
		if (rc == 0) {
			fwrite(buf, 1, len, stdout);
			putchar('\n');
		}
	}
	if (rc)
		rc = fail("exchange", rc, conn_channel_detail(c));
	free(buf);
	conn_channel_free(c);	/* closes fd */
	return rc;
}
