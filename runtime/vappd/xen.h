/*
 * xen.h - the Xen backend's commands, generated and unit-tested; vappd
 * does not run appliances under Xen yet. `xl create` of the image's xl.cfg
 * under a domain name, the domid lookup, and the xenstore permissions that
 * let exactly one guest reach an appliance's vchan.
 *
 * A libxenvchan server (the appliance, domain S) writes its ring refs under
 * a xenstore directory PATH; the client (the guest, domain C) must be able
 * to read them and nobody else. xenstore permissions: the first entry names
 * the owner (who may do anything) and the default for all others, the
 * following ones grant single domains: "n<S>" (owner S, others none) then
 * "r<C>" (C may read). vappd, in dom0, creates PATH first and then gives it
 * away, so no guest can create it before vappd does.
 *
 * Every function returns a NULL-terminated argv to free with
 * xen_argv_free(), or NULL with errno (EINVAL: a name or path that is not
 * safe to pass on, ENOMEM).
 */
#ifndef VAPPD_XEN_H
#define VAPPD_XEN_H

#include <stdint.h>

/* xl create -q CFG 'name="NAME"' */
char **xen_create_argv(const char *cfg_path, const char *domain_name);
/* xl domid NAME */
char **xen_domid_argv(const char *domain_name);
/* xl shutdown -w NAME, or with @p force: xl destroy NAME */
char **xen_stop_argv(const char *domain_name, int force);
/* xenstore-write PATH "" : the directory, made by dom0 */
char **xen_vchan_mkdir_argv(const char *path);
/* xenstore-chmod -r PATH n<server> r<client> */
char **xen_vchan_chmod_argv(const char *path, uint32_t server_domid, uint32_t client_domid);
void xen_argv_free(char **argv);

/** Parses `xl domid`'s output ("5\n"). @return 0, or -EINVAL. */
int xen_parse_domid(const char *text, uint32_t *domid);

#endif /* VAPPD_XEN_H */
