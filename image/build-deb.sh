#!/bin/bash
# build-deb.sh: package the working tree as commune-gateway_<version>_<arch>.deb and
# commune-box_<version>_all.deb.
#
#   image/build-deb.sh [--arch arm64|amd64] [--python 3.11] [--out DIR] [--version V]
#                      [--repo-url URL --repo-key KEY.asc] [--print-version]
#
# commune-gateway carries a self-contained virtualenv under /opt/commune-gateway (the app and all its
# dependencies as wheels for the target: manylinux, CPython X.Y, the target's CPU), whose
# interpreter is the distribution's /usr/bin/pythonX.Y; plus /usr/bin/gateway, the systemd
# units of systemd/, the sysusers.d/tmpfiles.d files and the maintainer scripts of
# image/deb/commune-gateway/. The hub's server installs this package alone.
#
# commune-box (built when --repo-url and --repo-key, or COMMUNE_REPO_URL and COMMUNE_REPO_KEY,
# are given) is everything else a commune office's box runs, so that an upgrade can fix any of
# it: first boot (script and units), and as conffiles the journald, chrony, watchdog and
# unattended-upgrades settings and the apt source of the province's repository (deb822, with
# Signed-By its key, shipped in /usr/share/keyrings). Its postinst makes the machine a box on
# first install (image/deb/commune-box/). See image/box/ and docs/appliance.md.
#
# Reproducible dependencies: they come from requirements.lock (`make lock`), every file checked
# against the hashes there (pip --require-hashes); the machine's pip configuration is ignored.
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
PRINT_VERSION=0
REPO_URL=${COMMUNE_REPO_URL:-}
REPO_KEY=${COMMUNE_REPO_KEY:-}
# xz: the smallest download over a metered 3G link. The appliance tests, which build twice and
# throw the packages away, ask for gzip (seconds instead of a minute per build).
COMPRESS=${COMMUNE_DEB_COMPRESS:-xz}

PKG=commune-gateway
BOX=commune-box
PREFIX=/opt/commune-gateway
KEYRING=/usr/share/keyrings/commune-gateway-archive-keyring.gpg
# Who answers for the packages: the province's IT team (shown by `apt show`, in the changelog).
MAINTAINER=${COMMUNE_DEB_MAINTAINER:-Commune gateway team <commune-gateway@example.gov.vn>}
# pip reads /etc/pip.conf, ~/.config/pip and PIP_* variables: none of them may change a build.
export PIP_CONFIG_FILE=/dev/null
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT PIP_NO_INDEX

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
        --print-version) PRINT_VERSION=1; shift ;;
        --repo-url) REPO_URL=$2; shift 2 ;;
        --repo-key) REPO_KEY=$2; shift 2 ;;
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

if [[ -n $REPO_URL || -n $REPO_KEY ]]; then
    [[ $REPO_URL =~ ^(https?|file):///?[A-Za-z0-9._~:/-]+$ ]] || {
        echo "build-deb.sh: --repo-url wants https://host/path (got '$REPO_URL')" >&2
        exit 2
    }
    [[ -f $REPO_KEY ]] || { echo "build-deb.sh: --repo-key: no file '$REPO_KEY'" >&2; exit 2; }
fi
[[ $COMPRESS =~ ^(xz|gzip)$ ]] || {
    echo "build-deb.sh: COMMUNE_DEB_COMPRESS must be xz or gzip" >&2
    exit 2
}
[[ -f $REPO/requirements.lock ]] || { echo "build-deb.sh: no requirements.lock (make lock)" >&2; exit 1; }

for tool in git dpkg-deb readelf "$HOST_PYTHON"; do
    command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/commune-deb.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
log() { printf "== [%3ds] %s\n" "$SECONDS" "$*" >&2; }

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
# --print-version: the version a build now would get (make repo gives it to every architecture).
if ((PRINT_VERSION)); then
    printf '%s\n' "$VERSION"
    exit 0
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
target=(--no-compile --only-binary=:all: --implementation cp --python-version "$PYVER"
    --abi "$PYTAG" --abi abi3 --abi none "${platforms[@]}" --target "$SITE")
log "installing the locked dependencies for CPython $PYVER on $MACHINE (glibc <= 2.36)"
"${PIP[@]}" install --require-hashes --no-deps "${target[@]}" -r "$WORK/src/requirements.lock"
# The app itself (built above from the snapshot), with nothing else: its dependencies are the
# locked ones just installed; a dependency missing from the lock fails the import check below.
"${PIP[@]}" install --no-deps --upgrade "${target[@]}" "$WORK"/wheels/*.whl
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

# --- the shared libraries the bundled C extensions need from the system, and the minimum
# glibc their symbol versions ask for (what dh_shlibdeps would compute for a Debian build).
# Wheels bundle everything else (auditwheel's *.libs folders); an unknown library fails.
declare -A system_lib=(
    [libc.so.6]=libc6 [libm.so.6]=libc6 [libpthread.so.0]=libc6 [libdl.so.2]=libc6
    [librt.so.1]=libc6 [ld-linux-aarch64.so.1]=libc6 [ld-linux-x86-64.so.2]=libc6
    [libstdc++.so.6]=libstdc++6 [libgcc_s.so.1]=libgcc-s1 [libz.so.1]=zlib1g
)
mapfile -t bundled < <(find "$SITE" -type f -name '*.so*' -printf '%f\n' | sort -u)
mapfile -t elves < <(find "$SITE" -type f -name '*.so*')
glibc=2.17
declare -A lib_deps=([libc6]=1)
for so in "${elves[@]}"; do
    while read -r lib; do
        if [[ -n ${system_lib[$lib]:-} ]]; then
            lib_deps[${system_lib[$lib]}]=1
        elif ! printf '%s\n' "${bundled[@]}" | grep -qxF -- "$lib"; then
            echo "build-deb.sh: ${so#"$SITE"/} needs $lib, which is neither bundled nor known" >&2
            exit 1
        fi
    done < <(readelf -dW "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    v=$(readelf --dyn-syms -W "$so" | grep -o '@GLIBC_[0-9.]*' | sed 's/@GLIBC_//' \
        | sort -V | tail -n1 || true)
    if [[ -n $v ]] && [[ $(printf '%s\n%s\n' "$glibc" "$v" | sort -V | tail -n1) == "$v" ]]; then
        glibc=$v
    fi
done
shlib_depends="libc6 (>= $glibc)"
for dep in "${!lib_deps[@]}"; do
    [[ $dep == libc6 ]] || shlib_depends+=", $dep"
done
log "the bundled extensions need: $shlib_depends"

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
install -m 0644 "$WORK/src/docs/appliance.md" "$ROOT/usr/share/doc/$PKG/appliance.md"
if [[ -f $WORK/src/docs/protocol.md ]]; then
    install -m 0644 "$WORK/src/docs/protocol.md" "$ROOT/usr/share/doc/$PKG/protocol.md"
fi
"$HOST_PYTHON" "$WORK/src/tools/deb_copyright.py" "$SITE" \
    "${PREFIX#/}/lib/python$PYVER/site-packages" "$ROOT/usr/share/doc/$PKG/copyright"
# lintian: a venv is not Debian's Python, and the wheels are built upstream (see the file).
install -D -m 0644 "$WORK/src/image/deb/commune-gateway.lintian-overrides" \
    "$ROOT/usr/share/lintian/overrides/$PKG"

# --- 5. package helpers
# changelog ROOT PACKAGE: Debian wants one in every binary package; ours names the commit.
changelog() {
    local root=$1 pkg=$2
    {
        printf '%s (%s) stable; urgency=medium\n\n' "$pkg" "$VERSION"
        printf '  * Built from %s (see the project history).\n\n' "$SOURCE_REF"
        printf ' -- %s  %s\n' "$MAINTAINER" "$(date -R -u)"
    } | gzip -9n >"$root/usr/share/doc/$pkg/changelog.Debian.gz"
    chmod 0644 "$root/usr/share/doc/$pkg/changelog.Debian.gz"
}

# pack ROOT PACKAGE ARCH: md5sums, conffiles (everything under /etc), dpkg-deb.
pack() {
    local root=$1 pkg=$2 arch=$3 deb
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
        | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    if [[ -d $root/etc ]]; then
        (cd "$root" && find etc -type f -printf '/%p\n' | LC_ALL=C sort) >"$root/DEBIAN/conffiles"
    fi
    find "$root/DEBIAN" -type f ! -perm -u+x -exec chmod 0644 {} +
    mkdir -p "$OUT"
    deb=$OUT/${pkg}_${VERSION}_$arch.deb
    log "dpkg-deb --build -> $deb"
    dpkg-deb --root-owner-group -Z"$COMPRESS" --build "$root" "$deb" >/dev/null
    printf '%s\n' "$deb"
}

SOURCE_REF="commit $(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"

# --- 6. commune-gateway
changelog "$ROOT" "$PKG"
install -d -m 0755 "$ROOT/DEBIAN"
install -m 0755 "$WORK"/src/image/deb/$PKG/{postinst,prerm,postrm} "$ROOT/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
next=${PYVER%.*}.$((${PYVER#*.} + 1))
cat >"$ROOT/DEBIAN/control" <<EOF
Package: $PKG
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $size
Depends: python$PYVER, python3 (>= $PYVER), python3 (<< $next), systemd, passwd, $shlib_depends
Recommends: poppler-utils
Section: net
Priority: optional
Description: store-and-forward document gateway for commune offices
 The commune box's sync daemon, the clerk's TUI, and the provincial hub, as
 one Python application in a private virtualenv, with systemd units
 (installed, not enabled), system users and data directories. poppler-utils
 lets the clerk's screen show the text of a PDF (pdftotext).
EOF
pack "$ROOT" "$PKG" "$ARCH"

# --- 7. commune-box: the appliance policy, all conffiles and first boot
if [[ -z $REPO_URL ]]; then
    log "commune-box not built: give --repo-url and --repo-key (the province's repository)"
    exit 0
fi
BROOT=$WORK/box
BSRC=$WORK/src/image/box
install -d "$BROOT/DEBIAN" "$BROOT/usr/share/doc/$BOX" "$BROOT/usr/sbin" \
    "$BROOT/usr/lib/commune-gateway" "$BROOT/usr/lib/systemd/system" "$BROOT/usr/share/keyrings"
install -D -m 0644 "$WORK/src/systemd/journald-commune.conf" \
    "$BROOT/etc/systemd/journald.conf.d/60-commune.conf"
install -D -m 0644 "$BSRC/chrony.conf" "$BROOT/etc/chrony/conf.d/commune.conf"
install -D -m 0644 "$BSRC/chrony.sources" "$BROOT/etc/chrony/sources.d/commune.sources"
install -D -m 0644 "$BSRC/apt.conf" "$BROOT/etc/apt/apt.conf.d/52commune-gateway"
install -D -m 0644 "$BSRC/watchdog.conf" \
    "$BROOT/etc/systemd/system.conf.d/60-commune-watchdog.conf"
install -D -m 0644 "$BSRC/commune-firstboot.default" "$BROOT/etc/default/commune-firstboot"
install -d "$BROOT/etc/apt/sources.list.d"
sed "s|@REPO_URL@|$REPO_URL|" "$BSRC/commune-gateway.sources.in" \
    >"$BROOT/etc/apt/sources.list.d/commune-gateway.sources"
chmod 0644 "$BROOT/etc/apt/sources.list.d/commune-gateway.sources"
if grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$REPO_KEY"; then
    gpg --batch --quiet --dearmor <"$REPO_KEY" >"$BROOT$KEYRING"
else
    install -m 0644 "$REPO_KEY" "$BROOT$KEYRING"
fi
chmod 0644 "$BROOT$KEYRING"
install -m 0755 "$BSRC/commune-ring" "$BROOT/usr/sbin/commune-ring"
install -m 0755 "$WORK/src/image/firstboot/commune-firstboot.sh" "$BROOT/usr/lib/commune-gateway/"
install -m 0644 "$WORK/src/image/firstboot/commune-firstboot.service" \
    "$WORK/src/image/firstboot/commune-firstboot-retry.timer" "$BROOT/usr/lib/systemd/system/"
install -m 0644 "$WORK/src/image/firstboot/commune.toml.example" "$BROOT/usr/share/doc/$BOX/"
printf '%s\n' \
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
    'Upstream-Name: commune-gateway' '' 'Files: *' 'Copyright: the commune gateway team' \
    'License: Proprietary' ' Written for the province; not for redistribution.' \
    >"$BROOT/usr/share/doc/$BOX/copyright"
changelog "$BROOT" "$BOX"
install -m 0755 "$WORK"/src/image/deb/$BOX/{postinst,prerm,postrm} "$BROOT/DEBIAN/"
cat >"$BROOT/DEBIAN/control" <<EOF
Package: $BOX
Version: $VERSION
Architecture: all
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$BROOT" | cut -f1)
Depends: $PKG (= $VERSION), systemd, chrony, fake-hwclock, unattended-upgrades
Section: net
Priority: optional
Description: commune office box: first boot, updates and SD card policy
 Makes a Raspberry Pi a commune office's document gateway: enrollment with the
 provincial hub at first boot, the clerk's console on tty1, the province's
 signed apt repository with unattended upgrades from it and Debian security
 only, journald sized for an SD card, chrony for a box without a clock.
EOF
install -D -m 0644 "$WORK/src/image/deb/$BOX.lintian-overrides" \
    "$BROOT/usr/share/lintian/overrides/$BOX"
pack "$BROOT" "$BOX" all
