/*
 * detail.h - the one-line details that go with error codes, and errno
 * turned into them (error.c).  Private to the core, like internal.h.
 */
#ifndef CONN_DETAIL_H
#define CONN_DETAIL_H

#include "conn.h"

#include <stddef.h>

/* printf into a detail buffer; always terminated. */
void detail_set(char *detail, size_t capacity, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A read(2)/write(2) errno as a conn error. */
CONN_NODISCARD
int errno_to_conn(int err);

#endif
