#!/bin/sh
# Replay every fuzz target's corpus (tests/fuzz/corpus/<target>/) through it.
# A target without a corpus is a failure: every parser must have one.
set -u
fail=0
n=0
for p in $FUZZ_PROGS; do
	name=$(basename "$p")
	corpus="$top_srcdir/tests/fuzz/corpus/$name"
	if [ ! -d "$corpus" ]; then
		echo "FAIL $name: no corpus at $corpus"
		fail=1
		continue
	fi
	if ! "$top_builddir/$p" "$corpus"; then
		echo "FAIL $name"
		fail=1
	fi
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no fuzz targets"; exit 1; }
exit $fail
