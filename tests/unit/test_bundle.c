// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "test.h"

#define CONTAINER_ID "4d5c3b2a1f0e9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa"
#define SANDBOX_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD_UID "6f1c2b7e-4a3d-4c5b-9e8f-0a1b2c3d4e5f"
#define POD_UID_SLICE "6f1c2b7e_4a3d_4c5b_9e8f_0a1b2c3d4e5f"

/* tests/data, found from this file's path, so the tests run from the repository root. */
static void data_path(char *buf, size_t size, const char *name)
{
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	int dir_len = slash ? (int)(slash - file) : 1;

	snprintf(buf, size, "%.*s/../data/bundles/%s", dir_len, slash ? file : ".", name);
}

/* Copy a recorded config.json into a fresh bundle directory. */
static bool bundle_dir_make(char *dir, const char *recorded)
{
	char source[512], target[600], buf[65536];
	FILE *in, *out;
	size_t n;

	strcpy(dir, "/tmp/intact-test-bundle-XXXXXX");
	if (!mkdtemp(dir))
		return false;
	if (!recorded)
		return true;

	data_path(source, sizeof(source), recorded);
	snprintf(target, sizeof(target), "%s/config.json", dir);
	in = fopen(source, "r");
	if (!in)
		return false;
	out = fopen(target, "w");
	if (!out) {
		fclose(in);
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out) == 0;
}

static void bundle_dir_remove(const char *dir)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/config.json", dir);
	(void)unlink(path);
	(void)rmdir(path);
	(void)rmdir(dir);
}

static int parse_string(const char *json, struct bundle_meta *meta, char *err, size_t size)
{
	return bundle_parse(json, strlen(json), meta, err, size);
}

static int load_recorded(const char *name, struct bundle_meta *meta, char *err, size_t size)
{
	char dir[64];
	int r;

	if (!bundle_dir_make(dir, name))
		return -EIO;
	r = bundle_load(dir, meta, err, size);
	bundle_dir_remove(dir);
	return r;
}

TEST(recorded_ctr_spec)
{
	struct bundle_meta meta;
	char err[256];

	/* Recorded from containerd 1.6.20: ctr -n k8s.io c create, then c info. */
	CHECK_INT_EQ(load_recorded("containerd-ctr.json", &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(err, "");
	CHECK_STR_EQ(meta.cgroups_path, "/k8s.io/intact-unit-record");
	CHECK_STR_EQ(meta.pod_name, "");
	CHECK_STR_EQ(meta.pod_namespace, "");
	CHECK_STR_EQ(meta.pod_uid, "");
	CHECK_STR_EQ(meta.container_name, "");
	CHECK_STR_EQ(meta.image, "");
	CHECK_STR_EQ(meta.sandbox_id, "");
}

TEST(containerd_cri_container)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(load_recorded("containerd-cri.json", &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(err, "");
	CHECK_STR_EQ(meta.pod_name, "web-7d4b9c8f6d-x2k9p");
	CHECK_STR_EQ(meta.pod_namespace, "shop");
	CHECK_STR_EQ(meta.pod_uid, POD_UID);
	CHECK_STR_EQ(meta.container_name, "nginx");
	CHECK_STR_EQ(meta.image, "docker.io/library/nginx:1.25");
	CHECK_STR_EQ(meta.sandbox_id, SANDBOX_ID);
	CHECK_STR_EQ(meta.cgroups_path,
		     "kubepods-besteffort-pod" POD_UID_SLICE ".slice:cri-containerd:" CONTAINER_ID);
}

TEST(containerd_cri_sandbox)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(load_recorded("containerd-cri-sandbox.json", &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(meta.pod_name, "web-7d4b9c8f6d-x2k9p");
	CHECK_STR_EQ(meta.pod_namespace, "shop");
	CHECK_STR_EQ(meta.pod_uid, POD_UID);
	CHECK_STR_EQ(meta.container_name, "");
	CHECK_STR_EQ(meta.image, "");
	CHECK_STR_EQ(meta.sandbox_id, SANDBOX_ID);
	CHECK_STR_EQ(meta.cgroups_path, "/kubepods/besteffort/pod" POD_UID "/" SANDBOX_ID);
}

TEST(crio_container)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(load_recorded("crio.json", &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(err, "");
	CHECK_STR_EQ(meta.pod_name, "web-7d4b9c8f6d-x2k9p");
	CHECK_STR_EQ(meta.pod_namespace, "shop");
	CHECK_STR_EQ(meta.pod_uid, POD_UID);
	/* Not io.kubernetes.cri-o.ContainerName, which is "k8s_nginx_web-...". */
	CHECK_STR_EQ(meta.container_name, "nginx");
	CHECK_STR_EQ(meta.image, "docker.io/library/nginx:1.25");
	CHECK_STR_EQ(meta.sandbox_id, SANDBOX_ID);
	CHECK_STR_EQ(meta.cgroups_path,
		     "kubepods-burstable-pod" POD_UID_SLICE ".slice:crio:" CONTAINER_ID);
}

TEST(docker_and_podman)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(load_recorded("docker.json", &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(meta.cgroups_path, "system.slice:docker:" CONTAINER_ID);
	CHECK_STR_EQ(meta.pod_name, "");
	CHECK_STR_EQ(meta.image, "");

	CHECK_INT_EQ(load_recorded("podman.json", &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(meta.cgroups_path, "machine.slice:libpod:" CONTAINER_ID);
	CHECK_STR_EQ(meta.pod_name, "");
	CHECK_STR_EQ(meta.image, "");
}

TEST(truncated_file_rejected)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(load_recorded("malformed.json", &meta, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "config.json: invalid config.json at line") != NULL);
	CHECK_STR_EQ(meta.cgroups_path, "");
}

TEST(image_annotation_precedence)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(parse_string("{\"annotations\": {"
				  "\"org.opencontainers.image.ref.name\": \"d\","
				  "\"io.containerd.image.name\": \"c\","
				  "\"io.kubernetes.cri-o.ImageName\": \"b\","
				  "\"io.kubernetes.cri.image-name\": \"a\"}}",
				  &meta, err, sizeof(err)),
		     0);
	CHECK_STR_EQ(meta.image, "a");
	CHECK_INT_EQ(parse_string("{\"annotations\": {"
				  "\"org.opencontainers.image.ref.name\": \"d\","
				  "\"io.containerd.image.name\": \"c\"}}",
				  &meta, err, sizeof(err)),
		     0);
	CHECK_STR_EQ(meta.image, "c");
	CHECK_INT_EQ(parse_string("{\"annotations\": {"
				  "\"org.opencontainers.image.ref.name\": \"d\"}}",
				  &meta, err, sizeof(err)),
		     0);
	CHECK_STR_EQ(meta.image, "d");
	/* An empty value counts as missing. */
	CHECK_INT_EQ(parse_string("{\"annotations\": {\"io.kubernetes.cri.image-name\": \"\","
				  "\"io.containerd.image.name\": \"c\"}}",
				  &meta, err, sizeof(err)),
		     0);
	CHECK_STR_EQ(meta.image, "c");
}

/* A pod annotation passed through cannot override the runtime's own keys. */
TEST(runtime_keys_take_precedence)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(parse_string("{\"annotations\": {"
				  "\"io.kubernetes.pod.name\": \"forged\","
				  "\"io.kubernetes.pod.namespace\": \"forged\","
				  "\"io.kubernetes.pod.uid\": \"forged\","
				  "\"io.kubernetes.container.name\": \"forged\","
				  "\"io.kubernetes.cri.sandbox-name\": \"pod\","
				  "\"io.kubernetes.cri.sandbox-namespace\": \"ns\","
				  "\"io.kubernetes.cri.sandbox-uid\": \"uid\","
				  "\"io.kubernetes.cri.container-name\": \"ctr\"}}",
				  &meta, err, sizeof(err)),
		     0);
	CHECK_STR_EQ(meta.pod_name, "pod");
	CHECK_STR_EQ(meta.pod_namespace, "ns");
	CHECK_STR_EQ(meta.pod_uid, "uid");
	CHECK_STR_EQ(meta.container_name, "ctr");
}

TEST(minimal_and_null_sections)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(parse_string("{}", &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(err, "");
	CHECK_INT_EQ(
	    parse_string("{\"annotations\": null, \"linux\": null}", &meta, err, sizeof(err)), 0);
	CHECK_INT_EQ(parse_string("{\"linux\": {\"cgroupsPath\": null}}", &meta, err, sizeof(err)),
		     0);
	CHECK_INT_EQ(parse_string("{\"annotations\": {\"io.kubernetes.cri.sandbox-name\": null,"
				  "\"io.kubernetes.pod.name\": \"p\"}}",
				  &meta, err, sizeof(err)),
		     0);
	CHECK_STR_EQ(meta.pod_name, "p");
	CHECK_STR_EQ(meta.cgroups_path, "");
	/* Duplicate keys: the last wins, as in Go's encoding/json. */
	CHECK_INT_EQ(
	    parse_string("{\"linux\": {\"cgroupsPath\": \"/a/b\", \"cgroupsPath\": \"/c/d\"}}",
			 &meta, err, sizeof(err)),
	    0);
	CHECK_STR_EQ(meta.cgroups_path, "/c/d");
}

struct invalid_case {
	const char *json;
	int r;
	const char *message;
};

TEST(invalid_documents_rejected)
{
	static const struct invalid_case cases[] = {
	    {"", -EINVAL, "invalid config.json at line"},
	    {"{", -EINVAL, "invalid config.json at line"},
	    {"{\"annotations\": {\"a\": \"b\"}", -EINVAL, "invalid config.json at line"},
	    {"{} trailing", -EINVAL, "invalid config.json at line"},
	    {"[]", -EINVAL, "the top level is not an object"},
	    {"\"string\"", -EINVAL, "invalid config.json at line"},
	    {"{\"annotations\": []}", -EINVAL, "\"annotations\" is not an object"},
	    {"{\"annotations\": \"x\"}", -EINVAL, "\"annotations\" is not an object"},
	    {"{\"annotations\": {\"io.kubernetes.pod.name\": 5}}", -EINVAL,
	     "annotation \"io.kubernetes.pod.name\" is not a string"},
	    {"{\"annotations\": {\"unrelated\": {}}}", -EINVAL,
	     "annotation \"unrelated\" is not a string"},
	    {"{\"annotations\": {\"a\\nb\\u001b[2J\xc3\xa9\": 1}}", -EINVAL,
	     "annotation \"a?b?[2J??\" is not a string"},
	    {"{\"linux\": []}", -EINVAL, "\"linux\" is not an object"},
	    {"{\"linux\": {\"cgroupsPath\": 1}}", -EINVAL, "\"linux.cgroupsPath\" is not a string"},
	    {"{\"a\": \"\xff\"}", -EINVAL, "invalid config.json at line"},
	};
	struct bundle_meta meta;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct invalid_case *c = &cases[i];
		int r = parse_string(c->json, &meta, err, sizeof(err));

		if (r != c->r || !strstr(err, c->message))
			fprintf(stderr, "  json %s: err \"%s\"\n", c->json, err);
		CHECK_INT_EQ(r, c->r);
		CHECK(strstr(err, c->message) != NULL);
	}
}

TEST(failed_parse_clears_fields)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(parse_string("{\"annotations\": {\"io.kubernetes.pod.name\": \"p\"},"
				  "\"linux\": {\"cgroupsPath\": 1}}",
				  &meta, err, sizeof(err)),
		     -EINVAL);
	CHECK_STR_EQ(meta.pod_name, "");
}

TEST(parse_arguments)
{
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(bundle_parse(NULL, 0, &meta, err, sizeof(err)), -EINVAL);
	CHECK_STR_EQ(err, "no config.json data");
	CHECK_INT_EQ(bundle_parse("{}", 2, NULL, err, sizeof(err)), -EINVAL);
	/* err is optional, and too small an err is cut, not overrun. */
	CHECK_INT_EQ(bundle_parse("[]", 2, &meta, NULL, 0), -EINVAL);
	err[3] = 'x';
	CHECK_INT_EQ(bundle_parse("[]", 2, &meta, err, 3), -EINVAL);
	CHECK_STR_EQ(err, "in");
	CHECK(err[3] == 'x');
	/* len, not a NUL, ends the input. */
	CHECK_INT_EQ(bundle_parse("{}garbage", 2, &meta, err, sizeof(err)), 0);
	CHECK_INT_EQ(bundle_parse("{}", BUNDLE_CONFIG_MAX + 1UL, &meta, err, sizeof(err)), -EFBIG);
}

static char *annotation_json(const char *key, char fill, size_t len)
{
	size_t size = strlen(key) + len + 64;
	char *json = malloc(size);
	int n;

	if (!json)
		return NULL;
	n = snprintf(json, size, "{\"annotations\": {\"%s\": \"", key);
	memset(json + n, fill, len);
	strcpy(json + n + len, "\"}}");
	return json;
}

TEST(long_names_truncated)
{
	struct bundle_meta meta;
	char err[256];
	char *json = annotation_json("io.kubernetes.cri.sandbox-name", 'p', 100000);

	CHECK(json != NULL);
	if (!json)
		return;
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(meta.pod_name), sizeof(meta.pod_name) - 1);
	CHECK(meta.pod_name[0] == 'p');
	CHECK(strstr(err, "truncated pod name") != NULL);
	free(json);

	json = annotation_json("io.kubernetes.cri.image-name", 'i', 512);
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(meta.image), 511);
	free(json);

	/* Exactly the field size less one fits with no warning. */
	json = annotation_json("io.kubernetes.cri.image-name", 'i', 511);
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(meta.image), 511);
	CHECK_STR_EQ(err, "");
	free(json);
}

TEST(truncation_keeps_utf8_whole)
{
	/* 252 ASCII bytes and then "é", in a field with room for 253 bytes. */
	char json[600];
	struct bundle_meta meta;
	char err[256];
	int n = snprintf(json, sizeof(json), "{\"annotations\": {\"io.kubernetes.pod.name\": \"");

	memset(json + n, 'a', 252);
	strcpy(json + n + 252, "\xc3\xa9\xc3\xa9\"}}");
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(meta.pod_name), 252);
	CHECK(strstr(err, "truncated") != NULL);
}

TEST(long_identifiers_dropped)
{
	struct bundle_meta meta;
	char err[256];
	char *json = annotation_json("io.kubernetes.cri.sandbox-id", 'a', 65);

	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(meta.sandbox_id, "");
	CHECK(strstr(err, "ignoring sandbox id") != NULL);
	free(json);

	json = annotation_json("io.kubernetes.cri.sandbox-id", 'a', 64);
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(meta.sandbox_id), 64);
	free(json);

	json = annotation_json("io.kubernetes.pod.uid", 'u', 64);
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(meta.pod_uid, "");
	free(json);

	/* A dropped value lets the next key in precedence supply the field. */
	CHECK_INT_EQ(
	    parse_string("{\"annotations\": {"
			 "\"io.kubernetes.cri.sandbox-uid\": "
			 "\"0123456789012345678901234567890123456789012345678901234567890123\","
			 "\"io.kubernetes.pod.uid\": \"" POD_UID "\"}}",
			 &meta, err, sizeof(err)),
	    0);
	CHECK_STR_EQ(meta.pod_uid, POD_UID);
}

TEST(long_cgroups_path_dropped)
{
	char *json = malloc(2000);
	struct bundle_meta meta;
	char err[256];
	int n;

	CHECK(json != NULL);
	if (!json)
		return;
	n = snprintf(json, 2000, "{\"linux\": {\"cgroupsPath\": \"/");
	memset(json + n, 'c', 1000);
	strcpy(json + n + 1000, "\"}}");
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(meta.cgroups_path, "");
	CHECK(strstr(err, "ignoring cgroups path") != NULL);
	free(json);
}

TEST(nul_in_value_ignored)
{
	static const char json[] = "{\"annotations\": {\"io.kubernetes.pod.name\": \"a\\u0000b\","
				   "\"other\": \"x\\u0000y\"}}";
	struct bundle_meta meta;
	char err[256];

	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), 0);
	CHECK_STR_EQ(meta.pod_name, "");
	CHECK(strstr(err, "NUL") != NULL);
}

TEST(deep_nesting_rejected)
{
	size_t depth = 100000;
	char *json = malloc(2 * depth + 32);
	struct bundle_meta meta;
	char err[256];
	size_t n;

	CHECK(json != NULL);
	if (!json)
		return;
	n = (size_t)sprintf(json, "{\"a\": ");
	memset(json + n, '[', depth);
	memset(json + n + depth, ']', depth);
	strcpy(json + n + 2 * depth, "}");
	CHECK_INT_EQ(parse_string(json, &meta, err, sizeof(err)), -EINVAL);
	free(json);
}

TEST(load_missing_file)
{
	struct bundle_meta meta;
	char dir[64], err[256];

	CHECK(bundle_dir_make(dir, NULL));
	CHECK_INT_EQ(bundle_load(dir, &meta, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "failed to open") != NULL);
	CHECK(strstr(err, "No such file or directory") != NULL);
	bundle_dir_remove(dir);

	CHECK_INT_EQ(bundle_load("/nonexistent/intact", &meta, err, sizeof(err)), -ENOENT);
	CHECK_INT_EQ(bundle_load(NULL, &meta, err, sizeof(err)), -EINVAL);
	CHECK_INT_EQ(bundle_load(dir, NULL, err, sizeof(err)), -EINVAL);
}

TEST(load_symlink_rejected)
{
	struct bundle_meta meta;
	char dir[64], target[600], link_path[600], err[256];

	CHECK(bundle_dir_make(dir, NULL));
	data_path(target, sizeof(target), "containerd-cri.json");
	snprintf(link_path, sizeof(link_path), "%s/config.json", dir);
	CHECK(symlink(target, link_path) == 0);
	CHECK_INT_EQ(bundle_load(dir, &meta, err, sizeof(err)), -ELOOP);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK_STR_EQ(meta.pod_name, "");
	bundle_dir_remove(dir);
}

TEST(load_special_files_rejected)
{
	struct bundle_meta meta;
	char dir[64], path[600], err[256];

	/* A FIFO must not block the open. */
	CHECK(bundle_dir_make(dir, NULL));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK_INT_EQ(bundle_load(dir, &meta, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	bundle_dir_remove(dir);

	CHECK(bundle_dir_make(dir, NULL));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK_INT_EQ(bundle_load(dir, &meta, err, sizeof(err)), -EINVAL);
	bundle_dir_remove(dir);
}

static bool file_write_padded(const char *path, size_t size)
{
	/* A valid document padded with spaces to size bytes. */
	FILE *f = fopen(path, "w");
	static char spaces[65536];
	size_t left = size - 2;

	if (!f)
		return false;
	memset(spaces, ' ', sizeof(spaces));
	fputc('{', f);
	while (left > 0) {
		size_t n = left < sizeof(spaces) ? left : sizeof(spaces);

		fwrite(spaces, 1, n, f);
		left -= n;
	}
	fputc('}', f);
	return fclose(f) == 0;
}

TEST(load_size_limit)
{
	struct bundle_meta meta;
	char dir[64], path[600], err[256];

	CHECK(bundle_dir_make(dir, NULL));
	snprintf(path, sizeof(path), "%s/config.json", dir);

	CHECK(file_write_padded(path, BUNDLE_CONFIG_MAX));
	CHECK_INT_EQ(bundle_load(dir, &meta, err, sizeof(err)), 0);

	CHECK(file_write_padded(path, BUNDLE_CONFIG_MAX + 1));
	CHECK_INT_EQ(bundle_load(dir, &meta, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "the maximum is") != NULL);
	bundle_dir_remove(dir);
}

TEST(load_path_too_long)
{
	static char dir[5000];
	struct bundle_meta meta;
	char err[256];

	memset(dir, 'd', sizeof(dir) - 1);
	CHECK_INT_EQ(bundle_load(dir, &meta, err, sizeof(err)), -ENAMETOOLONG);
}

/* Every prefix of a real file is rejected or parsed, never read past. */
TEST(every_prefix_of_recorded_file)
{
	char path[512], *data = malloc(BUNDLE_CONFIG_MAX);
	struct bundle_meta meta;
	char err[256];
	size_t len, accepted = 0;
	FILE *f;

	CHECK(data != NULL);
	if (!data)
		return;
	data_path(path, sizeof(path), "crio.json");
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f) {
		free(data);
		return;
	}
	len = fread(data, 1, BUNDLE_CONFIG_MAX, f);
	fclose(f);

	for (size_t n = 0; n <= len; n++) {
		/* A copy of exactly n bytes, so a read past the end is caught by ASan. */
		char *prefix = malloc(n ? n : 1);
		int r;

		memcpy(prefix, data, n);
		r = bundle_parse(prefix, n, &meta, err, sizeof(err));
		CHECK(r == 0 || r == -EINVAL);
		accepted += r == 0;
		free(prefix);
	}
	/* The whole file and the whole file less its final newline. */
	CHECK_INT_EQ(accepted, 2);
	free(data);
}
