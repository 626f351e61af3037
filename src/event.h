/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building an intact.v1.Event and sending it: one line of proto3 JSON on the
 * output, one frame to every subscriber of the stream. Field names are a
 * stable interface: SIEM rules match on them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "intact/events.h"
#include "intact/v1/event.pb-c.h"

#define EVENT_RULES_MAX 8
#define EVENT_ALLOCS_MAX 64
#define EVENT_CHUNK_SIZE (16 * 1024)

struct event {
	Intact__V1__Event msg;
	Google__Protobuf__Timestamp time;
	Intact__V1__Container container;
	Intact__V1__Pod pod;
	Intact__V1__Process process;
	Intact__V1__Process parent;
	Intact__V1__File file;
	Intact__V1__Mount mount;
	Intact__V1__Lost lost;
	Intact__V1__ImageVerdict image;
	Intact__V1__AgentStatus status;
	char *rules[EVENT_RULES_MAX];
	/* Memory owned by the event until it is sent. */
	void *allocs[EVENT_ALLOCS_MAX];
	size_t alloc_count;
	char *chunk_next; /* free space in the last chunk */
	size_t chunk_left;
	bool out_of_memory;
};

/* Start an event of kind ("exec", "file", ...) that happened at boot_ns (boot clock). */
void event_init(struct event *ev, struct daemon *d, const char *kind, uint64_t boot_ns);

/*
 * Copy len bytes of s into the event as a valid UTF-8 string. When s is not
 * valid UTF-8, each invalid byte becomes U+FFFD and, if ret_bytes is not
 * NULL, the exact bytes are kept there too. Never NULL: "" when memory runs out.
 */
char *event_text(struct event *ev, const char *s, size_t len, ProtobufCBinaryData *ret_bytes);

/* Memory that lives until the event is sent; NULL (and the event marked) when none is left. */
void *event_alloc(struct event *ev, size_t size);

void event_rule_add(struct event *ev, const char *rule);

/* "container": the id ("" on the host), runtime, cgroup and Kubernetes names. */
void event_container_set(struct event *ev, const struct container *c, bool host);

/* The task's ids and credentials, and what it runs when the process table has it. */
void event_process_set(struct event *ev, Intact__V1__Process *p, const struct intact_task *task,
		       const struct process *process);

/* argv from NUL-separated args; the last one may lack its NUL. */
void event_args_set(struct event *ev, Intact__V1__Process *p, const char *args, size_t len);

/* "PID:BOOT_NS", see Process.exec_id. */
char *event_exec_id(struct event *ev, uint32_t pid, uint64_t exec_boot_ns);

/* Give the event its sequence number, write and publish it, and free what it owns. */
void event_send(struct daemon *d, struct event *ev);
