/*
 * call_image.h - what `vapp call` learns an appliance's services from: the
 * services.desc the builder compiled (a FileDescriptorSet, measured with
 * the image) and the service names of its manifest. From an image folder
 * (`--image DIR`) or, for an appliance vappd runs, from vappd (Describe),
 * which reads its verified copy: no protoc and no .proto file at call time,
 * and a member of vappd's group needs no access to vappd's run folder.
 */
#ifndef VAPP_CALL_IMAGE_H
#define VAPP_CALL_IMAGE_H

#include <stddef.h>

#define CALL_IMAGE_MAX_SERVICES 32

struct call_image {
	void *desc;                             /* services.desc's bytes */
	size_t desc_len;
	size_t n;
	char *service[CALL_IMAGE_MAX_SERVICES]; /* full names, the manifest's order */
};

/**
 * Reads DIR/services.desc and DIR/manifest.yaml's services.
 * @return 0, or -errno with @p err saying why (-ENOENT: an image without
 *         services.desc, built before it existed: rebuild it).
 */
int call_image_open(const char *dir, struct call_image *img, char *err, size_t errlen);

/**
 * Asks vappd (at its control socket) for appliance @p name's services.
 * @return 0, or 1 after saying why (as the other vappd calls of the CLI).
 */
int call_image_describe(const char *name, struct call_image *img);

void call_image_close(struct call_image *img);

#endif /* VAPP_CALL_IMAGE_H */
