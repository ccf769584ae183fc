#!/usr/bin/env bash
# Runs the whole test suite: unit, actor and end-to-end tests (real libFuzzer targets, real processes).
# Installs the fuzzing toolchain first when it is missing. Usage: ops/test.sh [--long] [extra dotnet test args]
# --long runs the long versions of the chaos and hostile-input scenarios (PANDAFUZZ_TEST_PROFILE=long) instead of CI's.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--long" ]; then
  shift
  export PANDAFUZZ_TEST_PROFILE=long
fi
source ops/prerequisites.sh
source ops/test-postgres.sh

# Where the time goes: each phase prints its seconds, and the slowest tests are listed at the end.
phase_started=$SECONDS
phase_done() {
  echo "ops/test.sh: $1 took $((SECONDS - phase_started)) s (run so far $SECONDS s)" >&2
  phase_started=$SECONDS
}

# The test tools Debian packages, installed with PandaFuzz's own in one apt pass; each step below still installs its
# own when run alone.
test_packages=()
command -v npm >/dev/null 2>&1 || test_packages+=(nodejs npm)
command -v ip >/dev/null 2>&1 || test_packages+=(iproute2)
command -v promtool >/dev/null 2>&1 || test_packages+=(prometheus)
command -v chromium >/dev/null 2>&1 || test_packages+=(chromium)
command -v docker-compose >/dev/null 2>&1 || test_packages+=(docker-compose)
pandafuzz_postgres_bin >/dev/null 2>&1 || test_packages+=(postgresql)
pandafuzz_install_prerequisites "${test_packages[@]+"${test_packages[@]}"}"

# The SARIF multitool (npm @microsoft/sarif-multitool) validates the SARIF export in the end-to-end tests.
sarif_version=5.7.0
sarif_dir="${XDG_CACHE_HOME:-$HOME/.cache}/pandafuzz/sarif-multitool-$sarif_version"
sarif_tool="$sarif_dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -x "$sarif_tool" ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  mkdir -p "$sarif_dir"
  npm install --prefix "$sarif_dir" --no-audit --no-fund --loglevel=error "@microsoft/sarif-multitool@$sarif_version" >/dev/null
  # npm may skip the package's install script, which only makes the binary executable.
  chmod u+x "$sarif_tool"
fi
export PANDAFUZZ_SARIF_MULTITOOL="$sarif_tool"

# @redocly/cli lints the API's OpenAPI document (tests/PandaFuzz.Node.Tests/OpenApiDocumentTests.cs). 2.x runs on
# Node.js 20, which Debian's nodejs is.
redocly_version=2.77.0
redocly_dir="${XDG_CACHE_HOME:-$HOME/.cache}/pandafuzz/redocly-cli-$redocly_version"
if [ ! -x "$redocly_dir/node_modules/.bin/redocly" ]; then
  mkdir -p "$redocly_dir"
  npm install --prefix "$redocly_dir" --no-audit --no-fund --loglevel=error "@redocly/cli@$redocly_version" >/dev/null
fi
export PANDAFUZZ_REDOCLY="$redocly_dir/node_modules/.bin/redocly"

# SchemaStore's JSON schemas for GitHub workflows and GitLab CI validate the sample CI pipelines in ops/ci
# (tests/PandaFuzz.Node.Tests/CiWorkflowTests.cs). eslint-plugin-json-schema-validator 3.x ships a copy of SchemaStore's
# schemas, as of July 2022 and without their descriptions (later versions fetch them at run time); only its
# schemastore folder is used. Nothing of the plugin runs, so neither its install scripts nor its eslint peer are needed.
ci_schemas_version=3.2.8
ci_schemas_dir="${XDG_CACHE_HOME:-$HOME/.cache}/pandafuzz/json-schema-validator-$ci_schemas_version"
ci_schemas="$ci_schemas_dir/node_modules/eslint-plugin-json-schema-validator/schemastore/json.schemastore.org"
if [ ! -f "$ci_schemas/github-workflow.json" ] || [ ! -f "$ci_schemas/gitlab-ci.json" ]; then
  mkdir -p "$ci_schemas_dir"
  npm install --prefix "$ci_schemas_dir" --no-audit --no-fund --loglevel=error --ignore-scripts --legacy-peer-deps \
    "eslint-plugin-json-schema-validator@$ci_schemas_version" >/dev/null
fi
export PANDAFUZZ_CI_SCHEMAS="$ci_schemas"

# @hey-api/openapi-ts generates a TypeScript client from the API's OpenAPI document, which typescript compiles (with
# @types/node) for the end-to-end test that creates a campaign with it (GeneratedClientTests). 0.95 is the last release
# that runs on Node.js 20, which Debian's nodejs is.
openapi_ts_version=0.95.0
openapi_ts_dir="${XDG_CACHE_HOME:-$HOME/.cache}/pandafuzz/openapi-ts-$openapi_ts_version"
if [ ! -x "$openapi_ts_dir/node_modules/.bin/openapi-ts" ] || [ ! -x "$openapi_ts_dir/node_modules/.bin/tsc" ] || [ ! -d "$openapi_ts_dir/node_modules/@types/node" ]; then
  mkdir -p "$openapi_ts_dir"
  npm install --prefix "$openapi_ts_dir" --no-audit --no-fund --loglevel=error \
    "@hey-api/openapi-ts@$openapi_ts_version" typescript@5.9.3 @types/node@20.19.43 >/dev/null
fi
export PANDAFUZZ_OPENAPI_TS="$openapi_ts_dir/node_modules/.bin/openapi-ts"

# The partition chaos test builds network namespaces with iproute2's ip (it skips, saying why, without them).
if ! command -v ip >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
fi

# promtool (Debian package prometheus) lints the nodes' /metrics in the end-to-end tests and the shipped alert rules.
if ! command -v promtool >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# The dashboard's browser tests (tests/PandaFuzz.Dashboard.Tests) drive Debian's chromium through Playwright; Playwright's
# own browser download is never used (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps it from trying).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if command -v chromium >/dev/null 2>&1; then
  export PANDAFUZZ_CHROMIUM="${PANDAFUZZ_CHROMIUM:-$(command -v chromium)}"
fi

# The container files: docker-compose.yml through `docker-compose config` (Debian package), the Dockerfile through
# dockerfile-utils (npm, pinned in ops/containers.sh). A failure fails the run, after the tests.
containers_status=0
bash ops/containers.sh check || containers_status=$?

# The persistence and read-model tests run on PostgreSQL too, against a throwaway server started here.
pandafuzz_start_test_postgres
phase_done "installing and starting the test tools"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_HOSTBUILDER__RELOADCONFIGONCHANGE=false
log=$(mktemp)
results=$(mktemp -d)
# (Under set -e a failing command in the trap would become the script's exit code: the kill of a finished run fails.)
trap '[ -z "${e2e_pid:-}" ] || kill "$e2e_pid" 2>/dev/null || true; rm -rf "$log" "$results"; pandafuzz_stop_test_postgres' EXIT
status=0
dotnet build PandaFuzz.sln -c Release -nologo -v quiet 2>&1 | tee "$log" || status=$?
phase_done "building"
trx=(--logger "trx;LogFilePrefix=results" --results-directory "$results")
if [ "$status" -ne 0 ]; then
  echo "ops/test.sh: the build failed; no test was run" >&2
elif [ $# -gt 0 ]; then
  dotnet test PandaFuzz.sln -c Release --no-build "${trx[@]}" "$@" 2>&1 | tee -a "$log" || status=$?
  phase_done "the tests"
else
  # Two streams on the two cores: the end-to-end assembly, the longest, starts at once beside the other assemblies, which
  # run one at a time and then take a few end-to-end classes of their own, so that both streams end together (about 9
  # minutes each on a 2-core machine); the chaos tests run alone after both.
  e2e_beside=(CorpusSharingTests HostileInputTests GeneratedClientTests OperatorCliTests TargetBuildsTests BoundedAnswersTests QueuePriorityTests)
  e2e_rest=$(printf 'FullyQualifiedName!~PandaFuzz.EndToEnd.Tests.%s&' "${e2e_beside[@]}")
  e2e_moved=$(printf 'FullyQualifiedName~PandaFuzz.EndToEnd.Tests.%s|' "${e2e_beside[@]}")
  e2e_log=$(mktemp)
  dotnet test tests/PandaFuzz.EndToEnd.Tests -c Release --no-build "${trx[@]}" --filter "${e2e_rest%&}" >"$e2e_log" 2>&1 &
  e2e_pid=$!
  dotnet test PandaFuzz.sln -c Release --no-build -m:1 "${trx[@]}" \
    --filter "Category!=Chaos&FullyQualifiedName!~PandaFuzz.EndToEnd.Tests" 2>&1 | tee -a "$log" || status=$?
  dotnet test tests/PandaFuzz.EndToEnd.Tests -c Release --no-build "${trx[@]}" --filter "${e2e_moved%|}" 2>&1 | tee -a "$log" || status=$?
  phase_done "the unit, actor and dashboard tests, and ${#e2e_beside[@]} end-to-end classes (beside the other end-to-end tests)"
  wait "$e2e_pid" || status=$?
  e2e_pid=
  tee -a "$log" <"$e2e_log"
  rm -f "$e2e_log"
  phase_done "the end-to-end tests (after the others)"
  # The chaos tests kill, cut off and restart node processes and time how fast work moves: they run alone, after the rest.
  # Normal verbosity lists each chaos test with its duration: they are few and long, and the run's time is budgeted.
  dotnet test tests/PandaFuzz.Chaos.Tests -c Release --no-build "${trx[@]}" --logger "console;verbosity=normal" 2>&1 \
    | tee -a "$log" || status=$?
  phase_done "the chaos tests"
fi
python3 ops/test-durations.py "$results" 15 || true

# One closing line for the whole run, summed over the test assemblies.
awk '/(Passed|Failed)!  - Failed:/ {
       for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1));
         if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     # The chaos run at normal verbosity sums up in a block instead: "Total tests: N", then "  Passed: N" and so on.
     /^Total tests: / { block = 1; next }
     block && /^ +Passed: [0-9]+$/ { p += $2 }
     block && /^ +Failed: [0-9]+$/ { f += $2 }
     block && /^ +Skipped: [0-9]+$/ { s += $2 }
     /Total time:/ { block = 0 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
if [ "$containers_status" -ne 0 ]; then
  echo "ops/containers.sh check failed (see its output above)" >&2
  status=1
fi
exit "$status"
