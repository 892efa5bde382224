/*
 * modules.c - modules.dep is "PATH: DEP DEP ...", one module a line, where
 * the deps are the whole transitive set (depmod(8)); modules.builtin is one
 * PATH a line. Names are compared as the kernel does: '-' and '_' are the
 * same, the folder and the .ko[.xz|.zst|.gz] suffix are not part of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules.h"
#include "vapp_util.h"

struct mod {
	char *name;
	char *path;
	char **deps;      /* paths */
	size_t n_deps;
	int state;        /* 0 not visited, 1 being visited, 2 in the plan */
};

struct moddb {
	struct mod *m;
	size_t n;
	char **builtin;   /* names */
	size_t n_builtin;
};

void module_name(const char *name, char *out)
{
	const char *base = strrchr(name, '/');
	static const char *const suffix[] = { ".ko.xz", ".ko.zst", ".ko.gz", ".ko" };
	size_t n;

	base = base ? base + 1 : name;
	n = strlen(base);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		size_t k = strlen(suffix[i]);

		if (n > k && !strcmp(base + n - k, suffix[i])) {
			n -= k;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[n] = '\0';
}

static char *name_of(const char *path)
{
	char *s = malloc(strlen(path) + 1);

	if (s)
		module_name(path, s);
	return s;
}

static void moddb_free(struct moddb *db)
{
	for (size_t i = 0; i < db->n; i++) {
		free(db->m[i].name);
		free(db->m[i].path);
		for (size_t j = 0; j < db->m[i].n_deps; j++)
			free(db->m[i].deps[j]);
		free(db->m[i].deps);
	}
	free(db->m);
	for (size_t i = 0; i < db->n_builtin; i++)
		free(db->builtin[i]);
	free(db->builtin);
}

static int push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = s;
	return 0;
}

static int parse_dep_line(struct moddb *db, char *line)
{
	char *colon = strchr(line, ':'), *tok, *save = NULL;
	struct mod *nm, *m;
	int ret;

	if (!colon || colon == line)
		return -EINVAL;
	*colon = '\0';
	nm = realloc(db->m, (db->n + 1) * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	db->m = nm;
	m = &db->m[db->n];
	memset(m, 0, sizeof(*m));
	m->path = strdup(line);
	m->name = name_of(line);
	db->n++;
	if (!m->path || !m->name)
		return -ENOMEM;
	for (tok = strtok_r(colon + 1, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		ret = push(&m->deps, &m->n_deps, strdup(tok));
		if (ret)
			return ret;
	}
	return 0;
}

/* Calls @p fn on each non-empty line of @p path. */
static int each_line(const char *path, struct moddb *db, int (*fn)(struct moddb *, char *))
{
	struct vapp_buf b = { 0 };
	char *line, *save = NULL;
	int ret = vapp_read_file(path, &b);

	if (!ret)
		ret = vapp_buf_add(&b, "", 1);
	for (line = ret ? NULL : strtok_r((char *)b.p, "\n", &save); line && !ret;
	     line = strtok_r(NULL, "\n", &save))
		ret = fn(db, line);
	vapp_buf_free(&b);
	return ret;
}

static int parse_builtin_line(struct moddb *db, char *line)
{
	return push(&db->builtin, &db->n_builtin, name_of(line));
}

static struct mod *by_name(struct moddb *db, const char *name)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->m[i].name, name))
			return &db->m[i];
	return NULL;
}

static struct mod *by_path(struct moddb *db, const char *path)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->m[i].path, path))
			return &db->m[i];
	return NULL;
}

/* Dependencies first: each dependency's own line is followed before the
 * module is added, whatever order depmod listed them in. */
static int visit(struct moddb *db, struct mod *m, struct mod_plan *plan, char *err,
		 size_t errlen)
{
	int ret;

	if (m->state == 2)
		return 0;
	if (m->state == 1) /* a cycle: depmod refuses those, so a broken file */
		return 0;
	m->state = 1;
	for (size_t i = 0; i < m->n_deps; i++) {
		struct mod *d = by_path(db, m->deps[i]);

		if (!d) {
			snprintf(err, errlen, "modules.dep: %s needs %s, which has no line",
				 m->path, m->deps[i]);
			return -EINVAL;
		}
		ret = visit(db, d, plan, err, errlen);
		if (ret)
			return ret;
	}
	m->state = 2;
	return push(&plan->paths, &plan->n, strdup(m->path));
}

int modules_resolve(const char *moddir, char *const *names, size_t n, struct mod_plan *plan,
		    char *err, size_t errlen)
{
	struct moddb db = { 0 };
	char *dep = vapp_path_join(moddir, "modules.dep");
	char *builtin = vapp_path_join(moddir, "modules.builtin");
	int ret = -ENOMEM;

	memset(plan, 0, sizeof(*plan));
	if (!dep || !builtin)
		goto out;
	ret = each_line(dep, &db, parse_dep_line);
	if (ret) {
		snprintf(err, errlen, "%s: %s", dep, strerror(-ret));
		goto out;
	}
	ret = each_line(builtin, &db, parse_builtin_line);
	if (ret == -ENOENT)
		ret = 0; /* a kernel without built-in modules list: none known */
	if (ret) {
		snprintf(err, errlen, "%s: %s", builtin, strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		char *want = name_of(names[i]);
		struct mod *m;
		int is_builtin = 0;

		if (!want) {
			ret = -ENOMEM;
			break;
		}
		m = by_name(&db, want);
		for (size_t j = 0; !m && j < db.n_builtin; j++)
			is_builtin |= !strcmp(db.builtin[j], want);
		if (m) {
			ret = visit(&db, m, plan, err, errlen);
		} else if (is_builtin) {
			plan->n_builtin++;
		} else {
			snprintf(err, errlen, "kernel module %s: no such module in %s", names[i],
				 moddir);
			ret = -ENOENT;
		}
		free(want);
	}
out:
	if (ret)
		mod_plan_free(plan);
	moddb_free(&db);
	free(dep);
	free(builtin);
	return ret;
}

void mod_plan_free(struct mod_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++)
		free(plan->paths[i]);
	free(plan->paths);
	memset(plan, 0, sizeof(*plan));
}
