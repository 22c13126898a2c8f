// The activations a layer's kernels can apply to its output (a fused
// batchnorm or groupnorm, a conv's or a linear layer's epilogue), as the
// options of F.batchNorm, F.groupNorm, F.conv2d, F.convTranspose2d and
// F.linear name them; and the output of a layer with an epilogue.
import { Tensor } from '../tensor';
import { isGradEnabled, record } from '../autograd';
import { needsPreActivation, type Activation, type Epilogue, type Storage } from '../backend/backend';

export type ActivationName = Activation['op'];
export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'leakyRelu', 'tanh', 'sigmoid', 'silu'];

/** The backend's form of options.activation (and negativeSlope, leakyRelu's), checked; null for none. */
export function activationOption(op: string, options: { activation?: string; negativeSlope?: number }): Activation | null {
  const { activation, negativeSlope } = options;
  if (activation === undefined) {
    if (negativeSlope !== undefined) throw new Error(`${op}: negativeSlope ${negativeSlope} is given without activation 'leakyRelu'`);
    return null;
  }
  if (!ACTIVATIONS.includes(activation as ActivationName)) {
    throw new Error(`${op}: unknown activation '${activation}'; valid: ${ACTIVATIONS.join(', ')}`);
  }
  if (negativeSlope !== undefined && activation !== 'leakyRelu') {
    throw new Error(`${op}: negativeSlope ${negativeSlope} applies to activation 'leakyRelu', not '${activation}'`);
  }
  if (negativeSlope !== undefined && !Number.isFinite(negativeSlope)) throw new Error(`${op}: negativeSlope must be a finite number, got ${negativeSlope}`);
  return { op: activation as ActivationName, alpha: activation === 'leakyRelu' ? negativeSlope ?? 0.01 : 0 };
}

/** f(y) by the elementwise ops, for the paths that have no fused kernel. */
export function applyActivation(y: Tensor, activation: Activation | null): Tensor {
  if (!activation) return y;
  switch (activation.op) {
    case 'relu': return y.relu();
    case 'leakyRelu': return y.leakyRelu(activation.alpha);
    case 'tanh': return y.tanh();
    case 'sigmoid': return y.sigmoid();
    case 'silu': return y.silu();
  }
}

/** The options that name `activation` (activationOption's inverse); none for null. */
export function activationOptions(activation: Activation | null): { activation?: ActivationName; negativeSlope?: number } {
  if (!activation) return {};
  return activation.op === 'leakyRelu' ? { activation: 'leakyRelu', negativeSlope: activation.alpha } : { activation: activation.op };
}

/**
 * A layer's output of `shape` made by `run`, with the bias (one per index
 * of dim `channelDim`: 1 for a conv's [N, C, H, W], the last for a linear
 * layer's [..., F]) and the activation in the same kernel (an epilogue);
 * `backward` gets the gradient at the layer's own result, before bias and
 * activation, and returns the input's and the weight's. Backward, one
 * kernel takes the activation's derivative and the bias's gradient: from
 * the output, or for silu (a derivative the output does not give) from the
 * pre-activation the forward kernel kept beside it.
 */
export function layerOutput(
  op: string,
  [x, weight, bias]: [Tensor, Tensor, Tensor | null | undefined],
  activation: Activation | null,
  shape: number[],
  channelDim: number,
  run: (epilogue: Epilogue | null) => Storage,
  backward: (gz: Tensor, where: string) => (Tensor | null)[],
): Tensor {
  const be = x.backend;
  if (bias && bias.backend !== be) throw new Error(`${op}: input and bias are on different backends`);
  const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
  // z is kept only where a backward will read it
  const graph = isGradEnabled() && [x, weight, bias].some((t) => t?.requiresGrad);
  const pre = graph && activation && needsPreActivation(activation) ? new Tensor(be.empty(size(shape)), shape) : null;
  const epilogue = bias || activation ? { bias: bias?.storageFor(op) ?? null, activation, pre: pre?.storageFor(op) ?? null } : null;
  const y = new Tensor(run(epilogue), shape);
  const name = [op, ...(bias ? ['bias'] : []), ...(activation ? [activation.op] : [])].join('+');
  const geo = { batch: size(shape.slice(0, channelDim)), channels: shape[channelDim], spatial: size(shape.slice(channelDim + 1)) };
  const out = record(name, y, bias ? [x, weight, bias] : [x, weight], (g) => {
    const where = `${op} backward`;
    if (!epilogue) return backward(g, where);
    // one pass for the activation's derivative and the bias's sums (without an
    // activation, gz is a copy of g: still one dispatch fewer than the gather
    // and reduction a sum over the other dims takes)
    const grads = be.epilogueGrad(y.storageFor(where), g.storageFor(where), geo, activation, pre?.storageFor(where) ?? null);
    const dbias = new Tensor(grads.dbias, [geo.channels]);
    return [...backward(new Tensor(grads.grad, shape), where), ...(bias ? [dbias] : [])];
  });
  return out;
}
