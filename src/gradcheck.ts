// gradcheck: autograd's gradients against central finite differences, on
// the float64 CPU reference whatever backend is current. The function's
// output is projected onto fixed random weights, so one backward pass tests
// every output's gradient at once: d(Σ w·f(x))/dx versus
// (Σ w·f(x + h) - Σ w·f(x - h)) / 2h, element by element.
import { Tensor, scope } from './tensor';
import { noGrad } from './autograd';
import { CpuBackend } from './backend/cpu';
import { getBackend, withBackend } from './runtime';

export interface GradcheckOptions {
  /** finite-difference step */
  eps?: number;
  atol?: number;
  rtol?: number;
}

export interface GradcheckInputReport {
  index: number;
  shape: number[];
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  inputs: GradcheckInputReport[];
}

/** A fixed, seed-independent sequence in [-1, 1): the projection weights. */
function projectionWeights(n: number): Float64Array {
  const w = new Float64Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    w[i] = (s / 2 ** 32) * 2 - 1;
  }
  return w;
}

export async function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-4;
  const values = await Promise.all(inputs.map((t) => t.toFloat64()));
  const checked = inputs.map((t) => t.requiresGrad);
  if (!checked.some(Boolean)) checked.fill(true);
  const cpu = getBackend('cpu') as CpuBackend;

  // Everything below is synchronous on the CPU, inside one backend switch.
  return withBackend('cpu', () => {
    const leaves = (data: Float64Array[]) =>
      data.map((v, i) => new Tensor(cpu.fromArray(v), inputs[i].shape, checked[i]));
    const projected = (xs: Tensor[]): Tensor => {
      const out = fn(...xs);
      return out.mul(new Tensor(cpu.fromArray(projectionWeights(out.size)), out.shape)).sum();
    };
    const lossAt = (data: Float64Array[]): number =>
      scope(() => noGrad(() => cpu.readSync(projected(leaves(data)).storageFor('gradcheck'))[0]));

    const analytic = scope(() => {
      const xs = leaves(values);
      projected(xs).backward();
      // Leaf grads are kept out of scopes (they outlive backward); free them here.
      return xs.map((x) => {
        const grad = x.grad ? cpu.readSync(x.grad.storageFor('gradcheck')) : null;
        x.grad?.dispose();
        return grad;
      });
    });

    const reports: GradcheckInputReport[] = [];
    values.forEach((v, i) => {
      if (!checked[i]) return;
      const report = { index: i, shape: [...inputs[i].shape], ok: true, maxAbsError: 0, maxRelError: 0 };
      for (let j = 0; j < v.length; j++) {
        const shifted = (delta: number) => values.map((w, k) => (k === i ? Float64Array.from(w, (x, m) => (m === j ? x + delta : x)) : w));
        const numeric = (lossAt(shifted(eps)) - lossAt(shifted(-eps))) / (2 * eps);
        const exact = analytic[i]?.[j] ?? 0;
        const abs = Math.abs(exact - numeric);
        report.maxAbsError = Math.max(report.maxAbsError, abs);
        report.maxRelError = Math.max(report.maxRelError, abs / Math.max(Math.abs(numeric), 1e-12));
        if (!(abs <= atol + rtol * Math.abs(numeric))) report.ok = false;
      }
      reports.push(report);
    });
    return {
      ok: reports.every((r) => r.ok),
      maxAbsError: Math.max(0, ...reports.map((r) => r.maxAbsError)),
      maxRelError: Math.max(0, ...reports.map((r) => r.maxRelError)),
      inputs: reports,
    };
  });
}
