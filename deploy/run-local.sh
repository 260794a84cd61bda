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

start api "$BIN/uvicorn" api.main:app --host "$API_HOST" --port "$API_PORT" --no-access-log

cat <<MSG

Assistants API is running:
  API       http://$API_HOST:$API_PORT   (docs: http://$API_HOST:$API_PORT/docs)
Create a company and key:  $BIN/assistants-admin company create "Acme"
Press Ctrl-C to stop everything.

MSG
wait -n "${pids[@]}"
