#!/usr/bin/env bash
# The scanner's cost per host, counted rather than timed: user-space instructions and
# allocations of `relayscan scan` under callgrind, full catalogue, no delay, the data
# reports (CSV, JSONL, JSON) written, against a lab of `closed` hosts. Per host = (a scan
# of N2 hosts - a scan of N1 hosts) / (N2 - N1), so that start-up and the reports' heads
# and tails cancel. Counts do not depend on the machine's load, so this runs anywhere.
#
#   benches/record_cost.sh                     # N1=100, N2=300
#   N1=50 N2=150 RELAYSCAN_BIN=target/debug/relayscan benches/record_cost.sh
#
# Allocations are calls into the Rust allocator shims (__rust_alloc, __rust_alloc_zeroed,
# __rust_realloc), i.e. every heap allocation and growth the scanner's Rust code asks of
# mimalloc. Kernel instructions are not counted here: `perf stat -e instructions:k` needs
# a hardware counter, which the development VM lacks ("<not supported>").
#
# Loopback only: the lab binds 127.9.0.0/22 (tests/integration/support/nets.rs,
# BENCH_RECORD_COST); the scanner under callgrind is slow, so it runs at -c 20 with long
# timeouts. Needs valgrind.
set -euo pipefail
n1="${N1:-100}"
n2="${N2:-300}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${RELAYSCAN_BIN:-$here/target/release/relayscan}"
[ -x "$bin" ] || { echo "record_cost: no $bin (cargo build --release, or set RELAYSCAN_BIN)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "record_cost: needs valgrind" >&2; exit 2; }
[ "$n2" -gt "$n1" ] || { echo "record_cost: N2 ($n2) must be larger than N1 ($n1)" >&2; exit 2; }
work="$(mktemp -d)"
lab_pid=""
cleanup() {
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" lab --bind 127.9.0.0/22 --port 0 --hosts "$n2" --persona closed >"$work/lab.out" 2>&1 &
lab_pid=$!
for _ in $(seq 1 100); do
  grep -q '^lab ready: ' "$work/lab.out" && break
  sleep 0.1
done
port="$(sed -n 's/^lab ready: [0-9]* hosts on port \([0-9]*\);.*/\1/p' "$work/lab.out")"
[ -n "$port" ] || { echo "record_cost: the lab did not get ready:" >&2; cat "$work/lab.out" >&2; exit 1; }

# count N: Ir and allocator calls of one scan of the first N hosts, as "IR ALLOCS".
count() {
  local n="$1" out="$work/callgrind.$1"
  valgrind --tool=callgrind --callgrind-out-file="$out" --compress-strings=no \
    --compress-pos=no "$bin" scan "127.9.0.1-127.9.$((n / 256)).$((n % 256))" -p "$port" \
    -c 20 --rate 10000000 --subnet-rate 10000000 --connect-timeout 60s --read-timeout 60s \
    --host-timeout 600s \
    --quiet -o "$work/scan.$n" >"$work/scan.$n.log" 2>&1 || true
  [ -s "$work/scan.$n.jsonl" ] || { echo "record_cost: the scan of $n hosts wrote no records:" >&2; cat "$work/scan.$n.log" >&2; exit 1; }
  local records
  records="$(wc -l <"$work/scan.$n.jsonl")"
  [ "$records" -eq "$n" ] || { echo "record_cost: $records records of $n hosts" >&2; exit 1; }
  awk '
    /^summary: / { ir = $2 }
    /^cfn=/ { callee = substr($0, 5) }
    /^calls=/ {
      split($0, a, /[= ]/)
      if (callee ~ /(^|::)__rust_(alloc|alloc_zeroed|realloc)$/) allocs += a[2]
    }
    END { printf "%d %d\n", ir, allocs }
  ' "$out"
}

read -r ir1 al1 < <(count "$n1")
read -r ir2 al2 < <(count "$n2")
hosts=$((n2 - n1))
echo "record_cost: $n1 hosts: $ir1 instructions, $al1 allocations; $n2 hosts: $ir2, $al2"
echo "record_cost: per host: $(((ir2 - ir1) / hosts)) instructions (user space), $(((al2 - al1) / hosts)) allocations"
