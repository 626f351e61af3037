/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming JSON writer for event output, driven by pbjson.c. Strings go
 * through json_escape_write(), so any byte sequence round-trips (see
 * escape.h). Its functions are named jsonw_* so that none shadows jansson's
 * json_* API, which the parsers use, at link time.
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
void jsonw_object_begin(struct json_writer *w, const char *key);
void jsonw_object_end(struct json_writer *w);
void jsonw_array_begin(struct json_writer *w, const char *key);
void jsonw_array_end(struct json_writer *w);

void jsonw_string(struct json_writer *w, const char *key, const char *s, size_t len);
void jsonw_cstring(struct json_writer *w, const char *key, const char *s);
void jsonw_uint(struct json_writer *w, const char *key, uint64_t value);
void jsonw_int(struct json_writer *w, const char *key, int64_t value);
void jsonw_bool(struct json_writer *w, const char *key, bool value);
