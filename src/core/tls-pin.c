/*
 * tls-pin.c - a public-key pin's text, "sha256//BASE64": parsed from an
 * option (a fuzzer's target: tests/fuzz/fuzz-tls-pin.c) and written for
 * -v, so that what -v prints is what --tls-pin takes.
 */
#include "internal.h"

#include <nettle/base64.h>
#include <stdio.h>

#define PIN_PREFIX "sha256//"
#define PIN_PREFIX_LEN (sizeof(PIN_PREFIX) - 1)
/* Base64 of 32 bytes: 43 characters and one '='. */
#define PIN_BASE64_LEN 44

int conn_tls_pin_parse(uint8_t *pin, char *detail, size_t capacity,
		       const char *text, size_t len)
{
	struct base64_decode_ctx ctx;
	uint8_t out[BASE64_DECODE_LENGTH(PIN_BASE64_LEN)];
	size_t n = sizeof(out), i;

	if (len < PIN_PREFIX_LEN || memcmp(text, PIN_PREFIX, PIN_PREFIX_LEN)) {
		detail_set(detail, capacity, "invalid --tls-pin: it starts "
			   "with '%s' (the SHA-256 of the public key)",
			   PIN_PREFIX);
		return CONN_EINVAL;
	}
	text += PIN_PREFIX_LEN;
	len -= PIN_PREFIX_LEN;
	/* The decoder skips blanks; a pin has none, nor anything else. */
	for (i = 0; i < len; i++)
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
		    text[i] == '\r')
			break;
	base64_decode_init(&ctx);
	if (len != PIN_BASE64_LEN || i < len ||
	    !base64_decode_update(&ctx, &n, out, len, text) ||
	    !base64_decode_final(&ctx) || n != CONN_TLS_PIN_SIZE) {
		detail_set(detail, capacity, "invalid --tls-pin: after '%s' "
			   "come %d base64 characters (32 bytes)",
			   PIN_PREFIX, PIN_BASE64_LEN);
		return CONN_EINVAL;
	}
	memcpy(pin, out, CONN_TLS_PIN_SIZE);
	return 0;
}

void conn_tls_pin_format(char *out, const uint8_t *pin)
{
	char text[BASE64_ENCODE_RAW_LENGTH(CONN_TLS_PIN_SIZE) + 1];

	base64_encode_raw(text, CONN_TLS_PIN_SIZE, pin);
	text[sizeof(text) - 1] = '\0';
	snprintf(out, CONN_TLS_PIN_TEXT_MAX, "%s%s", PIN_PREFIX, text);
}
