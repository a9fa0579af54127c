# Sourced by scripts/serve and scripts/test: a virtual environment with jeex-cache in it,
# installed from uv.lock (the same versions on any day). Works on a fresh Debian/Ubuntu
# machine with Python 3.11+; installs python3-venv if missing.
#
#   bootstrap_env MODE   MODE: test (.venv, every extra and the dev group, from the lock),
#                        serve (.venv, the `server` extra, from the lock),
#                        oldest / newest (.venv-oldest / .venv-newest: every extra at the
#                        lowest declared / newest served versions, the dev group as locked)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  if [ -z "${JEEX_APT_UPDATED:-}" ]; then
    as_root apt-get update -qq
    JEEX_APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "jeex-cache needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')

# uv itself, pinned (the same version as in the lock's dev group), in a venv of its own.
UV_VERSION=0.13.10
TOOLS=${JEEX_TOOLS:-.tools}
UV="$TOOLS/bin/uv"
if ! "$UV" --version 2>/dev/null | grep -q "^uv $UV_VERSION"; then
  rm -rf "$TOOLS"
  if ! "$PYTHON" -m venv "$TOOLS" 2>/dev/null; then
    echo "installing python3-venv from the OS packages"
    rm -rf "$TOOLS"
    apt_install python3-venv
    "$PYTHON" -m venv "$TOOLS"
  fi
  "$TOOLS/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
export UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1

bootstrap_env() {
  case "$1" in
    test | serve)
      VENV=${JEEX_VENV:-.venv}
      local args=(--all-extras)
      [ "$1" = serve ] && args=(--extra server --no-dev --inexact)
      UV_PROJECT_ENVIRONMENT="$VENV" "$UV" sync --quiet --locked --python "$PYTHON" "${args[@]}"
      ;;
    oldest | newest)
      VENV=".venv-$1"
      local resolution=(--resolution lowest-direct)
      [ "$1" = newest ] && resolution=(--upgrade)
      rm -rf "$VENV"  # anew each time: what an earlier run installed must not satisfy this one
      "$UV" venv --quiet --python "$PYTHON" "$VENV"
      "$UV" pip install --quiet --python "$VENV/bin/python" "${resolution[@]}" \
        -e ".[all]" --group dev
      echo "== $1 versions:"
      "$UV" pip list --python "$VENV/bin/python" 2>/dev/null |
        grep -iE '^(redis|hiredis|orjson|pydantic|pydantic-settings|opentelemetry-api|cronsim|fastapi|starlette|sse-starlette|prometheus-client|uvicorn|rich|fastapi-offline) '
      ;;
  esac
}
