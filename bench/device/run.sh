#!/usr/bin/env bash
# The device bench, on a Linux x86-64 machine with an NVIDIA GPU, no
# network and no node_modules (bench/device/README.md), in under ten
# minutes:
#
#   1. unpacks bench/device/pack.tar.xz (made by prepare.sh) and Debian's
#      Vulkan loader and GL/EGL libraries into /, points the Vulkan loader
#      at the NVIDIA driver;
#   2. wgrad against tfjs, full sizes, the kernels' tile table (WGRAD_TUNE=off);
#   3. the same conv layers, matmuls and three training steps in PyTorch eager;
#   4. wgrad again with the autotuner on (WGRAD_TUNE=on);
#   5. bench/RESULTS-<gpu>.md from the three (results.mjs).
#
# Each step has a time budget; a step cut short keeps what it measured
# (the JSONs are rewritten after every case). Everything goes to $OUT
# (default bench/device/out): run.log, wgrad-table.json, torch.json,
# wgrad-tuned.json and RESULTS-<gpu>.md.
#
#   bash bench/device/run.sh           on the GPU machine (as root)
#   bash bench/device/run.sh --local   here, on the dev machine: SwiftShader, quick sizes, a few cases,
#                                      nothing installed (checks the plumbing, not the GPU)
# Environment: WGRAD_DEVICE_FILTER (cases, as the bench's --filter), WGRAD_DEVICE_SECONDS (the
# whole run's budget, default 560), WGRAD_VK_ICD and WGRAD_EGL_VENDOR (the NVIDIA driver's files).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
local_run=0
[ "${1:-}" = --local ] && local_run=1
out="${OUT:-$here/out}"
mkdir -p "$out"
budget_total="${WGRAD_DEVICE_SECONDS:-560}"
notes=()

# Seconds for the next step: its cap, or less, leaving `reserve` for the steps after it.
budget() {
  local cap=$1 reserve=$2
  local left=$((budget_total - SECONDS - reserve))
  ((left < cap)) && cap=$left
  echo $((cap > 0 ? cap : 0))
}

# Runs a step under `timeout`; notes when it was cut short or failed.
step() {
  local name=$1 seconds=$2
  shift 2
  if ((seconds < 15)); then
    echo "== $name: skipped, no time left"
    notes+=("$name: skipped, the run's time was spent")
    return
  fi
  echo "== $name (at ${SECONDS} s, budget ${seconds} s)"
  timeout -k 10 "$seconds" "$@"
  local rc=$?
  if ((rc == 124 || rc == 137)); then
    notes+=("$name: cut at its ${seconds} s budget; the cases it measured before are in")
  elif ((rc != 0)); then
    notes+=("$name: exit status $rc (see run.log)")
  fi
  echo "== $name: exit $rc at ${SECONDS} s"
}

main() {
  rm -f "$out"/wgrad-table.json "$out"/wgrad-tuned.json "$out"/torch.json "$out"/RESULTS-*.md
  echo "== unpacking $here/pack.tar.xz"
  work="${WGRAD_DEVICE_WORK:-/tmp/wgrad-device}"
  rm -rf "$work" && mkdir -p "$work"
  if ! tar -xJf "$here/pack.tar.xz" -C "$work"; then
    echo "run.sh: could not unpack $here/pack.tar.xz: make it with bench/device/prepare.sh on the dev machine" >&2
    exit 1
  fi
  node="$work/bin/node"
  # the autotuner's cache (src/node/tune-store.ts) starts empty in the work folder: the tuned run tunes afresh
  export XDG_CACHE_HOME="$work/cache"
  bench=("$node" "$work/wgrad-bench.mjs")

  if ((local_run)); then
    gpu="SwiftShader (local check)"
    driver=""
    filter="${WGRAD_DEVICE_FILTER:-matmul square 64,conv2d VAE enc,training step VAE}"
    export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
    sizes=(--quick --rounds 1)
    torch_device=cpu
  else
    for f in "$work"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
    icd="${WGRAD_VK_ICD:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}"
    egl="${WGRAD_EGL_VENDOR:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}"
    if [ ! -f "$icd" ]; then
      echo "run.sh: no NVIDIA Vulkan driver file at $icd; set WGRAD_VK_ICD. Candidates:" >&2
      ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1 >&2
      exit 1
    fi
    # the new loaders read VK_DRIVER_FILES, older ones VK_ICD_FILENAMES
    export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
    [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
      [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    done
    # dawn.node wants GCC 12's libstdc++ (GLIBCXX_3.4.30); an older system gets Debian's, for our processes only
    system_cxx="$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
    if [ -z "$system_cxx" ] || ! grep -q GLIBCXX_3.4.30 "$system_cxx"; then
      echo "libstdc++ here lacks GLIBCXX_3.4.30: using Debian's from the pack"
      for f in "$work"/fallback/*.deb; do dpkg -x "$f" "$work/fallback-root"; done
      export LD_LIBRARY_PATH="$work/fallback-root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    IFS=, read -r gpu driver < <(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)
    gpu="${gpu:-an NVIDIA GPU}"
    driver="${driver# }"
    filter="${WGRAD_DEVICE_FILTER:-}"
    sizes=(--rounds 5)
    torch_device=cuda
  fi
  [ -n "$filter" ] && sizes+=(--filter "$filter")
  echo "GPU: $gpu${driver:+, driver $driver}; node $("$node" -v)"

  # What Dawn sees, before the long runs: the GPU, or why not (then again with the Vulkan loader's own messages).
  probe="
    const { create } = await import('$work/node_modules/webgpu/index.js');
    const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) { console.error('Dawn found no adapter'); process.exit(1); }
    const i = adapter.info;
    console.log('Dawn adapter:', i.vendor, i.architecture, i.device, i.description);
  "
  if ! "$node" --input-type=module -e "$probe"; then
    echo "run.sh: Dawn has no adapter here. The driver file, the libraries, and the loader's account:" >&2
    cat "${VK_DRIVER_FILES:-/dev/null}" >&2
    ldd "$work/node_modules/webgpu/dist/linux-x64/dawn.node" >&2
    VK_LOADER_DEBUG=error,warn,driver "$node" --input-type=module -e "$probe"
    exit 1
  fi

  # 2. the tile table; then 3. PyTorch; then 4. tuned. Budgets: 240 + 100 + 180 s, less if the unpacking took long.
  step "wgrad vs tfjs, tile table" "$(budget 240 290)" \
    env WGRAD_TUNE=off "${bench[@]}" "${sizes[@]}" --tune off --json "$out/wgrad-table.json"
  if [ -f "$out/wgrad-table.json" ]; then
    if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then
      torch_seconds="$(budget 100 190)"
      step "PyTorch eager" "$torch_seconds" \
        python3 "$here/torch_bench.py" --wgrad "$out/wgrad-table.json" --out "$out/torch.json" \
        --device "$torch_device" --budget $((torch_seconds > 30 ? torch_seconds - 20 : 10)) --filter "$filter"
    else
      echo "== PyTorch eager: skipped, python3 has no torch"
      notes+=("PyTorch: not run, python3 has no torch")
    fi
  fi
  step "wgrad vs tfjs, autotuned" "$(budget 180 15)" \
    env WGRAD_TUNE=on "${bench[@]}" "${sizes[@]}" --tune off --json "$out/wgrad-tuned.json"

  # 5. the write-up: bench/RESULTS-<gpu>.md, and a copy in $OUT
  args=(--table "$out/wgrad-table.json" --tuned "$out/wgrad-tuned.json" --torch "$out/torch.json" --gpu "$gpu" --seconds "$SECONDS")
  [ -n "$driver" ] && args+=(--driver "$driver")
  for n in "${notes[@]}"; do args+=(--note "$n"); done
  if ((local_run)); then
    args+=(--out "$out/RESULTS-local.md")
  else
    args+=(--also "$out")
  fi
  (cd "$repo" && "$node" "$here/results.mjs" "${args[@]}")
  local rc=$?
  echo "== done in ${SECONDS} s"
  return $rc
}

# everything printed goes to $OUT/run.log as well
main 2>&1 | tee "$out/run.log"
exit "${PIPESTATUS[0]}"
