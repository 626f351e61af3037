/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exec monitoring: one record per exec in a watched task, taken at
 * sched_process_exec, once the kernel has loaded the file and copied argv
 * to the new stack, so nothing is read from the caller's memory.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lib/compat.h"
#include "lib/maps.h"
#include "lib/path.h"
#include "lib/record.h"
#include "lib/task.h"

#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define MNT_READONLY_FLAG 0x40
#define SB_RDONLY_FLAG 0x1

/* Where the loaded file lives: upper layer, writable mount, no name at all. */
static __always_inline __u32 exec_file_flags(struct file *file, const struct path *root,
					     struct intact_exec *e)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	struct mount *mnt = compat_real_mount(vfsmnt);
	__u32 flags = 0;

	e->exe_ino = BPF_CORE_READ(inode, i_ino);
	e->exe_dev = BPF_CORE_READ(sb, s_dev);
	e->exe_mnt_id = BPF_CORE_READ(mnt, mnt_id);
	e->exe_nlink = BPF_CORE_READ(inode, __i_nlink);
	e->exe_fs_magic = BPF_CORE_READ(sb, s_magic);

	if (e->exe_nlink == 0)
		flags |= INTACT_EXE_FILELESS;
	if (e->exe_fs_magic == OVERLAYFS_SUPER_MAGIC) {
		flags |= INTACT_EXE_OVERLAY;
		if (compat_ovl_inode_has_upper(inode))
			flags |= INTACT_EXE_UPPER_LAYER;
	}
	if (vfsmnt == BPF_CORE_READ(root, mnt)) {
		flags |= INTACT_EXE_ROOT_MOUNT;
	} else if (!(BPF_CORE_READ(vfsmnt, mnt_flags) & MNT_READONLY_FLAG) &&
		   !(BPF_CORE_READ(sb, s_flags) & SB_RDONLY_FLAG)) {
		flags |= INTACT_EXE_WRITABLE_MOUNT;
	}
	return flags;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec__sched_process_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct task_struct *parent;
	struct fs_struct *parent_fs;
	struct intact_exec *e;
	struct mm_struct *mm;
	struct file *file;
	struct record r;
	const char *filename, *interp;
	unsigned long arg_start, arg_end;
	__u32 tgid;

	counter_add(INTACT_COUNTER_EXEC_SEEN);
	if (!task_is_watched(task)) {
		counter_add(INTACT_COUNTER_EXEC_FILTERED);
		return 0;
	}
	e = record_start(&r, INTACT_RECORD_EXEC, sizeof(*e));
	if (!e)
		return 0;

	tgid = BPF_CORE_READ(task, tgid);
	bpf_map_update_elem(&exec_times, &tgid, &e->header.boot_ns, BPF_ANY);
	task_fill(&e->task, task);
	e->argc = BPF_CORE_READ(bprm, argc);
	file = BPF_CORE_READ(bprm, file);
	e->exe_flags = exec_file_flags(file, &task->fs->root, e);
	filename = BPF_CORE_READ(bprm, filename);
	interp = BPF_CORE_READ(bprm, interp);
	if (interp != filename)
		e->exe_flags |= INTACT_EXE_SCRIPT;

	/* The fixed part is complete; strings follow, shortest bounds first. */
	record_append_path(&r, &e->exe, &file->f_path, &task->fs->root);
	record_append_kstr(&r, &e->filename, filename, INTACT_FILENAME_MAX);
	if (e->exe_flags & INTACT_EXE_SCRIPT)
		record_append_kstr(&r, &e->interp, interp, INTACT_FILENAME_MAX);
	else
		record_append_bytes(&r, &e->interp, "", 0, 0);

	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	record_append_user(&r, &e->args, (const void *)arg_start,
			   arg_end > arg_start ? arg_end - arg_start : 0, INTACT_ARGS_MAX);

	record_append_path(&r, &e->cwd, &task->fs->pwd, &task->fs->root);

	parent = BPF_CORE_READ(task, real_parent);
	file = BPF_CORE_READ(parent, mm, exe_file);
	parent_fs = BPF_CORE_READ(parent, fs);
	if (file && parent_fs)
		record_append_path(&r, &e->parent_exe, &file->f_path, &parent_fs->root);
	else
		record_append_bytes(&r, &e->parent_exe, "", 0, INTACT_STR_READ_ERROR);

	record_append_cgroup(&r, &e->cgroup_name, &e->cgroup_parent, task);

	record_submit(&r);
	counter_add(INTACT_COUNTER_EXEC_SENT);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exec__sched_process_exit, struct task_struct *task)
{
	struct intact_exit *e;
	struct record r;
	__u32 tgid;

	/* One record per process: the thread group leader's. */
	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0;
	if (!task_is_watched(task))
		return 0;
	e = record_start(&r, INTACT_RECORD_EXIT, sizeof(*e));
	if (e) {
		task_fill(&e->task, task);
		e->exit_code = BPF_CORE_READ(task, exit_code);
		record_submit(&r);
	}
	tgid = BPF_CORE_READ(task, tgid);
	bpf_map_delete_elem(&exec_times, &tgid);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(exec__cgroup_rmdir, struct cgroup *cgroup, const char *path)
{
	struct intact_cgroup_rmdir *e;
	struct record r;

	e = record_start(&r, INTACT_RECORD_CGROUP_RMDIR, sizeof(*e));
	if (!e)
		return 0;
	e->cgroup_id = BPF_CORE_READ(cgroup, kn, id);
	record_submit(&r);
	return 0;
}
