/*
 * settings.c - `vappd --setting APPLIANCE:NAME=FILE`: a file of the
 * administrator's that an appliance takes at each launch (its manifest
 * lists the names, daemon.settings), such as the USB proxy's device rules.
 * The file is read at each launch, so an edit counts from the next boot,
 * and sent on vapp.ctl as "setting NAME HEX" lines, then "settings-end"
 * (runtime/guest-init/initconf.h has the guest's side).
 *
 * A setting is the host's word, like the policy: it is not in the image's
 * measurement, and only root (vappd's options) gives one; `vapp run`
 * cannot.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vapp_util.h"
#include "vappd.h"

/* Bytes a "setting NAME HEX" line carries: 64, so that a line with the
 * longest name stays within vapp-init's INITCONF_LINE_MAX (256). */
#define LINE_BYTES 64

int vappd_setting_add(struct vappd *d, const char *arg, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':'), *eq = colon ? strchr(colon, '=') : NULL;
	struct vappd_setting *v, s = { 0 };
	char *text;
	size_t len;
	int rc;

	if (!colon || !eq || colon == arg || !eq[1]) {
		snprintf(err, errlen, "--setting %.200s: give APPLIANCE:NAME=FILE", arg);
		return -EINVAL;
	}
	s.appliance = strndup(arg, (size_t)(colon - arg));
	s.name = strndup(colon + 1, (size_t)(eq - colon - 1));
	s.file = realpath(eq + 1, NULL);
	rc = !s.appliance || !s.name ? -ENOMEM : 0;
	if (!rc && !manifest_setting_name_ok(s.name)) {
		snprintf(err, errlen, "--setting %.200s: '%.64s' is not a setting name "
				      "([A-Za-z0-9._-], 1 to 63, not starting with '.')", arg, s.name);
		rc = -EINVAL;
	}
	if (!rc && !s.file) {
		rc = -errno;
		snprintf(err, errlen, "--setting %.200s: %s", arg, strerror(errno));
	}
	for (size_t i = 0; !rc && i < d->n_settings; i++)
		if (!strcmp(d->settings[i].appliance, s.appliance) &&
		    !strcmp(d->settings[i].name, s.name)) {
			snprintf(err, errlen, "--setting %.200s: %s's %s is given twice", arg,
				 s.appliance, s.name);
			rc = -EINVAL;
		}
	if (!rc && (rc = read_small_file(s.file, VAPPD_SETTING_MAX, &text, &len)) < 0)
		snprintf(err, errlen, "--setting %.200s: %s%s", arg, strerror(-rc),
			 rc == -EFBIG ? " (at most 32 KiB)" : "");
	else if (!rc)
		free(text);
	if (!rc && !(v = reallocarray(d->settings, d->n_settings + 1, sizeof(*v))))
		rc = -ENOMEM;
	if (rc) {
		free(s.appliance);
		free(s.name);
		free(s.file);
		return rc;
	}
	d->settings = v;
	d->settings[d->n_settings++] = s;
	return 0;
}

void vappd_settings_free(struct vappd *d)
{
	for (size_t i = 0; i < d->n_settings; i++) {
		free(d->settings[i].appliance);
		free(d->settings[i].name);
		free(d->settings[i].file);
	}
	free(d->settings);
	d->settings = NULL;
	d->n_settings = 0;
}

static bool takes(const struct manifest *m, const char *name)
{
	for (size_t i = 0; i < m->daemon.n_settings; i++)
		if (!strcmp(m->daemon.settings[i], name))
			return true;
	return false;
}

int vappd_settings_check(const struct vappd *d, const char *appliance,
			 const struct manifest *m, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->n_settings; i++) {
		const struct vappd_setting *s = &d->settings[i];

		if (strcmp(s->appliance, appliance) || takes(m, s->name))
			continue;
		snprintf(err, errlen, "vappd has --setting %s:%s, but the image's manifest "
				      "takes no setting '%s' (daemon.settings: %zu listed)",
			 appliance, s->name, s->name, m->daemon.n_settings);
		return -EINVAL;
	}
	return 0;
}

static const struct vappd_setting *find(const struct vappd *d, const char *appliance,
					const char *name)
{
	for (size_t i = 0; i < d->n_settings; i++)
		if (!strcmp(d->settings[i].appliance, appliance) &&
		    !strcmp(d->settings[i].name, name))
			return &d->settings[i];
	return NULL;
}

static int add_lines(struct vapp_buf *b, const char *name, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int rc = 0;

	for (size_t at = 0; at < len && !rc; at += LINE_BYTES) {
		size_t n = len - at < LINE_BYTES ? len - at : LINE_BYTES;
		char line[2 * LINE_BYTES + 1];

		for (size_t k = 0; k < n; k++) {
			line[2 * k] = hex[data[at + k] >> 4];
			line[2 * k + 1] = hex[data[at + k] & 15];
		}
		line[2 * n] = '\0';
		rc = vapp_buf_printf(b, "setting %s %s\n", name, line);
	}
	return rc;
}

int vappd_settings_text(const struct vappd *d, const char *appliance, const struct manifest *m,
			struct vapp_buf *out, char *err, size_t errlen)
{
	struct vapp_buf b = { 0 };
	size_t total = 0, len;
	char *text;
	int rc = 0;

	if (!m->daemon.n_settings)
		return 0;
	for (size_t i = 0; i < m->daemon.n_settings && !rc; i++) {
		const struct vappd_setting *s = find(d, appliance, m->daemon.settings[i]);

		if (!s)
			continue; /* the daemon's own default */
		rc = read_small_file(s->file, VAPPD_SETTING_MAX, &text, &len);
		if (rc < 0) {
			snprintf(err, errlen, "setting %s (%.200s): %s%s", s->name, s->file,
				 strerror(-rc), rc == -EFBIG ? " (at most 32 KiB)" : "");
			break;
		}
		total += len;
		if (total > VAPPD_SETTINGS_MAX) {
			snprintf(err, errlen, "settings: more than 64 KiB in all");
			rc = -EFBIG;
		} else
			rc = add_lines(&b, s->name, (const unsigned char *)text, len);
		free(text);
	}
	if (!rc)
		rc = vapp_buf_printf(&b, "settings-end\n");
	if (!rc)
		rc = vapp_buf_add(out, b.p, b.len);
	vapp_buf_free(&b);
	return rc;
}
