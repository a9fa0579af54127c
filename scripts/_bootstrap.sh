# Sourced by scripts/serve and scripts/test: a virtual environment with jeex-cache in it.
# Works on a fresh Debian/Ubuntu machine with Python 3.11+; installs python3-venv if missing.

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

VENV=${JEEX_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    echo "installing python3-venv from the OS packages"
    rm -rf "$VENV"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV"
  fi
fi

# Reinstall only when the project's metadata changed since the last install.
stamp="$VENV/.jeex-installed-$1"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".$2"
  touch "$stamp"
fi
