#!/bin/sh
# build-deb.sh VERSION [OUT_DIR]: build the storagegrid Debian package with
# dpkg-deb alone (no debhelper), into OUT_DIR (default: bin), and print its
# path. VERSION must be a valid Debian version; `make deb` derives one from
# `git describe` with contrib/packaging/deb-version.sh.
#
# Reproducible: the binary is built with -trimpath, every file gets the
# mtime SOURCE_DATE_EPOCH (default: the last commit's time) and an explicit
# mode, and dpkg-deb sorts the tree and owns it as root:root.
set -eu

usage() {
	echo "usage: $0 VERSION [OUT_DIR]" >&2
	exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
version=$1
out=${2:-bin}

command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb not found (apt-get install dpkg)" >&2; exit 1; }
# Check before building anything: a bad version must leave nothing behind.
if ! msg=$(dpkg --validate-version -- "$version" 2>&1); then
	echo "build-deb.sh: VERSION $version is not a valid Debian version: $msg" >&2
	exit 2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.."

: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
export SOURCE_DATE_EPOCH
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-storagegrid maintainers <storagegrid@example.invalid>}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
umask 022

# Built straight into the staging tree: bin/ (make build) stays. The agent
# unit runs the agent-only build, installed where packages keep programs
# that are not for typing.
sg=$stage/usr/bin/storagegrid
sga=$stage/usr/lib/storagegrid/storagegrid-agent
mkdir -p "$stage/usr/bin" "$stage/usr/lib/storagegrid"
export STORAGEGRID_VERSION=$version LDFLAGS="-s -w"
# Static, without ISA-L (which Debian ships only as a shared library):
# see contrib/packaging/lintian-overrides.
CGO_ENABLED=0 ISAL=no ./contrib/scripts/build.sh full "$sg" -trimpath
CGO_ENABLED=0 ./contrib/scripts/build.sh agent "$sga" -trimpath
chmod 0755 "$sg" "$sga"
for unit in storagegrid-node@.service storagegrid-agent.service storagegrid-model.service; do
	install -D -m 0644 "contrib/systemd/$unit" "$stage/lib/systemd/system/$unit"
done
mkdir -p "$stage/usr/share/bash-completion/completions" \
	"$stage/usr/share/zsh/vendor-completions" \
	"$stage/usr/share/fish/vendor_completions.d" \
	"$stage/usr/share/man/man8"
"$sg" completion bash >"$stage/usr/share/bash-completion/completions/storagegrid"
"$sg" completion zsh >"$stage/usr/share/zsh/vendor-completions/_storagegrid"
"$sg" completion fish >"$stage/usr/share/fish/vendor_completions.d/storagegrid.fish"
"$sg" man | gzip -9n >"$stage/usr/share/man/man8/storagegrid.8.gz"
install -D -m 0644 contrib/storagegrid.toml "$stage/usr/share/doc/storagegrid/examples/storagegrid.toml"
install -D -m 0644 contrib/packaging/copyright "$stage/usr/share/doc/storagegrid/copyright"
install -D -m 0644 contrib/packaging/lintian-overrides "$stage/usr/share/lintian/overrides/storagegrid"
# A native package's changelog: one entry for this build, dated by
# SOURCE_DATE_EPOCH so that the package stays reproducible.
{
	printf 'storagegrid (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from commit %s; the changes are in the project history.\n\n' "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
	printf ' -- %s  %s\n' "$maintainer" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$stage/usr/share/doc/storagegrid/changelog.gz"

mkdir -p "$stage/DEBIAN"
for script in postinst postrm; do
	install -m 0755 "contrib/packaging/$script" "$stage/DEBIAN/$script"
done
# No Depends: the binary is static. The Recommends are what the systemd
# runtime (dbus) and the network checks (iproute2) use on a grid host;
# util-linux (losetup, unshare) is essential and never listed.
cat >"$stage/DEBIAN/control" <<CONTROL
Package: storagegrid
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Section: admin
Priority: optional
Recommends: dbus, iproute2
Description: host-level tooling for the Linux hosts of a storage grid
 One binary that sysadmins run with sudo during host maintenance (node
 status, stop, export, import, validate, start; audit-log searches; archive
 recovery; VMware autostart), and the same binary as a per-host agent and a
 model server that keep a live cross-layer model of the fleet.
 .
 The systemd units are installed but neither enabled nor started.
CONTROL
chmod 0644 "$stage/DEBIAN/control"

(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb="$out/storagegrid_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group "$stage" "$deb" >/dev/null
echo "$deb"
