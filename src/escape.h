/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte-exact string escaping for JSON output. Valid UTF-8 passes unchanged
 * (apart from JSON's own escapes); each byte that is not part of a valid
 * UTF-8 sequence becomes the lone surrogate \udcXX, the "surrogateescape"
 * scheme of PEP 383. No valid UTF-8 input produces a lone surrogate, so
 * the mapping is reversible and unambiguous.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Write s[0..len) to f as a JSON string literal, quotes included. Returns
 * 0, -EINVAL for a NULL f (or a NULL s with len > 0), or -EIO when stdio
 * reports a failed write. Data left in f's buffer is not flushed.
 */
int json_escape_write(FILE *f, const char *s, size_t len);

/*
 * Decode a JSON string body produced by json_escape_write, without its
 * quotes, back to bytes (test and client use). out is not NUL-terminated.
 * Returns the decoded length, -EINVAL on input json_escape_write cannot
 * produce, or -ENOBUFS when the result does not fit in out_size bytes.
 */
long json_unescape(const char *in, size_t len, char *out, size_t out_size);

/*
 * Length of the well-formed UTF-8 sequence at s[0..len) (len > 0), or 0 when
 * the bytes there do not start one (Unicode Standard, Table 3-7).
 */
size_t utf8_sequence_length(const unsigned char *s, size_t len);

bool utf8_is_valid(const char *s, size_t len);

/*
 * Copy s to out with each byte that is not valid UTF-8 replaced by U+FFFD,
 * and a NUL. out must hold 3 * len + 1 bytes. Returns the length written.
 */
size_t utf8_sanitize(const char *s, size_t len, char *out);
