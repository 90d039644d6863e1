/* Private to the store and its tests: hooks that production code does not use.
 * Not an installed contract; the daemon never includes this header. */
#ifndef MGW_STORE_TEST_H
#define MGW_STORE_TEST_H

#include <stdbool.h>
#include <stdint.h>

struct mgw_store;

/* Replace the clock behind mgw_now_ms() (NULL restores CLOCK_REALTIME). Process-wide. */
void mgw_store_set_clock(int64_t (*now_ms)(void));
/* Number of batches committed (or lost) since open: to check one commit per loop turn. */
unsigned long mgw_store_test_batches(const struct mgw_store *s);
/* Make the next commit fail as if COMMIT had returned an I/O error (the batch is rolled
 * back and its enqueue callbacks get MGW_E_STORE). */
void mgw_store_test_fail_next_commit(struct mgw_store *s);
/* Run the next attempt of a failed-writes episode now (the timer's work, for a store that
 * is not attached to a loop); MGW_OK if none is going on. */
int mgw_store_test_retry(struct mgw_store *s);
/* An episode is going on (writes failed, kept changes wait). */
bool mgw_store_test_degraded(const struct mgw_store *s);

#endif
