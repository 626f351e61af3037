// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "stream.h"

static char *default_shell_names[] = {
    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish",
};

static const char *const log_level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARNING] = "warning",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void config_defaults(struct config *ret)
{
	const struct write_policy *writable = write_policy_default();

	*ret = (struct config){
	    .stdout_json = true,
	    .socket_enabled = true,
	    .socket_path = STREAM_SOCKET_PATH_DEFAULT,
	    .queue_frames = STREAM_QUEUE_FRAMES_DEFAULT,
	    .queue_bytes = STREAM_QUEUE_BYTES_DEFAULT,
	    .subscribers_max = STREAM_SUBSCRIBERS_DEFAULT,
	    .trust_directory = CONFIG_TRUST_DIRECTORY_DEFAULT,
	    .verification_interval_sec = CONFIG_VERIFICATION_INTERVAL_SEC_DEFAULT,
	    .verification_rate_limit = CONFIG_VERIFICATION_RATE_LIMIT_DEFAULT,
	    .shells =
		{
		    .names = default_shell_names,
		    .count = sizeof(default_shell_names) / sizeof(default_shell_names[0]),
		},
	    .policy = {.write = *writable},
	    .health_timeout_sec = CONFIG_HEALTH_TIMEOUT_SEC_DEFAULT,
	    .log_level = LOG_LEVEL_INFO,
	    .ring_buffer_bytes = CONFIG_RING_BUFFER_BYTES_DEFAULT,
	};
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->allocations_count; i++)
		free(c->allocations[i]);
	free(c->allocations);
	config_defaults(c);
}

int config_log_level_parse(const char *text, enum log_level *ret)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (strcmp(text, log_level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

static bool pattern_matches(const char *pattern, const char *value)
{
	if (!pattern)
		return true;
	return value && fnmatch(pattern, value, 0) == 0;
}

const struct config_policy *config_policy_for(const struct config *c, const char *image,
					      const char *ns)
{
	for (size_t i = 0; i < c->overrides_count; i++) {
		const struct config_override *o = &c->overrides[i];

		if (pattern_matches(o->image, image) && pattern_matches(o->namespace, ns))
			return &o->policy;
	}
	return &c->policy;
}

void config_error_format(const struct config_error *err, char *buf, size_t size)
{
	char where[300];

	if (err->line && err->column)
		snprintf(where, sizeof(where), "%s:%u:%u", err->file, err->line, err->column);
	else if (err->line)
		snprintf(where, sizeof(where), "%s:%u", err->file, err->line);
	else
		snprintf(where, sizeof(where), "%s", err->file);
	if (err->key[0])
		snprintf(buf, size, "%s: %s: %s", where, err->key, err->message);
	else
		snprintf(buf, size, "%s: %s", where, err->message);
}

/* The loader's state while it walks libyaml's events. */
struct loader {
	yaml_parser_t yaml;
	yaml_event_t event; /* the current event, valid when has_event */
	bool has_event;
	struct config *config;
	struct config_error *err;
	const char *path;
	char key[256];	  /* key of the value being read, "outputs.tls.cert" */
	const char *text; /* the file's content */
	size_t text_size;
	yaml_mark_t tls_listen_mark; /* where outputs.tls.listen was set, for config_validate() */
};

/* Records the first error at mark (NULL: no position) and returns r. */
__attribute__((format(printf, 4, 5))) static int
loader_fail(struct loader *l, const yaml_mark_t *mark, int r, const char *fmt, ...)
{
	struct config_error *err = l->err;
	va_list ap;

	if (!err || err->message[0])
		return r;
	snprintf(err->file, sizeof(err->file), "%s", l->path);
	err->line = mark ? (unsigned)mark->line + 1 : 0;
	err->column = mark ? (unsigned)mark->column + 1 : 0;
	snprintf(err->key, sizeof(err->key), "%s", l->key);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return r;
}

/* Records the first error at the current event. */
#define loader_fail_here(l, r, ...) loader_fail((l), &(l)->event.start_mark, (r), __VA_ARGS__)

/* Registers p with the configuration, which frees it; frees p and returns NULL on failure. */
static void *config_own(struct config *c, void *p)
{
	void **grown;

	if (!p)
		return NULL;
	if (c->allocations_count == c->allocations_capacity) {
		size_t capacity = c->allocations_capacity ? c->allocations_capacity * 2 : 32;

		grown = reallocarray(c->allocations, capacity, sizeof(*grown));
		if (!grown) {
			free(p);
			return NULL;
		}
		c->allocations = grown;
		c->allocations_capacity = capacity;
	}
	c->allocations[c->allocations_count++] = p;
	return p;
}

/* Reads the next event into l->event, rejecting aliases, anchors and tags. */
static int loader_next(struct loader *l)
{
	const char *anchor = NULL, *tag = NULL;

	if (l->has_event)
		yaml_event_delete(&l->event);
	l->has_event = false;
	if (!yaml_parser_parse(&l->yaml, &l->event)) {
		yaml_mark_t mark = l->yaml.problem_mark;

		if (l->yaml.error == YAML_MEMORY_ERROR)
			return -ENOMEM;
		/* The reader reports a byte offset, not a mark: count the lines before it. */
		if (l->yaml.error == YAML_READER_ERROR) {
			mark = (yaml_mark_t){};
			for (size_t i = 0; i < l->yaml.problem_offset && i < l->text_size; i++) {
				if (l->text[i] == '\n') {
					mark.line++;
					mark.column = 0;
				} else {
					mark.column++;
				}
			}
		}
		return loader_fail(l, &mark, -EINVAL, "invalid YAML: %s",
				   l->yaml.problem ? l->yaml.problem : "unknown error");
	}
	l->has_event = true;

	switch (l->event.type) {
	case YAML_ALIAS_EVENT:
		return loader_fail_here(l, -EINVAL, "%s", "aliases are not supported");
	case YAML_SCALAR_EVENT:
		anchor = (const char *)l->event.data.scalar.anchor;
		tag = (const char *)l->event.data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)l->event.data.sequence_start.anchor;
		tag = (const char *)l->event.data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)l->event.data.mapping_start.anchor;
		tag = (const char *)l->event.data.mapping_start.tag;
		break;
	default:
		break;
	}
	if (anchor)
		return loader_fail_here(l, -EINVAL, "%s", "anchors are not supported");
	/* Reject explicit tags: each key already has one type, and a tag could only contradict it.
	 */
	if (tag)
		return loader_fail_here(l, -EINVAL, "tags are not supported: %s", tag);
	return 0;
}

/* Appends ".name" (or "[index]" with name NULL) to the key; returns the length to restore. */
static size_t key_push(struct loader *l, const char *name, size_t index)
{
	size_t saved = strlen(l->key);

	if (name)
		snprintf(l->key + saved, sizeof(l->key) - saved, "%s%s", saved ? "." : "", name);
	else
		snprintf(l->key + saved, sizeof(l->key) - saved, "[%zu]", index);
	return saved;
}

static void key_pop(struct loader *l, size_t saved)
{
	l->key[saved] = '\0';
}

static const char *event_type_name(yaml_event_type_t type)
{
	switch (type) {
	case YAML_SCALAR_EVENT:
		return "a scalar";
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "no value";
	}
}

static bool scalar_is_null(const yaml_event_t *e)
{
	const char *v = (const char *)e->data.scalar.value;

	if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !v[0] || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

static int expect_type(struct loader *l, yaml_event_type_t type, const char *expected)
{
	if (l->event.type == type)
		return 0;
	return loader_fail(l, &l->event.start_mark, -EINVAL, "wrong type: expected %s, found %s",
			   expected, event_type_name(l->event.type));
}

/* The current scalar as a string, rejecting embedded NULs and overlong values. */
static int scalar_string(struct loader *l, const char **ret)
{
	const yaml_event_t *e = &l->event;
	int r;

	r = expect_type(l, YAML_SCALAR_EVENT, "a string");
	if (r < 0)
		return r;
	if (strlen((const char *)e->data.scalar.value) != e->data.scalar.length)
		return loader_fail_here(l, -EINVAL, "%s", "invalid string: contains a NUL byte");
	if (e->data.scalar.length > CONFIG_STRING_MAX)
		return loader_fail(l, &e->start_mark, -EINVAL,
				   "string too long: %zu bytes, the maximum is %d",
				   e->data.scalar.length, CONFIG_STRING_MAX);
	*ret = (const char *)e->data.scalar.value;
	return 0;
}

static int string_copy(struct loader *l, const char *s, const char **ret)
{
	char *copy = config_own(l->config, strdup(s));

	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

/* Checks that a path is absolute and has no "." or ".." component. */
static int path_check(struct loader *l, const char *path)
{
	const char *p = path;

	if (path[0] != '/')
		return loader_fail_here(l, -EINVAL, "invalid path \"%s\": must be absolute", path);
	while (*p) {
		size_t len;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return loader_fail_here(
			    l, -EINVAL, "invalid path \"%s\": must not contain \".\" or \"..\"",
			    path);
		p += len;
	}
	return 0;
}

enum field_type {
	FIELD_BOOL,
	FIELD_UINT,
	FIELD_STRING,	     /* any string, null allowed when nullable */
	FIELD_PATH,	     /* an absolute path */
	FIELD_ADDRESS,	     /* "host:port" */
	FIELD_LOG_LEVEL,     /* error, warning, info or debug */
	FIELD_PATH_LIST,     /* const char *[max] at offset, size_t count at count_offset */
	FIELD_SHELL_LIST,    /* struct shell_list at offset */
	FIELD_SECTION,	     /* a mapping of the fields in section */
	FIELD_OVERRIDES,     /* policy.overrides */
	FIELD_OVERRIDE_MATCH /* an override's match mapping */
};

struct field {
	const char *key;
	enum field_type type;
	size_t offset; /* of the value in the structure being filled */
	size_t count_offset;
	uint64_t min, max; /* FIELD_UINT range; list length maximum */
	bool nullable;
	bool power_of_two;
	/* Flag set when the file sets the field (FIELD_PATH_LIST of an override only). */
	size_t set_flag_offset;
	const struct field *section;
};

#define CONFIG_FIELD(name) offsetof(struct config, name)

static int field_parse(struct loader *l, const struct field *f, void *base);

static int bool_parse(struct loader *l, bool *ret)
{
	const yaml_event_t *e = &l->event;
	const char *v = (const char *)e->data.scalar.value;

	if (e->type == YAML_SCALAR_EVENT && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		/* YAML 1.2 core schema booleans; "yes" and "on" are strings there. */
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
			*ret = true;
			return 0;
		}
		if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
			*ret = false;
			return 0;
		}
	}
	if (e->type == YAML_SCALAR_EVENT)
		return loader_fail(l, &e->start_mark, -EINVAL,
				   "wrong type: expected true or false, found \"%.64s\"", v);
	return expect_type(l, YAML_SCALAR_EVENT, "true or false");
}

static int uint_parse(struct loader *l, const struct field *f, uint64_t *ret)
{
	const yaml_event_t *e = &l->event;
	const char *v = (const char *)e->data.scalar.value;
	unsigned long long n;
	char *end;

	if (e->type != YAML_SCALAR_EVENT)
		return expect_type(l, YAML_SCALAR_EVENT, "an integer");
	/* Plain decimal digits only: no sign, no "0x", no "1e3", no quotes. */
	if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || v[0] < '0' || v[0] > '9')
		return loader_fail(l, &e->start_mark, -EINVAL,
				   "wrong type: expected an integer, found \"%.64s\"", v);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end)
		return loader_fail(l, &e->start_mark, -EINVAL,
				   "wrong type: expected an integer, found \"%.64s\"", v);
	if (errno == ERANGE || n < f->min || n > f->max)
		return loader_fail(l, &e->start_mark, -EINVAL,
				   "out of range: %.64s, expected %" PRIu64 " to %" PRIu64, v,
				   f->min, f->max);
	if (f->power_of_two && (n & (n - 1)))
		return loader_fail(l, &e->start_mark, -EINVAL,
				   "invalid value %.64s: must be a power of two", v);
	*ret = n;
	return 0;
}

static int string_field_parse(struct loader *l, const struct field *f, const char **ret)
{
	const char *v;
	int r;

	if (scalar_is_null(&l->event)) {
		if (!f->nullable)
			return loader_fail_here(l, -EINVAL, "%s",
						"invalid value: null; this key needs a value");
		*ret = NULL;
		return 0;
	}
	r = scalar_string(l, &v);
	if (r < 0)
		return r;
	if (!v[0])
		return loader_fail_here(l, -EINVAL, "%s",
					f->nullable ? "invalid value: empty; write null to unset"
						    : "invalid value: empty");

	switch (f->type) {
	case FIELD_PATH:
		r = path_check(l, v);
		break;
	case FIELD_ADDRESS: {
		char host[256];
		const char *port;
		char *end;
		unsigned long n;

		r = stream_address_split(v, host, sizeof(host), &port);
		if (r == 0) {
			errno = 0;
			n = strtoul(port, &end, 10);
			if (errno || end == port || *end || n > 65535)
				r = -EINVAL;
		}
		if (r < 0)
			return loader_fail_here(l, -EINVAL,
						"invalid address \"%s\": expected HOST:PORT or "
						"[IPV6]:PORT with a port from 0 to 65535",
						v);
		break;
	}
	default:
		break;
	}
	if (r < 0)
		return r;
	return string_copy(l, v, ret);
}

/* Reads a sequence of strings into items, at most max, checking each as a path or a name. */
static int list_parse(struct loader *l, const struct field *f, const char **items,
		      size_t *ret_count)
{
	size_t count = 0, saved;
	int r;

	r = expect_type(l, YAML_SEQUENCE_START_EVENT, "a sequence");
	if (r < 0)
		return r;
	for (;;) {
		const char *v = NULL;

		r = loader_next(l);
		if (r < 0)
			return r;
		if (l->event.type == YAML_SEQUENCE_END_EVENT)
			break;
		saved = key_push(l, NULL, count);
		if (count == f->max) {
			r = loader_fail(l, &l->event.start_mark, -EINVAL,
					"too many entries: the maximum is %" PRIu64, f->max);
			key_pop(l, saved);
			return r;
		}
		if (scalar_is_null(&l->event))
			r = loader_fail_here(l, -EINVAL, "%s", "invalid value: null");
		else
			r = scalar_string(l, &v);
		if (r == 0 && !v[0])
			r = loader_fail_here(l, -EINVAL, "%s", "invalid value: empty");
		if (r == 0 && f->type == FIELD_PATH_LIST)
			r = path_check(l, v);
		if (r == 0 && f->type == FIELD_SHELL_LIST && strchr(v, '/'))
			r = loader_fail_here(l, -EINVAL,
					     "invalid shell name \"%s\": expected a file name, "
					     "without '/'",
					     v);
		if (r == 0)
			r = string_copy(l, v, &items[count]);
		key_pop(l, saved);
		if (r < 0)
			return r;
		count++;
	}
	*ret_count = count;
	return 0;
}

static int shell_list_parse(struct loader *l, const struct field *f, struct shell_list *ret)
{
	const char *names[CONFIG_SHELLS_MAX];
	size_t count = 0;
	char **copy;
	int r;

	r = list_parse(l, f, names, &count);
	if (r < 0)
		return r;
	copy = config_own(l->config, calloc(count ? count : 1, sizeof(*copy)));
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		copy[i] = (char *)names[i];
	*ret = (struct shell_list){.names = copy, .count = count};
	return 0;
}

/* Reads a mapping of the given fields into base. A null value leaves every field as it is. */
static int mapping_parse(struct loader *l, const struct field *fields, void *base)
{
	uint64_t seen = 0;
	int r;

	if (scalar_is_null(&l->event))
		return 0;
	r = expect_type(l, YAML_MAPPING_START_EVENT, "a mapping");
	if (r < 0)
		return r;
	for (;;) {
		const struct field *f = NULL;
		const char *name;
		size_t saved, index = 0;

		r = loader_next(l);
		if (r < 0)
			return r;
		if (l->event.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (l->event.type != YAML_SCALAR_EVENT)
			return loader_fail(l, &l->event.start_mark, -EINVAL,
					   "invalid key: expected a string, found %s",
					   event_type_name(l->event.type));
		r = scalar_string(l, &name);
		if (r < 0)
			return r;
		for (const struct field *i = fields; i->key; i++, index++)
			if (strcmp(i->key, name) == 0) {
				f = i;
				break;
			}

		saved = key_push(l, name, 0);
		if (!f) {
			char expected[256] = "";
			size_t len = 0;

			for (const struct field *i = fields; i->key; i++)
				len += (size_t)snprintf(
				    expected + len,
				    len < sizeof(expected) ? sizeof(expected) - len : 0, "%s%s",
				    i == fields ? "" : ", ", i->key);
			return loader_fail(l, &l->event.start_mark, -EINVAL,
					   "unknown key; expected one of: %s", expected);
		}
		if (seen & (1ull << index))
			return loader_fail_here(l, -EINVAL, "%s", "duplicate key");
		seen |= 1ull << index;

		r = loader_next(l);
		if (r < 0)
			return r;
		r = field_parse(l, f, base);
		if (r < 0)
			return r;
		key_pop(l, saved);
	}
}

static const struct field match_fields[] = {
    {.key = "image",
     .type = FIELD_STRING,
     .offset = offsetof(struct config_override, image),
     .nullable = true},
    {.key = "namespace",
     .type = FIELD_STRING,
     .offset = offsetof(struct config_override, namespace),
     .nullable = true},
    {},
};

static const struct field override_fields[] = {
    {.key = "match", .type = FIELD_OVERRIDE_MATCH, .section = match_fields},
    {.key = "writable",
     .type = FIELD_PATH_LIST,
     .offset = offsetof(struct config_override, policy.write.writable),
     .count_offset = offsetof(struct config_override, policy.write.writable_count),
     .max = POLICY_PATHS_MAX,
     .set_flag_offset = offsetof(struct config_override, writable_set)},
    {.key = "watched_mounts",
     .type = FIELD_PATH_LIST,
     .offset = offsetof(struct config_override, policy.watched_mounts),
     .count_offset = offsetof(struct config_override, policy.watched_mounts_count),
     .max = POLICY_PATHS_MAX,
     .set_flag_offset = offsetof(struct config_override, watched_mounts_set)},
    {},
};

static int overrides_parse(struct loader *l, struct config *c)
{
	struct config_override *overrides;
	size_t count = 0;
	int r;

	r = expect_type(l, YAML_SEQUENCE_START_EVENT, "a sequence");
	if (r < 0)
		return r;
	overrides = config_own(c, calloc(CONFIG_OVERRIDES_MAX, sizeof(*overrides)));
	if (!overrides)
		return -ENOMEM;
	for (;;) {
		struct config_override *o;
		yaml_mark_t start;
		size_t saved;

		r = loader_next(l);
		if (r < 0)
			return r;
		if (l->event.type == YAML_SEQUENCE_END_EVENT)
			break;
		saved = key_push(l, NULL, count);
		if (count == CONFIG_OVERRIDES_MAX)
			return loader_fail(l, &l->event.start_mark, -EINVAL,
					   "too many entries: the maximum is %d",
					   CONFIG_OVERRIDES_MAX);
		o = &overrides[count];
		o->line = (unsigned)l->event.start_mark.line + 1;
		start = l->event.start_mark;
		r = expect_type(l, YAML_MAPPING_START_EVENT, "a mapping");
		if (r < 0)
			return r;
		r = mapping_parse(l, override_fields, o);
		if (r < 0)
			return r;
		/* An empty match is rejected where it is read, so no pattern means no match key. */
		if (!o->image && !o->namespace)
			return loader_fail(l, &start, -EINVAL, "%s",
					   "missing key \"match\": an override needs a match");
		key_pop(l, saved);
		count++;
	}
	c->overrides = overrides;
	c->overrides_count = count;
	return 0;
}

/* Copies the top-level lists into the overrides that leave them out. */
static void overrides_inherit(struct config *c)
{
	for (size_t i = 0; i < c->overrides_count; i++) {
		struct config_override *o = &c->overrides[i];

		if (!o->writable_set)
			o->policy.write = c->policy.write;
		if (!o->watched_mounts_set) {
			memcpy(o->policy.watched_mounts, c->policy.watched_mounts,
			       sizeof(o->policy.watched_mounts));
			o->policy.watched_mounts_count = c->policy.watched_mounts_count;
		}
	}
}

static int field_parse(struct loader *l, const struct field *f, void *base)
{
	char *at = (char *)base + f->offset;
	int r;

	switch (f->type) {
	case FIELD_BOOL:
		return bool_parse(l, (bool *)at);
	case FIELD_UINT:
		return uint_parse(l, f, (uint64_t *)at);
	case FIELD_ADDRESS:
		if (f->offset == CONFIG_FIELD(tls_listen))
			l->tls_listen_mark = l->event.start_mark;
		return string_field_parse(l, f, (const char **)at);
	case FIELD_STRING:
	case FIELD_PATH:
		return string_field_parse(l, f, (const char **)at);
	case FIELD_LOG_LEVEL: {
		const char *v;

		r = scalar_string(l, &v);
		if (r < 0)
			return r;
		if (config_log_level_parse(v, (enum log_level *)at) < 0)
			return loader_fail_here(l, -EINVAL,
						"invalid log level \"%.64s\": expected error, "
						"warning, info or debug",
						v);
		return 0;
	}
	case FIELD_PATH_LIST:
		r = list_parse(l, f, (const char **)at, (size_t *)((char *)base + f->count_offset));
		if (r == 0 && f->set_flag_offset)
			*(bool *)((char *)base + f->set_flag_offset) = true;
		return r;
	case FIELD_SHELL_LIST:
		return shell_list_parse(l, f, (struct shell_list *)at);
	case FIELD_SECTION:
		return mapping_parse(l, f->section, base);
	case FIELD_OVERRIDES:
		return overrides_parse(l, base);
	case FIELD_OVERRIDE_MATCH: {
		struct config_override *o = base;
		yaml_mark_t start = l->event.start_mark;

		r = expect_type(l, YAML_MAPPING_START_EVENT, "a mapping");
		if (r < 0)
			return r;
		r = mapping_parse(l, f->section, o);
		if (r < 0)
			return r;
		if (!o->image && !o->namespace)
			return loader_fail(l, &start, -EINVAL, "%s",
					   "empty match: set image, namespace or both");
		return 0;
	}
	}
	return -EINVAL;
}

static const struct field socket_fields[] = {
    {.key = "enabled", .type = FIELD_BOOL, .offset = CONFIG_FIELD(socket_enabled)},
    {.key = "path", .type = FIELD_PATH, .offset = CONFIG_FIELD(socket_path)},
    {.key = "group", .type = FIELD_STRING, .offset = CONFIG_FIELD(socket_group), .nullable = true},
    {.key = "queue_frames",
     .type = FIELD_UINT,
     .offset = CONFIG_FIELD(queue_frames),
     .min = STREAM_QUEUE_FRAMES_MIN,
     .max = 1u << 20},
    {.key = "queue_bytes",
     .type = FIELD_UINT,
     .offset = CONFIG_FIELD(queue_bytes),
     .min = 64 * 1024,
     .max = 1u << 30},
    {.key = "subscribers_max",
     .type = FIELD_UINT,
     .offset = CONFIG_FIELD(subscribers_max),
     .min = 1,
     .max = 4096},
    {},
};

static const struct field tls_fields[] = {
    {.key = "listen", .type = FIELD_ADDRESS, .offset = CONFIG_FIELD(tls_listen), .nullable = true},
    {.key = "cert", .type = FIELD_PATH, .offset = CONFIG_FIELD(tls_cert), .nullable = true},
    {.key = "key", .type = FIELD_PATH, .offset = CONFIG_FIELD(tls_key), .nullable = true},
    {.key = "ca", .type = FIELD_PATH, .offset = CONFIG_FIELD(tls_ca), .nullable = true},
    {},
};

static const struct field outputs_fields[] = {
    {.key = "stdout", .type = FIELD_BOOL, .offset = CONFIG_FIELD(stdout_json)},
    {.key = "socket", .type = FIELD_SECTION, .section = socket_fields},
    {.key = "tls", .type = FIELD_SECTION, .section = tls_fields},
    {},
};

static const struct field verification_fields[] = {
    {.key = "trust_directory", .type = FIELD_PATH, .offset = CONFIG_FIELD(trust_directory)},
    {.key = "interval",
     .type = FIELD_UINT,
     .offset = CONFIG_FIELD(verification_interval_sec),
     .max = 7 * 24 * 3600},
    {.key = "rate_limit",
     .type = FIELD_UINT,
     .offset = CONFIG_FIELD(verification_rate_limit),
     .max = 1ull << 40},
    {},
};

static const struct field rules_fields[] = {
    {.key = "shells",
     .type = FIELD_SHELL_LIST,
     .offset = CONFIG_FIELD(shells),
     .max = CONFIG_SHELLS_MAX},
    {},
};

static const struct field policy_fields[] = {
    {.key = "writable",
     .type = FIELD_PATH_LIST,
     .offset = CONFIG_FIELD(policy.write.writable),
     .count_offset = CONFIG_FIELD(policy.write.writable_count),
     .max = POLICY_PATHS_MAX},
    {.key = "watched_mounts",
     .type = FIELD_PATH_LIST,
     .offset = CONFIG_FIELD(policy.watched_mounts),
     .count_offset = CONFIG_FIELD(policy.watched_mounts_count),
     .max = POLICY_PATHS_MAX},
    {.key = "overrides", .type = FIELD_OVERRIDES},
    {},
};

static const struct field host_fields[] = {
    {.key = "watch", .type = FIELD_BOOL, .offset = CONFIG_FIELD(watch_host)},
    {.key = "paths",
     .type = FIELD_PATH_LIST,
     .offset = CONFIG_FIELD(host_paths),
     .count_offset = CONFIG_FIELD(host_paths_count),
     .max = CONFIG_HOST_PATHS_MAX},
    {},
};

static const struct field metrics_fields[] = {
    {.key = "address",
     .type = FIELD_ADDRESS,
     .offset = CONFIG_FIELD(metrics_address),
     .nullable = true},
    {.key = "health_timeout",
     .type = FIELD_UINT,
     .offset = CONFIG_FIELD(health_timeout_sec),
     .min = 2,
     .max = 3600},
    {},
};

static const struct field log_fields[] = {
    {.key = "level", .type = FIELD_LOG_LEVEL, .offset = CONFIG_FIELD(log_level)},
    {},
};

static const struct field kernel_fields[] = {
    {.key = "ring_buffer_size",
     .type = FIELD_UINT,
     .offset = CONFIG_FIELD(ring_buffer_bytes),
     .min = 4096,
     .max = 1u << 30,
     .power_of_two = true},
    {},
};

static const struct field node_fields[] = {
    {.key = "name", .type = FIELD_STRING, .offset = CONFIG_FIELD(node_name), .nullable = true},
    {},
};

static const struct field top_fields[] = {
    {.key = "outputs", .type = FIELD_SECTION, .section = outputs_fields},
    {.key = "verification", .type = FIELD_SECTION, .section = verification_fields},
    {.key = "rules", .type = FIELD_SECTION, .section = rules_fields},
    {.key = "policy", .type = FIELD_SECTION, .section = policy_fields},
    {.key = "host", .type = FIELD_SECTION, .section = host_fields},
    {.key = "metrics", .type = FIELD_SECTION, .section = metrics_fields},
    {.key = "log", .type = FIELD_SECTION, .section = log_fields},
    {.key = "kernel", .type = FIELD_SECTION, .section = kernel_fields},
    {.key = "node", .type = FIELD_SECTION, .section = node_fields},
    {},
};

/* Checks between keys, once the whole file is read. */
static int config_validate(struct loader *l)
{
	struct config *c = l->config;

	if (c->tls_listen && (!c->tls_cert || !c->tls_key || !c->tls_ca)) {
		snprintf(l->key, sizeof(l->key), "outputs.tls.listen");
		return loader_fail(
		    l, &l->tls_listen_mark, -EINVAL, "%s",
		    "TLS needs outputs.tls.cert, outputs.tls.key and outputs.tls.ca too");
	}
	if (c->host_paths_count > 0)
		c->watch_host = true;
	overrides_inherit(c);
	return 0;
}

/* Reads the whole of a regular file of at most CONFIG_FILE_MAX bytes. */
static int file_read(struct loader *l, const char *path, char **ret, size_t *ret_size)
{
	struct stat st;
	char *buf = NULL;
	size_t size = 0;
	int fd, r = 0;

	/* O_NONBLOCK: opening a FIFO must not hang; the type check below rejects it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = loader_fail(l, NULL, -EINVAL, "%s", "not a regular file");
		goto out;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		r = loader_fail(l, NULL, -EFBIG, "file too large: %lld bytes, the maximum is %d",
				(long long)st.st_size, CONFIG_FILE_MAX);
		goto out;
	}
	/* One byte more than allowed, to notice a file that grew after fstat(). */
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + size, CONFIG_FILE_MAX + 1 - size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > CONFIG_FILE_MAX) {
			r = loader_fail(l, NULL, -EFBIG, "file too large: the maximum is %d bytes",
					CONFIG_FILE_MAX);
			goto out;
		}
	}
	*ret = buf;
	*ret_size = size;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

/* Walks the stream: at most one document, whose root is a mapping or null. */
static int document_parse(struct loader *l)
{
	int r;

	r = loader_next(l);
	if (r < 0)
		return r;
	if (l->event.type != YAML_STREAM_START_EVENT)
		return loader_fail_here(l, -EINVAL, "%s", "invalid YAML: no stream start");
	r = loader_next(l);
	if (r < 0)
		return r;
	if (l->event.type == YAML_STREAM_END_EVENT)
		return 0; /* an empty file */
	r = loader_next(l);
	if (r < 0)
		return r;
	if (!scalar_is_null(&l->event)) {
		r = expect_type(l, YAML_MAPPING_START_EVENT, "a mapping");
		if (r < 0)
			return r;
		r = mapping_parse(l, top_fields, l->config);
		if (r < 0)
			return r;
	}
	r = loader_next(l); /* document end */
	if (r < 0)
		return r;
	r = loader_next(l);
	if (r < 0)
		return r;
	if (l->event.type != YAML_STREAM_END_EVENT)
		return loader_fail_here(l, -EINVAL, "%s",
					"more than one document: the file must contain one");
	return 0;
}

int config_load(const char *path, struct config *ret, struct config_error *err)
{
	struct config c;
	struct loader l = {.config = &c, .err = err, .path = path ? path : CONFIG_PATH_DEFAULT};
	char *text = NULL;
	size_t size = 0;
	int r;

	if (err)
		*err = (struct config_error){};
	config_defaults(&c);
	config_defaults(ret);

	r = file_read(&l, l.path, &text, &size);
	if (r == -ENOENT && !path)
		return 0;
	if (r < 0) {
		if (err && !err->message[0])
			loader_fail(&l, NULL, r, "failed to read: %s", strerror(-r));
		return r;
	}

	if (!yaml_parser_initialize(&l.yaml)) {
		free(text);
		return -ENOMEM;
	}
	l.text = text;
	l.text_size = size;
	yaml_parser_set_input_string(&l.yaml, (const unsigned char *)text, size);
	r = document_parse(&l);
	if (r == 0)
		r = config_validate(&l);
	if (r == 0)
		r = string_copy(&l, l.path, &c.path);
	if (l.has_event)
		yaml_event_delete(&l.event);
	yaml_parser_delete(&l.yaml);
	free(text);

	if (r < 0) {
		if (r == -ENOMEM)
			loader_fail(&l, NULL, r, "%s", "out of memory");
		config_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}
