/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building a record in the per-CPU scratch buffer: a fixed struct first,
 * then strings appended behind it. Every offset is masked so the verifier
 * can prove each write stays inside the buffer.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps.h"

#define RECORD_MASK (INTACT_RECORD_MAX - 1)

struct record {
	__u8 *data;
	__u32 pos; /* end of what is written so far */
};

static __always_inline void *record_start(struct record *r, __u32 type, __u32 fixed_size)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct intact_record_header *header;

	r->data = bpf_map_lookup_elem(&record_scratch, &cpu);
	if (!r->data) {
		counter_add(INTACT_COUNTER_SCRATCH_MISSING);
		return NULL;
	}
	r->pos = fixed_size;
	header = (void *)r->data;
	header->type = type;
	header->boot_ns = bpf_ktime_get_boot_ns();
	return r->data;
}

/* Record an empty string that did not fit at all. */
static __always_inline void record_mark_full(struct intact_str *s)
{
	s->off = 0;
	s->len = 0;
	s->flags |= INTACT_STR_TRUNCATED;
}

/* Append a NUL-terminated kernel string of at most max bytes, NUL included. */
static __always_inline void record_append_kstr(struct record *r, struct intact_str *s,
					       const void *src, __u32 max)
{
	__u32 off = r->pos;
	long n;

	s->flags = 0;
	if (off > INTACT_RECORD_MAX - max) {
		record_mark_full(s);
		return;
	}
	n = bpf_probe_read_kernel_str(&r->data[off & RECORD_MASK], max, src);
	if (n <= 0) {
		r->data[off & RECORD_MASK] = 0;
		s->flags |= INTACT_STR_READ_ERROR;
		counter_add(INTACT_COUNTER_READ_ERROR);
		n = 1;
	}
	/* A string that filled the whole space may have been cut. */
	if (n == max)
		s->flags |= INTACT_STR_TRUNCATED;
	s->off = off;
	s->len = n - 1;
	r->pos = off + n;
}

/*
 * Append len bytes of user memory (NUL-separated argv) and a closing NUL;
 * len is cut to max - 1 first.
 */
static __always_inline void record_append_user(struct record *r, struct intact_str *s,
					       const void *src, __u64 len, __u32 max)
{
	__u32 off = r->pos;
	__u32 n;

	s->flags = 0;
	if (off > INTACT_RECORD_MAX - max) {
		record_mark_full(s);
		return;
	}
	if (len > max - 1) {
		len = max - 1;
		s->flags |= INTACT_STR_TRUNCATED;
	}
	n = len & (INTACT_ARGS_MAX - 1);
	if (bpf_probe_read_user(&r->data[off & RECORD_MASK], n, src)) {
		s->flags |= INTACT_STR_READ_ERROR;
		counter_add(INTACT_COUNTER_READ_ERROR);
		n = 0;
	}
	r->data[(off & RECORD_MASK) + (n & (INTACT_ARGS_MAX - 1))] = 0;
	s->off = off;
	s->len = n;
	r->pos = off + n + 1;
}

/* Copy len bytes already in BPF memory (a built path) and a closing NUL. */
static __always_inline void record_append_bytes(struct record *r, struct intact_str *s,
						const void *src, __u32 len, __u16 flags)
{
	__u32 off = r->pos;
	__u32 n = len & (INTACT_PATH_MAX - 1);

	s->flags = flags;
	if (off > INTACT_RECORD_MAX - INTACT_PATH_MAX) {
		record_mark_full(s);
		return;
	}
	if (bpf_probe_read_kernel(&r->data[off & RECORD_MASK], n, src)) {
		s->flags |= INTACT_STR_READ_ERROR;
		n = 0;
	}
	r->data[(off & RECORD_MASK) + n] = 0;
	s->off = off;
	s->len = n;
	r->pos = off + n + 1;
}

/* Copy the record to the ring buffer at its real size; count it when there is no room. */
static __always_inline void record_submit(struct record *r)
{
	struct intact_record_header *header = (void *)r->data;
	__u32 size = r->pos;

	if (size > INTACT_RECORD_MAX)
		size = INTACT_RECORD_MAX;
	header->size = size;
	if (bpf_ringbuf_output(&events, r->data, size & (INTACT_RECORD_MAX * 2 - 1), 0))
		counter_add(INTACT_COUNTER_RINGBUF_FULL);
}

/* Append a NUL-terminated user string of at most max bytes, NUL included. */
static __always_inline void record_append_user_str(struct record *r, struct intact_str *s,
						   const void *src, __u32 max)
{
	__u32 off = r->pos;
	long n;

	s->flags = 0;
	if (off > INTACT_RECORD_MAX - max) {
		record_mark_full(s);
		return;
	}
	n = src ? bpf_probe_read_user_str(&r->data[off & RECORD_MASK], max, src) : 0;
	if (n <= 0) {
		r->data[off & RECORD_MASK] = 0;
		if (src) {
			s->flags |= INTACT_STR_READ_ERROR;
			counter_add(INTACT_COUNTER_READ_ERROR);
		}
		n = 1;
	}
	if (n == max)
		s->flags |= INTACT_STR_TRUNCATED;
	s->off = off;
	s->len = n - 1;
	r->pos = off + n;
}
