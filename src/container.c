// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "log.h"

#define CONTAINERS_MAX 65536
#define CONTAINERD_TASK_ROOT "/run/containerd/io.containerd.runtime.v2.task"
#define CRIO_CONTAINERS_ROOT "/run/containers/storage/overlay-containers"
#define DOCKER_TASK_ROOT "/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby"

static void container_free(void *value)
{
	struct container *c = value;

	if (c->root_fd >= 0)
		close(c->root_fd);
	free(c->mounts);
	free(c->rootfs_lowerdirs);
	free(c);
}

int container_cache_init(struct container_cache *cache, const char *cgroup_controller)
{
	memset(cache, 0, sizeof(*cache));
	snprintf(cache->proc_root, sizeof(cache->proc_root), "/proc");
	snprintf(cache->cgroup_controller, sizeof(cache->cgroup_controller), "%s",
		 cgroup_controller ? cgroup_controller : "");
	cache->overflow.root_fd = -1;
	return table_init(&cache->table, 4096, CONTAINERS_MAX, container_free);
}

void container_cache_free(struct container_cache *cache)
{
	table_free(&cache->table);
	free(cache->overflow.mounts);
	free(cache->overflow.rootfs_lowerdirs);
	if (cache->overflow.root_fd >= 0)
		close(cache->overflow.root_fd);
}

/*
 * Read the task's cgroup path from /proc/PID/cgroup: the "0::" line on cgroup
 * v2, the line naming the configured controller on v1.
 */
static int cgroup_path_from_proc(const struct container_cache *cache, uint32_t pid, char *buf,
				 size_t size)
{
	char name[300], line[4096];
	FILE *f;
	int r = -ENOENT;

	snprintf(name, sizeof(name), "%s/%u/cgroup", cache->proc_root, pid);
	f = fopen(name, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *controllers, *path;

		line[strcspn(line, "\n")] = '\0';
		controllers = strchr(line, ':');
		if (!controllers)
			continue;
		controllers++;
		path = strchr(controllers, ':');
		if (!path)
			continue;
		*path++ = '\0';
		if (cache->cgroup_controller[0] == '\0') {
			if (controllers[0] != '\0')
				continue;
		} else {
			/* v1 lines list controllers separated by commas: "cpu,cpuacct". */
			char *save = NULL, *tok;
			int match = 0;

			for (tok = strtok_r(controllers, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				if (strcmp(tok, cache->cgroup_controller) == 0)
					match = 1;
			if (!match)
				continue;
		}
		snprintf(buf, size, "%s", path);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static const char *path_leaf(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int bundle_try(const char *dir, struct container *c)
{
	char err[256];
	int r;

	r = bundle_load(dir, &c->bundle, err, sizeof(err));
	if (r == 0)
		c->has_bundle = true;
	else if (r != -ENOENT && r != -ENOTDIR)
		log_warning("failed to read bundle %s for container %s: %s", dir, c->identity.id,
			    err);
	return r;
}

/* containerd keeps one task directory per namespace; the id alone may not say which. */
static void bundle_find_containerd(struct container *c)
{
	char dir[1024];
	struct dirent *de;
	DIR *d;

	if (c->identity.ns[0]) {
		snprintf(dir, sizeof(dir), "%s/%s/%s", CONTAINERD_TASK_ROOT, c->identity.ns,
			 c->identity.id);
		if (bundle_try(dir, c) == 0)
			return;
	}
	d = opendir(CONTAINERD_TASK_ROOT);
	if (!d)
		return;
	while ((de = readdir(d)) && !c->has_bundle) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s/%s", CONTAINERD_TASK_ROOT, de->d_name,
			 c->identity.id);
		if (bundle_try(dir, c) == 0 && !c->identity.ns[0] &&
		    strlen(de->d_name) < sizeof(c->identity.ns))
			memcpy(c->identity.ns, de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
}

static void bundle_find(struct container *c)
{
	char dir[1024];

	switch (c->identity.runtime) {
	case RUNTIME_CONTAINERD:
		bundle_find_containerd(c);
		break;
	case RUNTIME_CRIO:
	case RUNTIME_PODMAN:
		snprintf(dir, sizeof(dir), "%s/%s/userdata", CRIO_CONTAINERS_ROOT, c->identity.id);
		(void)bundle_try(dir, c);
		break;
	case RUNTIME_DOCKER:
		snprintf(dir, sizeof(dir), "%s/%s", DOCKER_TASK_ROOT, c->identity.id);
		if (bundle_try(dir, c) != 0) {
			snprintf(dir, sizeof(dir), "%s/moby/%s", CONTAINERD_TASK_ROOT,
				 c->identity.id);
			(void)bundle_try(dir, c);
		}
		break;
	default:
		break;
	}
}

#define CONTAINER_MOUNTS_MAX 1024

/* Copy the upperdir= option of an overlay's super options into c. */
/* Keep the upperdir= and lowerdir= options of the root overlay's super options. */
static void rootfs_layers_read(struct container *c, char *options)
{
	char *opt, *save = NULL;

	for (opt = strtok_r(options, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (strncmp(opt, "upperdir=", 9) == 0 &&
		    strlen(opt + 9) < sizeof(c->rootfs_upperdir)) {
			memcpy(c->rootfs_upperdir, opt + 9, strlen(opt + 9) + 1);
		} else if (strncmp(opt, "lowerdir=", 9) == 0) {
			free(c->rootfs_lowerdirs);
			c->rootfs_lowerdirs = strdup(opt + 9);
		}
	}
}

/*
 * Read the container's mount table from /proc/PID/mountinfo: every mount's
 * id, mount point, type and read-only flag, and for the root overlay its
 * upper directory ("... - overlay overlay rw,lowerdir=...,upperdir=...").
 */
static int mounts_read(const struct container_cache *cache, struct container *c, uint32_t pid)
{
	struct container_mount *mounts;
	size_t count = 0, line_size = 0;
	char name[300], *line = NULL;
	FILE *f;

	snprintf(name, sizeof(name), "%s/%u/mountinfo", cache->proc_root, pid);
	f = fopen(name, "re");
	if (!f)
		return -errno;
	mounts = calloc(CONTAINER_MOUNTS_MAX, sizeof(*mounts));
	if (!mounts) {
		fclose(f);
		return -ENOMEM;
	}
	/* A root overlay of many layers makes a long line: getline reads it whole. */
	while (getline(&line, &line_size, f) > 0 && count < CONTAINER_MOUNTS_MAX) {
		struct container_mount *m = &mounts[count];
		char mount_point[512], options[256], *sep;
		char fs_type[32];

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%u %*u %*s %*s %511s %255s", &m->id, mount_point, options) != 3)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%31s", fs_type) != 1)
			continue;
		/* mountinfo escapes spaces and the like as octal; names here keep that form. */
		memcpy(m->path, mount_point, sizeof(m->path));
		memcpy(m->fs_type, fs_type, sizeof(m->fs_type));
		m->read_only = strncmp(options, "ro", 2) == 0 && (options[2] == ',' || !options[2]);
		if (strcmp(mount_point, "/") == 0) {
			char *super = strchr(sep + 3, ' ');

			c->rootfs_mnt_id = m->id;
			super = super ? strchr(super + 1, ' ') : NULL;
			if (super && strcmp(fs_type, "overlay") == 0)
				rootfs_layers_read(c, super + 1);
		}
		count++;
	}
	free(line);
	fclose(f);
	free(c->mounts);
	c->mounts = mounts;
	c->mount_count = count;
	return 0;
}

bool container_upper_has_file(const struct container *c, const char *path)
{
	char upper[8192];
	struct stat st;
	int n;

	if (!c->rootfs_upperdir[0] || path[0] != '/')
		return false;
	n = snprintf(upper, sizeof(upper), "%s%s", c->rootfs_upperdir, path);
	if (n < 0 || (size_t)n >= sizeof(upper))
		return false;
	/* A whiteout (a 0/0 character device) marks a deleted file, not a present one. */
	return lstat(upper, &st) == 0 && S_ISREG(st.st_mode);
}

const struct container_mount *container_mount_find(struct container_cache *cache,
						   struct container *c, unsigned int mnt_id)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->mount_count; i++)
			if (c->mounts[i].id == mnt_id)
				return &c->mounts[i];
		if (pass == 0 && (c->last_pid == 0 || mounts_read(cache, c, c->last_pid) < 0))
			break;
	}
	return NULL;
}

/*
 * Open the container's root through a process of it. A runtime's own
 * process (runc init) works in the container's namespaces before it
 * changes root: its root is still the host's, which is refused.
 */
int container_root_open(struct container_cache *cache, struct container *c, uint32_t pid)
{
	struct stat st, host;
	char name[300];
	int fd;

	if (c->root_fd >= 0)
		return 0;
	snprintf(name, sizeof(name), "%s/%u/root", cache->proc_root, pid);
	fd = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || stat("/", &host) < 0 ||
	    (st.st_dev == host.st_dev && st.st_ino == host.st_ino)) {
		close(fd);
		return -EAGAIN;
	}
	c->root_fd = fd;
	c->last_pid = pid;
	(void)mounts_read(cache, c, pid);
	return 0;
}

static void container_resolve(struct container_cache *cache, struct container *c, uint32_t pid,
			      const char *cgroup_name, const char *cgroup_parent)
{
	int r;

	/* The /proc path is only trusted when its leaf is the cgroup the kernel named. */
	r = cgroup_path_from_proc(cache, pid, c->cgroup_path, sizeof(c->cgroup_path));
	if (r < 0 || strcmp(path_leaf(c->cgroup_path), cgroup_name) != 0) {
		snprintf(c->cgroup_path, sizeof(c->cgroup_path), "/%s%s%s", cgroup_parent,
			 cgroup_parent[0] ? "/" : "", cgroup_name);
		c->cgroup_path_partial = true;
	}
	r = cgroup_path_parse(c->cgroup_path, strlen(c->cgroup_path), &c->identity);
	c->is_container = r > 0;
	if (c->is_container)
		bundle_find(c);
	else
		log_debug("cgroup %s (id %llu) is not a known container layout", c->cgroup_path,
			  (unsigned long long)c->cgroup_id);
}

struct container *container_lookup(struct container_cache *cache, uint64_t cgroup_id, uint32_t pid,
				   const char *cgroup_name, const char *cgroup_parent)
{
	struct container *c;
	int r;

	c = table_get(&cache->table, cgroup_id);
	if (c) {
		/* A live process of the cgroup, to reread its mounts when one is new. */
		c->last_pid = pid;
		return c;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cgroup_id = cgroup_id;
	c->root_fd = -1;
	c->last_pid = pid;
	container_resolve(cache, c, pid, cgroup_name, cgroup_parent);
	r = table_put(&cache->table, cgroup_id, c);
	if (r < 0) {
		/* Full: the caller still gets a result, which is not kept. */
		log_debug("container cache full (%zu entries), not caching cgroup %llu",
			  cache->table.count, (unsigned long long)cgroup_id);
		cache->uncached++;
		free(cache->overflow.mounts);
		free(cache->overflow.rootfs_lowerdirs);
		if (cache->overflow.root_fd >= 0)
			close(cache->overflow.root_fd);
		cache->overflow = *c;
		free(c);
		return &cache->overflow;
	}
	return c;
}

void container_forget(struct container_cache *cache, uint64_t cgroup_id)
{
	table_remove(&cache->table, cgroup_id);
}
