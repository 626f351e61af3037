// SPDX-License-Identifier: Apache-2.0
/* OCI image layout reading: index.json, then manifest, config and layer blobs. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "oci_layout.h"

#define BLOB_READ_SIZE (1024 * 1024)

static const char *const manifest_media_types[] = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
};

static const char *const index_media_types[] = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
};

/* Layer media types of the OCI image-spec (layer.md) and Docker's v2 schema 2. */
static const char *const layer_media_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t err_size, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && err_size) {
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

#define IN_LIST(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

int oci_layout_spec_split(const char *spec, char **ret_dir, char **ret_tag)
{
	const char *colon = strrchr(spec, ':');
	struct stat st;

	*ret_tag = NULL;
	if (!colon || strchr(colon, '/') || (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))) {
		*ret_dir = strdup(spec);
		return *ret_dir ? 0 : -ENOMEM;
	}
	*ret_dir = strndup(spec, (size_t)(colon - spec));
	*ret_tag = strdup(colon + 1);
	if (!*ret_dir || !*ret_tag) {
		free(*ret_dir);
		free(*ret_tag);
		return -ENOMEM;
	}
	return 0;
}

void oci_image_free(struct oci_image *image)
{
	if (!image)
		return;
	for (size_t i = 0; i < image->n_layers; i++)
		layer_digest_free(image->layers[i].digest);
	free(image->layers);
	free(image->name);
	free(image->architecture);
	free(image->os);
	free(image->variant);
	free(image);
}

struct layout {
	int root, blobs; /* blobs is blobs/sha256 */
	char *err;
	size_t err_size;
};

/*
 * Opens the blob named by digest and checks its size (when size >= 0) and
 * its sha256 digest. The descriptor returned is at offset 0: the checked
 * bytes are the bytes used, even if the file is replaced afterwards.
 */
static int blob_open(struct layout *l, const char *digest, int64_t size, const char *what)
{
	int fd __attribute__((cleanup(close_fdp))) = -1;
	EVP_MD_CTX *ctx __attribute__((cleanup(md_ctx_freep))) = EVP_MD_CTX_new();
	uint8_t *buffer __attribute__((cleanup(freep))) = malloc(BLOB_READ_SIZE);
	uint8_t want[SHA256_SIZE], have[SHA256_SIZE];
	char have_text[DIGEST_TEXT_SIZE];
	struct stat st;
	int out;

	if (!ctx || !buffer || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	/* The digest becomes a file name: only sha256:<64 hex> can, so no name
	 * can climb out of blobs/sha256. */
	if (!digest || digest_from_text(digest, want) < 0)
		return fail(l->err, l->err_size,
			    "the %s has an invalid or unsupported digest \"%.100s\": expected "
			    "sha256:<64 lowercase hex digits>",
			    what, digest ? digest : "");
	fd =
	    openat(l->blobs, digest + 7, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		fail(l->err, l->err_size, "failed to open the %s blob blobs/sha256/%s: %s", what,
		     digest + 7, r == -ELOOP ? "it is a symbolic link" : strerror(-r));
		return r == -ELOOP ? -EBADMSG : r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return fail(l->err, l->err_size, "the %s blob %s is not a regular file", what,
			    digest);
	if (size >= 0 && st.st_size != size)
		return fail(
		    l->err, l->err_size,
		    "the %s blob %s is corrupted: it has %jd bytes, the descriptor says %jd", what,
		    digest, (intmax_t)st.st_size, (intmax_t)size);

	for (;;) {
		ssize_t n = read(fd, buffer, BLOB_READ_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			fail(l->err, l->err_size, "failed to read the %s blob %s: %s", what, digest,
			     strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buffer, (size_t)n);
	}
	if (EVP_DigestFinal_ex(ctx, have, NULL) != 1)
		return -EIO;
	if (memcmp(want, have, SHA256_SIZE) != 0) {
		digest_to_text(have, have_text);
		return fail(l->err, l->err_size,
			    "the %s blob %s is corrupted: its content hashes to %s", what, digest,
			    have_text);
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	out = fd;
	fd = -1;
	return out;
}

static int fd_json_load(struct layout *l, int fd, const char *what, json_t **ret)
{
	char *data __attribute__((cleanup(freep))) = NULL;
	json_error_t jerr;
	size_t len = 0;
	int r;

	r = fd_read_all(fd, OCI_JSON_SIZE_MAX, &data, &len);
	if (r == -EFBIG)
		return fail(l->err, l->err_size, "the %s is larger than %d bytes", what,
			    OCI_JSON_SIZE_MAX);
	if (r < 0)
		return r;
	*ret = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*ret)
		return fail(l->err, l->err_size, "the %s is not valid JSON: line %d: %s", what,
			    jerr.line, jerr.text);
	if (!json_is_object(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		return fail(l->err, l->err_size, "the %s is not a JSON object", what);
	}
	return 0;
}

static int blob_json_load(struct layout *l, json_t *descriptor, const char *what, json_t **ret,
			  char ret_digest[DIGEST_TEXT_SIZE])
{
	int fd __attribute__((cleanup(close_fdp))) = -1;
	json_t *digest = json_object_get(descriptor, "digest");
	json_t *size = json_object_get(descriptor, "size");

	if (!json_is_string(digest) || !json_is_integer(size) || json_integer_value(size) < 0)
		return fail(l->err, l->err_size, "the %s descriptor has no digest or size", what);
	if (json_integer_value(size) > OCI_JSON_SIZE_MAX)
		return fail(l->err, l->err_size, "the %s blob is larger than %d bytes", what,
			    OCI_JSON_SIZE_MAX);
	fd = blob_open(l, json_string_value(digest), json_integer_value(size), what);
	if (fd < 0)
		return fd;
	snprintf(ret_digest, DIGEST_TEXT_SIZE, "%s", json_string_value(digest));
	return fd_json_load(l, fd, what, ret);
}

static const char *annotation(json_t *descriptor, const char *key)
{
	json_t *v = json_object_get(json_object_get(descriptor, "annotations"), key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Selects the index entry for tag, or the first one. */
static int index_select(struct layout *l, json_t *index, const char *tag, json_t **ret)
{
	json_t *manifests = json_object_get(index, "manifests"), *m;
	size_t i;

	if (!json_is_array(manifests) || json_array_size(manifests) == 0)
		return fail(l->err, l->err_size, "index.json lists no manifests");
	if (!tag) {
		*ret = json_array_get(manifests, 0);
		return 0;
	}
	json_array_foreach(manifests, i, m)
	{
		const char *ref = annotation(m, "org.opencontainers.image.ref.name");

		if (ref && strcmp(ref, tag) == 0) {
			*ret = m;
			return 0;
		}
	}
	fail(l->err, l->err_size,
	     "tag \"%s\" not found in index.json (org.opencontainers.image.ref.name annotations)",
	     tag);
	return -ENOENT;
}

static int string_copy(json_t *obj, const char *key, char **ret)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return 0;
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : -ENOMEM;
}

static int layer_read(struct layout *l, json_t *descriptor, json_t *diff_id, size_t index,
		      const struct layer_digest_options *o, struct oci_layer *ret)
{
	int fd __attribute__((cleanup(close_fdp))) = -1;
	json_t *media_type = json_object_get(descriptor, "mediaType");
	json_t *size = json_object_get(descriptor, "size");
	uint8_t computed[SHA256_SIZE];
	char what[64], computed_text[DIGEST_TEXT_SIZE], detail[512];
	int r;

	snprintf(what, sizeof(what), "layer %zu", index);
	if (!json_is_string(media_type) ||
	    !IN_LIST(json_string_value(media_type), layer_media_types))
		return fail(l->err, l->err_size, "layer %zu has an unsupported media type %.100s",
			    index, json_is_string(media_type) ? json_string_value(media_type) : "");
	if (!json_is_string(diff_id) || digest_from_text(json_string_value(diff_id), computed) < 0)
		return fail(l->err, l->err_size,
			    "the config's diff_id of layer %zu is not a sha256 digest", index);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return fail(l->err, l->err_size, "layer %zu has no size in the manifest", index);
	fd = blob_open(l, json_string_value(json_object_get(descriptor, "digest")),
		       json_integer_value(size), what);
	if (fd < 0)
		return fd;
	snprintf(ret->blob_digest, sizeof(ret->blob_digest), "%s",
		 json_string_value(json_object_get(descriptor, "digest")));

	r = layer_digest_from_tar_fd(fd, o, computed, &ret->digest, detail, sizeof(detail));
	if (r < 0) {
		fail(l->err, l->err_size, "failed to read layer %zu (blob %s): %s", index,
		     ret->blob_digest, detail);
		return r;
	}
	digest_to_text(computed, computed_text);
	if (strcmp(computed_text, json_string_value(diff_id)) != 0)
		return fail(
		    l->err, l->err_size,
		    "layer %zu (blob %s) is corrupted: its uncompressed stream hashes to %s, "
		    "the config's diff_id is %s",
		    index, ret->blob_digest, computed_text, json_string_value(diff_id));
	memcpy(ret->diff_id, computed_text, DIGEST_TEXT_SIZE);
	return 0;
}

static int image_read(struct layout *l, const char *tag, const struct layer_digest_options *o,
		      struct oci_image *image)
{
	int fd __attribute__((cleanup(close_fdp))) = -1;
	json_auto_t *index = NULL, *manifest = NULL, *config = NULL;
	json_t *entry = NULL, *layers, *diff_ids, *media_type;
	const char *name;
	int r;

	fd = openat(l->root, "index.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fail(l->err, l->err_size, "failed to open index.json: %s",
		     r == -ELOOP ? "it is a symbolic link" : strerror(-r));
		return r;
	}
	r = fd_json_load(l, fd, "index.json", &index);
	if (r < 0)
		return r;
	r = index_select(l, index, tag, &entry);
	if (r < 0)
		return r;

	media_type = json_object_get(entry, "mediaType");
	if (json_is_string(media_type) && IN_LIST(json_string_value(media_type), index_media_types))
		/* NOTE: nested image indexes (multi-platform images) are not read: copy
		 * one platform into the layout, e.g. with skopeo --override-arch. */
		return fail(l->err, l->err_size,
			    "the selected entry of index.json is an image index (multi-platform); "
			    "copy a single platform into the layout");
	name = annotation(entry, "io.containerd.image.name");
	if (!name)
		name = annotation(entry, "org.opencontainers.image.ref.name");
	image->name = strdup(name ? name : "");
	if (!image->name)
		return -ENOMEM;

	r = blob_json_load(l, entry, "manifest", &manifest, image->manifest_digest);
	if (r < 0)
		return r;
	media_type = json_object_get(manifest, "mediaType");
	if (json_is_string(media_type) &&
	    !IN_LIST(json_string_value(media_type), manifest_media_types))
		return fail(l->err, l->err_size,
			    "the manifest %s has an unsupported media type %.100s",
			    image->manifest_digest, json_string_value(media_type));
	r = blob_json_load(l, json_object_get(manifest, "config"), "config", &config,
			   image->config_digest);
	if (r < 0)
		return r;
	if (string_copy(config, "architecture", &image->architecture) < 0 ||
	    string_copy(config, "os", &image->os) < 0 ||
	    string_copy(config, "variant", &image->variant) < 0)
		return -ENOMEM;

	layers = json_object_get(manifest, "layers");
	diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(layers) || json_array_size(layers) == 0 || !json_is_array(diff_ids))
		return fail(l->err, l->err_size,
			    "the manifest has no layers or the config no diff_ids");
	if (json_array_size(layers) != json_array_size(diff_ids))
		return fail(l->err, l->err_size,
			    "the manifest lists %zu layers but the config %zu diff_ids",
			    json_array_size(layers), json_array_size(diff_ids));
	if (json_array_size(layers) > 256)
		return fail(l->err, l->err_size, "the image has more than 256 layers");
	image->layers = calloc(json_array_size(layers), sizeof(*image->layers));
	if (!image->layers)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(layers); i++) {
		image->n_layers = i + 1;
		r = layer_read(l, json_array_get(layers, i), json_array_get(diff_ids, i), i, o,
			       &image->layers[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int oci_layout_read(const char *dir, const char *tag, const struct layer_digest_options *o,
		    struct oci_image **ret, char *err, size_t err_size)
{
	int blobs __attribute__((cleanup(close_fdp))) = -1;
	int root __attribute__((cleanup(close_fdp))) = -1;
	struct oci_image *image;
	struct layout l = {.err = err, .err_size = err_size};
	struct stat st;
	int r;

	*ret = NULL;
	if (err && err_size)
		err[0] = '\0';
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		r = -errno;
		fail(err, err_size, "failed to open the OCI layout %s: %s", dir, strerror(-r));
		return r;
	}
	if (fstatat(root, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		fail(err, err_size, "%s is not an OCI image layout: it has no oci-layout file",
		     dir);
		return -ENOENT;
	}
	blobs = openat(root, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (blobs >= 0) {
		int sha256 =
		    openat(blobs, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(blobs);
		blobs = sha256;
	}
	if (blobs < 0) {
		r = -errno;
		fail(err, err_size, "failed to open %s/blobs/sha256: %s", dir,
		     r == -ENOTDIR || r == -ELOOP ? "not a directory" : strerror(-r));
		return r;
	}
	l.root = root;
	l.blobs = blobs;

	image = calloc(1, sizeof(*image));
	if (!image)
		return -ENOMEM;
	r = image_read(&l, tag, o, image);
	if (r < 0) {
		if (err && err_size && !err[0])
			fail(err, err_size, "failed to read the OCI layout %s: %s", dir,
			     strerror(-r));
		oci_image_free(image);
		return r;
	}
	*ret = image;
	return 0;
}
