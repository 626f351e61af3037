// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "rules.h"

static char *default_shell_names[] = {
    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish",
};

static const struct shell_list default_shells = {
    .names = default_shell_names,
    .count = sizeof(default_shell_names) / sizeof(default_shell_names[0]),
};

const struct shell_list *shell_list_default(void)
{
	return &default_shells;
}

const char *path_basename(const char *path)
{
	const char *slash;

	if (!path)
		return "";
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* An argv entry, which need not be NUL-terminated. */
struct arg {
	const char *p;
	size_t len;
};

static const char *shell_list_find(const struct shell_list *shells, struct arg name)
{
	for (size_t i = 0; shells->names && i < shells->count; i++) {
		const char *shell = shells->names[i];

		if (shell && strlen(shell) == name.len && memcmp(shell, name.p, name.len) == 0)
			return shell;
	}
	return NULL;
}

/*
 * Find argv[index] in the NUL-separated args. The last entry may lack its
 * NUL when args ends there. Returns false when there is no such entry.
 */
static bool args_entry(const char *args, size_t args_len, size_t index, struct arg *ret)
{
	size_t start = 0;
	const char *nul;

	if (!args)
		return false;
	for (size_t i = 0; i < index; i++) {
		nul = memchr(args + start, '\0', args_len - start);
		if (!nul)
			return false;
		start = (size_t)(nul - args) + 1;
	}
	if (start >= args_len)
		return false;

	nul = memchr(args + start, '\0', args_len - start);
	ret->p = args + start;
	ret->len = nul ? (size_t)(nul - ret->p) : args_len - start;
	return true;
}

static struct arg arg_basename(struct arg a)
{
	for (size_t i = a.len; i > 0; i--)
		if (a.p[i - 1] == '/')
			return (struct arg){a.p + i, a.len - i};
	return a;
}

static bool arg_is_multicall_binary(struct arg a)
{
	static const char *const names[] = {"busybox", "toybox"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == a.len && memcmp(names[i], a.p, a.len) == 0)
			return true;
	return false;
}

/*
 * NOTE: only the installed names are known. A copy of busybox under another
 * name runs its applets unnoticed, because the loaded file is then matched
 * by that name alone.
 */
bool multicall_binary_is(const char *exe_basename)
{
	return exe_basename &&
	       arg_is_multicall_binary((struct arg){exe_basename, strlen(exe_basename)});
}

/*
 * The applet a multi-call binary runs. Like busybox, drop the '-' that
 * login(1) puts before a login shell's argv[0], then take the basename.
 * When that names the multi-call binary itself ("busybox sh -c ..."),
 * argv[1] selects the applet.
 */
static bool multicall_applet(const char *args, size_t args_len, struct arg *ret_applet)
{
	struct arg a;

	if (!args_entry(args, args_len, 0, &a))
		return false;
	if (a.len > 0 && a.p[0] == '-') {
		a.p++;
		a.len--;
	}
	a = arg_basename(a);
	if (arg_is_multicall_binary(a)) {
		if (!args_entry(args, args_len, 1, &a))
			return false;
		a = arg_basename(a);
	}
	*ret_applet = a;
	return true;
}

bool exec_is_shell(const struct shell_list *shells, const char *exe, const char *args,
		   size_t args_len, const char **ret_name)
{
	const char *exe_name = path_basename(exe);
	struct arg name = {exe_name, strlen(exe_name)};
	const char *shell;

	if (ret_name)
		*ret_name = NULL;
	if (!shells)
		shells = shell_list_default();
	if (name.len == 0)
		return false;

	if (multicall_binary_is(exe_name) && !multicall_applet(args, args_len, &name))
		return false;

	shell = shell_list_find(shells, name);
	if (!shell)
		return false;
	if (ret_name)
		*ret_name = shell;
	return true;
}
