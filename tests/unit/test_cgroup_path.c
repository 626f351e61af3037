// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>

#include "cgroup_path.h"
#include "test.h"

#define ID "4d5c3b2a1f0e9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "6f1c2b7e-4a3d-4c5b-9e8f-0a1b2c3d4e5f"
/* The same uid as systemd slice names spell it. */
#define UID_SLICE "6f1c2b7e_4a3d_4c5b_9e8f_0a1b2c3d4e5f"
/* Static pods take their uid from a hash of the manifest: 32 hex digits. */
#define STATIC_UID "1dbb4b6b2bd4cdb4b5a4f1d3d9a3c7e2"

enum {
	CONTAINERD = RUNTIME_CONTAINERD,
	CRIO = RUNTIME_CRIO,
	DOCKER = RUNTIME_DOCKER,
	PODMAN = RUNTIME_PODMAN,
	NONE = RUNTIME_UNKNOWN
};

struct path_case {
	const char *path;
	int r;
	int runtime;
	const char *id;
	const char *ns;
	const char *pod_uid;
};

static void check_case(const struct path_case *c, size_t len)
{
	struct cgroup_identity identity;
	int r;

	memset(&identity, 0xa5, sizeof(identity));
	r = cgroup_path_parse(c->path, len, &identity);
	if (r != c->r)
		fprintf(stderr, "  path \"%s\"\n", c->path);
	CHECK_INT_EQ(r, c->r);
	CHECK_INT_EQ(identity.runtime, c->runtime);
	CHECK_STR_EQ(identity.id, c->id ? c->id : "");
	CHECK_STR_EQ(identity.ns, c->ns ? c->ns : "");
	CHECK_STR_EQ(identity.pod_uid, c->pod_uid ? c->pod_uid : "");
}

static void check_table(const struct path_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++)
		check_case(&cases[i], strlen(cases[i].path));
}

TEST(containerd_cgroupfs_namespace)
{
	static const struct path_case cases[] = {
	    /* Measured with ctr run on containerd 1.6: 0::/k8s.io/c1 */
	    {"/k8s.io/c1", 1, CONTAINERD, "c1", "k8s.io", NULL},
	    {"/default/" ID, 1, CONTAINERD, ID, "default", NULL},
	    {"/default/redis-1", 1, CONTAINERD, "redis-1", "default", NULL},
	    {"/moby/web_2", 1, CONTAINERD, "web_2", "moby", NULL},
	    {"/buildkit/x.y-z", 1, CONTAINERD, "x.y-z", "buildkit", NULL},
	    /* A cgroup the container made inside its own. */
	    {"/k8s.io/c1/init", 1, CONTAINERD, "c1", "k8s.io", NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(nerdctl_systemd_driver)
{
	static const struct path_case cases[] = {
	    {"/system.slice/nerdctl-" ID ".scope", 1, CONTAINERD, ID, NULL, NULL},
	    {"/user.slice/user-1000.slice/user@1000.service/user.slice/nerdctl-" ID ".scope", 1,
	     CONTAINERD, ID, NULL, NULL},
	    {"/system.slice/nerdctl-c1.scope", -EINVAL, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(containerd_cri_systemd_driver)
{
	static const struct path_case cases[] = {
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SLICE
	     ".slice/cri-containerd-" ID ".scope",
	     1, CONTAINERD, ID, NULL, UID},
	    {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_SLICE
	     ".slice/cri-containerd-" ID ".scope",
	     1, CONTAINERD, ID, NULL, UID},
	    /* Guaranteed pods sit directly under kubepods.slice. */
	    {"/kubepods.slice/kubepods-pod" UID_SLICE ".slice/cri-containerd-" ID ".scope", 1,
	     CONTAINERD, ID, NULL, UID},
	    /* kind and k3d nodes run the kubelet with --cgroup-root=/kubelet. */
	    {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	     "kubelet-kubepods-besteffort-pod" UID_SLICE ".slice/cri-containerd-" ID ".scope",
	     1, CONTAINERD, ID, NULL, UID},
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID
	     ".slice/cri-containerd-" ID ".scope",
	     1, CONTAINERD, ID, NULL, STATIC_UID},
	    /* An uppercase uid is no Kubernetes uid: the container is still found. */
	    {"/kubepods.slice/kubepods-pod6F1C.slice/cri-containerd-" ID ".scope", 1, CONTAINERD,
	     ID, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(containerd_cri_cgroupfs_driver)
{
	static const struct path_case cases[] = {
	    {"/kubepods/burstable/pod" UID "/" ID, 1, CONTAINERD, ID, NULL, UID},
	    {"/kubepods/besteffort/pod" UID "/" ID, 1, CONTAINERD, ID, NULL, UID},
	    {"/kubepods/pod" UID "/" ID, 1, CONTAINERD, ID, NULL, UID},
	    {"/kubepods/pod" STATIC_UID "/" ID, 1, CONTAINERD, ID, NULL, STATIC_UID},
	    {"/kubelet/kubepods/burstable/pod" UID "/" ID, 1, CONTAINERD, ID, NULL, UID},
	    /* Rebuilt from the parent and leaf cgroup names alone. */
	    {"/pod" UID "/" ID, 1, CONTAINERD, ID, NULL, UID},
	    {"/pod" STATIC_UID "/" ID, 1, CONTAINERD, ID, NULL, STATIC_UID},
	    {"/kubepods-besteffort-pod" UID_SLICE ".slice/cri-containerd-" ID ".scope", 1,
	     CONTAINERD, ID, NULL, UID},
	    /* Not a uid, so the generic containerd layout applies. */
	    {"/pod1/" ID, 1, CONTAINERD, ID, "pod1", NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(kubernetes_pod_level_not_container)
{
	static const struct path_case cases[] = {
	    {"/kubepods.slice", 0, NONE, NULL, NULL, NULL},
	    {"/kubepods.slice/kubepods-burstable.slice", 0, NONE, NULL, NULL, NULL},
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SLICE ".slice",
	     0, NONE, NULL, NULL, NULL},
	    {"/kubepods", 0, NONE, NULL, NULL, NULL},
	    {"/kubepods/burstable", 0, NONE, NULL, NULL, NULL},
	    {"/kubepods/burstable/pod" UID, 0, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(systemd_cgroups_path_form)
{
	static const struct path_case cases[] = {
	    {"kubepods-besteffort-pod" UID_SLICE ".slice:cri-containerd:" ID, 1, CONTAINERD, ID,
	     NULL, UID},
	    {"kubepods-burstable-pod" UID_SLICE ".slice:crio:" ID, 1, CRIO, ID, NULL, UID},
	    {"kubepods-pod" UID_SLICE ".slice:cri-containerd:" ID, 1, CONTAINERD, ID, NULL, UID},
	    {"system.slice:docker:" ID, 1, DOCKER, ID, NULL, NULL},
	    {"system.slice:nerdctl:" ID, 1, CONTAINERD, ID, NULL, NULL},
	    {"user.slice:nerdctl:" ID, 1, CONTAINERD, ID, NULL, NULL},
	    {"machine.slice:libpod:" ID, 1, PODMAN, ID, NULL, NULL},
	    {"user.slice:libpod:" ID, 1, PODMAN, ID, NULL, NULL},
	    /* runc puts an empty parent under system.slice. */
	    {":docker:" ID, 1, DOCKER, ID, NULL, NULL},
	    {"system.slice:foo:bar", 0, NONE, NULL, NULL, NULL},
	    {"system.slice:docker:nothex", -EINVAL, NONE, NULL, NULL, NULL},
	    {"system.slice:docker:" ID "0", -EINVAL, NONE, NULL, NULL, NULL},
	    {"system.slice:docker", -EINVAL, NONE, NULL, NULL, NULL},
	    {"a:b:c:d", -EINVAL, NONE, NULL, NULL, NULL},
	    {"notaslice:docker:" ID, -EINVAL, NONE, NULL, NULL, NULL},
	    {"kubepods.slice/x.slice:crio:" ID, -EINVAL, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(crio_layouts)
{
	static const struct path_case cases[] = {
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SLICE
	     ".slice/crio-" ID ".scope",
	     1, CRIO, ID, NULL, UID},
	    {"/kubepods/besteffort/pod" UID "/crio-" ID, 1, CRIO, ID, NULL, UID},
	    /* conmon, CRI-O's container monitor, is no container. */
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SLICE
	     ".slice/crio-conmon-" ID ".scope",
	     0, NONE, NULL, NULL, NULL},
	    {"/kubepods/besteffort/pod" UID "/crio-conmon-" ID, 0, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(docker_layouts)
{
	static const struct path_case cases[] = {
	    {"/system.slice/docker-" ID ".scope", 1, DOCKER, ID, NULL, NULL},
	    {"/docker/" ID, 1, DOCKER, ID, NULL, NULL},
	    /* Docker in Docker: the outer container is the one on this host. */
	    {"/docker/" ID "/docker/" ID2, 1, DOCKER, ID, NULL, NULL},
	    {"/system.slice/docker-" ID ".scope/init.scope", 1, DOCKER, ID, NULL, NULL},
	    /* BuildKit's build steps run under /docker/buildkit. */
	    {"/docker/buildkit/k1xq0vd8mj", 0, NONE, NULL, NULL, NULL},
	    {"/docker", 0, NONE, NULL, NULL, NULL},
	    {"/docker/" ID "0", 0, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(podman_layouts)
{
	static const struct path_case cases[] = {
	    {"/machine.slice/libpod-" ID ".scope", 1, PODMAN, ID, NULL, NULL},
	    {"/machine.slice/libpod-" ID ".scope/container", 1, PODMAN, ID, NULL, NULL},
	    {"/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID ".scope", 1, PODMAN, ID,
	     NULL, NULL},
	    {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope", 1,
	     PODMAN, ID, NULL, NULL},
	    {"/libpod_parent/libpod-" ID, 1, PODMAN, ID, NULL, NULL},
	    {"/machine.slice/libpod-conmon-" ID ".scope", 0, NONE, NULL, NULL, NULL},
	    {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-" ID ".scope",
	     0, NONE, NULL, NULL, NULL},
	    {"/libpod_parent/libpod-conmon-" ID, 0, NONE, NULL, NULL, NULL},
	    {"/libpod_parent/conmon", 0, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(host_paths_not_container)
{
	static const struct path_case cases[] = {
	    {"/", 0, NONE, NULL, NULL, NULL},
	    {"/init.scope", 0, NONE, NULL, NULL, NULL},
	    {"/system.slice", 0, NONE, NULL, NULL, NULL},
	    {"/system.slice/containerd.service", 0, NONE, NULL, NULL, NULL},
	    {"/system.slice/docker.service", 0, NONE, NULL, NULL, NULL},
	    {"/system.slice/crio.service", 0, NONE, NULL, NULL, NULL},
	    {"/system.slice/docker-registry.service", 0, NONE, NULL, NULL, NULL},
	    {"/system.slice/system-getty.slice/getty@tty1.service", 0, NONE, NULL, NULL, NULL},
	    {"/user.slice/user-0.slice/session-1.scope", 0, NONE, NULL, NULL, NULL},
	    {"/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.socket", 0, NONE, NULL,
	     NULL, NULL},
	    {"/machine.slice/machine-qemu\\x2d1\\x2dvm.scope", 0, NONE, NULL, NULL, NULL},
	    {"/lxc/c1", 0, NONE, NULL, NULL, NULL},
	    {"/lxc.payload.c1", 0, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(malformed_paths_rejected)
{
	static const struct path_case cases[] = {
	    {"k8s.io/c1", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/k8s.io//c1", -EINVAL, NONE, NULL, NULL, NULL},
	    {"//", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/docker/" ID "/", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/k8s.io/../c1", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/./k8s.io/c1", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/k8s.io/..", -EINVAL, NONE, NULL, NULL, NULL},
	    /* A runtime's scope must carry a 64-hex id. */
	    {"/system.slice/docker-4d5c3b2a1f0e9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbag"
	     ".scope",
	     -EINVAL, NONE, NULL, NULL, NULL},
	    {"/system.slice/docker-" ID "a.scope", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/system.slice/docker-4D5C3B2A1F0E9D8C7B6A5F4E3D2C1B0A99887766554433221100FFEEDDCCBBAA"
	     ".scope",
	     -EINVAL, NONE, NULL, NULL, NULL},
	    {"/machine.slice/libpod-.scope", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/kubepods.slice/kubepods-pod" UID_SLICE ".slice/cri-containerd-c1.scope", -EINVAL,
	     NONE, NULL, NULL, NULL},
	    /* A pod cgroup holds only containers. */
	    {"/kubepods/burstable/pod" UID "/not-an-id", -EINVAL, NONE, NULL, NULL, NULL},
	    {"/kubepods/burstable/pod" UID "/" ID "0", -EINVAL, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(generic_layout_rejects_bad_names)
{
	static const struct path_case cases[] = {
	    {"/k8s.io/bad!name", 0, NONE, NULL, NULL, NULL},
	    {"/k8s.io/-c1", 0, NONE, NULL, NULL, NULL},
	    {"/k8s.io/c1.", 0, NONE, NULL, NULL, NULL},
	    {"/k8s.io/c..1", 0, NONE, NULL, NULL, NULL},
	    {"/-ns/c1", 0, NONE, NULL, NULL, NULL},
	    /* 65 bytes: more than CONTAINER_ID_MAX. */
	    {"/default/" ID "0", 0, NONE, NULL, NULL, NULL},
	    /* 64 bytes: more than fits ns. */
	    {"/" ID "/c1", 0, NONE, NULL, NULL, NULL},
	    {"/k8s.io", 0, NONE, NULL, NULL, NULL},
	};

	check_table(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(embedded_nul_rejected)
{
	static const char path[] = "/k8s.io/c1\0/x";
	struct cgroup_identity identity;

	CHECK_INT_EQ(cgroup_path_parse(path, sizeof(path) - 1, &identity), -EINVAL);
	CHECK_INT_EQ(cgroup_path_parse(path, 10, &identity), 1);
	CHECK_STR_EQ(identity.id, "c1");
}

TEST(length_bounds_path)
{
	static const struct path_case c = {"/k8s.io/c1/extra", 1, CONTAINERD, "c1", "k8s.io", NULL};
	struct cgroup_identity identity;

	/* len, not the NUL, ends the path. */
	check_case(&c, strlen("/k8s.io/c1"));
	CHECK_INT_EQ(cgroup_path_parse("/k8s.io/c1", 0, &identity), -EINVAL);
	CHECK_INT_EQ(cgroup_path_parse("", 0, &identity), -EINVAL);
	CHECK_INT_EQ(cgroup_path_parse(NULL, 5, &identity), -EINVAL);
	CHECK_INT_EQ(cgroup_path_parse("/k8s.io/c1", 10, NULL), -EINVAL);
}

TEST(long_paths_rejected)
{
	size_t size = 10 * 1024;
	char *path = malloc(size + 1);
	struct cgroup_identity identity;

	CHECK(path != NULL);
	if (!path)
		return;

	memset(path, '/', size);
	path[size] = '\0';
	CHECK_INT_EQ(cgroup_path_parse(path, size, &identity), -EINVAL);
	CHECK_INT_EQ(cgroup_path_parse(path, 4000, &identity), -EINVAL);
	CHECK_INT_EQ(cgroup_path_parse(path, 1, &identity), 0);

	/* 4096 bytes is the kernel's limit; one byte more is rejected. */
	memset(path, 'a', size);
	memcpy(path, "/k8s.io/c1/", 11);
	path[4096] = '\0';
	CHECK_INT_EQ(cgroup_path_parse(path, 4096, &identity), 1);
	CHECK_INT_EQ(cgroup_path_parse(path, 4097, &identity), -EINVAL);

	/* Many short components. */
	for (size_t i = 0; i + 1 < 4096; i += 2)
		memcpy(path + i, "/a", 2);
	CHECK_INT_EQ(cgroup_path_parse(path, 4094, &identity), 1);
	CHECK_STR_EQ(identity.ns, "a");
	free(path);
}

TEST(identity_cleared_unless_container)
{
	struct cgroup_identity identity;

	memset(&identity, 0xa5, sizeof(identity));
	CHECK_INT_EQ(cgroup_path_parse("/kubepods/burstable/pod" UID,
				       strlen("/kubepods/burstable/pod" UID), &identity),
		     0);
	CHECK_INT_EQ(identity.runtime, RUNTIME_UNKNOWN);
	CHECK_STR_EQ(identity.pod_uid, "");
	CHECK_STR_EQ(identity.id, "");

	memset(&identity, 0xa5, sizeof(identity));
	CHECK_INT_EQ(cgroup_path_parse("//", 2, &identity), -EINVAL);
	CHECK_STR_EQ(identity.ns, "");
}

/* Random input must give one of the three documented results, the same each time. */
TEST(random_paths_no_crash)
{
	static const char *const parts[] = {
	    "/",       "/",	   "/",		":",	   "k8s.io",
	    "c1",      "docker",   "docker-",	ID,	   ".scope",
	    ".slice",  "kubepods", "kubepods-", "pod",	   UID,
	    UID_SLICE, "crio-",	   "conmon-",	"libpod-", "cri-containerd",
	    "-",       "_",	   ".",		"..",	   "\xff",
	    "0",       "",
	};
	char path[600];
	unsigned int seed = 12345;
	size_t containers = 0;

	for (int iteration = 0; iteration < 200000; iteration++) {
		struct cgroup_identity first, second;
		size_t len = 0;
		int count = rand_r(&seed) % 8, r;

		if (rand_r(&seed) % 2)
			path[len++] = '/';
		for (int i = 0; i < count; i++) {
			const char *part =
			    parts[rand_r(&seed) % (sizeof(parts) / sizeof(parts[0]))];
			size_t n = strlen(part);

			memcpy(path + len, part, n);
			len += n;
		}
		if (rand_r(&seed) % 16 == 0 && len > 0)
			path[rand_r(&seed) % len] = (char)(rand_r(&seed) % 256);

		r = cgroup_path_parse(path, len, &first);
		if (r != -EINVAL && r != 0 && r != 1) {
			CHECK(r == -EINVAL || r == 0 || r == 1);
			return;
		}
		CHECK_INT_EQ(cgroup_path_parse(path, len, &second), r);
		CHECK(memcmp(&first, &second, sizeof(first)) == 0);
		if (r == 1) {
			containers++;
			CHECK(first.id[0] != '\0');
			CHECK(memchr(first.id, '\0', sizeof(first.id)) != NULL);
			CHECK(memchr(first.ns, '\0', sizeof(first.ns)) != NULL);
			CHECK(memchr(first.pod_uid, '\0', sizeof(first.pod_uid)) != NULL);
			CHECK(container_runtime_name(first.runtime)[0] != '\0');
		}
	}
	/* The generator reaches the container layouts, so the checks above ran. */
	CHECK(containers > 100);
}

TEST(runtime_names)
{
	CHECK_STR_EQ(container_runtime_name(RUNTIME_CONTAINERD), "containerd");
	CHECK_STR_EQ(container_runtime_name(RUNTIME_CRIO), "cri-o");
	CHECK_STR_EQ(container_runtime_name(RUNTIME_DOCKER), "docker");
	CHECK_STR_EQ(container_runtime_name(RUNTIME_PODMAN), "podman");
	CHECK_STR_EQ(container_runtime_name(RUNTIME_UNKNOWN), "");
	CHECK_STR_EQ(container_runtime_name((enum container_runtime)99), "");
}
