#!/usr/bin/env bash
# `make run`: create and migrate the database, then run the whole system in the foreground.
# Ctrl-C (or SIGTERM) stops every process this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
API_HOST=${API_HOST:-127.0.0.1}
API_PORT=${API_PORT:-8000}

"$BIN/assistants-admin" migrate

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping ${#pids[@]} processes..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

start() {  # start NAME COMMAND...: run in the background, remember the pid
  local name=$1; shift
  "$@" &
  pids+=($!)
  echo "started $name (pid $!)"
}

FLOWER_PORT=${FLOWER_PORT:-5555}
eval "$("$BIN/python" -m workers.runinfo)"   # sets PREFIX, QUEUES, INTERACTIVE_QUEUE, BACKGROUND_QUEUES, EMULATED, EMULATOR_PORT, FLOWER_AUTH, WORKER_METRICS_PORT

if [ -n "$EMULATED" ]; then
  start emulator "$BIN/python" -m emulator --host 127.0.0.1 --port "$EMULATOR_PORT" --log-level warning
fi
start api "$BIN/uvicorn" api.main:app --host "$API_HOST" --port "$API_PORT" --no-access-log
# Two workers: one for synchronous execute only, so a waiting caller never queues behind batch
# work on the same event loop (docs/architecture.md), and one for everything in the background.
# The background worker gets only the CPU nothing else wants: it joins an idle CPU group (cpu.idle,
# where this user may write the cgroup tree; workers/cpu_group.py), and nice 10 where it may not.
start worker env WORKER_IDLE_CPU_GROUP="${WORKER_IDLE_CPU_GROUP-assistants-background}" \
  nice -n 10 "$BIN/celery" -A workers.celery_app worker --pool threads --queues "$BACKGROUND_QUEUES" \
  --hostname "worker-$$@%h" --loglevel INFO -E
start interactive env WORKER_METRICS_PORT=0 "$BIN/celery" -A workers.celery_app worker --pool threads \
  --concurrency 50 --queues "$INTERACTIVE_QUEUE" --hostname "interactive-$$@%h" --loglevel INFO -E
start beat "$BIN/celery" -A workers.celery_app beat --loglevel INFO \
  --schedule "${TMPDIR:-/tmp}/$PREFIX-celerybeat-schedule"
# Without configured basic auth (development only) Flower's API must be opened explicitly.
[ -n "$FLOWER_AUTH" ] || export FLOWER_UNAUTHENTICATED_API=true
start flower "$BIN/celery" -A workers.celery_app flower --address=127.0.0.1 --port="$FLOWER_PORT" \
  ${FLOWER_AUTH:+--basic-auth="$FLOWER_AUTH"}

sleep 2
cat <<MSG

Assistants API is running:
  API       http://$API_HOST:$API_PORT   (docs: http://$API_HOST:$API_PORT/docs, metrics: /metrics)
  Workers   celery workers (threads pool) on $INTERACTIVE_QUEUE and on $BACKGROUND_QUEUES;
            beat for the dispatcher and the reaper
            metrics: http://127.0.0.1:$WORKER_METRICS_PORT/metrics (0: off)
  Flower    http://127.0.0.1:$FLOWER_PORT
MSG
if [ -n "$EMULATED" ]; then
  cat <<MSG
  Emulator  http://127.0.0.1:$EMULATOR_PORT
  !!! No API key for: $EMULATED. Those providers are EMULATED: responses are fake. !!!
  !!! Set OPENAI_API_KEY / ANTHROPIC_API_KEY / GOOGLE_API_KEY for real calls.     !!!
MSG
fi
cat <<MSG
Create a company and key:  $BIN/assistants-admin company create "Acme"
Press Ctrl-C to stop everything.

MSG
wait -n "${pids[@]}"
