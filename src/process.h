/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The program and arguments each watched process last executed, by host pid,
 * so that an exec event can name its parent's executable and arguments. The kernel cannot read
 * another process's argv from a tracepoint, so user space keeps them.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "table.h"

struct process {
	uint32_t pid;
	uint64_t start_boot_ns; /* with pid, identifies the process across pid reuse */
	char *exe;
	char *args; /* NUL-separated */
	size_t args_len;
};

struct process_table {
	struct table table;
	char proc_root[256];
};

int process_table_init(struct process_table *pt);
void process_table_free(struct process_table *pt);

/* Record an exec: replaces what the pid ran before. */
int process_exec(struct process_table *pt, uint32_t pid, uint64_t start_boot_ns, const char *exe,
		 const char *args, size_t args_len);

/*
 * Find a process by pid and start time. A process that started before
 * intactd is read once from /proc and kept. NULL when it is gone.
 */
const struct process *process_lookup(struct process_table *pt, uint32_t pid,
				     uint64_t start_boot_ns);

void process_exit(struct process_table *pt, uint32_t pid, uint64_t start_boot_ns);
