#!/usr/bin/env bash
# Run peir's benchmark suite on a machine with a real GPU and write its report
# as JSON (and Markdown beside it). Self-contained: installs the dependencies
# if node_modules is missing, builds, checks that Dawn finds a hardware
# adapter (not SwiftShader), then runs the suite.
#
#   scripts/device-bench.sh [OUT.json] [extra bench options, e.g. --size 1024]
#
# Environment: PEIR_BENCH_ALLOW_SOFTWARE=1 runs even when only a software
# adapter is found (for trying the script out on a CPU-only machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-bench-device-$(date -u +%Y%m%dT%H%M%SZ).json}"
shift || true

if ! command -v node >/dev/null 2>&1; then
  echo "device-bench: node (>= 20) is required" >&2
  exit 1
fi
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt 20 ]; then
  echo "device-bench: node >= 20 is required, found $(node --version)" >&2
  exit 1
fi

if [ ! -d node_modules/webgpu ] || [ ! -d node_modules/@tensorflow/tfjs-backend-webgpu ]; then
  echo "device-bench: installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi

node scripts/build.mjs

# Which adapter will Dawn pick? `auto` prefers hardware Vulkan when a GPU device node and driver exist.
ADAPTER_JSON="$(node dist/cli.js adapter 2>/dev/null | tr -d "\n" || true)"
echo "device-bench: adapter: ${ADAPTER_JSON:-unknown}" >&2
if printf '%s' "$ADAPTER_JSON" | grep -qi '"isFallbackAdapter": *true\|swiftshader'; then
  if [ "${PEIR_BENCH_ALLOW_SOFTWARE:-0}" != "1" ]; then
    echo "device-bench: only a software adapter (SwiftShader) was found; install the GPU's Vulkan driver," >&2
    echo "or set PEIR_BENCH_ALLOW_SOFTWARE=1 to benchmark it anyway" >&2
    exit 2
  fi
fi

MD="${OUT%.json}.md"
node dist/bench.js --json --out "$OUT" "$@" > /dev/null
node -e '
  const fs = require("fs");
  const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const rows = r.targets.map((t) => `${t.met === null ? "n/a " : t.met ? "met " : "MISS"}  ${t.name}: ${t.measured}`);
  console.error(["device-bench: " + r.adapterLine, ...rows].join("\n"));
' "$OUT"
echo "device-bench: wrote $OUT" >&2
