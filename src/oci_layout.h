/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading an image from an OCI image layout directory (OCI image-spec
 * v1.0 and later, image-layout.md), as skopeo, umoci and buildah write it.
 * Every blob is checked against its sha256 digest before it is used, and
 * every layer's uncompressed stream against the config's diff_id.
 */
#pragma once

#include <stddef.h>

#include "layer_digest.h"

/* Largest index, manifest or config blob read, in bytes. */
#define OCI_JSON_SIZE_MAX (4 * 1024 * 1024)

struct oci_layer {
	char blob_digest[DIGEST_TEXT_SIZE];
	char diff_id[DIGEST_TEXT_SIZE];
	struct layer_digest *digest;
};

struct oci_image {
	/* io.containerd.image.name annotation, else org.opencontainers.image.ref.name, else "" */
	char *name;
	char manifest_digest[DIGEST_TEXT_SIZE];
	char config_digest[DIGEST_TEXT_SIZE];
	char *architecture, *os, *variant; /* variant may be NULL */
	struct oci_layer *layers;	   /* bottom-most first */
	size_t n_layers;
};

/*
 * Split "LAYOUT[:TAG]" into the directory and the tag (NULL when absent).
 * A spec that names an existing directory as a whole has no tag.
 */
int oci_layout_spec_split(const char *spec, char **ret_dir, char **ret_tag);

/*
 * Read the image tagged tag (its org.opencontainers.image.ref.name
 * annotation) from the layout dir; with tag NULL, the only or the first
 * image of index.json. Computes every layer's content digest with o.
 * Returns 0, or a negative errno with a message in err naming the file or
 * blob at fault: -ENOENT for a missing tag or blob, -EBADMSG for a blob
 * that does not match its digest or size or is not valid.
 */
int oci_layout_read(const char *dir, const char *tag, const struct layer_digest_options *o,
		    struct oci_image **ret, char *err, size_t err_size);

void oci_image_free(struct oci_image *image);
