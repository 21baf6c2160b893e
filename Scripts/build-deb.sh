#!/usr/bin/env bash
# Builds outpost_VERSION_ARCH.deb with dpkg-deb: release binaries with the Swift runtime linked in statically (the
# package runs on a Debian 12 without a Swift toolchain), installed by `make install` into a staging root under /usr,
# the maintainer scripts and conffiles of packaging/debian, and `Depends:` as dpkg-shlibdeps reads it off the binaries.
# lintian checks the result (its report is printed; errors fail the build; the overrides in packaging/debian say why).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/OutpostCore/OutpostVersion.swift)
arch=$(dpkg --print-architecture)
work=.build-deb
stage=$work/outpost_${version}_${arch}
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

# No exported dynamic symbols (SwiftPM exports every symbol of an executable): nothing loads the programs as a
# library, and the symbol tables the loader would read at each start are 3.6 MB of each program.
make install DESTDIR="$PWD/$stage" PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/usr/lib/systemd/system \
    SWIFT_BUILD_FLAGS="--static-swift-stdlib -Xlinker --no-export-dynamic" >"$work/build.log" 2>&1 ||
    { grep -E "error|warning: " "$work/build.log" >&2 || tail -30 "$work/build.log" >&2; exit 1; }
strip --strip-unneeded "$stage"/usr/bin/* "$stage"/usr/libexec/outpost/outpost-launch

# Debian's documentation files: the licence, and a changelog (a native package's).
docs=$stage/usr/share/doc/outpost
install -m 0644 packaging/debian/copyright "$docs/copyright"
install -d "$stage/usr/share/lintian/overrides"
install -m 0644 packaging/debian/lintian-overrides "$stage/usr/share/lintian/overrides/outpost"
printf 'outpost (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- Outpost developers <outpost@invalid.example>  %s\n' \
    "$version" "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}")" |
    gzip -9n > "$docs/changelog.gz"
chmod 0644 "$docs/changelog.gz"

# The shared libraries the binaries load, as package dependencies (dpkg-shlibdeps wants a source tree's control).
shlib=$work/shlibdeps
rm -rf "$shlib" && mkdir -p "$shlib/debian"
printf 'Source: outpost\n\nPackage: outpost\nArchitecture: any\n' > "$shlib/debian/control"
depends=$(cd "$shlib" && dpkg-shlibdeps -O "$OLDPWD/$stage"/usr/bin/* 2>/dev/null | sed -n 's/^shlibs:Depends=//p')

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
    packaging/debian/control.in > "$stage/DEBIAN/control"
install -m 0644 packaging/debian/conffiles "$stage/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
    > "$stage/DEBIAN/md5sums"

package=outpost_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$package" >/dev/null
echo "built $package ($(du -h "$package" | cut -f1); installed size ${size} KiB)"
echo "Depends: $depends"
if command -v lintian >/dev/null; then
    # Kept warnings: no-manual-page (each program's --help is its manual).
    lintian --fail-on error "$package"
fi
