#!/usr/bin/env bash
# One Exim, OpenSMTPD or Sendmail test instance on a loopback address, unable to deliver
# anything; only inside tests/mta/sealed.sh (it refuses to run anywhere else).
#
#   tests/mta/mta-instance.sh start MTA CASE DIR ADDRESS:PORT   # e.g. exim closed /tmp/ex 127.2.1.2:2525
#   tests/mta/mta-instance.sh stop DIR
#
# MTA is exim, opensmtpd or sendmail; CASE names tests/mta/MTA/CASE.conf (Exim, OpenSMTPD)
# or tests/mta/sendmail/CASE.mc (+ CASE.access), which must name ADDRESS and PORT. The
# daemon runs in the foreground of its own mount namespace (Exim -bdf, smtpd -d, sendmail
# -bD), where DIR's folders stand in for /var/spool, /var/log, /run, /etc/mail and
# /etc/ssl/{certs,private}: the configurations keep the stock paths an admin knows, and
# instances side by side share nothing. DIR/pid holds its PID, DIR/daemon.log its output;
# Exim logs to DIR/log/exim4/mainlog, Sendmail through a private syslog to DIR/log/maillog.
# The binaries are those of tests/mta/unpack-mtas.sh ($RELAYSCAN_MTA_ROOT or
# /var/cache/relayscan-mtas/root). By hand, inside tests/mta/sealed.sh bash:
#   tests/mta/mta-instance.sh start exim closed /tmp/ex 127.2.1.2:2525
#   swaks --server 127.2.1.2:2525 --quit-after RCPT --from antispam@example.com --to relaytest@example.com
#   tests/mta/mta-instance.sh stop /tmp/ex
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${RELAYSCAN_MTA_ROOT:-/var/cache/relayscan-mtas/root}"

die() { echo "mta-instance: $*" >&2; exit 2; }

# Only loopback here, or nothing starts: these daemons query DNS at start-up.
sealed() {
  [ "${RELAYSCAN_SEALED:-}" = 1 ] && [ "$(ip -o link | wc -l)" = 1 ] \
    && ip -o link | grep -q ': lo:'
}

# A self-signed certificate where Debian keeps its snakeoil pair, for STARTTLS.
certificate() { # dir name
  # P-256: a key made in milliseconds (RSA 2048 took 0.6 s, times every case).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" \
    -keyout "$1/ssl/private/ssl-cert-snakeoil.key" \
    -out "$1/ssl/certs/ssl-cert-snakeoil.pem" 2>/dev/null
  chmod 600 "$1/ssl/private/ssl-cert-snakeoil.key"
}

# Sendmail's .cf from CASE.mc with real m4 and sendmail-cf's macros, less the built-in
# rule that lets 127.0.0.1 relay ("originated locally"): the scanner connects from
# 127.0.0.1, and the test bed must see it as a stranger unless a case's access map says
# otherwise (access-map: Connect:127 RELAY).
sendmail_cf() { # mc cf
  local cf="$root/usr/share/sendmail/cf"
  # Debian's autoconf.m4 before the .mc: its OSTYPE and DOMAIN would include it from
  # /usr/share/sendmail, where nothing is installed.
  m4 -D_CF_DIR_="$cf/" "$cf/m4/cf.m4" "$cf/debian/autoconf.m4" "$1" \
    | sed -e '/^R127\.0\.0\.1[[:space:]].*originated locally$/d' >"$2"
  ! grep -q '^R127\.0\.0\.1[[:space:]]' "$2" || die "$2 still trusts 127.0.0.1"
}

wait_listening() { # address port pid
  for _ in $(seq 200); do
    kill -0 "$3" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

case "${1:-}" in
start)
  [ $# -eq 5 ] || die "usage: $0 start MTA CASE DIR ADDRESS:PORT"
  mta="$2" name="$3" dir="$4" listen="$5"
  sealed || die "not sealed: run inside tests/mta/sealed.sh (only loopback may exist)"
  case "$listen" in 127.*:*) ;; *) die "$listen: only loopback addresses (127.0.0.0/8)";; esac
  address="${listen%:*}" port="${listen##*:}"
  case "$mta" in
  exim | opensmtpd) config="$here/$mta/$name.conf" ;;
  sendmail) config="$here/sendmail/$name.mc" ;;
  *) die "$mta: choose exim, opensmtpd or sendmail" ;;
  esac
  [ -f "$config" ] || die "no case $config"
  grep -qF "$address" "$config" || die "$config does not name $address"
  grep -qF "$port" "$config" || die "$config does not name port $port"
  mkdir -p "$dir"/{spool,log,run,mail,ssl/certs,ssl/private}
  certificate "$dir" "$name.$mta.test"
  case "$mta" in
  exim)
    mkdir -p "$dir/spool/exim4" "$dir/log/exim4" "$dir/run/exim4"
    chown Debian-exim:Debian-exim "$dir/spool/exim4" "$dir/log/exim4" "$dir/run/exim4"
    # Exim reads its key after dropping to Debian-exim.
    chgrp Debian-exim "$dir/ssl/private/ssl-cert-snakeoil.key" "$dir/ssl/private"
    chmod 640 "$dir/ssl/private/ssl-cert-snakeoil.key"
    chmod 750 "$dir/ssl/private"
    # -bdf: the daemon in the foreground; no -q: no queue runner.
    command=("$root/usr/sbin/exim4" -bdf -oX "$port" -C "$config")
    ;;
  opensmtpd)
    mkdir -p "$dir/spool/smtpd"
    chmod 711 "$dir/spool/smtpd"
    command=("$root/usr/sbin/smtpd" -d -f "$config")
    ;;
  sendmail)
    sendmail_cf "$config" "$dir/sendmail.cf"
    # The case's access map, or an empty one (Debian's access_db wants a map).
    access="$here/sendmail/$name.access"
    [ -f "$access" ] || access=/dev/null
    : >"$dir/mail/local-host-names"
    "$root/usr/sbin/makemap" -C "$dir/sendmail.cf" hash "$dir/mail/access" <"$access"
    mkdir -p "$dir/spool/mqueue" "$dir/spool/mqueue-client" "$dir/run/sendmail/mta"
    chmod 700 "$dir/spool/mqueue"
    # -bD: the daemon in the foreground; no -q: no queue runner. -X logs every line of
    # every SMTP session, the test bed's proof that no DATA came.
    command=("$root/usr/libexec/sendmail/sendmail" -bD -C "$dir/sendmail.cf" -X "$dir/log/traffic")
    # Sendmail logs only through syslog(3): a private syslog (syslog-file.py) writes its
    # lines to DIR/log/maillog, its socket bound over /dev/log for this instance alone.
    "$here/syslog-file.py" "$dir/log/syslog.sock" "$dir/log/maillog" mta-testbed &
    echo $! >"$dir/syslog.pid"
    for _ in $(seq 50); do [ -S "$dir/log/syslog.sock" ] && break; sleep 0.1; done
    ;;
  esac
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount sh -c '
    d="$1"; shift
    mount --bind "$d/spool" /var/spool
    mount --bind "$d/log" /var/log
    mount --bind "$d/run" /run
    mount --bind "$d/mail" /etc/mail
    mount --bind "$d/ssl/certs" /etc/ssl/certs
    mount --bind "$d/ssl/private" /etc/ssl/private
    if [ -S "$d/log/syslog.sock" ]; then
      # A /dev of its own (the host may have no /dev/log to cover): the devices a daemon
      # opens, and the private syslog socket as /dev/log.
      mkdir -p "$d/dev"
      for n in null zero full random urandom; do
        : >"$d/dev/$n" && mount --bind "/dev/$n" "$d/dev/$n"
      done
      : >"$d/dev/log" && mount --bind "$d/log/syslog.sock" "$d/dev/log"
      mount --rbind "$d/dev" /dev
    fi
    exec "$@"' sh "$dir" "${command[@]}" >"$dir/daemon.log" 2>&1 &
  echo $! >"$dir/pid"
  if ! wait_listening "$address" "$port" "$!"; then
    cat "$dir/daemon.log" >&2
    die "$mta $name did not listen on $listen"
  fi
  ;;
stop)
  [ $# -eq 2 ] || die "usage: $0 stop DIR"
  [ -f "$2/pid" ] || exit 0
  pid="$(cat "$2/pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$2/pid"
  if [ -f "$2/syslog.pid" ]; then
    kill "$(cat "$2/syslog.pid")" 2>/dev/null || true
    rm -f "$2/syslog.pid"
  fi
  ;;
*)
  die "usage: $0 start MTA CASE DIR ADDRESS:PORT | stop DIR"
  ;;
esac
