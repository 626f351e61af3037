/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attach floor.bpf.c's counting programs, print "floor: ready" on stderr
 * and wait for SIGINT or SIGTERM. Then print the number of hits on stdout
 * and detach. Hooks this kernel lacks are skipped, as intactd skips them.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

static volatile sig_atomic_t stopping;

static void stop_handle(int sig)
{
	stopping = 1;
}

static bool hook_present(const char *section, const struct btf *vmlinux)
{
	char name[256];

	if (strncmp(section, "tp/", 3) == 0) {
		snprintf(name, sizeof(name), "/sys/kernel/tracing/events/%s", section + 3);
		return access(name, F_OK) == 0;
	}
	if (strncmp(section, "tp_btf/", 7) == 0) {
		snprintf(name, sizeof(name), "btf_trace_%s", section + 7);
		return !vmlinux || btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
	}
	return true;
}

static unsigned long long hits_sum(struct floor_bpf *skel)
{
	int n_cpus = libbpf_num_possible_cpus();
	unsigned long long total = 0;
	unsigned long long *values;
	__u32 key = 0;

	if (n_cpus <= 0)
		return 0;
	values = calloc(n_cpus, sizeof(*values));
	if (!values)
		return 0;
	if (bpf_map__lookup_elem(skel->maps.hits, &key, sizeof(key), values,
				 n_cpus * sizeof(*values), 0) == 0)
		for (int i = 0; i < n_cpus; i++)
			total += values[i];
	free(values);
	return total;
}

int main(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;
	struct floor_bpf *skel;
	unsigned attached = 0;
	int r;

	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: failed to open the BPF object: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		if (!hook_present(bpf_program__section_name(prog), vmlinux))
			bpf_program__set_autoload(prog, false);
		else
			attached++;
	}
	btf__free(vmlinux);

	r = floor_bpf__load(skel);
	if (r == 0)
		r = floor_bpf__attach(skel);
	if (r < 0) {
		fprintf(stderr, "floor: failed to load or attach the BPF programs: %s\n",
			strerror(-r));
		floor_bpf__destroy(skel);
		return EXIT_FAILURE;
	}

	signal(SIGINT, stop_handle);
	signal(SIGTERM, stop_handle);
	fprintf(stderr, "floor: ready: %u programs attached\n", attached);
	while (!stopping)
		pause();

	printf("hits=%llu\n", hits_sum(skel));
	floor_bpf__destroy(skel);
	return EXIT_SUCCESS;
}
