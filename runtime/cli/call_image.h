/*
 * call_image.h - what `vapp call --image DIR` reads from an appliance image
 * folder: the services its manifest.yaml declares and their .proto files.
 *
 * The .proto files are taken from DIR/proto/ or DIR/ when they are there,
 * else unpacked from the image itself (/etc/vapp/proto/ inside
 * initramfs.cpio.gz, where the builder puts them) into a temporary folder.
 */
#ifndef VAPP_CALL_IMAGE_H
#define VAPP_CALL_IMAGE_H

#include <stddef.h>

#define CALL_IMAGE_MAX_SERVICES 32

struct call_image {
	size_t n;
	char *proto[CALL_IMAGE_MAX_SERVICES];   /* path of each service's .proto */
	char *service[CALL_IMAGE_MAX_SERVICES]; /* its full name */
	char *include;                          /* the folder holding them */
	char tmpdir[64];                        /* "" when nothing was unpacked */
};

/**
 * Reads DIR/manifest.yaml's services and finds their .proto files.
 * @param err receives a reason on failure
 * @return 0, or -errno (-ENOENT no manifest or no .proto, -EINVAL a
 *         manifest or image that cannot be read, -ENOMEM).
 */
int call_image_open(const char *dir, struct call_image *img, char *err, size_t errlen);

/* Frees @p img and removes what was unpacked. */
void call_image_close(struct call_image *img);

#endif /* VAPP_CALL_IMAGE_H */
