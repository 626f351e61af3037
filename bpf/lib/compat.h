/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every CO-RE fallback for kernel layout differences lives here, each with
 * the kernel change that needs it. Programs never test kernel versions.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* Before 6.15 (commit 633488947ef6 "kernfs: Use RCU to access kernfs_node::parent") the field was
 * "parent". */
struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *compat_kernfs_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

/* struct mount embeds the struct vfsmount that paths point at. */
static __always_inline struct mount *compat_real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

static __always_inline struct vfsmount *compat_vfsmount(struct mount *mnt)
{
	return (struct vfsmount *)((void *)mnt + bpf_core_field_offset(struct mount, mnt));
}

/* struct ovl_inode embeds the VFS inode; __upperdentry is set once the file exists on the upper
 * layer. */
static __always_inline bool compat_ovl_inode_has_upper(struct inode *inode)
{
	struct ovl_inode *oi;

	oi = (struct ovl_inode *)((void *)inode -
				  bpf_core_field_offset(struct ovl_inode, vfs_inode));
	return BPF_CORE_READ(oi, __upperdentry) != NULL;
}
