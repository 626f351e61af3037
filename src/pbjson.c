// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "pbjson.h"

/* Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range. */
#define TIMESTAMP_SECONDS_MIN INT64_C(-62135596800)
#define TIMESTAMP_SECONDS_MAX INT64_C(253402300799)

/* Input bytes base64-encoded per call; a multiple of 3, so no padding inside. */
#define BASE64_CHUNK 768

static int message_write(struct json_writer *w, const char *key, const ProtobufCMessage *msg);

/*
 * Starts a member whose value is written directly to w->f. json.h has no call
 * for raw tokens, so this repeats what its writer does before every value: a
 * comma after an earlier member, then the key.
 */
static void raw_member_begin(struct json_writer *w, const char *key)
{
	if (w->has_members[w->depth])
		fputc(',', w->f);
	w->has_members[w->depth] = true;
	if (key) {
		json_escape_write(w->f, key, strlen(key));
		fputc(':', w->f);
	}
}

/* The JSON writer asserts on overflow, so check the depth before opening. */
static int open_check(const struct json_writer *w)
{
	return w->depth + 1 < JSON_DEPTH_MAX ? 0 : -E2BIG;
}

/* Base64 with padding (RFC 4648, section 4), as the mapping requires for bytes. */
static void bytes_write(struct json_writer *w, const char *key, const ProtobufCBinaryData *b)
{
	unsigned char out[BASE64_CHUNK / 3 * 4 + 1];

	raw_member_begin(w, key);
	fputc('"', w->f);
	for (size_t i = 0; i < b->len; i += BASE64_CHUNK) {
		size_t n = b->len - i < BASE64_CHUNK ? b->len - i : BASE64_CHUNK;
		int written = EVP_EncodeBlock(out, b->data + i, (int)n);

		fwrite(out, 1, (size_t)written, w->f);
	}
	fputc('"', w->f);
}

/*
 * Floats and doubles: the shortest decimal that reads back as the same value,
 * and the strings "NaN", "Infinity" and "-Infinity" that the mapping uses for
 * values JSON cannot hold.
 */
static void floating_write(struct json_writer *w, const char *key, double value, bool is_float)
{
	char text[40];

	if (isnan(value)) {
		jsonw_cstring(w, key, "NaN");
		return;
	}
	if (isinf(value)) {
		jsonw_cstring(w, key, value > 0 ? "Infinity" : "-Infinity");
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(text, sizeof(text), "%.*g", precision, value);
		if (is_float ? strtof(text, NULL) == (float)value : strtod(text, NULL) == value)
			break;
	}
	raw_member_begin(w, key);
	fputs(text, w->f);
}

/*
 * google.protobuf.Timestamp: RFC 3339 in UTC with a "Z", and 0, 3, 6 or 9
 * fractional digits, the fewest that hold the nanoseconds exactly.
 */
static int timestamp_write(struct json_writer *w, const char *key, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	int64_t seconds = 0;
	int32_t nanos = 0;
	char text[64], fraction[16] = "";
	struct tm tm;
	time_t t;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *field = &desc->fields[i];
		const char *member = (const char *)msg + field->offset;

		if (field->id == 1 && field->type == PROTOBUF_C_TYPE_INT64)
			memcpy(&seconds, member, sizeof(seconds));
		else if (field->id == 2 && field->type == PROTOBUF_C_TYPE_INT32)
			memcpy(&nanos, member, sizeof(nanos));
	}
	if (seconds < TIMESTAMP_SECONDS_MIN || seconds > TIMESTAMP_SECONDS_MAX || nanos < 0 ||
	    nanos > 999999999)
		return -ERANGE;

	t = (time_t)seconds;
	if (!gmtime_r(&t, &tm))
		return -ERANGE;
	if (nanos % 1000000 == 0) {
		if (nanos)
			snprintf(fraction, sizeof(fraction), ".%03" PRId32, nanos / 1000000);
	} else if (nanos % 1000 == 0) {
		snprintf(fraction, sizeof(fraction), ".%06" PRId32, nanos / 1000);
	} else {
		snprintf(fraction, sizeof(fraction), ".%09" PRId32, nanos);
	}
	snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
	jsonw_cstring(w, key, text);
	return 0;
}

static void enum_write(struct json_writer *w, const char *key, const ProtobufCEnumDescriptor *desc,
		       int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);

	/* The mapping prints a value that has no name as its number. */
	if (v)
		jsonw_cstring(w, key, v->name);
	else
		jsonw_int(w, key, value);
}

/* Writes the single value at member, a field of type field->type. */
static int value_write(struct json_writer *w, const char *key,
		       const ProtobufCFieldDescriptor *field, const void *member)
{
	char text[24];

	switch (field->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		jsonw_int(w, key, *(const int32_t *)member);
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		jsonw_uint(w, key, *(const uint32_t *)member);
		return 0;
	/* 64-bit integers are strings, since JSON readers often parse numbers as doubles. */
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(text, sizeof(text), "%" PRId64, *(const int64_t *)member);
		jsonw_cstring(w, key, text);
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(text, sizeof(text), "%" PRIu64, *(const uint64_t *)member);
		jsonw_cstring(w, key, text);
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		floating_write(w, key, *(const float *)member, true);
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		floating_write(w, key, *(const double *)member, false);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		jsonw_bool(w, key, *(const protobuf_c_boolean *)member);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		enum_write(w, key, field->descriptor, *(const int *)member);
		return 0;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)member;

		jsonw_cstring(w, key, s ? s : "");
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES:
		bytes_write(w, key, member);
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;

		/* A NULL element of a repeated message field prints as the empty message. */
		if (!sub) {
			int r = open_check(w);

			if (r < 0)
				return r;
			jsonw_object_begin(w, key);
			jsonw_object_end(w);
			return 0;
		}
		return message_write(w, key, sub);
	}
	}
	return -EINVAL;
}

/* Size of one element of a repeated field of this type in its C array. */
static size_t element_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static int repeated_write(struct json_writer *w, const ProtobufCFieldDescriptor *field,
			  const char *msg_base)
{
	size_t count = *(const size_t *)(msg_base + field->quantifier_offset);
	const char *array = *(const char *const *)(msg_base + field->offset);
	size_t size = element_size(field->type);
	int r;

	r = open_check(w);
	if (r < 0)
		return r;
	jsonw_array_begin(w, field->name);
	for (size_t i = 0; i < count && array; i++) {
		r = value_write(w, NULL, field, array + i * size);
		if (r < 0)
			return r;
	}
	jsonw_array_end(w);
	return 0;
}

/* Whether a field is printed: the options print every field without presence. */
static bool field_is_printed(const ProtobufCFieldDescriptor *field, const char *msg_base)
{
	const void *member = msg_base + field->offset;

	if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(msg_base + field->quantifier_offset) == field->id;
	if (field->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(const void *const *)member != NULL;
	if (field->label == PROTOBUF_C_LABEL_OPTIONAL) {
		/* proto3 "optional": strings have presence by pointer, other types by has_. */
		if (field->type == PROTOBUF_C_TYPE_STRING)
			return *(const char *const *)member != NULL;
		return *(const protobuf_c_boolean *)(msg_base + field->quantifier_offset);
	}
	return true;
}

static int message_write(struct json_writer *w, const char *key, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	const char *base = (const char *)msg;
	int r;

	if (strcmp(desc->name, "google.protobuf.Timestamp") == 0)
		return timestamp_write(w, key, msg);
	/*
	 * NOTE: the other well-known types (Duration, the wrappers, Struct, Any,
	 * FieldMask) have special JSON forms too. The schema uses none of them,
	 * so they print as ordinary messages, which does not match the mapping.
	 */

	r = open_check(w);
	if (r < 0)
		return r;
	jsonw_object_begin(w, key);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *field = &desc->fields[i];

		if (field->label == PROTOBUF_C_LABEL_REPEATED) {
			r = repeated_write(w, field, base);
		} else {
			if (!field_is_printed(field, base))
				continue;
			r = value_write(w, field->name, field, base + field->offset);
		}
		if (r < 0)
			return r;
	}
	jsonw_object_end(w);
	return 0;
}

int pbjson_write(struct json_writer *w, const char *key, const ProtobufCMessage *msg)
{
	return message_write(w, key, msg);
}

int pbjson_fprint_line(FILE *f, const ProtobufCMessage *msg)
{
	struct json_writer w;
	char *line = NULL;
	size_t len = 0;
	FILE *mem;
	int r;

	mem = open_memstream(&line, &len);
	if (!mem)
		return -ENOMEM;
	json_writer_init(&w, mem);
	r = pbjson_write(&w, NULL, msg);
	if (r >= 0)
		fputc('\n', mem);
	if (ferror(mem) && r >= 0)
		r = -ENOMEM;
	if (fclose(mem) != 0 && r >= 0)
		r = -ENOMEM;
	if (r >= 0 && (fwrite(line, 1, len, f) != len || ferror(f)))
		r = -EIO;
	free(line);
	return r;
}
