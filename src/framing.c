// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

size_t frame_varint_encode(uint64_t value, uint8_t out[static FRAME_VARINT_MAX])
{
	size_t n = 0;

	while (value >= 0x80) {
		out[n++] = (uint8_t)(value | 0x80);
		value >>= 7;
	}
	out[n++] = (uint8_t)value;
	return n;
}

size_t frame_size(size_t payload_len)
{
	uint8_t header[FRAME_VARINT_MAX];

	return frame_varint_encode(payload_len, header) + payload_len;
}

long frame_encode(const void *payload, size_t payload_len, uint8_t *out, size_t out_size)
{
	uint8_t header[FRAME_VARINT_MAX];
	size_t header_len = frame_varint_encode(payload_len, header);

	if (out_size < header_len || out_size - header_len < payload_len ||
	    payload_len > LONG_MAX / 2)
		return -ENOBUFS;
	memcpy(out, header, header_len);
	if (payload_len)
		memcpy(out + header_len, payload, payload_len);
	return (long)(header_len + payload_len);
}

int frame_pack(const ProtobufCMessage *msg, size_t max_payload, uint8_t **ret_frame,
	       size_t *ret_size)
{
	size_t payload_len = protobuf_c_message_get_packed_size(msg);
	size_t header_len;
	uint8_t *frame;

	if (payload_len > max_payload)
		return -EMSGSIZE;
	frame = malloc(frame_size(payload_len));
	if (!frame)
		return -ENOMEM;
	header_len = frame_varint_encode(payload_len, frame);
	/* protobuf_c_message_pack() returns the packed size, the one measured above. */
	if (protobuf_c_message_pack(msg, frame + header_len) != payload_len) {
		free(frame);
		return -EINVAL;
	}
	*ret_frame = frame;
	*ret_size = header_len + payload_len;
	return 0;
}

void frame_decoder_init(struct frame_decoder *d, size_t max_payload)
{
	memset(d, 0, sizeof(*d));
	d->max_payload = max_payload;
	/* A length up to UINT32_MAX takes at most 5 varint bytes. */
	d->varint_bytes_max = (uint64_t)max_payload <= UINT32_MAX ? 5 : FRAME_VARINT_MAX;
}

void frame_decoder_free(struct frame_decoder *d)
{
	free(d->buffer);
	d->buffer = NULL;
	d->buffered = d->buffer_size = 0;
}

bool frame_decoder_is_idle(const struct frame_decoder *d)
{
	return !d->in_payload && d->varint_bytes == 0;
}

/* Resets the header state after a frame, keeping the buffer for the next one. */
static void frame_decoder_next(struct frame_decoder *d)
{
	d->length = 0;
	d->varint_bytes = 0;
	d->in_payload = false;
	d->buffered = 0;
}

/* Grows the buffer to d->length bytes, a length already checked against max_payload. */
static int frame_decoder_reserve(struct frame_decoder *d)
{
	uint8_t *buffer;

	if (d->buffer_size >= d->length)
		return 0;
	buffer = realloc(d->buffer, d->length);
	if (!buffer)
		return -ENOMEM;
	d->buffer = buffer;
	d->buffer_size = d->length;
	return 0;
}

long frame_decoder_feed(struct frame_decoder *d, const uint8_t *data, size_t len,
			const uint8_t **ret_payload, size_t *ret_len)
{
	size_t used = 0, want, n;
	int r;

	*ret_payload = NULL;
	*ret_len = 0;

	while (!d->in_payload) {
		uint8_t byte;

		if (used == len)
			return (long)used;
		byte = data[used++];
		/* The tenth byte of a 64-bit varint carries only the top bit. */
		if (d->varint_bytes == FRAME_VARINT_MAX - 1 && byte > 1)
			return -EBADMSG;
		d->length |= (uint64_t)(byte & 0x7f) << (7 * d->varint_bytes);
		d->varint_bytes++;
		if (d->length > d->max_payload)
			return -EMSGSIZE;
		if (byte & 0x80) {
			if (d->varint_bytes == d->varint_bytes_max)
				return -EBADMSG;
			continue;
		}
		d->in_payload = true;
	}

	want = (size_t)d->length;
	if (d->buffered == 0 && len - used >= want) {
		/* The whole payload is in this chunk: no copy. */
		*ret_payload = data + used;
		*ret_len = want;
		frame_decoder_next(d);
		return (long)(used + want);
	}

	r = frame_decoder_reserve(d);
	if (r < 0)
		return r;
	n = want - d->buffered;
	if (n > len - used)
		n = len - used;
	memcpy(d->buffer + d->buffered, data + used, n);
	d->buffered += n;
	used += n;
	if (d->buffered == want) {
		*ret_payload = d->buffer;
		*ret_len = want;
		frame_decoder_next(d);
	}
	return (long)used;
}
