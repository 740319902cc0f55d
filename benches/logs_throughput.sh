#!/usr/bin/env bash
# `relayscan logs` throughput and memory on a generated mail log (Postfix, Sendmail and Exim
# lines mixed), at LINES lines and at a tenth of that: MB/s on one core, and peak RSS at
# both sizes (memory should not grow with the log).
#
#   benches/logs_throughput.sh [LINES]            # default 10,000,000 lines (about 1.6 GB)
#   RELAYSCAN_BIN=target/debug/relayscan benches/logs_throughput.sh 100000   # a quick check
#   benches/logs_throughput.sh --generate 100000 FILE   # only write the log (for callgrind)
#
# Run by hand on a quiet machine (the lead measures); needs awk and GNU time
# (/usr/bin/time). The log is written to a temporary folder and removed at the end. The
# addresses in it are documentation ranges (198.51.100.0/24, 203.0.113.0/24,
# 2001:db8::/32): data only, nothing is contacted. The goal (issue 17): 200 MB/s, flat
# memory.
set -euo pipefail
lines="${1:-10000000}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${RELAYSCAN_BIN:-$here/target/release/relayscan}"

# generate N FILE: N lines. Each Postfix message is 4 lines (client=, from=, to=, removed),
# every 10th session a refused relay attempt, every 50th a failed SASL login; one story
# in 8 is Sendmail's and one in 8 Exim's (<=, =>, Completed). Sendmail's is as the real
# one logs it: a 14-character queue id that ends in the pid, `from=... nrcpts=1 ...
# relay=host [ip]`, then `to=... stat=Sent (...)`, and no line when the message leaves the
# queue (its one recipient's final status ends the story). Clients cycle
# through 2^20 IPv6 addresses so that the per-client tables overflow and prune, as they
# would under a botnet.
generate() {
  awk -v n="$1" 'BEGIN {
    srand(17); written = 0; m = 0
    while (written < n) {
      m++
      sec = int(m / 20); h = int(sec / 3600) % 24; mi = int(sec / 60) % 60; s = sec % 60
      t = sprintf("Dec %2d %02d:%02d:%02d", 1 + int(sec / 86400) % 28, h, mi, s)
      iso = sprintf("2026-12-%02d %02d:%02d:%02d", 1 + int(sec / 86400) % 28, h, mi, s)
      ip = (m % 3 == 0) ? sprintf("2001:db8:%x::%x", m % 1048576, m % 7) : sprintf("198.51.100.%d", m % 250)
      id = sprintf("%X%06X", 10 + m % 6, m)
      kind = m % 8
      if (kind == 0) {
        sid = sprintf("6B%06X%06d", m, m % 30000)
        printf "%s mx sm-mta[%d]: %s: from=<u%d@sender.invalid>, size=%d, class=0, nrcpts=1, msgid=<%d@sender.invalid>, proto=ESMTP, daemon=MTA, relay=c.invalid [%s]\n", t, m % 30000, sid, m, 900 + m % 5000, m, ip
        printf "%s mx sm-mta[%d]: %s: to=<r%d@far.invalid>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120900, relay=mx.far.invalid. [203.0.113.5], dsn=2.0.0, stat=Sent (Ok: queued as %s)\n", t, m % 30000, sid, m, id
        written += 2
      } else if (kind == 1) {
        eid = sprintf("1wS%03d-%06d-2Z", m % 1000, m % 1000000)
        printf "%s %s <= u%d@sender.invalid H=(helo) [%s]:41000 P=esmtp S=%d id=%d@sender.invalid\n", iso, eid, m, ip, 900 + m % 5000, m
        printf "%s %s => r%d@far.invalid R=dnslookup T=remote_smtp H=mx.far.invalid [203.0.113.5] C=\"250 OK\"\n", iso, eid, m
        printf "%s %s Completed\n", iso, eid
        written += 3
      } else {
        printf "%s mx postfix/smtpd[%d]: %s: client=c.invalid[%s]\n", t, m % 30000, id, ip
        printf "%s mx postfix/qmgr[1]: %s: from=<u%d@sender.invalid>, size=%d, nrcpt=1 (queue active)\n", t, id, m, 900 + m % 5000
        printf "%s mx postfix/smtp[%d]: %s: to=<r%d@far.invalid>, relay=mx.far.invalid[203.0.113.5]:25, delay=0.4, delays=0.1/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n", t, m % 30000, id, m
        printf "%s mx postfix/qmgr[1]: %s: removed\n", t, id
        written += 4
      }
      if (m % 10 == 0) {
        printf "%s mx postfix/smtpd[%d]: NOQUEUE: reject: RCPT from p.invalid[%s]: 554 5.7.1 <x%d@far.invalid>: Relay access denied; from=<p@sender.invalid> to=<x%d@far.invalid> proto=ESMTP helo=<p>\n", t, m % 30000, ip, m, m
        written++
      }
      if (m % 50 == 0) {
        printf "%s mx postfix/smtpd[%d]: warning: g.invalid[%s]: SASL LOGIN authentication failed: authentication failure, sasl_username=u%d\n", t, m % 30000, ip, m % 100
        written++
      }
    }
  }' > "$2"
}

if [ "$lines" = "--generate" ]; then
  generate "${2:?--generate LINES FILE}" "${3:?--generate LINES FILE}"
  exit 0
fi
[ -x "$bin" ] || { echo "logs_throughput: no $bin (cargo build --release, or set RELAYSCAN_BIN)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "logs_throughput: needs GNU time (apt-get install time)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# measure FILE: prints "bytes seconds max_rss_kib".
measure() {
  /usr/bin/time -f '%e %M' -o "$work/time" \
    "$bin" logs "$1" -q --fail-on never --mynetworks 192.0.2.0/24 --local-domains example.com
  read -r secs rss < "$work/time"
  echo "$(stat -c %s "$1") $secs $rss"
}

small=$((lines / 10))
echo "generating $lines and $small lines in $work ..."
generate "$lines" "$work/big.log"
generate "$small" "$work/small.log"
for size in small big; do
  read -r bytes secs rss < <(measure "$work/$size.log")
  awk -v f="$size.log" -v b="$bytes" -v s="$secs" -v r="$rss" -v l="$(wc -l < "$work/$size.log")" 'BEGIN {
    mbs = (s > 0) ? b / 1e6 / s : 0
    printf "%-9s %10d lines %8.1f MB  %6.2f s  %7.1f MB/s  peak RSS %6.1f MiB\n", f, l, b / 1e6, s, mbs, r / 1024
  }'
done
