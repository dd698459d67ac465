/*
 * format.c - the message formats of stdin and stdout, as pure functions:
 * decoders cut a byte stream into messages, encoders write messages out.
 */
#include "internal.h"
#include "hex.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[CONN_FORMAT_COUNT] = {
	[CONN_FORMAT_LINES] = "lines",
	[CONN_FORMAT_NULL] = "null",
	[CONN_FORMAT_RAW] = "raw",
	[CONN_FORMAT_FRAMES] = "frames",
	[CONN_FORMAT_HEX] = "hex",
	[CONN_FORMAT_QUOTED] = "quoted",
	[CONN_FORMAT_JSON] = "json",
	[CONN_FORMAT_REPR] = "repr",
	[CONN_FORMAT_PICKLE_DIS] = "pickle-dis",
	[CONN_FORMAT_AUDIT] = "audit",
	[CONN_FORMAT_AUDIT_JSON] = "audit-json",
};

int conn_format_from_name(enum conn_format *f, const char *name)
{
	int i;

	for (i = 0; i < CONN_FORMAT_COUNT; i++) {
		if (strcmp(names[i], name) == 0) {
			*f = (enum conn_format)i;
			return 0;
		}
	}
	return CONN_EINVAL;
}

const char *conn_format_name(enum conn_format f)
{
	return names[f];
}

bool conn_format_is_input(enum conn_format f)
{
	return f != CONN_FORMAT_REPR && f != CONN_FORMAT_PICKLE_DIS &&
	       !conn_format_is_audit(f);
}

bool conn_format_is_audit(enum conn_format f)
{
	return f == CONN_FORMAT_AUDIT || f == CONN_FORMAT_AUDIT_JSON;
}

bool conn_format_is_output(enum conn_format f)
{
	return f < CONN_FORMAT_COUNT;
}

bool conn_format_is_whole(enum conn_format f)
{
	return f == CONN_FORMAT_QUOTED || f == CONN_FORMAT_JSON ||
	       f == CONN_FORMAT_REPR || f == CONN_FORMAT_PICKLE_DIS ||
	       conn_format_is_audit(f);
}

/* ---------------------------------------------------------------- decoders */

void conn_decoder_init(struct conn_decoder *d, enum conn_format f,
		       uint64_t max_size, size_t chunk_size)
{
	/* A raw chunk is a message: --max-size bounds it too. */
	if (max_size && chunk_size > max_size)
		chunk_size = (size_t)max_size;
	*d = (struct conn_decoder){ .format = f, .max_size = max_size,
				    .chunk_size = chunk_size, .line = 1,
				    .pickle_protocol = 4 };
	/* Frames on stdin are ours to stream: no size cap applies. */
	conn_frame_reader_init(&d->frames, 0);
}

void conn_decoder_free(struct conn_decoder *d)
{
	free(d->scratch);
	d->scratch = NULL;
	d->scratch_cap = 0;
}

size_t conn_decoder_window(const struct conn_decoder *d)
{
	if (d->max_size == 0 || d->max_size > SIZE_MAX / 4)
		return SIZE_MAX;
	switch (d->format) {
	case CONN_FORMAT_LINES:
	case CONN_FORMAT_NULL:
		return (size_t)d->max_size + 1;
	case CONN_FORMAT_HEX:	/* two digits a byte, maybe spaced */
	case CONN_FORMAT_QUOTED:	/* \xNN is four a byte */
	case CONN_FORMAT_JSON:
		return (size_t)d->max_size * 4 + 4;
	default:
		return 64 * 1024;
	}
}

/* Hands out the next piece of the message in view at bytes. */
static int emit(struct conn_decoder *d, struct conn_piece *piece,
		size_t *used, const uint8_t *bytes, size_t max_piece)
{
	uint64_t left = d->total - d->offset;
	size_t take = left < max_piece ? (size_t)left : max_piece;

	*piece = (struct conn_piece){ .data = bytes, .size = take,
				      .offset = d->offset, .total = d->total };
	d->offset += take;
	*used += take;
	if (d->offset == d->total) {
		d->in_message = false;
		if (d->separator)
			(*used)++;
		d->line++;
	}
	return 0;
}

static void begin(struct conn_decoder *d, uint64_t total, bool separator)
{
	d->in_message = true;
	d->total = total;
	d->offset = 0;
	d->separator = separator;
}

static int too_long(struct conn_decoder *d)
{
	detail_set(d->detail, sizeof(d->detail),
		   "stdin message %llu is longer than --max-size (%llu bytes)",
		   (unsigned long long)d->line,
		   (unsigned long long)d->max_size);
	return CONN_ETOOBIG;
}

/* Finds the end of the next delimited message; CONN_EAGAIN if not in view. */
static int find_end(struct conn_decoder *d, size_t *len, bool *separator,
		    const uint8_t *bytes, size_t n, bool eof, char sep)
{
	const uint8_t *end = memchr(bytes, sep, n);

	*separator = end != NULL;
	*len = end ? (size_t)(end - bytes) : n;
	if (end == NULL && !eof) {
		if (d->max_size && n > conn_decoder_window(d))
			return too_long(d);
		return CONN_EAGAIN;
	}
	if (end == NULL && n == 0)
		return CONN_EAGAIN;	/* all done */
	return 0;
}

static int scratch_reserve(struct conn_decoder *d, size_t n)
{
	uint8_t *grown;

	if (d->scratch_cap >= n)
		return 0;
	grown = realloc(d->scratch, n);
	if (grown == NULL)
		return CONN_ENOMEM;
	d->scratch = grown;
	d->scratch_cap = n;
	return 0;
}

/* Decodes one hex line into d->scratch; spaces, tabs and \r are skipped. */
static int hex_decode_line(struct conn_decoder *d, size_t *out_len,
			   const uint8_t *text, size_t len)
{
	size_t i, n = 0;
	int high = -1, v;

	if (scratch_reserve(d, len / 2 + 1))
		return CONN_ENOMEM;
	for (i = 0; i < len; i++) {
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')
			continue;
		v = hex_digit_value(text[i]);
		if (v < 0)
			goto bad;
		if (high < 0) {
			high = v;
		} else {
			d->scratch[n++] = (uint8_t)(high << 4 | v);
			high = -1;
		}
	}
	if (high >= 0)
		goto bad;
	if (d->max_size && n > d->max_size)
		return too_long(d);
	*out_len = n;
	return 0;
bad:
	detail_set(d->detail, sizeof(d->detail),
		   "stdin line %llu is not hex (an odd number of digits or "
		   "another character)", (unsigned long long)d->line);
	return CONN_EPROTO;
}

/* The byte a one-letter escape (after a backslash) stands for, or -1. */
static int escape_value(uint8_t letter)
{
	switch (letter) {
	case '\\': case '\'': case '"': return letter;
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'a': return '\a';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'v': return '\v';
	default: return -1;
	}
}

/* Decodes the escape at text[*i] (a backslash), leaving *i on its end. */
static int quoted_escape(uint8_t *out, size_t *i, const uint8_t *text,
			 size_t len)
{
	int high, low, v;

	if (++*i >= len)
		return CONN_EPROTO;
	if (text[*i] == 'x') {
		if (*i + 2 >= len)
			return CONN_EPROTO;
		high = hex_digit_value(text[*i + 1]);
		low = hex_digit_value(text[*i + 2]);
		if (high < 0 || low < 0)
			return CONN_EPROTO;
		*out = (uint8_t)(high << 4 | low);
		*i += 2;
		return 0;
	}
	if (text[*i] >= '0' && text[*i] <= '7') {
		/* \ooo: one to three octal digits; Python keeps the low byte
		 * of b'\777'. */
		size_t end = *i + 3 < len ? *i + 3 : len;

		for (v = 0; *i < end && text[*i] >= '0' && text[*i] <= '7';
		     ++*i)
			v = v * 8 + (text[*i] - '0');
		--*i;
		*out = (uint8_t)v;
		return 0;
	}
	v = escape_value(text[*i]);
	if (v < 0)
		return CONN_EPROTO;
	*out = (uint8_t)v;
	return 0;
}

/* Decodes b'..', b"..", '..' or ".." with Python's escapes. */
static int quoted_decode_line(struct conn_decoder *d, size_t *out_len,
			      const uint8_t *text, size_t len)
{
	size_t i = 0, n = 0;
	uint8_t quote;

	while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	if (len > 0 && text[0] == 'b')
		i++;
	if (len < i + 2 || (text[i] != '\'' && text[i] != '"') ||
	    text[len - 1] != text[i])
		goto bad;
	quote = text[i++];
	if (scratch_reserve(d, len))
		return CONN_ENOMEM;
	for (; i < len - 1; i++) {
		if (text[i] == quote)
			goto bad;
		if (text[i] != '\\')
			d->scratch[n++] = text[i];
		else if (quoted_escape(&d->scratch[n++], &i, text, len - 1))
			goto bad;
	}
	if (d->max_size && n > d->max_size)
		return too_long(d);
	*out_len = n;
	return 0;
bad:
	detail_set(d->detail, sizeof(d->detail),
		   "stdin line %llu is not a quoted string like b'a\\x00'",
		   (unsigned long long)d->line);
	return CONN_EPROTO;
}

/* Pickles the JSON value on one line. */
static int json_decode_line(struct conn_decoder *d, size_t *out_len,
			    const uint8_t *text, size_t len)
{
	char why[100];
	uint8_t *pickle;
	int rc;

	rc = conn_pickle_from_json(&pickle, out_len, why, sizeof(why),
				   (const char *)text, len,
				   d->pickle_protocol);
	if (rc) {
		detail_set(d->detail, sizeof(d->detail), "stdin line %llu: %s",
			   (unsigned long long)d->line, why);
		return rc == CONN_EINVAL ? CONN_EPROTO : rc;
	}
	free(d->scratch);
	d->scratch = pickle;
	d->scratch_cap = *out_len;
	/* The pickle is the message: it, not the text, meets --max-size. */
	return d->max_size && *out_len > d->max_size ? too_long(d) : 0;
}

static bool is_blank(const uint8_t *text, size_t len)
{
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
			   text[len - 1] == '\r'))
		len--;
	return len == 0;
}

/* Formats with one message per line, translated into d->scratch. */
static int next_translated(struct conn_decoder *d, struct conn_piece *piece,
			   size_t *used, const uint8_t *bytes, size_t n,
			   bool eof, size_t max_piece)
{
	size_t len, decoded = 0, consumed;
	bool separator;
	int rc;

	if (!d->in_message) {
		rc = find_end(d, &len, &separator, bytes, n, eof, '\n');
		if (rc)
			return rc;
		if (d->format == CONN_FORMAT_JSON && is_blank(bytes, len)) {
			/* Blank lines between JSON values are no values. */
			*used = len + separator;
			d->line++;
			return CONN_EAGAIN;
		}
		if (d->format == CONN_FORMAT_HEX)
			rc = hex_decode_line(d, &decoded, bytes, len);
		else if (d->format == CONN_FORMAT_QUOTED)
			rc = quoted_decode_line(d, &decoded, bytes, len);
		else
			rc = json_decode_line(d, &decoded, bytes, len);
		if (rc)
			return rc;
		begin(d, decoded, false);
		*used = len + separator;
	}
	/* Pieces come from scratch: only the line itself was input. */
	consumed = *used;
	rc = emit(d, piece, used, d->scratch + d->offset, max_piece);
	*used = consumed;
	return rc;
}

static int next_delimited(struct conn_decoder *d, struct conn_piece *piece,
			  size_t *used, const uint8_t *bytes, size_t n,
			  bool eof, size_t max_piece)
{
	size_t len;
	bool separator;
	int rc;

	if (!d->in_message) {
		rc = find_end(d, &len, &separator, bytes, n, eof,
			      d->format == CONN_FORMAT_NULL ? '\0' : '\n');
		if (rc)
			return rc;
		if (d->max_size && len > d->max_size)
			return too_long(d);
		begin(d, len, separator);
	}
	return emit(d, piece, used, bytes, max_piece);
}

static int next_raw(struct conn_decoder *d, struct conn_piece *piece,
		    size_t *used, const uint8_t *bytes, size_t n,
		    size_t max_piece)
{
	if (!d->in_message) {
		if (n == 0)
			return CONN_EAGAIN;
		begin(d, n < d->chunk_size ? n : d->chunk_size, false);
	}
	return emit(d, piece, used, bytes, max_piece);
}

/* stdin ended inside a frame: how much of it, header or payload, came. */
static int frame_cut(struct conn_decoder *d)
{
	const struct conn_frame_reader *f = &d->frames;
	unsigned long long n = (unsigned long long)f->messages + 1;
	/* A header of 4 bytes, or 12 when they are -1 (a length over 2 GiB). */
	bool long_header = f->header_have >= 4 &&
			   memcmp(f->header, "\xff\xff\xff\xff", 4) == 0;

	if (f->in_payload)
		detail_set(d->detail, sizeof(d->detail),
			   "stdin ends inside frame %llu (%llu of %llu bytes)",
			   n, (unsigned long long)f->offset,
			   (unsigned long long)f->total);
	else
		detail_set(d->detail, sizeof(d->detail),
			   "stdin ends inside the header of frame %llu (%zu "
			   "of %d bytes)", n, f->header_have,
			   long_header ? 12 : 4);
	return CONN_ETRUNC;
}

static int next_frame(struct conn_decoder *d, struct conn_piece *piece,
		      size_t *used, const uint8_t *bytes, size_t n, bool eof,
		      size_t max_piece)
{
	int rc = conn_frame_reader_next(&d->frames, piece, used, bytes, n,
					max_piece);

	if (rc == CONN_EPROTO)
		detail_set(d->detail, sizeof(d->detail),
			   "stdin frame %llu has an invalid length",
			   (unsigned long long)d->frames.messages + 1);
	if (rc == CONN_EAGAIN && eof && *used == n &&
	    !conn_frame_reader_is_idle(&d->frames))
		return frame_cut(d);
	return rc;
}

int conn_decoder_next(struct conn_decoder *d, struct conn_piece *piece,
		      size_t *used, const uint8_t *bytes, size_t n, bool eof,
		      size_t max_piece)
{
	*used = 0;
	switch (d->format) {
	case CONN_FORMAT_LINES:
	case CONN_FORMAT_NULL:
		return next_delimited(d, piece, used, bytes, n, eof,
				      max_piece);
	case CONN_FORMAT_RAW:
		return next_raw(d, piece, used, bytes, n, max_piece);
	case CONN_FORMAT_FRAMES:
		return next_frame(d, piece, used, bytes, n, eof, max_piece);
	case CONN_FORMAT_HEX:
	case CONN_FORMAT_QUOTED:
	case CONN_FORMAT_JSON:
		return next_translated(d, piece, used, bytes, n, eof,
				       max_piece);
	default:
		return CONN_EINVAL;
	}
}

/* ---------------------------------------------------------------- encoders */

size_t conn_encode_bound(enum conn_format f, size_t size)
{
	switch (f) {
	case CONN_FORMAT_FRAMES:
		return size + CONN_FRAME_HEADER_MAX;
	case CONN_FORMAT_HEX:
		return 2 * size + 1;
	case CONN_FORMAT_RAW:
		return size;
	default:
		return size + 1;
	}
}

static size_t hex_encode(uint8_t *out, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = (uint8_t)digits[data[i] >> 4];
		out[2 * i + 1] = (uint8_t)digits[data[i] & 15];
	}
	return 2 * len;
}

size_t conn_encode_piece(uint8_t *out, enum conn_format f,
			 const struct conn_piece *piece)
{
	size_t n = 0;

	if (f == CONN_FORMAT_FRAMES && conn_piece_is_first(piece))
		n += conn_frame_header_encode(out, piece->total);
	if (f == CONN_FORMAT_HEX) {
		n += hex_encode(out + n, piece->data, piece->size);
	} else if (piece->size) {
		memcpy(out + n, piece->data, piece->size);
		n += piece->size;
	}
	if (conn_piece_is_last(piece) && f != CONN_FORMAT_RAW &&
	    f != CONN_FORMAT_FRAMES)
		out[n++] = f == CONN_FORMAT_NULL ? '\0' : '\n';
	return n;
}

/* ------------------------------------------------ whole-message rendering */

/* Python's repr() of bytes: b'...' with \t \n \r \\ and \xNN escapes, in
 * double quotes when only that spares escaping a single quote. */
static size_t bytes_repr(char *out, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	bool single = memchr(data, '\'', len) != NULL;
	char quote = single && !memchr(data, '"', len) ? '"' : '\'';
	size_t i, n = 0;

	out[n++] = 'b';
	out[n++] = quote;
	for (i = 0; i < len; i++) {
		uint8_t c = data[i];

		if (c == (uint8_t)quote || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\t' || c == '\n' || c == '\r') {
			out[n++] = '\\';
			out[n++] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
		} else if (c < 0x20 || c >= 0x7f) {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = digits[c >> 4];
			out[n++] = digits[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = quote;
	return n;
}

int conn_format_render(char **out, size_t *out_len, char *detail,
		       size_t capacity, enum conn_format f,
		       const uint8_t *message, size_t len)
{
	return conn_format_render_with(out, out_len, detail, capacity, f,
				       NULL, message, len);
}

int conn_format_render_with(char **out, size_t *out_len, char *detail,
			    size_t capacity, enum conn_format f,
			    const struct conn_render_options *o,
			    const uint8_t *message, size_t len)
{
	static const enum conn_pickle_style styles[CONN_FORMAT_COUNT] = {
		[CONN_FORMAT_JSON] = CONN_PICKLE_JSON,
		[CONN_FORMAT_REPR] = CONN_PICKLE_REPR,
		[CONN_FORMAT_PICKLE_DIS] = CONN_PICKLE_DIS,
	};
	struct conn_pickle_report report;
	char *text, *grown;
	size_t n;
	int rc;

	*out = NULL;
	if (f == CONN_FORMAT_QUOTED) {
		if (len > (SIZE_MAX - 8) / 4)
			return CONN_ETOOBIG;
		text = malloc(4 * len + 8);
		if (text == NULL)
			return CONN_ENOMEM;
		n = bytes_repr(text, message, len);
	} else {
		rc = f == CONN_FORMAT_AUDIT
		     ? conn_pickle_audit_with(&text, &n, &report, o, message,
					      len)
		     : f == CONN_FORMAT_AUDIT_JSON
		     ? conn_pickle_audit_json(&text, &n, &report, o, message,
					      len)
		     : conn_pickle_render_with(&text, &n, detail, capacity,
					       styles[f], o, message, len);
		if (rc)
			return rc;
		if (f == CONN_FORMAT_PICKLE_DIS)
			goto done;	/* its lines end in newlines already */
		grown = realloc(text, n + 2);
		if (grown == NULL) {
			free(text);
			return CONN_ENOMEM;
		}
		text = grown;
	}
	text[n++] = '\n';
	text[n] = '\0';
done:
	*out = text;
	*out_len = n;
	return 0;
}

int conn_format_render_or_hex(char **out, size_t *out_len, bool *as_hex,
			      char *detail, size_t capacity,
			      enum conn_format f, const uint8_t *message,
			      size_t len, bool keep_going)
{
	return conn_format_render_or_hex_with(out, out_len, as_hex, detail,
					      capacity, f, NULL, message, len,
					      keep_going);
}

int conn_format_render_or_hex_with(char **out, size_t *out_len, bool *as_hex,
				   char *detail, size_t capacity,
				   enum conn_format f,
				   const struct conn_render_options *o,
				   const uint8_t *message, size_t len,
				   bool keep_going)
{
	struct conn_piece p = { message, len, 0, len };
	int rc = conn_format_render_with(out, out_len, detail, capacity, f, o,
					 message, len);

	*as_hex = false;
	if (!keep_going || (rc != CONN_EPROTO && rc != CONN_ETOOBIG))
		return rc;
	*out = malloc(conn_encode_bound(CONN_FORMAT_HEX, len));
	if (*out == NULL)
		return CONN_ENOMEM;
	*out_len = conn_encode_piece((uint8_t *)*out, CONN_FORMAT_HEX, &p);
	*as_hex = true;
	return 0;
}
