// The U-Net of src/models/unet.ts written again in tfjs (NHWC), for the
// training-step bench. Its variables are copies of a wgrad UNet's
// parameters, named by the same state-dict keys, so the two nets start as
// the same function: unetAgreement() checks that on a randomized net before
// any timing. Layouts: conv weight [out, in, kh, kw] → [kh, kw, in, out];
// Linear weight [out, in] is used as x · Wᵀ.
import type * as TF from '@tensorflow/tfjs';
import * as wg from '../../src/index';
import { UNet, ResBlock, SelfAttention, timeFeatureSize, timestepFeatures, type UnetConfig } from '../../src/models/unet';
import type { Tensor } from '../../src/tensor';
import type { Tfjs } from './tfjs';
import { nchwToNhwc, permute4 } from './cases';

export interface TfUnet {
  /** ε̂ for x [n, s, s, C] given timestep features [n, F] and label ids [n] (int32) or null */
  forward(x: TF.Tensor4D, features: TF.Tensor2D, labels: TF.Tensor1D | null): TF.Tensor4D;
  variables: TF.Variable[];
  dispose(): void;
}

/** tfjs variables holding a copy of every parameter of `net`, by state-dict key. */
async function copyParameters(tf: Tfjs, net: UNet): Promise<Map<string, TF.Variable>> {
  const vars = new Map<string, TF.Variable>();
  for (const [name, p] of net.namedParameters()) {
    const data = await p.toArray();
    let value: TF.Tensor;
    if (p.rank === 4) value = tf.tensor4d(permute4(data, p.shape, [2, 3, 1, 0]), [p.shape[2], p.shape[3], p.shape[1], p.shape[0]] as [number, number, number, number]);
    else if (p.rank === 2 && !name.startsWith('labelEmbedding')) value = tf.tensor2d(data, p.shape as [number, number]).transpose();
    else value = tf.tensor(data, p.shape);
    vars.set(name, tf.variable(value, true, `unet/${name}`));
    value.dispose();
  }
  return vars;
}

export async function tfUnet(tf: Tfjs, net: UNet): Promise<TfUnet> {
  const v = await copyParameters(tf, net);
  const get = (name: string): TF.Variable => {
    const found = v.get(name);
    if (!found) throw new Error(`tfUnet: no parameter '${name}'`);
    return found;
  };
  const conv = (x: TF.Tensor4D, prefix: string, stride = 1): TF.Tensor4D => {
    const w = get(`${prefix}.weight`) as unknown as TF.Tensor4D;
    const pad = Math.floor(w.shape[0] / 2);
    // PyTorch's symmetric padding, not tfjs's 'same' (which pads a stride-2 conv at the end only)
    const padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
    const y = tf.conv2d(x, w, stride, pad === 0 ? 'valid' : padding);
    const b = v.get(`${prefix}.bias`);
    return b ? y.add(b) : y;
  };
  const linear = (x: TF.Tensor2D, prefix: string): TF.Tensor2D => {
    const y: TF.Tensor2D = tf.matMul(x, get(`${prefix}.weight`) as unknown as TF.Tensor2D);
    const b = v.get(`${prefix}.bias`);
    return b ? y.add<TF.Tensor2D>(b) : y;
  };
  const groupNorm = (x: TF.Tensor4D, prefix: string, groups: number): TF.Tensor4D => {
    const [n, h, w, c] = x.shape;
    const grouped = x.reshape([n, h, w, groups, c / groups]);
    const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
    const normed = grouped.sub(mean).div(variance.add(1e-5).sqrt()).reshape([n, h, w, c]) as TF.Tensor4D;
    return normed.mul(get(`${prefix}.weight`)).add(get(`${prefix}.bias`));
  };
  const silu = <T extends TF.Tensor>(x: T): T => x.mul(tf.sigmoid(x));
  const resBlock = (x: TF.Tensor4D, emb: TF.Tensor2D, prefix: string, block: ResBlock): TF.Tensor4D => {
    let h = conv(silu(groupNorm(x, `${prefix}.norm1`, block.norm1.numGroups)), `${prefix}.conv1`);
    h = h.add(linear(emb, `${prefix}.embedding`).reshape([x.shape[0], 1, 1, block.outChannels]));
    h = conv(silu(groupNorm(h, `${prefix}.norm2`, block.norm2.numGroups)), `${prefix}.conv2`);
    return h.add(block.skip ? conv(x, `${prefix}.skip`) : x);
  };
  const attention = (x: TF.Tensor4D, prefix: string, block: SelfAttention): TF.Tensor4D => {
    const [n, height, width, c] = x.shape;
    const h = groupNorm(x, `${prefix}.norm`, block.norm.numGroups);
    const flat = (t: TF.Tensor4D) => t.reshape([n, height * width, c]) as TF.Tensor3D;
    const q = flat(conv(h, `${prefix}.query`));
    const k = flat(conv(h, `${prefix}.key`));
    const val = flat(conv(h, `${prefix}.value`));
    const weights = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(c)));
    const attended = tf.matMul(weights, val).reshape([n, height, width, c]) as TF.Tensor4D;
    return x.add(conv(attended, `${prefix}.projection`));
  };

  return {
    variables: [...v.values()],
    forward(x, features, labels) {
      let emb = linear(silu(linear(features, 'timeMlp.0')), 'timeMlp.2');
      if (net.labelEmbedding) {
        const ids = labels ?? tf.fill([x.shape[0]], net.config.classes, 'int32');
        emb = emb.add(tf.gather(get('labelEmbedding.weight'), ids));
      }
      emb = silu(emb);
      let h = conv(x, 'convIn');
      const skips = [h];
      net.down.items().forEach((block, i) => {
        h = block instanceof ResBlock ? resBlock(h, emb, `down.${i}`, block) : conv(h, `down.${i}.conv`, 2);
        skips.push(h);
      });
      net.middle.items().forEach((block, i) => {
        h = block instanceof ResBlock ? resBlock(h, emb, `middle.${i}`, block) : attention(h, `middle.${i}`, block as SelfAttention);
      });
      net.up.items().forEach((block, i) => {
        if (block instanceof ResBlock) h = resBlock(tf.concat([h, skips.pop()!], 3), emb, `up.${i}`, block);
        else h = conv(tf.image.resizeNearestNeighbor(h, [2 * h.shape[1], 2 * h.shape[2]]), `up.${i}.conv`);
      });
      return conv(silu(groupNorm(h, 'normOut', net.normOut.numGroups)), 'convOut');
    },
    dispose() {
      for (const variable of v.values()) variable.dispose();
    },
  };
}

/**
 * The largest |ε̂_wgrad − ε̂_tfjs| of one forward on random input, with every
 * zero-initialized layer randomized (so every block contributes), relative
 * to the largest |ε̂|: the peer computes the same function as our U-Net.
 */
export async function unetAgreement(tf: Tfjs, config: UnetConfig, n = 2): Promise<{ maxAbs: number; scale: number }> {
  const net = new UNet(config);
  for (const [name, p] of net.namedParameters()) {
    if (/(conv2|projection|convOut)\.(weight|bias)$/.test(name)) wg.nn.init.normal(p, 0, 0.2);
  }
  const { channels: c, imageSize: s } = config;
  const xData = Float32Array.from({ length: n * c * s * s }, (_, i) => Math.sin(i * 0.37));
  const t = Array.from({ length: n }, (_, i) => 3 + 5 * i);
  const featureData = timestepFeatures(t, timeFeatureSize(config));
  const labels = config.classes > 0 ? Array.from({ length: n }, (_, i) => i % (config.classes + 1)) : null;
  const ours = wg.noGrad(() =>
    wg.scope(() => net.forward(wg.tensor(xData, [n, c, s, s]), wg.tensor(featureData, [n, featureData.length / n]), labels ? wg.tensor(labels, [n]) : null)),
  ) as Tensor;
  const oursData = await ours.toArray();
  ours.dispose();
  const peer = await tfUnet(tf, net);
  const theirs = tf.tidy(() =>
    peer.forward(
      tf.tensor4d(nchwToNhwc(xData, n, c, s, s), [n, s, s, c]),
      tf.tensor2d(featureData, [n, featureData.length / n]),
      labels ? tf.tensor1d(labels, 'int32') : null,
    ).transpose([0, 3, 1, 2]),
  );
  const theirsData = (await theirs.data()) as Float32Array;
  theirs.dispose();
  peer.dispose();
  net.dispose();
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < oursData.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(oursData[i] - theirsData[i]));
    scale = Math.max(scale, Math.abs(oursData[i]));
  }
  return { maxAbs, scale };
}
