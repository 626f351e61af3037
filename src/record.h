/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the strings of a ring buffer record (include/intact/events.h). */
#pragma once

#include <stddef.h>

#include "intact/events.h"

/*
 * Return the string s of a record and its length in *ret_len (may be NULL),
 * or "" and 0 when it does not lie inside the record or lacks the NUL the
 * kernel puts after every string.
 */
static inline const char *record_string(const void *record, size_t size, const struct intact_str *s,
					size_t *ret_len)
{
	const char *base = record;
	size_t len = 0;

	if ((size_t)s->off + s->len < size && base[s->off + s->len] == '\0') {
		len = s->len;
		base += s->off;
	} else {
		base = "";
	}
	if (ret_len)
		*ret_len = len;
	return base;
}

/* Whether the kernel could not copy all of s. */
static inline int record_string_incomplete(const struct intact_str *s)
{
	return (s->flags & (INTACT_STR_TRUNCATED | INTACT_STR_READ_ERROR)) != 0;
}
