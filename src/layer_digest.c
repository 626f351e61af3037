// SPDX-License-Identifier: Apache-2.0
/*
 * Canonical layer content digests (docs/layer-digest.md). A tar stream and
 * an unpacked directory both become a list of entries in one canonical
 * form. The list is sorted, then each entry's record is hashed.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "layer_digest.h"

/* Large reads keep the per-call overhead well below the cost of SHA-256. */
#define READ_BUFFER_SIZE (1024 * 1024)
/* Prefixed to the records, so that a later version of the definition hashes differently. */
#define DIGEST_DOMAIN "intact-layer-digest-v1\n"
/* Maximum number of tar hard links followed from one link to its file. */
#define HARDLINK_HOPS_MAX 32

static const char *const recorded_xattrs[] = {"security.capability"};

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

__attribute__((format(printf, 3, 4))) static void error_set(char *err, size_t err_size,
							    const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

void hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void digest_to_text(const uint8_t sha256[SHA256_SIZE], char out[DIGEST_TEXT_SIZE])
{
	memcpy(out, "sha256:", 7);
	hex_encode(sha256, SHA256_SIZE, out + 7);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int digest_from_text(const char *text, uint8_t ret[SHA256_SIZE])
{
	if (!text || strncmp(text, "sha256:", 7) != 0 || strlen(text) != DIGEST_TEXT_SIZE - 1)
		return -EINVAL;
	for (size_t i = 0; i < SHA256_SIZE; i++) {
		int hi = hex_value(text[7 + 2 * i]), lo = hex_value(text[8 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		ret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool layer_xattr_recorded(const char *name)
{
	for (size_t i = 0; i < sizeof(recorded_xattrs) / sizeof(recorded_xattrs[0]); i++)
		if (strcmp(name, recorded_xattrs[i]) == 0)
			return true;
	return false;
}

static const struct {
	enum layer_entry_type type;
	const char *name;
} type_names[] = {
    {LAYER_ENTRY_REGULAR, "file"},    {LAYER_ENTRY_DIRECTORY, "dir"},
    {LAYER_ENTRY_SYMLINK, "symlink"}, {LAYER_ENTRY_CHAR, "char"},
    {LAYER_ENTRY_BLOCK, "block"},     {LAYER_ENTRY_FIFO, "fifo"},
    {LAYER_ENTRY_SOCKET, "socket"},   {LAYER_ENTRY_WHITEOUT, "whiteout"},
};

const char *layer_entry_type_name(enum layer_entry_type type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

int layer_entry_type_from_name(const char *name, enum layer_entry_type *ret)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(type_names[i].name, name) == 0) {
			*ret = type_names[i].type;
			return 0;
		}
	return -EINVAL;
}

void layer_entry_clear(struct layer_entry *e)
{
	free(e->path);
	free(e->target);
	free(e->hardlink);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	memset(e, 0, sizeof(*e));
}

void layer_digest_free(struct layer_digest *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_entries; i++)
		layer_entry_clear(&d->entries[i]);
	free(d->entries);
	for (size_t i = 0; i < d->n_errors_listed; i++)
		free(d->errors[i]);
	free(d);
}

/* --- Records and the digest over them --- */

static void put_u32(EVP_MD_CTX *ctx, uint32_t v)
{
	uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};

	EVP_DigestUpdate(ctx, b, sizeof(b));
}

static void put_u64(EVP_MD_CTX *ctx, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	EVP_DigestUpdate(ctx, b, sizeof(b));
}

static void put_bytes(EVP_MD_CTX *ctx, const void *data, size_t len)
{
	put_u32(ctx, (uint32_t)len);
	EVP_DigestUpdate(ctx, data, len);
}

/* Appends the entry's record, as docs/layer-digest.md defines it, to the hash. */
static void record_hash(EVP_MD_CTX *ctx, const struct layer_entry *e)
{
	uint8_t flags = e->opaque ? 1 : 0, type = (uint8_t)e->type;

	put_bytes(ctx, e->path, strlen(e->path));
	EVP_DigestUpdate(ctx, &type, 1);
	EVP_DigestUpdate(ctx, &flags, 1);
	put_u32(ctx, e->mode);
	put_u64(ctx, e->uid);
	put_u64(ctx, e->gid);

	switch (e->type) {
	case LAYER_ENTRY_REGULAR:
		put_bytes(ctx, e->sha256, SHA256_SIZE);
		break;
	case LAYER_ENTRY_SYMLINK:
		put_bytes(ctx, e->target, strlen(e->target));
		break;
	case LAYER_ENTRY_CHAR:
	case LAYER_ENTRY_BLOCK:
		put_u32(ctx, 16);
		put_u64(ctx, e->major);
		put_u64(ctx, e->minor);
		break;
	default:
		put_u32(ctx, 0);
		break;
	}

	put_u32(ctx, (uint32_t)e->n_xattrs);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		put_bytes(ctx, e->xattrs[i].name, strlen(e->xattrs[i].name));
		put_bytes(ctx, e->xattrs[i].value, e->xattrs[i].len);
	}
}

int layer_entries_digest(const struct layer_entry *entries, size_t n,
			 char ret_digest[DIGEST_TEXT_SIZE])
{
	EVP_MD_CTX *ctx __attribute__((cleanup(md_ctx_freep))) = EVP_MD_CTX_new();
	uint8_t md[SHA256_SIZE];

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	EVP_DigestUpdate(ctx, DIGEST_DOMAIN, strlen(DIGEST_DOMAIN));
	for (size_t i = 0; i < n; i++)
		record_hash(ctx, &entries[i]);
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		return -EIO;
	digest_to_text(md, ret_digest);
	return 0;
}

bool layer_entry_equal(const struct layer_entry *a, const struct layer_entry *b)
{
	if (strcmp(a->path, b->path) != 0 || a->type != b->type || a->opaque != b->opaque ||
	    a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    a->n_xattrs != b->n_xattrs)
		return false;
	if (a->type == LAYER_ENTRY_REGULAR && memcmp(a->sha256, b->sha256, SHA256_SIZE) != 0)
		return false;
	if (a->type == LAYER_ENTRY_SYMLINK && strcmp(a->target, b->target) != 0)
		return false;
	if ((a->type == LAYER_ENTRY_CHAR || a->type == LAYER_ENTRY_BLOCK) &&
	    (a->major != b->major || a->minor != b->minor))
		return false;
	for (size_t i = 0; i < a->n_xattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) != 0 ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len) != 0)
			return false;
	return true;
}

static int entry_path_compare(const void *x, const void *y)
{
	const struct layer_entry *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	if (c != 0)
		return c;
	/* Ties keep their input order, so that the last one can win. */
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void layer_entries_sort_unique(struct layer_entry *entries, size_t *n)
{
	size_t out = 0;

	qsort(entries, *n, sizeof(*entries), entry_path_compare);
	for (size_t i = 0; i < *n; i++) {
		if (i + 1 < *n && strcmp(entries[i].path, entries[i + 1].path) == 0) {
			layer_entry_clear(&entries[i]);
			continue;
		}
		entries[out++] = entries[i];
	}
	*n = out;
}

static struct layer_entry *entries_find(struct layer_entry *entries, size_t n, const char *path)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(entries[mid].path, path);

		if (c == 0)
			return &entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- Building a result --- */

struct build {
	const struct layer_digest_options *o;
	struct layer_digest *d;
	size_t capacity, max_entries;
	size_t seq;
	uint64_t start_ns;
	uint8_t *buffer;
	char *err;
	size_t err_size;
};

__attribute__((format(printf, 3, 4))) static void build_error(struct build *b, const char *path,
							      const char *fmt, ...)
{
	struct layer_digest *d = b->d;
	char text[512];
	va_list ap;
	int n;

	d->n_errors++;
	if (d->n_errors_listed == LAYER_DIGEST_ERRORS_LISTED)
		return;
	n = snprintf(text, sizeof(text), "%s: ", path && path[0] ? path : ".");
	if (n < 0 || (size_t)n >= sizeof(text))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	d->errors[d->n_errors_listed] = strdup(text);
	if (d->errors[d->n_errors_listed])
		d->n_errors_listed++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int build_init(struct build *b, const struct layer_digest_options *o, char *err,
		      size_t err_size)
{
	static const struct layer_digest_options defaults = {0};
	memset(b, 0, sizeof(*b));
	b->o = o ? o : &defaults;
	b->max_entries = b->o->max_entries ? b->o->max_entries : LAYER_DIGEST_MAX_ENTRIES_DEFAULT;
	b->err = err;
	b->err_size = err_size;
	b->d = calloc(1, sizeof(*b->d));
	b->buffer = malloc(READ_BUFFER_SIZE);
	if (!b->d || !b->buffer)
		return -ENOMEM;
	b->start_ns = now_ns();
	if (err && err_size)
		err[0] = '\0';
	return 0;
}

static void build_done(struct build *b)
{
	layer_digest_free(b->d);
	free(b->buffer);
	b->d = NULL;
	b->buffer = NULL;
}

/* Returns a new zeroed entry that owns path, or NULL with r set. */
static struct layer_entry *build_add(struct build *b, char *path, int *r)
{
	struct layer_digest *d = b->d;
	struct layer_entry *e;

	if (d->n_entries >= b->max_entries) {
		error_set(b->err, b->err_size,
			  "the layer has more than %zu entries, the configured maximum",
			  b->max_entries);
		free(path);
		*r = -E2BIG;
		return NULL;
	}
	if (d->n_entries == b->capacity) {
		size_t capacity = b->capacity ? b->capacity * 2 : 256;
		struct layer_entry *grown;

		if (capacity > b->max_entries)
			capacity = b->max_entries;
		grown = realloc(d->entries, capacity * sizeof(*grown));
		if (!grown) {
			free(path);
			*r = -ENOMEM;
			return NULL;
		}
		d->entries = grown;
		b->capacity = capacity;
	}
	e = &d->entries[d->n_entries++];
	memset(e, 0, sizeof(*e));
	e->path = path;
	e->seq = b->seq++;
	return e;
}

/*
 * Counts n bytes hashed, reports progress, and sleeps as long as needed to
 * keep the rate under the limit. The sleep is cut in slices with a progress
 * call after each, so that cancellation stays prompt at low rates.
 */
static int build_account(struct build *b, size_t n)
{
	const struct layer_digest_options *o = b->o;
	const uint64_t slice = 100 * 1000 * 1000;
	uint64_t due, now;
	int r;

	b->d->bytes_hashed += n;
	if (o->progress) {
		r = o->progress(o->userdata, b->d->bytes_hashed);
		if (r < 0)
			return r;
	}
	if (!o->rate_limit)
		return 0;
	due = b->start_ns + (uint64_t)((double)b->d->bytes_hashed * 1e9 / (double)o->rate_limit);
	while ((now = now_ns()) < due) {
		uint64_t wait = due - now < slice ? due - now : slice;
		struct timespec sleep = {.tv_sec = (time_t)(wait / 1000000000u),
					 .tv_nsec = (long)(wait % 1000000000u)};

		(void)nanosleep(&sleep, NULL);
		if (o->progress) {
			r = o->progress(o->userdata, b->d->bytes_hashed);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int xattr_add(struct layer_entry *e, const char *name, const void *value, size_t len)
{
	struct layer_xattr *grown = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(*grown));
	struct layer_xattr *x;
	size_t at;

	if (!grown)
		return -ENOMEM;
	e->xattrs = grown;
	/* Keep the list sorted by name: insert in place. */
	for (at = e->n_xattrs; at > 0 && strcmp(e->xattrs[at - 1].name, name) > 0; at--)
		e->xattrs[at] = e->xattrs[at - 1];
	x = &e->xattrs[at];
	x->name = strdup(name);
	x->value = malloc(len ? len : 1);
	x->len = len;
	e->n_xattrs++;
	if (!x->name || !x->value)
		return -ENOMEM;
	memcpy(x->value, value, len);
	return 0;
}

static int build_finish(struct build *b, struct layer_digest **ret)
{
	struct layer_digest *d = b->d;
	int r;

	r = layer_entries_digest(d->entries, d->n_entries, d->digest);
	if (r < 0)
		return r;
	*ret = d;
	b->d = NULL;
	return 0;
}

/* --- Directory input --- */

/* The overlayfs markers of an opaque directory, trusted.* for a privileged mount. */
static const char *const opaque_xattrs[] = {"trusted.overlay.opaque", "user.overlay.opaque"};

static bool dir_is_opaque(int fd)
{
	for (size_t i = 0; i < sizeof(opaque_xattrs) / sizeof(opaque_xattrs[0]); i++) {
		char value[8];
		ssize_t n = fgetxattr(fd, opaque_xattrs[i], value, sizeof(value));

		if (n == 1 && value[0] == 'y')
			return true;
	}
	return false;
}

/* Reads the recorded extended attributes into e, using the read buffer (no longer in use). */
static int file_xattrs_read(struct build *b, int fd, struct layer_entry *e)
{
	uint8_t *value = b->buffer;
	int r;

	_Static_assert(READ_BUFFER_SIZE >= LAYER_XATTR_VALUE_MAX, "the buffer holds an xattr");
	for (size_t i = 0; i < sizeof(recorded_xattrs) / sizeof(recorded_xattrs[0]); i++) {
		ssize_t n = fgetxattr(fd, recorded_xattrs[i], value, LAYER_XATTR_VALUE_MAX);

		if (n < 0) {
			if (errno == ENODATA || errno == ENOTSUP)
				continue;
			build_error(b, e->path, "failed to read extended attribute %s: %s",
				    recorded_xattrs[i], strerror(errno));
			continue;
		}
		r = xattr_add(e, recorded_xattrs[i], value, (size_t)n);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool stat_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool stat_unchanged(const struct stat *a, const struct stat *b)
{
	return stat_same_file(a, b) && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Hashes the regular file name in dirfd into e. Faults of this file alone
 * are recorded as errors; only allocation failures and cancellation
 * return an error.
 */
static int dir_file_hash(struct build *b, int dirfd, const char *name, const struct stat *st,
			 struct layer_entry *e)
{
	int fd __attribute__((cleanup(close_fdp))) = -1;
	EVP_MD_CTX *ctx __attribute__((cleanup(md_ctx_freep))) = NULL;
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	struct stat before, after;
	uint64_t total = 0;
	int r;

	/* O_NOATIME keeps the walk from touching atimes; only the owner or
	 * CAP_FOWNER may use it. */
	fd = openat(dirfd, name, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	if (fd < 0) {
		build_error(b, e->path, "failed to open: %s", strerror(errno));
		return 0;
	}
	if (fstat(fd, &before) < 0 || !S_ISREG(before.st_mode) || !stat_same_file(st, &before)) {
		build_error(b, e->path, "replaced during the walk");
		return 0;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, b->buffer, READ_BUFFER_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			build_error(b, e->path, "failed to read: %s", strerror(errno));
			return 0;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, b->buffer, (size_t)n);
		total += (uint64_t)n;
		r = build_account(b, (size_t)n);
		if (r < 0)
			return r;
	}
	if (EVP_DigestFinal_ex(ctx, e->sha256, NULL) != 1)
		return -EIO;

	if (fstat(fd, &after) < 0 || !stat_unchanged(&before, &after) ||
	    total != (uint64_t)after.st_size) {
		build_error(b, e->path, "changed while read");
		return 0;
	}
	return file_xattrs_read(b, fd, e);
}

static char *path_child(const char *parent, const char *name)
{
	char *p;

	if (!parent[0])
		return strdup(name);
	if (asprintf(&p, "%s/%s", parent, name) < 0)
		return NULL;
	return p;
}

/* Names of one directory, read before any is visited so that one descriptor per level is open. */
struct names {
	char **v;
	size_t n, capacity;
};

static void names_free(struct names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
}

static int names_read(struct build *b, int dirfd, const char *path, struct names *ret)
{
	DIR *dir;
	int fd = dup(dirfd), r = 0;

	memset(ret, 0, sizeof(*ret));
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				build_error(b, path, "failed to read the directory: %s",
					    strerror(errno));
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* Every name becomes an entry, so max_entries bounds this list too. */
		if (b->d->n_entries + ret->n >= b->max_entries) {
			error_set(b->err, b->err_size,
				  "the layer has more than %zu entries, the configured maximum",
				  b->max_entries);
			r = -E2BIG;
			break;
		}
		if (ret->n == ret->capacity) {
			size_t capacity = ret->capacity ? ret->capacity * 2 : 64;
			char **grown = realloc(ret->v, capacity * sizeof(*grown));

			if (!grown) {
				r = -ENOMEM;
				break;
			}
			ret->v = grown;
			ret->capacity = capacity;
		}
		ret->v[ret->n] = strdup(de->d_name);
		if (!ret->v[ret->n]) {
			r = -ENOMEM;
			break;
		}
		ret->n++;
	}
	closedir(dir);
	if (r < 0)
		names_free(ret);
	return r;
}

static int dir_walk(struct build *b, int dirfd, const char *path, dev_t dev, int depth);

/* Records one name of the directory dirfd, and walks it if it is a directory. */
static int dir_entry_visit(struct build *b, int dirfd, const char *parent, const char *name,
			   dev_t dev, int depth)
{
	struct layer_entry *e;
	struct stat st;
	size_t index;
	char *path = path_child(parent, name);
	int r = 0;

	if (!path)
		return -ENOMEM;
	if (strlen(path) > LAYER_PATH_MAX) {
		build_error(b, parent, "an entry's path is longer than %d bytes, skipped",
			    LAYER_PATH_MAX);
		free(path);
		return 0;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		build_error(b, path,
			    errno == ENOENT ? "vanished during the walk" : "failed to stat: %s",
			    strerror(errno));
		free(path);
		return 0;
	}
	if (st.st_dev != dev) {
		build_error(b, path, "on another filesystem (a mount point), not entered");
		free(path);
		return 0;
	}

	e = build_add(b, path, &r);
	if (!e)
		return r;
	index = b->d->n_entries - 1;
	e->mode = st.st_mode & 07777;
	e->uid = st.st_uid;
	e->gid = st.st_gid;

	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		e->type = LAYER_ENTRY_REGULAR;
		return dir_file_hash(b, dirfd, name, &st, e);
	case S_IFDIR: {
		int fd __attribute__((cleanup(close_fdp))) = -1;
		struct stat opened;

		e->type = LAYER_ENTRY_DIRECTORY;
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &opened) < 0 || !stat_same_file(&st, &opened)) {
			build_error(b, path, "replaced or removed during the walk");
			return 0;
		}
		e->opaque = dir_is_opaque(fd);
		/* e may move when the entry array grows: pass the path by index. */
		return dir_walk(b, fd, b->d->entries[index].path, dev, depth + 1);
	}
	case S_IFLNK: {
		char target[LAYER_PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target));

		e->type = LAYER_ENTRY_SYMLINK;
		e->mode = 0;
		if (n < 0 || (size_t)n > LAYER_PATH_MAX) {
			build_error(b, path,
				    n < 0 ? "failed to read the link: %s" : "link target too long",
				    strerror(errno));
			n = 0;
		}
		e->target = strndup(target, (size_t)n);
		return e->target ? 0 : -ENOMEM;
	}
	case S_IFCHR:
		/* overlayfs marks a deleted name with a 0/0 character device. */
		if (major(st.st_rdev) == 0 && minor(st.st_rdev) == 0) {
			e->type = LAYER_ENTRY_WHITEOUT;
			e->mode = 0;
			e->uid = e->gid = 0;
			return 0;
		}
		e->type = LAYER_ENTRY_CHAR;
		e->major = major(st.st_rdev);
		e->minor = minor(st.st_rdev);
		return 0;
	case S_IFBLK:
		e->type = LAYER_ENTRY_BLOCK;
		e->major = major(st.st_rdev);
		e->minor = minor(st.st_rdev);
		return 0;
	case S_IFIFO:
		e->type = LAYER_ENTRY_FIFO;
		return 0;
	case S_IFSOCK:
		e->type = LAYER_ENTRY_SOCKET;
		return 0;
	default:
		build_error(b, path, "unknown file type %#o", st.st_mode & S_IFMT);
		return 0;
	}
}

static int dir_walk(struct build *b, int dirfd, const char *path, dev_t dev, int depth)
{
	struct names names;
	char *parent;
	int r;

	if (depth > LAYER_DEPTH_MAX) {
		build_error(b, path, "nested deeper than %d directories, not entered",
			    LAYER_DEPTH_MAX);
		return 0;
	}
	r = names_read(b, dirfd, path, &names);
	if (r < 0)
		return r;
	/* path points into the entry array, which visiting may move. */
	parent = strdup(path);
	if (!parent) {
		names_free(&names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < names.n && r >= 0; i++)
		r = dir_entry_visit(b, dirfd, parent, names.v[i], dev, depth);
	free(parent);
	names_free(&names);
	return r;
}

int layer_digest_from_dir(const char *dir, const struct layer_digest_options *o,
			  struct layer_digest **ret, char *err, size_t err_size)
{
	int fd __attribute__((cleanup(close_fdp))) = -1;
	struct build b;
	struct stat st;
	int r;

	*ret = NULL;
	r = build_init(&b, o, err, err_size);
	if (r < 0)
		goto out;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		error_set(err, err_size, "failed to open the layer directory %s: %s", dir,
			  strerror(-r));
		goto out;
	}
	r = dir_walk(&b, fd, "", st.st_dev, 0);
	if (r < 0) {
		if (err && !err[0])
			error_set(err, err_size, "failed to walk %s: %s", dir, strerror(-r));
		goto out;
	}
	layer_entries_sort_unique(b.d->entries, &b.d->n_entries);
	r = build_finish(&b, ret);
out:
	build_done(&b);
	return r;
}

/* --- Tar input --- */

/*
 * Normalizes a tar member name: no leading "/" or "./", no empty or "."
 * components, no trailing "/". Returns NULL for a name with a ".."
 * component, and "" for the root.
 */
static char *tar_path_normalize(const char *name)
{
	size_t len = strlen(name), out = 0;
	char *p = malloc(len + 1);
	const char *s = name;

	if (!p)
		return NULL;
	while (*s) {
		const char *end = strchrnul(s, '/');
		size_t n = (size_t)(end - s);

		if (n == 2 && s[0] == '.' && s[1] == '.') {
			free(p);
			errno = EINVAL;
			return NULL;
		}
		if (n > 0 && !(n == 1 && s[0] == '.')) {
			if (out)
				p[out++] = '/';
			memcpy(p + out, s, n);
			out += n;
		}
		s = *end ? end + 1 : end;
	}
	p[out] = '\0';
	return p;
}

static const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The parent of path with name appended; name NULL gives the parent itself. */
static char *path_sibling(const char *path, const char *name)
{
	const char *base = path_base(path);
	size_t dir_len = (size_t)(base - path);
	char *p;

	if (!name) {
		if (dir_len > 0)
			dir_len--;
		return strndup(path, dir_len);
	}
	if (asprintf(&p, "%.*s%s", (int)dir_len, path, name) < 0)
		return NULL;
	return p;
}

struct tar_source {
	struct archive *raw;
	EVP_MD_CTX *diff_id;
	uint8_t *buffer;
};

/* Feeds the tar reader from the decompressing reader, hashing the uncompressed stream. */
static la_ssize_t tar_source_read(struct archive *a, void *userdata, const void **buffer)
{
	struct tar_source *s = userdata;
	la_ssize_t n = archive_read_data(s->raw, s->buffer, READ_BUFFER_SIZE);

	if (n < 0) {
		archive_set_error(a, archive_errno(s->raw) ? archive_errno(s->raw) : EIO, "%s",
				  archive_error_string(s->raw));
		return -1;
	}
	EVP_DigestUpdate(s->diff_id, s->buffer, (size_t)n);
	*buffer = s->buffer;
	return n;
}

/*
 * Enables the decompression filters built into libarchive. A filter that
 * libarchive would run as an external program (ARCHIVE_WARN) stays off:
 * hostile input must not start processes.
 */
static int filters_enable(struct archive *a)
{
	int (*const filters[])(struct archive *) = {
	    archive_read_support_filter_gzip, archive_read_support_filter_zstd,
	    archive_read_support_filter_xz,   archive_read_support_filter_bzip2,
	    archive_read_support_filter_lz4,
	};
	int enabled = 0;

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (filters[i](a) == ARCHIVE_OK)
			enabled++;
	return enabled > 0 ? 0 : -ENOTSUP;
}

static int tar_content_hash(struct build *b, struct archive *tar, struct archive_entry *ae,
			    struct layer_entry *e)
{
	static const uint8_t zeros[64 * 1024];
	EVP_MD_CTX *ctx __attribute__((cleanup(md_ctx_freep))) = EVP_MD_CTX_new();
	int64_t size = archive_entry_size(ae), at = 0;
	int r;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	for (;;) {
		const void *block;
		size_t len;
		la_int64_t offset;
		int k = archive_read_data_block(tar, &block, &len, &offset);

		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			error_set(b->err, b->err_size, "failed to read %s from the layer: %s",
				  e->path, archive_error_string(tar));
			return -EIO;
		}
		/* Sparse files: the holes read as zeros. */
		while (at < offset) {
			size_t n = (size_t)(offset - at) < sizeof(zeros) ? (size_t)(offset - at)
									 : sizeof(zeros);

			EVP_DigestUpdate(ctx, zeros, n);
			at += (int64_t)n;
		}
		EVP_DigestUpdate(ctx, block, len);
		at += (int64_t)len;
		r = build_account(b, len);
		if (r < 0)
			return r;
	}
	while (at < size) {
		size_t n =
		    (size_t)(size - at) < sizeof(zeros) ? (size_t)(size - at) : sizeof(zeros);

		EVP_DigestUpdate(ctx, zeros, n);
		at += (int64_t)n;
	}
	return EVP_DigestFinal_ex(ctx, e->sha256, NULL) == 1 ? 0 : -EIO;
}

/* Paths of directories that carry the opaque marker ".wh..wh..opq". */
struct opaque_list {
	char **v;
	size_t n;
};

static int tar_entry_add(struct build *b, struct archive *tar, struct archive_entry *ae,
			 struct opaque_list *opaque)
{
	const char *name = archive_entry_pathname(ae);
	char *path;
	const char *base, *hardlink;
	struct layer_entry *e;
	int r = 0;

	if (!name)
		name = archive_entry_pathname_utf8(ae);
	if (!name) {
		build_error(b, "?", "a tar member has a name that cannot be read, skipped");
		return 0;
	}
	if (strlen(name) > LAYER_PATH_MAX) {
		build_error(b, "?", "a tar member's name is longer than %d bytes, skipped",
			    LAYER_PATH_MAX);
		return 0;
	}
	path = tar_path_normalize(name);
	if (!path) {
		if (errno == EINVAL) {
			build_error(b, name, "the name has a \"..\" component, skipped");
			return 0;
		}
		return -ENOMEM;
	}
	if (!path[0]) {
		/* The root directory: its metadata belongs to the snapshot, not the layer. */
		free(path);
		return 0;
	}

	base = path_base(path);
	if (strncmp(base, ".wh.", 4) == 0) {
		char *target;

		if (strcmp(base, ".wh..wh..opq") == 0) {
			char **grown = realloc(opaque->v, (opaque->n + 1) * sizeof(*grown));

			if (!grown || opaque->n >= b->max_entries) {
				free(path);
				return grown ? -E2BIG : -ENOMEM;
			}
			opaque->v = grown;
			opaque->v[opaque->n] = path_sibling(path, NULL);
			free(path);
			return opaque->v[opaque->n++] ? 0 : -ENOMEM;
		}
		if (strncmp(base, ".wh..wh.", 8) == 0 || !base[4]) {
			/* AUFS bookkeeping (.wh..wh.plnk and the like), not content. */
			free(path);
			return 0;
		}
		target = path_sibling(path, base + 4);
		free(path);
		if (!target)
			return -ENOMEM;
		e = build_add(b, target, &r);
		if (!e)
			return r;
		e->type = LAYER_ENTRY_WHITEOUT;
		return 0;
	}

	e = build_add(b, path, &r);
	if (!e)
		return r;
	e->mode = archive_entry_perm(ae) & 07777;
	e->uid = (uint64_t)archive_entry_uid(ae);
	e->gid = (uint64_t)archive_entry_gid(ae);

	hardlink = archive_entry_hardlink(ae);
	if (!hardlink)
		hardlink = archive_entry_hardlink_utf8(ae);
	if (hardlink) {
		e->type = LAYER_ENTRY_REGULAR;
		e->hardlink = tar_path_normalize(hardlink);
		if (!e->hardlink && errno != EINVAL)
			return -ENOMEM;
		if (!e->hardlink || !e->hardlink[0]) {
			free(e->hardlink);
			e->hardlink = strdup("");
			return e->hardlink ? 0 : -ENOMEM;
		}
		return 0;
	}

	switch (archive_entry_filetype(ae)) {
	case AE_IFREG: {
		const char *xname;
		const void *value;
		size_t len;

		e->type = LAYER_ENTRY_REGULAR;
		archive_entry_xattr_reset(ae);
		while (archive_entry_xattr_next(ae, &xname, &value, &len) == ARCHIVE_OK) {
			if (!layer_xattr_recorded(xname))
				continue;
			if (len > LAYER_XATTR_VALUE_MAX) {
				build_error(b, e->path, "extended attribute %s is too large",
					    xname);
				continue;
			}
			r = xattr_add(e, xname, value, len);
			if (r < 0)
				return r;
		}
		return tar_content_hash(b, tar, ae, e);
	}
	case AE_IFDIR:
		e->type = LAYER_ENTRY_DIRECTORY;
		return 0;
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(ae);

		if (!target)
			target = archive_entry_symlink_utf8(ae);
		e->type = LAYER_ENTRY_SYMLINK;
		e->mode = 0;
		if (!target || strlen(target) > LAYER_PATH_MAX) {
			build_error(b, e->path, "the link target is missing or too long");
			target = "";
		}
		e->target = strdup(target);
		return e->target ? 0 : -ENOMEM;
	}
	case AE_IFCHR:
	case AE_IFBLK:
		e->type =
		    archive_entry_filetype(ae) == AE_IFCHR ? LAYER_ENTRY_CHAR : LAYER_ENTRY_BLOCK;
		e->major = (uint64_t)archive_entry_rdevmajor(ae);
		e->minor = (uint64_t)archive_entry_rdevminor(ae);
		/* A 0/0 device in a tar layer is what an unpacked whiteout looks like: treat
		 * it as one, as overlayfs would. */
		if (e->type == LAYER_ENTRY_CHAR && e->major == 0 && e->minor == 0) {
			e->type = LAYER_ENTRY_WHITEOUT;
			e->mode = 0;
			e->uid = e->gid = 0;
		}
		return 0;
	case AE_IFIFO:
		e->type = LAYER_ENTRY_FIFO;
		return 0;
	case AE_IFSOCK:
		e->type = LAYER_ENTRY_SOCKET;
		return 0;
	default:
		build_error(b, e->path, "unknown tar member type %#o", archive_entry_filetype(ae));
		e->type = LAYER_ENTRY_FIFO;
		return 0;
	}
}

static int entry_copy_from(struct layer_entry *e, const struct layer_entry *from)
{
	int r;

	e->type = from->type;
	e->mode = from->mode;
	e->uid = from->uid;
	e->gid = from->gid;
	e->major = from->major;
	e->minor = from->minor;
	memcpy(e->sha256, from->sha256, SHA256_SIZE);
	if (from->target) {
		e->target = strdup(from->target);
		if (!e->target)
			return -ENOMEM;
	}
	for (size_t i = 0; i < from->n_xattrs; i++) {
		r = xattr_add(e, from->xattrs[i].name, from->xattrs[i].value, from->xattrs[i].len);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Gives each hard link the record of the file it links to (a hard link
 * shares the inode: its type, mode, owner and content). A link to a file
 * outside this layer cannot be resolved and is dropped with an error.
 */
static int hardlinks_resolve(struct build *b)
{
	struct layer_digest *d = b->d;
	bool *drop __attribute__((cleanup(freep))) = calloc(d->n_entries + 1, sizeof(bool));
	size_t out = 0;
	int r;

	if (!drop)
		return -ENOMEM;
	/* Link fields stay set until the end, so chains resolve in any order. */
	for (size_t i = 0; i < d->n_entries; i++) {
		struct layer_entry *e = &d->entries[i];
		const struct layer_entry *to = e;
		int hops = 0;

		if (!e->hardlink)
			continue;
		while (to && to->hardlink && hops++ < HARDLINK_HOPS_MAX)
			to = entries_find(d->entries, d->n_entries, to->hardlink);
		if (!to || to->hardlink || to->type == LAYER_ENTRY_WHITEOUT) {
			build_error(b, e->path,
				    "hard link to %s, which is not a file of this layer",
				    e->hardlink);
			drop[i] = true;
			continue;
		}
		r = entry_copy_from(e, to);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < d->n_entries; i++) {
		if (drop[i]) {
			layer_entry_clear(&d->entries[i]);
			continue;
		}
		free(d->entries[i].hardlink);
		d->entries[i].hardlink = NULL;
		d->entries[out++] = d->entries[i];
	}
	d->n_entries = out;
	return 0;
}

/*
 * Report entries below a symlink of the same layer ("lnk -> /etc", then
 * "lnk/evil"): unpacking writes them through the link, outside the layer,
 * so no directory on a node can ever match such a layer.
 */
static void entries_check_symlink_parents(struct build *b)
{
	const struct layer_entry *entries = b->d->entries;
	size_t n = b->d->n_entries;

	for (size_t i = 0; i < n; i++) {
		char prefix[4096];
		const char *path = entries[i].path;

		for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
			const struct layer_entry *parent;
			size_t len = (size_t)(slash - path);

			if (len >= sizeof(prefix))
				break;
			memcpy(prefix, path, len);
			prefix[len] = '\0';
			parent = entries_find(b->d->entries, n, prefix);
			if (parent && parent->type == LAYER_ENTRY_SYMLINK) {
				build_error(b, path,
					    "the name goes through a symlink of the layer");
				break;
			}
		}
	}
}

/*
 * Adds the directories a tar stream implies but does not list: the parents
 * of listed names and the targets of opaque markers. An unpacker creates
 * them with mode 0755 owned by root, and so does this definition.
 */
static int implicit_dirs_add(struct build *b, struct opaque_list *opaque)
{
	size_t n = b->d->n_entries;
	int r = 0;

	for (size_t i = 0; i < n + opaque->n; i++) {
		char *dir =
		    i < n ? path_sibling(b->d->entries[i].path, NULL) : strdup(opaque->v[i - n]);

		while (dir && dir[0]) {
			struct layer_entry *e = entries_find(b->d->entries, n, dir);
			char *up;

			if (e)
				break;
			/* Added beyond n, so the binary search above does not see them: search
			 * the new ones linearly; they are few in well-formed layers. */
			for (size_t j = n; j < b->d->n_entries && !e; j++)
				if (strcmp(b->d->entries[j].path, dir) == 0)
					e = &b->d->entries[j];
			if (e)
				break;
			up = path_sibling(dir, NULL);
			e = build_add(b, dir, &r);
			dir = NULL;
			if (!e) {
				free(up);
				return r;
			}
			e->type = LAYER_ENTRY_DIRECTORY;
			e->mode = 0755;
			dir = up;
		}
		free(dir);
	}
	layer_entries_sort_unique(b->d->entries, &b->d->n_entries);
	entries_check_symlink_parents(b);

	for (size_t i = 0; i < opaque->n; i++) {
		struct layer_entry *e;

		if (!opaque->v[i][0])
			continue;
		e = entries_find(b->d->entries, b->d->n_entries, opaque->v[i]);
		if (e && e->type == LAYER_ENTRY_DIRECTORY)
			e->opaque = true;
		else
			build_error(b, opaque->v[i],
				    "opaque marker on a name that is not a directory");
	}
	return 0;
}

static int tar_read_all(struct build *b, struct archive *tar, struct opaque_list *opaque)
{
	for (;;) {
		struct archive_entry *ae;
		int k = archive_read_next_header(tar, &ae), r;

		if (k == ARCHIVE_EOF)
			return 0;
		if (k < ARCHIVE_WARN) {
			error_set(b->err, b->err_size, "invalid layer tar: %s",
				  archive_error_string(tar));
			return -EBADMSG;
		}
		r = tar_entry_add(b, tar, ae, opaque);
		if (r < 0)
			return r;
	}
}

int layer_digest_from_tar_fd(int fd, const struct layer_digest_options *o,
			     uint8_t ret_diff_id[SHA256_SIZE], struct layer_digest **ret, char *err,
			     size_t err_size)
{
	struct archive *raw __attribute__((cleanup(archive_freep))) = archive_read_new();
	struct archive *tar __attribute__((cleanup(archive_freep))) = archive_read_new();
	EVP_MD_CTX *diff_id __attribute__((cleanup(md_ctx_freep))) = EVP_MD_CTX_new();
	uint8_t *stream_buffer __attribute__((cleanup(freep))) = malloc(READ_BUFFER_SIZE);
	struct opaque_list opaque = {0};
	struct archive_entry *ae;
	struct tar_source source;
	struct build b;
	int r;

	*ret = NULL;
	r = build_init(&b, o, err, err_size);
	if (r < 0)
		goto out;
	if (!raw || !tar || !diff_id || !stream_buffer ||
	    EVP_DigestInit_ex(diff_id, EVP_sha256(), NULL) != 1) {
		r = -ENOMEM;
		goto out;
	}

	/* Two readers: "raw" undoes the compression, and its output is both
	 * hashed for the diff_id and parsed as tar by the second. */
	r = filters_enable(raw);
	if (r < 0 || archive_read_support_format_raw(raw) != ARCHIVE_OK) {
		r = -ENOTSUP;
		error_set(err, err_size, "libarchive has no built-in decompression filters");
		goto out;
	}
	if (archive_read_open_fd(raw, fd, READ_BUFFER_SIZE) != ARCHIVE_OK ||
	    archive_read_next_header(raw, &ae) != ARCHIVE_OK) {
		r = -EBADMSG;
		error_set(err, err_size, "failed to read the layer stream: %s",
			  archive_error_string(raw));
		goto out;
	}
	source = (struct tar_source){.raw = raw, .diff_id = diff_id, .buffer = stream_buffer};
	if (archive_read_support_format_tar(tar) != ARCHIVE_OK ||
	    archive_read_open(tar, &source, NULL, tar_source_read, NULL) != ARCHIVE_OK) {
		r = -EBADMSG;
		error_set(err, err_size, "invalid layer tar: %s", archive_error_string(tar));
		goto out;
	}

	r = tar_read_all(&b, tar, &opaque);
	if (r < 0)
		goto out;
	/* The tar reader stops at the end-of-archive blocks; the diff_id covers
	 * the whole stream, padding included. */
	for (;;) {
		const void *unused;
		la_ssize_t n = tar_source_read(tar, &source, &unused);

		if (n == 0)
			break;
		if (n < 0) {
			r = -EBADMSG;
			error_set(err, err_size, "failed to read the layer stream: %s",
				  archive_error_string(raw));
			goto out;
		}
	}
	if (ret_diff_id && EVP_DigestFinal_ex(diff_id, ret_diff_id, NULL) != 1) {
		r = -EIO;
		goto out;
	}

	layer_entries_sort_unique(b.d->entries, &b.d->n_entries);
	r = hardlinks_resolve(&b);
	if (r >= 0)
		r = implicit_dirs_add(&b, &opaque);
	if (r >= 0)
		r = build_finish(&b, ret);
out:
	if (r < 0 && err && !err[0])
		error_set(err, err_size, "failed to digest the layer: %s", strerror(-r));
	for (size_t i = 0; i < opaque.n; i++)
		free(opaque.v[i]);
	free(opaque.v);
	build_done(&b);
	return r;
}
