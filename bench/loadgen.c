/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark's load generator. It runs inside the test containers, which
 * have no libc, so it is linked statically. Each mode repeats one operation
 * and prints one result line of "key=value" pairs on stdout:
 *
 *   loadgen openw PATH SECONDS      open(O_WRONLY|O_CREAT) and close
 *   loadgen openr PATH SECONDS      open(O_RDONLY) and close
 *   loadgen getppid SECONDS         getppid()
 *   loadgen forkexec BIN SECONDS    fork, execve BIN with the argument "nop", wait
 *   loadgen nop                     exit at once (the program forkexec runs)
 *   loadgen pause                   wait for a signal (an idle container)
 *   loadgen rate PATH RATE SECONDS  openw paced at RATE operations per second
 *   loadgen latency DIR RATE SECONDS
 *           create DIR/lat-SEC.NSEC, named after CLOCK_REALTIME just before
 *           the open, at RATE files per second
 *
 * The timed modes print ops (operations done), ns (elapsed CLOCK_MONOTONIC
 * time) and ns_per_op.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Operations between two reads of the clock in the unpaced modes. */
#define BATCH 256
#define NSEC_PER_SEC UINT64_C(1000000000)
/* Paced modes sleep only when this far ahead, then issue the due operations in a burst. */
#define PACE_SLEEP_MIN_NS 200000

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static double seconds_parse(const char *text)
{
	char *end;
	double s = strtod(text, &end);

	if (*end || s <= 0) {
		fprintf(stderr, "loadgen: invalid duration '%s': expected seconds > 0\n", text);
		exit(2);
	}
	return s;
}

static void result_print(const char *mode, uint64_t ops, uint64_t ns, uint64_t errors)
{
	printf("mode=%s ops=%" PRIu64 " ns=%" PRIu64 " ns_per_op=%.1f errors=%" PRIu64 "\n", mode,
	       ops, ns, ops ? (double)ns / (double)ops : 0.0, errors);
}

static int op_open(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int op_forkexec(const char *self)
{
	char *const argv[] = {(char *)self, "nop", NULL};
	char *const envp[] = {NULL};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execve(self, argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

enum mode { MODE_OPENW, MODE_OPENR, MODE_GETPPID, MODE_FORKEXEC };

static int op_run(enum mode mode, const char *arg)
{
	switch (mode) {
	case MODE_OPENW:
		return op_open(arg, O_WRONLY | O_CREAT | O_CLOEXEC);
	case MODE_OPENR:
		return op_open(arg, O_RDONLY | O_CLOEXEC);
	case MODE_GETPPID:
		(void)getppid();
		return 0;
	case MODE_FORKEXEC:
		return op_forkexec(arg);
	}
	return -EINVAL;
}

/* Repeat one operation for the given time, as fast as it goes. */
static int timed_run(const char *name, enum mode mode, const char *arg, double seconds)
{
	uint64_t start = clock_ns(CLOCK_MONOTONIC);
	uint64_t deadline = start + (uint64_t)(seconds * NSEC_PER_SEC);
	uint64_t now = start, ops = 0, errors = 0;
	/* fork and exec take about a millisecond: read the clock after each. */
	unsigned batch = mode == MODE_FORKEXEC ? 1 : BATCH;

	while (now < deadline) {
		for (unsigned i = 0; i < batch; i++)
			if (op_run(mode, arg) < 0)
				errors++;
		ops += batch;
		now = clock_ns(CLOCK_MONOTONIC);
	}
	result_print(name, ops, now - start, errors);
	return errors ? 1 : 0;
}

/*
 * Issue operations at a fixed rate: before each one, wait until its
 * scheduled time, and when behind, catch up without sleeping. The achieved
 * rate shows when the target was out of reach.
 */
static int paced_run(const char *name, const char *path, double rate, double seconds,
		     int (*op)(const char *))
{
	uint64_t start = clock_ns(CLOCK_MONOTONIC);
	uint64_t total = (uint64_t)(rate * seconds);
	uint64_t ops = 0, errors = 0, now = start;

	/* The default timer slack (50 us) would make every short sleep late. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (ops = 0; ops < total; ops++) {
		uint64_t due = start + (uint64_t)((double)ops * NSEC_PER_SEC / rate);

		now = clock_ns(CLOCK_MONOTONIC);
		if (due > now + PACE_SLEEP_MIN_NS) {
			struct timespec ts = {.tv_sec = due / NSEC_PER_SEC,
					      .tv_nsec = due % NSEC_PER_SEC};

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		if (op(path) < 0)
			errors++;
	}
	now = clock_ns(CLOCK_MONOTONIC);
	result_print(name, ops, now - start, errors);
	printf("rate_achieved=%.0f\n", (double)ops * NSEC_PER_SEC / (double)(now - start));
	return errors ? 1 : 0;
}

static int op_write_open(const char *path)
{
	return op_open(path, O_WRONLY | O_CREAT | O_CLOEXEC);
}

/* Create a new file whose name is the CLOCK_REALTIME time just before its open. */
static int op_latency_file(const char *dir)
{
	char path[256];
	uint64_t t = clock_ns(CLOCK_REALTIME);

	snprintf(path, sizeof(path), "%s/lat-%" PRIu64 ".%09" PRIu64, dir, t / NSEC_PER_SEC,
		 t % NSEC_PER_SEC);
	return op_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC);
}

static double rate_parse(const char *text)
{
	char *end;
	double rate = strtod(text, &end);

	if (*end || rate <= 0) {
		fprintf(stderr, "loadgen: invalid rate '%s': expected operations per second > 0\n",
			text);
		exit(2);
	}
	return rate;
}

static int usage(void)
{
	fprintf(stderr, "usage: loadgen openw|openr PATH SECONDS\n"
			"       loadgen getppid SECONDS\n"
			"       loadgen forkexec BIN SECONDS\n"
			"       loadgen rate PATH RATE SECONDS\n"
			"       loadgen latency DIR RATE SECONDS\n"
			"       loadgen nop|pause\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "nop") == 0)
		return 0;
	if (strcmp(mode, "pause") == 0) {
		pause();
		return 0;
	}
	if (strcmp(mode, "openw") == 0 && argc == 4)
		return timed_run(mode, MODE_OPENW, argv[2], seconds_parse(argv[3]));
	if (strcmp(mode, "openr") == 0 && argc == 4)
		return timed_run(mode, MODE_OPENR, argv[2], seconds_parse(argv[3]));
	if (strcmp(mode, "getppid") == 0 && argc == 3)
		return timed_run(mode, MODE_GETPPID, NULL, seconds_parse(argv[2]));
	if (strcmp(mode, "forkexec") == 0 && argc == 4)
		return timed_run(mode, MODE_FORKEXEC, argv[2], seconds_parse(argv[3]));
	if (strcmp(mode, "rate") == 0 && argc == 5)
		return paced_run(mode, argv[2], rate_parse(argv[3]), seconds_parse(argv[4]),
				 op_write_open);
	if (strcmp(mode, "latency") == 0 && argc == 5)
		return paced_run(mode, argv[2], rate_parse(argv[3]), seconds_parse(argv[4]),
				 op_latency_file);
	return usage();
}
