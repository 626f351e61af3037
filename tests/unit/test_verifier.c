// SPDX-License-Identifier: Apache-2.0
/*
 * The verifier end to end on files: a trust directory with keys and signed
 * manifests, layer directories in overlayfs form, verdicts read through
 * the eventfd as the daemon's event loop would.
 */
#include <errno.h>
#include <openssl/pem.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "verifier.h"
#include "test.h"

#define IMAGE "example.com/app:1"

static char root[64];

static const char *at(const char *fmt, ...)
{
	static char paths[16][512];
	static int next;
	char *p = paths[next++ % 16];
	va_list ap;
	int n = snprintf(p, 512, "%s/", root);

	va_start(ap, fmt);
	vsnprintf(p + n, 512 - (size_t)n, fmt, ap);
	va_end(ap);
	return p;
}

static int run(const char *fmt, ...)
{
	char command[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	return system(command);
}

static void file_write(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
}

static EVP_PKEY *key_make(const char *public_path)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	FILE *f;

	CHECK(key != NULL);
	if (public_path) {
		f = fopen(public_path, "w");
		CHECK(f);
		if (f)
			CHECK(PEM_write_PUBKEY(f, key) == 1);
		fclose(f);
	}
	return key;
}

/* Writes a manifest of the layer directories (bottom-most first) and its signature. */
static void manifest_make(const char *path, const char *image, EVP_PKEY *key,
			  const char *const *dirs, size_t n)
{
	static const char zero[] =
	    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	struct manifest *m = NULL;
	char *data = NULL, *sig = NULL, sig_path[600], err[256];
	size_t len = 0;

	CHECK_INT_EQ(manifest_new(image, zero, zero, "amd64", "linux", NULL, &m), 0);
	for (size_t i = 0; m && i < n; i++) {
		struct layer_digest *d = NULL;

		CHECK_INT_EQ(layer_digest_from_dir(dirs[i], NULL, &d, err, sizeof(err)), 0);
		if (d)
			CHECK_INT_EQ(manifest_layer_add(m, zero, zero, d), 0);
		layer_digest_free(d);
	}
	if (!m)
		return;
	CHECK_INT_EQ(key_id_compute(key, m->key_id), 0);
	CHECK_INT_EQ(manifest_write(m, &data, &len), 0);
	CHECK_INT_EQ(manifest_sign(key, data, len, &sig), 0);
	file_write(path, data, len);
	snprintf(sig_path, sizeof(sig_path), "%s.sig", path);
	if (sig)
		file_write(sig_path, sig, strlen(sig));
	free(data);
	free(sig);
	manifest_free(m);
}

/*
 * Three layers in overlayfs form (the middle one deletes etc/motd and
 * replaces opt/), a trust directory with the image's manifest, and
 * manifests that must be rejected.
 */
static void fixture_make(void)
{
	EVP_PKEY *trusted, *untrusted;
	const char *dirs[3];
	char *text;
	size_t len;
	FILE *f;

	snprintf(root, sizeof(root), "/tmp/intact-test-XXXXXX");
	if (!mkdtemp(root))
		abort();
	CHECK_INT_EQ(
	    run("cd %s && mkdir -p trust/keys trust/manifests l0/etc l0/opt/old l0/bin "
		"l1/etc l1/opt/new l2/bin other && echo base > l0/etc/motd && echo old > "
		"l0/opt/old/f && echo 1 > l0/bin/tool && echo new > l1/opt/new/f && echo 2 > "
		"l2/bin/tool && ln -s /etc/shadow l2/bin/escape && mkfifo l2/bin/pipe && echo "
		"x > other/x",
		root),
	    0);
	CHECK_INT_EQ(mknod(at("l1/etc/motd"), S_IFCHR, makedev(0, 0)), 0);
	CHECK_INT_EQ(setxattr(at("l1/opt"), "trusted.overlay.opaque", "y", 1, 0), 0);

	trusted = key_make(at("trust/keys/trusted.pem"));
	untrusted = key_make(NULL);
	dirs[0] = at("l0");
	dirs[1] = at("l1");
	dirs[2] = at("l2");
	manifest_make(at("trust/manifests/app.json"), IMAGE, trusted, dirs, 3);
	manifest_make(at("trust/manifests/untrusted.json"), "evil/app:1", untrusted, dirs, 3);
	manifest_make(at("trust/manifests/truncated.json"), "x/app:1", trusted, dirs, 3);
	manifest_make(at("trust/manifests/edited.json"), "y/app:1", trusted, dirs, 3);
	CHECK_INT_EQ(truncate(at("trust/manifests/truncated.json.sig"), 30), 0);
	CHECK_INT_EQ(run("sed -i 's|y/app:1|z/app:1|' %s/trust/manifests/edited.json", root), 0);
	CHECK_INT_EQ(
	    run("cp %s/trust/manifests/app.json %s/trust/manifests/nosig.json", root, root), 0);
	f = fopen(at("trust/keys/broken.pem"), "w");
	fputs("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", f);
	fclose(f);
	/* A manifest that is not JSON, with a valid signature over its bytes. */
	text = strdup("not json\n");
	len = strlen(text);
	file_write(at("trust/manifests/garbage.json"), text, len);
	{
		char *sig = NULL;

		CHECK_INT_EQ(manifest_sign(trusted, text, len, &sig), 0);
		if (sig)
			file_write(at("trust/manifests/garbage.json.sig"), sig, strlen(sig));
		free(sig);
	}
	free(text);
	EVP_PKEY_free(trusted);
	EVP_PKEY_free(untrusted);
}

static void fixture_remove(void)
{
	(void)run("rm -rf %s", root);
}

static struct verifier *verifier_start(const struct verifier_options *extra)
{
	struct verifier_options o = {0};
	struct verifier *v = NULL;

	if (extra)
		o = *extra;
	o.trust_dir = at("trust");
	CHECK_INT_EQ(verifier_new(&o, &v), 0);
	return v;
}

/* Waits up to about 10 seconds for a verdict, as an event loop would: poll, then take. */
static struct verdict *verdict_wait(struct verifier *v)
{
	struct pollfd p = {.fd = verifier_event_fd(v), .events = POLLIN};
	struct verdict *verdict = NULL;

	for (int i = 0; i < 100 && !verdict; i++) {
		if (poll(&p, 1, 100) == 1)
			(void)verifier_next_verdict(v, &verdict);
	}
	CHECK(verdict != NULL);
	return verdict;
}

/* Requests a verification of the named directories, given bottom-most first. */
static struct verdict *verify(struct verifier *v, const char *image, const char *const *names,
			      size_t n)
{
	const char *lowerdirs[8];
	char paths[8][512];

	/* overlayfs order: top-most first. */
	for (size_t i = 0; i < n; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", root, names[n - 1 - i]);
		lowerdirs[i] = paths[i];
	}
	CHECK_INT_EQ(verifier_request(v, "c1", image, lowerdirs, n), 0);
	return verdict_wait(v);
}

static const char *const layers[] = {"l0", "l1", "l2"};

static bool rejection_has(struct verifier *v, const char *file, const char *reason)
{
	size_t n;
	const struct verifier_rejection *list = verifier_rejections(v, &n);

	for (size_t i = 0; i < n; i++)
		if (strstr(list[i].path, file) && strstr(list[i].reason, reason))
			return true;
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  rejected %s: %s\n", list[i].path, list[i].reason);
	return false;
}

TEST(trust_dir_rejections_reported)
{
	struct verifier_counters c;
	struct verifier *v;

	fixture_make();
	v = verifier_start(NULL);
	if (v) {
		verifier_counters_get(v, &c);
		CHECK_INT_EQ(c.keys_loaded, 1);
		CHECK_INT_EQ(c.manifests_loaded, 1);
		CHECK_INT_EQ(c.files_rejected, 6);
		CHECK(rejection_has(v, "broken.pem", "invalid public key"));
		CHECK(rejection_has(v, "untrusted.json", "not trusted"));
		CHECK(rejection_has(v, "truncated.json", "truncated"));
		CHECK(rejection_has(v, "edited.json", "changed after signing"));
		CHECK(rejection_has(v, "nosig.json", "failed to read the signature"));
		CHECK(rejection_has(v, "garbage.json", "invalid manifest (validly signed)"));
	}
	verifier_free(v);
	fixture_remove();
}

TEST(matching_layers_verified)
{
	struct verifier *v;
	struct verdict *verdict;

	fixture_make();
	v = verifier_start(NULL);
	verdict = v ? verify(v, IMAGE, layers, 3) : NULL;
	if (verdict) {
		CHECK_STR_EQ(verdict_outcome_name(verdict->outcome), "VERIFIED");
		CHECK_STR_EQ(verdict->container_id, "c1");
		CHECK(verdict->manifest_path);
		if (verdict->manifest_path)
			CHECK(strstr(verdict->manifest_path, "app.json"));
		CHECK_INT_EQ(strlen(verdict->key_id), KEY_ID_SIZE - 1);
		CHECK_INT_EQ(verdict->n_layers, 3);
		/* Layer 0 is the bottom-most: the last lowerdir. */
		CHECK(verdict->n_layers == 3);
		if (verdict->n_layers == 3)
			CHECK(strstr(verdict->layers[0].dir, "/l0"));
		CHECK(verdict->n_layers == 3);
		if (verdict->n_layers == 3)
			CHECK(verdict->layers[2].match);
	}
	verdict_free(verdict);
	verifier_free(v);
	fixture_remove();
}

TEST(same_image_without_name_verified)
{
	struct verifier *v;
	struct verdict *verdict;

	fixture_make();
	v = verifier_start(NULL);
	verdict = v ? verify(v, NULL, layers, 3) : NULL;
	if (verdict)
		CHECK_STR_EQ(verdict_outcome_name(verdict->outcome), "VERIFIED");
	verdict_free(verdict);
	verifier_free(v);
	fixture_remove();
}

TEST(unknown_layers_unsigned)
{
	const char *const names[] = {"other"};
	struct verifier *v;
	struct verdict *verdict;

	fixture_make();
	v = verifier_start(NULL);
	verdict = v ? verify(v, "unknown/image:1", names, 1) : NULL;
	if (verdict) {
		CHECK_STR_EQ(verdict_outcome_name(verdict->outcome), "UNSIGNED");
		CHECK(verdict->manifest_path == NULL);
		CHECK_INT_EQ(verdict->n_layers, 1);
		CHECK(verdict->n_layers == 1);
		if (verdict->n_layers == 1)
			CHECK(strncmp(verdict->layers[0].digest, "sha256:", 7) == 0);
		CHECK(verdict->n_layers == 1);
		if (verdict->n_layers == 1)
			CHECK(verdict->layers[0].expected[0] == '\0');
	}
	verdict_free(verdict);
	verifier_free(v);
	fixture_remove();
}

TEST(modified_layer_mismatch_after_invalidate)
{
	struct verifier_counters c;
	struct verifier *v;
	struct verdict *verdict;

	fixture_make();
	v = verifier_start(NULL);
	if (!v)
		goto out;
	verdict = verify(v, IMAGE, layers, 3);
	CHECK(verdict);
	if (verdict)
		CHECK(verdict->outcome == VERDICT_VERIFIED);
	verdict_free(verdict);

	/* The layer changes under the cache: the cached digest is still returned... */
	file_write(at("l1/opt/new/f"), "tampered\n", 9);
	verdict = verify(v, IMAGE, layers, 3);
	CHECK(verdict);
	if (verdict)
		CHECK(verdict->outcome == VERDICT_VERIFIED);
	verdict_free(verdict);
	verifier_counters_get(v, &c);
	CHECK_INT_EQ(c.cache_hits, 3);
	CHECK_INT_EQ(c.cache_entries, 3);

	/* ...until the daemon invalidates it. */
	CHECK_INT_EQ(verifier_invalidate_dir(v, at("l1")), 1);
	CHECK_INT_EQ(verifier_invalidate_dir(v, at("l1")), 0);
	verdict = verify(v, IMAGE, layers, 3);
	if (verdict) {
		CHECK_STR_EQ(verdict_outcome_name(verdict->outcome), "LAYER_MISMATCH");
		CHECK(verdict->manifest_path);
		if (verdict->manifest_path)
			CHECK(strstr(verdict->manifest_path, "app.json"));
		CHECK_INT_EQ(verdict->n_layers, 3);
		if (verdict->n_layers == 3) {
			const struct verdict_layer *l = &verdict->layers[1];

			CHECK(verdict->layers[0].match);
			CHECK(!l->match);
			CHECK(strstr(l->dir, "/l1") != NULL);
			CHECK(strcmp(l->digest, l->expected) != 0);
			CHECK_INT_EQ(l->n_differences, 1);
			CHECK(l->n_differences_listed == 1);
			if (l->n_differences_listed == 1)
				CHECK(strcmp(l->differences[0].path, "opt/new/f") == 0);
			CHECK(l->n_differences_listed == 1);
			if (l->n_differences_listed == 1)
				CHECK(l->differences[0].kind == MANIFEST_FILE_MODIFIED);
		}
	}
	verdict_free(verdict);
	verifier_counters_get(v, &c);
	CHECK_INT_EQ(c.verdicts[VERDICT_VERIFIED], 2);
	CHECK_INT_EQ(c.verdicts[VERDICT_LAYER_MISMATCH], 1);
	CHECK(c.bytes_hashed > 0);
out:
	verifier_free(v);
	fixture_remove();
}

TEST(majority_match_names_manifest)
{
	struct verifier *v;
	struct verdict *verdict;

	fixture_make();
	/* No image name: two of three layers matching point to the manifest. */
	file_write(at("l2/bin/added"), "x", 1);
	v = verifier_start(NULL);
	verdict = v ? verify(v, NULL, layers, 3) : NULL;
	if (verdict) {
		CHECK_STR_EQ(verdict_outcome_name(verdict->outcome), "LAYER_MISMATCH");
		CHECK(verdict->n_layers == 3);
		if (verdict->n_layers == 3)
			CHECK(!verdict->layers[2].match);
		CHECK(verdict->n_layers == 3);
		if (verdict->n_layers == 3) {
			CHECK(verdict->layers[2].n_differences_listed == 1);
			if (verdict->layers[2].n_differences_listed == 1)
				CHECK(verdict->layers[2].differences[0].kind ==
				      MANIFEST_FILE_ADDED);
		}
	}
	verdict_free(verdict);
	verifier_free(v);
	fixture_remove();
}

TEST(wrong_layer_order_not_verified)
{
	const char *const reversed[] = {"l2", "l1", "l0"};
	struct verifier *v;
	struct verdict *verdict;

	fixture_make();
	v = verifier_start(NULL);
	verdict = v ? verify(v, IMAGE, reversed, 3) : NULL;
	if (verdict) {
		CHECK_STR_EQ(verdict_outcome_name(verdict->outcome), "LAYER_MISMATCH");
		CHECK(verdict->n_layers == 3);
		if (verdict->n_layers == 3)
			CHECK(verdict->layers[1].match);
		CHECK(verdict->n_layers == 3);
		if (verdict->n_layers == 3)
			CHECK(!verdict->layers[0].match);
	}
	verdict_free(verdict);
	verifier_free(v);
	fixture_remove();
}

TEST(missing_layer_dir_error)
{
	const char *const names[] = {"l0", "gone"};
	struct verifier *v;
	struct verdict *verdict;

	fixture_make();
	v = verifier_start(NULL);
	verdict = v ? verify(v, IMAGE, names, 2) : NULL;
	if (verdict) {
		CHECK_STR_EQ(verdict_outcome_name(verdict->outcome), "ERROR");
		CHECK(verdict->message);
		if (verdict->message)
			CHECK(strstr(verdict->message, "gone"));
	}
	verdict_free(verdict);
	verifier_free(v);
	fixture_remove();
}

TEST(reload_reads_new_keys)
{
	struct verifier_counters c;
	struct verifier *v;
	EVP_PKEY *key;
	const char *dirs[1];

	fixture_make();
	v = verifier_start(NULL);
	if (!v)
		goto out;
	key = key_make(at("trust/keys/second.pem"));
	dirs[0] = at("other");
	manifest_make(at("trust/manifests/other.json"), "other/image:2", key, dirs, 1);
	EVP_PKEY_free(key);
	CHECK_INT_EQ(verifier_reload(v), 0);
	verifier_counters_get(v, &c);
	CHECK_INT_EQ(c.keys_loaded, 2);
	CHECK_INT_EQ(c.manifests_loaded, 2);
out:
	verifier_free(v);
	fixture_remove();
}

TEST(free_cancels_slow_verification)
{
	struct verifier_options o = {.rate_limit = 1024};
	const char *lowerdirs[1];
	struct timespec start, end;
	struct verifier *v;

	fixture_make();
	CHECK_INT_EQ(run("head -c 1048576 /dev/zero > %s/other/big", root), 0);
	v = verifier_start(&o);
	if (!v)
		goto out;
	lowerdirs[0] = at("other");
	CHECK_INT_EQ(verifier_request(v, "c2", NULL, lowerdirs, 1), 0);
	usleep(100 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* At 1 KiB/s the walk would take about 17 minutes. */
	verifier_free(v);
	clock_gettime(CLOCK_MONOTONIC, &end);
	CHECK(end.tv_sec - start.tv_sec < 2);
out:
	fixture_remove();
}

TEST(queue_full_rejected)
{
	struct verifier_options o = {.rate_limit = 1024, .max_queue = 1};
	struct verifier_counters c;
	const char *lowerdirs[1];
	struct verifier *v;
	int r = 0;

	fixture_make();
	CHECK_INT_EQ(run("head -c 1048576 /dev/zero > %s/other/big", root), 0);
	v = verifier_start(&o);
	if (!v)
		goto out;
	lowerdirs[0] = at("other");
	/* The worker is busy with the first request; one more fits the queue. */
	for (int i = 0; i < 3 && r == 0; i++)
		r = verifier_request(v, "c3", NULL, lowerdirs, 1);
	CHECK_INT_EQ(r, -ENOBUFS);
	verifier_counters_get(v, &c);
	CHECK_INT_EQ(c.requests_dropped, 1);
	verifier_free(v);
out:
	fixture_remove();
}
