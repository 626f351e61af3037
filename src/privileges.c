// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "log.h"
#include "privileges.h"

/* CAP_SETPCAP stays for the first step only: the second needs it to shrink the bounding set. */
static bool capability_kept(cap_value_t c, bool for_verifier)
{
	return c == CAP_SYS_PTRACE || c == CAP_DAC_READ_SEARCH ||
	       (for_verifier && (c == CAP_SYS_ADMIN || c == CAP_SETPCAP));
}

int privileges_drop(bool for_verifier)
{
	cap_t caps;
	int r = 0;

	/* The bounding set first, while CAP_SETPCAP, which dropping from it needs, is held. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (capability_kept(c, for_verifier) || cap_get_bound(c) != 1)
			continue;
		if (cap_drop_bound(c) < 0) {
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

		if (capability_kept(c, for_verifier) &&
		    cap_get_flag(caps, c, CAP_PERMITTED, &has) == 0 && has == CAP_SET) {
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
	log_debug("dropped every capability but CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH%s",
		  for_verifier ? " and CAP_SYS_ADMIN" : "");
	return 0;
}
