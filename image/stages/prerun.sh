#!/bin/bash
# pi-gen stage prerun: start from the previous stage's root file system (stage2, Lite).
set -euo pipefail
: "${ROOTFS_DIR:?run by pi-gen}"
if [[ ! -d ${ROOTFS_DIR} ]]; then
    copy_previous
fi
