#!/usr/bin/env bash
# The C reference against the generated walkers, side by side (issue 14).
#
# Builds the benchmarks jar (unless --no-build) and the C reference (gcc -O2), then runs rounds
# that alternate the C program and a JMH fork of DenseBench's generated walkers in single-shot
# mode, and prints per-run minima in ns per PTE with the ratios.
#
#   benchmarks/compare.sh [--no-build] [rounds [cRuns [warmupShots [measuredShots]]]]
#
# Defaults: 5 rounds, 20 C walks per round, 40 warm-up and 40 measured JMH shots per round
# (about 2 minutes on a quiet 2-core machine).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build=1
if [ "${1:-}" = "--no-build" ]; then
  build=0
  shift
fi
jar="$root/benchmarks/target/benchmarks.jar"
ref="$root/benchmarks/target/ptwalk_ref"
if [ "$build" = 1 ]; then
  echo "compare: building the benchmarks (mvn -q -pl benchmarks -am -DskipTests package)..." >&2
  (cd "$root" && mvn -q -B -ntp -Dstyle.color=never -pl benchmarks -am -DskipTests package) >&2
fi
if [ ! -f "$jar" ]; then
  echo "compare: $jar is missing; run without --no-build" >&2
  exit 2
fi
mkdir -p "$root/benchmarks/target"
gcc -O2 -Wall -Wextra -Werror -o "$ref" "$root/benchmarks/src/main/c/ptwalk_ref.c"
java=java
if [ -n "${JAVA_HOME:-}" ]; then
  java="$JAVA_HOME/bin/java"
fi
exec "$java" -cp "$jar" dev.ptwalk.benchmarks.Compare "$ref" "$@"
