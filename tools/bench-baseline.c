/*
 * bench-baseline.c - the ceiling for tools/bench: framed messages moved by
 * a bare C program, with no tool, library or option parsing around them.
 *
 *   bench-baseline stream   unix|tcp SIZE COUNT   prints "MSGS_PER_S MB_PER_S"
 *   bench-baseline pingpong unix|tcp SIZE COUNT   prints "P50_NS P99_NS"
 *
 * The wire is the multiprocessing.connection framing (4-byte big-endian
 * length; -1 and an 8-byte length over 2 GiB).  The sender packs small
 * frames into one 256 KiB buffer and writes it when full; a large message
 * leaves as one writev of header and payload.  The receiver reads 256 KiB
 * at a time and walks the headers.  "unix" is a socketpair, "tcp" a
 * loopback connection with TCP_NODELAY.  The receiving side is a forked
 * child; the figure covers the first send to the receiver's reply (the
 * count it saw), as conn-bench's stream workload does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t header_encode(uint8_t *h, uint64_t size)
{
	int i;

	if (size <= 0x7fffffff) {
		for (i = 0; i < 4; i++)
			h[i] = (uint8_t)(size >> (24 - 8 * i));
		return 4;
	}
	memset(h, 0xff, 4);
	for (i = 0; i < 8; i++)
		h[4 + i] = (uint8_t)(size >> (56 - 8 * i));
	return 12;
}

static void write_all(int fd, const void *data, size_t n)
{
	const uint8_t *p = data;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static void writev_all(int fd, struct iovec *iov, int n)
{
	ssize_t w;

	while (n > 0) {
		w = writev(fd, iov, n);
		if (w < 0)
			die("writev");
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

static void read_all(int fd, void *data, size_t n)
{
	uint8_t *p = data;
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r <= 0)
			die("read");
		p += r;
		n -= (size_t)r;
	}
}

static uint64_t header_decode(const uint8_t *h, size_t *hlen)
{
	uint64_t v = 0;
	int i;

	if (h[0] == 0xff && h[1] == 0xff && h[2] == 0xff && h[3] == 0xff) {
		for (i = 0; i < 8; i++)
			v = v << 8 | h[4 + i];
		*hlen = 12;
		return v;
	}
	for (i = 0; i < 4; i++)
		v = v << 8 | h[i];
	*hlen = 4;
	return v;
}

/* Reads until EOF, counting whole frames; replies the count. */
static void sink(int fd)
{
	uint8_t *buf = malloc(BUF_SIZE);
	size_t have = 0, pos, hlen;
	uint64_t skip = 0, count = 0, len;
	ssize_t r;

	if (buf == NULL)
		die("malloc");
	for (;;) {
		r = read(fd, buf + have, BUF_SIZE - have);
		if (r < 0)
			die("read");
		if (r == 0)
			break;
		have += (size_t)r;
		pos = 0;
		for (;;) {
			if (skip) {
				uint64_t n = have - pos < skip ? have - pos : skip;

				pos += n;
				skip -= n;
				if (skip == 0)
					count++;
				if (pos == have)
					break;
			}
			if (have - pos < 12 && (have - pos < 4 ||
			    header_decode(buf + pos, &hlen) == 0xffffffff))
				break;
			len = header_decode(buf + pos, &hlen);
			pos += hlen;
			if (len == 0)
				count++;
			skip = len;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
	}
	write_all(fd, &count, sizeof(count));
	free(buf);
}

static void stream_send(int fd, size_t size, uint64_t count)
{
	uint8_t *buf = malloc(BUF_SIZE), *payload = malloc(size + 1);
	uint8_t h[12];
	size_t used = 0, hlen;
	uint64_t i, seen;

	if (buf == NULL || payload == NULL)
		die("malloc");
	memset(payload, 'x', size);
	hlen = header_encode(h, size);
	for (i = 0; i < count; i++) {
		if (hlen + size > BUF_SIZE / 4) {
			struct iovec iov[2] = { { h, hlen }, { payload, size } };

			write_all(fd, buf, used);
			used = 0;
			writev_all(fd, iov, 2);
			continue;
		}
		if (used + hlen + size > BUF_SIZE) {
			write_all(fd, buf, used);
			used = 0;
		}
		memcpy(buf + used, h, hlen);
		memcpy(buf + used + hlen, payload, size);
		used += hlen + size;
	}
	write_all(fd, buf, used);
	shutdown(fd, SHUT_WR);
	read_all(fd, &seen, sizeof(seen));
	if (seen != count) {
		fprintf(stderr, "the sink counted %llu of %llu\n",
			(unsigned long long)seen, (unsigned long long)count);
		exit(1);
	}
	free(buf);
	free(payload);
}

/* Reads one frame of at most cap bytes into buf (payload after header). */
static size_t read_frame(int fd, uint8_t *buf)
{
	size_t hlen;
	uint64_t len;

	read_all(fd, buf, 4);
	len = header_decode(buf, &hlen);
	read_all(fd, buf + 4, len);
	return 4 + len;
}

static void echo(int fd, size_t size)
{
	uint8_t *buf = malloc(size + 12);
	ssize_t r;
	size_t n;

	if (buf == NULL)
		die("malloc");
	for (;;) {
		r = read(fd, buf, 4);
		if (r == 0)
			break;
		if (r != 4)
			read_all(fd, buf + (r > 0 ? r : 0), 4 - (r > 0 ? r : 0));
		n = 4 + (size_t)header_decode(buf, &n);
		read_all(fd, buf + 4, n - 4);
		write_all(fd, buf, n);
	}
	free(buf);
}

static int compare(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void pingpong(int fd, size_t size, uint64_t count)
{
	uint8_t *frame = malloc(size + 12), *back = malloc(size + 12);
	int64_t *ns = malloc(count * sizeof(*ns)), t0;
	size_t hlen = header_encode(frame, size);
	uint64_t i;

	if (frame == NULL || back == NULL || ns == NULL)
		die("malloc");
	memset(frame + hlen, 'x', size);
	for (i = 0; i < count; i++) {
		t0 = now_ns();
		write_all(fd, frame, hlen + size);
		read_frame(fd, back);
		ns[i] = now_ns() - t0;
	}
	shutdown(fd, SHUT_WR);
	qsort(ns, count, sizeof(*ns), compare);
	printf("%lld %lld\n", (long long)ns[count / 2],
	       (long long)ns[count * 99 / 100]);
	free(frame);
	free(back);
	free(ns);
}

/* Two connected sockets of the asked kind: sv[0] ours, sv[1] the child's. */
static void connect_pair(int sv[2], const char *kind)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int one = 1, l;

	if (strcmp(kind, "unix") == 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			die("socketpair");
		return;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &len) < 0)
		die("listen");
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	sv[1] = accept(l, NULL, NULL);
	if (sv[1] < 0)
		die("accept");
	close(l);
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int main(int argc, char **argv)
{
	int sv[2], status;
	size_t size;
	uint64_t count;
	pid_t pid;
	int64_t t0, t;
	int stream;

	if (argc != 5) {
		fprintf(stderr, "usage: bench-baseline stream|pingpong "
			"unix|tcp SIZE COUNT\n");
		return 2;
	}
	stream = strcmp(argv[1], "stream") == 0;
	size = strtoull(argv[3], NULL, 10);
	count = strtoull(argv[4], NULL, 10);
	if (count == 0)
		count = 1;
	connect_pair(sv, argv[2]);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sv[0]);
		if (stream)
			sink(sv[1]);
		else
			echo(sv[1], size);
		_exit(0);
	}
	close(sv[1]);
	t0 = now_ns();
	if (stream) {
		stream_send(sv[0], size, count);
		t = now_ns() - t0;
		printf("%.0f %.1f\n", count * 1e9 / t,
		       (double)count * size * 1e3 / t);
	} else {
		pingpong(sv[0], size, count);
	}
	close(sv[0]);
	waitpid(pid, &status, 0);
	return 0;
}
