/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container identity by cgroup id: the cgroup path, the runtime's id and the
 * Kubernetes names from the runtime's bundle. Filled once per cgroup on the
 * first record from it, dropped when the kernel removes the cgroup.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"
#include "cgroup_path.h"
#include "table.h"

struct container {
	uint64_t cgroup_id;
	char cgroup_path[1024];
	bool cgroup_path_partial; /* only "/parent/leaf" from the kernel was known */
	bool is_container;	  /* the cgroup path names a container */
	struct cgroup_identity identity;
	bool has_bundle;
	struct bundle_meta bundle;
	/* The root overlay's writable layer on the host, "" when unknown or not overlayfs. */
	char rootfs_upperdir[1024];
	/* Its read-only layers, as in mountinfo: top-most first, separated by ':'; NULL if unknown.
	 */
	char *rootfs_lowerdirs;
	/* The container's root directory, held open to resolve names inside it; -1 if unknown. */
	int root_fd;
	unsigned int rootfs_mnt_id;
	struct container_mount *mounts;
	size_t mount_count;
	uint32_t last_pid;     /* a process of the container, to reread its mounts */
	bool verify_requested; /* its image verdict is asked for or known */
	int verdict;	       /* enum verdict_outcome of the last verdict */
};

struct container_mount {
	unsigned int id;
	bool read_only;
	char fs_type[32];
	char path[512]; /* mount point, as seen from the container's root */
};

struct container_cache {
	struct table table;
	char proc_root[256];	    /* "/proc", or the host's /proc mounted elsewhere */
	char cgroup_controller[32]; /* "" for cgroup v2, else the v1 controller name */
	unsigned long uncached;	    /* lookups served while the cache was full */
	struct container overflow;  /* the result of such a lookup */
};

int container_cache_init(struct container_cache *cache, const char *cgroup_controller);
void container_cache_free(struct container_cache *cache);

/*
 * Return the container of a cgroup, resolving it on first use from the
 * process's /proc/PID/cgroup, or, once the process is gone, from the cgroup
 * names the kernel recorded. NULL only when memory runs out.
 */
struct container *container_lookup(struct container_cache *cache, uint64_t cgroup_id, uint32_t pid,
				   const char *cgroup_name, const char *cgroup_parent);

/*
 * Open the container's root directory and read its mounts through process
 * pid, once; -EAGAIN when pid's root is still the host's.
 */
int container_root_open(struct container_cache *cache, struct container *c, uint32_t pid);

/*
 * Whether path (absolute, inside the container) names a regular file on the
 * root overlay's upper layer, that is a file written since the container
 * started. The name is looked up in the upper directory as it is, without
 * following symlinks in it.
 */
bool container_upper_has_file(const struct container *c, const char *path);

/* The container's mount with this id, rereading its mount table once when it is not known. */
const struct container_mount *container_mount_find(struct container_cache *cache,
						   struct container *c, unsigned int mnt_id);

void container_forget(struct container_cache *cache, uint64_t cgroup_id);
