// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "event.h"
#include "file.h"
#include "fspath.h"
#include "image.h"
#include "log.h"
#include "policy.h"
#include "record.h"

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* A name of the record, resolved to the file it really is inside the container. */
struct file_name {
	char path[4096];
	bool truncated;
	bool resolved; /* by the kernel or through the container's root, not lexically */
	bool on_root_mount;
	unsigned int mnt_id;
	struct path_info info; /* filled when resolved in user space */
};

static const char *const op_names[] = {
    [INTACT_FILE_OPEN] = "open",	 [INTACT_FILE_TRUNCATE] = "truncate",
    [INTACT_FILE_RENAME] = "rename",	 [INTACT_FILE_UNLINK] = "unlink",
    [INTACT_FILE_RMDIR] = "rmdir",	 [INTACT_FILE_MKDIR] = "mkdir",
    [INTACT_FILE_LINK] = "link",	 [INTACT_FILE_SYMLINK] = "symlink",
    [INTACT_FILE_MKNOD] = "mknod",	 [INTACT_FILE_CHMOD] = "chmod",
    [INTACT_FILE_CHOWN] = "chown",	 [INTACT_FILE_UTIMES] = "utimes",
    [INTACT_FILE_SETXATTR] = "setxattr", [INTACT_FILE_REMOVEXATTR] = "removexattr",
};

/*
 * Syscalls newer than the C library's headers (glibc 2.36 lacks these).
 * Their numbers are the same on every architecture since 5.1.
 */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif

#define SYSCALL_NAME(name)                                                                         \
	{                                                                                          \
		SYS_##name, #name                                                                  \
	}
static const struct {
	long nr;
	const char *name;
} syscall_names[] = {
#ifdef SYS_open
    SYSCALL_NAME(open),		 SYSCALL_NAME(creat),	    SYSCALL_NAME(rename),
    SYSCALL_NAME(unlink),	 SYSCALL_NAME(rmdir),	    SYSCALL_NAME(mkdir),
    SYSCALL_NAME(link),		 SYSCALL_NAME(symlink),	    SYSCALL_NAME(mknod),
    SYSCALL_NAME(chmod),	 SYSCALL_NAME(chown),	    SYSCALL_NAME(lchown),
    SYSCALL_NAME(utime),	 SYSCALL_NAME(utimes),	    SYSCALL_NAME(futimesat),
#endif
    SYSCALL_NAME(openat),	 SYSCALL_NAME(openat2),	    SYSCALL_NAME(truncate),
    SYSCALL_NAME(ftruncate),	 SYSCALL_NAME(renameat),    SYSCALL_NAME(renameat2),
    SYSCALL_NAME(unlinkat),	 SYSCALL_NAME(mkdirat),	    SYSCALL_NAME(linkat),
    SYSCALL_NAME(symlinkat),	 SYSCALL_NAME(mknodat),	    SYSCALL_NAME(fchmod),
    SYSCALL_NAME(fchmodat),	 SYSCALL_NAME(fchown),	    SYSCALL_NAME(fchownat),
    SYSCALL_NAME(utimensat),	 SYSCALL_NAME(setxattr),    SYSCALL_NAME(lsetxattr),
    SYSCALL_NAME(fsetxattr),	 SYSCALL_NAME(removexattr), SYSCALL_NAME(lremovexattr),
    SYSCALL_NAME(fremovexattr),	 SYSCALL_NAME(fchmodat2),   SYSCALL_NAME(setxattrat),
    SYSCALL_NAME(removexattrat),
};

static const char *syscall_name(long nr)
{
	for (size_t i = 0; i < sizeof(syscall_names) / sizeof(syscall_names[0]); i++)
		if (syscall_names[i].nr == nr)
			return syscall_names[i].name;
	return "";
}

/* Whether the operation acts on what a final symlink points to. */
static bool file_op_follows_final(const struct intact_file *e)
{
	switch (e->op) {
	case INTACT_FILE_TRUNCATE:
	case INTACT_FILE_CHMOD:
	case INTACT_FILE_UTIMES:
		return true;
	default:
		return false;
	}
}

/*
 * Resolve a name. It is exact when the kernel named the file. Otherwise the
 * directory the kernel gave is joined with the name the program passed and
 * resolved inside the container's root, or lexically when that fails because
 * the directory is gone.
 */
static void file_name_resolve(struct container *c, const struct intact_file *e, const char *dir,
			      uint16_t dir_flags, const char *arg, bool exact, bool follow_final,
			      struct file_name *ret)
{
	char stripped[4096], raw[8192];
	const char *name = arg;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->truncated = dir_flags & (INTACT_STR_TRUNCATED | INTACT_STR_READ_ERROR);
	if (exact) {
		snprintf(ret->path, sizeof(ret->path), "%s", dir);
		ret->resolved = true;
		ret->mnt_id = e->mnt_id;
		ret->on_root_mount = e->flags & INTACT_FILE_ROOT_MOUNT;
		return;
	}

	if (path_strip_proc_self(arg, e->task.ns_pid, dir, stripped, sizeof(stripped)))
		name = stripped;
	if (name[0] == '/')
		r = snprintf(raw, sizeof(raw), "%s", name);
	else
		r = snprintf(raw, sizeof(raw), "%s/%s", strcmp(dir, "/") ? dir : "", name);
	if (r < 0 || (size_t)r >= sizeof(raw))
		ret->truncated = true;

	if (c->root_fd >= 0 && !ret->truncated &&
	    path_resolve_in_root(c->root_fd, raw, follow_final, ret->path, sizeof(ret->path),
				 &ret->info) == 0) {
		ret->resolved = true;
		ret->mnt_id = ret->info.mnt_id;
		ret->on_root_mount = c->rootfs_mnt_id && ret->mnt_id == c->rootfs_mnt_id;
		return;
	}
	if (path_join(dir, name, ret->path, sizeof(ret->path)) < 0)
		ret->truncated = true;
	/* Lexically resolved: the directory's mount, as the kernel saw it, is the best known. */
	ret->mnt_id = e->mnt_id;
	ret->on_root_mount = e->flags & INTACT_FILE_ROOT_MOUNT;
}

/* Whether the file now exists on the container's upper layer. */
static bool file_on_upper_layer(const struct container *c, const struct intact_file *e,
				const struct file_name *name, bool exact)
{
	if (exact)
		return e->flags & INTACT_FILE_UPPER_LAYER;
	return name->on_root_mount && container_upper_has_file(c, name->path);
}

static void file_mount_set(struct daemon *d, struct event *ev, struct container *c,
			   const struct intact_file *e, const struct file_name *name)
{
	const struct container_mount *m = container_mount_find(&d->containers, c, name->mnt_id);
	Intact__V1__Mount *mount = &ev->mount;

	intact__v1__mount__init(mount);
	mount->id = name->mnt_id;
	if (m) {
		mount->fs_type = event_text(ev, m->fs_type, strlen(m->fs_type), NULL);
		mount->path = event_text(ev, m->path, strlen(m->path), NULL);
	}
	mount->read_only = m ? m->read_only : (e->flags & INTACT_FILE_MOUNT_READONLY) != 0;
	mount->root = name->on_root_mount;
	ev->file.mount = mount;
}

/* The write policy of the container's image and Kubernetes namespace. */
static const struct config_policy *file_policy(const struct daemon *d, const struct container *c)
{
	const char *image = c->has_bundle ? c->bundle.image : "";
	const char *ns = c->has_bundle ? c->bundle.pod_namespace : "";

	return config_policy_for(&d->config, image, ns);
}

/*
 * Whether a write to name breaks the policy: on the root filesystem outside
 * the writable paths, or on a mount the policy watches (a volume).
 */
static bool file_forbidden(struct daemon *d, struct container *c,
			   const struct config_policy *policy, const struct file_name *name)
{
	const struct container_mount *m;

	if (name->on_root_mount)
		return write_policy_forbids(&policy->write, name->path);
	if (policy->watched_mounts_count == 0)
		return false;
	m = container_mount_find(&d->containers, c, name->mnt_id);
	if (!m)
		return false;
	for (size_t i = 0; i < policy->watched_mounts_count; i++)
		if (strcmp(m->path, policy->watched_mounts[i]) == 0)
			return write_policy_forbids(&policy->write, name->path);
	return false;
}

static void file_rules(struct event *ev, struct daemon *d, struct container *c,
		       const struct intact_file *e, bool in_container, const struct file_name *path,
		       const struct file_name *target, bool has_target, bool upper)
{
	const struct config_policy *policy = file_policy(d, c);
	bool forbidden;

	if (e->flags & INTACT_FILE_LAYER_TAMPER) {
		event_rule_add(ev, "layer_tamper");
		return;
	}
	if (!in_container) {
		/* Host processes are reported only under the paths the operator listed. */
		for (size_t i = 0; i < d->host_paths_count; i++) {
			if (path_is_under(path->path, d->host_paths[i]) ||
			    (has_target && path_is_under(target->path, d->host_paths[i]))) {
				event_rule_add(ev, "write_readonly_path");
				break;
			}
		}
		return;
	}
	forbidden = file_forbidden(d, c, policy, path) ||
		    (has_target && file_forbidden(d, c, policy, target));
	if (forbidden)
		event_rule_add(ev, "write_readonly_path");
	if (e->op == INTACT_FILE_CHMOD && e->result == 0 && (e->mode & 0111) && upper)
		event_rule_add(ev, "drift_chmod");
}

int file_record_handle(struct daemon *d, const struct intact_file *e, size_t size)
{
	bool in_container = e->task.mntns_inum != d->host.host_mntns_inum;
	bool exact = e->flags & INTACT_FILE_PATH_EXACT;
	bool has_target = e->flags & INTACT_FILE_TARGET_DIR;
	size_t path_arg_len, target_arg_len, xattr_len;
	const char *path_arg = record_string(e, size, &e->path_arg, &path_arg_len);
	const char *target_arg = record_string(e, size, &e->target_arg, &target_arg_len);
	const char *xattr = record_string(e, size, &e->xattr, &xattr_len);
	const struct process *process;
	struct file_name path, target;
	Intact__V1__File *f;
	struct container *c;
	struct event ev;
	bool upper;

	/*
	 * Creating what already exists changes nothing ("mkdir -p" tries every
	 * parent), so EEXIST is not an attempt worth a report.
	 */
	if (e->result == -EEXIST && (e->op == INTACT_FILE_MKDIR || e->op == INTACT_FILE_MKNOD ||
				     e->op == INTACT_FILE_SYMLINK || e->op == INTACT_FILE_LINK)) {
		d->stats.file_records_allowed++;
		return 0;
	}

	c = container_lookup(&d->containers, e->task.cgroup_id, e->task.pid,
			     record_string(e, size, &e->cgroup_name, NULL),
			     record_string(e, size, &e->cgroup_parent, NULL));
	if (!c)
		return -ENOMEM;
	if (in_container)
		(void)container_root_open(&d->containers, c, e->task.pid);
	file_name_resolve(c, e, record_string(e, size, &e->path, NULL), e->path.flags, path_arg,
			  exact, file_op_follows_final(e), &path);
	if (has_target)
		file_name_resolve(c, e, record_string(e, size, &e->target, NULL), e->target.flags,
				  target_arg, false, false, &target);
	upper = file_on_upper_layer(c, e, &path, exact);

	event_init(&ev, d, "file", e->header.boot_ns);
	file_rules(&ev, d, c, e, in_container, &path, &target, has_target, upper);
	if (ev.msg.n_rules == 0) {
		d->stats.file_records_allowed++;
		return 0;
	}
	event_container_set(&ev, c, !in_container);
	process = process_lookup(&d->processes, e->task.pid, e->task.start_boot_ns);
	/* A child that forked and did not exec runs its parent's program. */
	if (!process)
		process = process_lookup(&d->processes, e->task.ppid, e->task.parent_start_boot_ns);
	event_process_set(&ev, &ev.process, &e->task, process);
	ev.msg.process = &ev.process;

	f = &ev.file;
	intact__v1__file__init(f);
	ev.msg.body_case = INTACT__V1__EVENT__BODY_FILE;
	ev.msg.file = f;
	f->op = (char *)(e->op < sizeof(op_names) / sizeof(op_names[0]) && op_names[e->op]
			     ? op_names[e->op]
			     : "");
	/* io_uring requests carry their opcode, and no result yet. */
	f->syscall =
	    e->flags & INTACT_FILE_IO_URING ? "io_uring" : (char *)syscall_name(e->syscall);
	f->path = event_text(&ev, path.path, strlen(path.path), &f->path_bytes);
	f->path_truncated = path.truncated;
	f->path_arg = event_text(&ev, path_arg, path_arg_len, &f->path_arg_bytes);
	if (has_target)
		f->target = event_text(&ev, target.path, strlen(target.path), &f->target_bytes);
	f->target_arg = event_text(&ev, target_arg, target_arg_len, &f->target_arg_bytes);
	f->flags = e->open_flags;
	f->mode = e->mode;
	if (e->op == INTACT_FILE_CHOWN) {
		f->uid = e->uid;
		f->gid = e->gid;
	}
	f->result = e->result;
	if (exact) {
		f->dev = e->dev;
		f->inode = e->ino;
	} else if (path.info.exists) {
		f->dev = (uint32_t)path.info.dev;
		f->inode = path.info.ino;
	}
	file_mount_set(d, &ev, c, e, &path);
	f->upper_layer = upper;
	f->xattr = event_text(&ev, xattr, xattr_len, NULL);
	if (e->flags & INTACT_FILE_LAYER_TAMPER) {
		const char *layer = image_layer_dir(d, e->layer_dev, e->layer_ino);

		if (layer) {
			f->layer = event_text(&ev, layer, strlen(layer), NULL);
			image_layer_tampered(d, layer);
		}
	}

	event_send(d, &ev);
	return 0;
}
