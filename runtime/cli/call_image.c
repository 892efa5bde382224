/*
 * call_image.c - an appliance's services for `vapp call` (see call_image.h):
 * its measured services.desc and its manifest's service names, from an
 * image folder or from vappd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_image.h"
#include "cmd.h"
#include "manifest.h"
#include "vapp_util.h"
#include "vappd_client.h"

extern const struct vapp_cmd vapp_cmd_call;

#define DESCRIBE_TIMEOUT_MS 10000

static int add_service(struct call_image *img, const char *name)
{
	if (img->n == CALL_IMAGE_MAX_SERVICES)
		return -E2BIG;
	img->service[img->n] = strdup(name);
	if (!img->service[img->n])
		return -ENOMEM;
	img->n++;
	return 0;
}

static int read_in(const char *dir, const char *name, struct vapp_buf *b, char *err,
		   size_t errlen)
{
	char *path = vapp_path_join(dir, name);
	int ret = path ? vapp_read_file(path, b) : -ENOMEM;

	if (ret == -ENOENT && !strcmp(name, "services.desc"))
		vapp_errf(err, errlen, "%s: missing (an image built before services were "
			  "compiled into it: rebuild it)", path);
	else if (ret)
		vapp_errf(err, errlen, "%s: %s", path ? path : name, strerror(-ret));
	free(path);
	return ret;
}

int call_image_open(const char *dir, struct call_image *img, char *err, size_t errlen)
{
	struct vapp_buf yaml = { 0 }, desc = { 0 };
	struct manifest_diag diag = { 0 };
	struct manifest *m = NULL;
	int ret;

	memset(img, 0, sizeof(*img));
	if ((ret = read_in(dir, "services.desc", &desc, err, errlen)) ||
	    (ret = read_in(dir, "manifest.yaml", &yaml, err, errlen)))
		goto out;
	m = manifest_load_image("manifest.yaml", yaml.p, yaml.len, &diag);
	if (!m) {
		vapp_errf(err, errlen, "%s/%s", dir, diag.n ? diag.lines[0] : strerror(errno));
		ret = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < m->n_services && !ret; i++)
		ret = add_service(img, m->services[i].name);
	img->desc = desc.p;
	img->desc_len = desc.len;
	desc.p = NULL;
out:
	manifest_free(m);
	manifest_diag_free(&diag);
	vapp_buf_free(&yaml);
	vapp_buf_free(&desc);
	if (ret)
		call_image_close(img);
	return ret;
}

int call_image_describe(const char *name, struct call_image *img)
{
	Vapp__Runtime__V1__DescribeRequest req = VAPP__RUNTIME__V1__DESCRIBE_REQUEST__INIT;
	Vapp__Runtime__V1__DescribeReply *reply = NULL;
	struct vrpc_client *cli = vappd_connect(&vapp_cmd_call, vappd_socket(NULL));
	int ret = 1;

	memset(img, 0, sizeof(*img));
	if (!cli)
		return 1;
	req.name = (char *)name;
	if (vappd_call(&vapp_cmd_call, cli, CONTROL_DESCRIBE, &req.base,
		       (ProtobufCMessage **)&reply, DESCRIBE_TIMEOUT_MS))
		goto out;
	img->desc = malloc(reply->services_desc.len + 1);
	if (!img->desc)
		goto out;
	memcpy(img->desc, reply->services_desc.data, reply->services_desc.len);
	img->desc_len = reply->services_desc.len;
	ret = 0;
	for (size_t i = 0; i < reply->n_services && !ret; i++)
		ret = add_service(img, reply->services[i]) ? 1 : 0;
	if (ret)
		cmd_error(&vapp_cmd_call, "%s: too many services", name);
out:
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	vrpc_client_close(cli);
	if (ret)
		call_image_close(img);
	return ret;
}

void call_image_close(struct call_image *img)
{
	for (size_t i = 0; i < img->n; i++)
		free(img->service[i]);
	free(img->desc);
	memset(img, 0, sizeof(*img));
}
