// SPDX-License-Identifier: Apache-2.0
/* Manifests: canonical writing, hostile parsing, signatures, comparison. */
#include <errno.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "test.h"

static char root[64];

static const char *at(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 256, "%s/%s", root, name);
	return p;
}

static void root_make(void)
{
	snprintf(root, sizeof(root), "/tmp/intact-test-XXXXXX");
	if (!mkdtemp(root))
		abort();
}

static void root_remove(void)
{
	char command[128];

	snprintf(command, sizeof(command), "rm -rf %s", root);
	(void)!system(command);
}

/* A manifest with two layers of made-up entries; the layer digests are computed. */
static struct manifest *manifest_sample(void)
{
	static const char blob[] =
	    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	static const char diff[] =
	    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	struct manifest *m = NULL;

	CHECK_INT_EQ(manifest_new("example.com/app:1.0", blob, diff, "amd64", "linux", NULL, &m),
		     0);
	for (int layer = 0; m && layer < 2; layer++) {
		struct layer_digest d = {0};

		d.entries = calloc(4, sizeof(*d.entries));
		d.n_entries = 4;
		d.entries[0] = (struct layer_entry){.path = strdup("bin"),
						    .type = LAYER_ENTRY_DIRECTORY,
						    .mode = 0755,
						    .opaque = layer == 1};
		d.entries[1] = (struct layer_entry){
		    .path = strdup("bin/sh"), .type = LAYER_ENTRY_REGULAR, .mode = 0755};
		memset(d.entries[1].sha256, 0xa0 + layer, SHA256_SIZE);
		d.entries[2] = (struct layer_entry){.path = strdup("bin/sh-link"),
						    .type = LAYER_ENTRY_SYMLINK,
						    .target = strdup("sh")};
		/* A name that is not UTF-8 goes through path_base64. */
		d.entries[3] = (struct layer_entry){.path = strdup("bin/\xff\xfe"),
						    .type = LAYER_ENTRY_WHITEOUT};
		CHECK_INT_EQ(layer_entries_digest(d.entries, d.n_entries, d.digest), 0);
		CHECK_INT_EQ(manifest_layer_add(m, blob, diff, &d), 0);
		CHECK(d.entries == NULL);
	}
	if (m)
		memset(m->key_id, 'a', KEY_ID_SIZE - 1);
	return m;
}

TEST(write_parse_round_trip)
{
	struct manifest *m = manifest_sample(), *back = NULL;
	char *data = NULL, *again = NULL, err[256] = "";
	size_t len = 0, again_len = 0;

	CHECK_INT_EQ(manifest_write(m, &data, &len), 0);
	CHECK_INT_EQ(manifest_parse(data, len, &back, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "  %s\n", err);
	if (back) {
		CHECK_STR_EQ(back->image, "example.com/app:1.0");
		CHECK_INT_EQ(back->n_layers, 2);
		CHECK_INT_EQ(back->layers[1].n_entries, 4);
		CHECK_STR_EQ(back->layers[1].entries[3].path, "bin/\xff\xfe");
		CHECK(back->layers[1].entries[0].opaque);
		CHECK(back->variant == NULL);
		/* Writing what was parsed gives the same bytes: the form is canonical. */
		CHECK_INT_EQ(manifest_write(back, &again, &again_len), 0);
		CHECK_MEM_EQ(again, again_len, data, len);
	}
	CHECK(data);
	if (data)
		CHECK(strstr(data, "\"path_base64\"") != NULL);
	free(data);
	free(again);
	manifest_free(m);
	manifest_free(back);
}

/* Parses text and expects a rejection whose reason contains expected. */
static void check_rejected(const char *text, const char *expected)
{
	struct manifest *m = NULL;
	char err[512] = "";

	CHECK_INT_EQ(manifest_parse(text, strlen(text), &m, err, sizeof(err)), -EBADMSG);
	CHECK(m == NULL);
	if (!strstr(err, expected))
		fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n", err, expected);
	CHECK(strstr(err, expected) != NULL);
}

/* Replaces the first occurrence of from in s (in place: to must not be longer). */
static char *text_replace(const char *s, const char *from, const char *to)
{
	char *out = malloc(strlen(s) + strlen(to) + 1), *p;

	strcpy(out, s);
	p = strstr(out, from);
	CHECK(p != NULL);
	if (p) {
		memmove(p + strlen(to), p + strlen(from), strlen(p + strlen(from)) + 1);
		memcpy(p, to, strlen(to));
	}
	return out;
}

TEST(parse_rejects_hostile_input)
{
	struct manifest *m = manifest_sample();
	char *data = NULL, *edited;
	size_t len;

	check_rejected("", "invalid JSON");
	check_rejected("[]", "not a JSON object");
	check_rejected("{\"schema_version\": 2}", "schema_version");
	check_rejected("{\"schema_version\": 1, \"image\": 5}", "\"image\"");

	CHECK_INT_EQ(manifest_write(m, &data, &len), 0);
	edited = text_replace(data, "\"mode\": 493", "\"mode\": 511");
	check_rejected(edited, "not to its content_digest");
	free(edited);
	edited = text_replace(data, "\"mode\": 493", "\"mode\": \"x\"");
	check_rejected(edited, "\"mode\"");
	free(edited);
	edited = text_replace(data, "\"mode\": 493", "\"mode\": 99999");
	check_rejected(edited, "\"mode\"");
	free(edited);
	edited = text_replace(data, "\"path\": \"bin/sh\"", "\"path\": \"bin/sa\"");
	check_rejected(edited, "not to its content_digest");
	free(edited);
	edited = text_replace(data, "\"path\": \"bin/sh\"", "\"path\": \"a\"");
	check_rejected(edited, "not sorted");
	free(edited);
	/* One file, one name: no "..", ".", empty component or leading "/". */
	static const char *const bad_paths[] = {
	    "../../etc/shadow", "bin/../sh", "bin/./sh", "bin//sh", "/bin/sh", "bin/", "."};
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		char replacement[64];

		snprintf(replacement, sizeof(replacement), "\"path\": \"%s\"", bad_paths[i]);
		edited = text_replace(data, "\"path\": \"bin/sh\"", replacement);
		check_rejected(edited, "canonical form");
		free(edited);
	}
	edited = text_replace(data, "\"type\": \"file\"", "\"type\": \"door\"");
	check_rejected(edited, "unknown file type");
	free(edited);
	edited =
	    text_replace(data, "\"config_digest\": \"sha256:", "\"config_digest\": \"sha256:/");
	check_rejected(edited, "config_digest");
	free(edited);
	edited = text_replace(data, "\"image\"", "\"key_id\"");
	check_rejected(edited, "duplicate");
	free(edited);
	/* Truncated anywhere, it is invalid JSON. */
	for (size_t cut = 1; cut < len; cut += len / 17) {
		struct manifest *parsed = NULL;
		char err[256];

		CHECK_INT_EQ(manifest_parse(data, cut, &parsed, err, sizeof(err)), -EBADMSG);
	}
	free(data);
	manifest_free(m);
}

static EVP_PKEY *key_generate(const char *type, const char *private_name, const char *public_name)
{
	EVP_PKEY *key = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
						: EVP_PKEY_Q_keygen(NULL, NULL, type);
	FILE *f;

	CHECK(key != NULL);
	f = fopen(at(private_name), "w");
	CHECK(f);
	if (f)
		CHECK(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	f = fopen(at(public_name), "w");
	CHECK(f);
	if (f)
		CHECK(PEM_write_PUBKEY(f, key) == 1);
	fclose(f);
	return key;
}

static void check_sign_verify(const char *type)
{
	EVP_PKEY *generated, *private = NULL, *public = NULL, *other;
	char *sig = NULL, err[256], id_private[KEY_ID_SIZE], id_public[KEY_ID_SIZE];
	const char data[] = "{\"manifest\": true}\n";
	char truncated[256];
	size_t sig_len;

	root_make();
	generated = key_generate(type, "key.pem", "key.pub");
	other = key_generate(type, "other.pem", "other.pub");
	CHECK_INT_EQ(key_load_private(at("key.pem"), &private, err, sizeof(err)), 0);
	CHECK_INT_EQ(key_load_public(at("key.pub"), &public, err, sizeof(err)), 0);
	CHECK_INT_EQ(key_id_compute(private, id_private), 0);
	CHECK_INT_EQ(key_id_compute(public, id_public), 0);
	CHECK_STR_EQ(id_private, id_public);

	CHECK_INT_EQ(manifest_sign(private, data, strlen(data), &sig), 0);
	if (!sig)
		goto out;
	sig_len = strlen(sig);
	CHECK(sig_len > 0);
	if (sig_len > 0)
		CHECK(sig[sig_len - 1] == '\n');
	CHECK_INT_EQ(manifest_verify(public, data, strlen(data), sig, sig_len, err, sizeof(err)),
		     0);

	/* Edited after signing. */
	CHECK_INT_EQ(
	    manifest_verify(public, "{\"manifest\": false}\n", 20, sig, sig_len, err, sizeof(err)),
	    -EKEYREJECTED);
	CHECK(strstr(err, "changed after signing") != NULL);
	/* Signed by another key. */
	CHECK_INT_EQ(manifest_verify(other, data, strlen(data), sig, sig_len, err, sizeof(err)),
		     -EKEYREJECTED);
	/* Truncated at a base64 quantum and elsewhere. */
	for (size_t cut = 0; cut + 1 < sig_len; cut += 4) {
		memcpy(truncated, sig, cut);
		CHECK_INT_EQ(
		    manifest_verify(public, data, strlen(data), truncated, cut, err, sizeof(err)),
		    -EBADMSG);
	}
	memcpy(truncated, sig, sig_len - 3);
	CHECK_INT_EQ(
	    manifest_verify(public, data, strlen(data), truncated, sig_len - 3, err, sizeof(err)),
	    -EBADMSG);
	CHECK(strstr(err, "truncated") != NULL);
out:
	free(sig);
	EVP_PKEY_free(generated);
	EVP_PKEY_free(other);
	EVP_PKEY_free(private);
	EVP_PKEY_free(public);
	root_remove();
}

TEST(sign_verify_ecdsa_p256)
{
	check_sign_verify("EC");
}

TEST(sign_verify_ed25519)
{
	check_sign_verify("ED25519");
}

TEST(key_load_rejects_other_types)
{
	EVP_PKEY *rsa, *key = NULL;
	char err[256] = "";
	FILE *f;

	root_make();
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f = fopen(at("rsa.pub"), "w");
	CHECK(f);
	if (f)
		CHECK(PEM_write_PUBKEY(f, rsa) == 1);
	fclose(f);
	CHECK_INT_EQ(key_load_public(at("rsa.pub"), &key, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "unsupported key type") != NULL);
	f = fopen(at("junk.pub"), "w");
	fputs("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", f);
	fclose(f);
	CHECK_INT_EQ(key_load_public(at("junk.pub"), &key, err, sizeof(err)), -EINVAL);
	CHECK(key == NULL);
	EVP_PKEY_free(rsa);
	root_remove();
}

TEST(compare_lists_differences)
{
	struct manifest *m = manifest_sample();
	struct layer_digest d = {0};
	struct manifest_difference *list = NULL;
	size_t listed = 0, count = 0;

	if (!m)
		return;
	/* The computed layer: bin/sh modified, bin/sh-link removed, bin/new added. */
	d.entries = calloc(4, sizeof(*d.entries));
	d.n_entries = 4;
	d.entries[0] = (struct layer_entry){
	    .path = strdup("bin"), .type = LAYER_ENTRY_DIRECTORY, .mode = 0755, .opaque = true};
	d.entries[1] = (struct layer_entry){.path = strdup("bin/new"), .type = LAYER_ENTRY_FIFO};
	d.entries[2] = (struct layer_entry){.path = strdup("bin/sh"), .type = LAYER_ENTRY_REGULAR};
	d.entries[3] =
	    (struct layer_entry){.path = strdup("bin/\xff\xfe"), .type = LAYER_ENTRY_WHITEOUT};
	CHECK_INT_EQ(manifest_layer_compare(&m->layers[1], &d, 10, &list, &listed, &count), 0);
	CHECK_INT_EQ(count, 3);
	CHECK_INT_EQ(listed, 3);
	if (listed == 3) {
		CHECK_STR_EQ(list[0].path, "bin/new");
		CHECK_INT_EQ(list[0].kind, MANIFEST_FILE_ADDED);
		CHECK_STR_EQ(list[1].path, "bin/sh");
		CHECK_INT_EQ(list[1].kind, MANIFEST_FILE_MODIFIED);
		CHECK_STR_EQ(list[2].path, "bin/sh-link");
		CHECK_INT_EQ(list[2].kind, MANIFEST_FILE_REMOVED);
	}
	manifest_differences_free(list, listed);

	/* The list is bounded; the count is not. */
	CHECK_INT_EQ(manifest_layer_compare(&m->layers[1], &d, 1, &list, &listed, &count), 0);
	CHECK_INT_EQ(listed, 1);
	CHECK_INT_EQ(count, 3);
	manifest_differences_free(list, listed);
	for (size_t i = 0; i < d.n_entries; i++)
		layer_entry_clear(&d.entries[i]);
	free(d.entries);
	manifest_free(m);
}

TEST(file_read_all_bounds)
{
	char *data = NULL;
	size_t len = 0;
	FILE *f;

	root_make();
	f = fopen(at("f"), "w");
	fputs("0123456789", f);
	fclose(f);
	CHECK_INT_EQ(file_read_all(at("f"), 10, &data, &len), 0);
	CHECK_INT_EQ(len, 10);
	free(data);
	CHECK_INT_EQ(file_read_all(at("f"), 9, &data, &len), -EFBIG);
	CHECK_INT_EQ(file_read_all(root, 9, &data, &len), -EINVAL);
	CHECK_INT_EQ(file_read_all(at("missing"), 9, &data, &len), -ENOENT);
	root_remove();
}
