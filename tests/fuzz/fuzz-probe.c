/*
 * fuzz-probe.c - libFuzzer harness for the probe's classifier
 * (conn_probe_classify): the input is what a peer sent first.  Any input
 * is decided at the end of stream, with a printable, NUL-ended text; a
 * decision taken on a prefix stands once more bytes come, and a
 * challenge's frame length is within the input.
 */
#include "conn.h"
#include "fuzz.h"

#include <stdbool.h>

static void check_text(const struct conn_probe_first *f)
{
	size_t i, n = strnlen(f->text, sizeof(f->text));

	FUZZ_CHECK(n < sizeof(f->text));
	for (i = 0; i < n; i++)
		FUZZ_CHECK(f->text[i] >= 0x20 && f->text[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn_probe_first whole, part;
	size_t cut;
	int rc;

	rc = conn_probe_classify(&whole, data, size, true);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(whole.kind <= CONN_PROBE_OTHER);
	check_text(&whole);
	if (whole.kind == CONN_PROBE_CHALLENGE) {
		FUZZ_CHECK(whole.frame_len <= size);
		FUZZ_CHECK(whole.style != CONN_PROBE_NO_STYLE);
		FUZZ_CHECK(whole.digest < CONN_DIGEST_COUNT);
	}
	FUZZ_CHECK((whole.kind == CONN_PROBE_SILENT) == (size == 0));
	/* The first prefix that decides, without the end of stream, must
	 * say what the whole does. */
	for (cut = 0; cut <= size; cut++) {
		rc = conn_probe_classify(&part, data, cut, false);
		FUZZ_CHECK(rc == 0 || rc == CONN_EAGAIN);
		if (rc == 0) {
			check_text(&part);
			FUZZ_CHECK(part.kind == whole.kind);
			FUZZ_CHECK(part.size == whole.size);
			FUZZ_CHECK(strcmp(part.text, whole.text) == 0);
			break;
		}
	}
	return 0;
}
