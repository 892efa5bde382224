/* fuzz_measurement.c - libFuzzer: arbitrary bytes as an image's
 * `measurement` file (it comes from a folder anyone may have edited).
 * Whatever parses must be the one canonical text: formatting the result
 * gives back the input byte for byte, so a signature covers one meaning. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[MEASURE_TEXT_LEN + 1];
	struct measurement m;
	int line = -1;

	if (measurement_parse((const char *)data, size, &m, &line)) {
		if (line < 1 || line > MEASURE_N_PARTS + 3)
			abort(); /* the line of the problem must be a line */
		return 0;
	}
	if (line != 0 || size != MEASURE_TEXT_LEN)
		abort();
	measurement_format(&m, text);
	if (memcmp(text, data, size))
		abort();
	return 0;
}
