// wg.summary(module, inputShape): a table like torchinfo's. One forward
// pass on zeros (no graph, eval mode so no running statistic moves) records
// each leaf layer's output shape; parameters are counted from the module,
// FLOPs from each layer's shapes, and the activation memory of a training
// step as the float32 outputs autograd keeps for the backward pass.
import { Tensor, scope, shapeString, shapeSize } from '../tensor';
import { noGrad } from '../autograd';
import { zeros } from '../ops/creation';
import { Module } from './module';
import { Linear, Conv2d, ConvTranspose2d, BatchNorm2d, GroupNorm, Flatten, Unflatten } from './layers';

export interface SummaryRow {
  name: string;
  type: string;
  outputShape: number[];
  params: number;
  /** multiply-adds count as 2 */
  flops: number;
  /** float32 bytes of the output, kept for the backward pass */
  activationBytes: number;
}

export interface Summary {
  rows: SummaryRow[];
  inputShape: number[];
  totalParams: number;
  trainableParams: number;
  totalFlops: number;
  paramBytes: number;
  /** outputs kept for backward, the input included */
  activationBytes: number;
  /** parameters + gradients + activations: a training step's footprint before optimizer state */
  trainingBytes: number;
  toString(): string;
}

function layerFlops(module: Module, input: Tensor, output: Tensor): number {
  if (module instanceof Linear) return 2 * (output.size / module.outFeatures) * module.inFeatures * module.outFeatures;
  if (module instanceof Conv2d) {
    const [, cg, kh, kw] = module.weight.shape;
    return 2 * output.size * cg * kh * kw;
  }
  if (module instanceof ConvTranspose2d) {
    const [, coutG, kh, kw] = module.weight.shape;
    return 2 * input.size * coutG * kh * kw;
  }
  if (module instanceof BatchNorm2d || module instanceof GroupNorm) return 4 * output.size; // (x - mean) · invstd · w + b
  if (isView(module)) return 0;
  return output.size; // activations and other elementwise layers
}

/** Layers whose output is a view of their input: no work, nothing new kept. */
function isView(module: Module): boolean {
  return module instanceof Flatten || module instanceof Unflatten;
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

function formatBytes(n: number): string {
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * `extraInputs` go to forward() after the zeros of `inputShape` (a U-Net's
 * timestep features, say); they are not counted as activations.
 */
export function summary(module: Module, inputShape: number[], extraInputs: Tensor[] = []): Summary {
  const rows: SummaryRow[] = [];
  const leaves = module.namedModules().filter(([, m]) => m.children().length === 0);
  const wasTraining = module.namedModules().map(([, m]) => m.training);
  module.eval();
  // Wrap each leaf's forward on the instance for this one pass.
  for (const [name, leaf] of leaves) {
    const original = leaf.forward;
    leaf.forward = (...inputs: Tensor[]) => {
      const output = original.apply(leaf, inputs);
      rows.push({
        name: name || '(root)',
        type: leaf.constructor.name,
        outputShape: [...output.shape],
        params: leaf.namedParameters().reduce((n, [, p]) => n + p.size, 0),
        flops: layerFlops(leaf, inputs[0], output),
        activationBytes: isView(leaf) ? 0 : 4 * output.size,
      });
      return output;
    };
  }
  try {
    scope(() => {
      noGrad(() => module.forward(zeros(inputShape), ...extraInputs));
    });
  } finally {
    for (const [, leaf] of leaves) delete (leaf as { forward?: unknown }).forward;
    module.namedModules().forEach(([, m], i) => (m.training = wasTraining[i]));
  }

  const params = module.parameters();
  const totalParams = params.reduce((n, p) => n + p.size, 0);
  const trainableParams = params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0);
  const totalFlops = rows.reduce((n, r) => n + r.flops, 0);
  const activationBytes = 4 * shapeSize(inputShape) + rows.reduce((n, r) => n + r.activationBytes, 0);
  const paramBytes = 4 * totalParams;
  const result: Summary = {
    rows,
    inputShape: [...inputShape],
    totalParams,
    trainableParams,
    totalFlops,
    paramBytes,
    activationBytes,
    trainingBytes: 2 * 4 * trainableParams + (paramBytes - 4 * trainableParams) + activationBytes,
    toString() {
      const header = ['layer', 'type', 'output shape', 'params', 'FLOPs', 'activations'];
      const body = rows.map((r) => [r.name, r.type, shapeString(r.outputShape), formatCount(r.params), formatCount(r.flops), formatBytes(r.activationBytes)]);
      const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
      const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
      const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
      return [
        `input ${shapeString(inputShape)}`,
        line(header),
        rule,
        ...body.map(line),
        rule,
        `params: ${formatCount(totalParams)} (${formatCount(trainableParams)} trainable, ${formatBytes(paramBytes)})`,
        `FLOPs per forward: ${formatCount(totalFlops)}`,
        `activation memory of a training step: ${formatBytes(activationBytes)}`,
        `params + grads + activations: ${formatBytes(result.trainingBytes)} (optimizer state not included)`,
      ].join('\n');
    },
  };
  return result;
}
