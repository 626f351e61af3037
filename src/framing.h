/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Length-delimited framing of protobuf messages: each frame is the payload's
 * length as a base-128 varint, then the payload. This is the framing of Java's
 * writeDelimitedTo()/parseDelimitedFrom() and Go's protodelim package.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of the longest varint, that of a 64-bit value. */
#define FRAME_VARINT_MAX 10

/* Writes value as a varint to out and returns the number of bytes written. */
size_t frame_varint_encode(uint64_t value, uint8_t out[static FRAME_VARINT_MAX]);

/* Returns the size of the frame of a payload_len-byte payload. */
size_t frame_size(size_t payload_len);

/*
 * Writes the frame of payload[0..payload_len) to out. Returns the frame's
 * size, or -ENOBUFS when out_size is too small.
 */
long frame_encode(const void *payload, size_t payload_len, uint8_t *out, size_t out_size);

/*
 * Packs msg into a newly allocated frame. Returns 0 and sets *ret_frame
 * (free() it) and *ret_size, -EMSGSIZE when the packed message is longer
 * than max_payload, or -ENOMEM.
 */
int frame_pack(const ProtobufCMessage *msg, size_t max_payload, uint8_t **ret_frame,
	       size_t *ret_size);

/*
 * An incremental decoder: it takes the stream in chunks of any size, down to
 * one byte, and yields each payload once its last byte has arrived.
 */
struct frame_decoder {
	size_t max_payload;
	/* Varint bytes accepted before -EBADMSG: 5 up to 4 GiB - 1, else 10. */
	unsigned varint_bytes_max;
	/* Header state: the length decoded so far and its varint bytes. */
	uint64_t length;
	unsigned varint_bytes;
	bool in_payload;
	/* Payload bytes received so far, when a payload spans chunks. */
	uint8_t *buffer;
	size_t buffered;
	size_t buffer_size;
};

void frame_decoder_init(struct frame_decoder *d, size_t max_payload);
void frame_decoder_free(struct frame_decoder *d);

/*
 * Consumes bytes of data[0..len) up to the end of the next complete frame.
 * Returns the number of bytes consumed; when a frame completed, sets
 * *ret_payload and *ret_len (*ret_payload stays valid until the next call and
 * may point into data), else sets *ret_payload to NULL. Call again with the
 * rest of the data. Errors: -EMSGSIZE when a frame is longer than
 * max_payload, -EBADMSG for a varint longer than varint_bytes_max, -ENOMEM.
 * After an error the stream cannot be resynchronized: drop it.
 */
long frame_decoder_feed(struct frame_decoder *d, const uint8_t *data, size_t len,
			const uint8_t **ret_payload, size_t *ret_len);

/* Whether the decoder is between frames, so an end of stream is clean. */
bool frame_decoder_is_idle(const struct frame_decoder *d);
