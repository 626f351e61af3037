/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The canonical content digest of one image layer, computed from its tar
 * stream or from the directory an overlay snapshotter unpacked it into.
 * docs/layer-digest.md defines the digest byte for byte.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_SIZE 32
/* "sha256:" followed by 64 hex digits and a NUL. */
#define DIGEST_TEXT_SIZE (7 + 2 * SHA256_SIZE + 1)

#define LAYER_DIGEST_MAX_ENTRIES_DEFAULT (1024 * 1024)
/* Errors kept with their message; the count goes on past it. */
#define LAYER_DIGEST_ERRORS_LISTED 32
/* Maximum length of a path or symbolic link target, in bytes. */
#define LAYER_PATH_MAX 4096
/* Maximum directory depth walked. */
#define LAYER_DEPTH_MAX 256
/* Maximum extended attribute value recorded, the kernel's XATTR_SIZE_MAX. */
#define LAYER_XATTR_VALUE_MAX 65536

/* Entry types; the byte values are part of the digest definition. */
enum layer_entry_type {
	LAYER_ENTRY_REGULAR = 'f',
	LAYER_ENTRY_DIRECTORY = 'd',
	LAYER_ENTRY_SYMLINK = 'l',
	LAYER_ENTRY_CHAR = 'c',
	LAYER_ENTRY_BLOCK = 'b',
	LAYER_ENTRY_FIFO = 'p',
	LAYER_ENTRY_SOCKET = 's',
	LAYER_ENTRY_WHITEOUT = 'w',
};

struct layer_xattr {
	char *name;
	uint8_t *value;
	size_t len;
};

/* One file of a layer, in its canonical form. */
struct layer_entry {
	char *path; /* relative, no leading "./" or "/", no trailing "/" */
	enum layer_entry_type type;
	bool opaque;   /* directories: hides the lower layers' content of this directory */
	uint32_t mode; /* permission and special bits (07777); 0 for symbolic links, whiteouts */
	uint64_t uid, gid;
	uint8_t sha256[SHA256_SIZE]; /* regular files: digest of the content */
	char *target;		     /* symbolic links: the target, as stored */
	uint64_t major, minor;	     /* character and block devices */
	struct layer_xattr *xattrs;  /* sorted by name; see layer_xattr_recorded() */
	size_t n_xattrs;
	char *hardlink; /* tar input only, until resolved: the path this entry links to */
	size_t seq;	/* input order, which decides between duplicate paths */
};

struct layer_digest {
	char digest[DIGEST_TEXT_SIZE]; /* "sha256:<hex>" */
	struct layer_entry *entries;   /* sorted by path */
	size_t n_entries;
	uint64_t bytes_hashed; /* file content read and hashed */
	/* Entries that could not be read as they are (changed, vanished, too
	 * long, unsupported). A result with errors describes a layer that is
	 * not what is on disk: never trust it as a match. */
	size_t n_errors;
	char *errors[LAYER_DIGEST_ERRORS_LISTED];
	size_t n_errors_listed;
};

struct layer_digest_options {
	size_t max_entries;  /* 0: LAYER_DIGEST_MAX_ENTRIES_DEFAULT */
	uint64_t rate_limit; /* bytes of file content hashed per second, 0: unlimited */
	/* Called after every chunk hashed with the running total; a negative
	 * return aborts the computation with that error (for cancellation). */
	int (*progress)(void *userdata, uint64_t bytes_hashed);
	void *userdata;
};

/*
 * Compute the digest of the layer unpacked under dir. dir itself is
 * followed if it is a symbolic link, nothing below it is: symbolic links are
 * recorded, FIFOs, sockets and devices are recorded from their stat data,
 * other filesystems mounted below dir are not entered (an error). Files that
 * change or vanish while read are listed in the result's errors.
 * Returns 0, -E2BIG beyond max_entries, or another negative errno with a
 * message in err.
 */
int layer_digest_from_dir(const char *dir, const struct layer_digest_options *o,
			  struct layer_digest **ret, char *err, size_t err_size);

/*
 * Compute the digest of the layer tar read from fd (uncompressed, gzip,
 * zstd, xz, bzip2 or lz4, detected from the data) from its current offset.
 * When ret_diff_id is not NULL it receives the SHA-256 of the uncompressed
 * tar stream, which is the layer's diff_id in the OCI image config.
 * Returns 0 or a negative errno with a message in err.
 */
int layer_digest_from_tar_fd(int fd, const struct layer_digest_options *o,
			     uint8_t ret_diff_id[SHA256_SIZE], struct layer_digest **ret, char *err,
			     size_t err_size);

/*
 * Compute the layer digest over entries, which must be sorted by path and
 * free of duplicates (as in a struct layer_digest). Used to check a list of
 * entries read back from a manifest.
 */
int layer_entries_digest(const struct layer_entry *entries, size_t n,
			 char ret_digest[DIGEST_TEXT_SIZE]);

/* Compare two entries' records: true when every recorded field is equal. */
bool layer_entry_equal(const struct layer_entry *a, const struct layer_entry *b);

/* Whether the extended attribute name is part of the digest. */
bool layer_xattr_recorded(const char *name);

/* The name used in manifests for a type ("file", "dir", ...), or NULL. */
const char *layer_entry_type_name(enum layer_entry_type type);
int layer_entry_type_from_name(const char *name, enum layer_entry_type *ret);

void layer_entry_clear(struct layer_entry *e);
/* Sort by path and drop earlier duplicates; the last entry of a path wins. */
void layer_entries_sort_unique(struct layer_entry *entries, size_t *n);
void layer_digest_free(struct layer_digest *d);

void digest_to_text(const uint8_t sha256[SHA256_SIZE], char out[DIGEST_TEXT_SIZE]);
/* Parse "sha256:<64 lowercase hex>". Returns 0 or -EINVAL. */
int digest_from_text(const char *text, uint8_t ret[SHA256_SIZE]);
void hex_encode(const uint8_t *data, size_t len, char *out);
