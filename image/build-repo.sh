#!/bin/bash
# build-repo.sh: the province's signed apt repository of the commune gateway (aptly).
#
#   image/build-repo.sh --repo DIR --key KEY publish DEB…   add .debs; publish them to `pilot`
#   image/build-repo.sh --repo DIR --key KEY promote [SNAP]  `stable` := what `pilot` has (or SNAP)
#   image/build-repo.sh --repo DIR list                      versions and what each suite has
#
# DIR holds aptly's database and pool; DIR/public is the repository to serve over HTTPS
# (any static web server; boxes read it with the source shipped in commune-box). KEY is the
# signing key (an id or e-mail known to gpg, GNUPGHOME honoured); its public half is what
# build-deb.sh --repo-key puts on the boxes.
#
# Every version ever added stays in the pool and in the index of each suite, so a box can go
# back to any earlier one with `apt-get install commune-gateway=OLD commune-box=OLD`.
# Two suites form the rollout ring: `publish` puts a new version in `pilot` only (a few
# communes, `commune-ring pilot`); `promote` gives `stable` (every other box) exactly the
# snapshot that `pilot` has been running. Each publish is an aptly snapshot, so `promote SNAP`
# can also point `stable` back at an older one (apt does not downgrade by itself: see
# docs/appliance.md for the rollback of a box and of the fleet).
set -euo pipefail

ORIGIN="Commune Gateway"   # what unattended-upgrades matches (image/box/apt.conf)
LABEL=commune-gateway
ARCHES=amd64,arm64,all
LOCAL=commune

REPO_DIR=''
KEY=''
usage() {
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}
while (($#)); do
    case $1 in
        --repo) REPO_DIR=$2; shift 2 ;;
        --key) KEY=$2; shift 2 ;;
        -h | --help) usage 0 ;;
        -*) echo "build-repo.sh: unknown option $1" >&2; usage 2 ;;
        *) break ;;
    esac
done
COMMAND=${1:-}
shift || true
[[ -n $REPO_DIR ]] || { echo "build-repo.sh: --repo DIR is required" >&2; exit 2; }
command -v aptly >/dev/null || {
    echo "build-repo.sh: needs aptly (apt-get install aptly)" >&2
    exit 1
}
mkdir -p -- "$REPO_DIR"
REPO_DIR=$(cd -- "$REPO_DIR" && pwd)
CONFIG=$REPO_DIR/aptly.conf
if [[ ! -f $CONFIG ]]; then
    printf '{\n  "rootDir": "%s",\n  "architectures": ["amd64", "arm64"],\n  "gpgProvider": "gpg2"\n}\n' \
        "$REPO_DIR" >"$CONFIG"
fi
a() { aptly -config="$CONFIG" "$@"; }

need_key() {
    [[ -n $KEY ]] || { echo "build-repo.sh: --key KEY is required to sign" >&2; exit 2; }
    gpg --batch --list-secret-keys -- "$KEY" >/dev/null 2>&1 || {
        echo "build-repo.sh: gpg has no secret key '$KEY' (GNUPGHOME=${GNUPGHOME:-~/.gnupg})" >&2
        exit 1
    }
}

# published SUITE: the snapshot a suite is published from, empty when it is not published yet.
published() {
    a publish show "$1" 2>/dev/null | sed -n 's/^ *main: \([^ ]*\) \[snapshot\].*/\1/p'
}

# point SUITE SNAPSHOT: publish the suite from the snapshot (first time) or switch it to it.
point() {
    local suite=$1 snap=$2
    local sign=(-gpg-key="$KEY" -batch)
    if [[ -n $(published "$suite") ]]; then
        a publish switch "${sign[@]}" "$suite" "$snap" >/dev/null
    else
        a publish snapshot "${sign[@]}" -distribution="$suite" -component=main \
            -origin="$ORIGIN" -label="$LABEL" -architectures="$ARCHES" -skip-contents "$snap" >/dev/null
    fi
    echo "$suite <- $snap"
}

case $COMMAND in
    publish)
        need_key
        (($#)) || { echo "build-repo.sh: publish wants .deb files" >&2; exit 2; }
        a repo show "$LOCAL" >/dev/null 2>&1 || a repo create -component=main "$LOCAL" >/dev/null
        a repo add "$LOCAL" "$@" >/dev/null
        snap=$LOCAL-$(date -u +%Y%m%d%H%M%S)-$$
        a snapshot create "$snap" from repo "$LOCAL" >/dev/null
        point pilot "$snap"
        ;;
    promote)
        need_key
        snap=${1:-$(published pilot)}
        [[ -n $snap ]] || { echo "build-repo.sh: nothing published to pilot yet" >&2; exit 1; }
        point stable "$snap"
        ;;
    list)
        a repo show -with-packages "$LOCAL" | sed -n '/^Packages:/,$p'
        for suite in pilot stable; do
            echo "$suite: $(published "$suite")"
        done
        ;;
    *)
        usage 2
        ;;
esac
