// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "event.h"
#include "intact.skel.h"
#include "image.h"
#include "log.h"
#include "verifier.h"

#define LAYERS_MAX 512
/* How long after a host write into a layer it is hashed again. */
#define TAMPER_RECHECK_USEC (1000 * 1000)

static const char *const verdict_rules[] = {
    [VERDICT_VERIFIED] = "image_verified",
    [VERDICT_UNSIGNED] = "image_unsigned",
    [VERDICT_LAYER_MISMATCH] = "image_layer_mismatch",
    [VERDICT_ERROR] = "image_verification_failed",
};

static const Intact__V1__Verdict verdict_values[] = {
    [VERDICT_VERIFIED] = INTACT__V1__VERDICT__VERDICT_VERIFIED,
    [VERDICT_UNSIGNED] = INTACT__V1__VERDICT__VERDICT_UNSIGNED,
    [VERDICT_LAYER_MISMATCH] = INTACT__V1__VERDICT__VERDICT_LAYER_MISMATCH,
    [VERDICT_ERROR] = INTACT__V1__VERDICT__VERDICT_ERROR,
};

static uint64_t boot_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* A "status" event naming a file of the trust directory that cannot be used. */
static void rejection_report(struct daemon *d, const char *path, const char *reason)
{
	struct event ev;

	log_warning("ignoring %s for image verification: %s", path, reason);
	event_init(&ev, d, "status", boot_now_ns());
	intact__v1__agent_status__init(&ev.status);
	ev.status.state = "manifest_rejected";
	ev.status.file = event_text(&ev, path, strlen(path), NULL);
	ev.status.message = event_text(&ev, reason, strlen(reason), NULL);
	ev.msg.body_case = INTACT__V1__EVENT__BODY_STATUS;
	ev.msg.status = &ev.status;
	event_send(d, &ev);
}

static void rejections_report(struct daemon *d)
{
	const struct verifier_rejection *rejections;
	size_t n;

	rejections = verifier_rejections(d->verifier, &n);
	for (size_t i = 0; i < n; i++)
		rejection_report(d, rejections[i].path, rejections[i].reason);
}

static void verdict_send(struct daemon *d, const struct verdict *v)
{
	Intact__V1__ImageVerdict *m;
	struct container *c = NULL;
	uint64_t cgroup_id;
	struct event ev;
	char *end;

	event_init(&ev, d, "image", boot_now_ns());
	if (v->outcome < VERDICT_OUTCOMES)
		event_rule_add(&ev, verdict_rules[v->outcome]);
	/* Requests name the container by its cgroup id; it may be gone by now. */
	cgroup_id = strtoull(v->container_id, &end, 10);
	if (*end == '\0')
		c = table_get(&d->containers.table, cgroup_id);
	if (c) {
		event_container_set(&ev, c, false);
		c->verdict = v->outcome;
	}

	m = &ev.image;
	intact__v1__image_verdict__init(m);
	m->verdict = v->outcome < VERDICT_OUTCOMES ? verdict_values[v->outcome]
						   : INTACT__V1__VERDICT__VERDICT_UNSPECIFIED;
	m->image = event_text(&ev, v->image_name ? v->image_name : "",
			      v->image_name ? strlen(v->image_name) : 0, NULL);
	if (v->manifest_path)
		m->manifest = event_text(&ev, v->manifest_path, strlen(v->manifest_path), NULL);
	m->key_id = event_text(&ev, v->key_id, strlen(v->key_id), NULL);
	if (v->message)
		m->message = event_text(&ev, v->message, strlen(v->message), NULL);
	m->layers = event_alloc(&ev, v->n_layers * sizeof(*m->layers));
	for (size_t i = 0; m->layers && i < v->n_layers; i++) {
		const struct verdict_layer *l = &v->layers[i];
		Intact__V1__LayerResult *r = event_alloc(&ev, sizeof(*r));

		if (!r)
			break;
		intact__v1__layer_result__init(r);
		r->index = (uint32_t)l->index;
		if (l->dir)
			r->directory = event_text(&ev, l->dir, strlen(l->dir), NULL);
		r->expected_digest = event_text(&ev, l->expected, strlen(l->expected), NULL);
		r->actual_digest = event_text(&ev, l->digest, strlen(l->digest), NULL);
		r->match = l->match;
		r->differing_count = (uint32_t)l->n_differences;
		r->differing_paths = event_alloc(&ev, l->n_differences_listed * sizeof(char *));
		for (size_t j = 0; r->differing_paths && j < l->n_differences_listed; j++) {
			const char *path = l->differences[j].path;

			r->differing_paths[r->n_differing_paths++] =
			    event_text(&ev, path, strlen(path), NULL);
		}
		m->layers[m->n_layers++] = r;
	}
	ev.msg.body_case = INTACT__V1__EVENT__BODY_IMAGE;
	ev.msg.image = m;
	metrics_named_value_add(d->metrics_snapshot.verdicts, &d->metrics_snapshot.verdicts_count,
				METRICS_VERDICTS_MAX, verdict_outcome_name(v->outcome), 1);
	event_send(d, &ev);
}

static int on_verdict(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	struct verdict *v;

	while (verifier_next_verdict(d->verifier, &v) == 1) {
		verdict_send(d, v);
		verdict_free(v);
	}
	return 0;
}

/* Split the lowerdir= list, top-most first, at the ':' that overlayfs uses. */
static size_t lowerdirs_split(char *list, const char **dirs, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *dir = strtok_r(list, ":", &save); dir && n < max;
	     dir = strtok_r(NULL, ":", &save))
		dirs[n++] = dir;
	return n;
}

/*
 * Watch dir for host writes: the kernel reports a host task's write inside a
 * directory of layer_dirs, by the directory's device and inode.
 */
static void layer_watch_add(struct daemon *d, const char *dir)
{
	struct intact_layer_key key = {};
	struct image_layer *layer;
	uint32_t present = 1;
	struct stat st;

	if (stat(dir, &st) < 0)
		return;
	key.ino = st.st_ino;
	/* The kernel's dev_t keeps the minor number in its low 20 bits. */
	key.dev = (uint32_t)(major(st.st_dev) << 20 | minor(st.st_dev));
	for (size_t i = 0; i < d->layer_count; i++)
		if (d->layers[i].dev == key.dev && d->layers[i].ino == key.ino)
			return;
	if (d->layer_count >= IMAGE_LAYERS_WATCHED_MAX) {
		log_warning("watching %d layer directories already: host writes in %s are not "
			    "reported",
			    IMAGE_LAYERS_WATCHED_MAX, dir);
		return;
	}
	if (bpf_map__update_elem(d->skel->maps.layer_dirs, &key, sizeof(key), &present,
				 sizeof(present), BPF_ANY) < 0) {
		log_warning("failed to watch layer directory %s for host writes: %m", dir);
		return;
	}
	layer = &d->layers[d->layer_count];
	layer->dev = key.dev;
	layer->ino = key.ino;
	layer->path = strdup(dir);
	if (!layer->path)
		return;
	d->layer_count++;
	d->skel->bss->layer_watch = 1;
}

const char *image_layer_dir(struct daemon *d, uint32_t dev, uint64_t ino)
{
	for (size_t i = 0; i < d->layer_count; i++)
		if (d->layers[i].dev == dev && d->layers[i].ino == ino)
			return d->layers[i].path;
	return NULL;
}

/* Whether dir is one of the ':'-separated directories of list. */
static bool lowerdirs_contain(const char *list, const char *dir)
{
	size_t n = strlen(dir);

	for (const char *p = list; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL)
		if (strncmp(p, dir, n) == 0 && (p[n] == ':' || p[n] == '\0'))
			return true;
	return false;
}

/* Drop dir's cached digest and verify again every container that runs from it. */
static void layer_reverify(struct daemon *d, const char *dir)
{
	struct table *t = &d->containers.table;

	(void)verifier_invalidate_dir(d->verifier, dir);
	for (size_t i = 0; i < t->bucket_count; i++) {
		for (struct table_entry *e = t->buckets[i]; e; e = e->next) {
			struct container *c = e->value;

			if (!c->verify_requested || !c->rootfs_lowerdirs ||
			    !lowerdirs_contain(c->rootfs_lowerdirs, dir))
				continue;
			c->verify_requested = false;
			image_verification_request(d, c);
		}
	}
}

static int on_tamper_recheck(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct image_layer *layer = userdata;
	struct daemon *d = layer->daemon;

	layer->recheck = NULL;
	sd_event_source_unref(s);
	if (d->verifier)
		layer_reverify(d, layer->path);
	return 0;
}

void image_layer_tampered(struct daemon *d, const char *dir)
{
	struct image_layer *layer = NULL;
	int r;

	if (!d->verifier)
		return;
	(void)verifier_invalidate_dir(d->verifier, dir);

	/*
	 * The kernel reports a write when the file is opened, before the bytes
	 * land: verify again once the writer has had time to write, or the
	 * digest would be the old content's. One recheck at a time per layer,
	 * however many writes come.
	 * NOTE: a writer that keeps the file open longer before writing is
	 * caught by the periodic re-verification only.
	 */
	for (size_t i = 0; i < d->layer_count; i++)
		if (strcmp(d->layers[i].path, dir) == 0)
			layer = &d->layers[i];
	if (!layer || layer->recheck)
		return;
	layer->daemon = d;
	r = sd_event_add_time_relative(d->loop, &layer->recheck, CLOCK_MONOTONIC,
				       TAMPER_RECHECK_USEC, 0, on_tamper_recheck, layer);
	if (r < 0)
		log_warning("failed to schedule the recheck of layer %s: %s", dir, strerror(-r));
}

void image_verification_request(struct daemon *d, struct container *c)
{
	const char *dirs[LAYERS_MAX];
	char id[32], *list;
	size_t n;
	int r;

	if (!d->verifier || !c->is_container || c->verify_requested || !c->rootfs_lowerdirs)
		return;
	list = strdup(c->rootfs_lowerdirs);
	if (!list)
		return;
	n = lowerdirs_split(list, dirs, LAYERS_MAX);
	for (size_t i = 0; i < n; i++)
		layer_watch_add(d, dirs[i]);
	snprintf(id, sizeof(id), "%" PRIu64, c->cgroup_id);
	r = verifier_request(d->verifier, id, c->has_bundle ? c->bundle.image : NULL, dirs, n);
	if (r < 0)
		log_warning("failed to queue image verification of container %s: %s",
			    c->identity.id, strerror(-r));
	else
		c->verify_requested = true;
	free(list);
}

/* Copy the last component of path to leaf, the one before it to parent. */
static void path_last_two(char *path, char *leaf, size_t leaf_size, char *parent,
			  size_t parent_size)
{
	char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;

	if (strlen(name) >= leaf_size)
		name = "";
	memcpy(leaf, name, strlen(name) + 1);
	parent[0] = '\0';
	if (!slash)
		return;
	*slash = '\0';
	slash = strrchr(path, '/');
	name = slash ? slash + 1 : path;
	if (strlen(name) < parent_size)
		memcpy(parent, name, strlen(name) + 1);
}

/* The cgroup id of a process: the inode of its cgroup directory. */
static int process_cgroup(struct daemon *d, const char *pid, uint64_t *ret_id, char *leaf,
			  size_t leaf_size, char *parent, size_t parent_size)
{
	const char *mount = d->host.cgroup_v2_mount[0] ? d->host.cgroup_v2_mount : NULL;
	char name[300], line[4096], dir[4600], *path = NULL;
	struct stat st;
	FILE *f;

	/* NOTE: on a cgroup v1-only host, running containers are found at their first exec. */
	if (!mount)
		return -EOPNOTSUPP;
	snprintf(name, sizeof(name), "/proc/%s/cgroup", pid);
	f = fopen(name, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			path = line + 3;
			break;
		}
	fclose(f);
	if (!path)
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%s%s", mount, path);
	if (stat(dir, &st) < 0)
		return -errno;
	*ret_id = st.st_ino;
	path_last_two(path, leaf, leaf_size, parent, parent_size);
	return 0;
}

void image_verification_discover(struct daemon *d)
{
	struct dirent *de;
	DIR *proc;

	if (!d->verifier)
		return;
	proc = opendir("/proc");
	if (!proc)
		return;
	while ((de = readdir(proc))) {
		char name[300], leaf[256], parent[256];
		struct container *c;
		uint64_t cgroup_id = 0;
		struct stat st;
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end != '\0' || pid == 0)
			continue;
		snprintf(name, sizeof(name), "/proc/%lu/ns/mnt", pid);
		if (stat(name, &st) < 0 || st.st_ino == d->host.host_mntns_inum)
			continue;
		if (process_cgroup(d, de->d_name, &cgroup_id, leaf, sizeof(leaf), parent,
				   sizeof(parent)) < 0)
			continue;
		c = container_lookup(&d->containers, cgroup_id, (uint32_t)pid, leaf, parent);
		if (!c || !c->is_container || c->verify_requested)
			continue;
		if (container_root_open(&d->containers, c, (uint32_t)pid) == 0)
			image_verification_request(d, c);
	}
	closedir(proc);
}

/*
 * Verify every container again: its layers are hashed anew, since a change
 * deep inside a layer directory leaves the cache's key as it was.
 */
static int on_reverify_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;
	struct table *t = &d->containers.table;

	for (size_t i = 0; i < t->bucket_count; i++) {
		for (struct table_entry *e = t->buckets[i]; e; e = e->next) {
			struct container *c = e->value;
			const char *dirs[LAYERS_MAX];
			char *list;
			size_t n;

			if (!c->verify_requested || !c->rootfs_lowerdirs)
				continue;
			list = strdup(c->rootfs_lowerdirs);
			if (!list)
				continue;
			n = lowerdirs_split(list, dirs, LAYERS_MAX);
			for (size_t j = 0; j < n; j++)
				(void)verifier_invalidate_dir(d->verifier, dirs[j]);
			free(list);
			c->verify_requested = false;
			image_verification_request(d, c);
		}
	}
	return timer_rearm(s, usec + d->config.verification_interval_sec * 1000000);
}

int image_verification_start(struct daemon *d)
{
	struct verifier_options opts = {
	    .trust_dir = d->config.trust_directory,
	    .rate_limit = d->config.verification_rate_limit,
	};
	struct stat st;
	int r;

	if (!opts.trust_dir || stat(opts.trust_dir, &st) < 0) {
		log_info("no trust directory %s: images are not verified",
			 opts.trust_dir ? opts.trust_dir : "(none)");
		return 0;
	}
	r = verifier_new(&opts, &d->verifier);
	if (r < 0) {
		log_error("failed to start image verification with %s: %s", opts.trust_dir,
			  strerror(-r));
		return r;
	}
	r = sd_event_add_io(d->loop, NULL, verifier_event_fd(d->verifier), EPOLLIN, on_verdict, d);
	if (r < 0)
		return r;
	if (d->config.verification_interval_sec > 0) {
		uint64_t now;

		r = sd_event_now(d->loop, CLOCK_MONOTONIC, &now);
		if (r < 0)
			return r;
		r = sd_event_add_time(d->loop, NULL, CLOCK_MONOTONIC,
				      now + d->config.verification_interval_sec * 1000000, 0,
				      on_reverify_timer, d);
		if (r < 0)
			return r;
	}
	rejections_report(d);
	log_info("verifying images against the signed manifests of %s", opts.trust_dir);
	return 0;
}

void image_verification_reload(struct daemon *d)
{
	int r;

	if (!d->verifier)
		return;
	r = verifier_reload(d->verifier);
	if (r < 0) {
		log_error("failed to reload the trust directory: %s", strerror(-r));
		return;
	}
	rejections_report(d);
}

void image_verification_stop(struct daemon *d)
{
	verifier_free(d->verifier);
	d->verifier = NULL;
	for (size_t i = 0; i < d->layer_count; i++) {
		sd_event_source_unref(d->layers[i].recheck);
		free(d->layers[i].path);
	}
	d->layer_count = 0;
}
