/* SPDX-License-Identifier: Apache-2.0 */
/* Rule decisions that need no kernel: which execs start a shell. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct shell_list {
	char **names; /* basenames: "sh", "bash", ... */
	size_t count;
};

/* The built-in list: sh bash dash ash zsh ksh mksh csh tcsh fish. */
const struct shell_list *shell_list_default(void);

/* Multi-call binaries whose applet is chosen by argv[0] or argv[1]. */
bool multicall_binary_is(const char *exe_basename);

/*
 * Decide whether an exec starts a shell. exe is the path of the file the
 * kernel loaded, args the NUL-separated argv (args_len bytes, argc entries
 * that fit). A shell is recognised by the loaded file's basename, or, for
 * a multi-call binary such as busybox, by the applet that argv[0]
 * (or argv[1] for "busybox sh") selects. The last argv entry may end at
 * args_len without a NUL. shells NULL means shell_list_default(). Stores
 * the matching entry of shells in *ret_name, or NULL, when ret_name is not
 * NULL.
 */
bool exec_is_shell(const struct shell_list *shells, const char *exe, const char *args,
		   size_t args_len, const char **ret_name);

/* Basename of a path: the text after the last '/' ("" for "/", "" for NULL). */
const char *path_basename(const char *path);
