// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fspath.h"
#include "policy.h"
#include "test.h"

static void check_join(const char *dir, const char *name, const char *expected)
{
	char out[256];

	CHECK_INT_EQ(path_join(dir, name, out, sizeof(out)), 0);
	CHECK_STR_EQ(out, expected);
}

TEST(path_join_folds_lexically)
{
	check_join("/", "etc/motd", "/etc/motd");
	check_join("/usr/bin", "y", "/usr/bin/y");
	check_join("/tmp", "../etc/rel", "/etc/rel");
	check_join("/tmp", "/etc//x/./y", "/etc/x/y");
	check_join("/", "../../..", "/");
	check_join("/a/b", ".", "/a/b");
	check_join("/a", "b/", "/a/b");
}

TEST(path_join_too_long)
{
	char out[8];

	CHECK_INT_EQ(path_join("/", "abcdefghij", out, sizeof(out)), -ENAMETOOLONG);
}

TEST(proc_self_names_are_rewritten)
{
	char out[256];

	CHECK(path_strip_proc_self("/proc/self/root/etc/x", 7, "/w", out, sizeof(out)));
	CHECK_STR_EQ(out, "/etc/x");
	CHECK(path_strip_proc_self("/proc/7/root/etc/x", 7, "/w", out, sizeof(out)));
	CHECK_STR_EQ(out, "/etc/x");
	CHECK(path_strip_proc_self("/proc/thread-self/cwd/f", 7, "/w", out, sizeof(out)));
	CHECK_STR_EQ(out, "/w/f");
	CHECK(path_strip_proc_self("/proc/self/root", 7, "/w", out, sizeof(out)));
	CHECK_STR_EQ(out, "/");
	/* Another process's root, or another file of procfs, stays as it is. */
	CHECK(!path_strip_proc_self("/proc/8/root/etc/x", 7, "/w", out, sizeof(out)));
	CHECK(!path_strip_proc_self("/proc/self/rootx/a", 7, "/w", out, sizeof(out)));
	CHECK(!path_strip_proc_self("/proc/self/fd/3", 7, "/w", out, sizeof(out)));
	CHECK(!path_strip_proc_self("/etc/x", 7, "/w", out, sizeof(out)));
}

TEST(path_under_prefix)
{
	CHECK(path_is_under("/tmp", "/tmp"));
	CHECK(path_is_under("/tmp/a/b", "/tmp"));
	CHECK(path_is_under("/tmp/a", "/tmp/"));
	CHECK(!path_is_under("/tmpx", "/tmp"));
	CHECK(!path_is_under("/etc/tmp", "/tmp"));
	CHECK(path_is_under("/anything", "/"));
}

TEST(default_policy_allowlist)
{
	const struct write_policy *p = write_policy_default();

	CHECK(!write_policy_forbids(p, "/tmp/ok"));
	CHECK(!write_policy_forbids(p, "/var/tmp/x"));
	CHECK(!write_policy_forbids(p, "/run/lock"));
	CHECK(!write_policy_forbids(p, "/var/run/pid"));
	CHECK(!write_policy_forbids(p, "/dev/shm/seg"));
	CHECK(write_policy_forbids(p, "/etc/motd"));
	CHECK(write_policy_forbids(p, "/tmpfoo"));
	CHECK(write_policy_forbids(p, "/"));
}

/* A tree made here stands in for a container's root: symlinks must resolve inside it. */
TEST(resolve_in_root_follows_symlinks_inside)
{
	char dir[] = "/tmp/intact-fspath-XXXXXX", name[512], out[512];
	struct path_info info;
	int root_fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(name, sizeof(name), "%s/etc", dir);
	CHECK_INT_EQ(mkdir(name, 0755), 0);
	snprintf(name, sizeof(name), "%s/tmp", dir);
	CHECK_INT_EQ(mkdir(name, 0755), 0);
	/* An absolute symlink means the container's /etc, not the host's. */
	snprintf(name, sizeof(name), "%s/tmp/e", dir);
	CHECK_INT_EQ(symlink("/etc", name), 0);
	snprintf(name, sizeof(name), "%s/etc/motd", dir);
	CHECK(close(open(name, O_CREAT | O_WRONLY, 0644)) == 0);
	root_fd = open(dir, O_PATH | O_DIRECTORY);
	CHECK(root_fd >= 0);

	CHECK_INT_EQ(path_resolve_in_root(root_fd, "/tmp/e/motd", false, out, sizeof(out), &info),
		     0);
	CHECK_STR_EQ(out, "/etc/motd");
	CHECK(info.exists);
	CHECK_INT_EQ(
	    path_resolve_in_root(root_fd, "/tmp/e/../tmp/new", false, out, sizeof(out), &info), 0);
	CHECK_STR_EQ(out, "/tmp/new");
	CHECK(!info.exists);
	CHECK_INT_EQ(path_resolve_in_root(root_fd, "/tmp/e", true, out, sizeof(out), &info), 0);
	CHECK_STR_EQ(out, "/etc");
	CHECK_INT_EQ(path_resolve_in_root(root_fd, "/missing/x", false, out, sizeof(out), &info),
		     -ENOENT);
	CHECK_INT_EQ(path_resolve_in_root(root_fd, "relative", false, out, sizeof(out), &info),
		     -EINVAL);

	close(root_fd);
	snprintf(name, sizeof(name), "rm -rf '%s'", dir);
	CHECK_INT_EQ(system(name), 0);
}
