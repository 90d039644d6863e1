#!/bin/sh
# 01 config: -t accepts a good config; -T prints the effective config with defaults and
# masked secrets, and what it prints is itself a valid configuration; -V prints the version.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
make_gw_config "$T_DIR" "north:
  m5s:
    api_root: https://127.0.0.1:9443
    oauth2: { token_url: 'https://127.0.0.1:9444/oauth2/token', client_id: gw-1, client_secret: s3cr3t-value }
  listen: { port: 7443, insecure: true }"

"$GW" -c gw.yaml -t >out.txt 2>err.txt || { cat err.txt; fail "-t refused a good config"; }
grep -q "configuration OK (3 devices)" out.txt || fail "-t did not report the 3 devices: $(cat out.txt)"

"$GW" -c gw.yaml -T >dump.yaml 2>err.txt || { cat err.txt; fail "-T failed"; }
grep -Eq '^ *high_water: 100000' dump.yaml || fail "-T lacks the default queue.high_water"
grep -Eq '^ *downlink_validity: ' dump.yaml || fail "-T lacks queue.downlink_validity"
grep -Eq '^ *max_payload: ' dump.yaml || fail "-T lacks policy.max_payload"
grep -q 's3cr3t-value' dump.yaml && fail "-T printed a secret"
grep -Eq 'client_secret: .*secret' dump.yaml || fail "-T does not show the masked secret"
# what -T prints loads again (secrets masked are still strings)
"$GW" -c dump.yaml -t >/dev/null 2>err.txt || { cat err.txt; fail "-T output is not a valid config"; }

"$GW" -V | grep -Eq '^msgin5g-gw [0-9]+\.[0-9]+' || fail "-V"
echo "ok"
