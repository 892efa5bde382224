/*
 * elfdeps.h - the shared-library closure of programs, read from their ELF
 * headers (PT_INTERP, DT_NEEDED, DT_RUNPATH/DT_RPATH) the way ld.so would
 * resolve them, without running anything: ldd runs the program's own
 * interpreter, which a build must not do with a file it is packaging.
 *
 * Only x86-64 ELF64 is read; a file that is not ELF (a script) has no
 * libraries. Search order per ld.so(8), minus the environment and
 * ld.so.cache: DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH, then
 * ELFDEPS_DEFAULT_PATH. A candidate of another class or machine is skipped,
 * as ld.so does.
 */
#ifndef VAPP_BUILDER_ELFDEPS_H
#define VAPP_BUILDER_ELFDEPS_H

#include <stddef.h>

#define ELFDEPS_DEFAULT_PATH "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib"

struct elf_info {
	int is_elf;       /* 0: not an ELF64 x86-64 file, nothing else is set */
	char *interp;     /* PT_INTERP, or NULL (static) */
	char **needed;    /* DT_NEEDED in file order */
	size_t n_needed;
	char *rpath;      /* DT_RPATH, NULL if none */
	char *runpath;    /* DT_RUNPATH, NULL if none */
};

/** Reads @p path's headers. @return 0 (also for a non-ELF file: is_elf 0),
 * -ENOEXEC for a malformed ELF file (offsets outside it), -errno. */
int elf_read_info(const char *path, struct elf_info *info);
void elf_info_free(struct elf_info *info);

struct elf_lib {
	char *image_path; /* where the program will look for it in the image */
	char *host_path;  /* the file on this host (symlinks resolved) */
};

struct elf_closure {
	struct elf_lib *libs; /* sorted by image_path, interpreters included */
	size_t n;
};

/**
 * The libraries @p n programs need, transitively. The image path of a
 * library is where the loader will find it (the search folder it was found
 * in), so a library reached by two names (/lib64/ld-linux-x86-64.so.2 and
 * /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2) appears twice, with one
 * host_path: the caller may link one to the other.
 * @param search NULL: ELFDEPS_DEFAULT_PATH (colon-separated).
 * @param err a message naming the library and who needs it, on failure.
 * @return 0, -ENOENT (a library not found), -ENOEXEC, -ENOMEM.
 */
int elf_closure(const char *const *progs, size_t n, const char *search,
		struct elf_closure *out, char *err, size_t errlen);
void elf_closure_free(struct elf_closure *c);

#endif /* VAPP_BUILDER_ELFDEPS_H */
