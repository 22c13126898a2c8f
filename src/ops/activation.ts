// The activations a layer's kernels can apply to its output (a fused
// batchnorm or groupnorm, a conv's epilogue), as the options of F.batchNorm,
// F.groupNorm, F.conv2d and F.convTranspose2d name them.
import type { Tensor } from '../tensor';
import type { Activation } from '../backend/backend';

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
