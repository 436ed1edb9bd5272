/*
 * fuzz_check.h - what every libFuzzer target here shares: CHECK(), an
 * assertion that aborts (so libFuzzer saves the input) even under NDEBUG,
 * and the entry point's prototype.
 */
#ifndef ARTIFACTFS_FUZZ_CHECK_H
#define ARTIFACTFS_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
