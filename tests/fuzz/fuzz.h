/* The libFuzzer entry point every target defines (declared for -Wmissing-prototypes). */
#ifndef MGW_FUZZ_H
#define MGW_FUZZ_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif
