#!/usr/bin/env bash
# Entrypoint of the Qunyun image: one image for every process, the first
# argument picks which one.
#
#   gateway | identity | campaign | tagging | messaging | metrics
#                           the HTTP API of that service
#   <name>-worker           its consumers + outbox relay (`python -m <pkg>.worker`);
#                           run it when the API has <SERVICE>_RUN_WORKER=false
#   migrate <name...|all>   Alembic `upgrade head` on each named service's database
#   topics                  create the Kafka topics (and their .dlq) if missing
#   help                    this text
#   anything else           exec'd as given (e.g. `python`, `bash`)
set -euo pipefail

readonly SERVICES=(gateway identity campaign tagging messaging metrics)
readonly APP_ROOT="${QUNYUN_APP_ROOT:-/app}"
# The image HEALTHCHECK reads this file; without it (workers, one-shot jobs)
# there is no HTTP server to probe and the check passes.
readonly HEALTH_URL_FILE=/tmp/qunyun-health-url

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "$*"; exit 64; }

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

is_service() {
  local s
  for s in "${SERVICES[@]}"; do [[ "$s" == "$1" ]] && return 0; done
  return 1
}

# Python package of a service: `gateway`, `identity_service`, ...
module_of() {
  if [[ "$1" == gateway ]]; then echo gateway; else echo "${1}_service"; fi
}

# Directory (under /app) holding the service's alembic.ini and migrations/.
dir_of() {
  if [[ "$1" == gateway ]]; then echo gateway; else echo "${1}-service"; fi
}

default_port_of() {
  case "$1" in
    gateway) echo 8000 ;;
    identity) echo 8101 ;;
    campaign) echo 8102 ;;
    tagging) echo 8103 ;;
    messaging) echo 8104 ;;
    metrics) echo 8105 ;;
  esac
}

run_api() {
  local name=$1
  shift
  local prefix=${name^^}
  local host_var="${prefix}_HOST" port_var="${prefix}_PORT"
  # The code defaults to loopback (right for `make run`); in a container the
  # API must listen on every interface to be reachable.
  export "${host_var}=${!host_var:-0.0.0.0}"
  local port="${!port_var:-$(default_port_of "$name")}"
  { printf 'http://127.0.0.1:%s/healthz\n' "$port" >"$HEALTH_URL_FILE"; } 2>/dev/null \
    || log "cannot write $HEALTH_URL_FILE (is /tmp writable?); the image HEALTHCHECK will not probe"
  log "starting $name API on ${!host_var}:$port"
  exec python -m "$(module_of "$name")" "$@"
}

run_worker() {
  local name=$1
  shift
  rm -f "$HEALTH_URL_FILE" 2>/dev/null || true
  log "starting $name worker"
  exec python -m "$(module_of "$name").worker" "$@"
}

run_migrate() {
  local names=("$@")
  if [[ ${#names[@]} -eq 0 ]]; then
    die "usage: migrate <${SERVICES[*]}|all>..."
  fi
  if [[ ${#names[@]} -eq 1 && "${names[0]}" == all ]]; then
    names=("${SERVICES[@]}")
  fi
  local name dir
  for name in "${names[@]}"; do
    is_service "$name" || die "migrate: unknown service '$name' (one of: ${SERVICES[*]} all)"
  done
  for name in "${names[@]}"; do
    dir="$APP_ROOT/$(dir_of "$name")"
    [[ -f "$dir/alembic.ini" ]] || die "migrate: $dir/alembic.ini not found"
    log "migrating $name (qunyun_$name)"
    # cd: a relative script_location in alembic.ini resolves against the cwd.
    (cd "$dir" && python -m alembic -c "$dir/alembic.ini" upgrade head)
  done
  log "migrations done: ${names[*]}"
}

run_topics() {
  # Idempotent: creates only the missing topics. The names come from the
  # shared library (shared.kafka.topics), prefixed by QUNYUN_KAFKA_NAMESPACE.
  exec python - "$@" <<'PY'
"""Create Qunyun's Kafka topics and their dead-letter topics."""

import asyncio
import os
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.kafka.topics import all_topics

TOPIC_ALREADY_EXISTS = 36
DLQ_RETENTION_MS = str(30 * 24 * 3600 * 1000)  # time for an operator to look at poison events


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def say(message: str) -> None:
    print(f"topics: {message}", file=sys.stderr, flush=True)


async def connect(bootstrap: str, wait_s: int) -> AIOKafkaAdminClient:
    deadline = time.monotonic() + wait_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="qunyun-topics")
        try:
            await admin.start()
            return admin
        except Exception as exc:  # noqa: BLE001 - any failure here means "not reachable yet"
            await admin.close()
            if time.monotonic() > deadline:
                raise
            say(f"waiting for Kafka at {bootstrap}: {exc!r}")
            await asyncio.sleep(3)


async def main() -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    partitions = env_int("QUNYUN_TOPIC_PARTITIONS", 12)
    replication = env_int("QUNYUN_TOPIC_REPLICATION", 1)
    wanted = all_topics(os.environ.get("QUNYUN_KAFKA_NAMESPACE", ""))

    admin = await connect(bootstrap, env_int("QUNYUN_TOPICS_WAIT_SECONDS", 120))
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            new_topics = []
            for name in missing:
                configs = {}
                if name.endswith(".dlq"):
                    configs["retention.ms"] = DLQ_RETENTION_MS
                if replication >= 3:
                    # acks=all then means "on two brokers at least".
                    configs["min.insync.replicas"] = "2"
                new_topics.append(NewTopic(name, partitions, replication, topic_configs=configs))
            response = await admin.create_topics(new_topics)
            failed = [
                err for err in response.topic_errors if err[1] not in (0, TOPIC_ALREADY_EXISTS)
            ]
            for err in failed:
                detail = err[2] if len(err) > 2 else ""
                say(f"cannot create {err[0]}: error code {err[1]} {detail}")
            if failed:
                return 1
            say(f"created {len(missing)}: {', '.join(missing)}")
        for topic in await admin.describe_topics(wanted):
            count = len(topic.get("partitions") or [])
            if count < partitions:
                # Adding partitions re-maps member keys and breaks per-member
                # ordering while old events drain: an operator decision, not ours.
                say(
                    f"warning: {topic['topic']} has {count} partitions, "
                    f"QUNYUN_TOPIC_PARTITIONS={partitions}"
                )
        say(f"ok: {len(wanted)} topics on {bootstrap}")
        return 0
    finally:
        await admin.close()


sys.exit(asyncio.run(main()))
PY
}

main() {
  local command=${1:-gateway}
  if [[ $# -gt 0 ]]; then shift; fi
  case "$command" in
    help | -h | --help) usage ;;
    migrate) run_migrate "$@" ;;
    topics) run_topics "$@" ;;
    *-worker)
      local name=${command%-worker}
      is_service "$name" || die "unknown worker '$command' (one of: ${SERVICES[*]/%/-worker})"
      run_worker "$name" "$@"
      ;;
    *)
      if is_service "$command"; then
        run_api "$command" "$@"
      fi
      exec "$command" "$@"
      ;;
  esac
}

main "$@"
