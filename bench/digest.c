/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time layer_digest_from_dir() on a directory, with no rate limit, and
 * print one "key=value" line: bytes hashed, entries, elapsed seconds and
 * the digest. The benchmark compares the throughput with sha256sum's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layer_digest.h"

static double clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct layer_digest_options options = {0};
	struct layer_digest *d = NULL;
	char err[512] = "";
	double start, seconds;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: digest DIR\n");
		return 2;
	}

	start = clock_seconds();
	r = layer_digest_from_dir(argv[1], &options, &d, err, sizeof(err));
	seconds = clock_seconds() - start;
	if (r < 0) {
		fprintf(stderr, "digest: failed to compute the layer digest of %s: %s (%s)\n",
			argv[1], err, strerror(-r));
		return EXIT_FAILURE;
	}

	printf("bytes=%" PRIu64 " entries=%zu errors=%zu seconds=%.6f digest=%s\n", d->bytes_hashed,
	       d->n_entries, d->n_errors, seconds, d->digest);
	layer_digest_free(d);
	return EXIT_SUCCESS;
}
