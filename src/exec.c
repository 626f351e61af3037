// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "exec.h"
#include "image.h"
#include "log.h"
#include "record.h"

/* The script's name made absolute with the cwd, as the kernel resolved it. */
static void script_path(char *out, size_t size, const char *cwd, const char *script)
{
	if (script[0] == '/')
		snprintf(out, size, "%s", script);
	else
		snprintf(out, size, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", script);
}

static void exec_rules(struct event *ev, const struct daemon *d, bool in_container,
		       uint32_t exe_flags, bool script_upper, const char *exe, const char *args,
		       size_t args_len)
{
	const char *shell;

	if (!in_container)
		return;
	if (exec_is_shell(d->shells, exe, args, args_len, &shell))
		event_rule_add(ev, "shell_in_container");
	if (exe_flags & INTACT_EXE_FILELESS)
		event_rule_add(ev, "fileless_exec");
	else if (script_upper || (exe_flags & (INTACT_EXE_UPPER_LAYER | INTACT_EXE_WRITABLE_MOUNT)))
		event_rule_add(ev, "drift_exec");
}

static void exec_parent_set(struct daemon *d, struct event *ev, const struct intact_exec *e,
			    const char *parent_exe)
{
	Intact__V1__Process *p = &ev->parent;
	const struct process *parent;

	intact__v1__process__init(p);
	p->pid = e->task.ppid;
	p->exe = event_text(ev, parent_exe, strlen(parent_exe), &p->exe_bytes);
	parent = process_lookup(&d->processes, e->task.ppid, e->task.parent_start_boot_ns);
	if (parent)
		event_args_set(ev, p, parent->args, parent->args_len);
	p->exec_id = event_exec_id(ev, e->task.ppid, e->task.parent_exec_boot_ns);
	ev->process.parent = p;
}

int exec_record_handle(struct daemon *d, const struct intact_exec *e, size_t size)
{
	size_t exe_len, args_len, cwd_len, filename_len, interp_len;
	const char *exe = record_string(e, size, &e->exe, &exe_len);
	const char *args = record_string(e, size, &e->args, &args_len);
	const char *cwd = record_string(e, size, &e->cwd, &cwd_len);
	const char *filename = record_string(e, size, &e->filename, &filename_len);
	const char *interp = record_string(e, size, &e->interp, &interp_len);
	bool in_container = e->task.mntns_inum != d->host.host_mntns_inum;
	bool script = e->exe_flags & INTACT_EXE_SCRIPT;
	char script_abs[2 * INTACT_PATH_MAX];
	struct container *container;
	Intact__V1__Process *p;
	bool script_upper = false;
	struct event ev;
	int r;

	container = container_lookup(&d->containers, e->task.cgroup_id, e->task.pid,
				     record_string(e, size, &e->cgroup_name, NULL),
				     record_string(e, size, &e->cgroup_parent, NULL));
	if (!container)
		return -ENOMEM;
	if (in_container && container_root_open(&d->containers, container, e->task.pid) == 0)
		image_verification_request(d, container);
	if (script) {
		script_path(script_abs, sizeof(script_abs), cwd, filename);
		/*
		 * The kernel has closed the script's file at sched_process_exec, so
		 * its name is looked up in the upper directory instead.
		 * NOTE: a symlink in the script's directory path is not followed.
		 */
		script_upper = container_upper_has_file(container, script_abs);
	}
	r = process_exec(&d->processes, e->task.pid, e->task.start_boot_ns, exe, args, args_len);
	if (r < 0)
		log_debug("process table: failed to record pid %u: %s", e->task.pid, strerror(-r));

	event_init(&ev, d, "exec", e->header.boot_ns);
	exec_rules(&ev, d, in_container, e->exe_flags, script_upper, exe, args, args_len);
	event_container_set(&ev, container, !in_container);

	p = &ev.process;
	event_process_set(&ev, p, &e->task, NULL);
	ev.msg.process = p;
	p->exe = event_text(&ev, exe, exe_len, &p->exe_bytes);
	p->exe_truncated = record_string_incomplete(&e->exe);
	p->exe_outside_root = e->exe.flags & INTACT_STR_UNREACHABLE;
	p->filename = event_text(&ev, filename, filename_len, &p->filename_bytes);
	event_args_set(&ev, p, args, args_len);
	p->argc = e->argc;
	p->args_truncated = record_string_incomplete(&e->args);
	p->cwd = event_text(&ev, cwd, cwd_len, &p->cwd_bytes);
	p->cwd_truncated = record_string_incomplete(&e->cwd);
	if (script) {
		/* For a #! script the kernel loaded the interpreter; filename is the script. */
		p->script = event_text(&ev, script_abs, strlen(script_abs), &p->script_bytes);
		p->interpreter = event_text(&ev, interp, interp_len, NULL);
		p->script_upper_layer = script_upper;
	}
	p->exe_upper_layer = e->exe_flags & INTACT_EXE_UPPER_LAYER;
	p->exe_writable_mount = e->exe_flags & INTACT_EXE_WRITABLE_MOUNT;
	p->exe_fileless = e->exe_flags & INTACT_EXE_FILELESS;
	p->exe_inode = e->exe_ino;
	p->exe_dev = e->exe_dev;
	exec_parent_set(d, &ev, e, record_string(e, size, &e->parent_exe, NULL));

	event_send(d, &ev);
	return 0;
}

void exit_record_handle(struct daemon *d, const struct intact_exit *e)
{
	process_exit(&d->processes, e->task.pid, e->task.start_boot_ns);
}
