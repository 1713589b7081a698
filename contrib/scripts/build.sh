#!/bin/sh
# build.sh FLAVOR OUT [GO BUILD FLAGS...]: build one flavor of storagegrid
# into OUT. The one place that says what each flavor is; the Makefile, the
# Debian package and bench/agent.sh all build through it.
#
# The version (storagegrid --version, the man page, the agent's host
# entity) is STORAGEGRID_VERSION, by default this checkout's Debian version
# from contrib/packaging/deb-version.sh: the package and its binaries say
# the same. Extra linker flags come in LDFLAGS (e.g. "-s -w").
#
#   full   every command: the tool operators run (bin/storagegrid)
#   agent  only the agent commands, for the per-host daemon
#          (bin/storagegrid-agent); why: cmd/storagegrid/flavor_agent.go
#
# The full flavor reads gzipped audit logs with Intel's ISA-L (cgo, tag
# isal; internal/igzip) where it is installed (Debian: libisal-dev), about
# 2.5 times as fast as without; ISAL=yes requires it, ISAL=no leaves it out.
set -eu

usage() {
	echo "usage: $0 full|agent OUT [GO BUILD FLAGS...]" >&2
	exit 2
}
[ $# -ge 2 ] || usage
flavor=$1 out=$2
shift 2
case $flavor in
full)
	tags=
	case ${ISAL:-auto} in
	no) ;;
	yes | auto)
		if [ -e /usr/include/isa-l/igzip_lib.h ] && [ "${CGO_ENABLED:-1}" != 0 ]; then
			tags=isal
		elif [ "${ISAL:-auto}" = yes ]; then
			echo "$0: ISAL=yes needs cgo (CGO_ENABLED=1) and ISA-L's headers (Debian: apt-get install libisal-dev)" >&2
			exit 1
		else
			echo "$0: note: no ISA-L (Debian: apt-get install libisal-dev): gzipped audit logs are read with klauspost/compress, about 2.5 times slower" >&2
		fi
		;;
	*) usage ;;
	esac
	;;
# urfave_cli_no_docs drops urfave/cli's man-page renderer (blackfriday);
# the agent build has no man or completion command to need it.
agent) tags=agentonly,urfave_cli_no_docs ;;
*) usage ;;
esac
case $out in /*) ;; *) out=$PWD/$out ;; esac
cd "$(dirname "$0")/../.."
# Stamp the commit (storagegrid --version) from a git checkout, even where
# GOFLAGS says -buildvcs=false; a source tree without git builds unstamped.
vcs=
if git rev-parse --git-dir >/dev/null 2>&1; then vcs=-buildvcs=true; fi
version=${STORAGEGRID_VERSION:-$(./contrib/packaging/deb-version.sh 2>/dev/null || echo 0.0.0~unknown)}
exec "${GO:-go}" build $vcs -tags "$tags" \
	-ldflags "${LDFLAGS:-} -X github.com/storagegrid/storagegrid/internal/buildinfo.Version=$version" "$@" -o "$out" ./cmd/storagegrid
