/*
 * test_elf_deps.c - the shared-library closure read from ELF headers: the
 * hello appliance's daemon needs libprotobuf-c, libc and the interpreter; a
 * static program and a script need nothing; a malformed ELF file is refused
 * rather than read out of bounds.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "elfdeps.h"

static char hello[4096];

static const struct elf_lib *find(const struct elf_closure *c, const char *image_path)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->libs[i].image_path, image_path))
			return &c->libs[i];
	return NULL;
}

static const struct elf_lib *find_base(const struct elf_closure *c, const char *prefix)
{
	for (size_t i = 0; i < c->n; i++) {
		const char *base = strrchr(c->libs[i].image_path, '/');

		if (base && !strncmp(base + 1, prefix, strlen(prefix)))
			return &c->libs[i];
	}
	return NULL;
}

static void hello_server(void **state)
{
	const char *progs[] = { hello };
	struct elf_closure c;
	struct elf_info info;
	const struct elf_lib *ld, *libc, *pbc;
	char err[512] = "";

	if (access(hello, R_OK)) {
		skip(); /* make builds it before the tests; a partial build may not */
		return;
	}
	assert_int_equal(elf_read_info(hello, &info), 0);
	assert_true(info.is_elf);
	assert_string_equal(info.interp, "/lib64/ld-linux-x86-64.so.2");
	assert_true(info.n_needed >= 2);
	elf_info_free(&info);

	assert_int_equal(elf_closure(progs, 1, NULL, &c, err, sizeof(err)), 0);
	ld = find(&c, "/lib64/ld-linux-x86-64.so.2");
	libc = find(&c, "/lib/x86_64-linux-gnu/libc.so.6");
	pbc = find_base(&c, "libprotobuf-c.so.");
	assert_non_null(ld);
	assert_non_null(libc);
	assert_non_null(pbc);
	/* Host paths are the real files, never symlinks ("libc.so.6" is one on
	 * some systems, the interpreter under /lib64 is one on Debian). */
	for (size_t i = 0; i < c.n; i++) {
		char *real = realpath(c.libs[i].host_path, NULL);

		assert_non_null(real);
		assert_string_equal(real, c.libs[i].host_path);
		free(real);
		if (i)
			assert_true(strcmp(c.libs[i - 1].image_path, c.libs[i].image_path) < 0);
	}
	/* libc needs the interpreter by its soname; both names have one file. */
	{
		const struct elf_lib *ld2 = find(&c, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");

		if (ld2)
			assert_string_equal(ld2->host_path, ld->host_path);
	}
	elf_closure_free(&c);
}

static void static_and_script(void **state)
{
	const char *progs[] = { "/bin/busybox", "/bin/sh" };
	const char *script[] = { "/etc/passwd" };
	struct elf_closure c;
	struct elf_info info;
	char err[512] = "";

	if (access("/bin/busybox", R_OK)) {
		skip();
		return;
	}
	/* busybox-static: an ELF file with no interpreter and no DT_NEEDED. */
	assert_int_equal(elf_read_info("/bin/busybox", &info), 0);
	assert_true(info.is_elf);
	assert_null(info.interp);
	assert_int_equal(info.n_needed, 0);
	elf_info_free(&info);
	assert_int_equal(elf_closure(script, 1, NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 0);
	elf_closure_free(&c);
	/* /bin/sh (dash) is dynamic: libc comes in once, for both. */
	assert_int_equal(elf_closure(progs, 2, NULL, &c, err, sizeof(err)), 0);
	assert_non_null(find(&c, "/lib/x86_64-linux-gnu/libc.so.6"));
	elf_closure_free(&c);
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/* A crafted file: ELF header, one PT_LOAD, one PT_DYNAMIC, a string table. */
struct fake {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	Elf64_Dyn dyn[4];
	char str[64];
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eh.e_ident, ELFMAG, SELFMAG);
	f->eh.e_ident[EI_CLASS] = ELFCLASS64;
	f->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh.e_ident[EI_VERSION] = EV_CURRENT;
	f->eh.e_type = ET_DYN;
	f->eh.e_machine = EM_X86_64;
	f->eh.e_phoff = offsetof(struct fake, ph);
	f->eh.e_phentsize = sizeof(Elf64_Phdr);
	f->eh.e_phnum = 2;
	f->ph[0].p_type = PT_LOAD;
	f->ph[0].p_offset = 0;
	f->ph[0].p_vaddr = 0x1000;
	f->ph[0].p_filesz = sizeof(*f);
	f->ph[1].p_type = PT_DYNAMIC;
	f->ph[1].p_offset = offsetof(struct fake, dyn);
	f->ph[1].p_filesz = sizeof(f->dyn);
	memcpy(f->str, "\0libnope-test.so.9\0", 20);
	f->dyn[0].d_tag = DT_STRTAB;
	f->dyn[0].d_un.d_ptr = 0x1000 + offsetof(struct fake, str);
	f->dyn[1].d_tag = DT_STRSZ;
	f->dyn[1].d_un.d_val = sizeof(f->str);
	f->dyn[2].d_tag = DT_NEEDED;
	f->dyn[2].d_un.d_val = 1;
	f->dyn[3].d_tag = DT_NULL;
}

/* One hostile ELF after another, each a few lines: a list, kept together. */
static void crafted(void **state)
{
	char path[] = "/tmp/test_elf_deps.XXXXXX";
	const char *progs[] = { path };
	struct elf_closure c;
	struct elf_info info;
	struct fake f;
	char err[512] = "";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);

	fake_init(&f);
	write_file(path, &f, sizeof(f));
	assert_int_equal(elf_read_info(path, &info), 0);
	assert_int_equal(info.n_needed, 1);
	assert_string_equal(info.needed[0], "libnope-test.so.9");
	elf_info_free(&info);
	/* Not found anywhere: an error that names it. */
	assert_int_equal(elf_closure(progs, 1, NULL, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "libnope-test.so.9"));
	/* Found through DT_RUNPATH, before the default path: libc from
	 * /usr/lib/x86_64-linux-gnu, which comes after /lib/... by default. */
	memcpy(f.str, "\0libc.so.6\0/nonexistent:/usr/lib/x86_64-linux-gnu\0", 50);
	f.dyn[3].d_tag = DT_RUNPATH;
	f.dyn[3].d_un.d_val = 11;
	write_file(path, &f, sizeof(f));
	assert_int_equal(elf_read_info(path, &info), 0);
	assert_string_equal(info.runpath, "/nonexistent:/usr/lib/x86_64-linux-gnu");
	elf_info_free(&info);
	assert_int_equal(elf_closure(progs, 1, NULL, &c, err, sizeof(err)), 0);
	assert_non_null(find(&c, "/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_null(find(&c, "/lib/x86_64-linux-gnu/libc.so.6"));
	/* libc's own DT_NEEDED (the interpreter) came in too. */
	assert_non_null(find(&c, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
	elf_closure_free(&c);

	/* Program headers past the end of the file. */
	fake_init(&f);
	f.eh.e_phoff = 1 << 20;
	write_file(path, &f, sizeof(f));
	assert_int_equal(elf_read_info(path, &info), -ENOEXEC);
	/* A DT_NEEDED offset past the string table. */
	fake_init(&f);
	f.dyn[2].d_un.d_val = 4096;
	write_file(path, &f, sizeof(f));
	assert_int_equal(elf_read_info(path, &info), -ENOEXEC);
	/* A string table with no NUL before its end. */
	fake_init(&f);
	memset(f.str, 'x', sizeof(f.str));
	f.dyn[2].d_un.d_val = 1;
	write_file(path, &f, sizeof(f));
	assert_int_equal(elf_read_info(path, &info), -ENOEXEC);
	/* DT_STRTAB pointing outside every PT_LOAD. */
	fake_init(&f);
	f.dyn[0].d_un.d_ptr = 0x900000;
	write_file(path, &f, sizeof(f));
	assert_int_equal(elf_read_info(path, &info), -ENOEXEC);
	/* Truncated to the ELF header: no program headers to read. */
	fake_init(&f);
	write_file(path, &f, sizeof(f.eh));
	assert_int_equal(elf_read_info(path, &info), -ENOEXEC);
	/* Another machine: not ours, no libraries (as for a script). */
	fake_init(&f);
	f.eh.e_machine = EM_AARCH64;
	write_file(path, &f, sizeof(f));
	assert_int_equal(elf_read_info(path, &info), 0);
	assert_false(info.is_elf);
	unlink(path);
}

int main(void)
{
	const char *build = getenv("BUILD");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hello_server),
		cmocka_unit_test(static_and_script),
		cmocka_unit_test(crafted),
	};

	snprintf(hello, sizeof(hello), "%s/bin/hello-server", build ? build : "build");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
