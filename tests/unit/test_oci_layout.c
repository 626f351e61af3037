// SPDX-License-Identifier: Apache-2.0
/*
 * OCI image layouts built here: layer tars by GNU tar (gzip, zstd and
 * uncompressed), blobs, config, manifest and index.json written by the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci_layout.h"
#include "test.h"

static char root[64];

static const char *at(const char *fmt, ...)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];
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

static char *file_slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	char *data = NULL;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	data = malloc((size_t)len + 1);
	if (fread(data, 1, (size_t)len, f) != (size_t)len)
		len = 0;
	fclose(f);
	*ret_len = (size_t)len;
	return data;
}

/* Stores data as a blob of the layout; returns its digest text in digest. */
static void blob_add(const char *data, size_t len, char digest[DIGEST_TEXT_SIZE])
{
	uint8_t md[SHA256_SIZE];
	FILE *f;

	EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
	digest_to_text(md, digest);
	f = fopen(at("layout/blobs/sha256/%s", digest + 7), "w");
	CHECK(f != NULL);
	fwrite(data, 1, len, f);
	fclose(f);
}

static void file_digest(const char *path, char digest[DIGEST_TEXT_SIZE])
{
	size_t len = 0;
	char *data = file_slurp(path, &len);
	uint8_t md[SHA256_SIZE];

	EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
	digest_to_text(md, digest);
	free(data);
}

struct fixture {
	char manifest[DIGEST_TEXT_SIZE];
	char layers[3][DIGEST_TEXT_SIZE];
	char diff_ids[3][DIGEST_TEXT_SIZE];
};

/*
 * A three-layer image: a base, a layer that deletes etc/motd and replaces
 * opt/ (opaque), and a layer that rewrites bin/tool. The layers are stored
 * gzip'd, zstd'd and uncompressed. Tagged "v1" and second in index.json.
 */
static void layout_make_with(struct fixture *fx, bool wrong_diff_id)
{
	static const char *const compress[] = {"gzip -n", "zstd -q", "cat"};
	static const char *const media[] = {
	    "application/vnd.oci.image.layer.v1.tar+gzip",
	    "application/vnd.oci.image.layer.v1.tar+zstd",
	    "application/vnd.oci.image.layer.v1.tar",
	};
	char config_digest[DIGEST_TEXT_SIZE], other[DIGEST_TEXT_SIZE], text[4096];
	size_t len;
	int n;

	snprintf(root, sizeof(root), "/tmp/intact-test-XXXXXX");
	if (!mkdtemp(root))
		abort();
	CHECK_INT_EQ(run("cd %s && mkdir -p layout/blobs/sha256 l0/bin l0/etc l0/opt/old l1/etc "
			 "l1/opt/new l2/bin && echo base > l0/etc/motd && echo 1 > l0/bin/tool && "
			 "echo old > l0/opt/old/f && touch l1/etc/.wh.motd l1/opt/.wh..wh..opq && "
			 "echo new > l1/opt/new/f && echo 2 > l2/bin/tool",
			 root),
		     0);
	CHECK_INT_EQ(run("echo '{\"imageLayoutVersion\": \"1.0.0\"}' > %s/layout/oci-layout", root),
		     0);

	for (int i = 0; i < 3; i++) {
		char *data;

		CHECK_INT_EQ(
		    run("tar --numeric-owner -C %s/l%d -cf %s/l%d.tar . && %s < %s/l%d.tar > "
			"%s/l%d.blob",
			root, i, root, i, compress[i], root, i, root, i),
		    0);
		file_digest(at("l%d.tar", i), fx->diff_ids[i]);
		if (wrong_diff_id && i == 0)
			memcpy(fx->diff_ids[i] + 7, "00000000", 8);
		data = file_slurp(at("l%d.blob", i), &len);
		blob_add(data, len, fx->layers[i]);
		free(data);
	}
	n = snprintf(text, sizeof(text),
		     "{\"architecture\": \"amd64\", \"os\": \"linux\", \"rootfs\": {\"type\": "
		     "\"layers\", \"diff_ids\": [\"%s\", \"%s\", \"%s\"]}}",
		     fx->diff_ids[0], fx->diff_ids[1], fx->diff_ids[2]);
	blob_add(text, (size_t)n, config_digest);

	{
		size_t config_len;
		char *config =
		    file_slurp(at("layout/blobs/sha256/%s", config_digest + 7), &config_len);

		n = snprintf(text, sizeof(text),
			     "{\"schemaVersion\": 2, \"mediaType\": "
			     "\"application/vnd.oci.image.manifest.v1+json\", \"config\": "
			     "{\"mediaType\": \"application/vnd.oci.image.config.v1+json\", "
			     "\"digest\": \"%s\", \"size\": %zu}, \"layers\": [",
			     config_digest, config_len);
		free(config);
	}
	for (int i = 0; i < 3; i++) {
		struct stat st;

		CHECK_INT_EQ(stat(at("l%d.blob", i), &st), 0);
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "%s{\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %jd}",
			      i ? ", " : "", media[i], fx->layers[i], (intmax_t)st.st_size);
	}
	n += snprintf(text + n, sizeof(text) - (size_t)n, "]}");
	blob_add(text, (size_t)n, fx->manifest);
	blob_add("{}", 2, other);

	len = strlen(text);
	n = snprintf(
	    text, sizeof(text),
	    "{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": "
	    "\"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"%s\", \"size\": "
	    "2, \"annotations\": {\"org.opencontainers.image.ref.name\": \"other\"}}, "
	    "{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": "
	    "\"%s\", \"size\": %zu, \"annotations\": {\"org.opencontainers.image.ref.name\": "
	    "\"v1\", \"io.containerd.image.name\": \"example.com/app:v1\"}}]}",
	    other, fx->manifest, len);
	{
		FILE *f = fopen(at("layout/index.json"), "w");

		fwrite(text, 1, (size_t)n, f);
		fclose(f);
	}
}

static void layout_make(struct fixture *fx)
{
	layout_make_with(fx, false);
}

static void layout_remove(void)
{
	(void)run("rm -rf %s", root);
}

static int layout_read(const char *tag, struct oci_image **ret, char *err, size_t err_size)
{
	int r = oci_layout_read(at("layout"), tag, NULL, ret, err, err_size);

	if (r < 0 && err_size > 0)
		fprintf(stderr, "  oci_layout_read: %d %s\n", r, err);
	return r;
}

TEST(layout_read_by_tag)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	layout_make(&fx);
	CHECK_INT_EQ(layout_read("v1", &image, err, sizeof(err)), 0);
	if (image) {
		CHECK_STR_EQ(image->name, "example.com/app:v1");
		CHECK_STR_EQ(image->manifest_digest, fx.manifest);
		CHECK_STR_EQ(image->architecture, "amd64");
		CHECK_INT_EQ(image->n_layers, 3);
		for (size_t i = 0; i < image->n_layers && i < 3; i++) {
			CHECK_STR_EQ(image->layers[i].blob_digest, fx.layers[i]);
			CHECK_STR_EQ(image->layers[i].diff_id, fx.diff_ids[i]);
			CHECK_INT_EQ(image->layers[i].digest->n_errors, 0);
		}
	}
	oci_image_free(image);
	layout_remove();
}

/* Unpacks a layer tar as containerd's overlay snapshotter does: whiteout files become 0/0
 * character devices, opaque markers a trusted.overlay.opaque xattr. */
static void layer_unpack(int index, const char *dir)
{
	CHECK_INT_EQ(
	    run("mkdir -p %s/%s && tar -C %s/%s -xf %s/l%d.tar && cd %s/%s && "
		"find . -name '.wh.*' ! -name .wh..wh..opq | while read -r f; do rm \"$f\" "
		"&& mknod \"$(dirname \"$f\")/$(basename \"$f\" | cut -c5-)\" c 0 0; done && "
		"find . -name .wh..wh..opq | while read -r f; do rm \"$f\" && python3 -c "
		"'import os,sys; os.setxattr(sys.argv[1], \"trusted.overlay.opaque\", "
		"b\"y\")' \"$(dirname \"$f\")\"; done",
		root, dir, root, dir, root, index, root, dir),
	    0);
}

TEST(layer_digests_match_unpacked_dirs)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	layout_make(&fx);
	CHECK_INT_EQ(layout_read("v1", &image, err, sizeof(err)), 0);
	for (int i = 0; image && i < 3; i++) {
		struct layer_digest *d = NULL;
		char dir[16];

		snprintf(dir, sizeof(dir), "snap%d", i);
		layer_unpack(i, dir);
		CHECK_INT_EQ(layer_digest_from_dir(at("%s", dir), NULL, &d, err, sizeof(err)), 0);
		if (d)
			CHECK_STR_EQ(d->digest, image->layers[i].digest->digest);
		layer_digest_free(d);
	}
	oci_image_free(image);
	layout_remove();
}

TEST(layout_default_is_first)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	layout_make(&fx);
	/* The first entry's manifest blob is "{}": it has no config. */
	CHECK(oci_layout_read(at("layout"), NULL, NULL, &image, err, sizeof(err)) < 0);
	CHECK(strstr(err, "config") != NULL);
	CHECK_INT_EQ(oci_layout_read(at("layout"), "missing", NULL, &image, err, sizeof(err)),
		     -ENOENT);
	CHECK(strstr(err, "\"missing\" not found") != NULL);
	layout_remove();
}

TEST(corrupted_blob_rejected)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";
	int fd;

	layout_make(&fx);
	/* Flip one byte of layer 1's blob, keeping its size. */
	fd = open(at("layout/blobs/sha256/%s", fx.layers[1] + 7), O_WRONLY);
	CHECK(fd >= 0);
	CHECK_INT_EQ(pwrite(fd, "\x42", 1, 20), 1);
	close(fd);
	CHECK_INT_EQ(oci_layout_read(at("layout"), "v1", NULL, &image, err, sizeof(err)), -EBADMSG);
	CHECK(image == NULL);
	CHECK(strstr(err, "corrupted") != NULL);
	CHECK(strstr(err, fx.layers[1]) != NULL);
	layout_remove();
}

TEST(truncated_blob_rejected)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	layout_make(&fx);
	CHECK_INT_EQ(truncate(at("layout/blobs/sha256/%s", fx.layers[0] + 7), 10), 0);
	CHECK_INT_EQ(oci_layout_read(at("layout"), "v1", NULL, &image, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, fx.layers[0]) != NULL);
	layout_remove();
}

TEST(missing_blob_rejected)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	layout_make(&fx);
	CHECK_INT_EQ(unlink(at("layout/blobs/sha256/%s", fx.layers[2] + 7)), 0);
	CHECK_INT_EQ(oci_layout_read(at("layout"), "v1", NULL, &image, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, fx.layers[2] + 7) != NULL);
	layout_remove();
}

TEST(symlinked_blob_rejected)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	layout_make(&fx);
	/* A blob that points outside the layout, even to identical bytes, is not used. */
	CHECK_INT_EQ(run("cd %s/layout/blobs/sha256 && mv %s ../../../outside && ln -s "
			 "../../../outside %s",
			 root, fx.layers[0] + 7, fx.layers[0] + 7),
		     0);
	CHECK_INT_EQ(oci_layout_read(at("layout"), "v1", NULL, &image, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "symbolic link") != NULL);
	layout_remove();
}

TEST(escaping_digest_rejected)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	layout_make(&fx);
	CHECK_INT_EQ(run("sed -i 's|%s|sha256:../../../../etc/passwd|' %s/layout/index.json",
			 fx.manifest, root),
		     0);
	CHECK_INT_EQ(oci_layout_read(at("layout"), "v1", NULL, &image, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "invalid or unsupported digest") != NULL);
	layout_remove();
}

TEST(diff_id_mismatch_rejected)
{
	struct fixture fx;
	struct oci_image *image = NULL;
	char err[512] = "";

	/* Every blob matches its digest, but layer 0's stream does not match the config. */
	layout_make_with(&fx, true);
	CHECK_INT_EQ(oci_layout_read(at("layout"), "v1", NULL, &image, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "layer 0") != NULL);
	CHECK(strstr(err, "diff_id") != NULL);
	layout_remove();
}

TEST(not_a_layout_rejected)
{
	struct oci_image *image = NULL;
	char err[512] = "";

	snprintf(root, sizeof(root), "/tmp/intact-test-XXXXXX");
	if (!mkdtemp(root))
		abort();
	CHECK_INT_EQ(oci_layout_read(root, NULL, NULL, &image, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "not an OCI image layout") != NULL);
	layout_remove();
}

TEST(spec_split)
{
	char *dir = NULL, *tag = NULL;

	CHECK_INT_EQ(oci_layout_spec_split("/tmp/img:v1", &dir, &tag), 0);
	CHECK_STR_EQ(dir, "/tmp/img");
	CHECK_STR_EQ(tag, "v1");
	free(dir);
	free(tag);
	CHECK_INT_EQ(oci_layout_spec_split("/tmp/img", &dir, &tag), 0);
	CHECK_STR_EQ(dir, "/tmp/img");
	CHECK(tag == NULL);
	free(dir);
	CHECK_INT_EQ(oci_layout_spec_split("/tmp/a:b/img", &dir, &tag), 0);
	CHECK_STR_EQ(dir, "/tmp/a:b/img");
	CHECK(tag == NULL);
	free(dir);
}
