#!/usr/bin/env bash
# Set up kvscope on this machine: the Debian packages that provide software WebGPU (Mesa llvmpipe for Deno,
# Chromium with SwiftShader for the browser tests), then the npm packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if command -v dpkg-query >/dev/null 2>&1; then
  for p in mesa-vulkan-drivers libvulkan1 chromium; do have_pkg "$p" || need_pkgs+=("$p"); done
  command -v node >/dev/null 2>&1 || need_pkgs+=(nodejs npm)
  if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing ${need_pkgs[*]} (apt-get)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    else
      echo "setup: missing Debian packages: ${need_pkgs[*]}" >&2
      echo "       run as root:  apt-get update && apt-get install -y ${need_pkgs[*]}" >&2
      exit 1
    fi
  fi
else
  for x in node chromium; do
    command -v "$x" >/dev/null 2>&1 || { echo "setup: '$x' not found. kvscope needs Node.js ≥ 20, a Vulkan driver (Mesa's llvmpipe: mesa-vulkan-drivers) and Chromium; install them with your package manager." >&2; exit 1; }
  done
fi

echo "setup: npm packages"
# `npm install` (it follows package-lock.json): `npm ci` rejects the lock npm 11 writes here, which omits the
# other platforms' optional @deno/* binaries
npm install --no-audit --no-fund --loglevel=error
echo "setup: done ($(node_modules/.bin/deno --version | head -n 1))"
