#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 30 s each), starting from the
# seed corpus in fuzz/seeds/TARGET; new inputs go to fuzz/corpus/TARGET (not committed),
# crashes to fuzz/artifacts/TARGET. Exit status: non-zero when a target crashed.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# cargo-fuzz passes nightly-only flags to rustc: RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. No sanitizer (-s none): the code under test is safe Rust, and
# the sanitizer would need a nightly standard library; debug assertions (-a) catch
# arithmetic overflow.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(reply ehlo target_spec session postfix_expand jsonl_records logs)
export RUSTC_BOOTSTRAP=1
# Memory per target: the readers of user files must stay bounded (their caps are 1 MiB per
# expanded Postfix value and one line at a time; the log reader a line and bounded tables),
# so 512 MB is a failure there, not a need.
rss_limit_mb() {
  case "$1" in
    postfix_expand | jsonl_records | logs) echo 512 ;;
    *) echo 2048 ;;
  esac
}
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${seconds}s"
  log="$(mktemp)"
  status=0
  cargo fuzz run -s none -a "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb="$(rss_limit_mb "$t")" -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  # The summary only: executions, peak memory, and anything that went wrong.
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs|==[0-9]+== ERROR|SUMMARY|.*panicked at|Test unit written|error)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz target $t failed (status $status): see fuzz/artifacts/$t" >&2
    exit 1
  fi
  rm -f "$log"
done
