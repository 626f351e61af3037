// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static char temp_dir[64];

static const char *temp_path(void)
{
	static char path[128];

	if (!temp_dir[0]) {
		snprintf(temp_dir, sizeof(temp_dir), "/tmp/intact-config-XXXXXX");
		if (!mkdtemp(temp_dir)) {
			perror("mkdtemp");
			exit(EXIT_FAILURE);
		}
	}
	snprintf(path, sizeof(path), "%s/intactd.yaml", temp_dir);
	return path;
}

static const char *file_write(const void *data, size_t len)
{
	const char *path = temp_path();
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	return path;
}

static int text_load(const char *text, struct config *c, struct config_error *err)
{
	return config_load(file_write(text, strlen(text)), c, err);
}

/* Loads text and checks that it fails with -EINVAL at line, on key, with message containing
 * part. */
static void check_rejected(const char *text, unsigned line, const char *key, const char *part)
{
	struct config_error err;
	struct config c;

	CHECK_INT_EQ(text_load(text, &c, &err), -EINVAL);
	CHECK_INT_EQ(err.line, line);
	CHECK_STR_EQ(err.key, key);
	CHECK_STR_EQ(err.file, temp_path());
	if (!strstr(err.message, part)) {
		test_fail(__FILE__, __LINE__, "message contains part");
		fprintf(stderr, "  message \"%s\", expected to contain \"%s\"\n", err.message,
			part);
	}
	/* A failed load leaves the defaults. */
	CHECK(c.allocations == NULL);
	CHECK(c.path == NULL);
	config_free(&c);
}

static void check_defaults(const struct config *c)
{
	CHECK(c->path == NULL);
	CHECK(c->stdout_json);
	CHECK(c->socket_enabled);
	CHECK_STR_EQ(c->socket_path, "/run/intact/events.sock");
	CHECK(c->socket_group == NULL);
	CHECK_INT_EQ(c->queue_frames, 4096);
	CHECK_INT_EQ(c->queue_bytes, 8 * 1024 * 1024);
	CHECK_INT_EQ(c->subscribers_max, 64);
	CHECK(c->tls_listen == NULL);
	CHECK(c->tls_cert == NULL);
	CHECK_STR_EQ(c->trust_directory, "/etc/intact/trust");
	CHECK_INT_EQ(c->verification_interval_sec, 600);
	CHECK_INT_EQ(c->verification_rate_limit, 64 * 1024 * 1024);
	CHECK_INT_EQ(c->shells.count, 10);
	CHECK_STR_EQ(c->shells.names[0], "sh");
	CHECK_STR_EQ(c->shells.names[9], "fish");
	CHECK_INT_EQ(c->policy.write.writable_count, 5);
	CHECK_STR_EQ(c->policy.write.writable[0], "/tmp");
	CHECK_STR_EQ(c->policy.write.writable[4], "/dev/shm");
	CHECK_INT_EQ(c->policy.watched_mounts_count, 0);
	CHECK_INT_EQ(c->overrides_count, 0);
	CHECK(!c->watch_host);
	CHECK_INT_EQ(c->host_paths_count, 0);
	CHECK(c->metrics_address == NULL);
	CHECK_INT_EQ(c->health_timeout_sec, 10);
	CHECK_INT_EQ(c->log_level, LOG_LEVEL_INFO);
	CHECK_INT_EQ(c->ring_buffer_bytes, 8 * 1024 * 1024);
	CHECK(c->node_name == NULL);
}

TEST(config_defaults_values)
{
	struct config c;

	config_defaults(&c);
	check_defaults(&c);
	config_free(&c);
}

TEST(config_missing_default_file_is_defaults)
{
	struct config_error err;
	struct config c;
	struct stat st;

	/* Only meaningful where the default file is absent, as on a build machine. */
	if (stat(CONFIG_PATH_DEFAULT, &st) == 0)
		return;
	CHECK_INT_EQ(config_load(NULL, &c, &err), 0);
	check_defaults(&c);
	config_free(&c);
}

TEST(config_missing_explicit_file_fails)
{
	struct config_error err;
	struct config c;
	char message[1024];

	CHECK_INT_EQ(config_load("/nonexistent/intactd.yaml", &c, &err), -ENOENT);
	CHECK_STR_EQ(err.file, "/nonexistent/intactd.yaml");
	CHECK(strstr(err.message, "No such file") != NULL);
	config_error_format(&err, message, sizeof(message));
	CHECK_STR_EQ(message,
		     "/nonexistent/intactd.yaml: failed to read: No such file or directory");
}

TEST(config_empty_file_is_defaults)
{
	struct config_error err;
	struct config c;

	CHECK_INT_EQ(text_load("", &c, &err), 0);
	CHECK_STR_EQ(c.path, temp_path());
	CHECK_INT_EQ(c.policy.write.writable_count, 5);
	config_free(&c);
	CHECK_INT_EQ(text_load("# only a comment\n---\n", &c, &err), 0);
	CHECK_INT_EQ(c.ring_buffer_bytes, 8 * 1024 * 1024);
	config_free(&c);
	/* A section left empty keeps its defaults. */
	CHECK_INT_EQ(text_load("outputs:\npolicy: ~\n", &c, &err), 0);
	CHECK(c.stdout_json);
	CHECK_INT_EQ(c.policy.write.writable_count, 5);
	config_free(&c);
}

static const char full_file[] = "outputs:\n"
				"  stdout: false\n"
				"  socket:\n"
				"    enabled: true\n"
				"    path: /run/x/events.sock\n"
				"    group: intact\n"
				"    queue_frames: 128\n"
				"    queue_bytes: 1048576\n"
				"    subscribers_max: 8\n"
				"  tls:\n"
				"    listen: \"[::1]:7443\"\n"
				"    cert: /etc/intact/tls/server.pem\n"
				"    key: /etc/intact/tls/server.key\n"
				"    ca: /etc/intact/tls/ca.pem\n"
				"verification:\n"
				"  trust_directory: /srv/trust\n"
				"  interval: 0\n"
				"  rate_limit: 1000\n"
				"rules:\n"
				"  shells: [sh, bash, nu]\n"
				"policy:\n"
				"  overrides:\n"
				"    - match: {image: \"registry.example/db:*\"}\n"
				"      writable: [/var/lib/postgresql]\n"
				"    - match:\n"
				"        namespace: \"kube-*\"\n"
				"        image: \"*/pause:*\"\n"
				"      watched_mounts: [/data]\n"
				"    - match: {namespace: build}\n"
				"      writable: []\n"
				"  writable:\n"
				"    - /tmp\n"
				"    - /scratch/\n"
				"  watched_mounts: [/config]\n"
				"host:\n"
				"  watch: false\n"
				"  paths: [/etc, /usr/bin]\n"
				"metrics:\n"
				"  address: 127.0.0.1:9464\n"
				"  health_timeout: 30\n"
				"log:\n"
				"  level: debug\n"
				"kernel:\n"
				"  ring_buffer_size: 16777216\n"
				"node:\n"
				"  name: node-7\n";

TEST(config_full_file)
{
	struct config_error err;
	struct config c;

	CHECK_INT_EQ(text_load(full_file, &c, &err), 0);
	CHECK_STR_EQ(err.message, "");
	CHECK_STR_EQ(c.path, temp_path());
	CHECK(!c.stdout_json);
	CHECK(c.socket_enabled);
	CHECK_STR_EQ(c.socket_path, "/run/x/events.sock");
	CHECK_STR_EQ(c.socket_group, "intact");
	CHECK_INT_EQ(c.queue_frames, 128);
	CHECK_INT_EQ(c.queue_bytes, 1048576);
	CHECK_INT_EQ(c.subscribers_max, 8);
	CHECK_STR_EQ(c.tls_listen, "[::1]:7443");
	CHECK_STR_EQ(c.tls_cert, "/etc/intact/tls/server.pem");
	CHECK_STR_EQ(c.tls_key, "/etc/intact/tls/server.key");
	CHECK_STR_EQ(c.tls_ca, "/etc/intact/tls/ca.pem");
	CHECK_STR_EQ(c.trust_directory, "/srv/trust");
	CHECK_INT_EQ(c.verification_interval_sec, 0);
	CHECK_INT_EQ(c.verification_rate_limit, 1000);
	CHECK_INT_EQ(c.shells.count, 3);
	CHECK_STR_EQ(c.shells.names[2], "nu");
	CHECK_INT_EQ(c.policy.write.writable_count, 2);
	CHECK_STR_EQ(c.policy.write.writable[1], "/scratch/");
	CHECK_INT_EQ(c.policy.watched_mounts_count, 1);
	CHECK_STR_EQ(c.policy.watched_mounts[0], "/config");
	CHECK(c.watch_host); /* paths imply watch */
	CHECK_INT_EQ(c.host_paths_count, 2);
	CHECK_STR_EQ(c.host_paths[1], "/usr/bin");
	CHECK_STR_EQ(c.metrics_address, "127.0.0.1:9464");
	CHECK_INT_EQ(c.health_timeout_sec, 30);
	CHECK_INT_EQ(c.log_level, LOG_LEVEL_DEBUG);
	CHECK_INT_EQ(c.ring_buffer_bytes, 16777216);
	CHECK_STR_EQ(c.node_name, "node-7");

	CHECK_INT_EQ(c.overrides_count, 3);
	CHECK_STR_EQ(c.overrides[0].image, "registry.example/db:*");
	CHECK(c.overrides[0].namespace == NULL);
	CHECK_INT_EQ(c.overrides[0].line, 23);
	CHECK_INT_EQ(c.overrides[0].policy.write.writable_count, 1);
	/* Overrides inherit the lists they leave out, even when "writable" comes later. */
	CHECK_INT_EQ(c.overrides[0].policy.watched_mounts_count, 1);
	CHECK_STR_EQ(c.overrides[0].policy.watched_mounts[0], "/config");
	CHECK_INT_EQ(c.overrides[1].policy.write.writable_count, 2);
	CHECK_STR_EQ(c.overrides[1].policy.write.writable[0], "/tmp");
	CHECK_STR_EQ(c.overrides[1].policy.watched_mounts[0], "/data");
	CHECK_INT_EQ(c.overrides[2].policy.write.writable_count, 0);
	config_free(&c);
	CHECK(c.path == NULL);
	CHECK(c.allocations == NULL);
}

TEST(config_policy_for_matches_overrides)
{
	struct config_error err;
	const struct config_policy *p;
	struct config c;

	CHECK_INT_EQ(text_load(full_file, &c, &err), 0);

	p = config_policy_for(&c, "registry.example/db:15", "default");
	CHECK(p == &c.overrides[0].policy);
	CHECK(!write_policy_forbids(&p->write, "/var/lib/postgresql/data/x"));
	CHECK(write_policy_forbids(&p->write, "/tmp/x"));

	/* Both patterns of the second override must match. */
	CHECK(config_policy_for(&c, "k8s.gcr.io/pause:3.9", "kube-system") ==
	      &c.overrides[1].policy);
	CHECK(config_policy_for(&c, "k8s.gcr.io/pause:3.9", "default") == &c.policy);
	CHECK(config_policy_for(&c, "nginx:1", "kube-system") == &c.policy);

	/* A namespace-only override matches any image, and an unknown image too. */
	CHECK(config_policy_for(&c, "nginx:1", "build") == &c.overrides[2].policy);
	CHECK(config_policy_for(&c, NULL, "build") == &c.overrides[2].policy);
	p = config_policy_for(&c, NULL, "build");
	CHECK(write_policy_forbids(&p->write, "/tmp/x"));

	/* An unknown namespace or image matches no override that names one. */
	CHECK(config_policy_for(&c, "registry.example/db:15", NULL) == &c.overrides[0].policy);
	CHECK(config_policy_for(&c, NULL, NULL) == &c.policy);
	CHECK(config_policy_for(&c, "registry.example/other:1", NULL) == &c.policy);

	/* First match wins. */
	CHECK(config_policy_for(&c, "registry.example/db:15", "build") == &c.overrides[0].policy);
	config_free(&c);

	config_defaults(&c);
	CHECK(config_policy_for(&c, "x", "y") == &c.policy);
	CHECK(!write_policy_forbids(&config_policy_for(&c, "x", "y")->write, "/dev/shm/a"));
}

TEST(config_unknown_key)
{
	check_rejected("outputs:\n  stdout: true\n  sockets: {}\n", 3, "outputs.sockets",
		       "unknown key; expected one of: stdout, socket, tls");
	check_rejected("bogus: 1\n", 1, "bogus", "unknown key");
	check_rejected("policy:\n  overrides:\n    - match: {image: x, tag: y}\n", 3,
		       "policy.overrides[0].match.tag", "unknown key");
}

TEST(config_wrong_type)
{
	check_rejected("outputs:\n  stdout: yes\n", 2, "outputs.stdout",
		       "expected true or false, found \"yes\"");
	check_rejected("outputs:\n  stdout: \"true\"\n", 2, "outputs.stdout", "wrong type");
	check_rejected("outputs: [a]\n", 1, "outputs", "expected a mapping, found a sequence");
	check_rejected("kernel:\n  ring_buffer_size: big\n", 2, "kernel.ring_buffer_size",
		       "expected an integer");
	check_rejected("kernel:\n  ring_buffer_size: -4096\n", 2, "kernel.ring_buffer_size",
		       "expected an integer");
	check_rejected("kernel:\n  ring_buffer_size: \"4096\"\n", 2, "kernel.ring_buffer_size",
		       "expected an integer");
	check_rejected("kernel:\n  ring_buffer_size: 0x1000\n", 2, "kernel.ring_buffer_size",
		       "expected an integer");
	check_rejected("policy:\n  writable: /tmp\n", 2, "policy.writable",
		       "expected a sequence, found a scalar");
	check_rejected("policy:\n  writable:\n    - [/tmp]\n", 3, "policy.writable[0]",
		       "expected a string, found a sequence");
	check_rejected("rules:\n  shells:\n    - sh\n    - {a: b}\n", 4, "rules.shells[1]",
		       "expected a string");
	check_rejected("node:\n  name: {a: b}\n", 2, "node.name", "expected a string");
	check_rejected("log:\n  level: verbose\n", 2, "log.level", "invalid log level");
	check_rejected("[1, 2]\n", 1, "", "expected a mapping");
	check_rejected("just text\n", 1, "", "expected a mapping, found a scalar");
	check_rejected("{[a]: b}\n", 1, "", "invalid key");
}

TEST(config_out_of_range)
{
	check_rejected("kernel:\n  ring_buffer_size: 1000\n", 2, "kernel.ring_buffer_size",
		       "out of range");
	check_rejected("kernel:\n  ring_buffer_size: 12288\n", 2, "kernel.ring_buffer_size",
		       "power of two");
	check_rejected("kernel:\n  ring_buffer_size: 99999999999999999999999\n", 2,
		       "kernel.ring_buffer_size", "out of range");
	check_rejected("outputs:\n  socket:\n    queue_frames: 3\n", 3,
		       "outputs.socket.queue_frames", "out of range: 3, expected 4 to 1048576");
	check_rejected("metrics:\n  health_timeout: 0\n", 2, "metrics.health_timeout",
		       "out of range");
	check_rejected("verification:\n  interval: 604801\n", 2, "verification.interval",
		       "out of range");
	check_rejected("metrics:\n  address: localhost\n", 2, "metrics.address",
		       "invalid address \"localhost\"");
	check_rejected("metrics:\n  address: 127.0.0.1:65536\n", 2, "metrics.address",
		       "invalid address");
	check_rejected("metrics:\n  address: \"\"\n", 2, "metrics.address", "write null to unset");
	check_rejected("outputs:\n  tls:\n    listen: 127.0.0.1:7443\n    cert: /c.pem\n", 3,
		       "outputs.tls.listen", "needs outputs.tls.cert");
}

TEST(config_duplicate_key)
{
	check_rejected("log:\n  level: info\nkernel: {}\nlog:\n  level: debug\n", 4, "log",
		       "duplicate key");
	check_rejected("outputs:\n  stdout: true\n  stdout: false\n", 3, "outputs.stdout",
		       "duplicate key");
}

TEST(config_invalid_path)
{
	check_rejected("policy:\n  writable: [/tmp, tmp]\n", 2, "policy.writable[1]",
		       "invalid path \"tmp\": must be absolute");
	check_rejected("policy:\n  writable:\n    - /tmp/../etc\n", 3, "policy.writable[0]",
		       "must not contain");
	check_rejected("outputs:\n  socket:\n    path: events.sock\n", 3, "outputs.socket.path",
		       "must be absolute");
	check_rejected("verification:\n  trust_directory: ./trust\n", 2,
		       "verification.trust_directory", "must be absolute");
	check_rejected("host:\n  paths: [\"\"]\n", 2, "host.paths[0]", "empty");
	check_rejected("host:\n  paths: [~]\n", 2, "host.paths[0]", "null");
	check_rejected("outputs:\n  socket:\n    path:\n", 3, "outputs.socket.path",
		       "invalid value: null");
	check_rejected("rules:\n  shells: [/bin/sh]\n", 2, "rules.shells[0]",
		       "expected a file name");
	check_rejected("node:\n  name: \"a\\0b\"\n", 2, "node.name", "NUL byte");
}

TEST(config_too_many_entries)
{
	char text[8192];
	size_t len;

	len = (size_t)snprintf(text, sizeof(text), "host:\n  paths:\n");
	for (int i = 0; i < CONFIG_HOST_PATHS_MAX + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "    - /p%d\n", i);
	check_rejected(text, 3 + CONFIG_HOST_PATHS_MAX, "host.paths[16]",
		       "too many entries: the maximum is 16");

	len = (size_t)snprintf(text, sizeof(text), "policy:\n  writable:\n");
	for (int i = 0; i < POLICY_PATHS_MAX + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "    - /w%d\n", i);
	check_rejected(text, 3 + POLICY_PATHS_MAX, "policy.writable[64]", "too many entries");
}

TEST(config_too_many_overrides)
{
	size_t size = 64 * (CONFIG_OVERRIDES_MAX + 2), len;
	char *text = malloc(size);

	CHECK(text != NULL);
	if (!text)
		return;
	len = (size_t)snprintf(text, size, "policy:\n  overrides:\n");
	for (int i = 0; i < CONFIG_OVERRIDES_MAX + 1; i++)
		len +=
		    (size_t)snprintf(text + len, size - len, "    - match: {namespace: n%d}\n", i);
	check_rejected(text, 3 + CONFIG_OVERRIDES_MAX, "policy.overrides[256]", "too many entries");
	free(text);
}

TEST(config_override_errors)
{
	check_rejected("policy:\n  overrides:\n    - writable: [/tmp]\n", 3, "policy.overrides[0]",
		       "missing key \"match\"");
	check_rejected("policy:\n  overrides:\n    - match: {}\n", 3, "policy.overrides[0].match",
		       "empty match");
	check_rejected("policy:\n  overrides:\n    - match: {image: ~}\n", 3,
		       "policy.overrides[0].match", "empty match");
	check_rejected("policy:\n  overrides:\n    - ~\n", 3, "policy.overrides[0]",
		       "expected a mapping");
	check_rejected("policy:\n  overrides: {match: {image: x}}\n", 2, "policy.overrides",
		       "expected a sequence");
	check_rejected("policy:\n  overrides:\n    - match: {image: x}\n      writable: [x]\n", 4,
		       "policy.overrides[0].writable[0]", "must be absolute");
}

TEST(config_aliases_rejected)
{
	/* The "billion laughs" shape: each alias would double the expansion. */
	check_rejected("rules:\n  shells: &a [sh, sh]\npolicy:\n  writable: [*a, *a]\n", 2,
		       "rules.shells", "anchors are not supported");
	check_rejected("rules:\n  shells: *s\n", 2, "rules.shells", "aliases are not supported");
	check_rejected("rules:\n  shells: !!seq [sh]\n", 2, "rules.shells",
		       "tags are not supported");
}

TEST(config_several_documents_rejected)
{
	check_rejected("log: {level: info}\n---\nlog: {level: debug}\n", 2, "",
		       "more than one document");
}

TEST(config_syntax_error_has_position)
{
	struct config_error err;
	struct config c;
	char message[1024];

	CHECK_INT_EQ(text_load("outputs:\n  stdout: true\n  socket: {enabled: 'x\n", &c, &err),
		     -EINVAL);
	CHECK(err.line >= 3);
	CHECK(strstr(err.message, "invalid YAML") != NULL);
	/* Control characters are found by libyaml's reader, which reports a byte offset. */
	CHECK_INT_EQ(text_load("log:\n  level: info\n\x01\n", &c, &err), -EINVAL);
	CHECK_INT_EQ(err.line, 3);
	CHECK_INT_EQ(err.column, 1);
	CHECK(strstr(err.message, "control characters") != NULL);
	CHECK_INT_EQ(text_load("log:\n  level: info\n  - x\n", &c, &err), -EINVAL);
	CHECK_INT_EQ(err.line, 3);
	CHECK_STR_EQ(err.key, "log");
	config_error_format(&err, message, sizeof(message));
	CHECK(strncmp(message, temp_path(), strlen(temp_path())) == 0);
	CHECK(strstr(message, ":3:") != NULL);
	CHECK(strstr(message, ": log: invalid YAML") != NULL);
}

TEST(config_binary_garbage_rejected)
{
	unsigned char garbage[4096];
	struct config_error err;
	struct config c;
	unsigned seed = 12345;

	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(garbage); i++) {
			seed = seed * 1103515245 + 12345;
			garbage[i] = (unsigned char)(seed >> 16);
		}
		CHECK_INT_EQ(config_load(file_write(garbage, sizeof(garbage)), &c, &err), -EINVAL);
		CHECK(err.message[0] != '\0');
	}
	/* Invalid UTF-8 after a valid start. */
	CHECK_INT_EQ(text_load("log:\n  level: \xff\xfe\n", &c, &err), -EINVAL);
	CHECK(strstr(err.message, "invalid YAML") != NULL);
}

TEST(config_deep_nesting_rejected)
{
	size_t depth = 200000, len = 0;
	char *text = malloc(2 * depth + 64);

	CHECK(text != NULL);
	if (!text)
		return;
	len += (size_t)sprintf(text, "rules:\n  shells: ");
	memset(text + len, '[', depth);
	len += depth;
	memset(text + len, ']', depth);
	len += depth;
	text[len] = '\0';
	check_rejected(text, 2, "rules.shells[0]", "expected a string, found a sequence");

	/* Nesting under an unknown key fails at the key, before the nesting is read. */
	memcpy(text, "zzzzz: ", 7);
	memset(text + 7, '{', depth);
	text[7 + depth] = '\0';
	check_rejected(text, 1, "zzzzz", "unknown key");
	free(text);
}

TEST(config_huge_file_rejected)
{
	size_t size = CONFIG_FILE_MAX + 1;
	struct config_error err;
	struct config c;
	char *text = malloc(size);

	CHECK(text != NULL);
	if (!text)
		return;
	memset(text, '#', size);
	text[size - 1] = '\n';
	CHECK_INT_EQ(config_load(file_write(text, size), &c, &err), -EFBIG);
	CHECK(strstr(err.message, "file too large") != NULL);
	CHECK_INT_EQ(err.line, 0);
	free(text);

	/* A string longer than CONFIG_STRING_MAX, inside an allowed file size. */
	text = malloc(CONFIG_STRING_MAX + 64);
	if (!text)
		return;
	strcpy(text, "node:\n  name: ");
	memset(text + strlen(text), 'n', CONFIG_STRING_MAX + 1);
	text[14 + CONFIG_STRING_MAX + 1] = '\0';
	check_rejected(text, 2, "node.name", "string too long");
	free(text);
}

TEST(config_special_files_rejected)
{
	struct config_error err;
	struct config c;
	char fifo[128];

	CHECK_INT_EQ(config_load("/dev/zero", &c, &err), -EINVAL);
	CHECK(strstr(err.message, "not a regular file") != NULL);
	CHECK_INT_EQ(config_load("/tmp", &c, &err), -EINVAL);

	(void)temp_path();
	snprintf(fifo, sizeof(fifo), "%s/fifo", temp_dir);
	CHECK_INT_EQ(mkfifo(fifo, 0600), 0);
	CHECK_INT_EQ(config_load(fifo, &c, &err), -EINVAL);
	unlink(fifo);
}

TEST(config_shipped_file_equals_defaults)
{
	struct config_error err;
	struct config c;
	char message[1024];
	int r;

	/* The unit tests run from the repository root. */
	r = config_load("packaging/intactd.yaml", &c, &err);
	config_error_format(&err, message, sizeof(message));
	if (r < 0)
		fprintf(stderr, "  %s\n", message);
	CHECK_INT_EQ(r, 0);
	c.path = NULL;
	check_defaults(&c);
	config_free(&c);
}

TEST(config_log_level_names)
{
	enum log_level level;

	CHECK_INT_EQ(config_log_level_parse("warning", &level), 0);
	CHECK_INT_EQ(level, LOG_LEVEL_WARNING);
	CHECK_INT_EQ(config_log_level_parse("error", &level), 0);
	CHECK_INT_EQ(level, LOG_LEVEL_ERROR);
	CHECK_INT_EQ(config_log_level_parse("Info", &level), -EINVAL);
	CHECK_INT_EQ(config_log_level_parse("", &level), -EINVAL);
}

TEST(config_cleanup_temp_dir)
{
	char command[128];

	(void)temp_path();
	snprintf(command, sizeof(command), "rm -rf '%s'", temp_dir);
	CHECK_INT_EQ(system(command), 0);
}
