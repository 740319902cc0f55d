#!/usr/bin/env bash
# Runs a command sealed off from every network but loopback, for the MTA test bed.
#
#   tests/mta/sealed.sh COMMAND [ARG...]      # as root
#
# Exim, Sendmail and OpenSMTPD ask the system resolver at start-up whatever their
# configuration says, so they (and the scanner and swaks pointed at them) run only in
# here: new network, mount, PID and UTS namespaces (unshare -n -m -p -u -f), where
#   - only loopback exists (brought up here): a packet for anywhere else fails at once
#     with ENETUNREACH, it cannot leave;
#   - /etc/resolv.conf names 127.2.255.53, where nothing listens, one try of one second,
#     so a lookup fails fast instead of timing out;
#   - /etc/hosts knows localhost and this namespace's host name, mta-testbed.test, so
#     that the MTAs can qualify their own name without DNS;
#   - the two Unix sockets through which a lookup or a log line could reach a daemon
#     outside, nscd's and syslog's /dev/log, are hidden where they exist (strace showed
#     the MTAs trying both);
#   - every process dies with COMMAND (it is PID 1 of the namespace), daemons included.
# By hand: tests/mta/sealed.sh bash   then, inside, tests/mta/mta-instance.sh start ...
set -euo pipefail

if [ "${RELAYSCAN_SEALED:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "sealed.sh: needs root (unshare)" >&2; exit 2; }
  [ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
  exec unshare --net --mount --pid --uts --fork --mount-proc \
    env RELAYSCAN_SEALED=1 "$0" "$@"
fi

etc="$(mktemp -d /tmp/relayscan-sealed.XXXXXX)"
printf 'nameserver 127.2.255.53\noptions timeout:1 attempts:1\n' >"$etc/resolv.conf"
printf '127.0.0.1 localhost\n127.2.0.1 mta-testbed.test mta-testbed\n' >"$etc/hosts"
mount --bind "$etc/resolv.conf" /etc/resolv.conf
mount --bind "$etc/hosts" /etc/hosts
if [ -d /run/nscd ]; then mount -t tmpfs none /run/nscd; fi
if [ -S /dev/log ]; then mount --bind /dev/null /dev/log; fi
hostname mta-testbed.test
ip link set lo up
status=0
"$@" || status=$?
rm -rf "$etc"
exit "$status"
