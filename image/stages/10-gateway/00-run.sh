#!/bin/bash
# 10-gateway: the app enters the image as its .deb (built by image/build-deb.sh --arch arm64),
# and tty1 becomes the clerk's console.
set -euo pipefail
: "${ROOTFS_DIR:?run by pi-gen}"

install -m 0644 files/commune-gateway.deb "${ROOTFS_DIR}/tmp/commune-gateway.deb"
on_chroot <<'CHROOT'
set -euo pipefail
# apt, not dpkg -i: it pulls in python3.11 and friends from the archive.
apt-get install -y --no-install-recommends /tmp/commune-gateway.deb
rm -f /tmp/commune-gateway.deb

# Kiosk: the TUI owns tty1; no login prompt (and no autologin) there. The other consoles keep
# their gettys (Alt+F2 …) for the IT team.
systemctl enable commune-gateway-tui.service
systemctl disable getty@tty1.service
rm -f /etc/systemd/system/getty@tty1.service.d/autologin.conf
# The daemon's status note reaches the boot partition through this watch (root writes FAT);
# it does nothing until the daemon runs.
systemctl enable commune-gateway-note.path
# The sync daemon stays disabled until first boot has enrolled the box.
systemctl disable commune-gateway.service commune-gateway-scrub.timer \
    commune-gateway-retry.timer commune-hub.service
CHROOT
