/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming JSON writer for event output. Strings go through
 * json_escape_write(), so any byte sequence round-trips (see escape.h);
 * jansson, used for parsing, refuses such strings, hence a writer here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

struct json_writer {
	FILE *f;
	int depth;
	bool has_members[JSON_DEPTH_MAX];
};

void json_writer_init(struct json_writer *w, FILE *f);

/* key is NULL at the top level and inside arrays. */
void json_object_begin(struct json_writer *w, const char *key);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w, const char *key);
void json_array_end(struct json_writer *w);

void json_string(struct json_writer *w, const char *key, const char *s, size_t len);
void json_cstring(struct json_writer *w, const char *key, const char *s);
void json_uint(struct json_writer *w, const char *key, uint64_t value);
void json_int(struct json_writer *w, const char *key, int64_t value);
void json_bool(struct json_writer *w, const char *key, bool value);
