#!/usr/bin/env bash
# Makes sure a Docker engine answers. With DOCKER_HOST set, that engine must answer; otherwise
# the local one is used, and when none runs, Debian's docker.io is installed (if missing) and
# dockerd is started in the background with its log under the state directory.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

engine_answers() { docker info >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1; then
  apt_install docker.io
fi
if engine_answers; then exit 0; fi
if [ -n "${DOCKER_HOST:-}" ]; then
  die "DOCKER_HOST=$DOCKER_HOST does not answer: start that engine or unset DOCKER_HOST"
fi
command -v dockerd >/dev/null 2>&1 || apt_install docker.io
[ "$(id -u)" = 0 ] || die "no Docker engine answers and starting dockerd needs root: start Docker, or set DOCKER_HOST"

log=$SERA_STATE_DIR/dockerd.log
say "starting dockerd (log: $log)"
setsid nohup dockerd --pidfile "$SERA_STATE_DIR/dockerd.pid" >"$log" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if engine_answers; then
    echo started >"$SERA_STATE_DIR/dockerd.started-by-setup"
    exit 0
  fi
  sleep 1
done
tail -n 20 "$log" >&2 || true
die "dockerd did not answer within 60 s: see $log"
