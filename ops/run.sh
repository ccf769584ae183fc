#!/usr/bin/env bash
# Runs PandaFuzz all-in-one (master and bot in one process, SQLite under ./data), starts a demo campaign
# on the bundled example target (a packet parser with a planted bug) and shows the crash being found.
# The node keeps running afterwards: the API is at http://127.0.0.1:8080/api/v1, Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source ops/prerequisites.sh
pandafuzz_install_prerequisites

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export PANDAFUZZ_DATA_DIR="${PANDAFUZZ_DATA_DIR:-$root/data}"
export PANDAFUZZ_HTTP="${PANDAFUZZ_HTTP:-127.0.0.1:8080}"
api="http://$PANDAFUZZ_HTTP/api/v1"

echo "==> Building PandaFuzz"
dotnet build src/PandaFuzz.Node -c Release -o "$root/.pandafuzz/bin" -v quiet -nologo >/dev/null

echo "==> Building the example target (libFuzzer + AddressSanitizer)"
mkdir -p "$root/.pandafuzz/examples"
target="$root/.pandafuzz/examples/packet-parser"
clang -g -O1 -fsanitize=fuzzer,address ops/examples/planted-bug/target.c -o "$target"

echo "==> Starting the node (data in $PANDAFUZZ_DATA_DIR)"
dotnet "$root/.pandafuzz/bin/pandafuzz.dll" &
node=$!
trap 'kill -TERM $node 2>/dev/null; wait $node 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 120); do
  curl -fsS "http://$PANDAFUZZ_HTTP/health/ready" >/dev/null 2>&1 && break
  kill -0 $node 2>/dev/null || { echo "the node stopped; see its log above" >&2; exit 1; }
  sleep 0.5
done

# Writes need a bearer token: the first of PANDAFUZZ_API_TOKENS, else the one the master made in its data dir.
token="${PANDAFUZZ_API_TOKENS:-}"
token="${token%%,*}"
[ -n "$token" ] || [ -z "${PANDAFUZZ_API_TOKEN_FILE:-}" ] || token=$(grep -v "^#" "$PANDAFUZZ_API_TOKEN_FILE" | grep -m1 .)
[ -n "$token" ] || token=$(cat "$PANDAFUZZ_DATA_DIR/api-token")
auth=(-H "Authorization: Bearer $token")

echo "==> Uploading the target and starting a demo campaign"
target_id=$(curl -fsS "${auth[@]}" -X POST --data-binary @"$target" "$api/targets?name=packet-parser" | jq -r .id)
campaign=$(curl -fsS "${auth[@]}" -X POST -H 'Content-Type: application/json' "$api/campaigns" \
  -d "{\"name\":\"demo\",\"targetId\":\"$target_id\",\"engine\":\"libfuzzer\",\"jobs\":1,\"durationSeconds\":300,\"memoryLimitMb\":2048,\"timeoutMs\":1000}" | jq -r .id)
echo "    campaign $campaign: $api/campaigns/$campaign"

echo "==> Waiting for the fuzzer to find the planted bug"
for _ in $(seq 1 120); do
  crash=$(curl -fsS "$api/campaigns/$campaign/crashes" | jq -r '.[0].id // empty')
  [ -n "$crash" ] && break
  sleep 1
done
if [ -z "${crash:-}" ]; then
  echo "no crash within 120 s; the campaign goes on: $api/campaigns/$campaign" >&2
else
  echo
  curl -fsS "$api/crashes/$crash" | jq -r '"CRASH \(.id)\n  kind:    \(.kind)\n  state:   \(.state | gsub("\n"; " < "))\n  summary: \(.summary)\n  stack:\n\(.stack[:6] | map("    " + .) | join("\n"))"'
  echo "  input:   $api/crashes/$crash/input"
  echo
fi
echo "PandaFuzz is running; the dashboard is at http://$PANDAFUZZ_HTTP/ (campaign: http://$PANDAFUZZ_HTTP/ui/#/campaigns/$campaign)"
echo "or try: curl -s $api/campaigns/$campaign | jq .   (Ctrl-C stops it)"
echo "Writes need the API token: curl -H \"Authorization: Bearer \$(cat $PANDAFUZZ_DATA_DIR/api-token)\" ..."
wait $node
