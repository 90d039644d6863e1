/* Retry back-off: exponential, capped, jittered. The one utility every retry on the message
 * path uses (the north client toward the M5S, the core's downlink dispatcher, the store's
 * replay of writes that failed), so that their timing is tuned in one place. */
#ifndef MGW_BACKOFF_H
#define MGW_BACKOFF_H

#include <stdint.h>

struct mgw_backoff {
	int64_t min_ms;   /* delay after the first failure (attempts 0) */
	int64_t max_ms;   /* cap, jitter included */
	uint64_t rnd;     /* jitter PRNG state (xorshift64*), never 0 */
};

/* min_ms >= 1 (smaller is raised to 1), max_ms >= min_ms (smaller is raised to it); seed 0
 * takes one from the clock and the address of b. */
void mgw_backoff_init(struct mgw_backoff *b, int64_t min_ms, int64_t max_ms, uint64_t seed);
/* The delay before the next try after attempts earlier failures: min(max, min * 2^attempts)
 * with +-25 % jitter, never above max; raised to floor_ms (e.g. a Retry-After; capped at max).
 * Always >= 1. */
int64_t mgw_backoff_delay(struct mgw_backoff *b, uint32_t attempts, int64_t floor_ms);

#endif
