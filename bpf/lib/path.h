/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Resolve a struct path to the absolute name seen from a task's root, the
 * way d_path() does: walk d_parent up to each mount's root, then continue
 * from the mountpoint in the parent mount, until the root is met.
 * bpf_d_path() is not usable from tracepoints, hence the walk.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "compat.h"
#include "maps.h"
#include "record.h"

/* Deeper paths are reported with INTACT_STR_TRUNCATED. */
#define PATH_COMPONENTS_MAX 512
/* The path is built backwards and ends just before this offset. */
#define PATH_END (INTACT_PATH_MAX - 1)
#define NAME_MASK 255

struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct dentry *root_dentry;
	struct vfsmount *root_vfsmnt;
	__u32 off;   /* start of the name built so far */
	__u16 flags; /* INTACT_STR_* */
	__u16 done;
};

static long path_walk_step(__u32 index, void *ctx)
{
	struct path_walk *w = ctx;
	/* Plain loads first: CO-RE reads must start from kernel types, not struct path_walk. */
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct dentry *dentry = w->dentry;
	struct dentry *mnt_root, *parent;
	struct mount *mnt, *mnt_parent;
	__u32 zero = 0, len;
	struct qstr name;
	__u8 *buf;

	if (dentry == w->root_dentry && vfsmnt == w->root_vfsmnt) {
		w->done = 1;
		return 1;
	}
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		mnt = compat_real_mount(vfsmnt);
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry == mnt_root && mnt_parent == mnt) {
			/* The root of a mount tree the task's root is not in: another namespace. */
			w->flags |= INTACT_STR_UNREACHABLE;
			w->done = 1;
			return 1;
		}
		if (dentry == mnt_root) {
			w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			w->vfsmnt = compat_vfsmount(mnt_parent);
			return 0;
		}
		/*
		 * A dentry that is its own parent without being a mount's root is a
		 * pseudo file (memfd, pipe, socket): its name is all there is.
		 */
		w->flags |= INTACT_STR_UNREACHABLE;
		w->done = 1;
	}

	buf = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!buf) {
		w->flags |= INTACT_STR_READ_ERROR;
		w->done = 1;
		return 1;
	}
	if (bpf_core_read(&name, sizeof(name), &dentry->d_name)) {
		w->flags |= INTACT_STR_READ_ERROR;
		w->done = 1;
		return 1;
	}
	len = name.len;
	if (len > NAME_MASK)
		len = NAME_MASK;
	if (w->off < len + 1) {
		w->flags |= INTACT_STR_TRUNCATED;
		w->done = 1;
		return 1;
	}
	w->off -= len;
	if (bpf_probe_read_kernel(&buf[w->off & (INTACT_PATH_MAX - 1)], len & NAME_MASK, name.name))
		w->flags |= INTACT_STR_READ_ERROR;
	w->off -= 1;
	buf[w->off & (INTACT_PATH_MAX - 1)] = '/';
	w->dentry = parent;
	return w->done ? 1 : 0;
}

/*
 * Append the name of path as seen from root to the record. Names that do not
 * fit, or need more than PATH_COMPONENTS_MAX steps, carry INTACT_STR_TRUNCATED
 * and keep their innermost components.
 */
static __always_inline void record_append_path(struct record *r, struct intact_str *s,
					       const struct path *path, const struct path *root)
{
	struct path_walk w = {};
	__u32 zero = 0;
	__u8 *buf;

	buf = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!buf) {
		s->flags = INTACT_STR_READ_ERROR;
		s->off = 0;
		s->len = 0;
		return;
	}
	w.dentry = BPF_CORE_READ(path, dentry);
	w.vfsmnt = BPF_CORE_READ(path, mnt);
	w.root_dentry = BPF_CORE_READ(root, dentry);
	w.root_vfsmnt = BPF_CORE_READ(root, mnt);
	w.off = PATH_END;
	if (!w.dentry || !w.vfsmnt) {
		record_append_bytes(r, s, "", 0, INTACT_STR_READ_ERROR);
		return;
	}

	bpf_loop(PATH_COMPONENTS_MAX, path_walk_step, &w, 0);
	if (!w.done)
		w.flags |= INTACT_STR_TRUNCATED;
	if (w.off == PATH_END) {
		/* The root itself. */
		w.off -= 1;
		buf[w.off & (INTACT_PATH_MAX - 1)] = '/';
	}
	record_append_bytes(r, s, &buf[w.off & (INTACT_PATH_MAX - 1)], PATH_END - w.off, w.flags);
}
