#!/usr/bin/env bash
# The MTA test bed, whole: starts every case, scans them all with relayscan four ways,
# stops them. Only inside tests/mta/sealed.sh, which tests/integration/mtas.rs runs it in:
#
#   tests/mta/sealed.sh tests/mta/testbed.sh OUT RELAYSCAN PORT MTA:CASE@ADDRESS...
#
# Each case gets OUT/MTA-CASE as its instance folder (its logs stay there). The scans, run
# side by side once every case listens, write OUT/SCAN.jsonl for SCAN in
#   default                STARTTLS where offered, the tests over TLS once established
#   default-unpipelined    the same with --no-pipelining
#   plaintext              --starttls never
#   plaintext-unpipelined  --starttls never --no-pipelining
# and OUT/SCAN.stderr; then, with RELAYSCAN_SWAKS_FROM, swaks's relay attempts (below).
# OUT/startup-ms holds the milliseconds from the first start to the
# last instance listening. Exits non-zero when an instance does not start or a scan fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

die() { echo "testbed: $*" >&2; exit 2; }
[ $# -ge 4 ] || die "usage: $0 OUT RELAYSCAN PORT MTA:CASE@ADDRESS..."
out="$1" relayscan="$2" port="$3"
shift 3
[ "${RELAYSCAN_SEALED:-}" = 1 ] || die "run inside tests/mta/sealed.sh"
mkdir -p "$out"

dirs=() addresses=()
stop_all() {
  for dir in "${dirs[@]}"; do "$here/mta-instance.sh" stop "$dir" || true; done
}
trap stop_all EXIT

# Side by side: a Sendmail start takes about a second (its .cf is built with m4 first).
started=$(date +%s%N)
pids=()
for spec in "$@"; do
  mta="${spec%%:*}" rest="${spec#*:}"
  name="${rest%@*}" address="${rest##*@}"
  dir="$out/$mta-$name"
  dirs+=("$dir") addresses+=("$address")
  "$here/mta-instance.sh" start "$mta" "$name" "$dir" "$address:$port" \
    >"$out/$mta-$name.start" 2>&1 &
  pids+=($!)
done
failed=0
for n in "${!pids[@]}"; do
  if ! wait "${pids[$n]}"; then
    echo "testbed: ${dirs[$n]##*/} did not start:" >&2
    cat "${dirs[$n]}.start" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1
echo $((($(date +%s%N) - started) / 1000000)) >"$out/startup-ms"

scan() { # name flags...
  local name="$1"
  shift
  "$relayscan" scan "${addresses[@]}" -p "$port" -o "$out/$name" --format jsonl \
    --no-progress --read-timeout 10s "$@" 2>"$out/$name.stderr"
}
scan default &
a=$!
scan default-unpipelined --no-pipelining &
b=$!
scan plaintext --starttls never &
c=$!
scan plaintext-unpipelined --starttls never --no-pipelining &
d=$!
status=0
for pid in $a $b $c $d; do wait "$pid" || status=1; done

# With RELAYSCAN_SWAKS_FROM=ADDRESS: two relay attempts per case from that address with
# swaks (to two outside domains, --quit-after RCPT: never DATA), the MTAs' logs then hold
# a client the test knows; OUT/swaks-ADDRESS keeps each dialogue.
if [ -n "${RELAYSCAN_SWAKS_FROM:-}" ]; then
  for address in "${addresses[@]}"; do
    for to in attempt@far.invalid attempt@other.invalid; do
      swaks --server "$address:$port" --local-interface "$RELAYSCAN_SWAKS_FROM" \
        --timeout 10 --quit-after RCPT --from probe@sender.invalid --to "$to" \
        >>"$out/swaks-$address" 2>&1 || true
    done
  done
fi
exit "$status"
