#!/usr/bin/env node
// Makes sure a Linux machine without a GPU can run wgrad's tests, demos and
// benchmarks (see DESIGN.md, "Runtime on a machine without a GPU"):
//   - /usr/bin/chromium: the browser Playwright drives (never downloaded), and,
//     from Debian's chromium-common, SwiftShader's Vulkan driver
//     /usr/lib/chromium/vk_swiftshader_icd.json, which Dawn uses when no GPU
//     driver answers;
//   - libvulkan.so.1 (Debian libvulkan1): the Vulkan loader Dawn needs.
// If something is missing and we are root on a Debian-like system, install it
// with apt-get; otherwise print the command and fail. macOS and Windows: nothing.
//
//   node scripts/setup.mjs           check, install if needed
//   node scripts/setup.mjs --check   only report what is missing and what would run
// WGRAD_SKIP_SETUP=1 skips everything (for machines set up some other way).

import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const CHROMIUM = '/usr/bin/chromium';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const PACKAGES = ['chromium', 'libvulkan1'];
const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu', '/lib/aarch64-linux-gnu',
  '/usr/lib64', '/lib64', '/usr/lib', '/lib',
];

const checkOnly = process.argv.includes('--check');
const log = (msg) => console.log(`[wgrad setup] ${msg}`);

function hasVulkanLoader() {
  if (LIB_DIRS.some((dir) => existsSync(`${dir}/libvulkan.so.1`))) return true;
  // Other layouts: ask the dynamic linker's cache.
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    const r = spawnSync(ldconfig, ['-p'], { encoding: 'utf8' });
    if (r.status === 0) return /\blibvulkan\.so\.1\b/.test(r.stdout);
  }
  return false;
}

function missing() {
  const out = [];
  if (!existsSync(CHROMIUM)) out.push(`${CHROMIUM} (package chromium)`);
  if (!hasVulkanLoader()) out.push('libvulkan.so.1 (package libvulkan1)');
  return out;
}

function hasAptGet() {
  return spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(cmd, args) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) {
    console.error(`[wgrad setup] "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}).`);
    process.exit(1);
  }
}

function fail(lines) {
  for (const line of lines) console.error(`[wgrad setup] ${line}`);
  process.exit(1);
}

if (process.platform !== 'linux' || process.env.WGRAD_SKIP_SETUP) process.exit(0);

const before = missing();
if (before.length === 0) {
  if (!existsSync(SWIFTSHADER_ICD)) {
    log(`note: ${SWIFTSHADER_ICD} not found; without a GPU driver, Dawn will find no WebGPU adapter.`);
  }
  if (checkOnly) log('chromium and libvulkan.so.1 found; nothing to do.');
  process.exit(0);
}

log(`missing: ${before.join(', ')}`);
// chromium-common, a hard dependency of chromium, brings SwiftShader's ICD,
// so recommended packages are not needed.
const install = ['install', '-y', '--no-install-recommends', ...PACKAGES];
const isRoot = process.getuid?.() === 0;

if (!isRoot || !hasAptGet()) {
  fail([
    hasAptGet()
      ? 'Run this, then try again:'
      : 'No apt-get here: install Chromium at /usr/bin/chromium and the Vulkan loader (libvulkan.so.1), e.g. on Debian/Ubuntu:',
    `  sudo apt-get install -y ${PACKAGES.join(' ')}`,
    '(Or set WGRAD_SKIP_SETUP=1 if this machine is set up some other way.)',
  ]);
}

if (checkOnly) {
  log('would run: apt-get update');
  log(`would run: DEBIAN_FRONTEND=noninteractive apt-get ${install.join(' ')}`);
  process.exit(0);
}

run('apt-get', ['update']);
run('apt-get', install);

const after = missing();
if (after.length > 0) {
  fail([`still missing after apt-get install: ${after.join(', ')}`]);
}
if (!existsSync(SWIFTSHADER_ICD)) {
  log(`note: ${SWIFTSHADER_ICD} not found after install; WebGPU without a GPU may not work.`);
}
log('installed chromium and libvulkan1.');
