#!/bin/bash
# 20-firstboot: the script that turns a fresh card into a commune's gateway, and its units.
set -euo pipefail
: "${ROOTFS_DIR:?run by pi-gen}"

install -D -m 0755 files/commune-firstboot.sh \
    "${ROOTFS_DIR}/usr/lib/commune-gateway/commune-firstboot.sh"
install -m 0644 files/commune-firstboot.service files/commune-firstboot-retry.timer \
    "${ROOTFS_DIR}/etc/systemd/system/"
printf '# Read by commune-firstboot.service (image/config).\nCOMMUNE_HOSTNAME_PREFIX=%s\n' \
    "${COMMUNE_HOSTNAME_PREFIX-cg-}" >"${ROOTFS_DIR}/etc/default/commune-firstboot"

# A template for the province, next to where the real file goes.
install -m 0644 files/commune.toml.example "${ROOTFS_DIR}/boot/firmware/commune.toml.example"

on_chroot <<'CHROOT'
set -euo pipefail
systemctl enable commune-firstboot.service commune-firstboot-retry.timer
CHROOT
