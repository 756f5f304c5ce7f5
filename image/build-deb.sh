#!/bin/bash
# build-deb.sh: package the working tree as commune-gateway_<version>_<arch>.deb.
#
#   image/build-deb.sh [--arch arm64|amd64] [--python 3.11] [--out DIR] [--version V]
#
# The .deb carries a self-contained virtualenv under /opt/commune-gateway (the app and all its
# dependencies as wheels for the target: manylinux, CPython X.Y, the target's CPU), whose
# interpreter is the distribution's /usr/bin/pythonX.Y; plus /usr/bin/gateway, the systemd
# units of systemd/, the sysusers.d/tmpfiles.d files and the maintainer scripts of image/deb/.
#
# Cross-building works because nothing is compiled: every dependency is installed from a
# binary wheel for the target platform (pip --platform/--python-version/--only-binary), and
# the venv is laid out by hand rather than by running the target's python. So an x86-64
# build machine makes the arm64 .deb for the Pi image. Needs: python3 (>= 3.11, with venv),
# git, dpkg-deb, and PyPI (the only network access, for the wheels).
#
# The working tree is what gets built (tracked files plus untracked, non-ignored ones), so a
# developer can try a change on a box before committing it. The repository is not written to:
# all building happens in a temporary directory.
set -euo pipefail

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
PYVER=3.11
OUT=$REPO/dist
VERSION=${COMMUNE_DEB_VERSION:-}
HOST_PYTHON=${PYTHON:-python3}

PKG=commune-gateway
PREFIX=/opt/commune-gateway

usage() {
    sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while (($#)); do
    case $1 in
        --arch) ARCH=$2; shift 2 ;;
        --python) PYVER=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --version) VERSION=$2; shift 2 ;;
        -h | --help) usage 0 ;;
        *) echo "build-deb.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done

case $ARCH in
    arm64) MACHINE=aarch64 ;;
    amd64) MACHINE=x86_64 ;;
    *)
        echo "build-deb.sh: --arch $ARCH is not supported (arm64 for the Pi, amd64 for the hub):" \
            "not every dependency publishes manylinux wheels for it" >&2
        exit 2
        ;;
esac
if [[ ! $PYVER =~ ^3\.[0-9]+$ ]]; then
    echo "build-deb.sh: --python wants X.Y, e.g. 3.11" >&2
    exit 2
fi
PYTAG=cp${PYVER/./}

for tool in git dpkg-deb "$HOST_PYTHON"; do
    command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/commune-deb.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
log() { printf '== %s\n' "$*" >&2; }

# --- version: pyproject's, plus build time and commit so that every build sorts after the last
upstream=$(sed -n 's/^version = "\([^"]*\)"$/\1/p' "$REPO/pyproject.toml" | head -n1)
[[ -n $upstream ]] || { echo "build-deb.sh: no version in pyproject.toml" >&2; exit 1; }
if [[ -z $VERSION ]]; then
    rev=$(git -C "$REPO" rev-parse --short=10 HEAD 2>/dev/null || echo unknown)
    dirty=''
    if [[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
        dirty=.dirty
    fi
    VERSION=$upstream+$(date -u +%Y%m%d%H%M%S).g$rev$dirty-1
fi

# --- 1. a snapshot of the working tree (the build never writes into the repository)
log "snapshot of $REPO"
mkdir -p "$WORK/src"
git -C "$REPO" ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        # Files deleted in the working tree but not yet in the index are left out.
        if [[ -e $REPO/$f ]]; then printf '%s\0' "$f"; fi
    done \
    | (cd "$REPO" && tar --null -T - -cf -) \
    | tar -C "$WORK/src" -xf -

# --- 2. a throw-away build venv, and the app's own wheel (pure Python)
log "building the wheel"
"$HOST_PYTHON" -m venv "$WORK/buildenv"
PIP=("$WORK/buildenv/bin/python" -m pip --disable-pip-version-check --no-input --quiet)
"${PIP[@]}" install --upgrade pip
"${PIP[@]}" wheel --no-deps --wheel-dir "$WORK/wheels" "$WORK/src"

# --- 3. the target venv, laid out by hand, with the dependencies as target wheels
ROOT=$WORK/root
VENV=$ROOT$PREFIX
SITE=$VENV/lib/python$PYVER/site-packages
mkdir -p "$VENV/bin" "$SITE"
ln -s "/usr/bin/python$PYVER" "$VENV/bin/python3"
ln -s python3 "$VENV/bin/python"
ln -s python3 "$VENV/bin/python$PYVER"
ln -s lib "$VENV/lib64"
printf 'home = /usr/bin\ninclude-system-site-packages = false\nversion = %s\n' "$PYVER" \
    >"$VENV/pyvenv.cfg"

platforms=()
for glibc in 2_36 2_35 2_34 2_31 2_28 2_27 2_24 2_17; do
    platforms+=(--platform "manylinux_${glibc}_$MACHINE")
done
platforms+=(--platform "manylinux2014_$MACHINE")
log "installing dependencies for CPython $PYVER on $MACHINE (linux, glibc <= 2.36)"
"${PIP[@]}" install --no-compile --only-binary=:all: \
    --implementation cp --python-version "$PYVER" --abi "$PYTAG" --abi abi3 --abi none \
    "${platforms[@]}" --target "$SITE" "$WORK"/wheels/*.whl
# Console scripts of dependencies were written for the build python; the app's entry point is
# written below, for the target's.
rm -rf -- "${SITE:?}/bin"
find "$VENV" -depth -type d -name __pycache__ -exec rm -rf {} +
# Wheels ship their C extensions with debug info (zstandard: 23 MB, 2 MB stripped). Strip them
# as dh_strip would, with the target's strip (binutils-aarch64-linux-gnu on an x86-64 host).
strip_tool=''
for candidate in "$MACHINE-linux-gnu-strip" llvm-strip; do
    if command -v "$candidate" >/dev/null; then strip_tool=$candidate; break; fi
done
if [[ -z $strip_tool && $(uname -m) == "$MACHINE" ]] && command -v strip >/dev/null; then
    strip_tool="strip"
fi
if [[ -n $strip_tool ]]; then
    log "stripping shared objects with $strip_tool"
    find "$SITE" -type f -name '*.so*' -exec "$strip_tool" --strip-unneeded {} +
else
    log "WARNING: no strip for $MACHINE found; the .deb keeps debug info (about 40 MB more)"
fi
cat >"$VENV/bin/gateway" <<EOF
#!$PREFIX/bin/python3
import sys

from gateway.launch import main

if __name__ == "__main__":
    sys.exit(main())
EOF
chmod 0755 "$VENV/bin/gateway"

# --- 4. the rest of the file system
install -d "$ROOT/usr/bin" "$ROOT/usr/lib/systemd/system" "$ROOT/usr/lib/sysusers.d" \
    "$ROOT/usr/lib/tmpfiles.d" "$ROOT/usr/share/doc/$PKG"
ln -s "$PREFIX/bin/gateway" "$ROOT/usr/bin/gateway"
install -m 0644 "$WORK"/src/systemd/*.service "$WORK"/src/systemd/*.timer \
    "$WORK"/src/systemd/*.path "$ROOT/usr/lib/systemd/system/"
install -m 0644 "$WORK/src/systemd/sysusers.d/commune-gateway.conf" "$ROOT/usr/lib/sysusers.d/"
install -m 0644 "$WORK/src/systemd/tmpfiles.d/commune-gateway.conf" "$ROOT/usr/lib/tmpfiles.d/"
install -m 0644 "$WORK/src/README.md" "$ROOT/usr/share/doc/$PKG/README.md"
install -m 0644 "$WORK/src/image/README.md" "$ROOT/usr/share/doc/$PKG/appliance.md"
if [[ -f $WORK/src/docs/protocol.md ]]; then
    install -m 0644 "$WORK/src/docs/protocol.md" "$ROOT/usr/share/doc/$PKG/protocol.md"
fi
printf 'commune-gateway %s\nBundled Python packages: see %s/lib/python%s/site-packages/*.dist-info\n' \
    "$VERSION" "$PREFIX" "$PYVER" >"$ROOT/usr/share/doc/$PKG/copyright"

# --- 5. DEBIAN/
install -d -m 0755 "$ROOT/DEBIAN"
install -m 0755 "$WORK/src/image/deb/postinst" "$WORK/src/image/deb/prerm" \
    "$WORK/src/image/deb/postrm" "$ROOT/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
next=${PYVER%.*}.$((${PYVER#*.} + 1))
cat >"$ROOT/DEBIAN/control" <<EOF
Package: $PKG
Version: $VERSION
Architecture: $ARCH
Maintainer: Commune gateway team <gateway@localhost>
Installed-Size: $size
Depends: python$PYVER, python3 (>= $PYVER), python3 (<< $next), systemd
Recommends: chrony, fake-hwclock
Section: net
Priority: optional
Description: store-and-forward document gateway for commune offices
 The commune box's sync daemon, the clerk's TUI, and the provincial hub, as one
 Python application in a private virtualenv under $PREFIX, with systemd units
 (installed, not enabled), system users and data directories.
EOF
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/control"

mkdir -p "$OUT"
deb=$OUT/${PKG}_${VERSION}_$ARCH.deb
log "dpkg-deb --build -> $deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$deb" >/dev/null
printf '%s\n' "$deb"
