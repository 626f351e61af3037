// SPDX-License-Identifier: Apache-2.0
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "escape.h"
#include "json.h"

void json_writer_init(struct json_writer *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

/* Write the separator and key that precede a member or element. */
static void json_member(struct json_writer *w, const char *key)
{
	if (w->has_members[w->depth])
		fputc(',', w->f);
	w->has_members[w->depth] = true;
	if (key) {
		json_escape_write(w->f, key, strlen(key));
		fputc(':', w->f);
	}
}

static void json_open(struct json_writer *w, const char *key, char bracket)
{
	json_member(w, key);
	fputc(bracket, w->f);
	assert(w->depth + 1 < JSON_DEPTH_MAX);
	w->depth++;
	w->has_members[w->depth] = false;
}

static void json_close(struct json_writer *w, char bracket)
{
	assert(w->depth > 0);
	w->depth--;
	fputc(bracket, w->f);
}

void jsonw_object_begin(struct json_writer *w, const char *key)
{
	json_open(w, key, '{');
}

void jsonw_object_end(struct json_writer *w)
{
	json_close(w, '}');
}

void jsonw_array_begin(struct json_writer *w, const char *key)
{
	json_open(w, key, '[');
}

void jsonw_array_end(struct json_writer *w)
{
	json_close(w, ']');
}

void jsonw_string(struct json_writer *w, const char *key, const char *s, size_t len)
{
	json_member(w, key);
	json_escape_write(w->f, s, len);
}

void jsonw_cstring(struct json_writer *w, const char *key, const char *s)
{
	jsonw_string(w, key, s, strlen(s));
}

void jsonw_uint(struct json_writer *w, const char *key, uint64_t value)
{
	json_member(w, key);
	fprintf(w->f, "%" PRIu64, value);
}

void jsonw_int(struct json_writer *w, const char *key, int64_t value)
{
	json_member(w, key);
	fprintf(w->f, "%" PRId64, value);
}

void jsonw_bool(struct json_writer *w, const char *key, bool value)
{
	json_member(w, key);
	fputs(value ? "true" : "false", w->f);
}
