/* SPDX-License-Identifier: GPL-2.0-only */
/* The task part of every record, and whether a task is watched at all. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "compat.h"
#include "maps.h"
#include "record.h"

static __always_inline __u32 task_mntns_inum(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

/*
 * A task is in a container when its mount namespace is not the host's:
 * every runtime gives a container its own, even with hostPID.
 */
static __always_inline bool task_is_watched(struct task_struct *task)
{
	if (watch_host)
		return true;
	return task_mntns_inum(task) != host_mntns_inum;
}

static __always_inline struct cgroup *task_cgroup(struct task_struct *task)
{
	__s32 subsys = cgroup_v1_subsys;

	if (subsys >= 0 && subsys < 12)
		return BPF_CORE_READ(task, cgroups, subsys[subsys], cgroup);
	return BPF_CORE_READ(task, cgroups, dfl_cgrp);
}

static __always_inline __u32 task_ns_pid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid;

	if (bpf_core_read(&upid, sizeof(upid), &pid->numbers[level & 31]))
		return 0;
	return upid.nr;
}

static __always_inline __u64 task_exec_time(__u32 tgid, __u64 start_boot_ns)
{
	__u64 *exec_ns = bpf_map_lookup_elem(&exec_times, &tgid);

	return exec_ns && *exec_ns >= start_boot_ns ? *exec_ns : start_boot_ns;
}

/* Fill t in field order; the caller has already decided the task is watched. */
static __always_inline void task_fill(struct intact_task *t, struct task_struct *task)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	const struct cred *cred = BPF_CORE_READ(task, cred);
	struct cgroup *cgroup = task_cgroup(task);

	t->pid = BPF_CORE_READ(task, tgid);
	t->tid = BPF_CORE_READ(task, pid);
	t->ppid = BPF_CORE_READ(parent, tgid);
	t->ns_pid = task_ns_pid(task);
	t->uid = BPF_CORE_READ(cred, uid.val);
	t->gid = BPF_CORE_READ(cred, gid.val);
	t->euid = BPF_CORE_READ(cred, euid.val);
	t->egid = BPF_CORE_READ(cred, egid.val);
	t->start_boot_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	t->parent_start_boot_ns = BPF_CORE_READ(parent, group_leader, start_boottime);
	t->exec_boot_ns = task_exec_time(t->pid, t->start_boot_ns);
	t->parent_exec_boot_ns = task_exec_time(t->ppid, t->parent_start_boot_ns);
	t->cgroup_id = BPF_CORE_READ(cgroup, kn, id);
	t->mntns_inum = task_mntns_inum(task);
	BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
}

/*
 * Append the names of the task's cgroup and of its parent: with them user
 * space knows the container even when the task is gone before it looks.
 */
static __always_inline void record_append_cgroup(struct record *r, struct intact_str *name,
						 struct intact_str *parent,
						 struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task_cgroup(task), kn);

	record_append_kstr(r, name, BPF_CORE_READ(kn, name), INTACT_CGROUP_NAME_MAX);
	kn = compat_kernfs_parent(kn);
	if (kn)
		record_append_kstr(r, parent, BPF_CORE_READ(kn, name), INTACT_CGROUP_NAME_MAX);
	else
		record_append_bytes(r, parent, "", 0, 0);
}
