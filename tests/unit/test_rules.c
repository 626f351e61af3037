// SPDX-License-Identifier: Apache-2.0
#include "rules.h"
#include "test.h"

/* Args as the kernel lays them out: each entry ends with a NUL. */
#define ARGS(literal) literal, sizeof(literal) - 1

struct exec_case {
	const char *exe;
	const char *args;
	size_t args_len;
	const char *shell; /* NULL: not a shell */
};

static void check_exec(const struct exec_case *c)
{
	const char *name = "unset";
	bool shell = exec_is_shell(shell_list_default(), c->exe, c->args, c->args_len, &name);

	if (shell != (c->shell != NULL))
		fprintf(stderr, "  exe \"%s\"\n", c->exe ? c->exe : "(null)");
	CHECK_INT_EQ(shell, c->shell != NULL);
	if (c->shell)
		CHECK_STR_EQ(name, c->shell);
	else
		CHECK(name == NULL);
}

TEST(shell_by_loaded_file)
{
	static const struct exec_case cases[] = {
	    {"/bin/bash", ARGS("bash\0"), "bash"},
	    {"/usr/bin/bash", ARGS("/usr/bin/bash\0-c\0id\0"), "bash"},
	    {"/bin/sh", ARGS("sh\0"), "sh"},
	    {"/usr/bin/zsh", ARGS("zsh\0"), "zsh"},
	    {"/bin/ash", ARGS("ash\0"), "ash"},
	    {"/usr/bin/fish", ARGS("fish\0"), "fish"},
	    {"/bin/ksh", ARGS("ksh\0"), "ksh"},
	    {"/bin/mksh", ARGS("mksh\0"), "mksh"},
	    {"/bin/csh", ARGS("csh\0"), "csh"},
	    {"/bin/tcsh", ARGS("tcsh\0"), "tcsh"},
	    /* A renamed link run through execveat: the loaded file decides. */
	    {"/usr/bin/dash", ARGS("notashell\0"), "dash"},
	    {"/bin/bash", ARGS("-bash\0"), "bash"},
	    /* argc 0 */
	    {"/bin/bash", NULL, 0, "bash"},
	    {"/bin/bash", "", 0, "bash"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_exec(&cases[i]);
}

TEST(non_shells)
{
	static const struct exec_case cases[] = {
	    {"/bin/ls", ARGS("ls\0"), NULL},
	    /* argv[0] matters only for multi-call binaries. */
	    {"/usr/bin/python3", ARGS("sh\0"), NULL},
	    {"/bin/bash5.2", ARGS("bash\0"), NULL},
	    {"/usr/bin/shred", ARGS("sh\0"), NULL},
	    {"/usr/bin/bashbug", ARGS("bashbug\0"), NULL},
	    {"/", ARGS("sh\0"), NULL},
	    {"", ARGS("sh\0"), NULL},
	    {NULL, ARGS("sh\0"), NULL},
	    {"/bin/", ARGS("sh\0"), NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_exec(&cases[i]);
}

TEST(busybox_applets)
{
	static const struct exec_case cases[] = {
	    {"/bin/busybox", ARGS("sh\0"), "sh"},
	    {"/bin/busybox", ARGS("/bin/ash\0"), "ash"},
	    {"/bin/busybox", ARGS("busybox\0sh\0"), "sh"},
	    {"/bin/busybox", ARGS("busybox\0sh\0-c\0id\0"), "sh"},
	    {"/bin/busybox", ARGS("/bin/busybox\0/bin/sh\0"), "sh"},
	    {"/bin/busybox", ARGS("ls\0"), NULL},
	    {"/bin/busybox", ARGS("busybox\0ls\0sh\0"), NULL},
	    {"/bin/busybox", ARGS("busybox\0"), NULL},
	    /* A login shell: login(1) prefixes argv[0] with '-'. */
	    {"/bin/busybox", ARGS("-sh\0"), "sh"},
	    {"/bin/busybox", ARGS("-/bin/ash\0"), "ash"},
	    {"/bin/busybox", ARGS("-\0"), NULL},
	    {"/bin/busybox", ARGS("\0"), NULL},
	    /* argc 0 */
	    {"/bin/busybox", NULL, 0, NULL},
	    {"/bin/busybox", "", 0, NULL},
	    {"/usr/bin/toybox", ARGS("sh\0"), "sh"},
	    {"/usr/bin/toybox", ARGS("toybox\0sh\0"), "sh"},
	    {"/usr/bin/toybox", ARGS("cat\0"), NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_exec(&cases[i]);
}

TEST(busybox_args_bounds)
{
	/* The last entry may end at args_len without its NUL. */
	static const struct exec_case cases[] = {
	    {"/bin/busybox", "sh", 2, "sh"},
	    {"/bin/busybox", "busybox\0sh", 10, "sh"},
	    /* args_len, not the NUL, ends the data: "shred" cut to "sh". */
	    {"/bin/busybox", "shred", 2, "sh"},
	    {"/bin/busybox", "busybox\0sh", 8, NULL},
	    {"/bin/busybox", "busybox", 7, NULL},
	};
	static char long_path[4096];
	struct exec_case long_case = {"/bin/busybox", long_path, 0, "sh"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_exec(&cases[i]);

	/* A long argv[0] path still has its basename read. */
	for (size_t i = 0; i < sizeof(long_path) - 4; i += 2)
		memcpy(long_path + i, "/a", 2);
	memcpy(long_path + sizeof(long_path) - 4, "/sh", 4);
	long_case.args_len = sizeof(long_path);
	check_exec(&long_case);
}

TEST(custom_shell_list)
{
	char *names[] = {"rbash", "sh"};
	struct shell_list list = {names, 2};
	const char *name = NULL;

	CHECK(exec_is_shell(&list, "/usr/bin/rbash", ARGS("rbash\0"), &name));
	CHECK_STR_EQ(name, "rbash");
	CHECK(!exec_is_shell(&list, "/bin/bash", ARGS("bash\0"), &name));
	CHECK(name == NULL);
	CHECK(exec_is_shell(&list, "/bin/busybox", ARGS("sh\0"), NULL));

	struct shell_list empty = {NULL, 0};
	struct shell_list no_names = {NULL, 3};

	CHECK(!exec_is_shell(&empty, "/bin/sh", ARGS("sh\0"), &name));
	CHECK(!exec_is_shell(&no_names, "/bin/sh", ARGS("sh\0"), &name));
	/* A NULL list means the built-in one. */
	CHECK(exec_is_shell(NULL, "/bin/sh", ARGS("sh\0"), &name));
}

TEST(default_shell_list_contents)
{
	static const char *const expected[] = {
	    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish",
	};
	const struct shell_list *list = shell_list_default();

	CHECK_INT_EQ(list->count, sizeof(expected) / sizeof(expected[0]));
	for (size_t i = 0; i < list->count && i < sizeof(expected) / sizeof(expected[0]); i++)
		CHECK_STR_EQ(list->names[i], expected[i]);
}

TEST(multicall_binary_names)
{
	CHECK(multicall_binary_is("busybox"));
	CHECK(multicall_binary_is("toybox"));
	CHECK(!multicall_binary_is("bash"));
	CHECK(!multicall_binary_is("busybox2"));
	CHECK(!multicall_binary_is("busy"));
	CHECK(!multicall_binary_is(""));
	CHECK(!multicall_binary_is(NULL));
}

TEST(path_basename_cases)
{
	CHECK_STR_EQ(path_basename("/bin/bash"), "bash");
	CHECK_STR_EQ(path_basename("bash"), "bash");
	CHECK_STR_EQ(path_basename("/"), "");
	CHECK_STR_EQ(path_basename(""), "");
	CHECK_STR_EQ(path_basename("/usr/bin/"), "");
	CHECK_STR_EQ(path_basename("//x"), "x");
	CHECK_STR_EQ(path_basename(NULL), "");
}
