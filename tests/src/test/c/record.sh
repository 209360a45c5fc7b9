#!/usr/bin/env bash
# Re-records tests/src/test/resources/syscalls/recorded/ on this machine's kernel, without Maven:
# builds pmscan.c with gcc, writes NNN.trace with TraceGenerator (java runs the single source
# file), runs each trace five times on the kernel, keeps the output as NNN.out only if all five
# runs agree, and saves `pmscan --probe` as PROBE.txt (the settings the outputs depend on).
#
#   tests/src/test/c/record.sh [COUNT [FIRST_SEED]]     (default: 60 traces from seed 1)
set -euo pipefail

count=${1:-60}
seed=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
tests=$(cd "$here/../../.." && pwd)
out=$tests/src/test/resources/syscalls/recorded
generator=$tests/src/test/java/dev/ptwalk/tests/syscalls/TraceGenerator.java
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$work/pmscan" "$here/pmscan.c"
if ! "$work/pmscan" --probe > "$work/PROBE.txt"; then
  echo "record.sh: this kernel cannot run the traces: $(cat "$work/PROBE.txt")" >&2
  exit 1
fi
if grep -qx 'swap on' "$work/PROBE.txt"; then
  echo "record.sh: warning: swap is on; MADV_PAGEOUT will swap anonymous pages out" >&2
fi

java "$generator" --seed "$seed" --count "$count" --out "$work/traces"
for t in "$work"/traces/*.trace; do
  o=${t%.trace}.out
  "$work/pmscan" "$t" > "$o"
  for run in 2 3 4 5; do
    if ! "$work/pmscan" "$t" | cmp -s - "$o"; then
      echo "record.sh: $(basename "$t") gave a different output on run $run; nothing written" >&2
      exit 1
    fi
  done
done

rm -f "$out"/*.trace "$out"/*.out "$out"/PROBE.txt
mkdir -p "$out"
cp "$work"/traces/*.trace "$work"/traces/*.out "$work/PROBE.txt" "$out"/
echo "record.sh: recorded $count traces (seeds $seed..$((seed + count - 1))) in $out"
