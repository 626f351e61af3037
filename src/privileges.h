/* SPDX-License-Identifier: Apache-2.0 */
/* Giving up what intactd needs only to start. */
#pragma once

/*
 * Keep only the capabilities the running daemon uses, in every set and in
 * the bounding set, and forbid gaining new ones (no_new_privs):
 * CAP_SYS_PTRACE to open other processes' roots and mount tables,
 * CAP_DAC_READ_SEARCH to read runtime bundles and image layers whatever their
 * modes. Loading and attaching programs, mounting, binding sockets and
 * changing their owner are done by then. Returns 0 or a negative errno.
 */
int privileges_drop(void);
