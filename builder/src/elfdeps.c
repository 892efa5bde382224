/*
 * elfdeps.c - ELF64 program headers and dynamic section, read from a
 * mapping of the file. The file is not trusted: every offset and size is
 * copied out of the mapping and checked against the file's size first.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfdeps.h"

struct image {
	const uint8_t *p;
	size_t len;
};

static int in_file(const struct image *f, uint64_t off, uint64_t len)
{
	return off <= f->len && len <= f->len - off;
}

/* A NUL-terminated string inside [off, off+max) of the file, copied. */
static char *copy_str(const struct image *f, uint64_t off, uint64_t max)
{
	const uint8_t *end;

	if (!in_file(f, off, 0))
		return NULL;
	if (max > f->len - off)
		max = f->len - off;
	end = memchr(f->p + off, '\0', max);
	if (!end)
		return NULL;
	return strdup((const char *)f->p + off);
}

/* File offset of virtual address @p vaddr, through the PT_LOAD segments. */
static int vaddr_to_off(const Elf64_Phdr *ph, size_t n, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t va = ph[i].p_vaddr, sz = ph[i].p_filesz;

		if (ph[i].p_type == PT_LOAD && vaddr >= va && vaddr - va < sz) {
			*off = ph[i].p_offset + (vaddr - va);
			return 0;
		}
	}
	return -ENOEXEC;
}

static int add_needed(struct elf_info *info, char *name)
{
	char **nn = realloc(info->needed, (info->n_needed + 1) * sizeof(*nn));

	if (!nn)
		return -ENOMEM;
	info->needed = nn;
	nn[info->n_needed++] = name;
	return 0;
}

static int read_dynamic(const struct image *f, const Elf64_Phdr *ph, size_t nph,
			const Elf64_Phdr *dyn, struct elf_info *info)
{
	uint64_t strtab = 0, strsz = 0, stroff, ndyn;
	int have_strtab = 0, ret;

	if (!in_file(f, dyn->p_offset, dyn->p_filesz))
		return -ENOEXEC;
	ndyn = dyn->p_filesz / sizeof(Elf64_Dyn);
	/* First pass: the string table every other entry points into. */
	for (uint64_t i = 0; i < ndyn; i++) {
		Elf64_Dyn d;

		memcpy(&d, f->p + dyn->p_offset + i * sizeof(d), sizeof(d));
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_STRTAB) {
			strtab = d.d_un.d_ptr;
			have_strtab = 1;
		} else if (d.d_tag == DT_STRSZ) {
			strsz = d.d_un.d_val;
		}
	}
	if (!have_strtab)
		return 0;
	ret = vaddr_to_off(ph, nph, strtab, &stroff);
	if (ret || !in_file(f, stroff, strsz))
		return -ENOEXEC;
	for (uint64_t i = 0; i < ndyn; i++) {
		Elf64_Dyn d;
		char *s;

		memcpy(&d, f->p + dyn->p_offset + i * sizeof(d), sizeof(d));
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag != DT_NEEDED && d.d_tag != DT_RPATH && d.d_tag != DT_RUNPATH)
			continue;
		if (d.d_un.d_val >= strsz)
			return -ENOEXEC;
		s = copy_str(f, stroff + d.d_un.d_val, strsz - d.d_un.d_val);
		if (!s)
			return -ENOEXEC;
		if (d.d_tag == DT_NEEDED) {
			ret = add_needed(info, s);
			if (ret) {
				free(s);
				return ret;
			}
		} else {
			char **slot = d.d_tag == DT_RPATH ? &info->rpath : &info->runpath;

			free(*slot);
			*slot = s;
		}
	}
	return 0;
}

static int parse(const struct image *f, struct elf_info *info)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	const Elf64_Phdr *dyn = NULL;
	int ret = 0;

	if (f->len < sizeof(eh))
		return 0;
	memcpy(&eh, f->p, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return 0;
	info->is_elf = 1;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == PN_XNUM ||
	    !in_file(f, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		return -ENOEXEC;
	/* Copied: the mapping need not be aligned for Elf64_Phdr. */
	ph = calloc(eh.e_phnum ? eh.e_phnum : 1, sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	memcpy(ph, f->p + eh.e_phoff, (size_t)eh.e_phnum * sizeof(*ph));
	for (size_t i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP && !info->interp) {
			if (!in_file(f, ph[i].p_offset, ph[i].p_filesz)) {
				ret = -ENOEXEC;
				goto out;
			}
			info->interp = copy_str(f, ph[i].p_offset, ph[i].p_filesz);
			if (!info->interp || info->interp[0] != '/') {
				ret = -ENOEXEC;
				goto out;
			}
		} else if (ph[i].p_type == PT_DYNAMIC && !dyn) {
			dyn = &ph[i];
		}
	}
	if (dyn)
		ret = read_dynamic(f, ph, eh.e_phnum, dyn, info);
out:
	free(ph);
	return ret;
}

int elf_read_info(const char *path, struct elf_info *info)
{
	struct image f;
	struct stat st;
	void *map;
	int fd, ret;

	memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto err_fd;
	}
	if (st.st_size == 0) {
		ret = 0;
		goto err_fd;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		goto err_fd;
	}
	f.p = map;
	f.len = (size_t)st.st_size;
	ret = parse(&f, info);
	munmap(map, f.len);
	if (ret)
		elf_info_free(info);
err_fd:
	close(fd);
	return ret;
}

void elf_info_free(struct elf_info *info)
{
	if (!info)
		return;
	free(info->interp);
	for (size_t i = 0; i < info->n_needed; i++)
		free(info->needed[i]);
	free(info->needed);
	free(info->rpath);
	free(info->runpath);
	memset(info, 0, sizeof(*info));
}

/* --- the closure ---------------------------------------------------------- */

static int have(const struct elf_closure *c, const char *image_path)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->libs[i].image_path, image_path))
			return 1;
	return 0;
}

/* @return 1 if @p path is an x86-64 ELF64 file (what ld.so would accept). */
static int compatible(const char *path)
{
	uint8_t id[EI_NIDENT + 4];
	uint16_t machine;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, id, sizeof(id));
	close(fd);
	if (n != (ssize_t)sizeof(id) || memcmp(id, ELFMAG, SELFMAG) ||
	    id[EI_CLASS] != ELFCLASS64 || id[EI_DATA] != ELFDATA2LSB)
		return 0;
	memcpy(&machine, id + EI_NIDENT + 2, sizeof(machine));
	return machine == EM_X86_64;
}

/* Looks @p name up in the colon-separated @p dirs; "$ORIGIN" and other
 * dynamic-string tokens are skipped: the image layout is not the host's.
 * @return a malloc'd "DIR/NAME", NULL if not found (errno ENOENT/ENOMEM). */
static char *search_in(const char *dirs, const char *name)
{
	const char *d = dirs;

	while (d && *d) {
		size_t n = strcspn(d, ":");
		char *cand;

		if (n && d[0] == '/' && !memchr(d, '$', n)) {
			if (asprintf(&cand, "%.*s/%s", (int)n, d, name) < 0) {
				errno = ENOMEM;
				return NULL;
			}
			if (compatible(cand))
				return cand;
			free(cand);
		}
		d += n;
		if (*d == ':')
			d++;
	}
	errno = ENOENT;
	return NULL;
}

static char *resolve(const struct elf_info *who, const char *name, const char *search)
{
	char *p;

	if (strchr(name, '/')) {
		if (name[0] == '/' && compatible(name))
			return strdup(name);
		errno = ENOENT;
		return NULL;
	}
	if (who->rpath && !who->runpath && (p = search_in(who->rpath, name)))
		return p;
	if (who->runpath && (p = search_in(who->runpath, name)))
		return p;
	return search_in(search, name);
}

/* Adds @p image_path unless it is there; @return 1 added, 0 known, -errno. */
static int add_lib(struct elf_closure *c, const char *image_path)
{
	struct elf_lib *nl;
	char *host, *img;

	if (have(c, image_path))
		return 0;
	host = realpath(image_path, NULL);
	if (!host)
		return -errno;
	img = strdup(image_path);
	nl = realloc(c->libs, (c->n + 1) * sizeof(*nl));
	if (!img || !nl) {
		free(host);
		free(img);
		if (nl)
			c->libs = nl;
		return -ENOMEM;
	}
	c->libs = nl;
	c->libs[c->n++] = (struct elf_lib){ .image_path = img, .host_path = host };
	return 1;
}

/* Adds what @p path (a program or a library) needs, and what that needs. */
static int walk(struct elf_closure *c, const char *path, const char *search, char *err,
		size_t errlen)
{
	struct elf_info info;
	size_t first = c->n, last;
	int ret = elf_read_info(path, &info);

	if (ret) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -ENOEXEC ? "malformed ELF file" : strerror(-ret));
		return ret;
	}
	if (info.interp) {
		ret = add_lib(c, info.interp);
		if (ret < 0) {
			snprintf(err, errlen, "%s: interpreter %s: %s", path, info.interp,
				 strerror(-ret));
			goto out;
		}
	}
	for (size_t i = 0; i < info.n_needed; i++) {
		char *found = resolve(&info, info.needed[i], search);

		if (!found) {
			ret = -errno;
			snprintf(err, errlen, "%s needs %s, not found in %s", path,
				 info.needed[i], search);
			goto out;
		}
		ret = add_lib(c, found);
		free(found);
		if (ret < 0) {
			snprintf(err, errlen, "%s: %s", info.needed[i], strerror(-ret));
			goto out;
		}
	}
	ret = 0;
	/* Depth first through what this file added (the deeper walks add and
	 * walk their own); a file is added once, so the recursion ends. */
	last = c->n;
	for (size_t i = first; i < last && !ret; i++) {
		char *img = strdup(c->libs[i].image_path);

		if (!img) {
			ret = -ENOMEM;
			break;
		}
		ret = walk(c, img, search, err, errlen);
		free(img);
	}
out:
	elf_info_free(&info);
	return ret;
}

static int by_image_path(const void *a, const void *b)
{
	return strcmp(((const struct elf_lib *)a)->image_path,
		      ((const struct elf_lib *)b)->image_path);
}

int elf_closure(const char *const *progs, size_t n, const char *search,
		struct elf_closure *out, char *err, size_t errlen)
{
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!search)
		search = ELFDEPS_DEFAULT_PATH;
	for (size_t i = 0; i < n && !ret; i++)
		ret = walk(out, progs[i], search, err, errlen);
	if (ret) {
		elf_closure_free(out);
		return ret;
	}
	if (out->n) /* qsort(NULL, 0, ...) is undefined */
		qsort(out->libs, out->n, sizeof(*out->libs), by_image_path);
	return 0;
}

void elf_closure_free(struct elf_closure *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->libs[i].image_path);
		free(c->libs[i].host_path);
	}
	free(c->libs);
	c->libs = NULL;
	c->n = 0;
}
