/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Records sent from the BPF programs to intactd through the ring buffer.
 * Both sides include this file: fixed-width types only, no pointers.
 *
 * A record is a fixed header struct followed by a data area. Strings live in
 * the data area and are referenced by struct intact_str (offset from the
 * start of the record, length without the NUL that follows every string).
 */
#ifndef INTACT_EVENTS_H
#define INTACT_EVENTS_H

#ifdef __BPF__
/* vmlinux.h supplies the kernel's __u8 ... __u64. */
#else
#include <linux/types.h>
#endif

/* Record types. Values are never reused. */
enum intact_record_type {
	INTACT_RECORD_EXEC = 1,
	INTACT_RECORD_EXIT = 2,
	INTACT_RECORD_CGROUP_RMDIR = 3,
	INTACT_RECORD_FILE = 4,
};

/* Flags of struct intact_str. */
#define INTACT_STR_TRUNCATED 0x1   /* the source was longer than the space for it */
#define INTACT_STR_UNREACHABLE 0x2 /* the path walk never met the task's root */
#define INTACT_STR_READ_ERROR 0x4  /* a kernel read failed: the string is partial */

struct intact_str {
	__u16 off;   /* from the start of the record */
	__u16 len;   /* bytes, without the NUL */
	__u16 flags; /* INTACT_STR_* */
	__u16 pad;
};

/* Upper bounds, in bytes, of each string; the record never exceeds INTACT_RECORD_MAX. */
#define INTACT_PATH_MAX 4096
#define INTACT_ARGS_MAX 4096
#define INTACT_FILENAME_MAX 1024
#define INTACT_CGROUP_NAME_MAX 256
#define INTACT_RECORD_MAX 32768

struct intact_record_header {
	__u32 type;    /* enum intact_record_type */
	__u32 size;    /* whole record, header and strings */
	__u64 boot_ns; /* bpf_ktime_get_boot_ns() when the record was made */
};

/* The task a record is about; filled in one order by bpf/lib/task.h. */
struct intact_task {
	__u32 pid;    /* host thread group id */
	__u32 tid;    /* host thread id */
	__u32 ppid;   /* host thread group id of the real parent */
	__u32 ns_pid; /* thread group id in the task's own pid namespace */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u64 start_boot_ns; /* group leader's start, boot clock: (pid, start) is unique */
	__u64 parent_start_boot_ns;
	/* The last exec of the process and of its parent, or their start when none was seen. */
	__u64 exec_boot_ns;
	__u64 parent_exec_boot_ns;
	__u64 cgroup_id; /* cgroup v2 id, or the v1 id of the hierarchy chosen at load */
	__u32 mntns_inum;
	__u32 pad;
	char comm[16];
};

/* Exec flags: where the loaded file lives. */
#define INTACT_EXE_UPPER_LAYER 0x1    /* overlayfs file with an upper dentry */
#define INTACT_EXE_WRITABLE_MOUNT 0x2 /* a writable mount other than the container's root */
#define INTACT_EXE_FILELESS 0x4	      /* no name on disk: memfd or unlinked */
#define INTACT_EXE_OVERLAY 0x8	      /* on an overlayfs mount */
#define INTACT_EXE_SCRIPT 0x10	      /* a #! script: interp differs from filename */
#define INTACT_EXE_ROOT_MOUNT 0x20    /* on the mount that is the task's root */

struct intact_exec {
	struct intact_record_header header;
	struct intact_task task;
	__u32 argc;	 /* as the kernel counted it, even when args is truncated */
	__u32 exe_flags; /* INTACT_EXE_* */
	__u64 exe_ino;
	__u32 exe_dev;
	__u32 exe_mnt_id;
	__u32 exe_nlink;
	__u32 exe_fs_magic;
	struct intact_str exe;	    /* the loaded file's path inside the task's root */
	struct intact_str filename; /* the string passed to exec */
	struct intact_str interp;   /* the interpreter string of a #! script */
	struct intact_str args;	    /* argv, NUL-separated, copied after the kernel did */
	struct intact_str cwd;
	struct intact_str parent_exe;
	struct intact_str cgroup_name;	 /* leaf cgroup directory name */
	struct intact_str cgroup_parent; /* its parent's name */
};

struct intact_exit {
	struct intact_record_header header;
	struct intact_task task;
	__s32 exit_code;
	__u32 pad;
};

struct intact_cgroup_rmdir {
	struct intact_record_header header;
	__u64 cgroup_id;
};

/* File operations; values are never reused. */
enum intact_file_op {
	INTACT_FILE_OPEN = 1,
	INTACT_FILE_TRUNCATE,
	INTACT_FILE_RENAME,
	INTACT_FILE_UNLINK,
	INTACT_FILE_RMDIR,
	INTACT_FILE_MKDIR,
	INTACT_FILE_LINK,
	INTACT_FILE_SYMLINK,
	INTACT_FILE_MKNOD,
	INTACT_FILE_CHMOD,
	INTACT_FILE_CHOWN,
	INTACT_FILE_UTIMES,
	INTACT_FILE_SETXATTR,
	INTACT_FILE_REMOVEXATTR,
};

/* Sources of struct intact_file.path, and facts about the file. */
#define INTACT_FILE_PATH_EXACT 0x1  /* from the struct file the operation used or made */
#define INTACT_FILE_PATH_DIR 0x2    /* the directory path_arg is relative to: dirfd, cwd or root */
#define INTACT_FILE_TARGET_DIR 0x4  /* likewise for target_arg */
#define INTACT_FILE_UPPER_LAYER 0x8 /* an exact file that exists on the overlay upper layer */
#define INTACT_FILE_ROOT_MOUNT 0x10 /* the file or directory is on the task's root mount */
#define INTACT_FILE_MOUNT_READONLY 0x20
#define INTACT_FILE_IO_URING 0x40      /* submitted through io_uring: result unknown */
#define INTACT_FILE_LAYER_CHECK 0x80   /* a host task's write, sent only inside a lower layer */
#define INTACT_FILE_LAYER_TAMPER 0x100 /* the file is inside a watched lower layer */

struct intact_file {
	struct intact_record_header header;
	struct intact_task task;
	__u32 op;      /* enum intact_file_op */
	__u32 syscall; /* the syscall number of this architecture, or the io_uring opcode */
	__u32 flags;   /* INTACT_FILE_* */
	__u32 open_flags;
	__u32 mode;
	__u32 uid; /* chown */
	__u32 gid;
	__s32 result; /* 0 or more, or the negative errno */
	__u64 ino;
	__u32 dev;
	__u32 mnt_id;
	__u32 fs_magic;
	__u32 layer_dev; /* with INTACT_FILE_LAYER_TAMPER: the lower layer's directory */
	__u64 layer_ino;
	struct intact_str path;	      /* exact path, or directory (see flags) */
	struct intact_str path_arg;   /* the string the program passed */
	struct intact_str target;     /* directory of the destination of rename and link */
	struct intact_str target_arg; /* destination of rename and link, content of a symlink */
	struct intact_str xattr;      /* attribute name of setxattr and removexattr */
	struct intact_str cgroup_name;
	struct intact_str cgroup_parent;
};

/*
 * A root filesystem path where every policy allows writes: the kernel drops
 * writes through a descriptor below it before they reach user space.
 */
#define INTACT_WRITABLE_PATHS_MAX 16
#define INTACT_WRITABLE_PATH_LEN 64

struct intact_writable_path {
	__u32 len; /* without a trailing '/' */
	char path[INTACT_WRITABLE_PATH_LEN];
};

/* A directory watched for host writes: an image's lower layer. */
struct intact_layer_key {
	__u64 ino;
	__u32 dev; /* the kernel's dev_t: major << 20 | minor */
	__u32 pad;
};

/* Per-CPU counters, indexed by enum intact_counter; user space sums the CPUs. */
enum intact_counter {
	INTACT_COUNTER_RINGBUF_FULL = 0, /* a record lost: the ring buffer had no room */
	INTACT_COUNTER_EXEC_SEEN,
	INTACT_COUNTER_EXEC_FILTERED, /* execs outside watched tasks, never sent */
	INTACT_COUNTER_EXEC_SENT,
	INTACT_COUNTER_SCRATCH_MISSING, /* the per-CPU scratch buffer lookup failed */
	INTACT_COUNTER_READ_ERROR,	/* a bpf_probe_read failed; the record carries a flag */
	INTACT_COUNTER_FILE_SEEN,	/* file syscalls entered by any task */
	INTACT_COUNTER_FILE_FILTERED,	/* not watched, or no write intent: never sent */
	INTACT_COUNTER_FILE_SENT,
	INTACT_COUNTER_PENDING_FULL, /* a syscall's arguments found no room until its exit */
	INTACT_COUNTER_FILE_ALLOWED, /* writes every policy allows, dropped in the kernel */
	INTACT_COUNTER_MAX,
};

#endif
