#!/usr/bin/env bash
# The storagegrid demo: runs the runbook against a sandbox root, no real grid needed.
set -euo pipefail
bin=$(realpath "${1:-bin/storagegrid}")
"$bin" --help
"$(dirname "$0")/demo-archive.sh" "$bin"
