// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "escape.h"
#include "event.h"
#include "log.h"
#include "pbjson.h"
#include "stream.h"

/*
 * Memory for the event's strings and lists, carved from chunks that are all
 * freed when the event is sent. An allocation larger than a chunk gets its own.
 */
void *event_alloc(struct event *ev, size_t size)
{
	size_t chunk_size = size > EVENT_CHUNK_SIZE ? size : EVENT_CHUNK_SIZE;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (ev->chunk_left < size) {
		if (ev->alloc_count >= EVENT_ALLOCS_MAX) {
			ev->out_of_memory = true;
			return NULL;
		}
		p = malloc(chunk_size);
		if (!p) {
			ev->out_of_memory = true;
			return NULL;
		}
		ev->allocs[ev->alloc_count++] = p;
		ev->chunk_next = p;
		ev->chunk_left = chunk_size;
	}
	p = ev->chunk_next;
	ev->chunk_next += size;
	ev->chunk_left = ev->chunk_left > size ? ev->chunk_left - size : 0;
	return p;
}

void event_init(struct event *ev, struct daemon *d, const char *kind, uint64_t boot_ns)
{
	int64_t realtime_ns = (int64_t)boot_ns + d->realtime_minus_boottime_ns;

	memset(ev, 0, sizeof(*ev));
	intact__v1__event__init(&ev->msg);
	google__protobuf__timestamp__init(&ev->time);
	ev->time.seconds = realtime_ns / 1000000000;
	ev->time.nanos = (int32_t)(realtime_ns % 1000000000);
	ev->msg.event = (char *)kind;
	ev->msg.time = &ev->time;
	ev->msg.boot_id = d->boot_id;
	ev->msg.node = d->node_name;
	ev->msg.rules = ev->rules;
}

char *event_text(struct event *ev, const char *s, size_t len, ProtobufCBinaryData *ret_bytes)
{
	char *text;

	if (utf8_is_valid(s, len)) {
		text = event_alloc(ev, len + 1);
		if (!text)
			return "";
		memcpy(text, s, len);
		text[len] = '\0';
		return text;
	}
	text = event_alloc(ev, 3 * len + 1);
	if (!text)
		return "";
	utf8_sanitize(s, len, text);
	if (ret_bytes) {
		uint8_t *bytes = event_alloc(ev, len ? len : 1);

		if (bytes) {
			memcpy(bytes, s, len);
			ret_bytes->data = bytes;
			ret_bytes->len = len;
		}
	}
	return text;
}

void event_rule_add(struct event *ev, const char *rule)
{
	if (ev->msg.n_rules < EVENT_RULES_MAX)
		ev->rules[ev->msg.n_rules++] = (char *)rule;
}

void event_container_set(struct event *ev, const struct container *c, bool host)
{
	Intact__V1__Container *m = &ev->container;
	const struct bundle_meta *b = &c->bundle;

	intact__v1__container__init(m);
	ev->msg.container = m;
	ev->msg.host = host;
	m->id = c->is_container ? (char *)c->identity.id : "";
	if (c->is_container) {
		m->runtime = (char *)container_runtime_name(c->identity.runtime);
		m->namespace_ = (char *)c->identity.ns;
	}
	m->cgroup = event_text(ev, c->cgroup_path, strlen(c->cgroup_path), NULL);
	m->cgroup_partial = c->cgroup_path_partial;
	if (!c->has_bundle)
		return;
	if (b->pod_name[0] || b->pod_namespace[0] || b->pod_uid[0]) {
		intact__v1__pod__init(&ev->pod);
		ev->pod.name = (char *)b->pod_name;
		ev->pod.namespace_ = (char *)b->pod_namespace;
		ev->pod.uid = (char *)b->pod_uid;
		m->pod = &ev->pod;
	}
	m->name = (char *)b->container_name;
	m->image = (char *)b->image;
}

void event_args_set(struct event *ev, Intact__V1__Process *p, const char *args, size_t len)
{
	size_t count = 0, start = 0;
	char **list;

	for (size_t i = 0; i < len; i++)
		if (args[i] == '\0')
			count++;
	if (len > 0 && args[len - 1] != '\0')
		count++;
	if (count == 0)
		return;
	list = event_alloc(ev, count * sizeof(*list));
	if (!list)
		return;
	p->args = list;
	p->n_args = 0;
	for (size_t i = 0; i <= len && p->n_args < count; i++) {
		if (i == len || args[i] == '\0') {
			list[p->n_args++] = event_text(ev, args + start, i - start, NULL);
			start = i + 1;
		}
	}
	/* A list of exact copies too, when some argument is not valid UTF-8. */
	if (!utf8_is_valid(args, len)) {
		ProtobufCBinaryData *bytes = event_alloc(ev, count * sizeof(*bytes));

		if (!bytes)
			return;
		start = 0;
		p->args_bytes = bytes;
		p->n_args_bytes = 0;
		for (size_t i = 0; i <= len && p->n_args_bytes < count; i++) {
			if (i == len || args[i] == '\0') {
				bytes[p->n_args_bytes].data = (uint8_t *)args + start;
				bytes[p->n_args_bytes++].len = i - start;
				start = i + 1;
			}
		}
	}
}

char *event_exec_id(struct event *ev, uint32_t pid, uint64_t exec_boot_ns)
{
	char *id = event_alloc(ev, 40);

	if (!id)
		return "";
	snprintf(id, 40, "%" PRIu32 ":%" PRIu64, pid, exec_boot_ns);
	return id;
}

void event_process_set(struct event *ev, Intact__V1__Process *p, const struct intact_task *task,
		       const struct process *process)
{
	intact__v1__process__init(p);
	p->pid = task->pid;
	p->ns_pid = task->ns_pid;
	p->ppid = task->ppid;
	p->uid = task->uid;
	p->gid = task->gid;
	p->euid = task->euid;
	p->egid = task->egid;
	p->comm = event_text(ev, task->comm, strnlen(task->comm, sizeof(task->comm)), NULL);
	p->exec_id = event_exec_id(ev, task->pid, task->exec_boot_ns);
	if (process) {
		p->exe = event_text(ev, process->exe, strlen(process->exe), &p->exe_bytes);
		event_args_set(ev, p, process->args, process->args_len);
	}
}

static const char *text_or_empty(const char *s)
{
	return s ? s : "";
}

/*
 * Log an event that matched a rule to the journal, with its facts as fields
 * (INTACT_RULE, CONTAINER_ID, POD_NAME, ...) so that journalctl can select
 * on them, e.g. "journalctl INTACT_RULE=shell_in_container".
 */
static void event_journal_send(const struct event *ev)
{
	const Intact__V1__Event *m = &ev->msg;
	const Intact__V1__Container *c = m->container;
	const Intact__V1__Process *p = m->process;
	const Intact__V1__File *f = m->file;
	const char *pod = c && c->pod ? text_or_empty(c->pod->name) : "";
	const char *pod_ns = c && c->pod ? text_or_empty(c->pod->namespace_) : "";
	const char *container = c ? text_or_empty(c->id) : "";
	const char *exe = p ? text_or_empty(p->exe) : "";
	const char *path = f ? text_or_empty(f->path) : "";

	(void)sd_journal_send("MESSAGE=%s: %s in container %s%s%s%s%s", m->rules[0], m->event,
			      container[0] ? container : "(host)", exe[0] ? ", " : "", exe,
			      path[0] ? ", " : "", path, "PRIORITY=%d", LOG_WARNING,
			      "INTACT_EVENT=%s", m->event, "INTACT_RULE=%s", m->rules[0],
			      "INTACT_SEQ=%" PRIu64, m->seq, "CONTAINER_ID=%s", container,
			      "POD_NAME=%s", pod, "POD_NAMESPACE=%s", pod_ns, "PROCESS_PID=%u",
			      p ? p->pid : 0, "PROCESS_EXE=%s", exe, "FILE_PATH=%s", path, NULL);
}

void event_send(struct daemon *d, struct event *ev)
{
	int r;

	if (ev->out_of_memory)
		log_warning("event %" PRIu64 " is missing fields: out of memory", d->seq + 1);
	ev->msg.seq = ++d->seq;
	if (ev->msg.n_rules == 0)
		metrics_snapshot_event_count(&d->metrics_snapshot, ev->msg.event, NULL);
	for (size_t i = 0; i < ev->msg.n_rules; i++)
		metrics_snapshot_event_count(&d->metrics_snapshot, ev->msg.event, ev->msg.rules[i]);
	if (d->config.stdout_json) {
		/* Flushed once per loop iteration, see on_output_flush(). */
		r = pbjson_fprint_line(d->out, &ev->msg.base);
		d->out_pending = true;
		if (r < 0)
			log_error("failed to write event %" PRIu64 ": %s", ev->msg.seq,
				  strerror(-r));
		else
			d->stats.events_written++;
	}
	if (d->stream)
		stream_publish(d->stream, &ev->msg);
	if (d->journal && ev->msg.n_rules > 0)
		event_journal_send(ev);
	for (size_t i = 0; i < ev->alloc_count; i++)
		free(ev->allocs[i]);
	ev->alloc_count = 0;
}
