#!/bin/sh
# Image build helper (Dockerfile, stage "engines"): copies the AFL++ tools a bot runs (afl-fuzz, afl-showmap, afl-tmin,
# afl-cmin) to OUT/bin and writes the Debian/Ubuntu packages owning the shared libraries they load to
# OUT/runtime-packages, so the final stage installs those libraries and not the afl++ package, which depends on clang
# and build-essential. Usage: afl-runtime.sh OUT
set -eu
out=${1:?usage: afl-runtime.sh OUT}
tools="afl-fuzz afl-showmap afl-tmin"
mkdir -p "$out/bin"
for tool in $tools afl-cmin afl-cmin.bash; do
  cp "$(command -v "$tool")" "$out/bin/"
done

# dpkg -S wants the path a package installed; with merged /usr the loader may report the other spelling.
owner() {
  real=$(realpath "$1")
  for candidate in "$1" "$real" "/usr$1" "${1#/usr}" "/usr$real" "${real#/usr}"; do
    dpkg -S "$candidate" 2>/dev/null && return 0
  done
  echo "afl-runtime.sh: no package owns $1" >&2
  return 1
}

libs=$(for tool in $tools; do ldd "$(command -v "$tool")"; done | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
[ -n "$libs" ] || { echo "afl-runtime.sh: ldd found no libraries" >&2; exit 1; }
for lib in $libs; do
  owner "$lib"
done | cut -d: -f1 | sort -u > "$out/runtime-packages"
echo "AFL++ run-time packages: $(tr '\n' ' ' < "$out/runtime-packages")"
