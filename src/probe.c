// SPDX-License-Identifier: Apache-2.0
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "intact.skel.h"
#include "intact/events.h"
#include "log.h"
#include "config.h"
#include "probe.h"

#define BTF_VMLINUX "/sys/kernel/btf/vmlinux"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	enum log_level ours = level == LIBBPF_WARN ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG;
	char *text, *line, *save = NULL;

	if (ours > log_max_level)
		return 0;
	/* The verifier log arrives as one message of many lines. */
	if (vasprintf(&text, fmt, args) < 0)
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_msg(ours, "%s", line);
	free(text);
	return 0;
}

static int mount_if_absent(const char *target, const char *type, long magic)
{
	struct statfs st;

	if (statfs(target, &st) == 0 && st.f_type == magic)
		return 0;
	if (mount(type, target, type, 0, NULL) < 0) {
		int r = -errno;

		log_error("failed to mount %s on %s: %s", type, target, strerror(-r));
		return r;
	}
	log_info("mounted %s on %s", type, target);
	return 0;
}

/*
 * Pick the cgroup hierarchy whose ids identify containers. On v2 and on
 * hybrid hosts, runc also places every container in the unified hierarchy
 * (measured with runc 1.1.5), so its ids serve. A pure v1 host needs a v1
 * controller, whose index in /proc/cgroups is its subsystem id.
 */
static int cgroup_mode_detect(struct probe_host *host)
{
	const char *wanted[] = {"pids", "memory", "cpu"};
	char line[256], name[32];
	struct statfs st;
	FILE *f;

	host->cgroup_v1_subsys = -1;
	host->cgroup_v1_controller[0] = '\0';
	host->cgroup_v2_mount[0] = '\0';
	if (statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(host->cgroup_v2_mount, sizeof(host->cgroup_v2_mount), "/sys/fs/cgroup");
		return 0;
	}
	if (statfs("/sys/fs/cgroup/unified", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(host->cgroup_v2_mount, sizeof(host->cgroup_v2_mount),
			 "/sys/fs/cgroup/unified");
		return 0;
	}

	f = fopen("/proc/cgroups", "re");
	if (!f)
		return -errno;
	for (size_t w = 0; w < sizeof(wanted) / sizeof(wanted[0]) && host->cgroup_v1_subsys < 0;
	     w++) {
		int index = 0;

		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			if (line[0] == '#')
				continue;
			if (sscanf(line, "%31s", name) == 1 && strcmp(name, wanted[w]) == 0) {
				host->cgroup_v1_subsys = index;
				snprintf(host->cgroup_v1_controller,
					 sizeof(host->cgroup_v1_controller), "%s", name);
				break;
			}
			index++;
		}
	}
	fclose(f);
	if (host->cgroup_v1_subsys < 0) {
		log_error("no cgroup v2 hierarchy and no v1 pids, memory or cpu controller found");
		return -ENOENT;
	}
	log_info("cgroup v1 only: identifying containers by the %s controller",
		 host->cgroup_v1_controller);
	return 0;
}

int probe_host_prepare(struct probe_host *ret)
{
	struct stat st;
	int r;

	if (access(BTF_VMLINUX, R_OK) < 0) {
		r = -errno;
		log_error("kernel BTF not found at %s (%s): intactd needs a kernel built with "
			  "CONFIG_DEBUG_INFO_BTF=y",
			  BTF_VMLINUX, strerror(-r));
		return r;
	}
	/* tracefs gives libbpf the ids of tracepoints; bpffs is where programs may be pinned. */
	r = mount_if_absent("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC);
	if (r < 0)
		return r;
	r = mount_if_absent("/sys/fs/bpf", "bpf", BPF_FS_MAGIC);
	if (r < 0)
		return r;

	/*
	 * The host's mount namespace is init's. Where init cannot be inspected
	 * (a sandbox without CAP_SYS_PTRACE over pid 1), intactd's own is taken,
	 * which is right when it runs on the host and not in a container.
	 */
	if (stat("/proc/1/ns/mnt", &st) < 0) {
		r = -errno;
		if (stat("/proc/self/ns/mnt", &st) < 0) {
			r = -errno;
			log_error("failed to read the host mount namespace: %s", strerror(-r));
			return r;
		}
		log_info("cannot read /proc/1/ns/mnt (%s): taking intactd's own mount namespace "
			 "as the host's",
			 strerror(-r));
	}
	ret->host_mntns_inum = (uint32_t)st.st_ino;
	return cgroup_mode_detect(ret);
}

/*
 * Switch off the programs whose hook this kernel lacks: syscall tracepoints
 * not in tracefs (fchmodat2 came in 6.6, setxattrat and removexattrat in
 * 6.13), and BTF tracepoints not in the kernel's BTF (io_uring's when it is
 * not built in). sched_process_exec and its like are always there.
 */
static void programs_select(struct intact_bpf *skel)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *section = bpf_program__section_name(prog);
		char name[256];
		bool present;

		if (strncmp(section, "tp/", 3) == 0) {
			snprintf(name, sizeof(name), "/sys/kernel/tracing/events/%s", section + 3);
			present = access(name, F_OK) == 0;
		} else if (strncmp(section, "tp_btf/", 7) == 0) {
			snprintf(name, sizeof(name), "btf_trace_%s", section + 7);
			present = !vmlinux ||
				  btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
		} else {
			continue;
		}
		if (present)
			continue;
		bpf_program__set_autoload(prog, false);
		if (!strstr(section, "sys_exit_"))
			log_info("%s is not in this kernel: %s is not watched", section,
				 bpf_program__name(prog));
	}
	btf__free(vmlinux);
}

int probe_load(const struct probe_options *opts, const struct probe_host *host,
	       struct intact_bpf **ret_skel)
{
	struct intact_bpf *skel;
	int r;

	libbpf_set_print(libbpf_print);
	skel = intact_bpf__open();
	if (!skel) {
		r = -errno;
		log_error("failed to open the BPF object: %s", strerror(-r));
		return r;
	}
	skel->rodata->watch_host = opts->watch_host;
	skel->rodata->host_mntns_inum = host->host_mntns_inum;
	skel->rodata->cgroup_v1_subsys = host->cgroup_v1_subsys;
	r = bpf_map__set_max_entries(skel->maps.events, opts->ringbuf_bytes);
	if (r < 0) {
		log_error("invalid ring buffer size %u: %s", opts->ringbuf_bytes, strerror(-r));
		goto fail;
	}

	programs_select(skel);
	r = bpf_map__set_max_entries(skel->maps.record_scratch, libbpf_num_possible_cpus());
	if (r < 0) {
		log_error("failed to size the record buffers: %s", strerror(-r));
		goto fail;
	}

	r = intact_bpf__load(skel);
	if (r < 0) {
		log_error("failed to load the BPF programs: %s%s", strerror(-r),
			  r == -EPERM ? " (intactd needs root, or CAP_BPF, CAP_PERFMON and "
					"CAP_SYS_RESOURCE)"
				      : "");
		goto fail;
	}
	r = intact_bpf__attach(skel);
	if (r < 0) {
		log_error("failed to attach the BPF programs: %s", strerror(-r));
		goto fail;
	}
	*ret_skel = skel;
	return 0;

fail:
	intact_bpf__destroy(skel);
	return r;
}

/*
 * NOTE: detaching takes about 5 s with some ninety programs (measured on
 * 6.18 with 2 CPUs). The kernel releases each syscall tracepoint under one
 * mutex and waits for an RCU grace period every time, so closing the links
 * from several threads did not help when measured.
 */
void probe_unload(struct intact_bpf *skel)
{
	intact_bpf__destroy(skel);
}

static bool writable_in(const struct write_policy *w, const char *path)
{
	for (size_t i = 0; i < w->writable_count; i++)
		if (strcmp(w->writable[i], path) == 0)
			return true;
	return false;
}

int probe_policy_set(struct intact_bpf *skel, const struct config *cfg)
{
	const struct write_policy *base = &cfg->policy.write;
	bool mounts_watched = cfg->policy.watched_mounts_count > 0;
	uint32_t count = 0;

	for (size_t i = 0; i < cfg->overrides_count; i++)
		if (cfg->overrides[i].policy.watched_mounts_count > 0)
			mounts_watched = true;

	/* Only the paths every policy allows, since the kernel cannot tell images apart. */
	for (size_t i = 0; i < base->writable_count && count < INTACT_WRITABLE_PATHS_MAX; i++) {
		struct intact_writable_path w = {};
		const char *path = base->writable[i];
		bool everywhere = true;
		size_t len = strlen(path);
		int r;

		for (size_t j = 0; j < cfg->overrides_count; j++)
			if (!writable_in(&cfg->overrides[j].policy.write, path))
				everywhere = false;
		while (len > 1 && path[len - 1] == '/')
			len--;
		if (!everywhere || len >= INTACT_WRITABLE_PATH_LEN)
			continue;
		memcpy(w.path, path, len);
		w.len = (uint32_t)len;
		r = bpf_map__update_elem(skel->maps.writable_paths, &count, sizeof(count), &w,
					 sizeof(w), BPF_ANY);
		if (r < 0) {
			log_error("failed to give the kernel the writable path %s: %s", path,
				  strerror(-r));
			return r;
		}
		count++;
	}
	skel->bss->writable_count = count;
	skel->bss->mounts_watched = mounts_watched;
	return 0;
}

uint64_t probe_counter_read(struct intact_bpf *skel, unsigned int counter)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;
	uint64_t *values;

	if (ncpu <= 0)
		return 0;
	values = calloc(ncpu, sizeof(*values));
	if (!values)
		return 0;
	if (bpf_map__lookup_elem(skel->maps.counters, &counter, sizeof(counter), values,
				 sizeof(*values) * ncpu, 0) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += values[i];
	free(values);
	return sum;
}
