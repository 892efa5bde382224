/*
 * audio.c - the appliance's sound cards, through ALSA: what cards and PCM
 * devices there are (ListAudioDevices), and the levels of the speaker and
 * the microphone on the card the SIP stack uses (SetVolume, GetStatus).
 *
 * The card is the one baresip's audio driver names: "alsa,default" and
 * "alsa,plughw:0,0" are card 0, "alsa,hw:1" card 1; any other driver
 * (ausine, aufile in tests) has no mixer. The speaker's level is the first
 * playback volume among Master, PCM, Speaker, Headphone, Front, else any;
 * the microphone's the first capture volume among Capture, Mic, else any.
 * A level is a percentage of the control's range, its switch on above 0.
 */
#include <alsa/asoundlib.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "voip.h"

/* The ALSA card index of a baresip "DRIVER,DEVICE", or -1. */
int voip_audio_card(const char *spec)
{
	const char *dev, *digits;
	char *end;
	long n;

	if (strncmp(spec, "alsa,", 5))
		return -1;
	dev = spec + 5;
	if (!strcmp(dev, "default") || !*dev)
		return 0;
	digits = strpbrk(dev, "0123456789");
	if (!digits || (strncmp(dev, "hw:", 3) && strncmp(dev, "plughw:", 7)))
		return -1;
	n = strtol(digits, &end, 10);
	return n >= 0 && n < 32 && (*end == '\0' || *end == ',') ? (int)n : -1;
}

static const char *const out_names[] = { "Master", "PCM", "Speaker", "Headphone", "Front", NULL };
static const char *const in_names[] = { "Capture", "Mic", NULL };

static bool has_volume(snd_mixer_elem_t *e, bool capture)
{
	return capture ? snd_mixer_selem_has_capture_volume(e) :
			 snd_mixer_selem_has_playback_volume(e);
}

static snd_mixer_elem_t *find_elem(snd_mixer_t *m, bool capture)
{
	const char *const *names = capture ? in_names : out_names;
	snd_mixer_elem_t *e, *any = NULL;

	for (size_t i = 0; names[i]; i++)
		for (e = snd_mixer_first_elem(m); e; e = snd_mixer_elem_next(e))
			if (!strcmp(snd_mixer_selem_get_name(e), names[i]) && has_volume(e, capture))
				return e;
	for (e = snd_mixer_first_elem(m); e && !any; e = snd_mixer_elem_next(e))
		if (has_volume(e, capture))
			any = e;
	return any;
}

static int open_mixer(int card, snd_mixer_t **m)
{
	char name[16];
	int err;

	snprintf(name, sizeof(name), "hw:%d", card);
	if ((err = snd_mixer_open(m, 0)) < 0)
		return err;
	if ((err = snd_mixer_attach(*m, name)) < 0 ||
	    (err = snd_mixer_selem_register(*m, NULL, NULL)) < 0 ||
	    (err = snd_mixer_load(*m)) < 0) {
		snd_mixer_close(*m);
		return err;
	}
	return 0;
}

static int level_set(snd_mixer_elem_t *e, bool capture, unsigned pct)
{
	long min, max, v;
	int err = capture ? snd_mixer_selem_get_capture_volume_range(e, &min, &max) :
			    snd_mixer_selem_get_playback_volume_range(e, &min, &max);

	if (err < 0)
		return err;
	v = min + ((max - min) * (long)pct + 50) / 100;
	err = capture ? snd_mixer_selem_set_capture_volume_all(e, v) :
			snd_mixer_selem_set_playback_volume_all(e, v);
	if (err < 0)
		return err;
	if (capture && snd_mixer_selem_has_capture_switch(e))
		err = snd_mixer_selem_set_capture_switch_all(e, pct > 0);
	else if (!capture && snd_mixer_selem_has_playback_switch(e))
		err = snd_mixer_selem_set_playback_switch_all(e, pct > 0);
	return err < 0 ? err : 0;
}

int voip_audio_set_volume(int card, unsigned out, unsigned in, char *why, size_t whylen)
{
	snd_mixer_elem_t *eo, *ei;
	snd_mixer_t *m;
	int err;

	if (card < 0) {
		snprintf(why, whylen, "the SIP stack's audio is not on a sound card");
		return -ENODEV;
	}
	if ((err = open_mixer(card, &m)) < 0) {
		snprintf(why, whylen, "sound card %d: %s", card, snd_strerror(err));
		return -ENODEV;
	}
	eo = find_elem(m, false);
	ei = find_elem(m, true);
	if (!eo || !ei) {
		snprintf(why, whylen, "sound card %d has no %s volume", card,
			 !eo ? "playback" : "capture");
		snd_mixer_close(m);
		return -ENODEV;
	}
	if ((err = level_set(eo, false, out)) < 0 || (err = level_set(ei, true, in)) < 0)
		snprintf(why, whylen, "sound card %d: %s", card, snd_strerror(err));
	snd_mixer_close(m);
	return err < 0 ? -EIO : 0;
}

/* One card's PCM devices into @p out (at most @p max). */
static size_t card_devices(int card, struct voip_audio_dev *out, size_t max)
{
	char name[16];
	const char *card_name = "";
	snd_ctl_t *ctl;
	snd_ctl_card_info_t *ci;
	snd_pcm_info_t *info;
	int dev = -1;
	size_t n = 0;

	snprintf(name, sizeof(name), "hw:%d", card);
	if (snd_ctl_open(&ctl, name, 0) < 0)
		return 0;
	snd_ctl_card_info_alloca(&ci);
	if (snd_ctl_card_info(ctl, ci) == 0)
		card_name = snd_ctl_card_info_get_name(ci);
	snd_pcm_info_alloca(&info);
	while (n < max && snd_ctl_pcm_next_device(ctl, &dev) == 0 && dev >= 0) {
		struct voip_audio_dev *d = &out[n];

		memset(d, 0, sizeof(*d));
		snprintf(d->id, sizeof(d->id), "hw:%d,%d", card, dev);
		snd_pcm_info_set_device(info, (unsigned)dev);
		snd_pcm_info_set_subdevice(info, 0);
		for (int s = 0; s < 2; s++) {
			snd_pcm_info_set_stream(info, s ? SND_PCM_STREAM_CAPTURE :
							  SND_PCM_STREAM_PLAYBACK);
			if (snd_ctl_pcm_info(ctl, info) < 0)
				continue;
			*(s ? &d->capture : &d->playback) = true;
			if (!d->name[0])
				snprintf(d->name, sizeof(d->name), "%s: %s", card_name,
					 snd_pcm_info_get_name(info));
		}
		n += d->playback || d->capture;
	}
	snd_ctl_close(ctl);
	return n;
}

size_t voip_audio_devices(struct voip_audio_dev *out, size_t max)
{
	int card = -1;
	size_t n = 0;

	while (n < max && snd_card_next(&card) == 0 && card >= 0)
		n += card_devices(card, out + n, max - n);
	return n;
}

/* A card's control and its first playback and capture devices, as the
 * kernel registers them once the card's codecs are probed. */
static bool card_ready(int card)
{
	char ctl[32], play[32], cap[32];

	snprintf(ctl, sizeof(ctl), "/dev/snd/controlC%d", card);
	snprintf(play, sizeof(play), "/dev/snd/pcmC%dD0p", card);
	snprintf(cap, sizeof(cap), "/dev/snd/pcmC%dD0c", card);
	return !access(ctl, F_OK) && !access(play, F_OK) && !access(cap, F_OK);
}

int voip_audio_wait(int card, int ms)
{
	struct timespec nap = { .tv_nsec = 50 * 1000000L };
	int waited = 0;

	if (card < 0)
		return 0;
	for (; !card_ready(card); waited += 50) {
		if (waited >= ms)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
	return waited;
}
