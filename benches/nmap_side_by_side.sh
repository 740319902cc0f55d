#!/bin/sh
# Side by side: nmap's smtp-open-relay and relayscan on the same lab hosts (every persona),
# one after the other, each against a freshly started lab (so that neither finds the other's
# traces, e.g. a greylist the first one primed); prints both wall times and one row per
# host. Loopback only: the lab
# binds 127.0.96.0/24 on port 25 (nmap's script runs only on 25/465/587), so run as root.
# Usage: benches/nmap_side_by_side.sh [REPLY_DELAY]   (default 0ms; e.g. 200ms for a WAN)
#        PERSONA=closed benches/nmap_side_by_side.sh 50ms   (254 hosts of one persona: the
#        lab fills the /24 with it, which measures speed rather than the personas' corner cases)
set -eu
DELAY=${1:-0ms}
PERSONA_ARGS=${PERSONA:+--persona $PERSONA --hosts 254}
# relayscan's pace: its default --rate 100 spreads 254 hosts over 2.5 s, where nmap opens
# them as fast as it can; RS_ARGS="--rate 10000 -c 254" lifts that for a speed comparison.
RS_ARGS=${RS_ARGS:-}
BIN=${BIN:-target/release/relayscan}
NET=127.0.96
OUT=$(mktemp -d)
LAB=
start_lab() {
  # -v lists one host a line (ADDRESS PERSONA ...), which the table at the end reads.
  "$BIN" lab --bind $NET.0/24 --port 25 --reply-delay "$DELAY" $PERSONA_ARGS -v > "$OUT/lab.txt" 2>&1 &
  LAB=$!
  while ! grep -q '^lab ready' "$OUT/lab.txt"; do sleep 0.2; done
}
stop_lab() {
  kill "$LAB" && wait "$LAB" || true
}
trap 'kill $LAB 2>/dev/null || true' EXIT
start_lab
HOSTS=$(awk '/^lab ready/ {print $3}' "$OUT/lab.txt")
start=$(date +%s.%N)
nmap -Pn -n -p 25 --script smtp-open-relay \
  --script-args smtp-open-relay.domain=example.com,smtp-open-relay.from=antispam,smtp-open-relay.to=relaytest \
  "$NET.1-$HOSTS" -oN "$OUT/nmap.txt" > /dev/null
stop_lab
start_lab
mid=$(date +%s.%N)
"$BIN" scan "$NET.1-$HOSTS" -p 25 $RS_ARGS --rcpt-to relaytest@example.com -q --format csv -o "$OUT/relayscan" > /dev/null
end=$(date +%s.%N)
echo "$HOSTS hosts, $DELAY per reply: nmap $(echo "$mid - $start" | bc) s, relayscan $(echo "$end - $mid" | bc) s"
# One row per host: persona | nmap's line | relayscan's verdict and open tests.
awk -v net="$NET." '
  FILENAME ~ /lab.txt$/ && $1 ~ /:25$/ { split($1, a, ":"); persona[a[1]] = $2; next }
  FILENAME ~ /nmap.txt$/ && /scan report for/ { host = $NF; next }
  FILENAME ~ /nmap.txt$/ && /smtp-open-relay:/ { sub(/.*smtp-open-relay: /, ""); sub(/\\x0D$/, ""); nmap[host] = $0; next }
  FILENAME ~ /csv$/ && FNR > 1 { split($0, f, ","); rs[f[1]] = f[5] (f[7] == "" ? "" : " (tests " f[7] ")") }
  END { for (i = 1; (net i) in persona; i++) { h = net i; printf "| %s | %s | %s |\n", persona[h], nmap[h], rs[h] } }
' "$OUT/lab.txt" "$OUT/nmap.txt" "$OUT/relayscan.csv"
