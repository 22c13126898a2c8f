// A small U-Net for ε-prediction, after Ho, Jain & Abbeel (2020), "Denoising
// Diffusion Probabilistic Models", and the PyTorch ports of its U-Net.
//
//   timestep t ──► sinusoidal features (CPU, float64) ─► Linear SiLU Linear ─┐
//   label y ────► Embedding (classes + 1 rows: the last is "no label") ──────(+)─► emb
//
//   x [n, C, s, s] ─► Conv3×3 ─► per level: resBlocks × ResBlock(emb) ─► Downsample (not after the last)
//                                          │ every output is kept as a skip
//                    middle: ResBlock ─► [SelfAttention] ─► ResBlock
//                    per level, deepest first: (resBlocks + 1) × [concat skip ─► ResBlock] ─► Upsample (not at the top)
//                ─► GroupNorm SiLU Conv3×3 ─► ε̂ [n, C, s, s]
//
//   ResBlock:   GroupNorm SiLU Conv3×3 ─► + Linear(SiLU(emb)) per channel ─► GroupNorm SiLU Conv3×3 ─► + skip (1×1 conv if C changes)
//   Downsample: Conv3×3 stride 2.   Upsample: nearest 2× then Conv3×3.
//   SelfAttention (one head, at the lowest resolution): softmax(qᵀk/√C) over the
//   H·W positions, from matmul and softmax, then a 1×1 projection, residual.
//
// The last conv of each ResBlock, the attention projection and the output
// conv start at zero (as in DDPM): every block starts as the identity and
// the net's first prediction is ε̂ = 0, so the loss starts at E[ε²] = 1.
import { Tensor, shapeString } from '../tensor';
import { concat } from '../ops/shape';
import { full } from '../ops/creation';
import { softmax, upsampleNearest } from '../ops/functional';
import type { Activation } from '../backend/backend';
import { Module, Sequential } from '../nn/module';
import { Conv2d, Embedding, GroupNorm, Linear, SiLU } from '../nn/layers';
import * as init from '../nn/init';

export interface UnetConfig {
  /** images are imageSize × imageSize; divisible by 2^(levels − 1) */
  imageSize: number;
  channels: 1 | 3;
  /** channels of the first level; level i has baseChannels · channelMults[i] */
  baseChannels: number;
  channelMults: number[];
  /** ResBlocks per level on the way down (the way up has one more, for the downsample's skip) */
  resBlocks: number;
  /** self-attention in the middle, at the lowest resolution */
  attention: boolean;
  /** 0: unconditional; else a label embedding of classes + 1 rows, row `classes` meaning "no label" */
  classes: number;
}

/** Named sizes: tiny for SwiftShader (CPU WebGPU), small and base for real GPUs. */
export const UNET_CONFIGS = {
  tiny: { baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attention: false },
  small: { baseChannels: 32, channelMults: [1, 2, 2], resBlocks: 2, attention: true },
  base: { baseChannels: 64, channelMults: [1, 2, 2, 2], resBlocks: 2, attention: true },
} as const satisfies Record<string, Pick<UnetConfig, 'baseChannels' | 'channelMults' | 'resBlocks' | 'attention'>>;

export type UnetConfigName = keyof typeof UNET_CONFIGS;

/** Length of the sinusoidal timestep features: 16 frequencies at least, enough to tell 1000 steps apart. */
export function timeFeatureSize(config: UnetConfig): number {
  return Math.max(32, 2 * Math.ceil(config.baseChannels / 2));
}

/** Length of the time (and label) embedding the ResBlocks read. */
export function embeddingSize(config: UnetConfig): number {
  return 4 * config.baseChannels;
}

export function checkUnetConfig(config: UnetConfig): void {
  const problems: string[] = [];
  const positive = (name: string, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) problems.push(`${name} must be an integer ≥ ${min}, got ${v}`);
  };
  if (config.channels !== 1 && config.channels !== 3) problems.push(`channels must be 1 or 3, got ${config.channels}`);
  positive('baseChannels', config.baseChannels);
  positive('resBlocks', config.resBlocks);
  positive('classes', config.classes, 0);
  const mults = config.channelMults;
  if (!Array.isArray(mults) || mults.length === 0) problems.push(`channelMults must be a non-empty list, got ${JSON.stringify(mults)}`);
  else mults.forEach((m, i) => positive(`channelMults[${i}]`, m));
  const levels = Array.isArray(mults) ? mults.length : 1;
  const factor = 2 ** (levels - 1);
  if (!Number.isInteger(config.imageSize) || config.imageSize < factor || config.imageSize % factor !== 0) {
    problems.push(`imageSize must be a positive multiple of ${factor} (${levels} levels halve it ${levels - 1} times), got ${config.imageSize}`);
  }
  if (problems.length) throw new Error(`U-Net config: ${problems.join('; ')}`);
}

/**
 * GroupNorm's group count for `channels`: the largest divisor of it that is
 * at most 32 (DDPM's GroupNorm(32, C)) and leaves at least 4 channels in a
 * group (1 group below 8 channels). A group of one channel would be a
 * per-channel norm, which cancels the per-channel shift the ResBlocks add
 * from the timestep and label embedding: the net could not see t.
 */
export function groupsFor(channels: number): number {
  let groups = Math.max(1, Math.min(32, Math.floor(channels / 4)));
  while (channels % groups !== 0) groups--;
  return groups;
}

/**
 * Sinusoidal features of timesteps t (Vaswani et al. 2017, as DDPM uses
 * them): row i is [sin(t_i·f_0), …, sin(t_i·f_{h−1}), cos(t_i·f_0), …,
 * cos(t_i·f_{h−1})] with f_k = 10000^(−k/h), h = size/2. Computed in float64
 * on the CPU (they depend only on t) and rounded to float32: [t.length, size].
 */
export function timestepFeatures(t: ArrayLike<number>, size: number): Float32Array {
  if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) throw new Error(`timestepFeatures: size must be an even integer ≥ 2, got ${size}`);
  const half = size / 2;
  const out = new Float32Array(t.length * size);
  for (let i = 0; i < t.length; i++) {
    for (let k = 0; k < half; k++) {
      const angle = t[i] * Math.exp((-Math.log(10000) * k) / half);
      out[i * size + k] = Math.sin(angle);
      out[i * size + half + k] = Math.cos(angle);
    }
  }
  return out;
}

/** SiLU after a GroupNorm, in the norm's own kernels (GroupNorm.forwardWith). */
const SILU: Activation = { op: 'silu', alpha: 0 };

/** Children by index, applied by the owner's forward (torch.nn.ModuleList). */
class ModuleList<M extends Module> extends Module {
  constructor(items: M[]) {
    super();
    items.forEach((m, i) => {
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
  }

  items(): M[] {
    return this.children() as M[];
  }
}

export class ResBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  /** the embedding's per-channel shift */
  readonly embedding: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | null;

  constructor(readonly inChannels: number, readonly outChannels: number, embeddingChannels: number) {
    super();
    this.norm1 = new GroupNorm(groupsFor(inChannels), inChannels);
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { padding: 1 });
    this.embedding = new Linear(embeddingChannels, outChannels);
    this.norm2 = new GroupNorm(groupsFor(outChannels), outChannels);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1 });
    init.zeros(this.conv2.weight);
    init.zeros(this.conv2.bias!);
    this.skip = inChannels === outChannels ? null : new Conv2d(inChannels, outChannels, 1);
  }

  /** x [n, in, h, w], emb: SiLU of the embedding [n, E] → [n, out, h, w] */
  override forward(x: Tensor, emb: Tensor): Tensor {
    let h = this.conv1.forward(this.norm1.forwardWith(x, SILU));
    h = h.add(this.embedding.forward(emb).reshape([x.shape[0], this.outChannels, 1, 1]));
    h = this.conv2.forward(this.norm2.forwardWith(h, SILU));
    return h.add(this.skip ? this.skip.forward(x) : x);
  }
}

export class SelfAttention extends Module {
  readonly norm: GroupNorm;
  readonly query: Conv2d;
  readonly key: Conv2d;
  readonly value: Conv2d;
  readonly projection: Conv2d;

  constructor(readonly channels: number) {
    super();
    this.norm = new GroupNorm(groupsFor(channels), channels);
    this.query = new Conv2d(channels, channels, 1);
    this.key = new Conv2d(channels, channels, 1);
    this.value = new Conv2d(channels, channels, 1);
    this.projection = new Conv2d(channels, channels, 1);
    init.zeros(this.projection.weight);
    init.zeros(this.projection.bias!);
  }

  /** x [n, C, h, w] → x + attention over the h·w positions */
  override forward(x: Tensor): Tensor {
    const [n, c, height, width] = x.shape;
    const h = this.norm.forward(x);
    const flat = (t: Tensor) => t.reshape([n, c, height * width]);
    const q = flat(this.query.forward(h));
    const k = flat(this.key.forward(h));
    const v = flat(this.value.forward(h));
    // weights[b, i, j]: how much position i reads from position j
    const weights = softmax(q.transpose(1, 2).matmul(k).mul(1 / Math.sqrt(c)), -1);
    const attended = v.matmul(weights.transpose(1, 2)).reshape([n, c, height, width]);
    return x.add(this.projection.forward(attended));
  }
}

export class Downsample extends Module {
  readonly conv: Conv2d;

  constructor(channels: number) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { stride: 2, padding: 1 });
  }

  override forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

export class Upsample extends Module {
  readonly conv: Conv2d;

  constructor(channels: number) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { padding: 1 });
  }

  override forward(x: Tensor): Tensor {
    return this.conv.forward(upsampleNearest(x, 2));
  }
}

export class UNet extends Module {
  readonly timeMlp: Sequential;
  readonly labelEmbedding: Embedding | null;
  readonly convIn: Conv2d;
  readonly down: ModuleList<ResBlock | Downsample>;
  readonly middle: ModuleList<ResBlock | SelfAttention>;
  readonly up: ModuleList<ResBlock | Upsample>;
  readonly normOut: GroupNorm;
  readonly convOut: Conv2d;

  constructor(readonly config: UnetConfig) {
    super();
    checkUnetConfig(config);
    const { baseChannels, channelMults, resBlocks, classes } = config;
    const emb = embeddingSize(config);
    this.timeMlp = new Sequential(new Linear(timeFeatureSize(config), emb), new SiLU(), new Linear(emb, emb));
    this.labelEmbedding = classes > 0 ? new Embedding(classes + 1, emb) : null;
    this.convIn = new Conv2d(config.channels, baseChannels, 3, { padding: 1 });

    // Down: the channels of every skip, in the order they are made.
    const skips = [baseChannels];
    const down: (ResBlock | Downsample)[] = [];
    let width = baseChannels;
    channelMults.forEach((mult, level) => {
      for (let b = 0; b < resBlocks; b++) {
        down.push(new ResBlock(width, baseChannels * mult, emb));
        width = baseChannels * mult;
        skips.push(width);
      }
      if (level < channelMults.length - 1) {
        down.push(new Downsample(width));
        skips.push(width);
      }
    });
    this.down = new ModuleList(down);

    const middle: (ResBlock | SelfAttention)[] = [new ResBlock(width, width, emb)];
    if (config.attention) middle.push(new SelfAttention(width));
    middle.push(new ResBlock(width, width, emb));
    this.middle = new ModuleList(middle);

    // Up: each ResBlock takes one skip, deepest first.
    const up: (ResBlock | Upsample)[] = [];
    for (let level = channelMults.length - 1; level >= 0; level--) {
      for (let b = 0; b < resBlocks + 1; b++) {
        up.push(new ResBlock(width + skips.pop()!, baseChannels * channelMults[level], emb));
        width = baseChannels * channelMults[level];
      }
      if (level > 0) up.push(new Upsample(width));
    }
    this.up = new ModuleList(up);

    this.normOut = new GroupNorm(groupsFor(width), width);
    this.convOut = new Conv2d(width, config.channels, 3, { padding: 1 });
    init.zeros(this.convOut.weight);
    init.zeros(this.convOut.bias!);
  }

  /**
   * The embedding the blocks read: timeMlp(timeFeatures) plus the label
   * embedding. timeFeatures: [n, timeFeatureSize] (see timestepFeatures);
   * labels: [n] class ids as floats, `classes` for "no label"; absent:
   * no label for every example. → [n, embeddingSize]
   */
  embed(timeFeatures: Tensor, labels?: Tensor | null): Tensor {
    const size = timeFeatureSize(this.config);
    if (timeFeatures.rank !== 2 || timeFeatures.shape[1] !== size) {
      throw new Error(`UNet: expected timestep features [n, ${size}], got ${shapeString(timeFeatures.shape)}`);
    }
    const time = this.timeMlp.forward(timeFeatures);
    if (!this.labelEmbedding) {
      if (labels) throw new Error('UNet: this net is unconditional (classes 0) but got labels');
      return time;
    }
    const n = timeFeatures.shape[0];
    if (labels && (labels.rank !== 1 || labels.shape[0] !== n)) {
      throw new Error(`UNet: expected labels [${n}], got ${shapeString(labels.shape)}`);
    }
    const ids = labels ?? full([n], this.config.classes);
    return time.add(this.labelEmbedding.forward(ids));
  }

  /** ε̂ for noisy images x [n, C, s, s] at the timesteps whose features are given (see embed). */
  override forward(x: Tensor, timeFeatures: Tensor, labels?: Tensor | null): Tensor {
    return this.forwardEmbedded(x, this.embed(timeFeatures, labels));
  }

  /** forward() with the embedding already made (samplers reuse the label part across steps). */
  forwardEmbedded(x: Tensor, embedding: Tensor): Tensor {
    const { channels, imageSize } = this.config;
    if (x.rank !== 4 || x.shape[1] !== channels || x.shape[2] !== imageSize || x.shape[3] !== imageSize) {
      throw new Error(`UNet: expected images [n, ${channels}, ${imageSize}, ${imageSize}], got ${shapeString(x.shape)}`);
    }
    const size = embeddingSize(this.config);
    if (embedding.rank !== 2 || embedding.shape[0] !== x.shape[0] || embedding.shape[1] !== size) {
      throw new Error(`UNet: expected an embedding [${x.shape[0]}, ${size}], got ${shapeString(embedding.shape)}`);
    }
    const emb = embedding.silu(); // every block's Linear reads SiLU(emb)
    let h = this.convIn.forward(x);
    const skips = [h];
    for (const block of this.down.items()) {
      h = block instanceof ResBlock ? block.forward(h, emb) : block.forward(h);
      skips.push(h);
    }
    for (const block of this.middle.items()) h = block instanceof ResBlock ? block.forward(h, emb) : block.forward(h);
    for (const block of this.up.items()) {
      h = block instanceof ResBlock ? block.forward(concat([h, skips.pop()!], 1), emb) : block.forward(h);
    }
    return this.convOut.forward(this.normOut.forwardWith(h, SILU));
  }
}
