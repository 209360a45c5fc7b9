#!/usr/bin/env bash
# Install what kbuild-check.sh compiles against, on Debian 12 (bookworm), as root:
#  - Linux 6.12 headers: linux-headers-amd64 from bookworm-backports (the
#    default suites have 6.1, whose mmu_notifier_range_init() still takes a vma);
#  - from the same kernel's source package, linux-source-6.12, only the files the
#    headers package lacks: mm/internal.h and mm/vma.h (code of mm/ includes
#    "internal.h") and scripts/checkpatch.pl with its data files. They go to
#    /usr/src/ptwalk-linux-<release>.
# Idempotent. A first install downloads 275 MB and takes about 35 s of CPU,
# mostly unpacking the kernel image the headers package depends on (its
# initramfs is not built) and decompressing the source tarball.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-kernel-tree.sh: run as root (apt-get install)" >&2
	exit 1
fi
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" != bookworm ]; then
	echo "install-kernel-tree.sh: this is '$codename', not Debian 12 (bookworm)" >&2
	exit 1
fi

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat >/etc/apt/sources.list.d/ptwalk-bookworm-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi
# A mirror that does not answer fails the install in minutes, not hours.
apt_net=(-o Acquire::Retries=3 -o Acquire::http::Timeout=30)
apt-get "${apt_net[@]}" update -q
# INITRD=No: the headers depend on the kernel image package, whose postinst would
# otherwise spend a minute building an initramfs nobody boots.
INITRD=No DEBIAN_FRONTEND=noninteractive apt-get "${apt_net[@]}" install -y -q \
	--no-install-recommends -t bookworm-backports linux-headers-amd64 perl

version=$(dpkg-query -W -f='${Version}' linux-headers-amd64)
headers=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | sed -e 's/ .*//')
release=${headers#linux-headers-}
dest=/usr/src/ptwalk-linux-$release
if [ -f "$dest/mm/internal.h" ] && [ -f "$dest/scripts/checkpatch.pl" ]; then
	echo "install-kernel-tree.sh: /usr/src/$headers and $dest are in place"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
(cd "$work" && apt-get "${apt_net[@]}" download -q "linux-source-6.12=$version")
mkdir -p "$work/tree"
dpkg-deb --fsys-tarfile "$work"/linux-source-6.12_*.deb |
	tar -xO ./usr/src/linux-source-6.12.tar.xz |
	tar -xJ --strip-components=1 -C "$work/tree" \
		linux-source-6.12/mm/internal.h \
		linux-source-6.12/mm/vma.h \
		linux-source-6.12/scripts/checkpatch.pl \
		linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch
rm -rf "$dest"
mv "$work/tree" "$dest"
chmod -R a+rX "$dest"
echo "install-kernel-tree.sh: installed /usr/src/$headers ($version) and $dest"
