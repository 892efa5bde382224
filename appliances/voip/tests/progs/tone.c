/*
 * tone - is a WAV file (16-bit PCM, as baresip's sndfile module records a
 * call) a tone of FREQ Hz? Goertzel's algorithm gives the power at FREQ and
 * at other frequencies; the tone is there when FREQ's power is at least
 * 20 times the strongest other one and the signal is not silence.
 *
 *   tone FILE.wav FREQ [--last SECONDS]
 *                          exit 0: found; 1: not; 2: not a WAV we read
 *                          (--last: only the file's last SECONDS)
 *
 * It also makes one, for a microphone fed from a file (ALSA's file plugin
 * reads raw samples):
 *
 *   tone --make FREQ SECONDS RATE CHANNELS > FILE.raw   (S16LE, interleaved)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The power of @p freq in @p n samples at @p rate (Goertzel). */
static double goertzel(const int16_t *x, size_t n, double rate, double freq)
{
	double w = 2 * M_PI * freq / rate, c = 2 * cos(w), s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}

/* Finds the fmt and data chunks. @return 0 or -1. */
static int parse(const uint8_t *b, size_t len, unsigned *rate, unsigned *ch, const int16_t **pcm,
		 size_t *n)
{
	size_t off = 12;
	int fmt = 0;

	if (len < 12 || memcmp(b, "RIFF", 4) || memcmp(b + 8, "WAVE", 4))
		return -1;
	while (off + 8 <= len) {
		uint32_t sz = le32(b + off + 4);

		if (sz > len - off - 8)
			sz = (uint32_t)(len - off - 8); /* a recording cut short */
		if (!memcmp(b + off, "fmt ", 4) && sz >= 16) {
			if (b[off + 8] != 1 || b[off + 22] != 16)
				return -1; /* not 16-bit PCM */
			*ch = b[off + 10];
			*rate = le32(b + off + 12);
			fmt = 1;
		} else if (!memcmp(b + off, "data", 4) && fmt) {
			*pcm = (const int16_t *)(b + off + 8);
			*n = sz / 2;
			return *rate && *ch ? 0 : -1;
		}
		off += 8 + sz + (sz & 1);
	}
	return -1;
}

/* A sine at half of full scale, the same on every channel. */
static int make(char **argv)
{
	double f = atof(argv[0]), secs = atof(argv[1]);
	long rate = atol(argv[2]), ch = atol(argv[3]);
	int16_t frame[8];

	if (f <= 0 || secs <= 0 || secs > 3600 || rate < 8000 || rate > 192000 || ch < 1 || ch > 8) {
		fprintf(stderr, "tone --make: FREQ > 0, SECONDS up to 3600, RATE 8000-192000, "
				"CHANNELS 1-8\n");
		return 2;
	}
	for (long i = 0; i < (long)(secs * rate); i++) {
		int16_t v = (int16_t)lrint(16384 * sin(2 * M_PI * f * (double)i / (double)rate));

		for (long c = 0; c < ch; c++)
			frame[c] = v; /* little-endian on x86-64 */
		if (fwrite(frame, sizeof(frame[0]), (size_t)ch, stdout) != (size_t)ch)
			return 1;
	}
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[16 << 20];
	static int16_t mono[8 << 20];
	const double others[] = { 0.5, 0.75, 1.25, 1.5, 2.0, 2.5 };
	const int16_t *pcm;
	unsigned rate = 0, ch = 0;
	size_t len, n, m = 0;
	double want, f, best = 0, energy = 0, last = 0;
	FILE *fp;

	if (argc == 6 && !strcmp(argv[1], "--make"))
		return make(argv + 2);
	if (argc == 5 && !strcmp(argv[3], "--last") && (last = atof(argv[4])) > 0)
		argc = 3;
	if (argc != 3 || (f = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: tone FILE.wav FREQ [--last SECONDS]\n"
				"       tone --make FREQ SECONDS RATE CHANNELS > FILE.raw\n");
		return 2;
	}
	fp = fopen(argv[1], "rb");
	if (!fp) {
		perror(argv[1]);
		return 2;
	}
	len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	if (parse(buf, len, &rate, &ch, &pcm, &n)) {
		fprintf(stderr, "tone: %s: not a 16-bit PCM WAV\n", argv[1]);
		return 2;
	}
	/* The first channel only; the first half second skipped (the
	 * jitter buffer fills, the resampler settles), or all but the last. */
	size_t from = rate / 2 * ch;

	if (last > 0 && (double)n > last * rate * ch)
		from = n - (size_t)(last * rate) * ch;
	for (size_t i = from; i + ch <= n && m < sizeof(mono) / 2; i += ch)
		mono[m++] = pcm[i];
	for (size_t i = 0; i < m; i++)
		energy += (double)mono[i] * mono[i];
	want = goertzel(mono, m, rate, f);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		double p = goertzel(mono, m, rate, f * others[i]);

		best = p > best ? p : best;
	}
	printf("%s: %u Hz, %zu samples; %.0f Hz power %.1f, strongest other %.1f (ratio %.0f), "
	       "rms %.0f\n", argv[1], rate, m, f, want, best, best > 0 ? want / best : 0,
	       m ? sqrt(energy / m) : 0);
	return m > rate && sqrt(energy / m) > 100 && want >= 20 * best ? 0 : 1;
}
