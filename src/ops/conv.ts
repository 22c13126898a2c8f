// conv2d and convTranspose2d with PyTorch's options and output sizes. Three
// backend kernels serve both: conv2d (forward), conv2dInputGrad (dgrad) and
// conv2dWeightGrad (wgrad). A transposed conv is the adjoint of a conv, so
// its forward is the conv's dgrad and its backward the conv's forward and
// wgrad, with the roles of input and output swapped.
import type { ConvGeometry } from '../backend/backend';
import { Tensor, shapeString } from '../tensor';
import { activationOption, layerOutput, type ActivationName } from './activation';

export type Pair = number | [number, number];
export type Padding = Pair | 'same' | 'valid' | 'full';

/**
 * An activation after the layer, run in the kernel that makes the output,
 * with the bias (an epilogue: one dispatch forward, one for both gradients
 * backward). silu (and leakyRelu with a negative slope), whose derivative
 * its output does not give, has the kernel keep its input as well where a
 * gradient will be taken.
 */
export interface LayerActivationOptions {
  activation?: ActivationName;
  /** leakyRelu's slope below 0 (default 0.01, as nn.LeakyReLU) */
  negativeSlope?: number;
}

export interface Conv2dOptions extends LayerActivationOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions extends LayerActivationOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** A number or [h, w] as [h, w], checked to be integers ≥ min. */
export function pair(op: string, name: string, value: Pair, min: number): [number, number] {
  const [h, w] = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(value) && typeof value !== 'number') {
    throw new Error(`${op}: ${name} must be a number or [h, w], got ${JSON.stringify(value)}`);
  }
  if (![h, w].every((v) => Number.isInteger(v) && v >= min)) {
    throw new Error(`${op}: ${name} must be integers ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return [h, w];
}

function check4d(op: string, name: string, t: Tensor): void {
  if (t.rank !== 4) {
    throw new Error(`${op}: ${name} must be 4-D (${name === 'input' ? 'N, C, H, W' : 'out, in/groups, kh, kw'}), got ${shapeString(t.shape)}`);
  }
}

function checkGroups(op: string, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
}

function checkBias(op: string, bias: Tensor | null | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new Error(`${op}: bias ${shapeString(bias.shape)} must be [${channels}], one per output channel`);
  }
}

function conv2dGeometry(x: Tensor, w: Tensor, options: Conv2dOptions): ConvGeometry {
  const op = 'conv2d';
  check4d(op, 'input', x);
  check4d(op, 'weight', w);
  const [n, c, h, wi] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const groups = options.groups ?? 1;
  checkGroups(op, groups);
  if (c % groups !== 0 || o % groups !== 0) {
    throw new Error(
      `${op}: input ${shapeString(x.shape)} has ${c} channels and weight ${shapeString(w.shape)} ${o} output channels; ` +
        `both must be divisible by groups=${groups}`,
    );
  }
  if (cg * groups !== c) {
    throw new Error(
      `${op}: weight ${shapeString(w.shape)} expects ${cg * groups} input channels (in/groups=${cg} × groups=${groups}), ` +
        `but input ${shapeString(x.shape)} has ${c}`,
    );
  }
  const [sh, sw] = pair(op, 'stride', options.stride ?? 1, 1);
  const [dh, dw] = pair(op, 'dilation', options.dilation ?? 1, 1);
  const padding = options.padding ?? 0;
  const span = [dh * (kh - 1), dw * (kw - 1)]; // extent of the dilated kernel, minus one
  let pads: [number, number, number, number]; // top, bottom, left, right
  if (padding === 'valid') {
    pads = [0, 0, 0, 0];
  } else if (padding === 'same') {
    if (sh !== 1 || sw !== 1) {
      throw new Error(
        `${op}: padding='same' needs stride 1, got stride ${JSON.stringify(options.stride)} ` +
          `(input ${shapeString(x.shape)}, weight ${shapeString(w.shape)}; PyTorch refuses it too)`,
      );
    }
    // PyTorch puts the odd pixel of an even kernel at the bottom/right.
    pads = [Math.floor(span[0] / 2), span[0] - Math.floor(span[0] / 2), Math.floor(span[1] / 2), span[1] - Math.floor(span[1] / 2)];
  } else if (padding === 'full') {
    pads = [span[0], span[0], span[1], span[1]];
  } else if (typeof padding === 'string') {
    throw new Error(`${op}: padding must be a number, [h, w], 'same', 'valid' or 'full', got '${padding}'`);
  } else {
    const [ph, pw] = pair(op, 'padding', padding, 0);
    pads = [ph, ph, pw, pw];
  }
  const outH = Math.floor((h + pads[0] + pads[1] - span[0] - 1) / sh) + 1;
  const outW = Math.floor((wi + pads[2] + pads[3] - span[1] - 1) / sw) + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(
      `${op}: output size ${outH}×${outW} is below 1: input ${shapeString(x.shape)} with padding ${JSON.stringify(padding)} ` +
        `is smaller than weight ${shapeString(w.shape)}'s ${kh}×${kw} kernel dilated by ${dh}×${dw}`,
    );
  }
  return {
    batch: n, inChannels: c, inH: h, inW: wi, outChannels: o, outH, outW,
    kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padH: pads[0], padW: pads[2],
    dilationH: dh, dilationW: dw, groups,
  };
}

/** x: [N, C, H, W], weight: [O, C/groups, kh, kw], bias: [O] -> [N, O, OH, OW]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const geo = conv2dGeometry(x, weight, options);
  checkBias(op, bias, geo.outChannels);
  const activation = activationOption(op, options);
  const be = x.backend;
  if (weight.backend !== be) throw new Error('conv2d: input and weight are on different backends');
  return layerOutput(
    op, [x, weight, bias], activation, [geo.batch, geo.outChannels, geo.outH, geo.outW], 1,
    (epilogue) => be.conv2d(x.storageFor(op), weight.storageFor(op), geo, epilogue),
    (g, where) => [
      x.requiresGrad ? new Tensor(be.conv2dInputGrad(g.storageFor(where), weight.storageFor(where), geo), x.shape) : null,
      weight.requiresGrad ? new Tensor(be.conv2dWeightGrad(x.storageFor(where), g.storageFor(where), geo), weight.shape) : null,
    ],
  );
}

/** x: [N, Cin, H, W], weight: [Cin, Cout/groups, kh, kw], bias: [Cout] -> [N, Cout, OH, OW]. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  check4d(op, 'input', x);
  check4d(op, 'weight', weight);
  const [n, cin, h, wi] = x.shape;
  const [wIn, coutG, kh, kw] = weight.shape;
  const groups = options.groups ?? 1;
  checkGroups(op, groups);
  if (cin % groups !== 0) {
    throw new Error(`${op}: input ${shapeString(x.shape)} has ${cin} channels, not divisible by groups=${groups} (weight ${shapeString(weight.shape)})`);
  }
  if (wIn !== cin) {
    throw new Error(`${op}: weight ${shapeString(weight.shape)} expects ${wIn} input channels (weight is [in, out/groups, kh, kw]), but input ${shapeString(x.shape)} has ${cin}`);
  }
  const [sh, sw] = pair(op, 'stride', options.stride ?? 1, 1);
  const [ph, pw] = pair(op, 'padding', options.padding ?? 0, 0);
  const [dh, dw] = pair(op, 'dilation', options.dilation ?? 1, 1);
  const [oph, opw] = pair(op, 'outputPadding', options.outputPadding ?? 0, 0);
  if ((oph >= sh && oph >= dh) || (opw >= sw && opw >= dw)) {
    throw new Error(
      `${op}: outputPadding ${JSON.stringify(options.outputPadding)} must be smaller than either stride ` +
        `${JSON.stringify(options.stride ?? 1)} or dilation ${JSON.stringify(options.dilation ?? 1)} ` +
        `(input ${shapeString(x.shape)}, weight ${shapeString(weight.shape)})`,
    );
  }
  const cout = coutG * groups;
  const outH = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const outW = (wi - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(
      `${op}: output size ${outH}×${outW} is below 1 for input ${shapeString(x.shape)}, weight ${shapeString(weight.shape)}, ` +
        `padding ${JSON.stringify(options.padding)}`,
    );
  }
  checkBias(op, bias, cout);
  // The conv whose input gradient this is: it maps [N, Cout, OH, OW] to [N, Cin, H, W].
  const geo: ConvGeometry = {
    batch: n, inChannels: cout, inH: outH, inW: outW, outChannels: cin, outH: h, outW: wi,
    kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw, groups,
  };
  const activation = activationOption(op, options);
  const be = x.backend;
  if (weight.backend !== be) throw new Error(`${op}: input and weight are on different backends`);
  return layerOutput(
    op, [x, weight, bias], activation, [n, cout, outH, outW], 1,
    (epilogue) => be.conv2dInputGrad(x.storageFor(op), weight.storageFor(op), geo, epilogue),
    (g, where) => [
      x.requiresGrad ? new Tensor(be.conv2d(g.storageFor(where), weight.storageFor(where), geo), x.shape) : null,
      weight.requiresGrad ? new Tensor(be.conv2dWeightGrad(g.storageFor(where), x.storageFor(where), geo), weight.shape) : null,
    ],
  );
}
