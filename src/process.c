// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intact/events.h"
#include "process.h"

#define PROCESSES_MAX 262144

static void process_free(void *value)
{
	struct process *p = value;

	free(p->exe);
	free(p->args);
	free(p);
}

int process_table_init(struct process_table *pt)
{
	snprintf(pt->proc_root, sizeof(pt->proc_root), "/proc");
	return table_init(&pt->table, 16384, PROCESSES_MAX, process_free);
}

void process_table_free(struct process_table *pt)
{
	table_free(&pt->table);
}

static struct process *process_new(uint32_t pid, uint64_t start_boot_ns, const char *exe,
				   const char *args, size_t args_len)
{
	struct process *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->start_boot_ns = start_boot_ns;
	p->exe = strdup(exe);
	p->args = malloc(args_len + 1);
	if (!p->exe || !p->args) {
		process_free(p);
		return NULL;
	}
	memcpy(p->args, args, args_len);
	p->args[args_len] = '\0';
	p->args_len = args_len;
	return p;
}

int process_exec(struct process_table *pt, uint32_t pid, uint64_t start_boot_ns, const char *exe,
		 const char *args, size_t args_len)
{
	struct process *p = process_new(pid, start_boot_ns, exe, args, args_len);
	int r;

	if (!p)
		return -ENOMEM;
	r = table_put(&pt->table, pid, p);
	if (r < 0)
		process_free(p);
	return r;
}

/*
 * Read a process that started before intactd. The start time is not checked
 * against /proc/PID/stat: a pid reused since the parent's fork would be
 * misread, which needs the parent to exit and its pid to be reused within
 * the few microseconds between the exec and this read.
 */
static struct process *process_from_proc(const struct process_table *pt, uint32_t pid,
					 uint64_t start_boot_ns)
{
	char name[300], exe[INTACT_PATH_MAX], args[INTACT_ARGS_MAX];
	ssize_t exe_len, args_len;
	int fd;

	snprintf(name, sizeof(name), "%s/%u/exe", pt->proc_root, pid);
	exe_len = readlink(name, exe, sizeof(exe) - 1);
	if (exe_len < 0)
		exe_len = 0;
	exe[exe_len] = '\0';

	snprintf(name, sizeof(name), "%s/%u/cmdline", pt->proc_root, pid);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	args_len = read(fd, args, sizeof(args) - 1);
	close(fd);
	if (args_len < 0)
		return NULL;
	/* cmdline ends with a NUL that the kernel's argv copy does not count. */
	if (args_len > 0 && args[args_len - 1] == '\0')
		args_len--;
	return process_new(pid, start_boot_ns, exe, args, (size_t)args_len);
}

const struct process *process_lookup(struct process_table *pt, uint32_t pid, uint64_t start_boot_ns)
{
	struct process *p = table_get(&pt->table, pid);

	if (p && p->start_boot_ns == start_boot_ns)
		return p;
	p = process_from_proc(pt, pid, start_boot_ns);
	if (!p)
		return NULL;
	if (table_put(&pt->table, pid, p) < 0) {
		process_free(p);
		return NULL;
	}
	return p;
}

void process_exit(struct process_table *pt, uint32_t pid, uint64_t start_boot_ns)
{
	struct process *p = table_get(&pt->table, pid);

	if (p && p->start_boot_ns == start_boot_ns)
		table_remove(&pt->table, pid);
}
