#!/usr/bin/env bash
# Runs the whole test suite: unit, actor and end-to-end tests (real libFuzzer targets, real processes).
# Installs the fuzzing toolchain first when it is missing. Usage: ops/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/prerequisites.sh
pandafuzz_install_prerequisites

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_HOSTBUILDER__RELOADCONFIGONCHANGE=false
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test PandaFuzz.sln -c Release "$@" 2>&1 | tee "$log" || status=$?

# One closing line for the whole run, summed over the test assemblies.
awk '/(Passed|Failed)!  - Failed:/ {
       for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1));
         if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
