/* The store's backend-independent part: the clock used for created/updated times.
 * The backend (store_sqlite.c) implements the rest of include/mgw/store.h. */
#include <time.h>

#include <mgw/store.h>

#include "store_test.h"

/* Only tests replace the clock; the daemon always reads CLOCK_REALTIME. */
static int64_t (*clock_override)(void);

void mgw_store_set_clock(int64_t (*now_ms)(void))
{
	clock_override = now_ms;
}

int64_t mgw_now_ms(void)
{
	struct timespec ts;

	if (clock_override)
		return clock_override();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
