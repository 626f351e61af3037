// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fspath.h"

int path_join(const char *dir, const char *name, char *out, size_t size)
{
	char *joined, *component, *save = NULL;
	size_t len = 0;
	int r = 0;

	if (asprintf(&joined, "%s/%s", name[0] == '/' ? "" : dir, name) < 0)
		return -ENOMEM;
	if (size < 2) {
		free(joined);
		return -ENAMETOOLONG;
	}
	out[0] = '\0';
	for (component = strtok_r(joined, "/", &save); component;
	     component = strtok_r(NULL, "/", &save)) {
		size_t n = strlen(component);

		if (strcmp(component, ".") == 0)
			continue;
		if (strcmp(component, "..") == 0) {
			char *slash = strrchr(out, '/');

			/* ".." at the root stays at the root, as in the kernel. */
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		if (len + 1 + n + 1 > size) {
			r = -ENAMETOOLONG;
			break;
		}
		out[len++] = '/';
		memcpy(out + len, component, n + 1);
		len += n;
	}
	if (r == 0 && len == 0)
		memcpy(out, "/", 2);
	free(joined);
	return r;
}

bool path_strip_proc_self(const char *path, unsigned int ns_pid, const char *cwd, char *out,
			  size_t size)
{
	const char *rest;
	char pid[16];
	int n;

	if (strncmp(path, "/proc/", 6) != 0)
		return false;
	rest = path + 6;
	snprintf(pid, sizeof(pid), "%u/", ns_pid);
	if (strncmp(rest, "self/", 5) == 0)
		rest += 5;
	else if (strncmp(rest, "thread-self/", 12) == 0)
		rest += 12;
	else if (strncmp(rest, pid, strlen(pid)) == 0)
		rest += strlen(pid);
	else
		return false;

	if (strncmp(rest, "root", 4) == 0 && (rest[4] == '/' || rest[4] == '\0'))
		n = snprintf(out, size, "/%s", rest[4] ? rest + 5 : "");
	else if (strncmp(rest, "cwd", 3) == 0 && (rest[3] == '/' || rest[3] == '\0'))
		n = snprintf(out, size, "%s/%s", cwd, rest[3] ? rest + 4 : "");
	else
		return false;
	return n > 0 && (size_t)n < size;
}

static int fd_info(int fd, const char *name, struct path_info *ret)
{
	struct statx stx;

	if (statx(fd, name, (name[0] ? 0 : AT_EMPTY_PATH) | AT_SYMLINK_NOFOLLOW,
		  STATX_MNT_ID | STATX_INO | STATX_TYPE | STATX_MODE, &stx) < 0)
		return -errno;
	ret->mnt_id = (unsigned int)stx.stx_mnt_id;
	ret->mode = stx.stx_mode;
	ret->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	ret->ino = stx.stx_ino;
	ret->exists = true;
	return 0;
}

static int fd_path(int fd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

int path_resolve_in_root(int root_fd, const char *path, bool follow_final, char *out, size_t size,
			 struct path_info *ret_info)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char dir[4096], resolved[4096], root[4096];
	const char *base = NULL;
	size_t root_len;
	int fd, r;

	if (path[0] != '/' || strlen(path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, strlen(path) + 1);
	if (!follow_final) {
		char *slash = strrchr(dir, '/');

		base = path + (slash - dir) + 1;
		*slash = '\0';
		if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
			return -EINVAL;
	}

	/* openat2 takes names relative to root_fd: drop the leading slash. */
	fd =
	    (int)syscall(SYS_openat2, root_fd, dir[0] && dir[1] ? dir + 1 : ".", &how, sizeof(how));
	if (fd < 0)
		return -errno;
	r = fd_path(fd, resolved, sizeof(resolved));
	if (r == 0) {
		/* The object itself when it exists, else its directory's mount. */
		*ret_info = (struct path_info){};
		if (!base || fd_info(fd, base, ret_info) < 0) {
			r = fd_info(fd, "", ret_info);
			ret_info->exists = !base;
		}
	}
	close(fd);
	if (r < 0)
		return r;

	/*
	 * The kernel names a descriptor from intactd's root when it can reach
	 * it, and from the mount namespace's own root otherwise (a container's
	 * root, after pivot_root). Naming root_fd the same way and removing that
	 * prefix gives the name inside the root in both cases.
	 */
	r = fd_path(root_fd, root, sizeof(root));
	if (r < 0)
		return r;
	root_len = strcmp(root, "/") ? strlen(root) : 0;
	if (root_len && strncmp(resolved, root, root_len) == 0 &&
	    (resolved[root_len] == '/' || resolved[root_len] == '\0'))
		memmove(resolved, resolved + root_len, strlen(resolved + root_len) + 1);
	if (!resolved[0])
		memcpy(resolved, "/", 2);

	if (base)
		r = snprintf(out, size, "%s/%s", strcmp(resolved, "/") ? resolved : "", base);
	else
		r = snprintf(out, size, "%s", resolved);
	if (r < 0 || (size_t)r >= size)
		return -ENAMETOOLONG;
	return 0;
}

bool path_is_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
