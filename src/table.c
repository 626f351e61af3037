// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>

#include "table.h"

static size_t table_slot(const struct table *t, uint64_t key)
{
	/* Fibonacci hashing spreads sequential pids and cgroup ids. */
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (t->bucket_count - 1);
}

int table_init(struct table *t, size_t bucket_count, size_t max_count, void (*value_free)(void *))
{
	t->buckets = calloc(bucket_count, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->bucket_count = bucket_count;
	t->count = 0;
	t->max_count = max_count;
	t->value_free = value_free;
	return 0;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		struct table_entry *e = t->buckets[i];

		while (e) {
			struct table_entry *next = e->next;

			t->value_free(e->value);
			free(e);
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

void *table_get(const struct table *t, uint64_t key)
{
	for (struct table_entry *e = t->buckets[table_slot(t, key)]; e; e = e->next)
		if (e->key == key)
			return e->value;
	return NULL;
}

int table_put(struct table *t, uint64_t key, void *value)
{
	struct table_entry **head = &t->buckets[table_slot(t, key)];
	struct table_entry *e;

	for (e = *head; e; e = e->next) {
		if (e->key == key) {
			t->value_free(e->value);
			e->value = value;
			return 0;
		}
	}
	if (t->count >= t->max_count)
		return -ENOSPC;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->value = value;
	e->next = *head;
	*head = e;
	t->count++;
	return 0;
}

void table_remove(struct table *t, uint64_t key)
{
	for (struct table_entry **p = &t->buckets[table_slot(t, key)]; *p; p = &(*p)->next) {
		struct table_entry *e = *p;

		if (e->key == key) {
			*p = e->next;
			t->value_free(e->value);
			free(e);
			t->count--;
			return;
		}
	}
}
