#!/usr/bin/env bash
# The C reference against the generated walkers, side by side (issue 14).
#
# Builds the benchmarks jar (unless --no-build) and the C reference (gcc -O2), then runs rounds
# that alternate the C program and a JMH fork of DenseBench's generated walkers in single-shot
# mode, and prints per-run minima in ns per PTE with the ratios.
#
#   benchmarks/compare.sh [--no-build] [--sparse] [rounds [cRuns [warmupShots [measuredShots]]]]
#
# Defaults: 5 rounds, 20 C walks per round, 40 warm-up and 40 measured JMH shots per round
# (under a minute on a quiet 2-core machine).
#
# With --sparse, the same for SparseBench against sparse_ref.c, in µs per walk of 1,000 pages
# over 1 GiB to 126 TiB. Defaults: 3 rounds, 300 C walks, 2000 warm-up and 2000 measured shots.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build=1
main=dev.ptwalk.benchmarks.Compare
source=ptwalk_ref
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --sparse) main=dev.ptwalk.benchmarks.CompareSparse source=sparse_ref ;;
    --*)
      echo "compare: unknown option '$1'; options are --no-build and --sparse" >&2
      exit 2
      ;;
    *) break ;;
  esac
  shift
done
jar="$root/benchmarks/target/benchmarks.jar"
ref="$root/benchmarks/target/$source"
if [ "$build" = 1 ]; then
  echo "compare: building the benchmarks (mvn -q -pl benchmarks -am -DskipTests package)..." >&2
  (cd "$root" && mvn -q -B -ntp -Dstyle.color=never -pl benchmarks -am -DskipTests package) >&2
fi
if [ ! -f "$jar" ]; then
  echo "compare: $jar is missing; run without --no-build" >&2
  exit 2
fi
mkdir -p "$root/benchmarks/target"
gcc -O2 -Wall -Wextra -Werror -o "$ref" "$root/benchmarks/src/main/c/$source.c"
java=java
if [ -n "${JAVA_HOME:-}" ]; then
  java="$JAVA_HOME/bin/java"
fi
exec "$java" -cp "$jar" "$main" "$ref" "$@"
