#!/bin/bash
# 10-gateway: the app and the box's policy enter the image as their .debs (image/build-deb.sh
# --arch arm64): commune-gateway and commune-box. commune-box's postinst makes this a box (first
# boot armed, the clerk's TUI on tty1, the status note watch) and brings the province's apt
# source and key, so the image needs nothing else from us. Recommends (poppler-utils, for the
# clerk's PDF text view) are installed.
set -euo pipefail
: "${ROOTFS_DIR:?run by pi-gen}"

install -m 0644 files/commune-gateway.deb files/commune-box.deb "${ROOTFS_DIR}/tmp/"
on_chroot <<'CHROOT'
set -euo pipefail
# apt, not dpkg -i: it pulls in python3.11, chrony, … from the archive.
apt-get install -y /tmp/commune-gateway.deb /tmp/commune-box.deb
rm -f /tmp/commune-gateway.deb /tmp/commune-box.deb
# The province's template, next to where the real commune.toml goes.
install -m 0644 /usr/share/doc/commune-box/commune.toml.example /boot/firmware/
CHROOT
