/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File modification monitoring. Each covered syscall has its own enter and
 * exit tracepoint program, so syscalls that are none of these pay nothing
 * (a generic raw_syscalls hook would tax every syscall on the node).
 *
 * At entry, the arguments of a watched task's call with write intent are
 * saved by thread; at exit the record is built with the result. Paths come
 * from kernel objects: the struct file of a descriptor (exact), or the
 * directory a name is relative to (dirfd, cwd or root), which user space
 * joins with the name the program passed.
 * NOTE: names are read from user memory at exit, after the kernel copied
 * them; another thread could change the buffer in between.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lib/compat.h"
#include "lib/fd.h"
#include "lib/maps.h"
#include "lib/path.h"
#include "lib/record.h"
#include "lib/task.h"

#define FILE_AT_FDCWD -100
#define FILE_AT_REMOVEDIR 0x200
#define FILE_O_WRONLY 01
#define FILE_O_RDWR 02
#define FILE_O_CREAT 0100
#define FILE_O_TRUNC 01000
#define FILE_O_APPEND 02000
#define FILE_WRITE_INTENT                                                                          \
	(FILE_O_WRONLY | FILE_O_RDWR | FILE_O_CREAT | FILE_O_TRUNC | FILE_O_APPEND)
#define FILE_NAME_MAX 256 /* xattr names are at most 255 bytes */
#define FILE_NO_FD -1

/* A call's arguments, kept from its entry to its exit. */
struct file_pending {
	__u32 op; /* enum intact_file_op */
	__u32 syscall;
	__s32 dfd;  /* directory path is relative to */
	__s32 dfd2; /* directory path2 is relative to */
	__s32 fd;   /* the file itself, for the f* calls; FILE_NO_FD otherwise */
	__u32 open_flags;
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u32 flags;   /* INTACT_FILE_* known at entry */
	__u64 path;    /* user pointers, or kernel ones with INTACT_FILE_IO_URING */
	__u64 path2;   /* rename and link destination */
	__u64 content; /* symlink content */
	__u64 xattr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct file_pending);
} file_pending SEC(".maps");

static __always_inline int file_enter(struct file_pending *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	counter_add(INTACT_COUNTER_FILE_SEEN);
	if (p->op == INTACT_FILE_OPEN && !(p->open_flags & FILE_WRITE_INTENT)) {
		counter_add(INTACT_COUNTER_FILE_FILTERED);
		return 0;
	}
	if (!task_is_watched(task)) {
		/* A host task is followed only while lower layers are watched. */
		if (!layer_watch) {
			counter_add(INTACT_COUNTER_FILE_FILTERED);
			return 0;
		}
		p->flags |= INTACT_FILE_LAYER_CHECK;
	}
	if (bpf_map_update_elem(&file_pending, &id, p, BPF_ANY))
		counter_add(INTACT_COUNTER_PENDING_FULL);
	return 0;
}

/* Mount and inode facts of the file or directory at path. */
static __always_inline __u32 file_location(struct intact_file *e, struct vfsmount *vfsmnt,
					   struct dentry *dentry, const struct path *root,
					   bool exact)
{
	struct super_block *sb = BPF_CORE_READ(vfsmnt, mnt_sb);
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);
	__u32 flags = 0;

	e->mnt_id = BPF_CORE_READ(compat_real_mount(vfsmnt), mnt_id);
	e->fs_magic = BPF_CORE_READ(sb, s_magic);
	e->dev = BPF_CORE_READ(sb, s_dev);
	if (vfsmnt == BPF_CORE_READ(root, mnt))
		flags |= INTACT_FILE_ROOT_MOUNT;
	if ((BPF_CORE_READ(vfsmnt, mnt_flags) & 0x40 /* MNT_READONLY */) ||
	    (BPF_CORE_READ(sb, s_flags) & 0x1 /* SB_RDONLY */))
		flags |= INTACT_FILE_MOUNT_READONLY;
	if (exact && inode) {
		e->ino = BPF_CORE_READ(inode, i_ino);
		if (e->fs_magic == 0x794c7630 /* OVERLAYFS_SUPER_MAGIC */ &&
		    compat_ovl_inode_has_upper(inode))
			flags |= INTACT_FILE_UPPER_LAYER;
	}
	return flags;
}

/* The first byte of a name, in user memory or, for io_uring, in the kernel's copy. */
static __always_inline char file_name_first(const char *name, bool kernel)
{
	char first = 1;

	if (!name)
		return 1;
	if (kernel)
		bpf_probe_read_kernel(&first, 1, name);
	else
		bpf_probe_read_user(&first, 1, name);
	return first;
}

static __always_inline void file_append_name(struct record *r, struct intact_str *s,
					     const void *name, __u32 max, bool kernel)
{
	if (kernel && name)
		record_append_kstr(r, s, name, max);
	else
		record_append_user_str(r, s, name, max);
}

/* The directory a name is relative to: root for an absolute name, else cwd or dirfd. */
static __always_inline const struct path *file_base_dir(struct task_struct *task,
							struct fs_struct *fs, __s32 dfd,
							const char *name, bool kernel)
{
	struct file *dir;
	char first = file_name_first(name, kernel);

	if (first == '/')
		return &fs->root;
	if (dfd == FILE_AT_FDCWD)
		return &fs->pwd;
	dir = task_fd_file(task, dfd);
	return dir ? &dir->f_path : NULL;
}

/* Name of the directory a user path is relative to, in s; s is empty when the dirfd is invalid. */
static __always_inline __u32 file_append_dir(struct record *r, struct intact_file *e,
					     struct intact_str *s, struct task_struct *task,
					     struct fs_struct *fs, __s32 dfd, const char *name,
					     bool kernel, bool locate)
{
	const struct path *dir = file_base_dir(task, fs, dfd, name, kernel);
	__u32 flags = 0;

	if (!dir) {
		record_append_bytes(r, s, "", 0, INTACT_STR_READ_ERROR);
		return 0;
	}
	record_append_path(r, s, dir, &fs->root);
	if (locate)
		flags = file_location(e, BPF_CORE_READ(dir, mnt), BPF_CORE_READ(dir, dentry),
				      &fs->root, false);
	return flags;
}

#define LAYER_DEPTH_MAX 48

/*
 * Whether dentry lies inside a watched lower layer directory: walk up its
 * parents within its mount. The match goes to e->layer_dev and layer_ino.
 */
static __always_inline bool kernel_layer_check(const struct file_pending *p)
{
	return p->flags & INTACT_FILE_LAYER_CHECK;
}

static __always_inline bool file_in_layer(struct intact_file *e, struct dentry *dentry, __u32 dev)
{
	struct intact_layer_key key = {.dev = dev};

	for (int i = 0; i < LAYER_DEPTH_MAX; i++) {
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

		key.ino = BPF_CORE_READ(dentry, d_inode, i_ino);
		if (bpf_map_lookup_elem(&layer_dirs, &key)) {
			e->layer_dev = dev;
			e->layer_ino = key.ino;
			return true;
		}
		if (!parent || parent == dentry)
			break;
		dentry = parent;
	}
	return false;
}

struct writable_match {
	const __u8 *data; /* the record */
	__u32 off;	  /* of the path in it */
	__u32 len;
	bool found;
};

/*
 * bpf_loop() step: whether the path lies in writable path number index, equal
 * to it or below it. A callback is verified once, which keeps loading fast.
 */
static long writable_match_step(__u32 index, void *ctx)
{
	struct writable_match *m = ctx;
	const struct intact_writable_path *w;
	__u32 len;

	w = bpf_map_lookup_elem(&writable_paths, &index);
	if (!w)
		return 1;
	len = w->len;
	if (len == 0 || len >= INTACT_WRITABLE_PATH_LEN || m->len < len)
		return 0;
	for (__u32 k = 0; k < INTACT_WRITABLE_PATH_LEN; k++) {
		__u8 c;

		if (k >= len)
			break;
		if (bpf_probe_read_kernel(&c, 1, m->data + ((m->off + k) & RECORD_MASK)) ||
		    c != (__u8)w->path[k])
			return 0;
	}
	if (m->len > len) {
		__u8 c = 0;

		bpf_probe_read_kernel(&c, 1, m->data + ((m->off + len) & RECORD_MASK));
		if (c != '/')
			return 0;
	}
	m->found = true;
	return 1;
}

/*
 * Whether a container's write through a descriptor cannot break any policy,
 * so that it never reaches user space: a file on a mount no policy watches,
 * or below a path every policy allows. A chmod that makes a file executable
 * is always sent, since drift_chmod applies anywhere.
 */
static __always_inline bool file_write_allowed(struct record *r, const struct intact_file *e,
					       const struct file_pending *p)
{
	struct writable_match m = {.data = r->data, .off = e->path.off, .len = e->path.len};
	__u32 count = writable_count;

	if (p->op == INTACT_FILE_CHMOD && (p->mode & 0111))
		return false;
	if (!(e->flags & INTACT_FILE_ROOT_MOUNT))
		return !mounts_watched;
	if (count > INTACT_WRITABLE_PATHS_MAX)
		count = INTACT_WRITABLE_PATHS_MAX;
	bpf_loop(count, writable_match_step, &m, 0);
	return m.found;
}

/* Build and send the record of an operation whose arguments are in p. */
static __always_inline void file_record_send(struct task_struct *task, struct file_pending *p,
					     long ret)
{
	bool kernel = p->flags & INTACT_FILE_IO_URING;
	struct intact_file *e;
	struct file *file = NULL;
	struct fs_struct *fs;
	struct record r;
	__s32 fd;

	e = record_start(&r, INTACT_RECORD_FILE, sizeof(*e));
	if (!e)
		return;
	task_fill(&e->task, task);
	e->op = p->op;
	e->syscall = p->syscall;
	e->open_flags = p->open_flags;
	e->mode = p->mode;
	e->uid = p->uid;
	e->gid = p->gid;
	e->result = ret;
	e->ino = 0;
	e->layer_dev = 0;
	e->layer_ino = 0;
	e->flags = p->flags;
	fs = BPF_CORE_READ(task, fs);

	/* The file itself when a descriptor names it: an f* call, an empty name, a new open. */
	fd = p->fd;
	if (fd == FILE_NO_FD && p->path && file_name_first((const char *)p->path, kernel) == 0 &&
	    p->dfd != FILE_AT_FDCWD)
		fd = p->dfd;
	if (p->op == INTACT_FILE_OPEN && ret >= 0 && !kernel)
		fd = ret;
	if (fd != FILE_NO_FD)
		file = task_fd_file(task, fd);

	/*
	 * A host task's write is sent only when it lands inside a lower layer.
	 * NOTE: only writes through a descriptor are checked; a host unlink or
	 * rename by name inside a layer is not seen.
	 */
	if (kernel_layer_check(p) &&
	    (!file || !file_in_layer(e, BPF_CORE_READ(file, f_path.dentry),
				     BPF_CORE_READ(file, f_inode, i_sb, s_dev)))) {
		counter_add(INTACT_COUNTER_FILE_FILTERED);
		return;
	}
	if (kernel_layer_check(p))
		e->flags |= INTACT_FILE_LAYER_TAMPER;

	if (file) {
		/* Host tasks (--watch-host) are judged in user space, by their own paths. */
		bool judged_here = !kernel_layer_check(p) && e->task.mntns_inum != host_mntns_inum;

		e->flags |= INTACT_FILE_PATH_EXACT;
		e->flags |= file_location(e, BPF_CORE_READ(file, f_path.mnt),
					  BPF_CORE_READ(file, f_path.dentry), &fs->root, true);
		/* The mount decides first, before the path walk costs anything. */
		if (judged_here && !(e->flags & INTACT_FILE_ROOT_MOUNT) &&
		    !(p->op == INTACT_FILE_CHMOD && (p->mode & 0111)) && !mounts_watched) {
			counter_add(INTACT_COUNTER_FILE_ALLOWED);
			return;
		}
		record_append_path(&r, &e->path, &file->f_path, &fs->root);
		if (judged_here && !e->path.flags && file_write_allowed(&r, e, p)) {
			counter_add(INTACT_COUNTER_FILE_ALLOWED);
			return;
		}
	} else {
		e->flags |= INTACT_FILE_PATH_DIR;
		e->flags |= file_append_dir(&r, e, &e->path, task, fs, p->dfd,
					    (const char *)p->path, kernel, true);
	}
	file_append_name(&r, &e->path_arg, (const void *)p->path, INTACT_PATH_MAX, kernel);

	if (p->path2) {
		e->flags |= INTACT_FILE_TARGET_DIR;
		file_append_dir(&r, e, &e->target, task, fs, p->dfd2, (const char *)p->path2,
				kernel, false);
		file_append_name(&r, &e->target_arg, (const void *)p->path2, INTACT_PATH_MAX,
				 kernel);
	} else {
		record_append_bytes(&r, &e->target, "", 0, 0);
		file_append_name(&r, &e->target_arg, (const void *)p->content, INTACT_PATH_MAX,
				 kernel);
	}
	file_append_name(&r, &e->xattr, (const void *)p->xattr, FILE_NAME_MAX, kernel);

	record_append_cgroup(&r, &e->cgroup_name, &e->cgroup_parent, task);

	record_submit(&r);
	counter_add(INTACT_COUNTER_FILE_SENT);
}

static __always_inline int file_exit(long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	struct file_pending *pending, p;

	pending = bpf_map_lookup_elem(&file_pending, &id);
	if (!pending)
		return 0;
	p = *pending;
	bpf_map_delete_elem(&file_pending, &id);
	file_record_send(task, &p, ret);
	return 0;
}

/*
 * Every exit program jumps to this one, so the verifier checks the record
 * building once instead of once per syscall (intactd starts seconds sooner).
 */
SEC("tp")
int file__exit_common(struct trace_event_raw_sys_exit *ctx)
{
	return file_exit(ctx->ret);
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} file_exit_programs SEC(".maps") = {
    .values = {[0] = (void *)&file__exit_common},
};

static __always_inline int file_exit_tail(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	bpf_tail_call(ctx, &file_exit_programs, 0);
	/* Reached only when the tail call failed: count the record as lost. */
	if (bpf_map_delete_elem(&file_pending, &id) == 0)
		counter_add(INTACT_COUNTER_RINGBUF_FULL);
	return 0;
}

/*
 * Thin entry points. FILE_CALL(name) defines the enter program from the
 * pending fields given, and the exit program, which is the same for all.
 */
#define FILE_CALL(name, ...)                                                                       \
	SEC("tp/syscalls/sys_enter_" #name)                                                        \
	int file__enter_##name(struct trace_event_raw_sys_enter *ctx)                              \
	{                                                                                          \
		struct file_pending p = {.syscall = ctx->id,                                       \
					 .dfd = FILE_AT_FDCWD,                                     \
					 .dfd2 = FILE_AT_FDCWD,                                    \
					 .fd = FILE_NO_FD,                                         \
					 __VA_ARGS__};                                             \
		return file_enter(&p);                                                             \
	}                                                                                          \
	SEC("tp/syscalls/sys_exit_" #name)                                                         \
	int file__exit_##name(struct trace_event_raw_sys_exit *ctx)                                \
	{                                                                                          \
		return file_exit_tail(ctx);                                                        \
	}

#define ARG(n) (ctx->args[n])

/* FILE_CALL sets defaults that a call's own fields then override, on purpose. */
#pragma clang diagnostic ignored "-Winitializer-overrides"

FILE_CALL(open, .op = INTACT_FILE_OPEN, .path = ARG(0), .open_flags = ARG(1), .mode = ARG(2))
FILE_CALL(openat, .op = INTACT_FILE_OPEN, .dfd = ARG(0), .path = ARG(1), .open_flags = ARG(2),
	  .mode = ARG(3))
FILE_CALL(creat, .op = INTACT_FILE_OPEN, .path = ARG(0), .mode = ARG(1),
	  .open_flags = FILE_O_CREAT | FILE_O_WRONLY | FILE_O_TRUNC)
FILE_CALL(truncate, .op = INTACT_FILE_TRUNCATE, .path = ARG(0))
FILE_CALL(ftruncate, .op = INTACT_FILE_TRUNCATE, .fd = ARG(0))
FILE_CALL(rename, .op = INTACT_FILE_RENAME, .path = ARG(0), .path2 = ARG(1))
FILE_CALL(renameat, .op = INTACT_FILE_RENAME, .dfd = ARG(0), .path = ARG(1), .dfd2 = ARG(2),
	  .path2 = ARG(3))
FILE_CALL(renameat2, .op = INTACT_FILE_RENAME, .dfd = ARG(0), .path = ARG(1), .dfd2 = ARG(2),
	  .path2 = ARG(3), .open_flags = ARG(4))
FILE_CALL(unlink, .op = INTACT_FILE_UNLINK, .path = ARG(0))
FILE_CALL(unlinkat, .op = (ARG(2) & FILE_AT_REMOVEDIR) ? INTACT_FILE_RMDIR : INTACT_FILE_UNLINK,
	  .dfd = ARG(0), .path = ARG(1), .open_flags = ARG(2))
FILE_CALL(rmdir, .op = INTACT_FILE_RMDIR, .path = ARG(0))
FILE_CALL(mkdir, .op = INTACT_FILE_MKDIR, .path = ARG(0), .mode = ARG(1))
FILE_CALL(mkdirat, .op = INTACT_FILE_MKDIR, .dfd = ARG(0), .path = ARG(1), .mode = ARG(2))
FILE_CALL(link, .op = INTACT_FILE_LINK, .path = ARG(0), .path2 = ARG(1))
FILE_CALL(linkat, .op = INTACT_FILE_LINK, .dfd = ARG(0), .path = ARG(1), .dfd2 = ARG(2),
	  .path2 = ARG(3), .open_flags = ARG(4))
FILE_CALL(symlink, .op = INTACT_FILE_SYMLINK, .content = ARG(0), .path = ARG(1))
FILE_CALL(symlinkat, .op = INTACT_FILE_SYMLINK, .content = ARG(0), .dfd = ARG(1), .path = ARG(2))
FILE_CALL(mknod, .op = INTACT_FILE_MKNOD, .path = ARG(0), .mode = ARG(1))
FILE_CALL(mknodat, .op = INTACT_FILE_MKNOD, .dfd = ARG(0), .path = ARG(1), .mode = ARG(2))
FILE_CALL(chmod, .op = INTACT_FILE_CHMOD, .path = ARG(0), .mode = ARG(1))
FILE_CALL(fchmod, .op = INTACT_FILE_CHMOD, .fd = ARG(0), .mode = ARG(1))
FILE_CALL(fchmodat, .op = INTACT_FILE_CHMOD, .dfd = ARG(0), .path = ARG(1), .mode = ARG(2))
FILE_CALL(chown, .op = INTACT_FILE_CHOWN, .path = ARG(0), .uid = ARG(1), .gid = ARG(2))
FILE_CALL(lchown, .op = INTACT_FILE_CHOWN, .path = ARG(0), .uid = ARG(1), .gid = ARG(2))
FILE_CALL(fchown, .op = INTACT_FILE_CHOWN, .fd = ARG(0), .uid = ARG(1), .gid = ARG(2))
FILE_CALL(fchownat, .op = INTACT_FILE_CHOWN, .dfd = ARG(0), .path = ARG(1), .uid = ARG(2),
	  .gid = ARG(3), .open_flags = ARG(4))
FILE_CALL(utime, .op = INTACT_FILE_UTIMES, .path = ARG(0))
FILE_CALL(utimes, .op = INTACT_FILE_UTIMES, .path = ARG(0))
FILE_CALL(utimensat, .op = INTACT_FILE_UTIMES, .dfd = ARG(0), .path = ARG(1), .open_flags = ARG(3))
FILE_CALL(futimesat, .op = INTACT_FILE_UTIMES, .dfd = ARG(0), .path = ARG(1))
FILE_CALL(setxattr, .op = INTACT_FILE_SETXATTR, .path = ARG(0), .xattr = ARG(1))
FILE_CALL(lsetxattr, .op = INTACT_FILE_SETXATTR, .path = ARG(0), .xattr = ARG(1))
FILE_CALL(fsetxattr, .op = INTACT_FILE_SETXATTR, .fd = ARG(0), .xattr = ARG(1))
FILE_CALL(removexattr, .op = INTACT_FILE_REMOVEXATTR, .path = ARG(0), .xattr = ARG(1))
FILE_CALL(lremovexattr, .op = INTACT_FILE_REMOVEXATTR, .path = ARG(0), .xattr = ARG(1))
FILE_CALL(fremovexattr, .op = INTACT_FILE_REMOVEXATTR, .fd = ARG(0), .xattr = ARG(1))

/* Optional: not every kernel has these; intactd skips the ones tracefs lacks. */
FILE_CALL(fchmodat2, .op = INTACT_FILE_CHMOD, .dfd = ARG(0), .path = ARG(1), .mode = ARG(2),
	  .open_flags = ARG(3))
FILE_CALL(setxattrat, .op = INTACT_FILE_SETXATTR, .dfd = ARG(0), .path = ARG(1),
	  .open_flags = ARG(2), .xattr = ARG(3))
FILE_CALL(removexattrat, .op = INTACT_FILE_REMOVEXATTR, .dfd = ARG(0), .path = ARG(1),
	  .open_flags = ARG(2), .xattr = ARG(3))

/* openat2 keeps its flags in struct open_how, in user memory. */
SEC("tp/syscalls/sys_enter_openat2")
int file__enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending p = {.syscall = ctx->id,
				 .op = INTACT_FILE_OPEN,
				 .dfd = ARG(0),
				 .dfd2 = FILE_AT_FDCWD,
				 .fd = FILE_NO_FD,
				 .path = ARG(1)};
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (const void *)ARG(2));
	p.open_flags = how.flags;
	p.mode = how.mode;
	return file_enter(&p);
}

SEC("tp/syscalls/sys_exit_openat2")
int file__exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return file_exit_tail(ctx);
}

/*
 * io_uring runs file operations without their syscalls. At submission the
 * request is prepared: its arguments are in the kernel's copy, so they are
 * read from there. The result is not known yet (INTACT_FILE_IO_URING).
 */
static __always_inline __u64 io_name(struct filename *name)
{
	return (__u64)BPF_CORE_READ(name, name);
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(file__io_uring_submit_req, struct io_kiocb *req)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file_pending p = {.dfd = FILE_AT_FDCWD,
				 .dfd2 = FILE_AT_FDCWD,
				 .fd = FILE_NO_FD,
				 .flags = INTACT_FILE_IO_URING};
	void *cmd = req;
	__u8 opcode = BPF_CORE_READ(req, opcode);

	p.syscall = opcode;
	switch (opcode) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2: {
		struct io_open *op = cmd;

		p.op = INTACT_FILE_OPEN;
		p.dfd = BPF_CORE_READ(op, dfd);
		p.path = io_name(BPF_CORE_READ(op, filename));
		p.open_flags = BPF_CORE_READ(op, how.flags);
		p.mode = BPF_CORE_READ(op, how.mode);
		break;
	}
	case IORING_OP_RENAMEAT: {
		struct io_rename *op = cmd;

		p.op = INTACT_FILE_RENAME;
		p.dfd = BPF_CORE_READ(op, old_dfd);
		p.dfd2 = BPF_CORE_READ(op, new_dfd);
		p.path = io_name(BPF_CORE_READ(op, oldpath));
		p.path2 = io_name(BPF_CORE_READ(op, newpath));
		break;
	}
	case IORING_OP_UNLINKAT: {
		struct io_unlink *op = cmd;

		p.open_flags = BPF_CORE_READ(op, flags);
		p.op = (p.open_flags & FILE_AT_REMOVEDIR) ? INTACT_FILE_RMDIR : INTACT_FILE_UNLINK;
		p.dfd = BPF_CORE_READ(op, dfd);
		p.path = io_name(BPF_CORE_READ(op, filename));
		break;
	}
	case IORING_OP_MKDIRAT: {
		struct io_mkdir *op = cmd;

		p.op = INTACT_FILE_MKDIR;
		p.dfd = BPF_CORE_READ(op, dfd);
		p.mode = BPF_CORE_READ(op, mode);
		p.path = io_name(BPF_CORE_READ(op, filename));
		break;
	}
	case IORING_OP_SYMLINKAT: {
		struct io_link *op = cmd;

		p.op = INTACT_FILE_SYMLINK;
		p.content = io_name(BPF_CORE_READ(op, oldpath));
		p.dfd = BPF_CORE_READ(op, new_dfd);
		p.path = io_name(BPF_CORE_READ(op, newpath));
		break;
	}
	case IORING_OP_LINKAT: {
		struct io_link *op = cmd;

		p.op = INTACT_FILE_LINK;
		p.dfd = BPF_CORE_READ(op, old_dfd);
		p.dfd2 = BPF_CORE_READ(op, new_dfd);
		p.path = io_name(BPF_CORE_READ(op, oldpath));
		p.path2 = io_name(BPF_CORE_READ(op, newpath));
		break;
	}
	case IORING_OP_SETXATTR: {
		struct io_xattr *op = cmd;

		p.op = INTACT_FILE_SETXATTR;
		p.path = io_name(BPF_CORE_READ(op, filename));
		break;
	}
	case IORING_OP_FSETXATTR:
		p.op = INTACT_FILE_SETXATTR;
		p.fd = BPF_CORE_READ(req, cqe.fd);
		break;
	case IORING_OP_FTRUNCATE:
		p.op = INTACT_FILE_TRUNCATE;
		p.fd = BPF_CORE_READ(req, cqe.fd);
		break;
	default:
		return 0;
	}

	counter_add(INTACT_COUNTER_FILE_SEEN);
	if ((p.op == INTACT_FILE_OPEN && !(p.open_flags & FILE_WRITE_INTENT)) ||
	    (!task_is_watched(task) && !layer_watch)) {
		counter_add(INTACT_COUNTER_FILE_FILTERED);
		return 0;
	}
	if (!task_is_watched(task))
		p.flags |= INTACT_FILE_LAYER_CHECK;
	file_record_send(task, &p, 0);
	return 0;
}
