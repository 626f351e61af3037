/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The benchmark's floor: the tracepoints intactd attaches to, each with a
 * program that only adds one to a per-CPU counter. A tracepoint-based
 * monitor cannot cost less than this. Keep the list in step with
 * bpf/file.bpf.h and bpf/exec.bpf.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int hit_count(void)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&hits, &key);

	if (value)
		*value += 1;
	return 0;
}

#define FLOOR_SYSCALL(name)                                                                        \
	SEC("tp/syscalls/sys_enter_" #name)                                                        \
	int floor__enter_##name(void *ctx)                                                         \
	{                                                                                          \
		return hit_count();                                                                \
	}                                                                                          \
	SEC("tp/syscalls/sys_exit_" #name)                                                         \
	int floor__exit_##name(void *ctx)                                                          \
	{                                                                                          \
		return hit_count();                                                                \
	}

FLOOR_SYSCALL(open)
FLOOR_SYSCALL(openat)
FLOOR_SYSCALL(openat2)
FLOOR_SYSCALL(creat)
FLOOR_SYSCALL(truncate)
FLOOR_SYSCALL(ftruncate)
FLOOR_SYSCALL(rename)
FLOOR_SYSCALL(renameat)
FLOOR_SYSCALL(renameat2)
FLOOR_SYSCALL(unlink)
FLOOR_SYSCALL(unlinkat)
FLOOR_SYSCALL(rmdir)
FLOOR_SYSCALL(mkdir)
FLOOR_SYSCALL(mkdirat)
FLOOR_SYSCALL(link)
FLOOR_SYSCALL(linkat)
FLOOR_SYSCALL(symlink)
FLOOR_SYSCALL(symlinkat)
FLOOR_SYSCALL(mknod)
FLOOR_SYSCALL(mknodat)
FLOOR_SYSCALL(chmod)
FLOOR_SYSCALL(fchmod)
FLOOR_SYSCALL(fchmodat)
FLOOR_SYSCALL(chown)
FLOOR_SYSCALL(lchown)
FLOOR_SYSCALL(fchown)
FLOOR_SYSCALL(fchownat)
FLOOR_SYSCALL(utime)
FLOOR_SYSCALL(utimes)
FLOOR_SYSCALL(utimensat)
FLOOR_SYSCALL(futimesat)
FLOOR_SYSCALL(setxattr)
FLOOR_SYSCALL(lsetxattr)
FLOOR_SYSCALL(fsetxattr)
FLOOR_SYSCALL(removexattr)
FLOOR_SYSCALL(lremovexattr)
FLOOR_SYSCALL(fremovexattr)
/* Optional, as in intactd: floor.c skips those that tracefs lacks. */
FLOOR_SYSCALL(fchmodat2)
FLOOR_SYSCALL(setxattrat)
FLOOR_SYSCALL(removexattrat)

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor__sched_process_exec)
{
	return hit_count();
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor__sched_process_exit)
{
	return hit_count();
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(floor__cgroup_rmdir)
{
	return hit_count();
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(floor__io_uring_submit_req)
{
	return hit_count();
}
