#!/usr/bin/env bash
# Says exactly which of the services the system needs is not answering, and how to start it.
set -u
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || py=python3
missing=0
"$py" - <<'PY' || missing=1
import socket, sys
from urllib.parse import urlparse
import os

def reachable(url, default_port):
    u = urlparse(url.replace("+asyncpg", ""))
    try:
        socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=2).close()
        return True
    except OSError:
        return False

try:
    from shared.config import get_settings
    s = get_settings()
    db, redis = s.database_url, s.redis_url
except Exception:
    db = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/assistants")
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
bad = False
if not reachable(db, 5432):
    bad = True
    print(f"PostgreSQL is not answering at {db}.\n"
          "  Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
          "  or:       docker compose up -d postgres", file=sys.stderr)
if not reachable(redis, 6379):
    bad = True
    print(f"Redis is not answering at {redis}.\n"
          "  Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no\n"
          "  or:       docker compose up -d redis", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
exit $missing
