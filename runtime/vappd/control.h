/* control.h - the Control service of vappd (control.c). */
#ifndef VAPPD_CONTROL_H
#define VAPPD_CONTROL_H

#include "vappd.h"

/** Offers vapp.runtime.v1.Control on d->srv. @return 0 or -errno. */
int control_register(struct vappd *d);
/** Ends every `vapp logs --follow` stream (vappd is exiting). */
void control_shutdown(struct vappd *d);
/** Frees what control_register() made, once d->srv is freed. */
void vappd_control_free(struct vappd *d);

#endif /* VAPPD_CONTROL_H */
