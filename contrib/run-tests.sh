#!/bin/sh
# The README's test command: install what is missing (Debian 12, needs root), build in
# _build, run `make check`, print "N passed, N failed".
# Usage: contrib/run-tests.sh [configure options...]   e.g. --enable-sanitize
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
sh contrib/install-deps.sh || exit 2
sh contrib/build.sh _build --enable-werror "$@" || exit 2
cd _build || exit 2
make -j2 check >check.out 2>&1
rc=$?
grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' check.out
if [ $rc -ne 0 ]; then
	# automake's .trs line is ":test-result: FAIL" (or ERROR): show each such test's log tail
	find . -name '*.trs' | sort | while read -r l; do
		grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$l" || continue
		echo "---- ${l%.trs}.log (last 40 lines)"
		tail -n 40 "${l%.trs}.log"
	done
fi
pass=$(sed -n 's/^# PASS: *//p' test-suite.log 2>/dev/null | head -n 1)
failn=$(sed -n 's/^# FAIL: *//p' test-suite.log 2>/dev/null | head -n 1)
err=$(sed -n 's/^# ERROR: *//p' test-suite.log 2>/dev/null | head -n 1)
skipn=$(sed -n 's/^# SKIP: *//p' test-suite.log 2>/dev/null | head -n 1)
pass=${pass:-0}; failn=$(( ${failn:-0} + ${err:-0} ))
[ $rc -ne 0 ] && [ "$failn" -eq 0 ] && failn=1   # the build of the tests failed
echo "${pass} passed, ${failn} failed, ${skipn:-0} skipped"
exit $rc
