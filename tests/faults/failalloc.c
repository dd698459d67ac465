/*
 * failalloc.c - allocation failure injection for the tests, never installed.
 *
 * Built by make check as tests/faults/failalloc.so and loaded with
 * LD_PRELOAD into a tool under test: with CONN_TEST_FAIL_ALLOC=BYTES in
 * the environment, every malloc(), calloc() and realloc() of BYTES or
 * more fails with ENOMEM, the others go to the C library.  A size, not a
 * count: the big buffers a message needs fail, the small ones the tool
 * needs to run do not, whatever their order.  Without the variable (or
 * with 0) nothing fails.  The tools link the core statically, so every
 * allocation of theirs passes here.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* glibc's own entry points: no dlsym(), which itself allocates. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static size_t limit(void)
{
	static size_t bytes = (size_t)-1;	/* not read yet */
	const char *text;

	if (bytes == (size_t)-1) {
		text = getenv("CONN_TEST_FAIL_ALLOC");
		bytes = text ? strtoull(text, NULL, 10) : 0;
	}
	return bytes;
}

static int fails(size_t size)
{
	size_t at = limit();

	if (at == 0 || size < at)
		return 0;
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t size)
{
	return fails(size) ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	/* n * size may overflow: the C library refuses it itself. */
	return n && size > (size_t)-1 / n ? __libc_calloc(n, size)
	       : fails(n * size) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return fails(size) ? NULL : __libc_realloc(p, size);
}
