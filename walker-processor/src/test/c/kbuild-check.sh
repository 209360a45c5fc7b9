#!/usr/bin/env bash
# Compile every .c file of a directory as built-in code of mm/ with the kernel's
# own build system (kbuild, W=1) against Linux 6.12 headers, and run
# scripts/checkpatch.pl on every .c and .h file. Fails on any error or warning.
#
# Usage: kbuild-check.sh DIR
#
# Kernel tree, found in this order:
#   KDIR   $PTWALK_KDIR, else the newest /usr/src/linux-headers-6.12*-amd64
#          (Debian's linux-headers-amd64 from bookworm-backports)
#   KSRC   $PTWALK_KSRC, else /usr/src/ptwalk-linux-<release of KDIR>: the
#          files of the same kernel's source that the headers package lacks
#          (mm/internal.h, mm/vma.h, scripts/checkpatch.pl and its data)
# install-kernel-tree.sh, beside this script, installs both.
#
# Exit status: 0 all clean; 1 an error, a warning or a checkpatch complaint
# (printed); 2 bad usage; 77 no kernel tree here (callers skip), or 1 then if
# PTWALK_REQUIRE_KERNEL_TREE is set (CI sets it once it installed the tree).
set -uo pipefail
# Plain ASCII diagnostics ('x', not curly quotes), whatever the caller's locale.
# kbuild unexports LC_ALL, so the other variables are set too.
export LC_ALL=C LANG=C LC_CTYPE=C LC_MESSAGES=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

no_tree() {
	echo "SKIP: $*; install it with: sudo bash $here/install-kernel-tree.sh" >&2
	if [ -n "${PTWALK_REQUIRE_KERNEL_TREE:-}" ]; then
		echo "FAIL: PTWALK_REQUIRE_KERNEL_TREE is set, so a missing tree is an error" >&2
		exit 1
	fi
	exit 77
}

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 DIR (a directory holding the .c and .h files to check)" >&2
	exit 2
fi
dir=$(cd "$1" && pwd -P)

kdir=${PTWALK_KDIR:-}
if [ -z "$kdir" ]; then
	kdir=$(ls -d /usr/src/linux-headers-6.12*-amd64 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ] || [ ! -f "$kdir/.config" ]; then
	no_tree "no Linux 6.12 headers (looked for ${kdir:-/usr/src/linux-headers-6.12*-amd64})"
fi
release=${kdir##*/linux-headers-}
ksrc=${PTWALK_KSRC:-/usr/src/ptwalk-linux-$release}
if [ ! -f "$ksrc/mm/internal.h" ] || [ ! -f "$ksrc/scripts/checkpatch.pl" ]; then
	no_tree "headers $kdir found, but not the source files they lack" \
		"($ksrc/mm/internal.h, $ksrc/scripts/checkpatch.pl)"
fi

shopt -s nullglob
sources=("$dir"/*.c)
headers=("$dir"/*.h)
shopt -u nullglob
if [ ${#sources[@]} -eq 0 ]; then
	echo "no .c file in $dir" >&2
	exit 2
fi

# kbuild writes objects and .cmd files next to the sources: build in a copy.
build=$(mktemp -d "${TMPDIR:-/tmp}/ptwalk-kbuild.XXXXXX")
trap 'rm -rf "$build"' EXIT
cp "${sources[@]}" "${headers[@]}" "$build"/

objs=()
for c in "${sources[@]}"; do
	o=$(basename "${c%.c}.o")
	objs+=("$o")
done
{
	echo "# Built in (obj-y), never as a module: no -DMODULE, as for mm/."
	echo "obj-y := ${objs[*]}"
	echo "# \"internal.h\" resolves as it does for a file of mm/."
	echo "ccflags-y := -I$ksrc/mm"
} >"$build/Kbuild"

echo "kernel: $kdir (source files from $ksrc)"
status=0

# Single-object targets build only those objects, with the flags of obj-y
# objects (KBUILD_CFLAGS_KERNEL), and skip modpost. -k: report every file.
log="$build/kbuild.log"
make -k -s -C "$kdir" M="$build" W=1 "${objs[@]}" >"$log" 2>&1
rc=$?
# Report paths as the caller named them, not the temporary copy.
sed -e "s|$build/|$dir/|g" "$log"
if [ $rc -ne 0 ]; then
	echo "FAIL: kbuild exited with status $rc" >&2
	status=1
elif grep -qE '(warning|error):' "$log"; then
	echo "FAIL: kbuild reported warnings" >&2
	status=1
else
	for o in "${objs[@]}"; do
		if [ ! -s "$build/$o" ]; then
			echo "FAIL: $o was not built" >&2
			status=1
		fi
	done
fi
if [ $status -eq 0 ]; then
	echo "kbuild W=1: ${#objs[@]} files, no error, no warning"
fi

# --strict: CHECK-level remarks fail too, except UNCOMMENTED_DEFINITION, meant
# for locks in structures, which misfires on the local "spinlock_t *ptl;" every
# page-table walk of mm/ declares. 80 columns, not checkpatch's default 100.
for f in "${sources[@]}" "${headers[@]}"; do
	name=$(basename "$f")
	out=$(cd "$build" && perl "$ksrc/scripts/checkpatch.pl" --no-tree --strict --max-line-length=80 \
		--ignore UNCOMMENTED_DEFINITION --show-types --color=never -f "$name" 2>&1)
	rc=$?
	total=$(grep -m 1 '^total:' <<<"$out")
	if [ $rc -ne 0 ] || [ -z "$total" ]; then
		sed -e "s|^$name:|$dir/$name:|" <<<"$out"
		echo "FAIL: checkpatch complained about $name" >&2
		status=1
	else
		echo "checkpatch --strict: $name: $total"
	fi
done

exit $status
