#!/usr/bin/env bash
# The README's quick start in a fresh clone: `npm ci && npm start` on whatever Node is first on PATH, then the
# probes a user would try. Starts nothing but the service, on a free loopback port, and stops exactly it.
# Usage: scripts/quick-start-smoke.sh CLONE_DIR
set -euo pipefail
cd "$1"
echo "quick start on node $(node --version)"
npm ci --no-audit --no-fund --loglevel=error
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
log="$(mktemp)"
# In a process group of its own, so that stopping it stops npm and the service it started, and nothing lingers.
PORT="$port" HOST=127.0.0.1 setsid npm start >"$log" 2>&1 &
pid=$!
trap 'kill -KILL -- "-$pid" 2>/dev/null || true' EXIT
ok=0
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1; then ok=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
if [ "$ok" != 1 ]; then
  echo "quick start: the service did not answer /health/live" >&2
  cat "$log" >&2
  exit 1
fi
curl -fsS "http://127.0.0.1:$port/health" && echo
curl -fsS -X POST "http://127.0.0.1:$port/api/feedback/submit" -H 'content-type: application/json' \
  -d '{"rating":5,"comment":"quick start"}' && echo
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 24 ]; then
  if ! grep -q 'past end of life' "$log"; then
    echo "quick start: no end-of-life warning on Node $major" >&2
    cat "$log" >&2
    exit 1
  fi
  grep 'past end of life' "$log" | head -n 1
fi
kill -TERM -- "-$pid"
for _ in $(seq 1 80); do
  kill -0 -- "-$pid" 2>/dev/null || break
  sleep 0.25
done
if kill -0 -- "-$pid" 2>/dev/null; then
  echo "quick start: the service did not stop within 20 s of SIGTERM" >&2
  exit 1
fi
wait "$pid" || true
trap - EXIT
echo "quick start: passed on node $(node --version)"
