/* SPDX-License-Identifier: Apache-2.0 */
/* Path names as a process inside a container sees them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Join dir and name (name may be absolute) and fold ".", ".." and repeated
 * slashes lexically. Returns 0, or -ENAMETOOLONG.
 * NOTE: lexical ".." is wrong after a symlinked directory; callers resolve
 * through path_resolve_in_root() first and fall back to this.
 */
int path_join(const char *dir, const char *name, char *out, size_t size);

/*
 * Rewrite names that reach the root or cwd through procfs ("/proc/self/root/etc",
 * "/proc/PID/root/...", "/proc/thread-self/cwd/x") to plain names, since
 * "self" means another process when intactd resolves them. ns_pid is the
 * caller's pid in its own namespace. Returns true when out was rewritten.
 */
bool path_strip_proc_self(const char *path, unsigned int ns_pid, const char *cwd, char *out,
			  size_t size);

/*
 * Resolve an absolute path inside the directory tree of root_fd, following
 * symlinks as the kernel would for that process (openat2 with
 * RESOLVE_IN_ROOT). With follow_final false only the directory part is
 * resolved and the last component is kept as named (unlink, rename, lchown).
 * On success out contains the real path, and ret_info the mount of the object
 * (or of its directory when the object does not exist) and, when it exists,
 * its device, inode and mode. Returns 0 or a negative errno.
 */
struct path_info {
	unsigned int mnt_id;
	unsigned int mode;
	unsigned long long dev; /* makedev() of the object's device */
	unsigned long long ino;
	bool exists; /* the object itself (not only its directory) was found */
};

int path_resolve_in_root(int root_fd, const char *path, bool follow_final, char *out, size_t size,
			 struct path_info *ret_info);

/* Whether path is prefix itself or lies below it ("/tmp" covers "/tmp/a", not "/tmpa"). */
bool path_is_under(const char *path, const char *prefix);
