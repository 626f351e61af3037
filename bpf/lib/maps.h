/* SPDX-License-Identifier: GPL-2.0-only */
/* Maps and load-time settings shared by every program. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "intact/events.h"

/* Set by intactd before load. */
const volatile bool watch_host = false;
const volatile __u32 host_mntns_inum = 0;
/* -1: use the cgroup v2 id; otherwise the index of the cgroup v1 controller to read. */
const volatile __s32 cgroup_v1_subsys = -1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by intactd before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, INTACT_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* A record is assembled here, then copied to the ring buffer at its real size. */
struct record_scratch {
	__u8 data[INTACT_RECORD_MAX + INTACT_PATH_MAX];
};

/*
 * Per-CPU arrays cap values at 32 KiB, so this is a plain array with one
 * entry per possible CPU (intactd sets max_entries), indexed by CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct record_scratch);
} record_scratch SEC(".maps");

/* Paths are built backwards, from the file up to the root, in here. */
struct path_scratch {
	__u8 data[2 * INTACT_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

/*
 * When each watched process last executed, by host tgid, so that an exec
 * names its parent's exec and process trees join without pid-reuse mistakes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} exec_times SEC(".maps");

/* Lower layer directories: a host task's write inside one is reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct intact_layer_key);
	__type(value, __u32);
} layer_dirs SEC(".maps");

/* Set by intactd once layer_dirs has entries, so host writes cost nothing before. */
volatile __u32 layer_watch = 0;

/* Writable paths common to every policy; writable_count of them are set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INTACT_WRITABLE_PATHS_MAX);
	__type(key, __u32);
	__type(value, struct intact_writable_path);
} writable_paths SEC(".maps");

volatile __u32 writable_count = 0;
/* Set when some policy watches a mount other than the root filesystem. */
volatile __u32 mounts_watched = 0;

static __always_inline void counter_add(enum intact_counter counter)
{
	__u32 key = counter;
	__u64 *value;

	value = bpf_map_lookup_elem(&counters, &key);
	if (value)
		*value += 1;
}
