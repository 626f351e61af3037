/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded hash table from 64-bit keys to owned values, for the daemon's caches. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct table_entry {
	uint64_t key;
	void *value;
	struct table_entry *next;
};

struct table {
	struct table_entry **buckets;
	size_t bucket_count; /* a power of two */
	size_t count;
	size_t max_count;
	void (*value_free)(void *value);
};

int table_init(struct table *t, size_t bucket_count, size_t max_count, void (*value_free)(void *));
void table_free(struct table *t);
void *table_get(const struct table *t, uint64_t key);
/* Insert or replace; -ENOSPC when the table is full and key is new. */
int table_put(struct table *t, uint64_t key, void *value);
void table_remove(struct table *t, uint64_t key);
