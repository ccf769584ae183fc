#!/bin/sh
# The image's HEALTHCHECK: GET /healthz (liveness) where this node serves it: a master on PANDAFUZZ_HTTP, a bot-only
# node on PANDAFUZZ_METRICS (the image sets 0.0.0.0:9464). Exit 0 when it answers 200, else 1.
set -eu
case ",$(echo "${PANDAFUZZ_ROLES:-master,bot}" | tr -d ' ' | tr '[:upper:]' '[:lower:]')," in
  *,master,*) endpoint=${PANDAFUZZ_HTTP:-127.0.0.1:8080} ;;
  *) endpoint=${PANDAFUZZ_METRICS:-off} ;;
esac
if [ -z "$endpoint" ] || [ "$endpoint" = off ]; then
  echo "a bot-only node serves /healthz only when PANDAFUZZ_METRICS is set" >&2
  exit 1
fi
host=${endpoint%:*}
port=${endpoint##*:}
# A wildcard bind is reached on loopback.
case "$host" in
  0.0.0.0 | '*' | + | '[::]' | '') host=127.0.0.1 ;;
esac
curl -fsS --max-time 4 -o /dev/null "http://$host:$port/healthz" || exit 1
