// SPDX-License-Identifier: Apache-2.0
#include "fspath.h"
#include "policy.h"

static const struct write_policy default_policy = {
    .writable = {"/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm"},
    .writable_count = 5,
};

const struct write_policy *write_policy_default(void)
{
	return &default_policy;
}

bool write_policy_forbids(const struct write_policy *policy, const char *path)
{
	for (size_t i = 0; i < policy->writable_count; i++)
		if (path_is_under(path, policy->writable[i]))
			return false;
	return true;
}
