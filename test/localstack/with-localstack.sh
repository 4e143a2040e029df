#!/usr/bin/env bash
# Runs a command with an AWS emulator on loopback, then stops the emulator (trap on exit).
#
#   bash test/localstack/with-localstack.sh [--] CMD [ARGS...]   e.g. ... npm run test:localstack
#   bash test/localstack/with-localstack.sh --find-python         prints the Python 3.13 found, or exits 1
#
# With a Python 3.13 (LOCALSTACK_PYTHON, pyenv's versions, python3.13 on PATH): LocalStack 4.14.0 in
# host mode, without Docker, from a venv with pinned versions (requirements.txt + constraints.txt
# beside this script; venv at $LOCALSTACK_VENV, default <repo>/.venv-localstack, rebuilt when the
# pins change). Analytics off (DISABLE_EVENTS=1), nothing persisted (PERSISTENCE=0, its file
# system root is a temp dir removed at exit), no DNS server, no certificate download. (Offline,
# CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0 cannot be used: 4.14 then rejects every resource type,
# since its support catalog is fetched online; the suite checks types itself, see
# free-edition.ts.) Exports to CMD:
#   LOCALSTACK_ENDPOINT=http://127.0.0.1:<port>  SPILLWAY_AWS_EMULATOR=localstack
# Without Python 3.13: moto ($MOTO_ENDPOINT if set, else `python3 -m moto.server` when importable):
#   MOTO_ENDPOINT=...  SPILLWAY_AWS_EMULATOR=moto  (LOCALSTACK_ENDPOINT unset: those tests skip)
# With CI=true and a Python 3.13 present, LocalStack failing to install or start is fatal (exit 1).
# With LOCALSTACK_ENDPOINT already set (a LocalStack you run), that one is used and nothing starts.
# Prints which emulator runs and how long it took to be ready.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

find_python313() {
  local c
  for c in "${LOCALSTACK_PYTHON:-}" \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
    /opt/pyenv*/versions/3.13*/bin/python3.13 /usr/local/pyenv*/versions/3.13*/bin/python3.13 \
    /usr/local/bin/python3.13 /usr/bin/python3.13 "$(command -v python3.13 2>/dev/null || true)"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    if "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if [ "${1:-}" = "--find-python" ]; then
  find_python313
  exit $?
fi
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ]; then
  echo "usage: $0 [--] CMD [ARGS...] | --find-python" >&2
  exit 2
fi

say() { echo "[with-localstack] $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
free_port() { "${1:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

EMU_PID=""
EMU_ROOT=""
cleanup() {
  if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
    # The emulator runs in its own session (setsid): stop its whole process group.
    kill -TERM -- "-$EMU_PID" 2>/dev/null || kill -TERM "$EMU_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$EMU_PID" 2>/dev/null || true
  fi
  [ -n "$EMU_ROOT" ] && rm -rf "$EMU_ROOT"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail_or_fallback() {
  # $1: reason. Fatal in CI (Python 3.13 is there, so LocalStack must run); else fall back to moto.
  if [ "${CI:-}" = "true" ]; then
    say "FAILED: $1 (CI=true and Python 3.13 is present, so LocalStack must run)"
    exit 1
  fi
  say "LocalStack unavailable: $1; falling back to moto"
}

start_localstack() {
  local py=$1 venv="${LOCALSTACK_VENV:-$REPO/.venv-localstack}" t0 stamp port url log
  t0=$(now)
  stamp=$(cat "$HERE/requirements.txt" "$HERE/constraints.txt" | sha256sum | cut -c1-16)-$("$py" -c 'import platform; print(platform.python_version())')
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.spillway-pins" 2>/dev/null || true)" != "$stamp" ]; then
    say "creating $venv with $py (localstack-core 4.14.0, pinned)"
    rm -rf "$venv"
    "$py" -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$HERE/requirements.txt" -c "$HERE/constraints.txt" || return 1
    echo "$stamp" >"$venv/.spillway-pins"
  fi
  local t_venv
  t_venv=$(elapsed "$t0")
  port=${LOCALSTACK_PORT:-$(free_port "$venv/bin/python")}
  url="http://127.0.0.1:$port"
  EMU_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/spillway-localstack.XXXXXX")
  log=${LOCALSTACK_LOG:-${TMPDIR:-/tmp}/spillway-localstack-$port.log}
  (
    cd "$EMU_ROOT"
    exec env OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$EMU_ROOT/fs" \
      GATEWAY_LISTEN="127.0.0.1:$port" LOCALSTACK_HOST="127.0.0.1:$port" \
      DISABLE_EVENTS=1 PERSISTENCE=0 SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0 \
      EAGER_SERVICE_LOADING=0 \
      SERVICES="s3,ec2,ssm,secretsmanager,cloudwatch,cloudformation,iam,sts,lambda,logs,sns,sqs,events" \
      setsid "$venv/bin/python" -m localstack.runtime.main
  ) >"$log" 2>&1 &
  EMU_PID=$!
  local deadline=$(($(date +%s) + ${LOCALSTACK_START_TIMEOUT:-180}))
  until "$venv/bin/python" - "$url" >/dev/null 2>&1 <<'EOF'
import json, sys, urllib.request
body = json.load(urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=2))
sys.exit(0 if body.get("services") else 1)
EOF
  do
    if ! kill -0 "$EMU_PID" 2>/dev/null; then
      say "LocalStack exited during start; last lines of $log:"
      tail -20 "$log" >&2 || true
      EMU_PID=""
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "LocalStack not healthy within ${LOCALSTACK_START_TIMEOUT:-180} s; last lines of $log:"
      tail -20 "$log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  export LOCALSTACK_ENDPOINT="$url" SPILLWAY_AWS_EMULATOR=localstack LOCALSTACK_VENV="$venv"
  say "LocalStack 4.14.0 (host mode, no Docker) at $url: venv ready in ${t_venv} s, healthy after $(elapsed "$t0") s in all; log $log"
}

start_moto() {
  if [ -n "${MOTO_ENDPOINT:-}" ]; then
    export SPILLWAY_AWS_EMULATOR=moto
    say "using moto at $MOTO_ENDPOINT (LocalStack-only tests report SKIPPED)"
    return 0
  fi
  if ! python3 -c 'import moto.server' >/dev/null 2>&1; then
    say "neither Python 3.13 (LocalStack) nor moto is available: the emulator tests report SKIPPED"
    return 0
  fi
  local port url
  port=$(free_port)
  url="http://127.0.0.1:$port"
  setsid python3 -m moto.server -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/spillway-moto-$port.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 1 120); do
    python3 -c "import urllib.request; urllib.request.urlopen('$url/moto-api/', timeout=1)" >/dev/null 2>&1 && {
      export MOTO_ENDPOINT="$url" SPILLWAY_AWS_EMULATOR=moto
      say "moto at $url (LocalStack-only tests report SKIPPED)"
      return 0
    }
    sleep 0.5
  done
  say "moto did not start: the emulator tests report SKIPPED"
}

if [ -n "${LOCALSTACK_ENDPOINT:-}" ]; then
  # One already runs (started by hand or by a caller): use it, start nothing.
  if python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/_localstack/health', timeout=5)" "$LOCALSTACK_ENDPOINT" >/dev/null 2>&1; then
    export SPILLWAY_AWS_EMULATOR=localstack
    say "using the LocalStack already at $LOCALSTACK_ENDPOINT"
  else
    say "FAILED: LOCALSTACK_ENDPOINT=$LOCALSTACK_ENDPOINT is set but does not answer /_localstack/health"
    exit 1
  fi
elif PY=$(find_python313); then
  start_localstack "$PY" || { cleanup; EMU_PID=""; EMU_ROOT=""; fail_or_fallback "LocalStack did not start"; start_moto; }
else
  say "no Python 3.13 found (LOCALSTACK_PYTHON, pyenv, python3.13): LocalStack cannot run here"
  start_moto
fi

# In the background so that a TERM/INT to this script stops CMD and the emulator at once.
"$@" &
CMD_PID=$!
trap 'kill -TERM "$CMD_PID" 2>/dev/null; exit 143' TERM
trap 'kill -INT "$CMD_PID" 2>/dev/null; exit 130' INT
set +e
wait "$CMD_PID"
rc=$?
set -e
exit "$rc"
