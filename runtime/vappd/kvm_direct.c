/*
 * kvm_direct.c - under QEMU, direct channels: a guest VM calls an appliance
 * VM through memory the two share, with no hop through vappd.
 *
 * As under Xen (xen_direct.c), only where the policy says direct=yes on a
 * rule that allows a guest a whole service (the methods rules before it
 * deny are refused by the appliance itself, "!METHOD" in the grant). And
 * only for an appliance whose manifest says devices.direct
 * (it then runs on q35 and loads vfio_pci). At `vapp run`, for each --guest
 * the policy grants such a service of the appliance's channel, vappd makes
 * a pair (runtime/vappd/ivshmem.h): a sealed memfd of KVM_DIRECT_SIZE
 * bytes for this pair alone, and two sockets where vappd serves it:
 *
 *   RUN_DIR/APPLIANCE/direct-GUEST.sock      the appliance's QEMU (peer 0)
 *   RUN_DIR/guests/GUEST.direct/APPLIANCE.sock  the guest's QEMU (peer 1),
 *                                            vappd's group may connect
 *
 * The appliance's QEMU gets an ivshmem-doorbell device on the first, at PCI
 * slot KVM_DIRECT_SLOT0 + i, and vapp.ctl says "direct CHAN GUEST
 * ivshmem:0000:00:SS.0 SERVICE..." at each launch: the daemon's libvrpc
 * listens there (vchan-rpc/core/direct.c), answers HELLO for those services
 * only, and names each call's peer label:GUEST. Who is the guest is fixed
 * by which socket its QEMU came through, never by what it says. The guest's
 * launcher adds the device on the second socket (the appliance must run
 * first: QEMU takes the memory as it starts) and calls
 * ivshmem:ADDRESS-IN-THE-GUEST.
 *
 * A QEMU that goes (the VM died, was restarted, stopped) has its side of
 * the ring marked gone and the other VM woken (vappd_ivshmem_drop): the
 * connection ends on the other side, the appliance lays out a fresh ring
 * for the next. The pair lives as long as the appliance is listed; its
 * memory is never any other pair's. The broker's gate stays: the direct
 * channel is a second way in, never the only one.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance.h"
#include "broker.h"
#include "kvm_direct.h"

static void on_conn(void *ud, int fd, short revents);

static struct kvm_pair *pair_of(struct appliance *a, int fd, int *side, bool listening)
{
	for (size_t i = 0; i < a->n_direct; i++)
		for (int s = 0; s < 2; s++)
			if ((listening ? a->direct[i].ch.listen_fd[s] : a->direct[i].ch.conn_fd[s]) == fd) {
				*side = s;
				return &a->direct[i];
			}
	return NULL;
}

static const char *const side_name[2] = { "appliance", "guest" };

static void on_listen(void *ud, int fd, short revents)
{
	struct appliance *a = ud;
	int side, e;
	struct kvm_pair *p = pair_of(a, fd, &side, true);

	(void)revents;
	if (!p)
		return;
	e = vappd_ivshmem_accept(&p->ch, side);
	if (e == -EAGAIN || e == -EINTR)
		return;
	if (e) {
		vappd_log("direct: %s to %s: the %s's QEMU: %s", p->guest, a->name, side_name[side],
			  e == -EBUSY ? "a second connection, refused" : strerror(-e));
		return;
	}
	if (vrpc_loop_add_fd(a->d->loop, p->ch.conn_fd[side], POLLIN, on_conn, a) < 0) {
		vappd_ivshmem_drop(&p->ch, side);
		return;
	}
	vappd_log("direct: %s to %s: the %s's QEMU took the memory", p->guest, a->name,
		  side_name[side]);
}

/* QEMU says nothing on this socket: readable is its hang-up. Bytes it
 * sends anyway are dropped one read a wake-up (the loop is level
 * triggered): the socket blocks, and a loop of reads would stop vappd at
 * the first read that finds none. */
static void on_conn(void *ud, int fd, short revents)
{
	struct appliance *a = ud;
	char buf[64];
	int side;
	struct kvm_pair *p = pair_of(a, fd, &side, false);
	ssize_t n;

	(void)revents;
	if (!p)
		return;
	n = read(fd, buf, sizeof(buf));
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	vrpc_loop_del_fd(a->d->loop, fd);
	vappd_ivshmem_drop(&p->ch, side);
	vappd_log("direct: %s to %s: the %s's QEMU went", p->guest, a->name, side_name[side]);
}

/* The guest's socket: in its own folder, vappd's group's, like its gate. */
static int guest_side(struct vappd *d, const char *guest, const char *app, char *out,
		      size_t len, char *err, size_t errlen)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/guests/%s.direct", d->run_dir, guest);
	if ((mkdir(dir, 0750) < 0 && errno != EEXIST) || chown(dir, 0, d->gid) < 0 ||
	    chmod(dir, 0750) < 0) {
		snprintf(err, errlen, "direct: %s: %s", dir, strerror(errno));
		return -errno;
	}
	/* A unix socket path has 108 bytes, the NUL included. */
	if ((size_t)snprintf(out, len, "%s/%s.sock", dir, app) >= 108) {
		snprintf(err, errlen, "direct: %s/%s.sock: path too long", dir, app);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int argv_add(struct appliance *a, const char *s)
{
	size_t n = 0;
	char **v, *copy = strdup(s);

	while (a->argv[n])
		n++;
	v = copy ? realloc(a->argv, (n + 2) * sizeof(*v)) : NULL;
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	v[n] = copy;
	v[n + 1] = NULL;
	a->argv = v;
	return 0;
}

/* The pair's device on the appliance's QEMU command line. */
static int add_device(struct appliance *a, const struct kvm_pair *p, unsigned slot)
{
	char chardev[4200], device[160];
	int e;

	snprintf(chardev, sizeof(chardev), "socket,id=vd%u,path=%s", slot, p->app_sock);
	snprintf(device, sizeof(device), "ivshmem-doorbell,chardev=vd%u,vectors=%d,addr=%#x.0",
		 slot, VAPPD_IVSHMEM_VECTORS, slot);
	if ((e = argv_add(a, "-chardev")) || (e = argv_add(a, chardev)) ||
	    (e = argv_add(a, "-device")) || (e = argv_add(a, device)))
		return e;
	return 0;
}

static int open_pair(struct appliance *a, const char *guest, const char *services,
		     char *err, size_t errlen)
{
	struct vappd *d = a->d;
	struct kvm_pair *p = realloc(a->direct, (a->n_direct + 1) * sizeof(*p));
	unsigned slot = KVM_DIRECT_SLOT0 + (unsigned)a->n_direct;
	const char *paths[2];
	int e;

	if (!p)
		return -ENOMEM;
	a->direct = p;
	p = &a->direct[a->n_direct];
	memset(p, 0, sizeof(*p));
	snprintf(p->guest, sizeof(p->guest), "%s", guest);
	snprintf(p->services, sizeof(p->services), "%s", services);
	snprintf(p->addr, sizeof(p->addr), "0000:00:%02x.0", slot);
	if ((size_t)snprintf(p->app_sock, sizeof(p->app_sock), "%s/direct-%s.sock", a->run_dir,
			     guest) >= 108) {
		snprintf(err, errlen, "direct: %s/direct-%s.sock: path too long", a->run_dir, guest);
		return -ENAMETOOLONG;
	}
	if ((e = guest_side(d, guest, a->name, p->guest_sock, sizeof(p->guest_sock), err,
			    errlen)))
		return e;
	paths[0] = p->app_sock;
	paths[1] = p->guest_sock;
	if ((e = vappd_ivshmem_open(&p->ch, paths, KVM_DIRECT_SIZE, err, errlen)))
		return e;
	a->n_direct++;
	if ((e = hv_user_give(&d->qemu_user, p->app_sock, false, 0660)) < 0 ||
	    chown(p->guest_sock, 0, d->gid) < 0 || chmod(p->guest_sock, 0660) < 0) {
		e = e < 0 ? e : -errno;
		snprintf(err, errlen, "direct: the sockets of %s to %s: %s", guest, a->name,
			 strerror(-e));
		return e;
	}
	for (int s = 0; s < 2; s++)
		if ((e = vrpc_loop_add_fd(d->loop, p->ch.listen_fd[s], POLLIN, on_listen, a)) < 0)
			return e;
	if ((e = add_device(a, p, slot)))
		return e;
	vappd_log("direct: %s calls %s at ivshmem:%s (%s); its QEMU's socket is %s", guest,
		  a->name, p->addr, services, p->guest_sock);
	return 0;
}

/* vapp-init takes the pair's "direct" line whole, or not at all. */
static bool fits_a_line(const struct appliance *a, const char *guest, const char *services)
{
	size_t words = 1;

	for (const char *s = services; *s; s++)
		words += *s == ' ';
	return words <= KVM_DIRECT_WORDS_MAX &&
	       strlen("direct  ivshmem:0000:00:00.0 \n") + strlen(a->info.channel) + strlen(guest) +
			       strlen(services) <= KVM_DIRECT_LINE_MAX;
}

int vappd_kvm_direct_open(struct appliance *a, char *err, size_t errlen)
{
	const struct manifest *m = a->info.m;
	char guest[64], services[200];
	int e;

	if (!a->d->broker || !m->direct || !a->info.channel)
		return 0;
	for (size_t i = 0; vappd_broker_guest_name(a->d->broker, i, guest, sizeof(guest)); i++) {
		vappd_broker_direct_services(a->d->broker, m, a->info.channel, guest, a->name,
					     services, sizeof(services));
		if (!services[0])
			continue;
		if (a->n_direct == KVM_DIRECT_MAX) {
			vappd_log("direct: %s: more than %d guests, %s goes through the broker",
				  a->name, KVM_DIRECT_MAX, guest);
			continue;
		}
		if (!fits_a_line(a, guest, services)) {
			vappd_log("direct: %s to %s: its grant (%s) is more than vapp.ctl's line takes; "
				  "it goes through the broker", guest, a->name, services);
			continue;
		}
		if ((e = open_pair(a, guest, services, err, errlen))) {
			vappd_kvm_direct_close(a);
			return e;
		}
	}
	return 0;
}

void vappd_kvm_direct_text(const struct appliance *a, struct vapp_buf *b)
{
	for (size_t i = 0; i < a->n_direct; i++) {
		const struct kvm_pair *p = &a->direct[i];

		if (vapp_buf_printf(b, "direct %s %s ivshmem:%s %s\n", a->info.channel, p->guest,
				    p->addr, p->services) < 0)
			vappd_log("direct: %s to %s: not sent on vapp.ctl", p->guest, a->name);
	}
}

char **vappd_kvm_direct_lines(struct appliance *a)
{
	for (size_t i = 0; i < a->n_direct; i++) {
		struct kvm_pair *p = &a->direct[i];

		snprintf(p->line, sizeof(p->line), "%s ivshmem:%s %s (%s, %s) %s", p->guest,
			 p->addr, p->guest_sock,
			 p->ch.conn_fd[0] >= 0 ? "appliance connected" : "appliance not connected",
			 p->ch.conn_fd[1] >= 0 ? "guest connected" : "guest not connected",
			 p->services);
		a->direct_lines[i] = p->line;
	}
	return a->direct_lines;
}

void vappd_kvm_direct_close(struct appliance *a)
{
	for (size_t i = 0; i < a->n_direct; i++) {
		struct kvm_pair *p = &a->direct[i];
		char dir[4096];

		for (int s = 0; s < 2; s++) {
			if (p->ch.listen_fd[s] >= 0)
				vrpc_loop_del_fd(a->d->loop, p->ch.listen_fd[s]);
			if (p->ch.conn_fd[s] >= 0)
				vrpc_loop_del_fd(a->d->loop, p->ch.conn_fd[s]);
		}
		vappd_ivshmem_close(&p->ch);
		unlink(p->app_sock);
		unlink(p->guest_sock);
		snprintf(dir, sizeof(dir), "%s/guests/%s.direct", a->d->run_dir, p->guest);
		rmdir(dir); /* when no other appliance's socket is there */
	}
	free(a->direct);
	a->direct = NULL;
	a->n_direct = 0;
}
