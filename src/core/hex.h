/*
 * hex.h - the value of a hex digit, for the hex format (format.c) and for
 * the pickle decoder's numbers and escapes (pickle-*.c): in a header of its
 * own, so that the pickle decoder does not depend on the formats that
 * depend on it.
 */
#ifndef CONN_HEX_H
#define CONN_HEX_H

/* The value of one hex digit, either case, or -1. */
static inline int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
