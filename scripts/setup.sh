#!/usr/bin/env bash
# Installs what the product needs on a Debian machine, idempotently: system packages that
# are missing, a virtual environment in .venv, and the project with its dependencies.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again at any time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

# Debian packages the product uses; each is installed only if missing.
APT_PACKAGES=(ca-certificates fonts-noto-cjk libzbar0 libusb-1.0-0 libgl1 libegl1 libmtdev1 espeak-ng alsa-utils xsel
              libzinnia0 tegaki-zinnia-simplified-chinese)  # zinnia: offline handwriting recognition
# the test command adds what only the tests need (a PostgreSQL server, a headless browser)
APT_PACKAGES+=(${EXTRA_APT_PACKAGES[@]+"${EXTRA_APT_PACKAGES[@]}"})

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "需要 root 权限安装系统软件包 / root is needed to install: $*" >&2; return 1; fi
}

ensure_system() {
  local missing=()
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import ensurepip, venv, sqlite3' 2>/dev/null || missing+=(python3-venv python3-pip)
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "安装系统软件包 / installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_venv() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  local stamp="$VENV/.installed" want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! "$VENV/bin/python" -c 'import kiosk' 2>/dev/null; then
    echo "安装 Python 依赖 / installing Python dependencies"
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v WARNING || true
    "$VENV/bin/python" -m pip install -q -e "$ROOT[terminal,ledger,drill,dev]" 2>&1 | grep -v WARNING || true
    "$VENV/bin/python" -c 'import kiosk, fastapi, uvicorn, hypothesis' || { echo "依赖安装失败 / install failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
}

ensure_system
ensure_venv
