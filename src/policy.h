/* SPDX-License-Identifier: Apache-2.0 */
/* The write policy: which paths of a container's root filesystem may change. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define POLICY_PATHS_MAX 64

struct write_policy {
	/* Paths of the root filesystem where writes are normal. */
	const char *writable[POLICY_PATHS_MAX];
	size_t writable_count;
};

/* The built-in policy: /tmp, /var/tmp, /run, /var/run and /dev/shm are writable. */
const struct write_policy *write_policy_default(void);

/* Whether a write to path, on the container's root filesystem, breaks the policy. */
bool write_policy_forbids(const struct write_policy *policy, const char *path);
