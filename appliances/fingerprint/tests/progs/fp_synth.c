/*
 * fp_synth.c - synthetic fingerprint scans for the tests' image reader
 * (libfprint's virtual_image), made here from a seed: no print image is
 * shipped or downloaded. Every image is this program's own output, so the
 * test prints have no origin but this file and the project's licence.
 *
 *   fp_synth FINGER SCAN...      the scans, one record each
 *   fp_synth --pgm FINGER SCAN   one scan as a PGM file
 *
 * FINGER (a number) makes one finger: a ridge pattern grown from random
 * noise by filtering it again and again with Gabor filters that follow an
 * orientation field with a core and a delta (the way synthetic-print
 * generators such as SFinGe work); where the grown ridges end or fork are
 * the finger's minutiae, different for each FINGER. SCAN (a number) is one
 * placing of that finger on a 500 dpi sensor: turned by up to 8 degrees,
 * moved by up to 14 pixels, pressed lighter or harder, with sensor noise.
 * Two scans of one finger share their minutiae (libfprint's NBIS matcher
 * finds them); two fingers do not.
 *
 * Output: what virtual_image reads from its socket (two native ints, width
 * and height, then the grey bytes, dark ridges on white), or with --pgm a
 * PGM file to look at.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M 440                  /* the finger's canvas, pixels */
#define SW 240                 /* the sensor, all of it on the finger */
#define SH 300
#define KR 8                   /* Gabor kernel radius */
#define KN (2 * KR + 1)
#define NORIENT 32
#define ROUNDS 18

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

static double urand(void) /* [0, 1) */
{
	return rnd() / 2147483648.0;
}

static double grand(void)
{
	double u = urand() + 1e-9, v = urand();

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static float kernel[NORIENT][KN][KN];

static void make_kernels(double period)
{
	/* Longer along the ridge than across: ridges grow on, and end or
	 * fork less often than noise alone would make them. */
	double sa = period * 0.45, sl = period * 0.8;

	for (int o = 0; o < NORIENT; o++) {
		double th = M_PI * o / NORIENT, c = cos(th), s = sin(th), sum = 0;

		for (int y = -KR; y <= KR; y++)
			for (int x = -KR; x <= KR; x++) {
				/* Ridges run along th: the wave goes across it. */
				double across = -x * s + y * c, along = x * c + y * s;
				double g = exp(-across * across / (2 * sa * sa) - along * along / (2 * sl * sl)) *
					   cos(2 * M_PI * across / period);

				kernel[o][y + KR][x + KR] = (float)g;
				sum += g;
			}
		/* Zero mean: a flat area gives nothing. */
		for (int y = 0; y < KN; y++)
			for (int x = 0; x < KN; x++)
				kernel[o][y][x] -= (float)(sum / (KN * KN));
	}
}

/* The ridge direction at (x, y), from the finger's cores and deltas (the
 * zero-pole model of Sherlock and Monro), turned by th0, with a slow
 * random bend. */
struct field {
	int nc, nd;
	double cx[2], cy[2], dx[2], dy[2], th0, a[3], fx[3], fy[3], ph[3];
};

static double orientation(const struct field *f, double x, double y)
{
	double th = f->th0;

	for (int i = 0; i < f->nd; i++)
		th += 0.5 * atan2(y - f->dy[i], x - f->dx[i]);
	for (int i = 0; i < f->nc; i++)
		th -= 0.5 * atan2(y - f->cy[i], x - f->cx[i]);
	for (int i = 0; i < 3; i++)
		th += f->a[i] * sin(f->fx[i] * x + f->fy[i] * y + f->ph[i]);
	return th;
}

/* A loop, a whorl or an arch, placed at random. */
static void pick_field(struct field *f)
{
	int kind = (int)(urand() * 3);
	double c = M / 2 + (urand() - 0.5) * 80, r = M * 0.45 + (urand() - 0.5) * 60;

	f->nc = f->nd = 0;
	if (kind == 0) { /* a loop: a core, a delta below to one side */
		f->nc = f->nd = 1;
		f->cx[0] = c;
		f->cy[0] = r;
		f->dx[0] = c + (urand() < 0.5 ? -1 : 1) * (60 + urand() * 60);
		f->dy[0] = r + 100 + urand() * 60;
	} else if (kind == 1) { /* a whorl: two cores, a delta each side */
		f->nc = f->nd = 2;
		for (int i = 0; i < 2; i++) {
			f->cx[i] = c + (i ? 1 : -1) * (8 + urand() * 14);
			f->cy[i] = r + (i ? 1 : -1) * (5 + urand() * 15);
			f->dx[i] = c + (i ? 1 : -1) * (110 + urand() * 50);
			f->dy[i] = r + 120 + urand() * 50;
		}
	}
	f->th0 = (urand() - 0.5) * 0.6;
	for (int i = 0; i < 3; i++) {
		f->a[i] = (kind == 2 ? 0.45 : 0.15) * urand();
		f->fx[i] = (urand() - 0.5) * 0.03;
		f->fy[i] = (urand() - 0.5) * 0.03;
		f->ph[i] = urand() * 2 * M_PI;
	}
}

/* The finger's ridges on the canvas, -1 (valley) to 1 (ridge). */
static void grow(float *img, unsigned finger)
{
	static float next[M * M];
	static unsigned char orient[M * M];
	struct field f;

	rng_state = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)finger * 0x100000001b3ULL);
	for (int i = 0; i < 8; i++)
		rnd();
	pick_field(&f);
	make_kernels(8.5 + urand() * 1.5);
	for (int y = 0; y < M; y++)
		for (int x = 0; x < M; x++) {
			double th = fmod(orientation(&f, x, y), M_PI);

			if (th < 0)
				th += M_PI;
			orient[y * M + x] = (unsigned char)((int)lround(th / M_PI * NORIENT) % NORIENT);
			img[y * M + x] = (float)(urand() * 2 - 1);
		}
	for (int r = 0; r < ROUNDS; r++) {
		for (int y = 0; y < M; y++)
			for (int x = 0; x < M; x++) {
				float (*k)[KN] = kernel[orient[y * M + x]];
				float s = 0;

				for (int j = -KR; j <= KR; j++) {
					int yy = y + j < 0 ? 0 : y + j >= M ? M - 1 : y + j;

					for (int i = -KR; i <= KR; i++) {
						int xx = x + i < 0 ? 0 : x + i >= M ? M - 1 : x + i;

						s += k[j + KR][i + KR] * img[yy * M + xx];
					}
				}
				next[y * M + x] = s;
			}
		for (int i = 0; i < M * M; i++) {
			float v = next[i] * 0.6f;

			img[i] = v > 1 ? 1 : v < -1 ? -1 : v;
		}
	}
}

static float at(const float *img, double x, double y)
{
	int x0 = (int)floor(x), y0 = (int)floor(y);
	double fx = x - x0, fy = y - y0;
	float v[4];

	for (int i = 0; i < 4; i++) {
		int xx = x0 + (i & 1), yy = y0 + (i >> 1);

		v[i] = xx < 0 || yy < 0 || xx >= M || yy >= M ? -1 : img[yy * M + xx];
	}
	return (float)((v[0] * (1 - fx) + v[1] * fx) * (1 - fy) + (v[2] * (1 - fx) + v[3] * fx) * fy);
}

/* One placing of the finger on the sensor. */
static void scan(const float *img, unsigned finger, unsigned n, unsigned char *out)
{
	double a, tx, ty, press, c, s;

	rng_state = ((uint64_t)finger << 32 ^ n) * 0x2545f4914f6cdd1dULL + 1;
	for (int i = 0; i < 8; i++)
		rnd();
	a = (urand() - 0.5) * 16 * M_PI / 180;
	tx = (urand() - 0.5) * 28;
	ty = (urand() - 0.5) * 28;
	press = (urand() - 0.5) * 0.5;
	c = cos(a);
	s = sin(a);
	for (int y = 0; y < SH; y++)
		for (int x = 0; x < SW; x++) {
			/* Sensor point -> canvas point, about the centres. */
			double u = x - SW / 2.0, v = y - SH / 2.0;
			double mx = c * u - s * v + M / 2.0 + tx, my = s * u + c * v + M / 2.0 + ty;
			double r = at(img, mx, my) + press, g;

			r = r > 1 ? 1 : r < -1 ? -1 : r;
			g = 235 - 100 * (r + 1) + grand() * 10;
			out[y * SW + x] = (unsigned char)(g < 0 ? 0 : g > 255 ? 255 : g);
		}
}

int main(int argc, char **argv)
{
	static float img[M * M];
	static unsigned char out[SW * SH];
	int pgm = argc > 1 && !strcmp(argv[1], "--pgm");
	unsigned long finger;
	char *e;

	if (argc < 3 + pgm || (pgm && argc != 4)) {
		fprintf(stderr, "usage: fp_synth FINGER SCAN...\n"
				"       fp_synth --pgm FINGER SCAN\n");
		return 2;
	}
	finger = strtoul(argv[1 + pgm], &e, 10);
	if (*e) {
		fprintf(stderr, "fp_synth: FINGER is a number\n");
		return 2;
	}
	grow(img, (unsigned)finger);
	for (int i = 2 + pgm; i < argc; i++) {
		unsigned long n = strtoul(argv[i], &e, 10);
		int hdr[2] = { SW, SH };

		if (*e) {
			fprintf(stderr, "fp_synth: SCAN is a number\n");
			return 2;
		}
		scan(img, (unsigned)finger, (unsigned)n, out);
		if (pgm)
			printf("P5\n%d %d\n255\n", SW, SH);
		else
			fwrite(hdr, sizeof(hdr), 1, stdout);
		fwrite(out, sizeof(out), 1, stdout);
	}
	return fflush(stdout) ? 1 : 0;
}
