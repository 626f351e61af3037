/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image integrity in the agent: each running container's lower layers are
 * compared with the signed manifests of the trust directory, in the
 * verifier's worker thread, and the verdict becomes an "image" event.
 */
#pragma once

#include <stdint.h>

#include "daemon.h"

/* Start the verifier when the trust directory exists; 0 also when it does not. */
int image_verification_start(struct daemon *d);

void image_verification_stop(struct daemon *d);

/* Ask for a verdict on c, once its root overlay's layers are known; at most once. */
void image_verification_request(struct daemon *d, struct container *c);

/*
 * Find the containers that were running before intactd started, through
 * /proc, and ask for their verdicts.
 */
void image_verification_discover(struct daemon *d);

/* Reread the trust directory (on SIGHUP). */
void image_verification_reload(struct daemon *d);

/* The lower layer directory the kernel named by device and inode, or NULL. */
const char *image_layer_dir(struct daemon *d, uint32_t dev, uint64_t ino);

/*
 * A host process opened a file inside dir for writing: drop dir's cached
 * digest, and a second later verify again every container that runs from it.
 */
void image_layer_tampered(struct daemon *d, const char *dir);
