// SPDX-License-Identifier: GPL-2.0-only
/*
 * intact's BPF object: one object so that every program shares the ring
 * buffer, the counters and the load-time settings. Each feature's programs
 * live in their own header beside this file.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "exec.bpf.h"
#include "file.bpf.h"

char LICENSE[] SEC("license") = "GPL";
