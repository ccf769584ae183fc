#!/usr/bin/env bash
# Installs what PandaFuzz needs on a Debian/Ubuntu machine, or says exactly what to install.
# Sourced by ops/run.sh and ops/test.sh; safe to run again (it installs only what is missing).
set -euo pipefail

pandafuzz_missing_packages() {
  local missing=()
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  # libFuzzer and the sanitizer runtimes come with libclang-rt-14-dev on Debian 12.
  if command -v clang >/dev/null 2>&1; then
    local probe
    probe=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$probe/t.c"
    clang -fsanitize=fuzzer,address "$probe/t.c" -o "$probe/t" >/dev/null 2>&1 || missing+=(libclang-rt-14-dev)
    rm -rf "$probe"
  else
    missing+=(libclang-rt-14-dev)
  fi
  # llvm: llvm-symbolizer for sanitizer stacks, llvm-profdata and llvm-cov for coverage reports.
  { command -v llvm-symbolizer && command -v llvm-profdata && command -v llvm-cov; } >/dev/null 2>&1 || missing+=(llvm)
  # The AFL++ engine: afl-fuzz runs jobs, afl-clang-fast builds the AFL++ targets of the tests and the example.
  { command -v afl-fuzz >/dev/null 2>&1 && command -v afl-clang-fast >/dev/null 2>&1; } || missing+=(afl++)
  command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
  # The bot's sandbox: bwrap cuts the network and limits the filesystem targets see; prlimit and setpriv (util-linux) set
  # rlimits and drop to an unprivileged user. The bot runs without them, and reports what it cannot enforce.
  command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
  { command -v prlimit >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; } || missing+=(util-linux)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  echo "${missing[@]+"${missing[@]}"}"
}

# Installs what is missing of PandaFuzz's packages and of the packages named as arguments (ops/test.sh names the test
# tools), with one `apt-get update` for all of them.
pandafuzz_install_prerequisites() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "PandaFuzz needs the .NET 10 SDK (dotnet) on PATH: https://learn.microsoft.com/dotnet/core/install/linux" >&2
    return 1
  fi
  local missing
  missing=$(pandafuzz_missing_packages)
  if [ -z "$missing" ] && [ $# -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing: $missing $*" >&2
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing "$@" >/dev/null
    missing=$(pandafuzz_missing_packages)
    [ -z "$missing" ] && return 0
    echo "Still missing after installing: $missing" >&2
    return 1
  fi
  [ -n "$missing" ] || return 0
  echo "PandaFuzz needs these packages; install them and run this again:" >&2
  echo "  sudo apt-get install -y $missing" >&2
  return 1
}
