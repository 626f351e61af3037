// SPDX-License-Identifier: Apache-2.0
#include <errno.h>

#include "framing.h"
#include "intact/v1/event.pb-c.h"
#include "intact/v1/subscribe.pb-c.h"
#include "test.h"

#define PAYLOAD_MAX (64 * 1024)

struct decoded {
	size_t count;
	uint8_t *payloads[16];
	size_t lens[16];
};

/* Feeds data to d in chunks of chunk bytes; copies out each payload. Returns the first error. */
static int feed_chunks(struct frame_decoder *d, const uint8_t *data, size_t len, size_t chunk,
		       struct decoded *out)
{
	for (size_t off = 0; off < len;) {
		size_t n = len - off < chunk ? len - off : chunk;

		while (n > 0) {
			const uint8_t *payload;
			size_t payload_len;
			long used = frame_decoder_feed(d, data + off, n, &payload, &payload_len);

			if (used < 0)
				return (int)used;
			off += (size_t)used;
			n -= (size_t)used;
			if (payload && out->count < 16) {
				out->payloads[out->count] = malloc(payload_len + 1);
				memcpy(out->payloads[out->count], payload, payload_len);
				out->lens[out->count++] = payload_len;
			}
		}
	}
	return 0;
}

static void decoded_free(struct decoded *out)
{
	for (size_t i = 0; i < out->count; i++)
		free(out->payloads[i]);
	out->count = 0;
}

TEST(varint_encode_boundaries)
{
	static const struct {
		uint64_t value;
		size_t len;
		uint8_t bytes[FRAME_VARINT_MAX];
	} cases[] = {
	    {0, 1, {0x00}},
	    {1, 1, {0x01}},
	    {127, 1, {0x7f}},
	    {128, 2, {0x80, 0x01}},
	    {300, 2, {0xac, 0x02}},
	    {16383, 2, {0xff, 0x7f}},
	    {16384, 3, {0x80, 0x80, 0x01}},
	    {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
	    {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[FRAME_VARINT_MAX];
		size_t n = frame_varint_encode(cases[i].value, out);

		CHECK_MEM_EQ(out, n, cases[i].bytes, cases[i].len);
	}
}

TEST(frame_encode_too_small)
{
	uint8_t out[4];

	CHECK_INT_EQ(frame_encode("abcd", 4, out, sizeof(out)), -ENOBUFS);
	CHECK_INT_EQ(frame_encode("abc", 3, out, sizeof(out)), 4);
	CHECK_MEM_EQ(out, 4,
		     "\x03"
		     "abc",
		     4);
	CHECK_INT_EQ(frame_size(3), 4);
	CHECK_INT_EQ(frame_size(200), 202);
}

/* Packs msg, frames it, decodes it one byte at a time and returns the unpacked copy. */
static ProtobufCMessage *round_trip(const ProtobufCMessage *msg)
{
	struct frame_decoder d;
	struct decoded out = {0};
	ProtobufCMessage *copy = NULL;
	uint8_t *frame;
	size_t frame_len;
	int r;

	r = frame_pack(msg, PAYLOAD_MAX, &frame, &frame_len);
	CHECK_INT_EQ(r, 0);
	if (r < 0)
		return NULL;
	CHECK_INT_EQ(frame_len, frame_size(protobuf_c_message_get_packed_size(msg)));

	frame_decoder_init(&d, PAYLOAD_MAX);
	CHECK_INT_EQ(feed_chunks(&d, frame, frame_len, 1, &out), 0);
	CHECK_INT_EQ(out.count, 1);
	CHECK(frame_decoder_is_idle(&d));
	if (out.count == 1) {
		CHECK_MEM_EQ(out.payloads[0], out.lens[0], frame + frame_len - out.lens[0],
			     protobuf_c_message_get_packed_size(msg));
		copy =
		    protobuf_c_message_unpack(msg->descriptor, NULL, out.lens[0], out.payloads[0]);
	}
	CHECK(copy != NULL);
	decoded_free(&out);
	frame_decoder_free(&d);
	free(frame);
	return copy;
}

TEST(round_trip_exec_event)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Google__Protobuf__Timestamp time = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Intact__V1__Container container = INTACT__V1__CONTAINER__INIT;
	Intact__V1__Process process = INTACT__V1__PROCESS__INIT;
	Intact__V1__Process parent = INTACT__V1__PROCESS__INIT;
	char *rules[] = {"shell_in_container"};
	char *args[] = {"sh", "-c", "id"};
	Intact__V1__Event *copy;

	time.seconds = 1700000000;
	time.nanos = 42;
	container.id = "3f2a";
	parent.pid = 1;
	process.pid = 4242;
	process.exe = "/bin/dash";
	process.n_args = 3;
	process.args = args;
	process.exe_inode = UINT64_MAX;
	process.parent = &parent;
	ev.seq = 1;
	ev.event = "exec";
	ev.time = &time;
	ev.n_rules = 1;
	ev.rules = rules;
	ev.container = &container;
	ev.process = &process;

	copy = (Intact__V1__Event *)round_trip(&ev.base);
	if (!copy)
		return;
	CHECK_INT_EQ(copy->seq, 1);
	CHECK_STR_EQ(copy->event, "exec");
	CHECK_INT_EQ(copy->n_rules, 1);
	CHECK_STR_EQ(copy->rules[0], "shell_in_container");
	CHECK_INT_EQ(copy->body_case, INTACT__V1__EVENT__BODY__NOT_SET);
	CHECK(copy->time != NULL);
	CHECK(copy->container != NULL);
	CHECK(copy->process != NULL);
	if (!copy->time || !copy->container || !copy->process) {
		intact__v1__event__free_unpacked(copy, NULL);
		return;
	}
	CHECK_INT_EQ(copy->time->seconds, 1700000000);
	CHECK_INT_EQ(copy->time->nanos, 42);
	CHECK_STR_EQ(copy->container->id, "3f2a");
	CHECK_INT_EQ(copy->process->pid, 4242);
	CHECK(copy->process->exe_inode == UINT64_MAX);
	CHECK_INT_EQ(copy->process->n_args, 3);
	CHECK(copy->process->parent != NULL);
	if (copy->process->parent)
		CHECK_INT_EQ(copy->process->parent->pid, 1);
	intact__v1__event__free_unpacked(copy, NULL);
}

TEST(round_trip_file_event)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__File file = INTACT__V1__FILE__INIT;
	uint8_t raw[] = {0xff, 0x00, 0x80};
	Intact__V1__Event *copy;

	file.op = "rename";
	file.path = "/etc/passwd";
	file.result = -2;
	file.path_bytes.data = raw;
	file.path_bytes.len = sizeof(raw);
	ev.event = "file";
	ev.body_case = INTACT__V1__EVENT__BODY_FILE;
	ev.file = &file;

	copy = (Intact__V1__Event *)round_trip(&ev.base);
	if (!copy)
		return;
	CHECK_INT_EQ(copy->body_case, INTACT__V1__EVENT__BODY_FILE);
	CHECK_STR_EQ(copy->file->op, "rename");
	CHECK_STR_EQ(copy->file->path, "/etc/passwd");
	CHECK_INT_EQ(copy->file->result, -2);
	CHECK_MEM_EQ(copy->file->path_bytes.data, copy->file->path_bytes.len, raw, sizeof(raw));
	intact__v1__event__free_unpacked(copy, NULL);
}

TEST(round_trip_image_event)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__ImageVerdict image = INTACT__V1__IMAGE_VERDICT__INIT;
	Intact__V1__LayerResult layer = INTACT__V1__LAYER_RESULT__INIT;
	Intact__V1__LayerResult *layers[] = {&layer};
	Intact__V1__Event *copy;

	layer.index = 2;
	layer.expected_digest = "sha256:aa";
	image.verdict = INTACT__V1__VERDICT__VERDICT_LAYER_MISMATCH;
	image.n_layers = 1;
	image.layers = layers;
	ev.event = "image";
	ev.body_case = INTACT__V1__EVENT__BODY_IMAGE;
	ev.image = &image;

	copy = (Intact__V1__Event *)round_trip(&ev.base);
	if (!copy)
		return;
	CHECK_INT_EQ(copy->body_case, INTACT__V1__EVENT__BODY_IMAGE);
	CHECK_INT_EQ(copy->image->verdict, INTACT__V1__VERDICT__VERDICT_LAYER_MISMATCH);
	CHECK_INT_EQ(copy->image->n_layers, 1);
	CHECK_STR_EQ(copy->image->layers[0]->expected_digest, "sha256:aa");
	intact__v1__event__free_unpacked(copy, NULL);
}

TEST(round_trip_status_and_lost)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__AgentStatus status = INTACT__V1__AGENT_STATUS__INIT;
	Intact__V1__Lost lost = INTACT__V1__LOST__INIT;
	Intact__V1__Event *copy;

	status.state = "stopping";
	ev.body_case = INTACT__V1__EVENT__BODY_STATUS;
	ev.status = &status;
	copy = (Intact__V1__Event *)round_trip(&ev.base);
	if (copy) {
		CHECK_INT_EQ(copy->body_case, INTACT__V1__EVENT__BODY_STATUS);
		CHECK_STR_EQ(copy->status->state, "stopping");
		intact__v1__event__free_unpacked(copy, NULL);
	}

	lost.source = "kernel_ring_buffer";
	lost.count = 5;
	lost.total = UINT64_MAX;
	ev.body_case = INTACT__V1__EVENT__BODY_LOST;
	ev.lost = &lost;
	copy = (Intact__V1__Event *)round_trip(&ev.base);
	if (copy) {
		CHECK_INT_EQ(copy->body_case, INTACT__V1__EVENT__BODY_LOST);
		CHECK_STR_EQ(copy->lost->source, "kernel_ring_buffer");
		CHECK_INT_EQ(copy->lost->count, 5);
		CHECK(copy->lost->total == UINT64_MAX);
		intact__v1__event__free_unpacked(copy, NULL);
	}
}

TEST(round_trip_subscribe_request)
{
	Intact__V1__SubscribeRequest req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;
	Intact__V1__SubscribeRequest *copy;

	req.rules_only = 1;
	req.container_id = "3f2a";
	req.pod_namespace = "shop";
	copy = (Intact__V1__SubscribeRequest *)round_trip(&req.base);
	if (!copy)
		return;
	CHECK(copy->rules_only);
	CHECK_STR_EQ(copy->container_id, "3f2a");
	CHECK_STR_EQ(copy->pod_namespace, "shop");
	intact__v1__subscribe_request__free_unpacked(copy, NULL);
}

TEST(round_trip_empty_message)
{
	Intact__V1__SubscribeRequest req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;
	Intact__V1__SubscribeRequest *copy = (Intact__V1__SubscribeRequest *)round_trip(&req.base);

	/* An all-default message packs to zero bytes: the frame is the single byte 0. */
	CHECK(copy != NULL);
	if (copy)
		intact__v1__subscribe_request__free_unpacked(copy, NULL);
}

TEST(decoder_chunk_sizes)
{
	uint8_t stream[3 * 400];
	size_t len = 0;
	uint8_t payload[300];

	/* Three frames: 300 bytes (2-byte varint), 0 bytes, 5 bytes. */
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	len += (size_t)frame_encode(payload, 300, stream + len, sizeof(stream) - len);
	len += (size_t)frame_encode(NULL, 0, stream + len, sizeof(stream) - len);
	len += (size_t)frame_encode("hello", 5, stream + len, sizeof(stream) - len);
	CHECK_INT_EQ(len, 302 + 1 + 6);

	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct frame_decoder d;
		struct decoded out = {0};

		frame_decoder_init(&d, PAYLOAD_MAX);
		CHECK_INT_EQ(feed_chunks(&d, stream, len, chunk, &out), 0);
		CHECK_INT_EQ(out.count, 3);
		if (out.count == 3) {
			CHECK_MEM_EQ(out.payloads[0], out.lens[0], payload, 300);
			CHECK_INT_EQ(out.lens[1], 0);
			CHECK_MEM_EQ(out.payloads[2], out.lens[2], "hello", 5);
		}
		CHECK(frame_decoder_is_idle(&d));
		decoded_free(&out);
		frame_decoder_free(&d);
	}
}

TEST(decoder_partial_frame_not_idle)
{
	struct frame_decoder d;
	struct decoded out = {0};

	frame_decoder_init(&d, PAYLOAD_MAX);
	CHECK_INT_EQ(feed_chunks(&d, (const uint8_t *)"\x05he", 3, 1, &out), 0);
	CHECK_INT_EQ(out.count, 0);
	CHECK(!frame_decoder_is_idle(&d));
	CHECK_INT_EQ(feed_chunks(&d, (const uint8_t *)"llo", 3, 3, &out), 0);
	CHECK_INT_EQ(out.count, 1);
	CHECK(frame_decoder_is_idle(&d));
	decoded_free(&out);

	/* A varint cut after its first byte is not idle either. */
	CHECK_INT_EQ(feed_chunks(&d, (const uint8_t *)"\x80", 1, 1, &out), 0);
	CHECK(!frame_decoder_is_idle(&d));
	frame_decoder_free(&d);
}

TEST(decoder_oversized_frame)
{
	struct frame_decoder d;
	struct decoded out = {0};
	uint8_t header[FRAME_VARINT_MAX];
	size_t n;

	/* max + 1 is rejected as soon as the header is read, before any payload. */
	frame_decoder_init(&d, 4096);
	n = frame_varint_encode(4097, header);
	CHECK_INT_EQ(feed_chunks(&d, header, n, 1, &out), -EMSGSIZE);
	frame_decoder_free(&d);

	/* Exactly max is accepted. */
	frame_decoder_init(&d, 4096);
	n = frame_varint_encode(4096, header);
	CHECK_INT_EQ(feed_chunks(&d, header, n, 1, &out), 0);
	CHECK(!frame_decoder_is_idle(&d));
	frame_decoder_free(&d);

	/* A huge length is rejected at the byte that makes it exceed max. */
	frame_decoder_init(&d, 4096);
	n = frame_varint_encode(UINT64_MAX, header);
	CHECK_INT_EQ(feed_chunks(&d, header, n, 1, &out), -EMSGSIZE);
	frame_decoder_free(&d);
}

TEST(decoder_malformed_varint)
{
	static const uint8_t six_bytes[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	static const uint8_t five_bytes[] = {0x85, 0x80, 0x80, 0x80, 0x00, 'h', 'e', 'l', 'l', 'o'};
	static const uint8_t eleven_bytes[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					       0x80, 0x80, 0x80, 0x80, 0x00};
	static const uint8_t tenth_too_big[] = {0x80, 0x80, 0x80, 0x80, 0x80,
						0x80, 0x80, 0x80, 0x80, 0x02};
	struct frame_decoder d;
	struct decoded out = {0};

	/* With a 32-bit maximum, a sixth varint byte is malformed even if its value is small. */
	frame_decoder_init(&d, PAYLOAD_MAX);
	CHECK_INT_EQ(feed_chunks(&d, six_bytes, sizeof(six_bytes), 1, &out), -EBADMSG);
	frame_decoder_free(&d);

	/* A padded but 5-byte varint is valid protobuf and accepted. */
	frame_decoder_init(&d, PAYLOAD_MAX);
	CHECK_INT_EQ(feed_chunks(&d, five_bytes, sizeof(five_bytes), 1, &out), 0);
	CHECK_INT_EQ(out.count, 1);
	if (out.count == 1)
		CHECK_MEM_EQ(out.payloads[0], out.lens[0], "hello", 5);
	decoded_free(&out);
	frame_decoder_free(&d);

	/* With a 64-bit maximum, the limit is 10 bytes, and the tenth may only be 0 or 1. */
	frame_decoder_init(&d, SIZE_MAX);
	CHECK_INT_EQ(feed_chunks(&d, eleven_bytes, sizeof(eleven_bytes), 1, &out), -EBADMSG);
	frame_decoder_free(&d);
	frame_decoder_init(&d, SIZE_MAX);
	CHECK_INT_EQ(feed_chunks(&d, tenth_too_big, sizeof(tenth_too_big), 1, &out), -EBADMSG);
	frame_decoder_free(&d);
}

TEST(decoder_payload_not_a_message)
{
	struct frame_decoder d;
	struct decoded out = {0};
	Intact__V1__SubscribeRequest *req = NULL;

	/* Framing accepts any bytes; unpacking rejects this field tag 0. */
	frame_decoder_init(&d, PAYLOAD_MAX);
	CHECK_INT_EQ(feed_chunks(&d, (const uint8_t *)"\x02\x00\x00", 3, 1, &out), 0);
	CHECK_INT_EQ(out.count, 1);
	if (out.count == 1)
		req = intact__v1__subscribe_request__unpack(NULL, out.lens[0], out.payloads[0]);
	CHECK(req == NULL);
	decoded_free(&out);
	frame_decoder_free(&d);
}

TEST(frame_pack_over_max)
{
	Intact__V1__AgentStatus status = INTACT__V1__AGENT_STATUS__INIT;
	uint8_t *frame = NULL;
	size_t len = 0;

	status.state = "stopping";
	CHECK_INT_EQ(frame_pack(&status.base, 4, &frame, &len), -EMSGSIZE);
	CHECK(frame == NULL);
}
