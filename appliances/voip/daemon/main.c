/*
 * main.c - vapp-voipd, the VoIP appliance's daemon: options, signals and
 * the loop that serves vapp.voip.v1.Voip and drives the SIP stack.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vapp_util.h"
#include "voip.h"
#include "appliance.h"

static const char usage[] =
	"Usage: vapp-voipd [options]\n"
	"\n"
	"The VoIP appliance's daemon: serves vapp.voip.v1.Voip and drives the SIP user\n"
	"agent (baresip, a process of its own that it starts, watches and starts again).\n"
	"Only this daemon is reachable by guests; every argument is checked before the\n"
	"SIP stack sees it.\n"
	"\n"
	"  -a, --attach ADDR        serve the single endpoint ADDR (the virtio-serial port)\n"
	"  -l, --listen ADDR        accept connections on ADDR\n"
	"  -s, --state DIR          keep the accounts in DIR (the state volume)\n"
	"  -r, --run-dir DIR        the SIP stack's config (holds passwords: a tmpfs;\n"
	"                           default /run/vapp-voip)\n"
	"      --sip ADDR:PORT      where SIP listens (default 0.0.0.0:5060); RTP takes\n"
	"                           PORT+1000 to PORT+1099\n"
	"      --net NIC=ADDR/LEN   bring NIC (its name or MAC) up with that IPv4 address\n"
	"                           before the SIP stack starts (inside the appliance)\n"
	"      --gateway ADDR       the default route (with --net)\n"
	"      --control-port N     the SIP stack's control port on 127.0.0.1 (default 4444)\n"
	"      --audio-source S     baresip's DRIVER,DEVICE (default alsa,default)\n"
	"      --audio-player S     the same for the speaker (default alsa,default)\n"
	"      --wait-sound SECONDS before the SIP stack starts, wait up to SECONDS for\n"
	"                           the sound card(s) of --audio-source and --audio-player\n"
	"                           to have their devices (inside the appliance: a PCI\n"
	"                           card's codecs come after its driver has loaded)\n"
	"      --record DIR         keep every call's audio, sent and received, as WAV\n"
	"                           files in DIR (tests, diagnosis)\n"
	"      --baresip PATH       the SIP stack (default /usr/bin/baresip)\n"
	"      --modules DIR        its modules (default /usr/lib/baresip/modules)\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 after SIGTERM, 1 when it could not start (the reason is printed),\n"
	"2 on a usage error.\n";

struct opts {
	struct appliance_addrs addrs;
	char sip_addr[64];
	const char *net, *gateway;
	int wait_sound_ms;
};

#define NIC_WAIT_MS 5000

/* --net NIC=ADDR/LEN: the NIC may still be probing when we start. */
static int bring_up_net(const struct opts *o)
{
	char nic[40], ifname[IF_NAMESIZE];
	const char *eq;
	int err;

	if (!o->net)
		return 0;
	eq = strchr(o->net, '=');
	if (!eq || eq == o->net || (size_t)(eq - o->net) >= sizeof(nic)) {
		fprintf(stderr, "vapp-voipd: --net %s: not NIC=ADDR/LEN\n", o->net);
		return -EINVAL;
	}
	snprintf(nic, sizeof(nic), "%.*s", (int)(eq - o->net), o->net);
	if ((err = vapp_netif_wait(nic, ifname, sizeof(ifname), NIC_WAIT_MS))) {
		fprintf(stderr, "vapp-voipd: no NIC %s\n", nic);
		return err;
	}
	if ((err = vapp_netif_up("lo", NULL)) || (err = vapp_netif_up(ifname, eq + 1)) ||
	    (o->gateway && (err = vapp_route_default(o->gateway)))) {
		fprintf(stderr, "vapp-voipd: %s (%s): %s\n", ifname, o->net, strerror(-err));
		return err;
	}
	fprintf(stderr, "vapp-voipd: %s is %s\n", ifname, eq + 1);
	return 0;
}

/* --wait-sound: the SIP stack opens its devices at each call; a card not
 * there yet would fail the first calls ("could not open ... default"). */
static void wait_sound(const struct voip_daemon *d, const struct opts *o)
{
	const char *spec[] = { d->sip.audio_source, d->sip.audio_player };

	for (int i = 0; o->wait_sound_ms && i < 2; i++) {
		int card = voip_audio_card(spec[i]), waited;

		if (card < 0 || (i == 1 && card == voip_audio_card(spec[0])))
			continue;
		waited = voip_audio_wait(card, o->wait_sound_ms);
		if (waited < 0)
			fprintf(stderr, "vapp-voipd: warning: sound card %d has no playback and capture "
				"device after %d s: calls will fail to open it\n", card,
				o->wait_sound_ms / 1000);
		else
			fprintf(stderr, "vapp-voipd: sound card %d ready (waited %d ms)\n", card,
				waited);
	}
}

static int parse_sip(const char *s, struct opts *o, struct sip *sip)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(o->sip_addr))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 64000)
		return -1;
	memcpy(o->sip_addr, s, (size_t)(colon - s));
	o->sip_addr[colon - s] = '\0';
	sip->sip_addr = o->sip_addr;
	sip->sip_port = (int)port;
	return 0;
}

/* @return -1 to go on, else the exit status (said). */
static int parse(int argc, char **argv, struct opts *o, struct voip_daemon *d)
{
	enum { O_SIP = 256, O_CTL, O_SRC, O_PLAY, O_BARESIP, O_MODULES, O_RECORD, O_NET, O_GW,
	       O_WAIT_SOUND };
	static const struct option lo[] = {
		{ "attach", required_argument, NULL, 'a' },
		{ "listen", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "sip", required_argument, NULL, O_SIP },
		{ "control-port", required_argument, NULL, O_CTL },
		{ "audio-source", required_argument, NULL, O_SRC },
		{ "audio-player", required_argument, NULL, O_PLAY },
		{ "baresip", required_argument, NULL, O_BARESIP },
		{ "modules", required_argument, NULL, O_MODULES },
		{ "record", required_argument, NULL, O_RECORD },
		{ "net", required_argument, NULL, O_NET },
		{ "gateway", required_argument, NULL, O_GW },
		{ "wait-sound", required_argument, NULL, O_WAIT_SOUND },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "a:l:s:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'l':
			if (appliance_addr_add(&o->addrs, c, optarg))
				goto bad;
			break;
		case 's': d->state_dir = optarg; break;
		case 'r': snprintf(d->sip.dir, sizeof(d->sip.dir), "%s", optarg); break;
		case O_SIP:
			if (parse_sip(optarg, o, &d->sip))
				goto bad;
			break;
		case O_CTL:
			d->sip.ctl_port = atoi(optarg);
			if (d->sip.ctl_port < 1 || d->sip.ctl_port > 65535)
				goto bad;
			break;
		case O_SRC: d->sip.audio_source = optarg; break;
		case O_PLAY: d->sip.audio_player = optarg; break;
		case O_BARESIP: d->sip.baresip = optarg; break;
		case O_MODULES: d->sip.modules = optarg; break;
		case O_RECORD: d->sip.record = optarg; break;
		case O_NET: o->net = optarg; break;
		case O_GW: o->gateway = optarg; break;
		case O_WAIT_SOUND: {
			char *end;
			long sec = strtol(optarg, &end, 10);

			if (*end || end == optarg || sec < 0 || sec > 600)
				goto bad;
			o->wait_sound_ms = (int)sec * 1000;
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: goto bad;
		}
	}
	if (o->gateway && !o->net)
		fputs("vapp-voipd: --gateway needs --net\n", stderr);
	else if (optind == argc && (o->addrs.n_attach || o->addrs.n_listen))
		return -1;
	if (!o->addrs.n_attach && !o->addrs.n_listen)
		fputs("vapp-voipd: give --attach or --listen\n", stderr);
bad:
	fputs("Run 'vapp-voipd --help' for usage.\n", stderr);
	return 2;
}

static void on_signal(void *ud, int fd, short revents)
{
	struct voip_daemon *d = ud;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			pid_t pid;
			int st;

			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				sip_reaped(&d->sip, pid, st);
		} else {
			vrpc_loop_quit(d->sip.loop);
		}
	}
}

static int serve(struct voip_daemon *d, struct opts *o, struct vrpc_server *srv, int sigfd)
{
	static const char *const streaming[] = { "WatchEvents", NULL };
	int err = vrpc_server_add_service(srv, &d->svc.base, streaming);

	if (bring_up_net(o))
		return 1;
	wait_sound(d, o);
	if (err || appliance_addrs_open("vapp-voipd", srv, &o->addrs)) {
		fprintf(stderr, "vapp-voipd: cannot serve\n");
		return 1;
	}
	err = sip_start(&d->sip);
	if (err) {
		fprintf(stderr, "vapp-voipd: cannot start the SIP stack %s: %s\n", d->sip.baresip,
			strerror(-err));
		return 1;
	}
	if (vrpc_loop_add_server(d->sip.loop, srv) < 0 ||
	    vrpc_loop_add_fd(d->sip.loop, sigfd, POLLIN, on_signal, d) < 0)
		return 1;
	fprintf(stderr, "vapp-voipd: serving vapp.voip.v1.Voip; SIP on %s:%d\n", d->sip.sip_addr,
		d->sip.sip_port);
	vrpc_loop_run(d->sip.loop);
	return 0;
}

int main(int argc, char **argv)
{
	static struct voip_daemon d = {
		.sip = { .baresip = "/usr/bin/baresip", .modules = "/usr/lib/baresip/modules",
			 .sip_addr = "0.0.0.0", .sip_port = 5060, .ctl_port = 4444,
			 .audio_source = "alsa,default", .audio_player = "alsa,default",
			 .dir = "/run/vapp-voip", .pid = -1, .fd = -1, .out_fd = -1 },
	};
	struct opts o = { .wait_sound_ms = 0 };
	struct vrpc_server *srv;
	sigset_t mask;
	int rc = parse(argc, argv, &o, &d), sigfd;

	if (rc >= 0)
		return rc;
	/* The SIP stack's config holds the accounts' passwords. */
	umask(077);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d.sip.loop = vrpc_loop_new();
	srv = vrpc_server_new(NULL);
	if (sigfd < 0 || !d.sip.loop || !srv || voip_service_init(&d) < 0) {
		fprintf(stderr, "vapp-voipd: cannot start: %s\n", strerror(errno));
		return 1;
	}
	rc = serve(&d, &o, srv, sigfd);
	sip_stop(&d.sip);
	voip_service_fini(&d);
	vrpc_server_free(srv);
	vrpc_loop_free(d.sip.loop);
	close(sigfd);
	return rc;
}
