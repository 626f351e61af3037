// SPDX-License-Identifier: Apache-2.0
/*
 * Layer digests from tar streams and from overlay-style directories. Tars
 * are made by GNU tar (an independent implementation) or by libarchive's
 * writer where a test needs names GNU tar does not write. Needs root (mknod,
 * trusted.* xattrs, mount).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer_digest.h"
#include "test.h"

/* A file capability granting cap_net_raw (VFS_CAP_REVISION_2, little-endian). */
static const uint8_t capability[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20};

static char root[64];

static const char *at(const char *fmt, ...)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];
	va_list ap;
	int n = snprintf(p, 512, "%s/", root);

	va_start(ap, fmt);
	vsnprintf(p + n, 512 - (size_t)n, fmt, ap);
	va_end(ap);
	return p;
}

static void file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static int run(const char *fmt, ...)
{
	char command[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	return system(command);
}

static void root_make(void)
{
	snprintf(root, sizeof(root), "/tmp/intact-test-XXXXXX");
	if (!mkdtemp(root))
		abort();
}

static void root_remove(void)
{
	(void)run("rm -rf %s", root);
}

static struct layer_digest *digest_dir(const char *dir, const struct layer_digest_options *o)
{
	struct layer_digest *d = NULL;
	char err[512] = "";
	int r = layer_digest_from_dir(dir, o, &d, err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "  layer_digest_from_dir(%s): %d %s\n", dir, r, err);
	CHECK_INT_EQ(r, 0);
	return d;
}

static struct layer_digest *digest_tar(const char *path, uint8_t *diff_id)
{
	struct layer_digest *d = NULL;
	char err[512] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	CHECK(fd >= 0);
	r = layer_digest_from_tar_fd(fd, NULL, diff_id, &d, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "  layer_digest_from_tar_fd(%s): %d %s\n", path, r, err);
	CHECK_INT_EQ(r, 0);
	close(fd);
	return d;
}

static const struct layer_entry *entry_find(const struct layer_digest *d, const char *path)
{
	for (size_t i = 0; d && i < d->n_entries; i++)
		if (strcmp(d->entries[i].path, path) == 0)
			return &d->entries[i];
	return NULL;
}

/* A tree under root/name with one file of each kind the definition covers. */
static void tree_make(const char *name)
{
	CHECK_INT_EQ(
	    run("mkdir -p %s/%s/bin %s/%s/etc/empty %s/%s/dev", root, name, root, name, root, name),
	    0);
	file_write(at("%s/bin/tool", name), "#!/bin/sh\necho tool\n");
	file_write(at("%s/etc/motd", name), "hello\n");
	CHECK_INT_EQ(chmod(at("%s/bin/tool", name), 04755), 0);
	CHECK_INT_EQ(setxattr(at("%s/bin/tool", name), "security.capability", capability,
			      sizeof(capability), 0),
		     0);
	CHECK_INT_EQ(link(at("%s/bin/tool", name), at("%s/bin/tool-link", name)), 0);
	CHECK_INT_EQ(symlink("/etc/passwd", at("%s/bin/passwd", name)), 0);
	CHECK_INT_EQ(mkfifo(at("%s/dev/fifo", name), 0600), 0);
	CHECK_INT_EQ(mknod(at("%s/dev/null", name), S_IFCHR | 0666, makedev(1, 3)), 0);
	CHECK_INT_EQ(chown(at("%s/etc/motd", name), 1000, 1001), 0);
}

TEST(record_encoding_known_answer)
{
	/* The value was computed from docs/layer-digest.md by a separate Python script. */
	struct layer_xattr x = {
	    .name = "security.capability", .value = (uint8_t[]){1, 2}, .len = 2};
	struct layer_entry e[5] = {
	    {.path = "a", .type = LAYER_ENTRY_DIRECTORY, .opaque = true, .mode = 0755},
	    {.path = "a/dev", .type = LAYER_ENTRY_CHAR, .mode = 0600, .major = 1, .minor = 3},
	    {.path = "a/f",
	     .type = LAYER_ENTRY_REGULAR,
	     .mode = 04755,
	     .uid = 1000,
	     .gid = 1000,
	     .xattrs = &x,
	     .n_xattrs = 1},
	    {.path = "a/l", .type = LAYER_ENTRY_SYMLINK, .target = "f"},
	    {.path = "a/w", .type = LAYER_ENTRY_WHITEOUT},
	};
	char digest[DIGEST_TEXT_SIZE];

	CHECK_INT_EQ(digest_from_text(
			 "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
			 e[2].sha256),
		     0);
	CHECK_INT_EQ(layer_entries_digest(e, 5, digest), 0);
	CHECK_STR_EQ(digest,
		     "sha256:8d9eb16dbf2eec688be5f2cbfebd7001f122f151dd6c54ab9d94958a38316577");
}

TEST(tar_and_dir_digests_agree)
{
	struct layer_digest *dir, *gz, *zst, *plain;
	uint8_t diff_gz[SHA256_SIZE], diff_zst[SHA256_SIZE], diff_plain[SHA256_SIZE];
	const struct layer_entry *e;

	root_make();
	tree_make("tree");
	CHECK_INT_EQ(run("tar --xattrs --xattrs-include=security.capability --numeric-owner "
			 "-C %s/tree -cf %s/l.tar . && gzip -k %s/l.tar && zstd -q %s/l.tar",
			 root, root, root, root),
		     0);
	dir = digest_dir(at("tree"), NULL);
	gz = digest_tar(at("l.tar.gz"), diff_gz);
	zst = digest_tar(at("l.tar.zst"), diff_zst);
	plain = digest_tar(at("l.tar"), diff_plain);
	if (!dir || !gz || !zst || !plain)
		goto out;

	CHECK_STR_EQ(gz->digest, dir->digest);
	CHECK_STR_EQ(zst->digest, dir->digest);
	CHECK_STR_EQ(plain->digest, dir->digest);
	CHECK_INT_EQ(dir->n_errors, 0);
	CHECK_INT_EQ(gz->n_errors, 0);
	/* The diff_id is the SHA-256 of the uncompressed stream, whatever the compression. */
	CHECK_MEM_EQ(diff_gz, SHA256_SIZE, diff_plain, SHA256_SIZE);
	CHECK_MEM_EQ(diff_zst, SHA256_SIZE, diff_plain, SHA256_SIZE);

	e = entry_find(gz, "bin/tool-link");
	CHECK(e != NULL);
	if (e) {
		CHECK(e->type == LAYER_ENTRY_REGULAR);
		CHECK(e->mode == 04755);
		CHECK(e->n_xattrs == 1);
	}
	e = entry_find(gz, "etc/motd");
	CHECK(e != NULL);
	if (e) {
		CHECK(e->uid == 1000);
		CHECK(e->gid == 1001);
	}
	e = entry_find(dir, "dev/null");
	CHECK(e != NULL);
	if (e) {
		CHECK(e->type == LAYER_ENTRY_CHAR);
		CHECK(e->major == 1);
		CHECK(e->minor == 3);
	}
	e = entry_find(dir, "etc/empty");
	CHECK(e != NULL);
	if (e) {
		CHECK(e->type == LAYER_ENTRY_DIRECTORY);
	}
out:
	layer_digest_free(dir);
	layer_digest_free(gz);
	layer_digest_free(zst);
	layer_digest_free(plain);
	root_remove();
}

TEST(mtime_change_keeps_digest)
{
	struct layer_digest *before, *after;

	root_make();
	tree_make("tree");
	before = digest_dir(at("tree"), NULL);
	CHECK_INT_EQ(run("touch -d 2001-01-01 %s/tree/etc/motd %s/tree/bin", root, root), 0);
	after = digest_dir(at("tree"), NULL);
	if (before && after)
		CHECK_STR_EQ(after->digest, before->digest);
	layer_digest_free(before);
	layer_digest_free(after);
	root_remove();
}

TEST(content_change_names_file)
{
	struct layer_digest *before, *after;

	root_make();
	tree_make("tree");
	before = digest_dir(at("tree"), NULL);
	file_write(at("tree/etc/motd"), "changed\n");
	after = digest_dir(at("tree"), NULL);
	if (before && after) {
		CHECK(strcmp(after->digest, before->digest) != 0);
		CHECK(!layer_entry_equal(entry_find(before, "etc/motd"),
					 entry_find(after, "etc/motd")));
		CHECK(layer_entry_equal(entry_find(before, "bin/tool"),
					entry_find(after, "bin/tool")));
	}
	layer_digest_free(before);
	layer_digest_free(after);
	root_remove();
}

/* Converts the tar whiteout conventions in dir to overlayfs's, as containerd's overlay
 * snapshotter does when it unpacks a layer. */
static void overlay_convert(const char *dir, const char *opaque_xattr)
{
	CHECK_INT_EQ(
	    run("cd %s && find . -name '.wh.*' ! -name '.wh..wh..opq' | while read -r f; do "
		"rm \"$f\" && mknod \"$(dirname \"$f\")/$(basename \"$f\" | cut -c5-)\" c 0 0;"
		" done",
		dir),
	    0);
	CHECK_INT_EQ(run("cd %s && find . -name .wh..wh..opq | while read -r f; do "
			 "rm \"$f\" && python3 -c 'import os,sys; os.setxattr(sys.argv[1], "
			 "sys.argv[2], b\"y\")' \"$(dirname \"$f\")\" %s; done",
			 dir, opaque_xattr),
		     0);
}

TEST(whiteouts_normalized_both_forms)
{
	const char *const opaque_xattrs[] = {"trusted.overlay.opaque", "user.overlay.opaque"};

	for (size_t i = 0; i < 2; i++) {
		struct layer_digest *tar = NULL, *dir = NULL;
		const struct layer_entry *e;

		root_make();
		CHECK_INT_EQ(
		    run("mkdir -p %s/src/etc %s/src/opt/new %s/unpacked", root, root, root), 0);
		file_write(at("src/etc/.wh.motd"), "");
		file_write(at("src/opt/.wh..wh..opq"), "");
		file_write(at("src/opt/new/file"), "replacement\n");
		CHECK_INT_EQ(run("tar --numeric-owner -C %s/src -czf %s/l.tgz . && "
				 "tar -C %s/unpacked -xzf %s/l.tgz",
				 root, root, root, root),
			     0);
		overlay_convert(at("unpacked"), opaque_xattrs[i]);

		tar = digest_tar(at("l.tgz"), NULL);
		dir = digest_dir(at("unpacked"), NULL);
		if (tar && dir) {
			CHECK_STR_EQ(dir->digest, tar->digest);
			e = entry_find(tar, "etc/motd");
			CHECK(e != NULL);
			if (e) {
				CHECK(e->type == LAYER_ENTRY_WHITEOUT);
			}
			e = entry_find(dir, "etc/motd");
			CHECK(e != NULL);
			if (e) {
				CHECK(e->type == LAYER_ENTRY_WHITEOUT);
			}
			e = entry_find(tar, "opt");
			CHECK(e != NULL);
			if (e) {
				CHECK(e->opaque);
			}
			e = entry_find(dir, "opt");
			CHECK(e != NULL);
			if (e) {
				CHECK(e->opaque);
			}
			CHECK(entry_find(tar, "opt/.wh..wh..opq") == NULL);
			CHECK(entry_find(tar, "etc/.wh.motd") == NULL);
		}
		layer_digest_free(tar);
		layer_digest_free(dir);
		root_remove();
	}
}

struct tar_member {
	const char *path;
	unsigned type; /* AE_IF* */
	unsigned mode;
	const char *data;     /* regular files */
	const char *linkname; /* symlinks, or hard links when type is 0 */
};

/* Writes a gzip'd pax tar with libarchive, for names GNU tar would not write. */
static void tar_write(const char *path, const struct tar_member *members, size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	CHECK_INT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	CHECK_INT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	CHECK_INT_EQ(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		size_t len = members[i].data ? strlen(members[i].data) : 0;

		archive_entry_clear(e);
		archive_entry_set_pathname(e, members[i].path);
		archive_entry_set_perm(e, members[i].mode);
		if (members[i].type == 0) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, members[i].linkname);
		} else {
			archive_entry_set_filetype(e, members[i].type);
			archive_entry_set_size(e, (la_int64_t)len);
			if (members[i].type == AE_IFLNK)
				archive_entry_set_symlink(e, members[i].linkname);
		}
		CHECK_INT_EQ(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			CHECK_INT_EQ(archive_write_data(a, members[i].data, len), (la_ssize_t)len);
	}
	archive_entry_free(e);
	CHECK_INT_EQ(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

TEST(tar_names_normalized)
{
	const struct tar_member dotted[] = {
	    {"./", AE_IFDIR, 0755, NULL, NULL},
	    {"./usr/", AE_IFDIR, 0755, NULL, NULL},
	    {"/usr//bin/./x", AE_IFREG, 0755, "x", NULL},
	    {"usr/bin/y", 0, 0755, NULL, "./usr/bin/x"},
	};
	const struct tar_member plain[] = {
	    {"usr", AE_IFDIR, 0755, NULL, NULL},
	    {"usr/bin/x", AE_IFREG, 0755, "x", NULL},
	    {"usr/bin/y", AE_IFREG, 0755, "x", NULL},
	};
	struct layer_digest *a, *b;

	root_make();
	tar_write(at("dotted.tgz"), dotted, 4);
	tar_write(at("plain.tgz"), plain, 3);
	a = digest_tar(at("dotted.tgz"), NULL);
	b = digest_tar(at("plain.tgz"), NULL);
	if (a && b) {
		CHECK_STR_EQ(a->digest, b->digest);
		/* usr/bin is implied by its files: a directory 0755 owned by root. */
		CHECK(entry_find(a, "usr/bin") != NULL);
		if (entry_find(a, "usr/bin"))
			CHECK(entry_find(a, "usr/bin")->mode == 0755);
		CHECK_INT_EQ(a->n_errors, 0);
	}
	layer_digest_free(a);
	layer_digest_free(b);
	root_remove();
}

TEST(tar_dotdot_name_reported)
{
	const struct tar_member members[] = {
	    {"a/../../evil", AE_IFREG, 0644, "x", NULL},
	    {"ok", AE_IFREG, 0644, "y", NULL},
	    {"dangling", 0, 0644, NULL, "not/in/layer"},
	};
	struct layer_digest *d;

	root_make();
	tar_write(at("l.tgz"), members, 3);
	d = digest_tar(at("l.tgz"), NULL);
	if (d) {
		CHECK_INT_EQ(d->n_entries, 1);
		CHECK_INT_EQ(d->n_errors, 2);
		CHECK(entry_find(d, "ok") != NULL);
		CHECK(d->n_errors_listed == 2);
		if (d->n_errors_listed == 2)
			CHECK(strstr(d->errors[0], "\"..\"") != NULL);
	}
	layer_digest_free(d);
	root_remove();
}

TEST(tar_name_through_symlink_reported)
{
	const struct tar_member members[] = {
	    {"lnk", AE_IFLNK, 0777, NULL, "/etc"},
	    {"lnk/evil", AE_IFREG, 0644, "x", NULL},
	    {"ok", AE_IFREG, 0644, "y", NULL},
	};
	struct layer_digest *d;

	root_make();
	tar_write(at("l.tgz"), members, 3);
	d = digest_tar(at("l.tgz"), NULL);
	if (d) {
		CHECK_INT_EQ(d->n_errors, 1);
		CHECK(d->n_errors_listed == 1);
		if (d->n_errors_listed == 1)
			CHECK(strstr(d->errors[0], "symlink") != NULL);
	}
	layer_digest_free(d);
	root_remove();
}

TEST(corrupted_tar_rejected)
{
	struct layer_digest *d = NULL;
	char err[512] = "";
	int fd;

	root_make();
	tree_make("tree");
	/* Cut the stream inside a file's content: the tar is truncated. */
	CHECK_INT_EQ(run("tar -C %s/tree -cf - . | head -c 1600 | gzip > %s/cut.tgz", root, root),
		     0);
	fd = open(at("cut.tgz"), O_RDONLY);
	CHECK(layer_digest_from_tar_fd(fd, NULL, NULL, &d, err, sizeof(err)) < 0);
	CHECK(d == NULL);
	CHECK(err[0] != '\0');
	close(fd);
	root_remove();
}

TEST(symlink_outside_not_followed)
{
	struct layer_digest *d;
	const struct layer_entry *e;

	root_make();
	CHECK_INT_EQ(mkdir(at("layer"), 0755), 0);
	CHECK_INT_EQ(mkdir(at("outside"), 0755), 0);
	file_write(at("outside/secret"), "0123456789");
	CHECK_INT_EQ(symlink("../outside", at("layer/up")), 0);
	CHECK_INT_EQ(symlink("/etc", at("layer/etc")), 0);
	d = digest_dir(at("layer"), NULL);
	if (d) {
		CHECK_INT_EQ(d->n_entries, 2);
		e = entry_find(d, "up");
		CHECK(e != NULL);
		if (e) {
			CHECK(e->type == LAYER_ENTRY_SYMLINK);
			CHECK(strcmp(e->target, "../outside") == 0);
		}
		e = entry_find(d, "etc");
		CHECK(e != NULL);
		if (e) {
			CHECK(e->type == LAYER_ENTRY_SYMLINK);
			CHECK(strcmp(e->target, "/etc") == 0);
		}
		CHECK_INT_EQ(d->bytes_hashed, 0);
		CHECK(entry_find(d, "up/secret") == NULL);
	}
	layer_digest_free(d);
	root_remove();
}

TEST(fifo_not_opened)
{
	struct layer_digest *d;
	const struct layer_entry *e;

	root_make();
	CHECK_INT_EQ(mkdir(at("layer"), 0755), 0);
	CHECK_INT_EQ(mkfifo(at("layer/pipe"), 0640), 0);
	/* Opening a FIFO with no writer would block: the alarm turns that into a failure. */
	alarm(10);
	d = digest_dir(at("layer"), NULL);
	alarm(0);
	e = entry_find(d, "pipe");
	CHECK(e != NULL);
	if (e) {
		CHECK(e->type == LAYER_ENTRY_FIFO);
		CHECK(e->mode == 0640);
	}
	CHECK(d);
	if (d)
		CHECK(d->n_errors == 0);
	layer_digest_free(d);
	root_remove();
}

/* On the first hashed chunk, deletes every file of the layer. */
static int files_delete(void *userdata, uint64_t bytes)
{
	int *calls = userdata;

	if ((*calls)++ == 0)
		(void)run("rm -f %s/layer/*", root);
	return 0;
}

TEST(vanished_file_reported)
{
	struct layer_digest_options o = {.progress = files_delete};
	struct layer_digest *d;
	int calls = 0;

	o.userdata = &calls;
	root_make();
	CHECK_INT_EQ(mkdir(at("layer"), 0755), 0);
	for (int i = 0; i < 8; i++)
		file_write(at("layer/f%d", i), "content\n");
	d = digest_dir(at("layer"), &o);
	if (d) {
		/* The file being hashed changed (its link count), the other seven vanished. */
		CHECK_INT_EQ(d->n_errors, 8);
		CHECK(d->n_errors_listed > 0);
		if (d->n_errors_listed > 0)
			CHECK(strstr(d->errors[0], "changed while read"));
		CHECK(d->n_errors_listed > 1);
		if (d->n_errors_listed > 1)
			CHECK(strstr(d->errors[1], "vanished"));
	}
	layer_digest_free(d);
	root_remove();
}

static int cancel(void *userdata, uint64_t bytes)
{
	return -ECANCELED;
}

TEST(progress_cancels_walk)
{
	struct layer_digest_options o = {.progress = cancel};
	struct layer_digest *d = NULL;
	char err[256];

	root_make();
	CHECK_INT_EQ(mkdir(at("layer"), 0755), 0);
	file_write(at("layer/f"), "x");
	CHECK_INT_EQ(layer_digest_from_dir(at("layer"), &o, &d, err, sizeof(err)), -ECANCELED);
	CHECK(d == NULL);
	root_remove();
}

TEST(max_entries_bounds_walk)
{
	struct layer_digest_options o = {.max_entries = 5};
	struct layer_digest *d = NULL;
	char err[256] = "";

	root_make();
	CHECK_INT_EQ(mkdir(at("layer"), 0755), 0);
	for (int i = 0; i < 10; i++)
		file_write(at("layer/f%d", i), "x");
	CHECK_INT_EQ(layer_digest_from_dir(at("layer"), &o, &d, err, sizeof(err)), -E2BIG);
	CHECK(strstr(err, "more than 5 entries") != NULL);
	CHECK(d == NULL);
	root_remove();
}

TEST(mount_point_not_entered)
{
	struct layer_digest *d;

	root_make();
	CHECK_INT_EQ(run("mkdir -p %s/layer/mnt", root), 0);
	CHECK_INT_EQ(mount("tmpfs", at("layer/mnt"), "tmpfs", 0, "size=1m"), 0);
	file_write(at("layer/mnt/hidden"), "x");
	d = digest_dir(at("layer"), NULL);
	if (d) {
		CHECK_INT_EQ(d->n_errors, 1);
		CHECK(entry_find(d, "mnt/hidden") == NULL);
	}
	layer_digest_free(d);
	(void)umount(at("layer/mnt"));
	root_remove();
}

TEST(rate_limit_slows_hashing)
{
	struct layer_digest_options o = {.rate_limit = 4 * 1024 * 1024};
	struct layer_digest *d;
	struct timespec start, end;
	double seconds;

	root_make();
	CHECK_INT_EQ(
	    run("mkdir %s/layer && head -c 2097152 /dev/zero > %s/layer/zeros", root, root), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	d = digest_dir(at("layer"), &o);
	clock_gettime(CLOCK_MONOTONIC, &end);
	seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
	/* 2 MiB at 4 MiB/s takes at least half a second. */
	CHECK(seconds >= 0.45);
	CHECK(d);
	if (d)
		CHECK(d->bytes_hashed == 2097152);
	layer_digest_free(d);
	root_remove();
}

TEST(digest_text_parsing)
{
	uint8_t raw[SHA256_SIZE];
	char text[DIGEST_TEXT_SIZE];

	CHECK_INT_EQ(
	    digest_from_text(
		"sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", raw),
	    0);
	digest_to_text(raw, text);
	CHECK_STR_EQ(text,
		     "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	CHECK_INT_EQ(digest_from_text("sha256:../../etc/passwd", raw), -EINVAL);
	CHECK_INT_EQ(
	    digest_from_text("sha512:5891b5b522d5df086f9d5c80a77b14b89a15c5c4ea28f0b0c10f0f8"
			     "b8b2ee9b5",
			     raw),
	    -EINVAL);
	CHECK_INT_EQ(
	    digest_from_text("sha256:5891B5B522D5DF086F9D5C80A77B14B89A15C5C4EA28F0B0C10F0F8"
			     "B8B2EE9B5",
			     raw),
	    -EINVAL);
	CHECK_INT_EQ(digest_from_text("sha256:abc", raw), -EINVAL);
}
