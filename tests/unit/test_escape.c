// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "escape.h"
#include "test.h"

/* A byte string literal with its length, NUL bytes included. */
#define BYTES(literal) literal, sizeof(literal) - 1

/* Escape s into a malloc'd buffer. Returns its length, or -1 on failure. */
static long escape_to_buffer(const char *s, size_t len, char **ret)
{
	size_t size = 0;
	FILE *f = open_memstream(ret, &size);
	int r;

	if (!f)
		return -1;
	r = json_escape_write(f, s, len);
	if (fclose(f) != 0 || r < 0) {
		free(*ret);
		*ret = NULL;
		return -1;
	}
	return (long)size;
}

struct escape_case {
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
};

static void check_escape(const struct escape_case *c)
{
	char *out = NULL;
	long len = escape_to_buffer(c->in, c->in_len, &out);

	CHECK(len >= 0);
	if (len < 0)
		return;
	CHECK_MEM_EQ(out, (size_t)len, c->out, c->out_len);
	free(out);
}

static void check_escape_table(const struct escape_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++)
		check_escape(&cases[i]);
}

TEST(escape_json_specials)
{
	static const struct escape_case cases[] = {
	    {BYTES(""), BYTES("\"\"")},
	    {BYTES("hello"), BYTES("\"hello\"")},
	    {BYTES("a\"b"), BYTES("\"a\\\"b\"")},
	    {BYTES("a\\b"), BYTES("\"a\\\\b\"")},
	    {BYTES("/usr/bin"), BYTES("\"/usr/bin\"")},
	    {BYTES("line\n"), BYTES("\"line\\n\"")},
	    {BYTES("\t\r\b\f"), BYTES("\"\\t\\r\\b\\f\"")},
	    {BYTES("\x01\x1b\x1f"), BYTES("\"\\u0001\\u001b\\u001f\"")},
	    {BYTES("\x7f"), BYTES("\"\\u007f\"")},
	    {BYTES("a\0b"), BYTES("\"a\\u0000b\"")},
	    {BYTES("\0"), BYTES("\"\\u0000\"")},
	    {BYTES(" ~"), BYTES("\" ~\"")},
	};

	check_escape_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(escape_valid_utf8_unchanged)
{
	static const struct escape_case cases[] = {
	    /* é U+00E9 */
	    {BYTES("caf\xc3\xa9"), BYTES("\"caf\xc3\xa9\"")},
	    /* € U+20AC */
	    {BYTES("\xe2\x82\xac"), BYTES("\"\xe2\x82\xac\"")},
	    /* 😀 U+1F600 */
	    {BYTES("\xf0\x9f\x98\x80"), BYTES("\"\xf0\x9f\x98\x80\"")},
	    /* The edges of each range in Unicode's Table 3-7. */
	    {BYTES("\xc2\x80\xdf\xbf"), BYTES("\"\xc2\x80\xdf\xbf\"")},
	    {BYTES("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"),
	     BYTES("\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"")},
	    {BYTES("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
	     BYTES("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"")},
	    /* U+2028 is valid JSON as it is. */
	    {BYTES("\xe2\x80\xa8"), BYTES("\"\xe2\x80\xa8\"")},
	};

	check_escape_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(escape_invalid_utf8_bytes)
{
	static const struct escape_case cases[] = {
	    {BYTES("\xff"), BYTES("\"\\udcff\"")},
	    {BYTES("\x80"), BYTES("\"\\udc80\"")},
	    {BYTES("a\xfe"
		   "b"),
	     BYTES("\"a\\udcfeb\"")},
	    /* Overlong forms of '/' and of U+0000. */
	    {BYTES("\xc0\xaf"), BYTES("\"\\udcc0\\udcaf\"")},
	    {BYTES("\xc1\xbf"), BYTES("\"\\udcc1\\udcbf\"")},
	    {BYTES("\xe0\x80\xaf"), BYTES("\"\\udce0\\udc80\\udcaf\"")},
	    {BYTES("\xe0\x9f\xbf"), BYTES("\"\\udce0\\udc9f\\udcbf\"")},
	    {BYTES("\xf0\x80\x80\xaf"), BYTES("\"\\udcf0\\udc80\\udc80\\udcaf\"")},
	    {BYTES("\xf0\x8f\xbf\xbf"), BYTES("\"\\udcf0\\udc8f\\udcbf\\udcbf\"")},
	    /* UTF-8 encoded surrogates U+D800 and U+DFFF. */
	    {BYTES("\xed\xa0\x80"), BYTES("\"\\udced\\udca0\\udc80\"")},
	    {BYTES("\xed\xbf\xbf"), BYTES("\"\\udced\\udcbf\\udcbf\"")},
	    /* Above U+10FFFF. */
	    {BYTES("\xf4\x90\x80\x80"), BYTES("\"\\udcf4\\udc90\\udc80\\udc80\"")},
	    {BYTES("\xf5\x80\x80\x80"), BYTES("\"\\udcf5\\udc80\\udc80\\udc80\"")},
	    /* Truncated sequences, at the end and before other text. */
	    {BYTES("\xc3"), BYTES("\"\\udcc3\"")},
	    {BYTES("\xe2\x82"), BYTES("\"\\udce2\\udc82\"")},
	    {BYTES("\xe2\x82"
		   "a"),
	     BYTES("\"\\udce2\\udc82a\"")},
	    {BYTES("\xf0\x9f\x98"), BYTES("\"\\udcf0\\udc9f\\udc98\"")},
	    {BYTES("\xf0\x9f\x98\n"), BYTES("\"\\udcf0\\udc9f\\udc98\\n\"")},
	    /* A lead byte followed by a valid sequence. */
	    {BYTES("\xe2\xc3\xa9"), BYTES("\"\\udce2\xc3\xa9\"")},
	    {BYTES("caf\xc3\xa9 \xff\n"), BYTES("\"caf\xc3\xa9 \\udcff\\n\"")},
	};

	check_escape_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(escape_argument_errors)
{
	FILE *full;

	CHECK_INT_EQ(json_escape_write(NULL, "a", 1), -EINVAL);
	CHECK_INT_EQ(json_escape_write(stderr, NULL, 1), -EINVAL);

	/* With no stdio buffer, a failed write shows at once. */
	full = fopen("/dev/full", "w");
	CHECK(full != NULL);
	if (!full)
		return;
	setvbuf(full, NULL, _IONBF, 0);
	CHECK_INT_EQ(json_escape_write(full, "abc", 3), -EIO);
	fclose(full);
}

TEST(escape_null_empty_string)
{
	char *out = NULL;
	long len = escape_to_buffer(NULL, 0, &out);

	CHECK_MEM_EQ(out, (size_t)len, "\"\"", 2);
	free(out);
}

TEST(escape_long_string)
{
	size_t n = 100000;
	char *in = malloc(n), *out = NULL, *decoded = malloc(n);
	long len;

	CHECK(in != NULL);
	CHECK(decoded != NULL);
	if (!in || !decoded)
		goto done;
	for (size_t i = 0; i < n; i++)
		in[i] = (char)(i % 3 == 0 ? '\n' : 'x');
	len = escape_to_buffer(in, n, &out);
	CHECK_INT_EQ(len, 2 + n + n / 3 + 1);
	if (len < 2)
		goto done;
	CHECK_INT_EQ(json_unescape(out + 1, (size_t)len - 2, decoded, n), (long)n);
	CHECK(memcmp(decoded, in, n) == 0);
done:
	free(in);
	free(out);
	free(decoded);
}

struct unescape_case {
	const char *in;
	size_t in_len;
	long r;
	const char *out; /* the first r bytes are expected */
};

TEST(unescape_cases)
{
	static const struct unescape_case cases[] = {
	    {BYTES(""), 0, ""},
	    {BYTES("plain"), 5, "plain"},
	    {BYTES("\\\"\\\\\\/\\b\\f\\n\\r\\t"), 8, "\"\\/\b\f\n\r\t"},
	    {BYTES("\\u0000"), 1, ""},
	    {BYTES("\\u00e9\\u00E9"), 4, "\xc3\xa9\xc3\xa9"},
	    {BYTES("\\u20ac"), 3, "\xe2\x82\xac"},
	    {BYTES("\\ud83d\\ude00"), 4, "\xf0\x9f\x98\x80"},
	    {BYTES("\\udc80\\udcff"), 2, "\x80\xff"},
	    {BYTES("caf\xc3\xa9"), 5, "caf\xc3\xa9"},
	    /* Errors: truncated or unknown escapes. */
	    {BYTES("\\"), -EINVAL, NULL},
	    {BYTES("\\x41"), -EINVAL, NULL},
	    {BYTES("\\u12"), -EINVAL, NULL},
	    {BYTES("\\u12g4"), -EINVAL, NULL},
	    {BYTES("\\\0"), -EINVAL, NULL},
	    /* Errors: raw bytes that json_escape_write never writes. */
	    {BYTES("a\nb"), -EINVAL, NULL},
	    {BYTES("a\"b"), -EINVAL, NULL},
	    {BYTES("a\0b"), -EINVAL, NULL},
	    {BYTES("\xff"), -EINVAL, NULL},
	    {BYTES("\xe2\x82"), -EINVAL, NULL},
	    /* Errors: surrogates that are neither a pair nor an escaped byte. */
	    {BYTES("\\udc00"), -EINVAL, NULL},
	    {BYTES("\\udc7f"), -EINVAL, NULL},
	    {BYTES("\\udd00"), -EINVAL, NULL},
	    {BYTES("\\ud800"), -EINVAL, NULL},
	    {BYTES("\\ud800x"), -EINVAL, NULL},
	    {BYTES("\\ud800\\u0041"), -EINVAL, NULL},
	    {BYTES("\\udbff\\ud800"), -EINVAL, NULL},
	};
	char out[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct unescape_case *c = &cases[i];
		long r = json_unescape(c->in, c->in_len, out, sizeof(out));

		if (r != c->r)
			test_bytes_print("input", c->in, c->in_len);
		CHECK_INT_EQ(r, c->r);
		if (c->out && r == c->r)
			CHECK_MEM_EQ(out, (size_t)r, c->out, (size_t)c->r);
	}
}

TEST(unescape_output_bounds)
{
	char out[4];

	CHECK_INT_EQ(json_unescape("abcd", 4, out, 4), 4);
	CHECK_INT_EQ(json_unescape("abcde", 5, out, 4), -ENOBUFS);
	CHECK_INT_EQ(json_unescape("abc\\u20ac", 9, out, 4), -ENOBUFS);
	CHECK_INT_EQ(json_unescape("\\ud83d\\ude00", 12, out, 3), -ENOBUFS);
	CHECK_INT_EQ(json_unescape("a", 1, NULL, 0), -ENOBUFS);
	CHECK_INT_EQ(json_unescape("", 0, NULL, 0), 0);
	CHECK_INT_EQ(json_unescape(NULL, 1, out, 4), -EINVAL);
	CHECK_INT_EQ(json_unescape("a", 1, NULL, 4), -EINVAL);
}

/*
 * Random byte strings survive escape and unescape unchanged. Half the
 * strings mix in valid multi-byte sequences, so both branches run often.
 */
TEST(random_round_trip)
{
	static const char *const pieces[] = {
	    "\xc3\xa9",
	    "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80",
	    "\xed\x9f\xbf",
	    "\xf4\x8f\xbf\xbf",
	    "\"",
	    "\\",
	    "\n",
	    "\\u",
	};
	unsigned int seed = 42;
	char in[96], decoded[96];

	for (int iteration = 0; iteration < 50000; iteration++) {
		size_t len = 0, target = (size_t)rand_r(&seed) % 64;
		bool mixed = rand_r(&seed) % 2;
		char *out = NULL;
		long out_len, r;

		while (len < target) {
			if (mixed && rand_r(&seed) % 4 == 0) {
				const char *p =
				    pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
				size_t n = strlen(p);

				memcpy(in + len, p, n);
				len += n;
			} else {
				in[len++] = (char)(rand_r(&seed) % 256);
			}
		}

		out_len = escape_to_buffer(in, len, &out);
		CHECK(out_len >= 2);
		if (out_len < 2)
			return;
		CHECK(out[0] == '"');
		CHECK(out[out_len - 1] == '"');
		r = json_unescape(out + 1, (size_t)out_len - 2, decoded, sizeof(decoded));
		if (r != (long)len || memcmp(decoded, in, len) != 0) {
			CHECK_MEM_EQ(decoded, r < 0 ? 0 : (size_t)r, in, len);
			free(out);
			return;
		}
		free(out);
	}
}

/* For valid UTF-8, a standard JSON parser reads back the same string. */
TEST(jansson_reads_valid_utf8)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
	    {BYTES("plain")},
	    {BYTES("quote \" backslash \\ slash /")},
	    {BYTES("controls \n\t\r\b\f\x01\x1f\x7f")},
	    {BYTES("nul \0 inside")},
	    {BYTES("caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac")},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		long len = escape_to_buffer(cases[i].s, cases[i].len, &out);
		json_error_t error;
		json_t *value;

		CHECK(len >= 2);
		if (len < 2)
			continue;
		value = json_loadb(out, (size_t)len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
		CHECK(json_is_string(value));
		if (json_is_string(value))
			CHECK_MEM_EQ(json_string_value(value), json_string_length(value),
				     cases[i].s, cases[i].len);
		json_decref(value);
		free(out);
	}
}

/*
 * jansson rejects the lone surrogates that carry invalid bytes. This test
 * records that limit: a consumer of intact's output needs a JSON decoder
 * that accepts lone surrogates (Python's json module does) to read them.
 */
TEST(jansson_rejects_escaped_bytes)
{
	char *out = NULL;
	long len = escape_to_buffer(BYTES("\xff"), &out);
	json_error_t error;
	json_t *value;

	CHECK_MEM_EQ(out, (size_t)len, "\"\\udcff\"", 8);
	value = json_loadb(out, (size_t)len, JSON_DECODE_ANY, &error);
	CHECK(value == NULL);
	json_decref(value);
	free(out);
}
