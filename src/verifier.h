/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image verification inside the agent: a worker thread hashes the lower
 * layers of a container's overlay (layer_digest.h) and matches them
 * against signed manifests (manifest.h) from a trust directory:
 *
 *   TRUST_DIR/keys/NAME.pem             trusted public keys (ECDSA P-256, Ed25519)
 *   TRUST_DIR/manifests/NAME.json       manifests written by intactctl seal
 *   TRUST_DIR/manifests/NAME.json.sig   their detached signatures
 *
 * Verdicts are queued for a single-threaded event loop: watch
 * verifier_event_fd() for EPOLLIN, then call verifier_next_verdict() until
 * it returns 0. All functions except verifier_free() may be called while
 * the worker runs, from one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layer_digest.h"
#include "manifest.h"

/* Differing files listed per layer in a verdict; the count goes on past it. */
#define VERDICT_PATHS_MAX 32
#define VERIFIER_CACHE_ENTRIES_DEFAULT 256
#define VERIFIER_QUEUE_MAX_DEFAULT 64
/* Most keys and manifests read from a trust directory. */
#define VERIFIER_KEYS_MAX 256
#define VERIFIER_MANIFESTS_MAX 4096

enum verdict_outcome {
	VERDICT_VERIFIED,	/* every layer matches a validly signed manifest */
	VERDICT_UNSIGNED,	/* no signed manifest matches */
	VERDICT_LAYER_MISMATCH, /* a signed manifest for this image differs in some layer */
	VERDICT_ERROR,		/* a layer could not be hashed: see message */
	VERDICT_OUTCOMES,
};

struct verdict_layer {
	size_t index; /* bottom-most first: 0 is the base layer, as in the manifest */
	char *dir;    /* the lowerdir; NULL when the container has fewer layers than the manifest */
	char digest[DIGEST_TEXT_SIZE];	 /* computed; "" when dir is NULL */
	char expected[DIGEST_TEXT_SIZE]; /* from the manifest; "" without one or past its layers */
	bool match;
	/* LAYER_MISMATCH: the files that differ, sorted by path. */
	struct manifest_difference *differences;
	size_t n_differences_listed, n_differences;
	/* Files that could not be read as they were (changed or vanished while
	 * hashed): such a layer never matches. */
	size_t n_errors;
	char *first_error;
};

struct verdict {
	enum verdict_outcome outcome;
	char *container_id;
	char *image_name;
	/* VERIFIED and LAYER_MISMATCH: the manifest file, its image name and signing key. */
	char *manifest_path;
	char *manifest_image;
	char key_id[KEY_ID_SIZE];
	char *message;		      /* VERDICT_ERROR: what failed; NULL otherwise */
	struct verdict_layer *layers; /* bottom-most first */
	size_t n_layers;
};

/* A trust directory file that was not loaded, and why. */
struct verifier_rejection {
	char *path;
	char *reason;
};

struct verifier_options {
	const char *trust_dir;
	uint64_t rate_limit;	  /* bytes of file content hashed per second, 0: unlimited */
	size_t max_entries;	  /* per layer, 0: LAYER_DIGEST_MAX_ENTRIES_DEFAULT */
	size_t max_cache_entries; /* layers kept hashed, 0: VERIFIER_CACHE_ENTRIES_DEFAULT */
	size_t max_queue;	  /* requests waiting, 0: VERIFIER_QUEUE_MAX_DEFAULT */
	/* Called for every rejected trust directory file, in the thread that
	 * calls verifier_new() or verifier_reload(). May be NULL. */
	void (*rejected)(void *userdata, const char *path, const char *reason);
	void *userdata;
};

struct verifier_counters {
	uint64_t bytes_hashed;
	uint64_t cache_entries, cache_hits, cache_misses;
	uint64_t verdicts[VERDICT_OUTCOMES];
	uint64_t requests_dropped; /* rejected with -ENOBUFS: the queue was full */
	uint64_t keys_loaded, manifests_loaded, files_rejected;
};

struct verifier;

/*
 * Load the trust directory and start the worker thread. A missing or
 * empty trust directory is not an error: every image is then UNSIGNED.
 * Returns 0 or a negative errno.
 */
int verifier_new(const struct verifier_options *opts, struct verifier **ret);

/* Stop the worker (abandoning a verification in progress) and free everything. */
void verifier_free(struct verifier *v);

/*
 * Queue the verification of a container. lowerdirs are the overlay's lower
 * directories in mount option order, top-most first (as in
 * /proc/self/mountinfo); the verifier reverses them to the manifest's
 * bottom-most-first order. image_name may be NULL. Returns 0, -ENOBUFS when
 * the queue is full, or -EINVAL.
 */
int verifier_request(struct verifier *v, const char *container_id, const char *image_name,
		     const char *const *lowerdirs, size_t n);

/* An eventfd that is readable while verdicts are waiting. */
int verifier_event_fd(struct verifier *v);

/*
 * Take the next verdict. Returns 1 with *ret set (free it with
 * verdict_free()), or 0 when none is waiting. The eventfd may wake the
 * caller with no verdict waiting; this then returns 0.
 */
int verifier_next_verdict(struct verifier *v, struct verdict **ret);
void verdict_free(struct verdict *verdict);
const char *verdict_outcome_name(enum verdict_outcome outcome);

/*
 * Drop the cached digest of a layer directory (matched by path, and by
 * device and inode while it exists), so the next request hashes it again.
 * Returns 1 if an entry was dropped, 0 if none was cached.
 */
int verifier_invalidate_dir(struct verifier *v, const char *dir);

/* Read the trust directory again; requests already queued use the new set. */
int verifier_reload(struct verifier *v);

/*
 * The files rejected by the last load, valid until the next
 * verifier_reload() or verifier_free() from the same thread.
 */
const struct verifier_rejection *verifier_rejections(struct verifier *v, size_t *ret_n);

void verifier_counters_get(struct verifier *v, struct verifier_counters *ret);
