/* SPDX-License-Identifier: Apache-2.0 */
/* Container identity from a cgroup path, for every common runtime layout. */
#pragma once

#include <stddef.h>

enum container_runtime {
	RUNTIME_UNKNOWN = 0,
	RUNTIME_CONTAINERD,
	RUNTIME_CRIO,
	RUNTIME_DOCKER,
	RUNTIME_PODMAN,
};

#define CONTAINER_ID_MAX 64

struct cgroup_identity {
	enum container_runtime runtime;
	/* Full 64-hex-digit id, or the name containerd was given ("/k8s.io/c1"). */
	char id[CONTAINER_ID_MAX + 1];
	/* containerd namespace when the path names one ("k8s.io", "default"), else "". */
	char ns[64];
	/* Kubernetes pod uid from a kubepods path component, else "". */
	char pod_uid[40];
};

/*
 * Parse one cgroup path, as it appears in /proc/PID/cgroup or under a
 * cgroupfs mount ("/kubepods.slice/.../cri-containerd-<id>.scope"), or an
 * OCI cgroupsPath in systemd form ("system.slice:docker:<id>"). len bytes
 * are read and path need not be NUL-terminated. Returns 1 and fills *ret
 * when the path is a container's, 0 when it is a host cgroup or a runtime
 * monitor (conmon), -EINVAL on malformed input. Malformed means empty,
 * longer than 4096 bytes, containing a NUL, with an empty, "." or ".."
 * component, or naming a runtime's scope with an id that is not 64 hex
 * digits. *ret is zeroed unless 1 is returned.
 */
int cgroup_path_parse(const char *path, size_t len, struct cgroup_identity *ret);

const char *container_runtime_name(enum container_runtime runtime);
