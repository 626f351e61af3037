/* SPDX-License-Identifier: Apache-2.0 */
/* Container metadata from an OCI runtime bundle (config.json). */
#pragma once

#include <stddef.h>

struct bundle_meta {
	char pod_name[254];
	char pod_namespace[254];
	char pod_uid[64];
	char container_name[254];
	char image[512];
	char sandbox_id[65];
	char cgroups_path[512];
};

/* The largest config.json the parser accepts, in bytes. */
#define BUNDLE_CONFIG_MAX (4 * 1024 * 1024)

/*
 * Parse an OCI runtime config.json held in memory. Reads the Kubernetes
 * identity from the CRI annotations (io.kubernetes.pod.name and the
 * io.kubernetes.cri.* forms), the image name where the runtime records it
 * (io.kubernetes.cri.image-name, org.opencontainers.image.ref.name,
 * io.containerd.image.name) and linux.cgroupsPath. Missing keys leave
 * fields empty. Returns 0, -EINVAL with a message in err for a document an
 * OCI runtime would reject, or -EFBIG when len exceeds BUNDLE_CONFIG_MAX.
 * On 0, err may hold a warning: a name too long for its field is
 * truncated, and a too-long identifier or cgroups path is left empty.
 * err may be NULL.
 */
int bundle_parse(const char *json, size_t len, struct bundle_meta *ret, char *err, size_t err_size);

/*
 * Read and parse DIR/config.json, bounded by BUNDLE_CONFIG_MAX. Returns
 * what bundle_parse returns, or -ENOENT and other open(2) errors, -ELOOP
 * when config.json is a symbolic link, -EINVAL when it is not a regular
 * file, -EFBIG when it is too large. err names the file.
 */
int bundle_load(const char *dir, struct bundle_meta *ret, char *err, size_t err_size);
