// SPDX-License-Identifier: Apache-2.0
/*
 * Container metadata from an OCI runtime bundle's config.json.
 *
 * Type errors follow the OCI runtimes: a config.json that runc would reject
 * (annotations that are not an object of strings, a "linux" that is not an
 * object, a cgroupsPath that is not a string) is rejected with -EINVAL.
 * JSON null counts as absent, as it does for Go's encoding/json.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "fileio.h"

__attribute__((format(printf, 3, 4))) static void error_set(char *err, size_t err_size,
							    const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

static void error_clear(char *err, size_t err_size)
{
	if (err && err_size > 0)
		err[0] = '\0';
}

/* Record a problem that does not fail the parse, unless one is recorded already. */
__attribute__((format(printf, 3, 4))) static void warning_set(char *err, size_t err_size,
							      const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0 || err[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

/*
 * The annotation keys of each field, in order of precedence. containerd's
 * io.kubernetes.cri.* keys come first, because containerd can be set to
 * pass pod annotations into the spec, and a pod could then carry its own
 * io.kubernetes.pod.* keys. CRI-O writes io.kubernetes.pod.* itself: it
 * copies the kubelet's labels into the spec after the annotations
 * (server/container_create_linux.go). CRI-O's
 * io.kubernetes.cri-o.ContainerName contains
 * "k8s_<container>_<pod>_<namespace>_<uid>_<attempt>", not the container's
 * name, so it is not read.
 *
 * Names are truncated to fit the field, because a cut name still reads
 * right in an event. Identifiers that do not fit are dropped, because a
 * cut one names another object.
 */
struct meta_field {
	const char *name;
	size_t offset;
	size_t size;
	bool truncate;
	const char *const *keys; /* NULL-terminated */
};

#define FIELD(member)                                                                              \
	offsetof(struct bundle_meta, member), sizeof(((struct bundle_meta *)0)->member)

static const char *const pod_name_keys[] = {
    "io.kubernetes.cri.sandbox-name",
    "io.kubernetes.pod.name",
    NULL,
};
static const char *const pod_namespace_keys[] = {
    "io.kubernetes.cri.sandbox-namespace",
    "io.kubernetes.pod.namespace",
    NULL,
};
static const char *const pod_uid_keys[] = {
    "io.kubernetes.cri.sandbox-uid",
    "io.kubernetes.pod.uid",
    NULL,
};
static const char *const container_name_keys[] = {
    "io.kubernetes.cri.container-name",
    "io.kubernetes.container.name",
    NULL,
};
static const char *const image_keys[] = {
    "io.kubernetes.cri.image-name",
    "io.kubernetes.cri-o.ImageName",
    "io.containerd.image.name",
    "org.opencontainers.image.ref.name",
    NULL,
};
static const char *const sandbox_id_keys[] = {
    "io.kubernetes.cri.sandbox-id",
    "io.kubernetes.cri-o.SandboxID",
    NULL,
};

static const struct meta_field meta_fields[] = {
    {"pod name", FIELD(pod_name), true, pod_name_keys},
    {"pod namespace", FIELD(pod_namespace), true, pod_namespace_keys},
    {"pod uid", FIELD(pod_uid), false, pod_uid_keys},
    {"container name", FIELD(container_name), true, container_name_keys},
    {"image", FIELD(image), true, image_keys},
    {"sandbox id", FIELD(sandbox_id), false, sandbox_id_keys},
};

/*
 * Copy a JSON string into a field of the given size. Returns false, with a
 * warning in err, when the value cannot be used.
 */
static bool field_store(char *field, size_t size, bool truncate, const char *name,
			const char *source, const json_t *value, char *err, size_t err_size)
{
	const char *s = json_string_value(value);
	size_t len = json_string_length(value);

	/* JSON_ALLOW_NUL lets "\u0000" in other strings through, but not here. */
	if (memchr(s, '\0', len)) {
		warning_set(err, err_size, "ignoring %s from %s: it contains a NUL character", name,
			    source);
		return false;
	}
	if (len >= size) {
		if (!truncate) {
			warning_set(err, err_size,
				    "ignoring %s from %s: %zu bytes, the maximum is %zu", name,
				    source, len, size - 1);
			return false;
		}
		warning_set(err, err_size, "truncated %s from %s to %zu bytes", name, source,
			    size - 1);
		len = size - 1;
		/* Cut before a UTF-8 character, not inside one: jansson checked the encoding. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(field, s, len);
	field[len] = '\0';
	return true;
}

/*
 * Copy up to size - 1 bytes of s for an error message, with '?' in place of
 * bytes outside printable ASCII, so that a key cannot forge log lines.
 */
static void printable_copy(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
}

static int annotations_read(const json_t *annotations, struct bundle_meta *ret, char *err,
			    size_t err_size)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)annotations, key, value)
	{
		if (!json_is_string(value) && !json_is_null(value)) {
			char shown[128];

			printable_copy(key, shown, sizeof(shown));
			error_set(err, err_size,
				  "invalid config.json: annotation \"%s\" is not a string", shown);
			return -EINVAL;
		}
	}

	for (size_t i = 0; i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++) {
		const struct meta_field *f = &meta_fields[i];
		char *field = (char *)ret + f->offset;

		for (size_t k = 0; f->keys[k]; k++) {
			value = json_object_get(annotations, f->keys[k]);
			if (!json_is_string(value) || json_string_length(value) == 0)
				continue;
			if (field_store(field, f->size, f->truncate, f->name, f->keys[k], value,
					err, err_size))
				break;
		}
	}
	return 0;
}

static int cgroups_path_read(const json_t *root, struct bundle_meta *ret, char *err,
			     size_t err_size)
{
	const json_t *linux_section = json_object_get(root, "linux");
	const json_t *path;

	if (!linux_section || json_is_null(linux_section))
		return 0;
	if (!json_is_object(linux_section)) {
		error_set(err, err_size, "invalid config.json: \"linux\" is not an object");
		return -EINVAL;
	}

	path = json_object_get(linux_section, "cgroupsPath");
	if (!path || json_is_null(path))
		return 0;
	if (!json_is_string(path)) {
		error_set(err, err_size,
			  "invalid config.json: \"linux.cgroupsPath\" is not a string");
		return -EINVAL;
	}
	(void)field_store(ret->cgroups_path, sizeof(ret->cgroups_path), false, "cgroups path",
			  "linux.cgroupsPath", path, err, err_size);
	return 0;
}

int bundle_parse(const char *json, size_t len, struct bundle_meta *ret, char *err, size_t err_size)
{
	json_auto_t *root = NULL;
	const json_t *annotations;
	json_error_t error;
	int r;

	error_clear(err, err_size);
	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (!json) {
		error_set(err, err_size, "no config.json data");
		return -EINVAL;
	}
	if (len > BUNDLE_CONFIG_MAX) {
		error_set(err, err_size, "config.json is %zu bytes, the maximum is %d", len,
			  BUNDLE_CONFIG_MAX);
		return -EFBIG;
	}

	/*
	 * Duplicate keys are accepted and the last one wins, as in Go's
	 * encoding/json, so intact reads what the runtime read.
	 */
	root = json_loadb(json, len, JSON_ALLOW_NUL, &error);
	if (!root) {
		error_set(err, err_size, "invalid config.json at line %d, column %d: %s",
			  error.line, error.column, error.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		error_set(err, err_size, "invalid config.json: the top level is not an object");
		return -EINVAL;
	}

	annotations = json_object_get(root, "annotations");
	if (annotations && !json_is_null(annotations)) {
		if (!json_is_object(annotations)) {
			error_set(err, err_size,
				  "invalid config.json: \"annotations\" is not an object");
			memset(ret, 0, sizeof(*ret));
			return -EINVAL;
		}
		r = annotations_read(annotations, ret, err, err_size);
		if (r < 0) {
			memset(ret, 0, sizeof(*ret));
			return r;
		}
	}

	r = cgroups_path_read(root, ret, err, err_size);
	if (r < 0) {
		memset(ret, 0, sizeof(*ret));
		return r;
	}
	return 0;
}

/*
 * config.json is opened with O_NOFOLLOW: the runtime writes a regular file,
 * so a symbolic link in its place is not the runtime's doing and is
 * rejected (-ELOOP). Symbolic links among the directories of dir are
 * followed. O_NONBLOCK keeps a FIFO in its place from blocking the open.
 */
int bundle_load(const char *dir, struct bundle_meta *ret, char *err, size_t err_size)
{
	int fd __attribute__((cleanup(close_fdp))) = -1;
	char *data __attribute__((cleanup(freep))) = NULL;
	char path[PATH_MAX], parse_err[256];
	struct stat st;
	size_t len = 0;
	int n, r;

	error_clear(err, err_size);
	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (!dir) {
		error_set(err, err_size, "no bundle directory given");
		return -EINVAL;
	}

	n = snprintf(path, sizeof(path), "%s/config.json", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		error_set(err, err_size, "bundle directory path is too long: %zu bytes",
			  strlen(dir));
		return -ENAMETOOLONG;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			error_set(err, err_size, "failed to open %s: it is a symbolic link", path);
		else
			error_set(err, err_size, "failed to open %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		error_set(err, err_size, "failed to stat %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(err, err_size, "invalid bundle: %s is not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size > BUNDLE_CONFIG_MAX) {
		error_set(err, err_size, "%s is %jd bytes, the maximum is %d", path,
			  (intmax_t)st.st_size, BUNDLE_CONFIG_MAX);
		return -EFBIG;
	}

	r = fd_read_all(fd, BUNDLE_CONFIG_MAX, &data, &len);
	if (r == -EFBIG) {
		error_set(err, err_size, "%s grew past the maximum of %d bytes while being read",
			  path, BUNDLE_CONFIG_MAX);
		return r;
	}
	if (r < 0) {
		error_set(err, err_size, "failed to read %s: %s", path, strerror(-r));
		return r;
	}

	r = bundle_parse(data, len, ret, parse_err, sizeof(parse_err));
	if (parse_err[0] != '\0')
		error_set(err, err_size, "%s: %s", path, parse_err);
	return r;
}
