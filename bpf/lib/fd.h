/* SPDX-License-Identifier: GPL-2.0-only */
/* The struct file behind a task's file descriptor. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

static __always_inline struct file *task_fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	unsigned int max_fds = BPF_CORE_READ(fdt, max_fds);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;

	if (fd < 0 || (unsigned int)fd >= max_fds)
		return NULL;
	if (bpf_core_read(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}
