/* frame.c - the wire framing, as pure functions over bytes. */
#include "internal.h"

#include <string.h>

size_t conn_frame_header_encode(uint8_t *out, uint64_t length)
{
	if (length <= CONN_FRAME_SHORT_MAX) {
		frame_put_be32(out, (uint32_t)length);
		return 4;
	}
	frame_put_be32(out, 0xffffffffu);
	frame_put_be32(out + 4, (uint32_t)(length >> 32));
	frame_put_be32(out + 8, (uint32_t)length);
	return CONN_FRAME_HEADER_MAX;
}

int conn_frame_header_decode(uint64_t *length, size_t *header_size,
			     const uint8_t *bytes, size_t n)
{
	int32_t short_length;

	if (n < 4)
		return CONN_EAGAIN;
	short_length = (int32_t)frame_get_be32(bytes);
	if (short_length >= 0) {
		*length = (uint64_t)short_length;
		*header_size = 4;
		return 0;
	}
	if (short_length != -1)
		return CONN_EPROTO;
	if (n < CONN_FRAME_HEADER_MAX)
		return CONN_EAGAIN;
	*length = (uint64_t)frame_get_be32(bytes + 4) << 32 | frame_get_be32(bytes + 8);
	*header_size = CONN_FRAME_HEADER_MAX;
	return 0;
}

void conn_frame_reader_init(struct conn_frame_reader *r, uint64_t max_size)
{
	*r = (struct conn_frame_reader){ .max_size = max_size };
}

bool conn_frame_reader_is_idle(const struct conn_frame_reader *r)
{
	return !r->in_payload && r->header_have == 0;
}

size_t conn_frame_reader_header(const struct conn_frame_reader *r,
				const uint8_t **bytes)
{
	*bytes = r->header;
	return r->header_have;
}

/* The header is whole: refuses a length over the cap before any payload. */
static int reader_start_payload(struct conn_frame_reader *r)
{
	if (r->max_size && r->total > r->max_size)
		return CONN_ETOOBIG;
	r->in_payload = true;
	r->offset = 0;
	return 0;
}

/* Gathers header bytes; 0 once the header is whole, or an error. */
static int reader_take_header(struct conn_frame_reader *r, size_t *used,
			      const uint8_t *bytes, size_t n)
{
	size_t header_size = 0;
	int rc;

	while (*used < n) {
		r->header[r->header_have++] = bytes[(*used)++];
		if (r->header_have != 4 &&
		    r->header_have != CONN_FRAME_HEADER_MAX)
			continue;
		rc = conn_frame_header_decode(&r->total, &header_size,
					      r->header, r->header_have);
		if (rc == CONN_EAGAIN)
			continue;
		if (rc)
			return rc;
		return reader_start_payload(r);
	}
	return CONN_EAGAIN;
}

int conn_frame_reader_next(struct conn_frame_reader *r,
			   struct conn_piece *piece, size_t *used,
			   const uint8_t *bytes, size_t n, size_t max_piece)
{
	uint64_t left;
	size_t take;
	int rc;

	*used = 0;
	if (!r->in_payload && r->header_have == 0 && n >= 4 &&
	    bytes[0] < 0x80) {
		/* The common case, a whole short header: no byte-by-byte. */
		memcpy(r->header, bytes, 4);
		r->header_have = 4;
		r->total = frame_get_be32(bytes);
		*used = 4;
		rc = reader_start_payload(r);
		if (rc)
			return rc;
	} else if (!r->in_payload) {
		rc = reader_take_header(r, used, bytes, n);
		if (rc)
			return rc;
	}
	left = r->total - r->offset;
	take = n - *used;
	if (take > left)
		take = (size_t)left;
	if (take > max_piece)
		take = max_piece;
	/* A piece carries bytes, except the one piece of an empty message. */
	if (take == 0 && left != 0)
		return CONN_EAGAIN;
	*piece = (struct conn_piece){ .data = bytes + *used, .size = take,
				      .offset = r->offset, .total = r->total };
	*used += take;
	r->offset += take;
	if (r->offset == r->total) {
		r->in_payload = false;
		r->header_have = 0;
		r->messages++;
	}
	return 0;
}
