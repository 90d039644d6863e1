/* msgin5g-gw: retry back-off (include/mgw/backoff.h). */
#include <stdint.h>
#include <time.h>

#include <mgw/backoff.h>

void mgw_backoff_init(struct mgw_backoff *b, int64_t min_ms, int64_t max_ms, uint64_t seed)
{
	struct timespec ts;

	b->min_ms = min_ms < 1 ? 1 : min_ms;
	b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
	if (!seed) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)b;
	}
	b->rnd = seed ? seed : 1;
}

static uint64_t rnd_next(struct mgw_backoff *b)
{
	/* xorshift64*: jitter only, not security */
	b->rnd ^= b->rnd >> 12;
	b->rnd ^= b->rnd << 25;
	b->rnd ^= b->rnd >> 27;
	return b->rnd * 0x2545F4914F6CDD1DULL;
}

int64_t mgw_backoff_delay(struct mgw_backoff *b, uint32_t attempts, int64_t floor_ms)
{
	int64_t d = b->min_ms, span;

	while (attempts-- > 0 && d < b->max_ms)
		d *= 2;
	if (d > b->max_ms)
		d = b->max_ms;
	span = d / 2; /* [-25 %, +25 %] */
	if (span > 0)
		d = d - span / 2 + (int64_t)(rnd_next(b) % (uint64_t)(span + 1));
	if (d > b->max_ms)
		d = b->max_ms;
	if (floor_ms > d)
		d = floor_ms < b->max_ms ? floor_ms : b->max_ms;
	return d < 1 ? 1 : d;
}
