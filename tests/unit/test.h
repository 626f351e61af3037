/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal unit test framework. Each test file defines TEST(name) bodies;
 * this header supplies main(), which runs them in order and prints one
 * final line, "N passed, N failed", counting tests. A failed check prints
 * file:line and the expression, and the test goes on to its next check.
 * Include this header from exactly one file per test binary.
 */
#pragma once

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_MAX 512

struct test_case {
	const char *name;
	void (*run)(void);
};

static struct test_case test_cases[TEST_MAX];
static size_t test_count;
static bool test_failed;

static inline void test_register(const char *name, void (*run)(void))
{
	if (test_count == TEST_MAX) {
		fprintf(stderr, "too many tests: raise TEST_MAX (%d) in test.h\n", TEST_MAX);
		exit(EXIT_FAILURE);
	}
	test_cases[test_count++] = (struct test_case){name, run};
}

/* Define a test; a constructor registers it before main() runs. */
#define TEST(name)                                                                                 \
	static void test_##name(void);                                                             \
	__attribute__((constructor)) static void test_register_##name(void)                        \
	{                                                                                          \
		test_register(#name, test_##name);                                                 \
	}                                                                                          \
	static void test_##name(void)

static inline void test_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
	test_failed = true;
}

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		if (!(expr))                                                                       \
			test_fail(__FILE__, __LINE__, #expr);                                      \
	} while (0)

#define CHECK_INT_EQ(actual, expected)                                                             \
	do {                                                                                       \
		intmax_t a_ = (actual), e_ = (expected);                                           \
		if (a_ != e_) {                                                                    \
			test_fail(__FILE__, __LINE__, #actual " == " #expected);                   \
			fprintf(stderr, "  actual %jd, expected %jd\n", a_, e_);                   \
		}                                                                                  \
	} while (0)

#define CHECK_STR_EQ(actual, expected)                                                             \
	do {                                                                                       \
		const char *a_ = (actual), *e_ = (expected);                                       \
		if (!a_ || !e_ || strcmp(a_, e_) != 0) {                                           \
			test_fail(__FILE__, __LINE__, #actual " == " #expected);                   \
			fprintf(stderr, "  actual \"%s\", expected \"%s\"\n", a_ ? a_ : "(null)",  \
				e_ ? e_ : "(null)");                                               \
		}                                                                                  \
	} while (0)

/* Print up to 200 bytes, with C escapes for bytes that are not printable ASCII. */
static inline void test_bytes_print(const char *label, const void *data, size_t len)
{
	const unsigned char *p = data;

	fprintf(stderr, "  %s %zu bytes: \"", label, len);
	for (size_t i = 0; i < len && i < 200; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fputs(len > 200 ? "\"...\n" : "\"\n", stderr);
}

/* Compare byte strings: a_len bytes at actual against e_len at expected. */
#define CHECK_MEM_EQ(actual, a_len, expected, e_len)                                               \
	do {                                                                                       \
		size_t al_ = (a_len), el_ = (e_len);                                               \
		if (al_ != el_ || memcmp((actual), (expected), al_) != 0) {                        \
			test_fail(__FILE__, __LINE__, #actual " == " #expected);                   \
			test_bytes_print("actual", (actual), al_);                                 \
			test_bytes_print("expected", (expected), el_);                             \
		}                                                                                  \
	} while (0)

int main(void)
{
	size_t passed = 0, failed = 0;

	for (size_t i = 0; i < test_count; i++) {
		test_failed = false;
		test_cases[i].run();
		if (test_failed) {
			fprintf(stderr, "FAIL %s\n", test_cases[i].name);
			failed++;
		} else {
			passed++;
		}
	}
	fflush(stderr);
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
