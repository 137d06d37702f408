#!/bin/sh
# textfile-collector.sh - feeds claimfs' /metrics to Prometheus' node_exporter through its
# textfile collector (node_exporter --collector.textfile.directory=DIR): every INTERVAL
# it copies MOUNT/metrics to DIR/claimfs.prom, atomically, so node_exporter never reads a
# half-written file:
#   1. write the copy to a temporary file in DIR itself (same filesystem, so the rename
#      below is atomic) whose name does not end in .prom (node_exporter skips it);
#   2. check it is complete (non-empty, ends with a newline; with --check, promtool
#      accepts it);
#   3. rename it over DIR/claimfs.prom: a reader sees the old file or the new one, never
#      a mix. A failed copy leaves the previous file in place and is reported on stderr.
# The copy is rewritten at every interval even when nothing changed, so the file's mtime
# (node_exporter's node_textfile_mtime_seconds) keeps telling that the collector runs.
#
#   scripts/textfile-collector.sh [--once] [--check] [--interval SECONDS] MOUNT DIR
#
# Examples:
#   scripts/textfile-collector.sh /mnt/claimfs /var/lib/node_exporter/textfile &
#   scripts/textfile-collector.sh --once /mnt/claimfs /var/lib/node_exporter/textfile  # cron
set -eu

prog=textfile-collector.sh
interval=15
once=0
check=0
name=claimfs.prom

usage() {
	sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	echo
	echo "options:"
	echo "  --interval SECONDS  time between copies (default 15, node_exporter's usual scrape)"
	echo "  --once              copy once and exit (for cron or a systemd timer)"
	echo "  --check             refuse a copy that promtool check metrics does not accept"
	echo "  --name FILE         name of the .prom file in DIR (default claimfs.prom)"
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--once) once=1 ;;
	--check) check=1 ;;
	--interval) [ $# -ge 2 ] || { echo "$prog: --interval needs a value" >&2; exit 2; }
		interval=$2; shift ;;
	--interval=*) interval=${1#--interval=} ;;
	--name) [ $# -ge 2 ] || { echo "$prog: --name needs a value" >&2; exit 2; }
		name=$2; shift ;;
	--name=*) name=${1#--name=} ;;
	--) shift; break ;;
	-*) echo "$prog: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
mnt=$1
dir=$2
case $name in *.prom) ;; *) echo "$prog: --name must end in .prom (node_exporter reads only those)" >&2; exit 2 ;; esac
case $interval in '' | *[!0-9.]*) echo "$prog: bad interval '$interval' (seconds)" >&2; exit 2 ;; esac
[ -r "$mnt/metrics" ] || { echo "$prog: $mnt/metrics: not readable (is claimfs mounted there?)" >&2; exit 2; }
if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
	echo "$prog: $dir: not a writable directory" >&2
	exit 2
fi
if [ "$check" -eq 1 ] && ! command -v promtool >/dev/null 2>&1; then
	echo "$prog: --check needs promtool (Debian package prometheus)" >&2
	exit 2
fi

# The temporary file: in DIR, hidden, not ending in .prom; removed on every exit path.
tmp=$dir/.$name.$$.tmp
trap 'rm -f "$tmp"' EXIT
# Stopping it (Ctrl-C, systemctl stop) is a clean exit; DIR/NAME stays complete.
trap 'exit 0' INT TERM

# One copy: 0 when DIR/NAME now holds a complete copy of /metrics.
copy_once() {
	# cat reads the whole file through one open: claimfs renders it at open, so the copy
	# is one consistent version of the cluster even if it changes meanwhile.
	if ! cat "$mnt/metrics" >"$tmp"; then
		echo "$prog: reading $mnt/metrics failed; $dir/$name left as it was" >&2
		return 1
	fi
	if [ ! -s "$tmp" ] || [ "$(tail -c 1 "$tmp" | od -An -c | tr -d ' ')" != '\n' ]; then
		echo "$prog: $mnt/metrics was empty or cut short; $dir/$name left as it was" >&2
		return 1
	fi
	if [ "$check" -eq 1 ] && ! promtool check metrics <"$tmp" >&2; then
		echo "$prog: promtool refused the copy; $dir/$name left as it was" >&2
		return 1
	fi
	chmod 0644 "$tmp"
	mv -f "$tmp" "$dir/$name"
}

if [ "$once" -eq 1 ]; then
	copy_once
	exit $?
fi
while :; do
	copy_once || :
	sleep "$interval"
done
