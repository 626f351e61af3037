// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "escape.h"

/*
 * Length of the well-formed UTF-8 sequence at s[0..len), or 0 when the
 * bytes there do not start one. The ranges are those of Unicode's table of
 * well-formed byte sequences (The Unicode Standard, Table 3-7), which
 * excludes overlong forms, the surrogates U+D800..U+DFFF and code points
 * above U+10FFFF.
 */
size_t utf8_sequence_length(const unsigned char *s, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}

	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool utf8_is_valid(const char *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n) {
		n = utf8_sequence_length((const unsigned char *)s + i, len - i);
		if (n == 0)
			return false;
	}
	return true;
}

size_t utf8_sanitize(const char *s, size_t len, char *out)
{
	size_t used = 0;

	for (size_t i = 0, n; i < len; i += n) {
		n = utf8_sequence_length((const unsigned char *)s + i, len - i);
		if (n == 0) {
			/* U+FFFD REPLACEMENT CHARACTER for each invalid byte. */
			memcpy(out + used, "\xef\xbf\xbd", 3);
			used += 3;
			n = 1;
			continue;
		}
		memcpy(out + used, s + i, n);
		used += n;
	}
	out[used] = '\0';
	return used;
}

/* Output is staged here so that a string costs few stdio calls. */
struct out_buffer {
	FILE *f;
	size_t used;
	char data[512];
	bool failed;
};

static void out_flush(struct out_buffer *b)
{
	if (b->used > 0 && fwrite(b->data, 1, b->used, b->f) != b->used)
		b->failed = true;
	b->used = 0;
}

static void out_write(struct out_buffer *b, const void *p, size_t n)
{
	if (b->used + n > sizeof(b->data))
		out_flush(b);
	if (n > sizeof(b->data)) {
		if (fwrite(p, 1, n, b->f) != n)
			b->failed = true;
		return;
	}
	memcpy(b->data + b->used, p, n);
	b->used += n;
}

static void out_escape_u(struct out_buffer *b, unsigned int code)
{
	char e[7];

	(void)snprintf(e, sizeof(e), "\\u%04x", code & 0xffff);
	out_write(b, e, 6);
}

int json_escape_write(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	struct out_buffer b = {.f = f};

	if (!f || (!s && len > 0))
		return -EINVAL;

	out_write(&b, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		size_t n = utf8_sequence_length(u + i, len - i);

		if (n == 0) {
			/* PEP 383: the byte 0xNN, never below 0x80 here, is U+DCNN. */
			out_escape_u(&b, 0xdc00 | c);
			i++;
			continue;
		}
		if (n > 1) {
			out_write(&b, u + i, n);
			i += n;
			continue;
		}

		switch (c) {
		case '"':
			out_write(&b, "\\\"", 2);
			break;
		case '\\':
			out_write(&b, "\\\\", 2);
			break;
		case '\b':
			out_write(&b, "\\b", 2);
			break;
		case '\f':
			out_write(&b, "\\f", 2);
			break;
		case '\n':
			out_write(&b, "\\n", 2);
			break;
		case '\r':
			out_write(&b, "\\r", 2);
			break;
		case '\t':
			out_write(&b, "\\t", 2);
			break;
		default:
			/* DEL is valid in JSON, but escaping it keeps terminals safe. */
			if (c < 0x20 || c == 0x7f)
				out_escape_u(&b, c);
			else
				out_write(&b, &c, 1);
		}
		i++;
	}
	out_write(&b, "\"", 1);
	out_flush(&b);
	return b.failed ? -EIO : 0;
}

static int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read the four hex digits after "\u" at in[*pos]. */
static int read_u_escape(const char *in, size_t len, size_t *pos, unsigned int *ret)
{
	unsigned int code = 0;

	if (len - *pos < 6 || in[*pos] != '\\' || in[*pos + 1] != 'u')
		return -EINVAL;
	for (size_t i = 2; i < 6; i++) {
		int d = hex_digit_value(in[*pos + i]);

		if (d < 0)
			return -EINVAL;
		code = code << 4 | (unsigned int)d;
	}
	*pos += 6;
	*ret = code;
	return 0;
}

static size_t utf8_encode(uint32_t code, unsigned char out[4])
{
	if (code < 0x80) {
		out[0] = (unsigned char)code;
		return 1;
	}
	if (code < 0x800) {
		out[0] = (unsigned char)(0xc0 | code >> 6);
		out[1] = (unsigned char)(0x80 | (code & 0x3f));
		return 2;
	}
	if (code < 0x10000) {
		out[0] = (unsigned char)(0xe0 | code >> 12);
		out[1] = (unsigned char)(0x80 | ((code >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (code & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | code >> 18);
	out[1] = (unsigned char)(0x80 | ((code >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((code >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (code & 0x3f));
	return 4;
}

/*
 * Decode one "\uXXXX" escape, or a surrogate pair of two, at in[*pos] into
 * bytes. U+DC80..U+DCFF alone is the raw byte 0x80..0xFF (PEP 383). Other
 * lone surrogates have no meaning and are rejected.
 */
static int decode_u_escape(const char *in, size_t len, size_t *pos, unsigned char out[4],
			   size_t *ret_n)
{
	unsigned int code, low;
	int r;

	r = read_u_escape(in, len, pos, &code);
	if (r < 0)
		return r;

	if (code >= 0xdc80 && code <= 0xdcff) {
		out[0] = (unsigned char)(code & 0xff);
		*ret_n = 1;
		return 0;
	}
	if (code >= 0xdc00 && code <= 0xdfff)
		return -EINVAL;
	if (code >= 0xd800 && code <= 0xdbff) {
		r = read_u_escape(in, len, pos, &low);
		if (r < 0)
			return r;
		if (low < 0xdc00 || low > 0xdfff)
			return -EINVAL;
		code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
	}
	*ret_n = utf8_encode(code, out);
	return 0;
}

/* Decode the escape sequence that starts with the backslash at in[*pos]. */
static int decode_escape(const char *in, size_t len, size_t *pos, unsigned char out[4],
			 size_t *ret_n)
{
	static const char simple[] = "\"\\/bfnrt";
	static const char simple_bytes[] = "\"\\/\b\f\n\r\t";
	const char *found;

	if (len - *pos < 2)
		return -EINVAL;
	if (in[*pos + 1] == 'u')
		return decode_u_escape(in, len, pos, out, ret_n);

	found = in[*pos + 1] ? strchr(simple, in[*pos + 1]) : NULL;
	if (!found)
		return -EINVAL;
	out[0] = (unsigned char)simple_bytes[found - simple];
	*ret_n = 1;
	*pos += 2;
	return 0;
}

/*
 * The input is strict: raw control characters, raw invalid UTF-8 and an
 * unescaped '"' are rejected, because json_escape_write never writes them.
 * The output is not NUL-terminated. Returns -ENOBUFS when out_size is too
 * small.
 */
long json_unescape(const char *in, size_t len, char *out, size_t out_size)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t pos = 0, used = 0;

	if ((!in && len > 0) || (!out && out_size > 0) || len > LONG_MAX)
		return -EINVAL;

	while (pos < len) {
		unsigned char bytes[4];
		size_t n;

		if (u[pos] == '\\') {
			int r = decode_escape(in, len, &pos, bytes, &n);

			if (r < 0)
				return r;
		} else {
			if (u[pos] < 0x20 || u[pos] == '"')
				return -EINVAL;
			n = utf8_sequence_length(u + pos, len - pos);
			if (n == 0)
				return -EINVAL;
			memcpy(bytes, u + pos, n);
			pos += n;
		}

		if (out_size - used < n)
			return -ENOBUFS;
		memcpy(out + used, bytes, n);
		used += n;
	}
	return (long)used;
}
