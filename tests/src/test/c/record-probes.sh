#!/usr/bin/env bash
# Re-records tests/src/test/resources/syscalls/probes/NAME.out on this machine's kernel: the
# hand-written probe traces (behaviour the random generator keeps out: unregistered shared files
# with fault-around and read-ahead, page-table reclaim, sync-mode SIGBUS, clear_refs parsing...).
# Builds pmscan.c with gcc, runs each probe five times, and writes its output only when all five
# agree. The probes with an extfile region assume read_ahead_kb >= 128 on the extfile directory's
# device (the kernel's default).
#
#   tests/src/test/c/record-probes.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$here/../resources/syscalls/probes" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$work/pmscan" "$here/pmscan.c"
for t in "$dir"/*.trace; do
  o=$work/$(basename "${t%.trace}").out
  "$work/pmscan" "$t" > "$o"
  for run in 2 3 4 5; do
    if ! "$work/pmscan" "$t" | cmp -s - "$o"; then
      echo "record-probes.sh: $(basename "$t") gave a different output on run $run; nothing written" >&2
      exit 1
    fi
  done
done
cp "$work"/*.out "$dir"/
echo "record-probes.sh: recorded $(ls "$dir"/*.trace | wc -l) probes in $dir"
