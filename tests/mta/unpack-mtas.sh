#!/usr/bin/env bash
# Unpacks Exim, OpenSMTPD and Sendmail beside the installed Postfix, for the MTA test bed.
#
# Debian allows one installed MTA package (Postfix is it: the postfix* tests), so the
# others are fetched with `apt-get download` and unpacked with `dpkg -x` into one folder,
# never installed: no maintainer script runs, no service starts, nothing is enabled. Only
# what the unpacked daemons need from the system is installed (and iproute2, whose ip
# brings up loopback in tests/mta/sealed.sh): the shared libraries the
# system lacks (libidn12 for Exim, libwrap0 for Sendmail), m4 (Sendmail's .mc → .cf),
# the system users the daemons switch to, and two empty folders they need.
#
# Usage: tests/mta/unpack-mtas.sh [ROOT]   (ROOT defaults to $RELAYSCAN_MTA_ROOT or
# /var/cache/relayscan-mtas/root). Idempotent; prints ROOT on its last line. Binaries:
# ROOT/usr/sbin/exim4, ROOT/usr/sbin/smtpd, ROOT/usr/libexec/sendmail/sendmail; the m4
# macros of sendmail-cf are in ROOT/usr/share/sendmail/cf.
set -euo pipefail

root="${1:-${RELAYSCAN_MTA_ROOT:-/var/cache/relayscan-mtas/root}}"
packages=(exim4-daemon-light exim4-base exim4-config opensmtpd sendmail-bin sendmail-base sendmail-cf)
# The unpacked binaries' shared libraries that a Postfix system lacks (found with ldd).
libraries=(libidn12 libwrap0)

export DEBIAN_FRONTEND=noninteractive
missing=()
for pkg in "${libraries[@]}" m4 iproute2; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

if ! [ -x "$root/usr/sbin/exim4" ] || ! [ -x "$root/usr/sbin/smtpd" ] \
  || ! [ -x "$root/usr/libexec/sendmail/sendmail" ] || ! [ -d "$root/usr/share/sendmail/cf" ]; then
  debs="$(dirname "$root")/debs"
  mkdir -p "$debs" "$root"
  # _apt cannot write into a root-owned folder; download as root, quietly.
  (cd "$debs" && apt-get download -qq "${packages[@]}" 2>/dev/null \
    || { apt-get update -qq && apt-get download -qq "${packages[@]}"; })
  for deb in "$debs"/*.deb; do
    dpkg -x "$deb" "$root"
  done
fi

# The users the daemons drop privileges to (Debian's maintainer scripts would add them).
add_user() { # name group home
  getent group "$2" >/dev/null || groupadd --system "$2"
  getent passwd "$1" >/dev/null \
    || useradd --system --gid "$2" --home-dir "$3" --no-create-home --shell /usr/sbin/nologin "$1"
}
add_user Debian-exim Debian-exim /var/spool/exim4
# Debian's OpenSMTPD is built for these two (its postinst), and chroots into the home.
add_user opensmtpd opensmtpd /var/lib/opensmtpd/empty
add_user opensmtpq opensmtpq /var/lib/opensmtpd/empty
add_user smmta smmta /var/lib/sendmail
add_user smmsp smmsp /var/lib/sendmail
# OpenSMTPD's chroot, and the folder that tests/mta/mta-instance.sh mounts each Sendmail
# instance's own /etc/mail on (an empty folder; a bind mount needs somewhere to stand).
install -d -m 755 /var/lib/opensmtpd/empty /etc/mail

for binary in "$root/usr/sbin/exim4" "$root/usr/sbin/smtpd" "$root/usr/libexec/sendmail/sendmail"; do
  if ldd "$binary" | grep -q "not found"; then
    echo "unpack-mtas: $binary still lacks libraries:" >&2
    ldd "$binary" | grep "not found" >&2
    exit 1
  fi
done
echo "$root"
