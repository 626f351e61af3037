/* SPDX-License-Identifier: Apache-2.0 */
/* Loading and attaching the BPF programs, and what the kernel offers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct intact_bpf;

struct probe_options {
	bool watch_host;
	uint32_t ringbuf_bytes; /* a power of two, at least one page */
};

struct probe_host {
	uint32_t host_mntns_inum;
	int cgroup_v1_subsys; /* -1 when cgroup v2 ids are used */
	char cgroup_v1_controller[32];
	/* Where the cgroup v2 hierarchy is mounted; "" on a v1-only host. */
	char cgroup_v2_mount[64];
};

/* Mount tracefs and bpffs where they are absent, check BTF, read the host's namespaces. */
int probe_host_prepare(struct probe_host *ret);

/* Open, configure, load and attach. Logs the cause of any failure. */
int probe_load(const struct probe_options *opts, const struct probe_host *host,
	       struct intact_bpf **ret_skel);

void probe_unload(struct intact_bpf *skel);

struct config;

/*
 * Tell the kernel which container writes no policy of cfg can flag, so that
 * it drops them: paths writable in every policy, and other mounts when no
 * policy watches one. Call again after a reload.
 */
int probe_policy_set(struct intact_bpf *skel, const struct config *cfg);

/* Sum a per-CPU counter (enum intact_counter) over all CPUs. */
uint64_t probe_counter_read(struct intact_bpf *skel, unsigned int counter);
