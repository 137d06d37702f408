#!/bin/sh
# Installs what claimfs needs to build and test on Debian 12: the fixed libraries
# (libfuse3, libyaml, jansson, Check), fusermount3, pkg-config, and the tools the tests
# use (python3, jq, clang's sanitizer and fuzzer runtime). Run as root it uses apt-get;
# otherwise it prints the exact command to run. Safe to run again: it only installs
# what is missing.
set -eu

PKGS="build-essential pkg-config libfuse3-dev fuse3 libyaml-dev libjansson-dev check python3 jq util-linux valgrind prometheus clang libclang-rt-14-dev strace"
if [ "${CLAIMFS_EXTRA_PKGS:-}" ]; then PKGS="$PKGS $CLAIMFS_EXTRA_PKGS"; fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "claimfs: missing packages:$missing" >&2
	echo "claimfs: install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "claimfs: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
