/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: runs inside the integration test containers and performs the exec
 * variants that busybox's shell cannot express. It is linked statically
 * because the test image has no libc.
 *
 *   probe memfd-exec [SRC [ARGV0 [ARGS...]]]
 *       Copy SRC (default /bin/busybox) into a memfd and fexecve it with
 *       argv ARGV0 ARGS (default "true").
 *   probe deleted-exec SRC TMP ARGV0 [ARGS...]
 *       Copy SRC to TMP, open it with O_PATH, unlink TMP, then execveat the
 *       descriptor: the exec runs a file that no longer has a name.
 *   probe execveat PATH ARGV0 [ARGS...]
 *       Open PATH with O_PATH and execveat(fd, "", ..., AT_EMPTY_PATH).
 *   probe execveat-dirfd DIR NAME ARGV0 [ARGS...]
 *       Open DIR and execveat(dirfd, NAME, ...) with a relative NAME.
 *   probe exec PATH ARGV0 [ARGS...]
 *       Plain execve(PATH) with a chosen argv[0].
 *   probe deep-exec SRC BASE LEN COUNT NAME ARGV0 [ARGS...]
 *       Create COUNT nested directories under BASE, each named with LEN 'd'
 *       characters, with mkdir and chdir one level at a time so the full path
 *       may exceed PATH_MAX. Copy SRC into the last one as NAME and execve
 *       "./NAME". Prints the full path length on stderr.
 *   probe true
 *       Exit 0.
 *   probe run-as UID GID PROGRAM [ARGS...]
 *       Switch to GID and UID without supplementary groups and execv PROGRAM.
 *
 * The file operations of the file-write tests are listed in file_commands[]
 * below. Each makes one call and prints its result.
 *
 * Exit codes: 0 for "true", 2 for invalid usage, 1 when a step fails (the
 * step and errno go to stderr). A successful exec does not return.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define EXIT_USAGE 2

extern char **environ;

static void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

#define _cleanup_close_ __attribute__((cleanup(closep)))

static int fail(const char *step, const char *object, int r)
{
	fprintf(stderr, "probe: %s %s: %s\n", step, object, strerror(-r));
	return EXIT_FAILURE;
}

static int usage(void)
{
	fprintf(stderr, "usage: probe memfd-exec [SRC [ARGV0 [ARGS...]]]\n"
			"       probe deleted-exec SRC TMP ARGV0 [ARGS...]\n"
			"       probe execveat PATH ARGV0 [ARGS...]\n"
			"       probe execveat-dirfd DIR NAME ARGV0 [ARGS...]\n"
			"       probe exec PATH ARGV0 [ARGS...]\n"
			"       probe deep-exec SRC BASE LEN COUNT NAME ARGV0 [ARGS...]\n"
			"       probe true\n"
			"       probe run-as UID GID PROGRAM [ARGS...]\n"
			"       probe FILE-COMMAND ARGS... (see file_commands[])\n");
	return EXIT_USAGE;
}

/* Copies all of src_path into the open descriptor dst_fd. */
static int file_copy_to_fd(const char *src_path, int dst_fd)
{
	_cleanup_close_ int src_fd = open(src_path, O_RDONLY | O_CLOEXEC);
	char buffer[65536];

	if (src_fd < 0)
		return -errno;

	for (;;) {
		ssize_t n = read(src_fd, buffer, sizeof(buffer));
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;

		for (ssize_t done = 0; done < n;) {
			ssize_t written = write(dst_fd, buffer + done, n - done);
			if (written < 0)
				return -errno;
			done += written;
		}
	}
}

/* Copies src_path to a new executable file dst_path, relative to dirfd. */
static int file_copy_executable(const char *src_path, int dirfd, const char *dst_path)
{
	_cleanup_close_ int dst_fd = -1;
	int r;

	dst_fd = openat(dirfd, dst_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (dst_fd < 0)
		return -errno;

	r = file_copy_to_fd(src_path, dst_fd);
	if (r < 0)
		return r;

	/* The descriptor must be closed before the exec: the kernel rejects
	 * executing a file that is open for writing (ETXTBSY). */
	r = close(dst_fd);
	dst_fd = -1;
	if (r < 0)
		return -errno;
	return 0;
}

static int command_memfd_exec(int argc, char **argv)
{
	const char *src = argc > 0 ? argv[0] : "/bin/busybox";
	char *default_argv[] = {"true", NULL};
	char **exec_argv = argc > 1 ? argv + 1 : default_argv;
	_cleanup_close_ int memfd = -1, exec_fd = -1;
	char fd_path[64];
	int r;

	memfd = memfd_create("probe-memfd", MFD_CLOEXEC);
	if (memfd < 0)
		return fail("memfd_create", "probe-memfd", -errno);

	r = file_copy_to_fd(src, memfd);
	if (r < 0)
		return fail("copy to memfd", src, r);

	/* Reopen read-only and drop the writable descriptor, because exec
	 * fails with ETXTBSY while a writable descriptor is open. */
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", memfd);
	exec_fd = open(fd_path, O_RDONLY | O_CLOEXEC);
	if (exec_fd < 0)
		return fail("reopen", fd_path, -errno);
	(void)close(memfd);
	memfd = -1;

	fexecve(exec_fd, exec_argv, environ);
	return fail("fexecve", "memfd", -errno);
}

static int command_deleted_exec(int argc, char **argv)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (argc < 3)
		return usage();

	r = file_copy_executable(argv[0], AT_FDCWD, argv[1]);
	if (r < 0)
		return fail("copy to", argv[1], r);

	fd = open(argv[1], O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fail("open", argv[1], -errno);

	if (unlink(argv[1]) < 0)
		return fail("unlink", argv[1], -errno);

	execveat(fd, "", argv + 2, environ, AT_EMPTY_PATH);
	return fail("execveat", argv[1], -errno);
}

static int command_execveat(int argc, char **argv)
{
	_cleanup_close_ int fd = -1;

	if (argc < 2)
		return usage();

	fd = open(argv[0], O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fail("open", argv[0], -errno);

	execveat(fd, "", argv + 1, environ, AT_EMPTY_PATH);
	return fail("execveat", argv[0], -errno);
}

static int command_execveat_dirfd(int argc, char **argv)
{
	_cleanup_close_ int dirfd = -1;

	if (argc < 3)
		return usage();

	dirfd = open(argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return fail("open", argv[0], -errno);

	execveat(dirfd, argv[1], argv + 2, environ, 0);
	return fail("execveat", argv[1], -errno);
}

static int command_exec(int argc, char **argv)
{
	if (argc < 2)
		return usage();

	execve(argv[0], argv + 1, environ);
	return fail("execve", argv[0], -errno);
}

static int command_deep_exec(int argc, char **argv)
{
	const char *src, *base, *name;
	char component[256], relative[PATH_MAX];
	long length, count;
	size_t path_length;
	int r;

	if (argc < 6)
		return usage();

	src = argv[0];
	base = argv[1];
	length = strtol(argv[2], NULL, 10);
	count = strtol(argv[3], NULL, 10);
	name = argv[4];
	if (length < 1 || length >= (long)sizeof(component) || count < 0)
		return usage();

	memset(component, 'd', length);
	component[length] = '\0';

	if (mkdir(base, 0755) < 0 && errno != EEXIST)
		return fail("mkdir", base, -errno);
	if (chdir(base) < 0)
		return fail("chdir", base, -errno);
	path_length = strlen(base);

	for (long i = 0; i < count; i++) {
		if (mkdir(component, 0755) < 0 && errno != EEXIST)
			return fail("mkdir", "nested directory", -errno);
		if (chdir(component) < 0)
			return fail("chdir", "nested directory", -errno);
		path_length += 1 + length;
	}

	r = file_copy_executable(src, AT_FDCWD, name);
	if (r < 0)
		return fail("copy to", name, r);

	path_length += 1 + strlen(name);
	fprintf(stderr, "probe: executing a file at a path of %zu bytes\n", path_length);

	snprintf(relative, sizeof(relative), "./%s", name);
	execve(relative, argv + 5, environ);
	return fail("execve", name, -errno);
}

/* ---- File operations for the file-write tests ----
 *
 * Each command makes one call and prints "probe: NAME = RESULT" on stdout,
 * RESULT being what the call returned: a descriptor, 0, or a negative errno.
 * It exits 0 once the call ran, failed or not, so that tests can produce
 * failing calls. DIR arguments are directories opened with O_PATH and passed
 * as the dirfd, or "-" for AT_FDCWD. Numbers take C syntax (0755, 0x100).
 */

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

/* Parses a number in C syntax; a bad number ends the probe with EXIT_USAGE. */
static long number_parse(const char *text)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 0);
	if (errno || end == text || *end) {
		fprintf(stderr, "probe: invalid number '%s'\n", text);
		exit(EXIT_USAGE);
	}
	return value;
}

/* Opens DIR for use as a dirfd; "-" is AT_FDCWD. A failure ends the probe. */
static int dirfd_open(const char *dir)
{
	int fd;

	if (strcmp(dir, "-") == 0)
		return AT_FDCWD;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		exit(fail("open", dir, -errno));
	return fd;
}

/* Opens path for an f* call; a failure ends the probe. */
static int file_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		exit(fail("open", path, -errno));
	return fd;
}

static long result_of(long r)
{
	return r < 0 ? -errno : r;
}

static long file_openat(char **a)
{
	return result_of(openat(dirfd_open(a[0]), a[1], (int)number_parse(a[2]),
				a[3] ? (mode_t)number_parse(a[3]) : 0644));
}

static long file_openat2(char **a)
{
	struct open_how how = {
	    .flags = (unsigned long long)number_parse(a[2]),
	    .mode = a[3] ? (unsigned long long)number_parse(a[3]) : 0644,
	};

	return result_of(syscall(SYS_openat2, dirfd_open(a[0]), a[1], &how, sizeof(how)));
}

/* Raw syscall, because glibc may implement creat() with openat. */
static long file_creat(char **a)
{
	return result_of(syscall(SYS_creat, a[0], (mode_t)number_parse(a[1])));
}

static long file_truncate(char **a)
{
	return result_of(truncate(a[0], number_parse(a[1])));
}

static long file_ftruncate(char **a)
{
	return result_of(ftruncate(file_open(a[0], O_WRONLY), number_parse(a[1])));
}

static long file_unlink(char **a)
{
	return result_of(unlink(a[0]));
}

static long file_unlinkat(char **a)
{
	return result_of(unlinkat(dirfd_open(a[0]), a[1], a[2] ? (int)number_parse(a[2]) : 0));
}

static long file_rmdir(char **a)
{
	return result_of(rmdir(a[0]));
}

static long file_mkdirat(char **a)
{
	return result_of(mkdirat(dirfd_open(a[0]), a[1], (mode_t)number_parse(a[2])));
}

static long file_rename(char **a)
{
	return result_of(rename(a[0], a[1]));
}

static long file_renameat2(char **a)
{
	return result_of(renameat2(dirfd_open(a[0]), a[1], dirfd_open(a[2]), a[3],
				   a[4] ? (unsigned)number_parse(a[4]) : 0));
}

static long file_link(char **a)
{
	return result_of(link(a[0], a[1]));
}

static long file_linkat(char **a)
{
	return result_of(linkat(dirfd_open(a[0]), a[1], dirfd_open(a[2]), a[3],
				a[4] ? (int)number_parse(a[4]) : 0));
}

static long file_symlinkat(char **a)
{
	return result_of(symlinkat(a[0], dirfd_open(a[1]), a[2]));
}

static long file_mknodat(char **a)
{
	return result_of(mknodat(dirfd_open(a[0]), a[1], (mode_t)number_parse(a[2]),
				 a[3] ? (dev_t)number_parse(a[3]) : 0));
}

static long file_chmod(char **a)
{
	return result_of(chmod(a[0], (mode_t)number_parse(a[1])));
}

static long file_fchmod(char **a)
{
	return result_of(fchmod(file_open(a[0], O_RDONLY), (mode_t)number_parse(a[1])));
}

static long file_fchmodat(char **a)
{
	return result_of(fchmodat(dirfd_open(a[0]), a[1], (mode_t)number_parse(a[2]), 0));
}

/* Raw syscall: glibc 2.36 has no wrapper, and its fchmodat() emulates the flags. */
static long file_fchmodat2(char **a)
{
	return result_of(syscall(__NR_fchmodat2, dirfd_open(a[0]), a[1], (mode_t)number_parse(a[2]),
				 (unsigned)number_parse(a[3])));
}

static long file_chown(char **a)
{
	return result_of(chown(a[0], (uid_t)number_parse(a[1]), (gid_t)number_parse(a[2])));
}

static long file_fchownat(char **a)
{
	return result_of(fchownat(dirfd_open(a[0]), a[1], (uid_t)number_parse(a[2]),
				  (gid_t)number_parse(a[3]), a[4] ? (int)number_parse(a[4]) : 0));
}

static long file_utimensat(char **a)
{
	return result_of(
	    utimensat(dirfd_open(a[0]), a[1], NULL, a[2] ? (int)number_parse(a[2]) : 0));
}

static long file_setxattr(char **a)
{
	return result_of(setxattr(a[0], a[1], a[2], strlen(a[2]), 0));
}

static long file_lsetxattr(char **a)
{
	return result_of(lsetxattr(a[0], a[1], a[2], strlen(a[2]), 0));
}

static long file_fsetxattr(char **a)
{
	return result_of(fsetxattr(file_open(a[0], O_RDONLY), a[1], a[2], strlen(a[2]), 0));
}

static long file_removexattr(char **a)
{
	return result_of(removexattr(a[0], a[1]));
}

static long file_fremovexattr(char **a)
{
	return result_of(fremovexattr(file_open(a[0], O_RDONLY), a[1]));
}

/* Opens, truncates and closes path COUNT times. Returns 0, or the errno of the first failure. */
static long file_repeat_open(char **a)
{
	long count = number_parse(a[1]);

	for (long i = 0; i < count; i++) {
		int fd = open(a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			return -errno;
		(void)close(fd);
	}
	return 0;
}

/*
 * Prints "stat PATH dev DEV ino INODE mnt MOUNT_ID" for path, not following a
 * final symlink. DEV is in the kernel's encoding, major << 20 | minor.
 */
static long file_stat(char **a)
{
	struct statx stx;

	if (statx(AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_MNT_ID, &stx) < 0)
		return -errno;
	printf("stat %s dev %u ino %llu mnt %llu\n", a[0],
	       stx.stx_dev_major << 20 | stx.stx_dev_minor, (unsigned long long)stx.stx_ino,
	       (unsigned long long)stx.stx_mnt_id);
	return 0;
}

/*
 * Submits one prepared request to a new io_uring and waits for it. Returns
 * the request's result, or the negative errno of a failed setup.
 */
static long io_uring_run(const struct io_uring_sqe *request)
{
	struct io_uring_params params = {0};
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	size_t sq_size, cq_size;
	unsigned *tail, *array;
	uint8_t *rings;
	int fd;

	fd = (int)syscall(__NR_io_uring_setup, 1, &params);
	if (fd < 0)
		return -errno;
	sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
	cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
	if (!(params.features & IORING_FEAT_SINGLE_MMAP))
		return -ENOTSUP;

	/* With IORING_FEAT_SINGLE_MMAP, one mapping contains both rings. */
	rings = mmap(NULL, sq_size > cq_size ? sq_size : cq_size, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	if (rings == MAP_FAILED)
		return -errno;
	sqes = mmap(NULL, params.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sqes == MAP_FAILED)
		return -errno;

	tail = (unsigned *)(rings + params.sq_off.tail);
	array = (unsigned *)(rings + params.sq_off.array);
	sqes[0] = *request;
	array[*tail & *(unsigned *)(rings + params.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);

	if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	cqe = (struct io_uring_cqe *)(rings + params.cq_off.cqes) +
	      (*(unsigned *)(rings + params.cq_off.head) &
	       *(unsigned *)(rings + params.cq_off.ring_mask));
	return cqe->res;
}

static long file_io_uring_openat(char **a)
{
	struct io_uring_sqe sqe = {
	    .opcode = IORING_OP_OPENAT,
	    .fd = dirfd_open(a[0]),
	    .addr = (uintptr_t)a[1],
	    .open_flags = (uint32_t)number_parse(a[2]),
	    .len = a[3] ? (uint32_t)number_parse(a[3]) : 0644,
	};

	return io_uring_run(&sqe);
}

static long file_io_uring_unlinkat(char **a)
{
	struct io_uring_sqe sqe = {
	    .opcode = IORING_OP_UNLINKAT,
	    .fd = dirfd_open(a[0]),
	    .addr = (uintptr_t)a[1],
	    .unlink_flags = a[2] ? (uint32_t)number_parse(a[2]) : 0,
	};

	return io_uring_run(&sqe);
}

static long file_io_uring_mkdirat(char **a)
{
	struct io_uring_sqe sqe = {
	    .opcode = IORING_OP_MKDIRAT,
	    .fd = dirfd_open(a[0]),
	    .addr = (uintptr_t)a[1],
	    .len = (uint32_t)number_parse(a[2]),
	};

	return io_uring_run(&sqe);
}

static long file_io_uring_renameat(char **a)
{
	struct io_uring_sqe sqe = {
	    .opcode = IORING_OP_RENAMEAT,
	    .fd = dirfd_open(a[0]),
	    .addr = (uintptr_t)a[1],
	    .len = (uint32_t)dirfd_open(a[2]),
	    .addr2 = (uintptr_t)a[3],
	};

	return io_uring_run(&sqe);
}

static const struct file_command {
	const char *name;
	int args_min, args_max;
	long (*run)(char **args);
	const char *usage;
} file_commands[] = {
    {"openat", 3, 4, file_openat, "DIR NAME FLAGS [MODE]"},
    {"openat2", 3, 4, file_openat2, "DIR NAME FLAGS [MODE]"},
    {"creat", 2, 2, file_creat, "PATH MODE"},
    {"truncate", 2, 2, file_truncate, "PATH LENGTH"},
    {"ftruncate", 2, 2, file_ftruncate, "PATH LENGTH"},
    {"unlink", 1, 1, file_unlink, "PATH"},
    {"unlinkat", 2, 3, file_unlinkat, "DIR NAME [FLAGS]"},
    {"rmdir", 1, 1, file_rmdir, "PATH"},
    {"mkdirat", 3, 3, file_mkdirat, "DIR NAME MODE"},
    {"rename", 2, 2, file_rename, "OLD NEW"},
    {"renameat2", 4, 5, file_renameat2, "DIR OLD NEWDIR NEW [FLAGS]"},
    {"link", 2, 2, file_link, "OLD NEW"},
    {"linkat", 4, 5, file_linkat, "DIR OLD NEWDIR NEW [FLAGS]"},
    {"symlinkat", 3, 3, file_symlinkat, "TARGET DIR NAME"},
    {"mknodat", 3, 4, file_mknodat, "DIR NAME MODE [DEV]"},
    {"chmod", 2, 2, file_chmod, "PATH MODE"},
    {"fchmod", 2, 2, file_fchmod, "PATH MODE"},
    {"fchmodat", 3, 3, file_fchmodat, "DIR NAME MODE"},
    {"fchmodat2", 4, 4, file_fchmodat2, "DIR NAME MODE FLAGS"},
    {"chown", 3, 3, file_chown, "PATH UID GID"},
    {"fchownat", 4, 5, file_fchownat, "DIR NAME UID GID [FLAGS]"},
    {"utimensat", 2, 3, file_utimensat, "DIR NAME [FLAGS]"},
    {"setxattr", 3, 3, file_setxattr, "PATH NAME VALUE"},
    {"lsetxattr", 3, 3, file_lsetxattr, "PATH NAME VALUE"},
    {"fsetxattr", 3, 3, file_fsetxattr, "PATH NAME VALUE"},
    {"removexattr", 2, 2, file_removexattr, "PATH NAME"},
    {"fremovexattr", 2, 2, file_fremovexattr, "PATH NAME"},
    {"repeat-open", 2, 2, file_repeat_open, "PATH COUNT"},
    {"stat", 1, 1, file_stat, "PATH"},
    {"io-uring-openat", 3, 4, file_io_uring_openat, "DIR NAME FLAGS [MODE]"},
    {"io-uring-unlinkat", 2, 3, file_io_uring_unlinkat, "DIR NAME [FLAGS]"},
    {"io-uring-mkdirat", 3, 3, file_io_uring_mkdirat, "DIR NAME MODE"},
    {"io-uring-renameat", 4, 4, file_io_uring_renameat, "DIR OLD NEWDIR NEW"},
};

static int file_command_run(const struct file_command *command, int argc, char **argv)
{
	char *args[6] = {0};
	long result;

	if (argc < command->args_min || argc > command->args_max) {
		fprintf(stderr, "usage: probe %s %s\n", command->name, command->usage);
		return EXIT_USAGE;
	}
	memcpy(args, argv, (size_t)argc * sizeof(*argv));
	result = command->run(args);
	printf("probe: %s = %ld\n", command->name, result);
	return EXIT_SUCCESS;
}

/*
 * probe run-as UID GID PROGRAM [ARGS...]
 *     Drop every supplementary group, switch to GID and UID, and execv
 *     PROGRAM (ctr 1.6 has no --user option).
 */
static int command_run_as(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	if (setgroups(0, NULL) < 0)
		return fail("setgroups", "[]", -errno);
	if (setgid((gid_t)number_parse(argv[1])) < 0)
		return fail("setgid", argv[1], -errno);
	if (setuid((uid_t)number_parse(argv[0])) < 0)
		return fail("setuid", argv[0], -errno);
	execv(argv[2], argv + 2);
	return fail("execv", argv[2], -errno);
}

int main(int argc, char **argv)
{
	const char *command;

	if (argc < 2)
		return usage();

	command = argv[1];
	argc -= 2;
	argv += 2;

	if (strcmp(command, "memfd-exec") == 0)
		return command_memfd_exec(argc, argv);
	if (strcmp(command, "deleted-exec") == 0)
		return command_deleted_exec(argc, argv);
	if (strcmp(command, "execveat") == 0)
		return command_execveat(argc, argv);
	if (strcmp(command, "execveat-dirfd") == 0)
		return command_execveat_dirfd(argc, argv);
	if (strcmp(command, "exec") == 0)
		return command_exec(argc, argv);
	if (strcmp(command, "deep-exec") == 0)
		return command_deep_exec(argc, argv);
	if (strcmp(command, "true") == 0)
		return EXIT_SUCCESS;
	if (strcmp(command, "run-as") == 0)
		return command_run_as(argc, argv);
	for (size_t i = 0; i < sizeof(file_commands) / sizeof(file_commands[0]); i++)
		if (strcmp(command, file_commands[i].name) == 0)
			return file_command_run(&file_commands[i], argc, argv);

	fprintf(stderr, "probe: unknown command '%s'\n", command);
	return usage();
}
