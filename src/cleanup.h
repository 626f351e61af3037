/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-based cleanup, for __attribute__((cleanup(...))): each function
 * releases what the variable it is attached to holds, if anything.
 */
#pragma once

#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void close_fdp(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void md_ctx_freep(EVP_MD_CTX **ctx)
{
	EVP_MD_CTX_free(*ctx);
}
