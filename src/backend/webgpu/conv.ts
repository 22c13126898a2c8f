// Launching the conv kernels of shaders/conv2d.wgsl: the GEMM view of each
// mode, the tile configuration per shape, and the split-K plan for wgrad.
//
// The tile table. Each conv runs as a GEMM of m rows (pixels or output
// channels) by n columns (channels, or channels × taps for wgrad). A tile
// wider than the GEMM computes rows or columns that are thrown away, so
// small GEMMs get small tiles:
//   n ≤ 2 and m ≥ 1024 (not wgrad) → conv2d_thin, a thread per 4 rows of one column
//   m ≤ 16  → flat, 16 × 2 threads (64 × 8 outputs a workgroup): wgrad of a layer
//             with few output channels, or a batch of 1×1 maps
//   n ≤ 16  → narrow, 2 × 32 threads (8 × 128), TILE_K 8
//   n ≤ 32  → medium, 8 × 16 threads (32 × 64)
//   else    → wide, 16 × 16 threads (64 × 64), TILE_K 16 (medium too)
// Measured with `npm run bench:conv -- --tiles` (bench/conv.ts) on
// SwiftShader (2-core VM), forward 3×3 convs, batch 8, ms:
//   64→3 at 32×32:   narrow 313, medium 781, wide 1397
//   32→17 at 16×16:  narrow 140, medium 122, wide 194
//   64→64 at 16×16:  narrow 589, medium 380, wide 331
// (bench/RESULTS.md has the table). The narrow tile's TILE_K went from 16
// to 8 after DCGAN's 1-channel layers (n = 1, k = 32, batch 64): the
// transposed conv 8→1 to 32×32 took 450 ms with 16, 280 with 8; the conv
// 1→8 100 and 60. The m ≤ 16 and n ≤ 16 rows and conv2d_thin's least m
// come from `wgrad tune dcgan` on the same machine (docs/TUNING.md): of
// the tiny DCGAN's 34 kernel shapes the tuner had beaten the older table
// (narrow only to n ≤ 8, flat only to m ≤ 8, thin at any m) on 13, by
// 1.4–7× on the small ones; tuned again over this table it gains 1.13×
// over the 34, where two tunings here do not always agree.
// On a CPU adapter (SwiftShader, llvmpipe, WARP) the table takes
// conv2d_direct's tiles instead: a register block per thread, no workgroup
// memory and no barriers (conv2d.wgsl says why). Same sweep, ms:
//   64→3:  direct-narrow 35.7, direct-tall 38.9 (narrow above: 218.6)
//   32→17: direct-tall 12.6, direct-narrow 15.0 (medium: 72.8)
//   64→64: direct 73.8–80.6 (wide: 206.1)
// and the tiny DCGAN's training step 722 → 218 ms. There m ≤ 16 →
// direct-flat, n ≤ 4 → direct-narrow, n ≤ 32 → direct-tall, else direct.
// A weight gradient's register-block tile then shrinks its workgroup to a
// GEMM smaller than it (fitted, below): the tiny DCGAN's step 262–295 →
// 202–233 ms, three runs each alternating (stop 24, a slower VM than the
// numbers above).
//   wgrad of D's 1→8: m 8, n 16 in direct-flat's 16 × 64 block: 2 × 2 threads, not 8 × 4
//   wgrad of G's 32→16: m 32, n 256 in direct's 64 × 32 block: 4 × 4 threads, not 4 × 8
// This table is the default and the tuner's first
// candidate: on any adapter `wgrad tune` (or WGRAD_TUNE=on) times every
// tile, conv2d_thin for narrow GEMMs and other split-K targets per shape,
// and keeps the fastest (tune.ts; docs/TUNING.md has what it chose here).
import type { ConvGeometry } from '../backend';
import { threadsToCover } from './context';
import type { Overrides } from './pipelines';

export type ConvMode = 'forward' | 'inputGrad' | 'weightGrad';

const MODE_NUMBER = { forward: 0, inputGrad: 1, weightGrad: 2, inputGradByPhase: 3 };

export interface ConvPlan {
  /** conv2d (tiled), conv2d_direct (register blocks) or conv2d_thin (a thread per 4 rows of one column) */
  entry: 'conv2d' | 'conv2d_direct' | 'conv2d_thin';
  overrides: Overrides;
  params: Record<string, number>;
  /** the whole grid; the row blocks (along `rowAxis`) may be more than one dispatch takes */
  groups: [number, number, number];
  /** the grid axis that walks the GEMM's row blocks: x for conv2d_thin, y for conv2d */
  rowAxis: 0 | 1;
  splits: number;
  /** elements of the result over all groups */
  total: number;
}

export interface ConvTile {
  WG_X: number;
  WG_Y: number;
  /** conv2d (workgroup-memory slabs): depth of a slab */
  TILE_K?: number;
  /** conv2d_direct (register blocks, no workgroup memory): rows and columns a thread, in fours */
  RV?: number;
  CV?: number;
}

/**
 * The tiles bench/conv.ts compares; tileFor picks among them. The first
 * four run conv2d (slabs in workgroup memory), the direct ones
 * conv2d_direct (each thread's block in registers, no barriers).
 */
export const CONV_TILES: Record<'narrow' | 'flat' | 'medium' | 'wide' | 'direct' | 'direct-narrow' | 'direct-tall' | 'direct-flat', ConvTile> = {
  narrow: { WG_X: 2, WG_Y: 32, TILE_K: 8 },
  flat: { WG_X: 16, WG_Y: 2, TILE_K: 16 },
  medium: { WG_X: 8, WG_Y: 16, TILE_K: 16 },
  wide: { WG_X: 16, WG_Y: 16, TILE_K: 16 },
  direct: { WG_X: 4, WG_Y: 8, RV: 2, CV: 2 },
  'direct-narrow': { WG_X: 1, WG_Y: 16, RV: 2, CV: 1 },
  'direct-tall': { WG_X: 1, WG_Y: 16, RV: 2, CV: 2 },
  'direct-flat': { WG_X: 8, WG_Y: 4, RV: 1, CV: 2 },
};

function entryOf(tile: ConvTile): ConvPlan['entry'] {
  return tile.RV ? 'conv2d_direct' : 'conv2d';
}

/** The pipeline constants: the mode, the tile, and for conv2d_direct whether MODE 1 checks a stride. */
function overridesOf(tile: ConvTile, mode: number, geo: ConvGeometry): Overrides {
  if (!tile.RV) return { MODE: mode, ...tile };
  const strided = mode === MODE_NUMBER.inputGrad && geo.strideH * geo.strideW > 1;
  return { MODE: mode, ...tile, DGRAD_STRIDED: strided ? 1 : 0 };
}

/** Rows and columns of C one workgroup of `tile` computes. */
function tileRows(tile: ConvTile): number {
  return 4 * (tile.RV ?? 1) * tile.WG_Y;
}
function tileCols(tile: ConvTile): number {
  return 4 * (tile.CV ?? 1) * tile.WG_X;
}

export type ConvTileName = keyof typeof CONV_TILES;

/**
 * How one conv call runs: a tile of CONV_TILES or conv2d_thin, and for
 * wgrad the workgroups its split-K aims for. The table below picks one per
 * shape; the tuner (tune.ts) may pick another among convCandidates.
 */
export interface ConvChoice {
  tile: ConvTileName | 'thin';
  /** wgrad: workgroups to aim for before splitting k stops (WGRAD_TARGET_WORKGROUPS in the table) */
  target?: number;
  /** wgrad split more than once: add the splits with a subgroup per weight (sum_splits_subgroups.wgsl) */
  sum?: 'subgroups';
}

function tileFor(m: number, n: number, adapter: AdapterKind): ConvTileName {
  if (adapter === 'cpu') {
    if (m <= FLAT_ROWS) return 'direct-flat';
    if (n <= 4) return 'direct-narrow';
    // direct-tall's workgroups span 128 rows: a shorter GEMM idles most of their threads
    if (n <= 32 && m >= tileRows(CONV_TILES['direct-tall'])) return 'direct-tall';
    return 'direct';
  }
  if (m <= FLAT_ROWS) return 'flat';
  if (n <= 16) return 'narrow';
  if (n <= 32) return 'medium';
  return 'wide';
}

/**
 * What runs the kernels: a GPU, or a CPU adapter (SwiftShader, llvmpipe,
 * WARP), where workgroup memory buys nothing and barriers cost a switch
 * between invocations, so the table takes conv2d_direct's tiles.
 */
export type AdapterKind = 'gpu' | 'cpu';

/** GEMMs at most this many rows take the flat tile (8 rows a workgroup). */
const FLAT_ROWS = 16;

/** Threads per workgroup of conv2d_thin. */
const THIN_THREADS = 64;

/**
 * A GEMM at most this many columns wide runs conv2d_thin: one or two image
 * channels on the column side (DCGAN's 1-channel output layer and its
 * input gradient), where the narrowest tile would compute 8 columns and
 * throw 6 or 7 away.
 */
const THIN_COLUMNS = 2;
/**
 * ... and on a GPU at least this many rows: fewer leave conv2d_thin a
 * handful of threads, each walking all of k. A CPU adapter is the other way
 * round: there conv2d_thin wins only where the GEMM has at most FLAT_ROWS
 * rows (DCGAN's last discriminator layer: 0.8 → 0.4 ms on SwiftShader), and
 * a register block's 8 columns cost less than its 64 threads elsewhere.
 */
const THIN_MIN_ROWS = 1024;

/** Workgroups wgrad aims for before it stops splitting k (enough to fill a desktop GPU). */
const WGRAD_TARGET_WORKGROUPS = 256;
/** The other split-K targets the tuner tries: fewer, longer splits, and more, shorter ones. */
const WGRAD_TUNED_TARGETS = [64, 1024];
/** conv2d_thin is a candidate for GEMMs up to this many columns (a thread per column of 4 rows). */
const THIN_CANDIDATE_COLUMNS = 8;
/** The least k a split should get, so each does real work between its barriers. */
const WGRAD_MIN_CHUNK = 256;

function geometryParams(geo: ConvGeometry): Record<string, number> {
  return {
    batch: geo.batch, in_c: geo.inChannels, in_h: geo.inH, in_w: geo.inW,
    out_c: geo.outChannels, out_h: geo.outH, out_w: geo.outW,
    k_h: geo.kernelH, k_w: geo.kernelW, stride_h: geo.strideH, stride_w: geo.strideW,
    pad_h: geo.padH, pad_w: geo.padW, dil_h: geo.dilationH, dil_w: geo.dilationW, groups: geo.groups,
  };
}

/** The GEMM a conv mode is: m rows, n columns, depth k (per group). */
function gemmOf(mode: ConvMode, geo: ConvGeometry): [number, number, number] {
  const cg = geo.inChannels / geo.groups;
  const og = geo.outChannels / geo.groups;
  const taps = geo.kernelH * geo.kernelW;
  if (mode === 'forward') return [geo.batch * geo.outH * geo.outW, og, cg * taps];
  if (mode === 'inputGrad') return [geo.batch * geo.inH * geo.inW, cg, og * taps];
  return [og, cg * taps, geo.batch * geo.outH * geo.outW];
}

/** A strided dgrad runs by stride phase (MODE 3), not over MODE 1's mostly-zero taps. */
function dgradByPhase(mode: ConvMode, geo: ConvGeometry): boolean {
  return mode === 'inputGrad' && geo.strideH * geo.strideW > 1 && geo.dilationH === 1 && geo.dilationW === 1;
}

/** The table's choice for `mode` on `geo`. */
export function tableConvChoice(mode: ConvMode, geo: ConvGeometry, adapter: AdapterKind = 'gpu'): ConvChoice {
  const [m, n] = gemmOf(mode, geo);
  const rows = dgradByPhase(mode, geo) ? geo.batch * Math.ceil(geo.inH / geo.strideH) * Math.ceil(geo.inW / geo.strideW) : m;
  if (mode !== 'weightGrad' && n <= THIN_COLUMNS && (adapter === 'gpu' ? rows >= THIN_MIN_ROWS : rows <= FLAT_ROWS)) return { tile: 'thin' };
  const tile = tileFor(rows, n, adapter);
  return mode === 'weightGrad' ? { tile, target: WGRAD_TARGET_WORKGROUPS } : { tile };
}

/**
 * What the tuner tries for `mode` on `geo`, the table's choice first: every
 * tile, conv2d_thin for narrow GEMMs, and for wgrad the table's tile with
 * fewer and with more splits, and (where the device has subgroups and the
 * table splits k) the splits added by subgroups.
 */
export function convCandidates(mode: ConvMode, geo: ConvGeometry, subgroups = false, adapter: AdapterKind = 'gpu'): ConvChoice[] {
  const table = tableConvChoice(mode, geo, adapter);
  const [, n] = gemmOf(mode, geo);
  const target = mode === 'weightGrad' ? { target: WGRAD_TARGET_WORKGROUPS } : {};
  const all: ConvChoice[] = [table];
  for (const tile of Object.keys(CONV_TILES) as ConvTileName[]) all.push({ tile, ...target });
  if (mode !== 'weightGrad' && n <= THIN_CANDIDATE_COLUMNS) all.push({ tile: 'thin' });
  if (mode === 'weightGrad') for (const other of WGRAD_TUNED_TARGETS) all.push({ tile: table.tile, target: other });
  if (mode === 'weightGrad' && subgroups && planConv(mode, geo, table).splits > 1) all.push({ ...table, sum: 'subgroups' });
  return all.filter((choice, i) => all.findIndex((c) => c.tile === choice.tile && c.target === choice.target && c.sum === choice.sum) === i);
}

/**
 * A weight gradient's register-block tile shrunk to the GEMM: a thread whose
 * rows or columns all lie past it would still walk all of k (the batch's
 * pixels) for results thrown away. On a CPU adapter every thread costs its
 * work: D's first weight gradient (8 out channels × 16 taps) in the flat
 * tile's 16 × 64 block computed 8 times what it kept. Workgroups round up
 * to powers of two (as matmul's), so few new pipelines are compiled (a compile costs
 * about 0.6 s on SwiftShader: fitted exactly, and in every mode, the
 * suite's op-by-op files took twice as long). The slab tiles keep their
 * shape: their threads also load the slabs.
 */
function fitted(tile: ConvTile, m: number, n: number): ConvTile {
  if (!tile.RV) return tile;
  return { ...tile, WG_Y: threadsToCover(m, tile.WG_Y, 4 * tile.RV), WG_X: threadsToCover(n, tile.WG_X, 4 * (tile.CV ?? 1)) };
}

/** How to run `mode` for `geo`: the table's choice, or `choice` (the tuner's, or the benchmark's tile sweep). */
export function planConv(mode: ConvMode, geo: ConvGeometry, choice: ConvChoice = tableConvChoice(mode, geo)): ConvPlan {
  const cg = geo.inChannels / geo.groups;
  const og = geo.outChannels / geo.groups;
  const taps = geo.kernelH * geo.kernelW;
  const [m, n, k] = gemmOf(mode, geo);
  // A strided dgrad runs one GEMM per stride phase, each over only the taps
  // that phase can use (conv2d.wgsl, MODE 3): m and k here are the largest
  // phase's, the kernel bounds each phase by its own.
  const byPhase = dgradByPhase(mode, geo);
  const layers = byPhase ? geo.strideH * geo.strideW : 1;
  const mLargest = byPhase ? geo.batch * Math.ceil(geo.inH / geo.strideH) * Math.ceil(geo.inW / geo.strideW) : m;
  const kLargest = byPhase ? og * Math.ceil(geo.kernelH / geo.strideH) * Math.ceil(geo.kernelW / geo.strideW) : k;
  const thinGroups = Math.ceil((Math.ceil(mLargest / 4) * n) / THIN_THREADS);
  if (choice.tile === 'thin' && mode === 'weightGrad') throw new Error('conv: conv2d_thin has no weight-gradient mode');
  const thin = choice.tile === 'thin';
  if (thin || byPhase) {
    // one pass, no splits: C written directly
    const total = mode === 'forward' ? geo.batch * geo.outChannels * geo.outH * geo.outW : geo.batch * geo.inChannels * geo.inH * geo.inW;
    const params = { ...geometryParams(geo), m: mLargest, n, k: kLargest, k_chunk: kLargest, splits: 1, total, block_offset: 0 };
    const modeNumber = byPhase ? MODE_NUMBER.inputGradByPhase : MODE_NUMBER[mode];
    if (thin) {
      return { entry: 'conv2d_thin', overrides: { MODE: modeNumber, WG: THIN_THREADS }, params, groups: [thinGroups, 1, geo.groups * layers], rowAxis: 0, splits: 1, total };
    }
    const tile = CONV_TILES[choice.tile as ConvTileName];
    const groups: [number, number, number] = [Math.ceil(n / tileCols(tile)), Math.ceil(mLargest / tileRows(tile)), geo.groups * layers];
    return { entry: entryOf(tile), overrides: overridesOf(tile, modeNumber, geo), params, groups, rowAxis: 1, splits: 1, total };
  }
  const table = CONV_TILES[choice.tile as ConvTileName];
  const tile = mode === 'weightGrad' ? fitted(table, m, n) : table;
  const blocks = Math.ceil(n / tileCols(tile)) * Math.ceil(m / tileRows(tile)) * geo.groups;
  let splits = 1;
  if (mode === 'weightGrad') {
    const wanted = Math.ceil((choice.target ?? WGRAD_TARGET_WORKGROUPS) / blocks);
    splits = Math.max(1, Math.min(wanted, Math.floor(k / WGRAD_MIN_CHUNK), Math.floor(65535 / geo.groups)));
  }
  const step = tile.TILE_K ?? 1;
  const chunk = Math.ceil(k / splits / step) * step;
  splits = Math.max(1, Math.ceil(k / chunk));
  const total = mode === 'forward'
    ? geo.batch * geo.outChannels * geo.outH * geo.outW
    : mode === 'inputGrad'
      ? geo.batch * geo.inChannels * geo.inH * geo.inW
      : geo.outChannels * cg * taps;
  return {
    entry: entryOf(tile),
    overrides: overridesOf(tile, MODE_NUMBER[mode], geo),
    params: { ...geometryParams(geo), m, n, k, k_chunk: chunk, splits, total, block_offset: 0 },
    groups: [Math.ceil(n / tileCols(tile)), Math.ceil(m / tileRows(tile)), geo.groups * splits],
    rowAxis: 1,
    splits,
    total,
  };
}
