#!/usr/bin/env bash
# One Postfix test instance on a loopback address, unable to deliver anything.
#
#   tests/mta/postfix-instance.sh start POLICY DIR ADDRESS:PORT   # e.g. closed /tmp/pf 127.1.0.3:2525
#   tests/mta/postfix-instance.sh stop DIR
#
# POLICY names tests/mta/postfix/POLICY.cf, appended to base.cf. Needs root (Postfix
# starts as root and drops to the postfix user). By hand: start one, then
#   swaks --server 127.1.0.3:2525 --quit-after RCPT --from antispam@example.com --to relaytest@example.com
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

die() { echo "postfix-instance: $*" >&2; exit 2; }

case "${1:-}" in
start)
  [ $# -eq 4 ] || die "usage: $0 start POLICY DIR ADDRESS:PORT"
  policy="$2" dir="$3" listen="$4"
  case "$listen" in 127.*:*) ;; *) die "$listen: only loopback addresses (127.0.0.0/8)";; esac
  [ -f "$here/postfix/$policy.cf" ] || die "no policy $here/postfix/$policy.cf"
  mkdir -p "$dir/queue" "$dir/data"
  chown postfix "$dir/data"
  { sed -e "s|@DIR@|$dir|g" -e "s|@NAME@|$policy|g" "$here/postfix/base.cf"
    echo "# --- policy: $policy"
    sed -e "s|@DIR@|$dir|g" -e "s|@NAME@|$policy|g" "$here/postfix/$policy.cf"
  } >"$dir/main.cf"
  {
    if [ "$policy" = postscreen ]; then
      echo "$listen inet n - n - 1 postscreen"
      echo "smtpd     pass  -       -       n       -       -       smtpd"
      echo "dnsblog   unix  -       -       n       -       0       dnsblog"
      echo "tlsproxy  unix  -       -       n       -       0       tlsproxy"
    else
      echo "$listen inet n - n - - smtpd"
    fi
    cat "$here/postfix/master.cf"
  } >"$dir/master.cf"
  if grep -q '^cyrus_sasl_config_path' "$dir/main.cf"; then
    # Cyrus SASL's password database (sasldb2, a Berkeley DB hash of
    # "user\0realm\0userPassword" -> password, as saslpasswd2 writes it; Perl's DB_File
    # writes the same without sasl2-bin): one user, sasl-user@postfix.test.
    mkdir -p "$dir/sasl"
    printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s\n' \
      "$dir/sasl/sasldb2" >"$dir/sasl/smtpd.conf"
    perl -MDB_File -MFcntl -e 'tie my %db, "DB_File", $ARGV[0], O_RDWR | O_CREAT, 0640, $DB_HASH or die "$ARGV[0]: $!";
      $db{"sasl-user\0postfix.test\0userPassword"} = "relay-test-secret"; untie %db' "$dir/sasl/sasldb2"
    chgrp postfix "$dir/sasl/sasldb2"
  fi
  if grep -q '^smtpd_tls_cert_file' "$dir/main.cf"; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$policy.postfix.test" \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  fi
  postfix -c "$dir" check
  postfix -c "$dir" start
  ;;
stop)
  [ $# -eq 2 ] || die "usage: $0 stop DIR"
  postfix -c "$2" stop || postfix -c "$2" abort || true
  ;;
*)
  die "usage: $0 start POLICY DIR ADDRESS:PORT | stop DIR"
  ;;
esac
