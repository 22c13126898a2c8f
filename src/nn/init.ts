// Weight initializers, as torch.nn.init: each fills a tensor in place from
// the seeded random stream.
import { Tensor } from '../tensor';
import { normalArray, uniformArray } from '../random';

function fill(t: Tensor, values: Float32Array): Tensor {
  const fresh = new Tensor(t.backend.fromArray(values), t.shape);
  t.assign(fresh);
  fresh.dispose();
  return t;
}

/** fan_in and fan_out as PyTorch computes them: dims 1 and 0 times the receptive field. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.rank < 2) throw new Error(`init: fan in/out need a tensor of 2 or more dims, got shape [${t.shape}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

export function uniform(t: Tensor, low = 0, high = 1): Tensor {
  return fill(t, uniformArray(t.size, low, high));
}

export function normal(t: Tensor, mean = 0, std = 1): Tensor {
  return fill(t, normalArray(t.size, mean, std));
}

export function constant(t: Tensor, value: number): Tensor {
  return fill(t, new Float32Array(t.size).fill(value));
}

export const zeros = (t: Tensor) => constant(t, 0);
export const ones = (t: Tensor) => constant(t, 1);

export type Nonlinearity = 'linear' | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid';

/** The gain of torch.nn.init.calculate_gain. */
export function gain(nonlinearity: Nonlinearity, slope = 0.01): number {
  switch (nonlinearity) {
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + slope * slope));
    case 'tanh':
      return 5 / 3;
    default:
      return 1;
  }
}

export interface KaimingOptions {
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}

export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' } = options;
  const fan = mode === 'fanIn' ? fans(t).fanIn : fans(t).fanOut;
  const bound = gain(nonlinearity, a) * Math.sqrt(3 / fan);
  return uniform(t, -bound, bound);
}

export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' } = options;
  const fan = mode === 'fanIn' ? fans(t).fanIn : fans(t).fanOut;
  return normal(t, 0, gain(nonlinearity, a) / Math.sqrt(fan));
}

export function xavierUniform(t: Tensor, gainValue = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gainValue * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound);
}

export function xavierNormal(t: Tensor, gainValue = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal(t, 0, gainValue * Math.sqrt(2 / (fanIn + fanOut)));
}
