// SPDX-License-Identifier: Apache-2.0
/*
 * The image verifier: trust directory loading on the caller's thread,
 * layer hashing and matching on one worker thread at idle IO priority,
 * verdicts handed back through a queue and an eventfd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "verifier.h"

/* From the kernel's include/uapi/linux/ioprio.h; glibc has no wrapper. */
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1
/* The weakest CPU priority, for the worker thread (nice applies per thread on Linux). */
#define WORKER_NICE 19

struct trusted_key {
	EVP_PKEY *key;
	char id[KEY_ID_SIZE];
};

struct trusted_manifest {
	char *path;
	struct manifest *manifest;
};

/* One load of the trust directory, shared with the worker by reference count. */
struct trust {
	unsigned refs;
	struct trusted_manifest *manifests;
	size_t n_manifests, n_keys;
};

struct cache_entry {
	char *dir;
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	struct layer_digest *digest;
	unsigned refs;	    /* the cache's own reference and the worker's */
	uint64_t last_used; /* for least-recently-used eviction */
};

struct request {
	char *container_id;
	char *image_name;
	char **dirs; /* bottom-most first */
	size_t n_dirs;
};

struct verifier {
	struct verifier_options o;
	char *trust_dir;
	int event_fd;
	pthread_t worker;
	bool worker_started;
	atomic_bool stop;

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t wake;
	struct trust *trust;
	struct request **queue;
	size_t n_queue;
	struct verdict **verdicts;
	size_t n_verdicts, verdicts_capacity;
	struct cache_entry **cache;
	size_t n_cache;
	uint64_t cache_clock;
	struct verifier_counters counters;

	/* Owned by the thread calling verifier_new() and verifier_reload(). */
	struct verifier_rejection *rejections;
	size_t n_rejections;
};

const char *verdict_outcome_name(enum verdict_outcome outcome)
{
	switch (outcome) {
	case VERDICT_VERIFIED:
		return "VERIFIED";
	case VERDICT_UNSIGNED:
		return "UNSIGNED";
	case VERDICT_LAYER_MISMATCH:
		return "LAYER_MISMATCH";
	case VERDICT_ERROR:
		return "ERROR";
	default:
		return "?";
	}
}

/* --- Trust directory --- */

static void trust_unref(struct trust *t)
{
	if (!t || --t->refs > 0)
		return;
	for (size_t i = 0; i < t->n_manifests; i++) {
		free(t->manifests[i].path);
		manifest_free(t->manifests[i].manifest);
	}
	free(t->manifests);
	free(t);
}

static void rejections_free(struct verifier_rejection *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].path);
		free(list[i].reason);
	}
	free(list);
}

struct load {
	struct verifier *v;
	struct trusted_key *keys;
	size_t n_keys;
	struct verifier_rejection *rejections;
	size_t n_rejections;
};

static void load_reject(struct load *l, const char *path, const char *reason)
{
	struct verifier_rejection *grown =
	    realloc(l->rejections, (l->n_rejections + 1) * sizeof(*grown));

	if (l->v->o.rejected)
		l->v->o.rejected(l->v->o.userdata, path, reason);
	if (!grown)
		return;
	l->rejections = grown;
	grown[l->n_rejections].path = strdup(path);
	grown[l->n_rejections].reason = strdup(reason);
	l->n_rejections++;
}

static int name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the names in dir ending with suffix, sorted, at most max. A missing dir lists nothing. */
static int dir_list(const char *dir, const char *suffix, size_t max, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;

	*ret = NULL;
	*ret_n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), slen = strlen(suffix);
		char **grown;

		if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0 ||
		    de->d_name[0] == '.')
			continue;
		if (n == max)
			break;
		grown = realloc(names, (n + 1) * sizeof(*grown));
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			names = grown ? grown : names;
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			closedir(d);
			return -ENOMEM;
		}
		names = grown;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_compare);
	*ret = names;
	*ret_n = n;
	return 0;
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int keys_load(struct load *l)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], err[512];
	char **names;
	size_t n;
	int r;

	snprintf(dir, sizeof(dir), "%s/keys", l->v->trust_dir);
	r = dir_list(dir, ".pem", VERIFIER_KEYS_MAX, &names, &n);
	if (r < 0)
		return r;
	l->keys = calloc(n + 1, sizeof(*l->keys));
	if (!l->keys) {
		names_free(names, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct trusted_key *k = &l->keys[l->n_keys];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (key_load_public(path, &k->key, err, sizeof(err)) < 0) {
			load_reject(l, path, err);
			continue;
		}
		if (key_id_compute(k->key, k->id) < 0) {
			EVP_PKEY_free(k->key);
			load_reject(l, path, "failed to compute the key id");
			continue;
		}
		l->n_keys++;
	}
	names_free(names, n);
	return 0;
}

/*
 * Reads, verifies and parses one manifest. Returns the manifest, or NULL
 * after recording a rejection with its reason.
 */
static struct manifest *manifest_load(struct load *l, const char *path)
{
	char *data __attribute__((cleanup(freep))) = NULL;
	char *sig __attribute__((cleanup(freep))) = NULL;
	char *sig_path __attribute__((cleanup(freep))) = NULL;
	char reason[1024], err[512];
	const struct trusted_key *signer = NULL;
	struct manifest *m = NULL;
	size_t len, sig_len;
	int r;

	r = file_read_all(path, MANIFEST_SIZE_MAX, &data, &len);
	if (r < 0) {
		snprintf(reason, sizeof(reason), "failed to read the manifest: %s", strerror(-r));
		load_reject(l, path, reason);
		return NULL;
	}
	if (asprintf(&sig_path, "%s.sig", path) < 0) {
		sig_path = NULL;
		load_reject(l, path, "out of memory");
		return NULL;
	}
	r = file_read_all(sig_path, MANIFEST_SIGNATURE_SIZE_MAX, &sig, &sig_len);
	if (r < 0) {
		snprintf(reason, sizeof(reason), "failed to read the signature %.900s: %s",
			 sig_path, r == -EFBIG ? "larger than any signature" : strerror(-r));
		load_reject(l, path, reason);
		return NULL;
	}

	/* The key the manifest names selects the key to verify with, so that the
	 * reason distinguishes an untrusted key from an edited file. The parse is only
	 * a hint until the signature verifies. */
	err[0] = '\0';
	if (manifest_parse(data, len, &m, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < l->n_keys && !signer; i++)
			if (strcmp(l->keys[i].id, m->key_id) == 0)
				signer = &l->keys[i];
		if (!signer) {
			snprintf(reason, sizeof(reason), "signed by key %s, which is not trusted",
				 m->key_id);
			load_reject(l, path, reason);
			manifest_free(m);
			return NULL;
		}
		r = manifest_verify(signer->key, data, len, sig, sig_len, err, sizeof(err));
		if (r < 0) {
			snprintf(reason, sizeof(reason), "%s%s",
				 r == -EBADMSG ? "invalid signature: " : "", err);
			load_reject(l, path, reason);
			manifest_free(m);
			return NULL;
		}
		return m;
	}

	/* An unparsable manifest: report whether a trusted key signed it anyway. */
	for (size_t i = 0; i < l->n_keys && !signer; i++)
		if (manifest_verify(l->keys[i].key, data, len, sig, sig_len, NULL, 0) == 0)
			signer = &l->keys[i];
	snprintf(reason, sizeof(reason), "invalid manifest (%s): %s",
		 signer ? "validly signed" : "its signature does not verify with any trusted key",
		 err);
	load_reject(l, path, reason);
	return NULL;
}

static int trust_load(struct verifier *v, struct trust **ret, struct verifier_rejection **ret_rej,
		      size_t *ret_n_rej)
{
	struct load l = {.v = v};
	struct trust *t = calloc(1, sizeof(*t));
	char dir[PATH_MAX], path[PATH_MAX + 256];
	char **names = NULL;
	size_t n = 0;
	int r;

	if (!t)
		return -ENOMEM;
	t->refs = 1;
	r = keys_load(&l);
	if (r >= 0) {
		snprintf(dir, sizeof(dir), "%s/manifests", v->trust_dir);
		r = dir_list(dir, ".json", VERIFIER_MANIFESTS_MAX, &names, &n);
	}
	if (r >= 0) {
		t->manifests = calloc(n + 1, sizeof(*t->manifests));
		if (!t->manifests)
			r = -ENOMEM;
	}
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct manifest *m;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		m = manifest_load(&l, path);
		if (!m)
			continue;
		t->manifests[t->n_manifests].path = strdup(path);
		t->manifests[t->n_manifests].manifest = m;
		if (!t->manifests[t->n_manifests].path) {
			manifest_free(m);
			r = -ENOMEM;
			break;
		}
		t->n_manifests++;
	}
	t->n_keys = l.n_keys;

	names_free(names, n);
	for (size_t i = 0; i < l.n_keys; i++)
		EVP_PKEY_free(l.keys[i].key);
	free(l.keys);
	if (r < 0) {
		trust_unref(t);
		rejections_free(l.rejections, l.n_rejections);
		return r;
	}
	*ret = t;
	*ret_rej = l.rejections;
	*ret_n_rej = l.n_rejections;
	return 0;
}

int verifier_reload(struct verifier *v)
{
	struct verifier_rejection *rejections;
	struct trust *t, *old;
	size_t n_rejections;
	int r;

	r = trust_load(v, &t, &rejections, &n_rejections);
	if (r < 0)
		return r;
	pthread_mutex_lock(&v->lock);
	old = v->trust;
	v->trust = t;
	v->counters.keys_loaded = t->n_keys;
	v->counters.manifests_loaded = t->n_manifests;
	v->counters.files_rejected = n_rejections;
	trust_unref(old);
	pthread_mutex_unlock(&v->lock);

	rejections_free(v->rejections, v->n_rejections);
	v->rejections = rejections;
	v->n_rejections = n_rejections;
	return 0;
}

const struct verifier_rejection *verifier_rejections(struct verifier *v, size_t *ret_n)
{
	*ret_n = v->n_rejections;
	return v->rejections;
}

/* --- Layer cache --- */

static void cache_entry_unref(struct cache_entry *c)
{
	if (!c || --c->refs > 0)
		return;
	free(c->dir);
	layer_digest_free(c->digest);
	free(c);
}

/* Called with the lock held. */
static void cache_remove_at(struct verifier *v, size_t i)
{
	cache_entry_unref(v->cache[i]);
	v->cache[i] = v->cache[--v->n_cache];
	v->counters.cache_entries = v->n_cache;
}

/* Called with the lock held. Returns a referenced entry, or NULL. */
static struct cache_entry *cache_lookup(struct verifier *v, const struct stat *st)
{
	for (size_t i = 0; i < v->n_cache; i++) {
		struct cache_entry *c = v->cache[i];

		if (c->dev != st->st_dev || c->ino != st->st_ino)
			continue;
		/* A changed directory ctime means names were added or removed at its
		 * top: the digest is stale. Changes deeper down need
		 * verifier_invalidate_dir(). */
		if (c->ctime.tv_sec != st->st_ctim.tv_sec ||
		    c->ctime.tv_nsec != st->st_ctim.tv_nsec) {
			cache_remove_at(v, i);
			return NULL;
		}
		c->refs++;
		c->last_used = ++v->cache_clock;
		return c;
	}
	return NULL;
}

/* Called with the lock held. Takes the caller's reference to c on success. */
static void cache_insert(struct verifier *v, struct cache_entry *c)
{
	size_t max =
	    v->o.max_cache_entries ? v->o.max_cache_entries : VERIFIER_CACHE_ENTRIES_DEFAULT;
	struct cache_entry **grown;

	while (v->n_cache >= max && v->n_cache > 0) {
		size_t oldest = 0;

		for (size_t i = 1; i < v->n_cache; i++)
			if (v->cache[i]->last_used < v->cache[oldest]->last_used)
				oldest = i;
		cache_remove_at(v, oldest);
	}
	grown = realloc(v->cache, (v->n_cache + 1) * sizeof(*grown));
	if (!grown)
		return;
	v->cache = grown;
	c->refs++;
	c->last_used = ++v->cache_clock;
	v->cache[v->n_cache++] = c;
	v->counters.cache_entries = v->n_cache;
}

int verifier_invalidate_dir(struct verifier *v, const char *dir)
{
	struct stat st;
	bool have_stat = stat(dir, &st) == 0;
	int dropped = 0;

	pthread_mutex_lock(&v->lock);
	for (size_t i = v->n_cache; i > 0; i--) {
		struct cache_entry *c = v->cache[i - 1];

		if (strcmp(c->dir, dir) == 0 ||
		    (have_stat && c->dev == st.st_dev && c->ino == st.st_ino)) {
			cache_remove_at(v, i - 1);
			dropped = 1;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return dropped;
}

static int worker_progress(void *userdata, uint64_t bytes_hashed)
{
	struct verifier *v = userdata;

	return atomic_load(&v->stop) ? -ECANCELED : 0;
}

/*
 * Returns a referenced cache entry for dir, hashing it when it is not
 * cached. A digest with errors is returned but not cached.
 */
static int layer_get(struct verifier *v, const char *dir, struct cache_entry **ret, char *err,
		     size_t err_size)
{
	struct layer_digest_options o = {
	    .max_entries = v->o.max_entries,
	    .rate_limit = v->o.rate_limit,
	    .progress = worker_progress,
	    .userdata = v,
	};
	struct cache_entry *c;
	struct stat st;
	int r;

	if (stat(dir, &st) < 0) {
		r = -errno;
		snprintf(err, err_size, "failed to stat %s: %s", dir, strerror(-r));
		return r;
	}
	pthread_mutex_lock(&v->lock);
	c = cache_lookup(v, &st);
	if (c)
		v->counters.cache_hits++;
	else
		v->counters.cache_misses++;
	pthread_mutex_unlock(&v->lock);
	if (c) {
		*ret = c;
		return 0;
	}

	c = calloc(1, sizeof(*c));
	if (!c || !(c->dir = strdup(dir))) {
		free(c);
		return -ENOMEM;
	}
	c->refs = 1;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->ctime = st.st_ctim;
	r = layer_digest_from_dir(dir, &o, &c->digest, err, err_size);
	if (r < 0) {
		cache_entry_unref(c);
		return r;
	}
	pthread_mutex_lock(&v->lock);
	v->counters.bytes_hashed += c->digest->bytes_hashed;
	if (c->digest->n_errors == 0)
		cache_insert(v, c);
	pthread_mutex_unlock(&v->lock);
	*ret = c;
	return 0;
}

/* --- Matching --- */

static void request_free(struct request *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n_dirs; i++)
		free(q->dirs[i]);
	free(q->dirs);
	free(q->container_id);
	free(q->image_name);
	free(q);
}

void verdict_free(struct verdict *verdict)
{
	if (!verdict)
		return;
	for (size_t i = 0; i < verdict->n_layers; i++) {
		struct verdict_layer *l = &verdict->layers[i];

		free(l->dir);
		free(l->first_error);
		manifest_differences_free(l->differences, l->n_differences_listed);
	}
	free(verdict->layers);
	free(verdict->container_id);
	free(verdict->image_name);
	free(verdict->manifest_path);
	free(verdict->manifest_image);
	free(verdict->message);
	free(verdict);
}

static bool layer_usable(const struct cache_entry *c)
{
	return c && c->digest->n_errors == 0;
}

static size_t layers_matching(const struct manifest *m, struct cache_entry **layers, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n && i < m->n_layers; i++)
		if (layer_usable(layers[i]) &&
		    strcmp(m->layers[i].content_digest, layers[i]->digest->digest) == 0)
			count++;
	return count;
}

/*
 * Picks the manifest for the verdict: a full match (VERIFIED), else a
 * manifest of this image, by name or by a majority of its layers matching
 * (LAYER_MISMATCH). Returns NULL for UNSIGNED.
 */
static const struct trusted_manifest *manifest_choose(const struct trust *t, const char *image,
						      struct cache_entry **layers, size_t n,
						      bool *ret_verified)
{
	const struct trusted_manifest *best = NULL;
	bool best_named = false;
	size_t best_matching = 0;

	*ret_verified = false;
	for (size_t i = 0; i < t->n_manifests; i++) {
		const struct manifest *m = t->manifests[i].manifest;
		size_t matching = layers_matching(m, layers, n);
		size_t most = n > m->n_layers ? n : m->n_layers;
		bool named = image && image[0] && strcmp(m->image, image) == 0;

		if (m->n_layers == n && matching == n) {
			/* Prefer a full match under the container's image name. */
			if (!*ret_verified || (named && !best_named)) {
				best = &t->manifests[i];
				best_named = named;
			}
			*ret_verified = true;
			continue;
		}
		if (*ret_verified || !(named || 2 * matching > most))
			continue;
		if (!best || (named && !best_named) ||
		    (named == best_named && matching > best_matching)) {
			best = &t->manifests[i];
			best_named = named;
			best_matching = matching;
		}
	}
	return best;
}

static int verdict_layers_fill(struct verdict *verdict, const struct manifest *m,
			       struct cache_entry **layers, char **dirs, size_t n)
{
	size_t total = n;

	if (m && m->n_layers > total)
		total = m->n_layers;
	verdict->layers = calloc(total + 1, sizeof(*verdict->layers));
	if (!verdict->layers)
		return -ENOMEM;
	verdict->n_layers = total;
	for (size_t i = 0; i < total; i++) {
		struct verdict_layer *l = &verdict->layers[i];
		const struct manifest_layer *want = m && i < m->n_layers ? &m->layers[i] : NULL;
		const struct layer_digest *have = i < n ? layers[i]->digest : NULL;
		int r;

		l->index = i;
		if (have) {
			l->dir = strdup(dirs[i]);
			if (!l->dir)
				return -ENOMEM;
			memcpy(l->digest, have->digest, DIGEST_TEXT_SIZE);
			l->n_errors = have->n_errors;
			if (have->n_errors_listed > 0 &&
			    !(l->first_error = strdup(have->errors[0])))
				return -ENOMEM;
		}
		if (want)
			memcpy(l->expected, want->content_digest, DIGEST_TEXT_SIZE);
		l->match = have && want && l->n_errors == 0 && strcmp(l->digest, l->expected) == 0;
		if (!have || !want || l->match)
			continue;
		r = manifest_layer_compare(want, have, VERDICT_PATHS_MAX, &l->differences,
					   &l->n_differences_listed, &l->n_differences);
		if (r < 0)
			return r;
	}
	return 0;
}

static struct verdict *verdict_error(struct verdict *verdict, const char *message)
{
	verdict->outcome = VERDICT_ERROR;
	verdict->message = strdup(message);
	return verdict;
}

static struct verdict *request_process(struct verifier *v, struct request *q, struct trust *t)
{
	struct cache_entry **layers = calloc(q->n_dirs + 1, sizeof(*layers));
	struct verdict *verdict = calloc(1, sizeof(*verdict));
	const struct trusted_manifest *chosen = NULL;
	char err[512], message[1024];
	bool verified = false;
	int r = 0;

	if (!layers || !verdict) {
		free(layers);
		free(verdict);
		return NULL;
	}
	verdict->container_id = q->container_id;
	verdict->image_name = q->image_name;
	q->container_id = q->image_name = NULL;

	for (size_t i = 0; i < q->n_dirs; i++) {
		err[0] = '\0';
		r = layer_get(v, q->dirs[i], &layers[i], err, sizeof(err));
		if (r < 0) {
			snprintf(message, sizeof(message), "failed to hash layer %zu (%s): %s", i,
				 q->dirs[i], err[0] ? err : strerror(-r));
			verdict_error(verdict, message);
			goto out;
		}
	}

	chosen = manifest_choose(t, verdict->image_name, layers, q->n_dirs, &verified);
	verdict->outcome = verified ? VERDICT_VERIFIED
			   : chosen ? VERDICT_LAYER_MISMATCH
				    : VERDICT_UNSIGNED;
	if (chosen) {
		verdict->manifest_path = strdup(chosen->path);
		verdict->manifest_image = strdup(chosen->manifest->image);
		memcpy(verdict->key_id, chosen->manifest->key_id, KEY_ID_SIZE);
	}
	r = verdict_layers_fill(verdict, chosen ? chosen->manifest : NULL, layers, q->dirs,
				q->n_dirs);
	if (r < 0)
		verdict_error(verdict, "out of memory while building the verdict");
out:
	for (size_t i = 0; i < q->n_dirs; i++) {
		if (!layers[i])
			continue;
		pthread_mutex_lock(&v->lock);
		cache_entry_unref(layers[i]);
		pthread_mutex_unlock(&v->lock);
	}
	free(layers);
	return verdict;
}

/* --- Worker thread --- */

static void worker_priority_lower(void)
{
	/* Idle IO class: the worker reads only when no other process wants the disk. */
	(void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		      IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT);
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE);
	(void)pthread_setname_np(pthread_self(), "intact-verify");
}

static void verdict_push(struct verifier *v, struct verdict *verdict)
{
	uint64_t one = 1;

	pthread_mutex_lock(&v->lock);
	if (v->n_verdicts == v->verdicts_capacity) {
		size_t capacity = v->verdicts_capacity ? 2 * v->verdicts_capacity : 16;
		struct verdict **grown = realloc(v->verdicts, capacity * sizeof(*grown));

		if (!grown) {
			pthread_mutex_unlock(&v->lock);
			verdict_free(verdict);
			return;
		}
		v->verdicts = grown;
		v->verdicts_capacity = capacity;
	}
	v->verdicts[v->n_verdicts++] = verdict;
	v->counters.verdicts[verdict->outcome]++;
	pthread_mutex_unlock(&v->lock);
	(void)!write(v->event_fd, &one, sizeof(one));
}

static void *worker_main(void *userdata)
{
	struct verifier *v = userdata;

	worker_priority_lower();
	for (;;) {
		struct request *q;
		struct trust *t;
		struct verdict *verdict;

		pthread_mutex_lock(&v->lock);
		while (!atomic_load(&v->stop) && v->n_queue == 0)
			pthread_cond_wait(&v->wake, &v->lock);
		if (atomic_load(&v->stop)) {
			pthread_mutex_unlock(&v->lock);
			break;
		}
		q = v->queue[0];
		memmove(v->queue, v->queue + 1, (v->n_queue - 1) * sizeof(*v->queue));
		v->n_queue--;
		t = v->trust;
		t->refs++;
		pthread_mutex_unlock(&v->lock);

		verdict = request_process(v, q, t);
		request_free(q);
		pthread_mutex_lock(&v->lock);
		trust_unref(t);
		pthread_mutex_unlock(&v->lock);
		/* A verification abandoned for verifier_free() is not reported. */
		if (verdict && atomic_load(&v->stop))
			verdict_free(verdict);
		else if (verdict)
			verdict_push(v, verdict);
	}
	return NULL;
}

/* --- Public interface --- */

int verifier_new(const struct verifier_options *opts, struct verifier **ret)
{
	struct verifier *v;
	sigset_t all, old;
	size_t max_queue;
	int r;

	if (!opts || !opts->trust_dir)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->o = *opts;
	v->event_fd = -1;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->wake, NULL);
	max_queue = opts->max_queue ? opts->max_queue : VERIFIER_QUEUE_MAX_DEFAULT;
	v->trust_dir = strdup(opts->trust_dir);
	v->queue = calloc(max_queue, sizeof(*v->queue));
	if (!v->trust_dir || !v->queue) {
		r = -ENOMEM;
		goto fail;
	}
	v->o.trust_dir = v->trust_dir;
	v->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->event_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = verifier_reload(v);
	if (r < 0)
		goto fail;

	/* The worker blocks every signal, so that signals reach the event
	 * loop's thread (sd-event's signalfd needs them blocked everywhere). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&v->worker, NULL, worker_main, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto fail;
	v->worker_started = true;
	*ret = v;
	return 0;
fail:
	verifier_free(v);
	return r;
}

void verifier_free(struct verifier *v)
{
	if (!v)
		return;
	if (v->worker_started) {
		pthread_mutex_lock(&v->lock);
		atomic_store(&v->stop, true);
		pthread_cond_broadcast(&v->wake);
		pthread_mutex_unlock(&v->lock);
		pthread_join(v->worker, NULL);
	}
	for (size_t i = 0; i < v->n_queue; i++)
		request_free(v->queue[i]);
	free(v->queue);
	for (size_t i = 0; i < v->n_verdicts; i++)
		verdict_free(v->verdicts[i]);
	free(v->verdicts);
	for (size_t i = 0; i < v->n_cache; i++)
		cache_entry_unref(v->cache[i]);
	free(v->cache);
	trust_unref(v->trust);
	rejections_free(v->rejections, v->n_rejections);
	if (v->event_fd >= 0)
		close(v->event_fd);
	pthread_cond_destroy(&v->wake);
	pthread_mutex_destroy(&v->lock);
	free(v->trust_dir);
	free(v);
}

int verifier_request(struct verifier *v, const char *container_id, const char *image_name,
		     const char *const *lowerdirs, size_t n)
{
	size_t max_queue = v->o.max_queue ? v->o.max_queue : VERIFIER_QUEUE_MAX_DEFAULT;
	struct request *q;

	if (!container_id || !lowerdirs || n == 0 || n > MANIFEST_LAYERS_MAX)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->container_id = strdup(container_id);
	q->image_name = image_name ? strdup(image_name) : NULL;
	q->dirs = calloc(n, sizeof(*q->dirs));
	if (!q->container_id || (image_name && !q->image_name) || !q->dirs) {
		request_free(q);
		return -ENOMEM;
	}
	/* overlayfs lists lowerdirs top-most first; manifests list layers
	 * bottom-most first. */
	for (size_t i = 0; i < n; i++) {
		q->dirs[i] = strdup(lowerdirs[n - 1 - i]);
		q->n_dirs = i + 1;
		if (!q->dirs[i]) {
			request_free(q);
			return -ENOMEM;
		}
	}

	pthread_mutex_lock(&v->lock);
	if (v->n_queue == max_queue) {
		v->counters.requests_dropped++;
		pthread_mutex_unlock(&v->lock);
		request_free(q);
		return -ENOBUFS;
	}
	v->queue[v->n_queue++] = q;
	pthread_cond_signal(&v->wake);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int verifier_event_fd(struct verifier *v)
{
	return v->event_fd;
}

int verifier_next_verdict(struct verifier *v, struct verdict **ret)
{
	uint64_t count;

	*ret = NULL;
	pthread_mutex_lock(&v->lock);
	if (v->n_verdicts > 0) {
		*ret = v->verdicts[0];
		memmove(v->verdicts, v->verdicts + 1, (v->n_verdicts - 1) * sizeof(*v->verdicts));
		v->n_verdicts--;
	}
	/* Drained with the queue empty: the worker writes the eventfd after
	 * each push, so a wakeup can be spurious but is never lost. */
	if (v->n_verdicts == 0)
		(void)!read(v->event_fd, &count, sizeof(count));
	pthread_mutex_unlock(&v->lock);
	return *ret ? 1 : 0;
}

void verifier_counters_get(struct verifier *v, struct verifier_counters *ret)
{
	pthread_mutex_lock(&v->lock);
	*ret = v->counters;
	pthread_mutex_unlock(&v->lock);
}
