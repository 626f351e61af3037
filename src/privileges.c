// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "log.h"
#include "privileges.h"

static const cap_value_t kept[] = {CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};

int privileges_drop(void)
{
	cap_t caps;
	int r = 0;

	/* The bounding set first: dropping from it needs CAP_SETPCAP, given up next. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;

		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			if (kept[i] == c)
				keep = true;
		if (!keep && cap_drop_bound(c) < 0 && errno != EINVAL) {
			r = -errno;
			log_error("failed to drop capability %s from the bounding set: %s",
				  cap_to_name(c), strerror(-r));
			return r;
		}
	}

	/* Keep what the process has of the kept ones: it may run without some. */
	caps = cap_get_proc();
	if (!caps)
		return -errno;
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		cap_flag_value_t has = CAP_CLEAR;
		bool keep = false;

		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			if (kept[i] == c)
				keep = true;
		if (keep && cap_get_flag(caps, c, CAP_PERMITTED, &has) == 0 && has == CAP_SET) {
			(void)cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_SET);
			continue;
		}
		(void)cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_CLEAR);
		(void)cap_set_flag(caps, CAP_PERMITTED, 1, &c, CAP_CLEAR);
		(void)cap_set_flag(caps, CAP_INHERITABLE, 1, &c, CAP_CLEAR);
	}
	if (cap_set_proc(caps) < 0) {
		r = -errno;
		log_error("failed to drop capabilities: %s", strerror(-r));
	}
	cap_free(caps);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = -errno;
		log_error("failed to set no_new_privs: %s", strerror(-r));
		return r;
	}
	log_info("dropped every capability but CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH");
	return 0;
}
