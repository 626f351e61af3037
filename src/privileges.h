/* SPDX-License-Identifier: Apache-2.0 */
/* Giving up what intactd needs only to start. */
#pragma once

#include <stdbool.h>

/*
 * Keep only the capabilities the running daemon uses, in the calling
 * thread's sets and bounding set, and forbid gaining new ones
 * (no_new_privs). Threads started afterwards inherit what is left:
 * - CAP_SYS_PTRACE, to open other processes' roots and mount tables;
 * - CAP_DAC_READ_SEARCH, to read runtime bundles and image layers whatever
 *   their modes;
 * - with for_verifier, also CAP_SYS_ADMIN, which reading the
 *   trusted.overlay.opaque attribute of image layers requires, and
 *   CAP_SETPCAP for the next step. The daemon calls this first with
 *   for_verifier, starts the verifier's thread, then again without it.
 * Loading and attaching programs, mounting, binding sockets and changing
 * their owner are done by then. Returns 0 or a negative errno.
 */
int privileges_drop(bool for_verifier);
