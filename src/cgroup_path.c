// SPDX-License-Identifier: Apache-2.0
/*
 * Container identity from cgroup paths.
 *
 * Recognised layouts, by the cgroup component that names the container:
 *
 *   <runtime>-<64 hex>.scope     systemd cgroup driver: cri-containerd-,
 *                                nerdctl-, crio-, docker-, libpod- (any
 *                                parent slice)
 *   crio-<64 hex>, libpod-<64 hex>
 *                                the same runtimes with the cgroupfs driver
 *   /docker/<64 hex>             Docker with the cgroupfs driver
 *   .../pod<uid>/<64 hex>        Kubernetes cgroupfs driver (containerd CRI)
 *   /<namespace>/<id>            containerd with the cgroupfs driver (ctr,
 *                                nerdctl): see cgroupfs_namespace_match()
 *   parent.slice:prefix:<id>     the systemd form of an OCI cgroupsPath, as
 *                                written in config.json
 *
 * Runtime monitors (crio-conmon-<id>, libpod-conmon-<id>) are not containers.
 * When containers nest, as in Docker in Docker or a kind node, the outermost
 * one wins, because its runtime runs on this host and its bundle is here.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cgroup_path.h"

/* The kernel formats the paths in /proc/PID/cgroup into a PATH_MAX buffer. */
#define CGROUP_PATH_MAX 4096

/* A piece of the caller's path, which need not be NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

static bool span_equals(struct span s, const char *text)
{
	size_t n = strlen(text);

	return s.len == n && memcmp(s.p, text, n) == 0;
}

static bool span_has_prefix(struct span s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

static bool span_has_suffix(struct span s, const char *suffix)
{
	size_t n = strlen(suffix);

	return s.len >= n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

/* Remove prefix from *s when it starts with it. */
static bool span_strip_prefix(struct span *s, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!span_has_prefix(*s, prefix))
		return false;
	s->p += n;
	s->len -= n;
	return true;
}

static bool span_strip_suffix(struct span *s, const char *suffix)
{
	if (!span_has_suffix(*s, suffix))
		return false;
	s->len -= strlen(suffix);
	return true;
}

static bool span_contains(struct span s, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; i + n <= s.len; i++)
		if (memcmp(s.p + i, text, n) == 0)
			return true;
	return false;
}

/* Split off the text before the first sep: *s keeps the text after it. */
static bool span_split(struct span *s, char sep, struct span *ret_head)
{
	const char *at = memchr(s->p, sep, s->len);

	if (!at)
		return false;
	ret_head->p = s->p;
	ret_head->len = (size_t)(at - s->p);
	s->len -= ret_head->len + 1;
	s->p = at + 1;
	return true;
}

static void span_copy(struct span s, char *dst)
{
	memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Docker, containerd CRI, CRI-O and Podman ids: 64 lowercase hex digits. */
static bool is_full_id(struct span s)
{
	if (s.len != CONTAINER_ID_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_lower_hex(s.p[i]))
			return false;
	return true;
}

/*
 * A containerd identifier, as containerd validates namespace and container
 * names: alphanumeric runs joined by single '.', '_' or '-'.
 */
static bool is_containerd_identifier(struct span s)
{
	if (s.len == 0 || !is_alnum(s.p[0]) || !is_alnum(s.p[s.len - 1]))
		return false;
	for (size_t i = 1; i < s.len; i++) {
		char c = s.p[i];

		if (is_alnum(c))
			continue;
		if (c != '.' && c != '_' && c != '-')
			return false;
		if (!is_alnum(s.p[i - 1]))
			return false;
	}
	return true;
}

/* A Kubernetes pod uid: a UUID, or 32 hex digits for a static pod. */
static bool is_pod_uid(struct span s)
{
	if (s.len != 32 && s.len != 36)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		bool dash = s.len == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s.p[i] != '-' : !is_lower_hex(s.p[i]))
			return false;
	}
	return true;
}

/*
 * "pod<uid>", a pod cgroup of the cgroupfs driver. It is recognised outside
 * a kubepods tree too, because a path rebuilt from a cgroup's parent and
 * leaf names alone ("/pod<uid>/<id>") has lost the kubepods component.
 */
static bool is_pod_component(struct span s)
{
	return span_strip_prefix(&s, "pod") && is_pod_uid(s);
}

static bool is_systemd_unit(struct span s)
{
	static const char *const suffixes[] = {
	    ".slice",  ".scope",  ".service", ".mount", ".socket",    ".swap",
	    ".target", ".device", ".path",    ".timer", ".automount",
	};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (span_has_suffix(s, suffixes[i]))
			return true;
	return false;
}

static void identity_set(struct cgroup_identity *ret, enum container_runtime runtime,
			 struct span id)
{
	ret->runtime = runtime;
	span_copy(id, ret->id);
}

/*
 * Store a Kubernetes pod uid. Slice names spell it with '_' because systemd
 * reserves '-' as the slice hierarchy separator, so '_' turns back into '-'.
 * Values that cannot be a uid (static pods use 32 hex digits, API pods a
 * UUID) are skipped.
 */
static void pod_uid_set(struct cgroup_identity *ret, struct span uid)
{
	if (uid.len == 0 || uid.len >= sizeof(ret->pod_uid))
		return;
	for (size_t i = 0; i < uid.len; i++)
		if (!is_lower_hex(uid.p[i]) && uid.p[i] != '-' && uid.p[i] != '_')
			return;
	for (size_t i = 0; i < uid.len; i++)
		ret->pod_uid[i] = uid.p[i] == '_' ? '-' : uid.p[i];
	ret->pod_uid[uid.len] = '\0';
}

/*
 * Read the pod uid from a pod slice, "kubepods-burstable-pod<uid>.slice" or
 * "kubepods-pod<uid>.slice": the last '-'-separated word, after "pod".
 */
static bool pod_slice_parse(struct span slice, struct cgroup_identity *ret)
{
	struct span word = slice;

	if (!span_contains(slice, "kubepods") || !span_strip_suffix(&word, ".slice"))
		return false;
	for (const char *dash; (dash = memchr(word.p, '-', word.len));) {
		word.len -= (size_t)(dash + 1 - word.p);
		word.p = dash + 1;
	}
	if (!span_strip_prefix(&word, "pod"))
		return false;
	pod_uid_set(ret, word);
	return true;
}

static const struct runtime_prefix {
	const char *prefix;
	enum container_runtime runtime;
} runtime_prefixes[] = {
    {"cri-containerd-", RUNTIME_CONTAINERD},
    {"nerdctl-", RUNTIME_CONTAINERD},
    {"crio-", RUNTIME_CRIO},
    {"docker-", RUNTIME_DOCKER},
    {"libpod-", RUNTIME_PODMAN},
};

/*
 * Match "<runtime>-<id>.scope" (systemd driver) and the same name without
 * ".scope" ("crio-<id>", "libpod-<id>": the cgroupfs driver of CRI-O and
 * Podman). Returns 1 on a match, 0 when the
 * component names no container, -EINVAL for a runtime's scope with an id
 * that is not 64 hex digits: systemd only gets such scope names from a
 * runtime, so a bad id there is malformed input. Without ".scope" the id
 * must be exact, because host units such as "docker-registry.service"
 * share the prefixes.
 */
static int runtime_component_match(struct span component, struct cgroup_identity *ret)
{
	struct span name = component;
	bool scope = span_strip_suffix(&name, ".scope");

	for (size_t i = 0; i < sizeof(runtime_prefixes) / sizeof(runtime_prefixes[0]); i++) {
		struct span id = name;

		if (!span_strip_prefix(&id, runtime_prefixes[i].prefix))
			continue;
		if (is_full_id(id)) {
			identity_set(ret, runtime_prefixes[i].runtime, id);
			return 1;
		}
		if (scope)
			return -EINVAL;
	}
	return 0;
}

/*
 * The containerd cgroupfs layout, "/<namespace>/<id>", which containerd
 * sets when its client names no cgroup (ctr, and nerdctl with the cgroupfs
 * driver: "/k8s.io/c1", "/default/redis"). It has no marker of its own, so
 * the rule is narrow. The first component must be a containerd identifier
 * of at most 63 bytes. It must not be a systemd unit ("system.slice",
 * "init.scope"), a pod cgroup ("pod<uid>") or the root of another known
 * layout (kubepods, kubelet, docker, libpod_parent, lxc). The second must
 * be a containerd identifier of at most CONTAINER_ID_MAX bytes. Deeper
 * components are cgroups the container made inside its own.
 *
 * NOTE: any other cgroupfs tree of the same shape is taken for containerd,
 * so a caller that needs certainty should confirm the task directory
 * /run/containerd/io.containerd.runtime.v2.task/<namespace>/<id> exists.
 * containerd accepts identifiers of up to 76 bytes, but ids longer than
 * 64 bytes are not recognised here.
 */
static bool cgroupfs_namespace_match(struct span first, struct span second,
				     struct cgroup_identity *ret)
{
	static const char *const reserved[] = {
	    "kubepods", "kubelet", "docker", "libpod_parent", "lxc",
	};

	if (first.len >= sizeof(ret->ns) || !is_containerd_identifier(first) ||
	    is_systemd_unit(first) || is_pod_component(first))
		return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (span_equals(first, reserved[i]))
			return false;
	if (second.len > CONTAINER_ID_MAX || !is_containerd_identifier(second))
		return false;

	identity_set(ret, RUNTIME_CONTAINERD, second);
	span_copy(first, ret->ns);
	return true;
}

/* Reject what the kernel never writes: empty components, "." and "..". */
static int cgroupfs_path_validate(struct span rest)
{
	struct span component;

	while (span_split(&rest, '/', &component))
		if (component.len == 0 || span_equals(component, ".") ||
		    span_equals(component, ".."))
			return -EINVAL;
	if (rest.len == 0 || span_equals(rest, ".") || span_equals(rest, ".."))
		return -EINVAL;
	return 0;
}

/* Take the next component from *rest: false when none is left. */
static bool component_next(struct span *rest, struct span *ret_component)
{
	if (rest->len == 0)
		return false;
	if (!span_split(rest, '/', ret_component)) {
		*ret_component = *rest;
		rest->p += rest->len;
		rest->len = 0;
	}
	return true;
}

/* Walk a cgroupfs path ("/a/b/c") from the root down to the first container. */
static int cgroupfs_path_parse(struct span path, struct cgroup_identity *ret)
{
	struct span rest = {path.p + 1, path.len - 1};
	struct span tail, first, second, component, previous = {"", 0};
	bool in_kubepods = false, in_pod = false;
	int r;

	if (rest.len == 0)
		return 0; /* the root cgroup */
	r = cgroupfs_path_validate(rest);
	if (r < 0)
		return r;

	tail = rest;
	if (span_split(&tail, '/', &first)) {
		if (!span_split(&tail, '/', &second))
			second = tail;
		if (cgroupfs_namespace_match(first, second, ret))
			return 1;
	}

	while (component_next(&rest, &component)) {
		if (span_has_prefix(component, "crio-conmon-") ||
		    span_has_prefix(component, "libpod-conmon-"))
			return 0;

		r = runtime_component_match(component, ret);
		if (r != 0)
			return r;

		if (span_equals(previous, "docker") && is_full_id(component)) {
			identity_set(ret, RUNTIME_DOCKER, component);
			return 1;
		}

		if (in_pod) {
			/*
			 * A pod cgroup contains only containers: a bare id is the
			 * containerd CRI cgroupfs layout (dockershim wrote the same
			 * shape, but Kubernetes 1.24 removed it).
			 */
			if (!is_full_id(component))
				return -EINVAL;
			identity_set(ret, RUNTIME_CONTAINERD, component);
			return 1;
		}

		if (span_equals(component, "kubepods") ||
		    (span_contains(component, "kubepods") && span_has_suffix(component, ".slice")))
			in_kubepods = true;
		if (in_kubepods && pod_slice_parse(component, ret)) {
			in_pod = true;
		} else if ((in_kubepods && span_has_prefix(component, "pod")) ||
			   is_pod_component(component)) {
			struct span uid = component;

			(void)span_strip_prefix(&uid, "pod");
			pod_uid_set(ret, uid);
			in_pod = true;
		}
		previous = component;
	}
	return 0;
}

/*
 * The systemd form of an OCI cgroupsPath, "parent.slice:prefix:name", which
 * runc expands to "<parent>/<prefix>-<name>.scope". containerd CRI, nerdctl,
 * CRI-O, Docker and Podman write it when they use the systemd cgroup driver.
 */
static int systemd_path_parse(struct span path, struct cgroup_identity *ret)
{
	struct span rest = path, parent, prefix;
	static const struct runtime_prefix prefixes[] = {
	    {"cri-containerd", RUNTIME_CONTAINERD},
	    {"nerdctl", RUNTIME_CONTAINERD},
	    {"crio", RUNTIME_CRIO},
	    {"docker", RUNTIME_DOCKER},
	    {"libpod", RUNTIME_PODMAN},
	};

	if (memchr(path.p, '/', path.len))
		return -EINVAL;
	if (!span_split(&rest, ':', &parent) || !span_split(&rest, ':', &prefix))
		return -EINVAL;
	if (memchr(rest.p, ':', rest.len))
		return -EINVAL;
	if (parent.len > 0 && !span_has_suffix(parent, ".slice"))
		return -EINVAL;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (!span_equals(prefix, prefixes[i].prefix))
			continue;
		if (!is_full_id(rest))
			return -EINVAL;
		identity_set(ret, prefixes[i].runtime, rest);
		(void)pod_slice_parse(parent, ret);
		return 1;
	}
	return 0;
}

int cgroup_path_parse(const char *path, size_t len, struct cgroup_identity *ret)
{
	struct span s = {path, len};
	int r;

	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (!path || len == 0 || len > CGROUP_PATH_MAX || memchr(path, '\0', len))
		return -EINVAL;

	if (path[0] == '/')
		r = cgroupfs_path_parse(s, ret);
	else
		r = systemd_path_parse(s, ret);
	if (r <= 0)
		memset(ret, 0, sizeof(*ret));
	return r;
}

const char *container_runtime_name(enum container_runtime runtime)
{
	switch (runtime) {
	case RUNTIME_CONTAINERD:
		return "containerd";
	case RUNTIME_CRIO:
		return "cri-o";
	case RUNTIME_DOCKER:
		return "docker";
	case RUNTIME_PODMAN:
		return "podman";
	case RUNTIME_UNKNOWN:
		break;
	}
	return "";
}
