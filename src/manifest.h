/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed image manifests (docs/manifest.md): the expected content digest
 * and file list of each layer of an image, written as canonical JSON and
 * signed with ECDSA P-256/SHA-256 or Ed25519. The detached signature in
 * FILE.sig is the base64 of the signature over FILE's exact bytes.
 */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fileio.h"
#include "layer_digest.h"

#define MANIFEST_SCHEMA_VERSION 1
/* Largest manifest file read, in bytes. */
/*
 * A manifest is parsed whole, and jansson needs about 12 times its size in
 * memory (measured: 790 MB for 64 MB), so the limit keeps that near 200 MB.
 */
#define MANIFEST_SIZE_MAX (16 * 1024 * 1024)
#define MANIFEST_LAYERS_MAX 256
/* Largest signature file read, in bytes; the base64 of any supported signature fits. */
#define MANIFEST_SIGNATURE_SIZE_MAX 1024
/* Largest PEM key file read, in bytes. */
#define MANIFEST_KEY_SIZE_MAX (64 * 1024)
#define KEY_ID_SIZE (2 * SHA256_SIZE + 1)

struct manifest_layer {
	char blob_digest[DIGEST_TEXT_SIZE];
	char diff_id[DIGEST_TEXT_SIZE];
	char content_digest[DIGEST_TEXT_SIZE];
	struct layer_entry *entries; /* sorted by path */
	size_t n_entries;
};

struct manifest {
	char *image; /* the image name, e.g. docker.io/library/busybox:1.36 */
	char manifest_digest[DIGEST_TEXT_SIZE];
	char config_digest[DIGEST_TEXT_SIZE];
	char *architecture, *os, *variant; /* variant may be NULL */
	char key_id[KEY_ID_SIZE]; /* hex SHA-256 of the signing key's DER SubjectPublicKeyInfo */
	struct manifest_layer *layers; /* bottom-most first, as in the OCI manifest */
	size_t n_layers;
};

enum manifest_difference_kind {
	MANIFEST_FILE_ADDED,	/* on disk, not in the manifest */
	MANIFEST_FILE_REMOVED,	/* in the manifest, not on disk */
	MANIFEST_FILE_MODIFIED, /* in both, with another record */
};

struct manifest_difference {
	enum manifest_difference_kind kind;
	char *path;
};

/* Create an empty manifest. variant may be NULL. */
int manifest_new(const char *image, const char *manifest_digest, const char *config_digest,
		 const char *architecture, const char *os, const char *variant,
		 struct manifest **ret);

/* Append a layer; its entries move from d to the manifest (d keeps its digest). */
int manifest_layer_add(struct manifest *m, const char *blob_digest, const char *diff_id,
		       struct layer_digest *d);

/* Write m as canonical JSON (sorted keys, fixed layout, ASCII) with a final newline. */
int manifest_write(const struct manifest *m, char **ret_data, size_t *ret_len);

/*
 * Parse a manifest, hostile input allowed: size, types, digests and the
 * file lists are checked, and each layer's file list must hash to its
 * content digest. Returns 0 or -EBADMSG with the reason in err.
 */
int manifest_parse(const char *data, size_t len, struct manifest **ret, char *err, size_t err_size);

void manifest_free(struct manifest *m);
const char *manifest_difference_kind_name(enum manifest_difference_kind kind);
void manifest_differences_free(struct manifest_difference *list, size_t n);

/*
 * Compare a manifest layer's files with a computed layer. Lists at most
 * max_listed differences (sorted by path) in ret_list, and counts all of
 * them in ret_count. Returns 0 or -ENOMEM.
 */
int manifest_layer_compare(const struct manifest_layer *layer, const struct layer_digest *d,
			   size_t max_listed, struct manifest_difference **ret_list,
			   size_t *ret_n_listed, size_t *ret_count);

/* Load a PEM key: ECDSA P-256 or Ed25519. Returns 0, or -EINVAL with the reason in err. */
int key_load_private(const char *path, EVP_PKEY **ret, char *err, size_t err_size);
int key_load_public(const char *path, EVP_PKEY **ret, char *err, size_t err_size);
/* Parse a PEM public key from memory. */
int key_parse_public(const char *pem, size_t len, EVP_PKEY **ret, char *err, size_t err_size);

/* Compute the key id: the hex SHA-256 of the DER SubjectPublicKeyInfo. */
int key_id_compute(EVP_PKEY *key, char ret[KEY_ID_SIZE]);

/* Sign data; ret_text is the base64 signature followed by a newline (the FILE.sig content). */
int manifest_sign(EVP_PKEY *key, const void *data, size_t len, char **ret_text);

/*
 * Verify the detached signature text (the FILE.sig content) over data.
 * Returns 0 for a valid signature, -EBADMSG for a malformed or truncated
 * signature, -EKEYREJECTED for one that this key did not make over these
 * bytes; err describes the failure.
 */
int manifest_verify(EVP_PKEY *key, const void *data, size_t len, const char *sig_text,
		    size_t sig_len, char *err, size_t err_size);
