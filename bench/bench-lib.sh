# bench/bench-lib.sh: the one CPU sampler and result-line writer of the benchmarks (sourced).
#   cpu_ticks PID            utime+stime of PID in clock ticks (/proc/PID/stat fields 14+15)
#   cpu_us PID TICKS0 N      CPU µs per message of PID since TICKS0 over N messages ("-" if unknown)
#   bench_result PATH GW PEER CPU_US P50 P99
#                            the machine-readable line bench/run-all.sh collects:
#                            BENCH path=... gw=... peer=... cpu_us=... p50=... p99=... ("-" = none)
cpu_ticks() {
	# the comm field (2) may hold spaces: cut up to its closing parenthesis first
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}
cpu_us() {
	_t1=$(cpu_ticks "$1")
	if [ -z "$_t1" ] || [ -z "$2" ] || [ "${3:-0}" -le 0 ] 2>/dev/null; then
		echo -
		return 0
	fi
	awk -v a="$2" -v b="$_t1" -v n="$3" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f\n", (b - a) * 1e6 / hz / n }'
}
bench_result() {
	echo "BENCH path=$1 gw=${2:--} peer=${3:--} cpu_us=${4:--} p50=${5:--} p99=${6:--}"
}
