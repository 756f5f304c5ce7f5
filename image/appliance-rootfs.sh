#!/bin/bash
# appliance-rootfs.sh: a minimal Debian bookworm root file system for the appliance tests,
# made once with debootstrap and kept as a tarball in a cache folder.
#
#   image/appliance-rootfs.sh [CACHE_DIR]     prints the tarball's path
#
# CACHE_DIR defaults to $COMMUNE_APPLIANCE_CACHE, else ~/.cache/commune-appliance. The system
# is debootstrap's minbase plus what commune-gateway and commune-box depend on from Debian
# (systemd as init, Python 3.11, chrony, fake-hwclock, unattended-upgrades), so that the tests
# can install our packages from our repository alone, and boot it under systemd-nspawn with no
# network. It has no /etc/hosts (debootstrap writes none), like the smallest boxes. The mirror
# is $DEBIAN_MIRROR (deb.debian.org by default); the name of the tarball changes with the
# package list, so a change here makes a new one. Needs root and debootstrap.
set -euo pipefail

CACHE=${1:-${COMMUNE_APPLIANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/commune-appliance}}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
INCLUDE=systemd,systemd-sysv,dbus,python3,chrony,fake-hwclock,unattended-upgrades,ca-certificates

((EUID == 0)) || { echo "appliance-rootfs.sh: run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
    echo "appliance-rootfs.sh: needs debootstrap (apt-get install debootstrap)" >&2
    exit 1
}
tag=$(printf '%s %s %s' "$SUITE" "$INCLUDE" "$(dpkg --print-architecture)" | sha256sum | cut -c1-12)
TARBALL=$CACHE/$SUITE-minbase-$tag.tar.gz
if [[ -s $TARBALL ]]; then
    printf '%s\n' "$TARBALL"
    exit 0
fi

mkdir -p -- "$CACHE"
WORK=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
echo "appliance-rootfs.sh: debootstrap $SUITE from $MIRROR (once; cached as $TARBALL)" >&2
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$WORK/root" "$MIRROR" >&2
# Nothing of the build host's identity in the image, and no downloaded .debs.
rm -f "$WORK/root/etc/hostname" "$WORK/root/etc/hosts" "$WORK/root/etc/resolv.conf"
rm -rf "$WORK/root/var/cache/apt/archives/"*.deb "$WORK/root/var/lib/apt/lists/"*_Packages
tar --numeric-owner -C "$WORK/root" -czf "$WORK/rootfs.tar.gz" .
mv -f -- "$WORK/rootfs.tar.gz" "$TARBALL"
printf '%s\n' "$TARBALL"
