#!/bin/sh
# 07 store: a corrupted or unwritable database gives a clear error at start (exit 2, one
# reason naming the file), and the damaged file is left as it was: never silent data loss.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
make_gw_config "$T_DIR"

head -c 8192 /dev/urandom >gw.db
sum=$(md5sum gw.db)
"$GW" -c gw.yaml >out.txt 2>err.txt
rc=$?
[ $rc -eq 2 ] || fail "corrupt store: exit $rc, expected 2"
grep -q 'gw\.db' err.txt || fail "corrupt store: the error does not name the file: $(cat err.txt)"
grep -Eiq 'not a database|corrupt|not a msgin5g-gw store' err.txt || fail "corrupt store: no clear reason: $(cat err.txt)"
[ "$(md5sum gw.db)" = "$sum" ] || fail "the corrupt file was changed"
echo "ok corrupt: $(grep store err.txt | head -n 1)"

rm -f gw.db
sqlite3 gw.db "create table customers(id integer primary key, name text); insert into customers values(1,'x');" || skip "sqlite3 CLI missing"
sum=$(md5sum gw.db)
"$GW" -c gw.yaml >out.txt 2>err.txt
rc=$?
[ $rc -eq 2 ] || fail "foreign database: exit $rc, expected 2"
[ "$(md5sum gw.db)" = "$sum" ] || fail "the foreign database was changed"
echo "ok foreign: $(grep store err.txt | head -n 1)"

# unwritable: a location nobody (not even root) can create a file in
sed -i 's#^store: .*#store: /proc/msgin5g-gw-test.db#' gw.yaml
"$GW" -c gw.yaml >out.txt 2>err.txt
rc=$?
[ $rc -eq 2 ] || fail "unwritable store: exit $rc, expected 2 ($(cat err.txt))"
grep -q 'msgin5g-gw-test\.db' err.txt || fail "unwritable: the error does not name the file"
echo "ok unwritable: $(grep store err.txt | head -n 1)"
