/*
 * alsa_test_pcm.c - an ALSA PCM plugin that is a sound card in real time
 * for the tests: what is played is written to a WAV file, what is recorded
 * is a sine of a given frequency, both paced by the clock like a card's
 * DMA. QEMU's alsa audiodev uses it as the host's "default" device, so the
 * appliance's emulated sound card has a speaker the test can read and a
 * microphone that hears a known tone. (ALSA's own null and file plugins
 * never block: QEMU would read them without end.) This host has no sound
 * card and no snd-aloop to stand in.
 *
 * ALSA configuration (ALSA_CONFIG_PATH names a file holding it):
 *   pcm_type.vapptest { lib "/abs/path/libasound_module_pcm_vapptest.so" }
 *   pcm.!default { type vapptest  file "/path/speaker.wav"  freq 1000 }
 * S16_LE, 1 or 2 channels, 8 to 48 kHz, a buffer of at most 64 KiB (a
 * card's size: QEMU would otherwise take seconds). The WAV header's sizes are left at
 * their maximum (the file is read by tone, which takes the file's length).
 */
#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct vt {
	snd_pcm_ioplug_t io;
	FILE *out;           /* playback: the WAV file */
	double freq;         /* capture: the sine's frequency */
	uint64_t made;       /* capture: frames made so far (the sine's phase) */
	struct timespec t0;  /* when it started */
	snd_pcm_uframes_t base; /* the position at start */
	int running, header_done;
};

static uint64_t elapsed_frames(const struct vt *v)
{
	struct timespec now;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (double)(now.tv_sec - v->t0.tv_sec) + (double)(now.tv_nsec - v->t0.tv_nsec) / 1e9;
	return (uint64_t)(s * v->io.rate);
}

static int vt_start(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	long ns = (long)((double)io->period_size * 1e9 / io->rate);
	struct itimerspec it = { .it_interval = { ns / 1000000000, ns % 1000000000 },
				 .it_value = { ns / 1000000000, ns % 1000000000 } };

	clock_gettime(CLOCK_MONOTONIC, &v->t0);
	v->base = io->hw_ptr;
	v->running = 1;
	return timerfd_settime(io->poll_fd, 0, &it, NULL) < 0 ? -errno : 0;
}

static int vt_stop(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	struct itimerspec off = { 0 };

	v->running = 0;
	return timerfd_settime(io->poll_fd, 0, &off, NULL) < 0 ? -errno : 0;
}

/* Where the "DMA" is: the clock's frames since start, in the buffer. A
 * speaker with nothing more to play waits for the player (no underrun: the
 * recording simply has no gap). */
static snd_pcm_sframes_t vt_pointer(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	uint64_t pos = io->hw_ptr;

	if (!v->running)
		return (snd_pcm_sframes_t)(pos % io->buffer_size);
	pos = v->base + elapsed_frames(v);
	if (io->stream == SND_PCM_STREAM_PLAYBACK && pos > io->appl_ptr)
		pos = io->appl_ptr;
	return (snd_pcm_sframes_t)(pos % io->buffer_size);
}

static void le16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

static void wav_header(struct vt *v)
{
	uint8_t h[44];
	unsigned ch = v->io.channels, rate = v->io.rate;

	memcpy(h, "RIFF", 4);
	le32(h + 4, 0xffffffffu);
	memcpy(h + 8, "WAVEfmt ", 8);
	le32(h + 16, 16);
	le16(h + 20, 1);
	le16(h + 22, ch);
	le32(h + 24, rate);
	le32(h + 28, rate * ch * 2);
	le16(h + 32, ch * 2);
	le16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	le32(h + 40, 0xffffffffu - 44);
	fwrite(h, 1, sizeof(h), v->out);
	v->header_done = 1;
}

static snd_pcm_sframes_t vt_transfer(snd_pcm_ioplug_t *io, const snd_pcm_channel_area_t *areas,
				     snd_pcm_uframes_t offset, snd_pcm_uframes_t size)
{
	struct vt *v = io->private_data;
	int16_t *buf = (int16_t *)((char *)areas[0].addr + (areas[0].first +
					areas[0].step * offset) / 8);

	if (io->stream == SND_PCM_STREAM_PLAYBACK) {
		if (v->out) {
			if (!v->header_done)
				wav_header(v);
			fwrite(buf, 2 * io->channels, size, v->out);
			fflush(v->out);
		}
		return (snd_pcm_sframes_t)size;
	}
	for (snd_pcm_uframes_t i = 0; i < size; i++, v->made++) {
		int16_t s = (int16_t)lrint(12000 * sin(2 * M_PI * v->freq * (double)v->made /
						       io->rate));

		for (unsigned c = 0; c < io->channels; c++)
			buf[i * io->channels + c] = s;
	}
	return (snd_pcm_sframes_t)size;
}

static int vt_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int nfds,
			   unsigned short *revents)
{
	uint64_t ticks;

	if (nfds != 1)
		return -EINVAL;
	*revents = 0;
	if (pfd[0].revents & POLLIN) {
		if (read(io->poll_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			return -errno;
		*revents = io->stream == SND_PCM_STREAM_PLAYBACK ? POLLOUT : POLLIN;
	}
	return 0;
}

static int vt_close(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;

	if (v->out)
		fclose(v->out);
	close(io->poll_fd);
	free(v);
	return 0;
}

static const snd_pcm_ioplug_callback_t vt_callbacks = {
	.start = vt_start,
	.stop = vt_stop,
	.pointer = vt_pointer,
	.transfer = vt_transfer,
	.poll_revents = vt_poll_revents,
	.close = vt_close,
};

static int constrain(snd_pcm_ioplug_t *io)
{
	static const unsigned access[] = { SND_PCM_ACCESS_RW_INTERLEAVED };
	static const unsigned formats[] = { SND_PCM_FORMAT_S16_LE };
	int err;

	if ((err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_ACCESS, 1, access)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_FORMAT, 1, formats)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_CHANNELS, 1, 2)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_RATE, 8000, 48000)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, 256,
						   16 * 1024)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_BUFFER_BYTES, 1024,
						   64 * 1024)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIODS, 2, 64)) < 0)
		return err;
	return 0;
}

SND_PCM_PLUGIN_DEFINE_FUNC(vapptest)
{
	snd_config_iterator_t i, next;
	const char *file = NULL;
	double freq = 1000;
	struct vt *v;
	int err;

	(void)root;
	snd_config_for_each(i, next, conf) {
		snd_config_t *n = snd_config_iterator_entry(i);
		const char *id;
		long l;

		if (snd_config_get_id(n, &id) < 0)
			continue;
		if (!strcmp(id, "comment") || !strcmp(id, "type") || !strcmp(id, "hint"))
			continue;
		if (!strcmp(id, "file") && snd_config_get_string(n, &file) >= 0)
			continue;
		if (!strcmp(id, "freq") && snd_config_get_integer(n, &l) >= 0 && l > 0 && l < 20000) {
			freq = (double)l;
			continue;
		}
		SNDERR("vapptest: bad or unknown field %s", id);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->freq = freq;
	if (stream == SND_PCM_STREAM_PLAYBACK && file && !(v->out = fopen(file, "wb"))) {
		err = -errno;
		SNDERR("vapptest: %s: %s", file, strerror(errno));
		free(v);
		return err;
	}
	v->io.version = SND_PCM_IOPLUG_VERSION;
	v->io.name = "vapp test sound card";
	v->io.callback = &vt_callbacks;
	v->io.private_data = v;
	v->io.poll_events = POLLIN;
	v->io.poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->io.poll_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = snd_pcm_ioplug_create(&v->io, name, stream, mode);
	if (err < 0)
		goto fail;
	err = constrain(&v->io);
	if (err < 0) {
		snd_pcm_ioplug_delete(&v->io); /* closes through vt_close */
		return err;
	}
	*pcmp = v->io.pcm;
	return 0;
fail:
	if (v->io.poll_fd >= 0)
		close(v->io.poll_fd);
	if (v->out)
		fclose(v->out);
	free(v);
	return err;
}

SND_PCM_PLUGIN_SYMBOL(vapptest);
