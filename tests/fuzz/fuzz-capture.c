/*
 * fuzz-capture.c - libFuzzer harness for the capture reader
 * (conn_capture_reader_packet): any packets, each in a buffer of its own
 * exact size, must give messages that hold together, and the same
 * messages when given twice over (determinism), within the limits.
 *
 * Input: [setup] then packets, each [length, 2 bytes BE][bytes].
 * setup, bits 0-2: the link type (Ethernet, SLL, SLL2, null, raw, loop,
 * IPv4, IPv6); bit 3: --port 5000 rather than every conversation; bits
 * 4-5: max_size (none, 16, 4096, 1 MiB).
 */
#include "conn.h"
#include "fuzz.h"

#include <string.h>

static const int links[8] = { 1, 113, 276, 0, 101, 108, 228, 229 };
static const uint64_t max_sizes[4] = { 0, 16, 4096, 1 << 20 };

struct run {
	uint64_t hash;
	uint64_t messages, packets, warnings;
	uint64_t max_size;
};

static int on_message(void *ctx, const struct conn_capture_message *m)
{
	struct run *run = ctx;

	FUZZ_CHECK(m->dir == 0 || m->dir == 1);
	FUZZ_CHECK(m->conn >= 1 && m->conn <= run->packets);
	FUZZ_CHECK(run->max_size == 0 || m->size <= run->max_size);
	FUZZ_CHECK(strchr(m->src, ':') != NULL && strchr(m->dst, ':') != NULL);
	FUZZ_CHECK(m->handshake == NULL ||
		   strcmp(m->handshake, "challenge") == 0 ||
		   strcmp(m->handshake, "digest") == 0 ||
		   strcmp(m->handshake, "welcome") == 0 ||
		   strcmp(m->handshake, "failure") == 0);
	run->hash = fuzz_hash_u64(run->hash, m->conn * 2 + (uint64_t)m->dir);
	run->hash = fuzz_hash(run->hash, m->data, m->size);
	run->messages++;
	return 0;
}

static void on_log(void *ctx, enum conn_log_level level, const char *line)
{
	struct run *run = ctx;

	FUZZ_CHECK(level == CONN_LOG_WARNING && line[0] != '\0');
	run->warnings++;
}

static void read_all(struct run *run, int link, uint16_t port,
		     const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct conn_capture_reader *r = NULL;
	uint8_t *packet;
	size_t n;

	*run = (struct run){ .hash = FUZZ_HASH_INIT,
			     .max_size = run->max_size };
	FUZZ_CHECK(conn_capture_reader_new(&r, link, port, run->max_size,
					   on_message, on_log, run) == 0);
	while (in.n > 0) {
		n = fuzz_u16(&in);
		if (n > in.n)
			n = in.n;
		packet = fuzz_copy(in.p, n);
		in.p += n;
		in.n -= n;
		run->packets++;
		FUZZ_CHECK(conn_capture_reader_packet(r, packet, n,
						      (int64_t)run->packets)
			   == 0);
		free(packet);
	}
	FUZZ_CHECK(conn_capture_reader_finish(r) == 0);
	conn_capture_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t setup = fuzz_byte(&in);
	int link = links[setup & 7];
	uint16_t port = (setup & 8) ? 5000 : 0;
	struct run a = { .max_size = max_sizes[setup >> 4 & 3] }, b = a;

	read_all(&a, link, port, in.p, in.n);
	read_all(&b, link, port, in.p, in.n);
	FUZZ_CHECK(a.hash == b.hash && a.messages == b.messages &&
		   a.warnings == b.warnings);
	return 0;
}
