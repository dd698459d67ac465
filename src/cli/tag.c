/* tag.c - a tag before each record of a text: conn-listen -k --tag's peer
 * address, conn-pipe --in pcap's conversation and direction. */
#include "cli.h"

#include <string.h>

/* "TAG " into b. */
static int append_tag(struct conn_buffer *b, const char *tag)
{
	int rc = conn_buffer_append(b, tag, strlen(tag));

	return rc ? rc : conn_buffer_append(b, " ", 1);
}

int cli_tag_records(struct conn_buffer *b, const char *tag,
		    const char *data, size_t len, char sep, bool close,
		    bool *at_start)
{
	const char *end;
	size_t part;
	int rc = 0;

	while (len > 0 && rc == 0) {
		end = memchr(data, sep, len);
		part = end ? (size_t)(end - data) + 1 : len;
		if (*at_start)
			rc = append_tag(b, tag);
		if (rc == 0)
			rc = conn_buffer_append(b, data, part);
		*at_start = end != NULL;
		data += part;
		len -= part;
	}
	if (rc == 0 && close && *at_start)
		rc = append_tag(b, tag);
	if (rc == 0 && close) {
		rc = conn_buffer_append(b, &sep, 1);
		*at_start = true;
	}
	return rc;
}
