#!/usr/bin/env bash
# One idempotent set-up step for a fresh Debian/Ubuntu machine or a clean clone:
#  1. system packages: Chromium (ships SwiftShader, a Vulkan driver on the CPU,
#     used when there is no GPU, and the browser for headless runs) and the
#     Vulkan loader libvulkan1 that Dawn (the `webgpu` npm package) needs;
#  2. npm ci (exact versions from package-lock.json; puppeteer is configured
#     never to download a browser), which also builds dist/ through `prepare`.
# Run as root, or as a user with sudo, or set PEIR_SKIP_APT=1 when the system
# packages are managed elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in chromium libvulkan1; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ] && [ "${PEIR_SKIP_APT:-0}" != 1 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup: please install ${need[*]} with your package manager (no apt-get here)" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

export PUPPETEER_SKIP_DOWNLOAD=1
npm ci --no-audit --no-fund --loglevel=error
