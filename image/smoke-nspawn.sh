#!/bin/bash
# smoke-nspawn.sh: boot the .deb's units for real, in a throw-away systemd container.
#
#   sudo image/smoke-nspawn.sh path/to/commune-gateway_*_amd64.deb
#   sudo OFFLINE_FIRST_BOOT=1 image/smoke-nspawn.sh …   # the hub is down at first boot
#
# On a Debian host of the target's release (bookworm: python3.11, systemd 252), as root, with
# systemd-container installed. The container is the host's own root file system under a
# tmpfs overlay (nothing on the host changes) with a private network (only loopback). In it:
# the .deb is installed, a hub is created and enabled (commune-hub.service), a commune.toml with
# a fresh enrollment token is put in /boot/firmware, and the box boots. A probe unit then
# checks that first boot enrolled the box and deleted the token, that the hardened sync daemon
# runs and has synced, that the scrub passes, and prints the findings; the container powers off.
# Exit status 0 when every check passed.
#
# What it cannot show: the TUI (no tty1 in a container), fake-hwclock and chrony (no clock
# to set), the boot partition being FAT, and anything about ARM.
set -euo pipefail

DEB=${1:?usage: smoke-nspawn.sh COMMUNE_GATEWAY_DEB}
DEB=$(readlink -f -- "$DEB")
AGENCY=${AGENCY:-000.00.31.H35}
TIMEOUT=${TIMEOUT:-180}
OFFLINE_FIRST_BOOT=${OFFLINE_FIRST_BOOT:-0}

((EUID == 0)) || { echo "smoke-nspawn.sh: run as root" >&2; exit 1; }
command -v systemd-nspawn >/dev/null || {
    echo "smoke-nspawn.sh: needs systemd-nspawn (apt-get install systemd-container)" >&2
    exit 1
}

TOP=$(mktemp -d /tmp/commune-smoke.XXXXXX)
ROOT=$TOP/root
cleanup() {
    umount "$ROOT" 2>/dev/null || true
    umount "$TOP/rw" 2>/dev/null || true
    rm -rf -- "$TOP"
}
trap cleanup EXIT

mkdir -p "$TOP/rw" "$ROOT"
mount -t tmpfs -o size=2G tmpfs "$TOP/rw"
mkdir -p "$TOP/rw/upper" "$TOP/rw/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$TOP/rw/upper,workdir=$TOP/rw/work" "$ROOT"

# A clean slate for what the test owns.
rm -rf "$ROOT/var/lib/commune-gateway" "$ROOT/var/lib/commune-hub" \
    "$ROOT/var/lib/commune-firstboot" "$ROOT/boot/firmware"
mkdir -p "$ROOT/boot/firmware" "$ROOT/usr/lib/commune-gateway" "$ROOT/root/smoke"
cp -- "$DEB" "$ROOT/root/smoke/commune-gateway.deb"
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
install -m 0755 "$here/firstboot/commune-firstboot.sh" "$ROOT/usr/lib/commune-gateway/"
install -m 0644 "$here/firstboot/commune-firstboot.service" \
    "$here/firstboot/commune-firstboot-retry.timer" "$ROOT/etc/systemd/system/"
printf '127.0.0.1\thub.test\n' >>"$ROOT/etc/hosts"

nspawn() {
    systemd-nspawn --quiet --directory="$ROOT" --register=no --link-journal=no \
        --private-network --keep-unit "$@"
}

# --- 1. install, create the hub, write the boot file (container not booted yet)
nspawn /bin/bash -euo pipefail -c "
    dpkg -i /root/smoke/commune-gateway.deb >/root/smoke/dpkg.log
    runuser -u commune-hub -- gateway hub init --data /var/lib/commune-hub --province H35 \
        --name hub.test >/dev/null
    token=\$(runuser -u commune-hub -- gateway hub token --data /var/lib/commune-hub \
        --agency $AGENCY)
    printf 'agency = \"%s\"\r\nhub = \"https://hub.test:8443\"\r\ntoken = \"%s\"\r\n' \
        $AGENCY \"\$token\" >/boot/firmware/commune.toml
    systemctl enable commune-firstboot.service commune-firstboot-retry.timer >/dev/null 2>&1
    if [[ $OFFLINE_FIRST_BOOT == 0 ]]; then
        systemctl enable commune-hub.service >/dev/null 2>&1
    fi
"
echo "$OFFLINE_FIRST_BOOT" >"$ROOT/root/smoke/offline"

# --- 2. the probe: runs once the box has settled, writes its findings, powers off
cat >"$ROOT/root/smoke/probe.sh" <<'PROBE'
#!/bin/bash
set -uo pipefail
fail=0
check() {
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
if [[ $(cat /root/smoke/offline) == 1 ]]; then
    # The hub is unreachable at first boot: the store must exist, the token must be off the
    # boot partition, the daemon must wait, the retry timer must be armed.
    for _ in $(seq 30); do
        [[ -e /var/lib/commune-firstboot/pending.conf ]] && break
        sleep 1
    done
    check "offline: token moved off the boot partition" test ! -e /boot/firmware/commune.toml
    check "offline: enrollment pending" test -e /var/lib/commune-firstboot/pending.conf
    check "offline: local store created" test -e /var/lib/commune-gateway/config.json
    check "offline: daemon not enabled yet" bash -c '! systemctl is-enabled commune-gateway'
    check "offline: retry timer armed" systemctl is-active commune-firstboot-retry.timer
    check "offline: status note says pending" grep -q "state = pending" \
        /boot/firmware/commune-status.txt
    # The link comes back; the timer would fire within 10 minutes, do it now.
    systemctl start commune-hub.service
    sleep 2
    systemctl start commune-firstboot.service
fi
for _ in $(seq 60); do
    systemctl is-active --quiet commune-gateway.service && break
    sleep 1
done
sleep 5
gateway_as() { runuser -u gateway -- gateway "$@"; }
check "hub is running" systemctl is-active commune-hub.service
check "first boot succeeded" bash -c \
    '[[ $(systemctl show -p Result --value commune-firstboot.service) == success ]]'
check "token removed from the boot partition" test ! -e /boot/firmware/commune.toml
check "no token left anywhere on the boot partition" \
    bash -c '! grep -rq "enr_" /boot/firmware'
check "status note written" grep -q "state = enrolled" /boot/firmware/commune-status.txt
check "pending secret shredded" test ! -e /var/lib/commune-firstboot/pending.conf
check "sync daemon running" systemctl is-active commune-gateway.service
check "sync daemon enabled" systemctl is-enabled commune-gateway.service
check "scrub timer active" systemctl is-active commune-gateway-scrub.timer
check "enrollment retries stopped" bash -c '! systemctl is-enabled commune-firstboot-retry.timer'
check "data dir 0700 gateway" bash -c \
    '[[ $(stat -c "%a %U" /var/lib/commune-gateway) == "700 gateway" ]]'
check "identity key private" bash -c \
    '[[ $(stat -c "%a %U" /var/lib/commune-gateway/identity/key.pem) == "600 gateway" ]]'
# A document from the clerk: the daemon is woken, uploads it, the hub accepts it.
head -c 100000 /dev/urandom >/tmp/cong-van.pdf
chmod 0644 /tmp/cong-van.pdf
check "clerk queues a document" runuser -u gateway -- gateway send \
    --data /var/lib/commune-gateway --to 000.00.32.H35 --subject "V/v thử nghiệm" \
    --number 1/UBND-VP /tmp/cong-van.pdf
accepted() {
    runuser -u gateway -- gateway list --data /var/lib/commune-gateway --outbox --json \
        | grep -Eq '"state": *"at_hub"'
}
for _ in $(seq 60); do accepted && break; sleep 1; done
check "the hub accepted it (sync through the sandbox)" accepted
check "last sync recorded" bash -c 'runuser -u gateway -- gateway status \
    --data /var/lib/commune-gateway --json | grep -q last_sync_ms'
check "scrub passes" systemctl start commune-gateway-scrub.service
check "daemon survives a restart" bash -c \
    'systemctl restart commune-gateway.service && sleep 3 && systemctl is-active commune-gateway.service'
echo "--- exposure"
for u in commune-gateway commune-gateway-scrub commune-hub commune-firstboot; do
    systemd-analyze security --no-pager "$u.service" 2>/dev/null | tail -n1
done
echo "--- journal: commune-firstboot"
journalctl -b --no-pager -o cat -t commune-firstboot
echo "--- journal: commune-gateway (last 15)"
journalctl -b --no-pager -o cat -u commune-gateway.service | tail -n 15
echo "--- status"
journalctl -b --no-pager -o cat -u commune-hub.service | tail -n 5
gateway_as status --data /var/lib/commune-gateway
systemctl --no-pager --failed
echo "RESULT $fail"
PROBE
chmod 0755 "$ROOT/root/smoke/probe.sh"
cat >"$ROOT/etc/systemd/system/commune-smoke-probe.service" <<'UNIT'
[Unit]
Description=commune smoke test probe
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash -c '/root/smoke/probe.sh >/root/smoke/result.txt 2>&1; systemctl poweroff'
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/commune-smoke-probe.service \
    "$ROOT/etc/systemd/system/multi-user.target.wants/commune-smoke-probe.service"

# --- 3. boot (nspawn wants a terminal for a booted container: script(1) provides one)
script -qec "timeout $TIMEOUT systemd-nspawn --quiet --directory=$ROOT --register=no \
    --link-journal=no --private-network --keep-unit --boot" "$TOP/console.log" >/dev/null || true

if [[ ! -f $ROOT/root/smoke/result.txt ]]; then
    echo "smoke-nspawn.sh: the probe did not run; console log:" >&2
    tail -n 40 "$TOP/console.log" >&2
    exit 1
fi
cat "$ROOT/root/smoke/result.txt"
grep -qx 'RESULT 0' "$ROOT/root/smoke/result.txt"
