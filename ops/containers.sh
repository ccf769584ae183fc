#!/usr/bin/env bash
# The container files: Dockerfile and docker-compose.yml.
#   ops/containers.sh check   validate docker-compose.yml (docker-compose config), lint the Dockerfile (dockerfile-utils;
#                             hadolint too when it is on PATH; every COPY source must exist), check the Prometheus config
#                             (promtool, when installed).
#                             Installs docker-compose (Debian package) and dockerfile-utils (npm, cached) when missing.
#   ops/containers.sh smoke   where a container engine runs (docker info, or podman info with its Docker-compatible
#                             socket): build the image, start the compose cluster, wait for the master to be healthy and
#                             both bots listed in GET /api/v1/bots, tear it down. Without an engine it says so and exits 0.
#   ops/containers.sh all     check, then smoke.
# ops/test.sh runs `check`, so CI fails on a compose file docker-compose rejects or a Dockerfile with lint errors.
set -euo pipefail
cd "$(dirname "$0")/.."

# dockerfile-utils (npm): `lint` prints problems and exits 1 when any is an error.
dockerfile_utils_version=0.16.3
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pandafuzz"
compose_file=docker-compose.yml
project=pandafuzz-smoke

say() { echo "containers: $*" >&2; }

install_apt() {
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    say "needs the Debian packages: $*  (sudo apt-get install -y --no-install-recommends $*)"
    return 1
  fi
}

ensure_docker_compose() {
  # --no-install-recommends: docker-compose recommends docker.io, an engine this check does not need.
  command -v docker-compose >/dev/null 2>&1 || install_apt docker-compose
}

ensure_dockerfile_utils() {
  local dir="$cache/dockerfile-utils-$dockerfile_utils_version"
  if [ ! -x "$dir/node_modules/.bin/dockerfile-utils" ]; then
    command -v npm >/dev/null 2>&1 || install_apt nodejs npm
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "dockerfile-utils@$dockerfile_utils_version" >/dev/null
  fi
  dockerfile_utils="$dir/node_modules/.bin/dockerfile-utils"
}

check() {
  ensure_docker_compose
  ensure_dockerfile_utils
  local status=0

  # config resolves ${...} from the environment; the token's default keeps the file valid without one.
  if docker-compose -f "$compose_file" config -q; then
    say "$compose_file: valid (docker-compose $(docker-compose version --short 2>/dev/null || echo '?'))"
  else
    say "$compose_file: docker-compose config rejected it"
    status=1
  fi

  local lint
  if lint=$("$dockerfile_utils" lint Dockerfile 2>&1); then
    say "Dockerfile: no lint errors (dockerfile-utils $dockerfile_utils_version)${lint:+; notes:}"
    [ -z "$lint" ] || echo "$lint" >&2
  else
    say "Dockerfile: lint errors (dockerfile-utils $dockerfile_utils_version):"
    echo "$lint" >&2
    status=1
  fi

  # The linter does not look at the build context: every COPY from it must name files that exist.
  local source
  while read -r source; do
    if ! compgen -G "$source" >/dev/null; then
      say "Dockerfile: COPY source $source is not in the build context"
      status=1
    fi
  done < <(awk '$1 == "COPY" && $2 !~ /^--from=/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' Dockerfile)

  if command -v hadolint >/dev/null 2>&1; then
    if hadolint Dockerfile; then say "Dockerfile: hadolint clean"; else say "Dockerfile: hadolint found problems"; status=1; fi
  fi

  # Prometheus resolves rule_files beside the config, as the compose service mounts them.
  if command -v promtool >/dev/null 2>&1; then
    if promtool check config ops/prometheus/prometheus.yml >/dev/null; then
      say "ops/prometheus/prometheus.yml: valid (promtool)"
    else
      promtool check config ops/prometheus/prometheus.yml >&2 || true
      status=1
    fi
  fi
  return "$status"
}

# Picks an engine docker-compose can drive (sets engine_name): a running Docker engine, or podman's
# Docker-compatible API socket. Runs in this shell, not a subshell: it exports DOCKER_HOST and starts helpers.
engine_name=""
podman_service=""
podman_ticker=""
engine() {
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine_name=docker
    return 0
  fi
  if command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then
    local socket="$cache/podman-smoke.sock"
    mkdir -p "$cache"
    rm -f "$socket"
    podman system service --time=0 "unix://$socket" >/dev/null 2>&1 &
    podman_service=$!
    export DOCKER_HOST="unix://$socket"
    for _ in $(seq 1 50); do [ -S "$socket" ] && break; sleep 0.1; done
    # Without systemd podman schedules no HEALTHCHECK runs (it uses systemd timers): run them every 5 s here, so
    # depends_on: service_healthy and the waits below see a status.
    (while :; do
      podman ps -q --filter "label=com.docker.compose.project=$project" | xargs -r -n 1 podman healthcheck run >/dev/null 2>&1
      sleep 5
    done) >/dev/null 2>&1 &
    podman_ticker=$!
    engine_name=podman
    return 0
  fi
  return 1
}

compose() { docker-compose -f "$compose_file" -p "$project" "$@"; }

# A container's health ("starting", "healthy", "unhealthy"), through the engine's own client.
health() {
  local client=docker
  [ "$engine_name" = podman ] && client=podman
  "$client" inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null || echo none
}

teardown() {
  compose down --volumes --remove-orphans >/dev/null 2>&1 || true
  if [ -n "$podman_ticker" ]; then
    kill "$podman_ticker" 2>/dev/null || true
  fi
  if [ -n "$podman_service" ]; then
    kill "$podman_service" 2>/dev/null || true
    wait "$podman_service" 2>/dev/null || true
  fi
}

smoke() {
  if ! engine; then
    say "no container engine runs here (docker info and podman info both fail): image build and cluster smoke test skipped"
    return 0
  fi
  ensure_docker_compose
  command -v jq >/dev/null 2>&1 || install_apt jq
  say "engine: $engine_name; building the image"
  trap teardown EXIT
  # The smoke cluster needs a token only if the API requires one; one is made up for the run.
  export PANDAFUZZ_API_TOKENS="${PANDAFUZZ_API_TOKENS:-smoke-$RANDOM$RANDOM}"
  local token="${PANDAFUZZ_API_TOKENS%%,*}"
  # LLVM_VERSION (the Dockerfile's build argument, 18 on noble) when the base images are another distribution's.
  compose build ${LLVM_VERSION:+--build-arg "LLVM_VERSION=$LLVM_VERSION"}
  compose up -d
  local api=http://127.0.0.1:8080

  say "waiting for the master to be healthy"
  local master
  master=$(compose ps -q master)
  for _ in $(seq 1 90); do
    [ "$(health "$master")" = healthy ] && break
    sleep 2
  done
  if [ "$(health "$master")" != healthy ]; then
    say "the master did not become healthy"; compose logs --tail=80 master >&2; return 1
  fi
  curl -fsS "$api/healthz" >/dev/null

  say "waiting for both bots in GET /api/v1/bots"
  local bots=0
  for _ in $(seq 1 90); do
    bots=$(curl -fsS -H "Authorization: Bearer $token" "$api/api/v1/bots" 2>/dev/null | jq 'length' 2>/dev/null || echo 0)
    [ "$bots" -ge 2 ] && break
    sleep 2
  done
  if [ "$bots" -lt 2 ]; then
    say "only $bots bot(s) listed"; compose logs --tail=80 >&2; return 1
  fi

  say "checking every node is healthy and Prometheus scrapes all three"
  for service in bot1 bot2; do
    local id
    id=$(compose ps -q "$service")
    for _ in $(seq 1 45); do
      [ "$(health "$id")" = healthy ] && break
      sleep 2
    done
    [ "$(health "$id")" = healthy ] || { say "$service is not healthy"; compose logs --tail=80 "$service" >&2; return 1; }
  done
  local up=0
  for _ in $(seq 1 30); do
    up=$(curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=sum(up)' 2>/dev/null | jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
    [ "$up" = 3 ] && break
    sleep 2
  done
  [ "$up" = 3 ] || { say "Prometheus sees $up of 3 targets up"; return 1; }
  say "smoke test passed: master healthy, 2 bots listed, 3 targets up in Prometheus"
}

case "${1:-check}" in
  check) check ;;
  smoke | up) smoke ;;
  all) check && smoke ;;
  *) echo "usage: ops/containers.sh [check|smoke|all]" >&2; exit 2 ;;
esac
