/*
 * fuzz-tls-pin.c - libFuzzer harness for the public-key pin parser
 * (conn_tls_pin_parse), the one text --tls-pin reads: the input is the
 * option's value.  What it accepts is 32 bytes whose text
 * (conn_tls_pin_format) parses back to them; what it refuses says why in a
 * terminated detail, and the parser never reads past the input (an exact
 * copy: ASan sees an overread).
 */
#include "conn.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pin[CONN_TLS_PIN_SIZE], back[CONN_TLS_PIN_SIZE];
	char detail[40], text[CONN_TLS_PIN_TEXT_MAX];
	char *copy = malloc(size ? size : 1);
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	memset(detail, 'x', sizeof(detail));
	rc = conn_tls_pin_parse(pin, detail, sizeof(detail), copy, size);
	FUZZ_CHECK(rc == 0 || rc == CONN_EINVAL);
	if (rc) {
		FUZZ_CHECK(memchr(detail, '\0', sizeof(detail)) != NULL);
	} else {
		/* "sha256//" and 44 characters of base64. */
		FUZZ_CHECK(size == 52);
		conn_tls_pin_format(text, pin);
		FUZZ_CHECK(strlen(text) == 52);
		FUZZ_CHECK(conn_tls_pin_parse(back, detail, sizeof(detail),
					      text, strlen(text)) == 0);
		FUZZ_CHECK(memcmp(back, pin, sizeof(pin)) == 0);
	}
	free(copy);
	return 0;
}
