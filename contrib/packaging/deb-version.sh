#!/bin/sh
# deb-version.sh: this checkout's version as a Debian version, from
# `git describe --tags --always --dirty`:
#   v1.2.0                    -> 1.2.0
#   v1.2.0-3-gabc1234-dirty   -> 1.2.0+3.gabc1234.dirty
#   abc1234 (no tag yet)      -> 0.0.0~gitabc1234 (sorts before any 0.0.0 release)
set -eu
d=$(git describe --tags --always --dirty)
if ! git describe --tags --abbrev=0 >/dev/null 2>&1; then
	d=0.0.0~git$d
fi
# Debian allows '-' only before a revision: the first becomes '+', the rest '.'.
v=$(printf '%s\n' "$d" | sed -e 's/^v//' -e 's/-/+/' -e 's/-/./g')
dpkg --validate-version -- "$v" >/dev/null 2>&1 || {
	echo "deb-version.sh: cannot make a Debian version of '$d' (got '$v')" >&2
	exit 1
}
printf '%s\n' "$v"
