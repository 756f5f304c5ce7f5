#!/bin/bash
# commune-firstboot: turn a freshly flashed box into its commune's gateway, once.
#
# The province writes commune.toml onto the card's boot partition (FAT, readable on any PC):
#
#     agency = "000.00.31.H35"                    # mã định danh of the commune
#     hub    = "https://hub.example.gov.vn:8443"  # the provincial hub
#     token  = "enr_…@<CA fingerprint>"           # from `gateway hub token`, one-time
#     ring   = "pilot"                            # optional: gets new versions first
#
# This script, run by commune-firstboot.service as root:
#   1. reads and checks that file (plain `key = "value"` lines; CRLF and a BOM from Windows
#      editors are fine; KEY=value as in a .conf also works);
#   2. moves the token off the boot partition at once: into a root-only file under
#      $STATE_DIR, then overwrites and deletes commune.toml, leaving commune-status.txt (no
#      secret) to tell whoever reads the card next what happened;
#   3. sets the hostname from the agency code (cg-000-00-31-h35), and the rollout ring
#      (`commune-ring pilot`) when the file asks for it;
#   4. runs `gateway init --data … --agency … --hub … --token …` as the gateway user. The
#      local store is created first, offline, so the clerk can work at once; enrollment needs
#      the hub. A link often comes up after the box (a 3G modem registering, DHCP): on the
#      run that read the boot file, an unreachable hub (`gateway` exit 75) is tried again
#      every $ENROLL_RETRY_EVERY s for up to $ENROLL_BOOT_WAIT s. After that the token stays
#      in $STATE_DIR and commune-firstboot-retry.timer runs this script again every few minutes;
#   5. once enrolled: shreds the token, enables and starts the sync daemon, the weekly scrub
#      and the daemon's retry timer, and stops the enrollment retries.
# Every step is logged to the journal (SyslogIdentifier=commune-firstboot). The token itself
# is never logged.
#
# Exit status: 0 done, or enrollment pending (will retry); 3 the boot file is invalid (fix it;
# it is left in place); 1 anything else (logged).
#
# Paths and commands are overridable by environment variables, for tests and for the odd box
# with a different layout; the defaults are those of the image.
set -euo pipefail

BOOT_CONFIG=${COMMUNE_BOOT_CONFIG:-/boot/firmware/commune.toml}
DATA=${COMMUNE_DATA:-/var/lib/commune-gateway}
STATE_DIR=${COMMUNE_STATE_DIR:-/var/lib/commune-firstboot}
RUN_AS=${COMMUNE_RUN_AS-gateway}            # empty: run `gateway` as the calling user
GATEWAY=${COMMUNE_GATEWAY:-gateway}
SYSTEMCTL=${COMMUNE_SYSTEMCTL:-systemctl}
HOSTNAMECTL=${COMMUNE_HOSTNAMECTL:-hostnamectl}
RING=${COMMUNE_RING:-commune-ring}
ETC_HOSTS=${COMMUNE_ETC_HOSTS:-/etc/hosts}
HOSTNAME_PREFIX=${COMMUNE_HOSTNAME_PREFIX:-cg-}   # empty: keep the image's hostname
ENROLL_BOOT_WAIT=${COMMUNE_ENROLL_BOOT_WAIT:-120}  # seconds a late link is awaited, first run
ENROLL_RETRY_EVERY=${COMMUNE_ENROLL_RETRY_EVERY:-5}

BOOT_DIR=$(dirname -- "$BOOT_CONFIG")
STATUS_FILE=$BOOT_DIR/commune-status.txt
PENDING=$STATE_DIR/pending.conf
ENROLLED=$STATE_DIR/enrolled
DAEMON_UNITS=(commune-gateway.service commune-gateway-scrub.timer commune-gateway-retry.timer)
RETRY_TIMER=commune-firstboot-retry.timer

EX_CONFIG=3
EX_TEMPFAIL=75  # `gateway init`: the hub could not be reached, try again later

# journald reads a "<N>" syslog priority prefix on stdout; only add it when stdout is the
# journal, so that a run by hand stays readable.
log() {
    local prio=$1
    shift
    if [[ -n ${JOURNAL_STREAM:-} ]]; then
        printf '<%s>%s\n' "$prio" "$*"
    else
        printf '%s\n' "$*"
    fi
}
info() { log 6 "$@"; }
warn() { log 4 "$@"; }
error() { log 3 "$@"; }

now() { date '+%Y-%m-%d %H:%M:%S %z'; }

# parse_config FILE: sets CFG_AGENCY, CFG_HUB, CFG_TOKEN; returns 1 (after logging each
# problem) when the file is not usable.
parse_config() {
    local file=$1 line key value n=0 bad=0
    CFG_AGENCY='' CFG_HUB='' CFG_TOKEN='' CFG_RING=''
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%$'\r'}
        if ((n == 1)); then
            line=${line#$'\xef\xbb\xbf'}
        fi
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
        if [[ -z $line || $line == '#'* || $line =~ ^\[[A-Za-z0-9_.-]+\]$ ]]; then
            continue
        fi
        if [[ ! $line =~ ^([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
            error "$file:$n: expected key = \"value\""
            bad=1
            continue
        fi
        key=${BASH_REMATCH[1],,}
        value=${BASH_REMATCH[2]}
        if [[ $value =~ ^\"([^\"\\]*)\"[[:space:]]*(#.*)?$ ]]; then
            value=${BASH_REMATCH[1]}
        elif [[ $value =~ ^\'([^\']*)\'[[:space:]]*(#.*)?$ ]]; then
            value=${BASH_REMATCH[1]}
        elif [[ $value =~ ^([^\"\'#[:space:]]+)[[:space:]]*(#.*)?$ ]]; then
            value=${BASH_REMATCH[1]}
        else
            error "$file:$n: cannot read the value of '$key' (quote it: $key = \"…\")"
            bad=1
            continue
        fi
        case $key in
            agency) CFG_AGENCY=$value ;;
            hub) CFG_HUB=$value ;;
            token) CFG_TOKEN=$value ;;
            ring) CFG_RING=$value ;;
            *) warn "$file:$n: unknown key '$key' ignored" ;;
        esac
    done <"$file"

    if [[ ! $CFG_AGENCY =~ ^[0-9A-Za-z]{1,8}(\.[0-9A-Za-z]{1,8}){0,7}$ ]]; then
        error "$file: agency must be an agency code such as 000.00.31.H35 (got '${CFG_AGENCY}')"
        bad=1
    fi
    if [[ ! $CFG_HUB =~ ^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$ ]]; then
        error "$file: hub must look like https://hub.example.gov.vn:8443 (got '${CFG_HUB}')"
        bad=1
    fi
    if [[ ! $CFG_TOKEN =~ ^[A-Za-z0-9_-]{8,128}@[0-9a-fA-F]{32}$ ]]; then
        # Never echo a token, not even a malformed one.
        error "$file: token must be the whole line printed by 'gateway hub token' (TOKEN@FINGERPRINT)"
        bad=1
    fi
    if [[ -n $CFG_RING && $CFG_RING != pilot && $CFG_RING != stable ]]; then
        error "$file: ring must be pilot or stable (got '${CFG_RING}')"
        bad=1
    fi
    return "$bad"
}

# write_secret FILE: stdin to FILE, mode 0600, durably, replacing it atomically.
write_secret() {
    local file=$1 tmp
    tmp=$(mktemp "$file.XXXXXX")
    cat >"$tmp"
    chmod 0600 "$tmp"
    sync -- "$tmp"
    mv -f -- "$tmp" "$file"
    sync -- "$(dirname -- "$file")"
}

# scrub FILE: overwrite, then delete. On FAT this replaces the token's bytes in place; the SD
# card's wear levelling may still keep an old copy, which is why tokens are one-time and
# short-lived (72 h by default) and die as soon as the box has enrolled.
scrub() {
    local file=$1
    [[ -e $file ]] || return 0
    if ! shred --force --zero --iterations=1 --remove=wipesync -- "$file" 2>/dev/null; then
        : >"$file"
        rm -f -- "$file"
    fi
    sync -- "$(dirname -- "$file")" || true
}

# write_status TEXT: a note for whoever reads the boot partition on a PC (no secrets).
write_status() {
    local state=$1 detail=$2
    if {
        printf 'Commune document gateway / Cổng văn bản cấp xã\r\n'
        printf 'agency = %s\r\nhub = %s\r\nstate = %s\r\ntime = %s\r\n' \
            "$CFG_AGENCY" "$CFG_HUB" "$state" "$(now)"
        printf '%s\r\n' "$detail"
    } >"$STATUS_FILE.tmp" 2>/dev/null && mv -f -- "$STATUS_FILE.tmp" "$STATUS_FILE"; then
        sync -- "$BOOT_DIR" 2>/dev/null || true
    else
        warn "cannot write $STATUS_FILE (boot partition read-only?)"
        rm -f -- "$STATUS_FILE.tmp"
    fi
}

as_gateway() {
    if [[ -n $RUN_AS ]]; then
        setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups --reset-env -- "$@"
    else
        "$@"
    fi
}

set_hostname() {
    [[ -n $HOSTNAME_PREFIX ]] || return 0
    local name old
    name=$HOSTNAME_PREFIX$(tr '[:upper:].' '[:lower:]-' <<<"$CFG_AGENCY")
    name=${name:0:63}
    old=$(hostname 2>/dev/null || true)
    if [[ $old == "$name" ]]; then
        return 0
    fi
    if "$HOSTNAMECTL" set-hostname "$name"; then
        info "hostname set to $name"
    else
        warn "could not set the hostname to $name; keeping ${old:-the old one}"
        return 0
    fi
    # Debian resolves its own name through the 127.0.1.1 line. Rewrite in place (no rename):
    # /etc/hosts is bind-mounted writable into this service's otherwise read-only /etc.
    if [[ -w $ETC_HOSTS ]]; then
        local hosts
        hosts=$(grep -v '^127\.0\.1\.1[[:space:]]' "$ETC_HOSTS" || true)
        {
            [[ -z $hosts ]] || printf '%s\n' "$hosts"
            printf '127.0.1.1\t%s\n' "$name"
        } >"$ETC_HOSTS"
    fi
}

enable_daemon() {
    # --no-block: this script runs inside a start job that the daemon is ordered after;
    # waiting for the daemon's start from here would deadlock.
    "$SYSTEMCTL" enable "${DAEMON_UNITS[@]}"
    "$SYSTEMCTL" start --no-block "${DAEMON_UNITS[@]}"
    "$SYSTEMCTL" disable "$RETRY_TIMER" || true
    "$SYSTEMCTL" stop --no-block "$RETRY_TIMER" || true
}

main() {
    umask 077
    mkdir -p -- "$STATE_DIR"
    chmod 0700 -- "$STATE_DIR"

    local fresh=0  # this run reads the boot file: the very first boot, a late link is likely
    if [[ -e $BOOT_CONFIG ]]; then
        fresh=1
        info "reading $BOOT_CONFIG"
        if [[ -e $ENROLLED ]]; then
            warn "this box is already enrolled ($(head -n1 "$ENROLLED")); $BOOT_CONFIG is" \
                "ignored and its token deleted. To re-enroll: gateway enroll (see image/README.md)."
            scrub "$BOOT_CONFIG"
            return 0
        fi
        if ! parse_config "$BOOT_CONFIG"; then
            error "$BOOT_CONFIG is not usable; nothing done. Fix the file and reboot" \
                "(or: systemctl start commune-firstboot)."
            return "$EX_CONFIG"
        fi
        # Step 2: the token leaves the boot partition before anything else can fail.
        printf 'agency = "%s"\nhub = "%s"\ntoken = "%s"\n' \
            "$CFG_AGENCY" "$CFG_HUB" "$CFG_TOKEN" | write_secret "$PENDING"
        scrub "$BOOT_CONFIG"
        info "token moved to $PENDING (root only) and $BOOT_CONFIG deleted"
        write_status pending "Đang đăng ký với máy chủ tỉnh / enrolling with the hub"
        if [[ -n $CFG_RING ]]; then
            if "$RING" "$CFG_RING" >/dev/null; then
                info "rollout ring: $CFG_RING"
            else
                warn "could not set the rollout ring to $CFG_RING (commune-ring failed)"
            fi
        fi
    elif [[ -e $PENDING ]]; then
        parse_config "$PENDING" || {
            error "$PENDING is damaged; copy a new commune.toml to the boot partition"
            return "$EX_CONFIG"
        }
        info "retrying enrollment of $CFG_AGENCY with $CFG_HUB"
    else
        info "nothing to do: no $BOOT_CONFIG and no pending enrollment"
        return 0
    fi

    set_hostname

    info "gateway init --data $DATA --agency $CFG_AGENCY --hub $CFG_HUB --token (hidden)"
    local out rc deadline=$SECONDS
    [[ $fresh == 0 ]] || deadline=$((SECONDS + ENROLL_BOOT_WAIT))
    while :; do
        rc=0
        out=$(as_gateway "$GATEWAY" init --data "$DATA" --agency "$CFG_AGENCY" \
            --hub "$CFG_HUB" --token "$CFG_TOKEN" 2>&1) || rc=$?
        ((rc == EX_TEMPFAIL && SECONDS < deadline)) || break
        info "the hub does not answer yet (the link may still be coming up); trying again" \
            "in $ENROLL_RETRY_EVERY s (for up to $ENROLL_BOOT_WAIT s)"
        sleep "$ENROLL_RETRY_EVERY"
    done
    if ((rc != 0)); then
        # `gateway init` creates the local store before it contacts the hub: if that part
        # worked, the clerk can already work and only the enrollment has to wait for a link.
        if [[ -e $DATA/config.json ]] && grep -qF "\"$CFG_AGENCY\"" "$DATA/config.json"; then
            warn "enrollment not done yet (gateway exit $rc): ${out//"$CFG_TOKEN"/(token)}"
            warn "the local store is ready; enrollment is retried by $RETRY_TIMER"
            write_status pending "Chưa đăng ký được, sẽ thử lại / not enrolled yet, will retry: ${out//"$CFG_TOKEN"/(token)}"
            "$SYSTEMCTL" start --no-block "$RETRY_TIMER" || true
            return 0
        fi
        error "gateway init failed (exit $rc): ${out//"$CFG_TOKEN"/(token)}"
        write_status failed "Lỗi / failed: ${out//"$CFG_TOKEN"/(token)}"
        return 1
    fi

    printf '%s enrolled %s with %s\n' "$CFG_AGENCY" "$(now)" "$CFG_HUB" >"$ENROLLED"
    scrub "$PENDING"
    info "enrolled $CFG_AGENCY with $CFG_HUB; the token is deleted"
    write_status enrolled "Đã đăng ký / enrolled. Máy đang đồng bộ / the box is syncing."
    enable_daemon
    info "enabled and started: ${DAEMON_UNITS[*]}"
}

main "$@"
