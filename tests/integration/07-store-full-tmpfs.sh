#!/bin/sh
# 07 store, disk full for real: 07-store-full with the store on an 8 MiB tmpfs that the test
# mounts and fills to the last byte, then empties ("space returns"). Root only (exit 77).
STORE_FULL_MODE=tmpfs
. "$top_srcdir/tests/integration/07-store-full.sh"
