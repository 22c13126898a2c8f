#!/usr/bin/env bash
# Gathers, on the development machine, what travels to a GPU machine that
# has no network (bench/device/README.md), into bench/device/pack.tar.xz:
#
#   wgrad-bench.mjs                 the Node bench (bench/peer/main.ts) as one bundle, tfjs inlined
#   bin/node                        this machine's x86-64 node binary
#   node_modules/webgpu/            Dawn: the package's index.js and dist/linux-x64/dawn.node
#   debs/*.deb                      Debian's Vulkan loader and GL/EGL (glvnd) libraries, amd64
#   fallback/libstdc++6*.deb        for a machine whose libstdc++ is older than dawn.node's (GLIBCXX_3.4.30)
#
# Run from anywhere in the repository after `npm install`, as root or with
# apt-get able to download (it fetches the .debs from Debian's archive):
#   bash bench/device/prepare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
LIMIT_MIB=60 # the device machine takes 64 MiB of untracked files in all

if [ "$(uname -m)" != x86_64 ] || [ "$(node -p process.arch)" != x64 ]; then
  echo "prepare.sh: the node binary travels, so this must run on x86-64 Linux with an x64 node (here: $(uname -m), node $(node -p process.arch))" >&2
  exit 1
fi
dawn=node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$dawn" ] || { echo "prepare.sh: $dawn is missing: run npm install first" >&2; exit 1; }

pack=bench/device/pack
rm -rf "$pack" bench/device/pack.tar.xz
mkdir -p "$pack/bin" "$pack/debs" "$pack/fallback" "$pack/node_modules/webgpu/dist/linux-x64"

echo "== the bundle"
node node_modules/vite/bin/vite.js build --config bench/device/vite.config.ts

echo "== node $(node -v) and Dawn"
cp "$(node -p process.execPath)" "$pack/bin/node"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$pack/node_modules/webgpu/"
cp "$dawn" "$pack/node_modules/webgpu/dist/linux-x64/"

echo "== Debian packages: ${DEBS[*]}"
download() { (cd "$pack/debs" && apt-get download "${DEBS[@]/%/:amd64}") && (cd "$pack/fallback" && apt-get download libstdc++6:amd64); }
if ! download; then
  echo "apt-get download failed; updating the package lists and trying again"
  apt-get update -qq
  download
fi

echo "== pack.tar.xz"
tar -C "$pack" -cf - . | xz -T0 -6 > bench/device/pack.tar.xz
size=$(stat -c %s bench/device/pack.tar.xz)
du -sh "$pack"/wgrad-bench.mjs "$pack"/bin/node "$pack"/node_modules/webgpu/dist/linux-x64/dawn.node "$pack"/debs "$pack"/fallback bench/device/pack.tar.xz
if [ "$size" -gt $((LIMIT_MIB * 1024 * 1024)) ]; then
  echo "prepare.sh: pack.tar.xz is $((size / 1024 / 1024)) MiB, over the ${LIMIT_MIB} MiB the device takes" >&2
  exit 1
fi
rm -rf "$pack" # the staging folder: everything is in the tarball
echo "ready: bench/device/pack.tar.xz ($((size / 1024 / 1024)) MiB); on the GPU machine run: bash bench/device/run.sh"
