// The CPU reference backend: plain loops over Float64Array, one file per op
// family. It is slow on purpose and meant to be obviously correct; the
// WebGPU kernels are checked against it.
//
// This file only moves storages in and out and keeps the memory accounts;
// the arithmetic is in the files it imports.

import type {
  Activation,
  Epilogue,
  Backend,
  BackendMemory,
  BinaryOp,
  ConvGeometry,
  DenoiseStep,
  LossKind,
  MatmulArgs,
  NormGeometry,
  PoolGeometry,
  ReduceOp,
  Storage,
  UnaryOp,
  SgdStep,
  AdamStep,
  Pack,
} from '../backend';
import { checkEpilogue, packOffsets } from '../backend';
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from './conv';
import { binary, unary, unaryGrad } from './elementwise';
import { gather, scatter } from './layout';
import { matmul } from './matmul';
import { batchNorm, batchNormGrad, epilogueGrad, groupNorm, groupNormGrad, normalized } from './norm';
import { avgPool2d, avgPool2dGrad, maxPool2d, maxPool2dGrad } from './pool';
import { reduce } from './reduce';
import { softmax } from './softmax';
import { gaussianKlLogvarGrad, loss, lossGrad } from './loss';
import { denoiseStep } from './denoise';
import { adamStep, adamStepPacked, emaStep, runningStatsStep, sgdStep } from './optim';

const BYTES_PER_ELEMENT = Float64Array.BYTES_PER_ELEMENT;

class CpuStorage implements Storage {
  readonly backend: CpuBackend;
  readonly size: number;
  readonly data: Float64Array;
  released = false;

  constructor(
    backend: CpuBackend,
    data: Float64Array,
    /** the pack it shares memory with (counted once, when the last of its storages goes), or null */
    readonly pack: { refs: number; bytes: number } | null = null,
  ) {
    this.backend = backend;
    this.size = data.length;
    this.data = data;
  }
}

/** Where packs put their slices on the CPU: the same alignment as on a GPU, so both backends lay a pack out alike. */
const PACK_ALIGN = 64;

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  // V8's longest typed array (2^32 elements on 64-bit builds).
  readonly largestStorage = { elements: 2 ** 32, bytesPerElement: BYTES_PER_ELEMENT, limit: 'the longest Float64Array' };

  private bytesInUse = 0;
  private peakBytes = 0;

  fromArray(data: ArrayLike<number>): Storage {
    return this.adopt(Float64Array.from(data));
  }

  empty(size: number): Storage {
    return this.full(size, 0);
  }

  full(size: number, value: number): Storage {
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(`cpu backend: full() needs a size that is a whole number >= 0, got ${size}`);
    }
    return this.adopt(new Float64Array(size).fill(value));
  }

  write(x: Storage, data: Float32Array): void {
    const target = this.dataOf(x);
    if (data.length !== target.length) throw new Error(`cpu backend: write() of ${data.length} values into a storage of ${target.length}`);
    target.set(data);
  }

  // A copy, so that the caller cannot change the storage through it.
  async read(x: Storage): Promise<Float64Array> {
    return this.dataOf(x).slice();
  }

  /** read(), without the promise: the CPU has the numbers at hand (gradcheck uses it). */
  readSync(x: Storage): Float64Array {
    return this.dataOf(x).slice();
  }

  // The array itself is left to the garbage collector; release only keeps
  // the accounts, and catches a storage given back twice.
  release(x: Storage): void {
    const storage = this.own(x);
    if (storage.released) {
      throw new Error('cpu backend: storage released twice');
    }
    storage.released = true;
    if (!storage.pack) this.bytesInUse -= BYTES_PER_ELEMENT * storage.size;
    else if (--storage.pack.refs === 0) this.bytesInUse -= storage.pack.bytes;
  }

  pack(sizes: number[]): Pack {
    const offsets = packOffsets(sizes, PACK_ALIGN);
    const total = offsets.length ? offsets[offsets.length - 1] + sizes[sizes.length - 1] : 0;
    const whole = this.adopt(new Float64Array(total));
    const pack = { refs: 1 + sizes.length, bytes: BYTES_PER_ELEMENT * total };
    const shared = new CpuStorage(this, whole.data, pack);
    const slices = sizes.map((size, i) => new CpuStorage(this, whole.data.subarray(offsets[i], offsets[i] + size), pack));
    return { whole: shared, slices, offsets };
  }

  packedRun(storages: Storage[]): Storage | null {
    const s = storages.map((x) => this.own(x));
    const first = s[0];
    if (!first?.pack) return null;
    const start = (x: CpuStorage) => x.data.byteOffset / BYTES_PER_ELEMENT;
    const at = packOffsets(s.map((x) => x.size), PACK_ALIGN);
    if (!s.every((x, i) => x.pack === first.pack && x.data.buffer === first.data.buffer && start(x) === start(first) + at[i])) return null;
    const last = s[s.length - 1];
    first.pack.refs++;
    return new CpuStorage(this, new Float64Array(first.data.buffer, first.data.byteOffset, start(last) + last.size - start(first)), first.pack);
  }

  copy(target: Storage, source: Storage): void {
    const [t, s] = [this.dataOf(target), this.dataOf(source)];
    if (t.length !== s.length) throw new Error(`cpu backend: copy of ${s.length} values into a storage of ${t.length}`);
    t.set(s);
  }

  memory(): BackendMemory {
    // Nothing is pooled: every storage is a new Float64Array.
    return { bytesInUse: this.bytesInUse, bytesPooled: 0, peakBytes: this.peakBytes };
  }

  unary(op: UnaryOp, x: Storage, alpha: number, beta: number): Storage {
    return this.adopt(unary(op, this.dataOf(x), alpha, beta));
  }

  unaryGrad(op: UnaryOp, x: Storage, g: Storage, alpha: number, beta: number): Storage {
    return this.adopt(unaryGrad(op, this.dataOf(x), this.dataOf(g), alpha, beta));
  }

  binary(op: BinaryOp, a: Storage, aShape: number[], b: Storage, bShape: number[], outShape: number[]): Storage {
    return this.adopt(binary(op, this.dataOf(a), aShape, this.dataOf(b), bShape, outShape));
  }

  gather(x: Storage, shape: number[], strides: number[], offset: number): Storage {
    return this.adopt(gather(this.dataOf(x), shape, strides, offset));
  }

  scatter(x: Storage, shape: number[], dst: Storage, strides: number[], offset: number): void {
    scatter(this.dataOf(x), shape, this.dataOf(dst), strides, offset);
  }

  reduce(op: ReduceOp, x: Storage, rows: number, cols: number): Storage {
    return this.adopt(reduce(op, this.dataOf(x), rows, cols));
  }

  matmul(a: Storage, b: Storage, args: MatmulArgs, epilogue: Epilogue | null = null): Storage {
    return this.adopt(this.withEpilogue(matmul(this.dataOf(a), this.dataOf(b), args), args.n, 1, epilogue));
  }

  softmax(x: Storage, rows: number, cols: number, log: boolean): Storage {
    return this.adopt(softmax(this.dataOf(x), rows, cols, log));
  }

  loss(kind: LossKind, x: Storage, target: Storage | number, divisor: number): Storage {
    return this.adopt(loss(kind, this.dataOf(x), this.targetOf(target), divisor));
  }

  lossGrad(kind: LossKind, x: Storage, target: Storage | number, grad: Storage, divisor: number): Storage {
    return this.adopt(lossGrad(kind, this.dataOf(x), this.targetOf(target), this.dataOf(grad)[0], divisor));
  }

  private targetOf(target: Storage | number): Float64Array | number {
    return typeof target === 'number' ? target : this.dataOf(target);
  }

  gaussianKlGrad(mean: Storage, logvar: Storage, grad: Storage, divisor: number): { mean: Storage; logvar: Storage } {
    const g = this.dataOf(grad)[0];
    return {
      mean: this.adopt(lossGrad('gaussianKl', this.dataOf(mean), this.dataOf(logvar), g, divisor)),
      logvar: this.adopt(gaussianKlLogvarGrad(this.dataOf(logvar), g, divisor)),
    };
  }

  denoiseStep(xt: Storage, eps: Storage, noise: Storage | null, step: DenoiseStep): { prev: Storage; x0: Storage } {
    const { prev, x0 } = denoiseStep(this.dataOf(xt), this.dataOf(eps), noise ? this.dataOf(noise) : null, step);
    return { prev: this.adopt(prev), x0: this.adopt(x0) };
  }

  sgdStep(param: Storage, grad: Storage, momentum: Storage | null, args: SgdStep): void {
    sgdStep(this.dataOf(param), this.dataOf(grad), momentum ? this.dataOf(momentum) : null, args);
  }

  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, step: Storage, stepOut: Storage, args: AdamStep): void {
    const t = this.dataOf(step)[0] + 1;
    adamStep(this.dataOf(param), this.dataOf(grad), this.dataOf(m), this.dataOf(v), t, args);
    this.dataOf(stepOut)[0] = t;
  }

  emaStep(average: Storage, source: Storage, decay: number, scale = 1): void {
    emaStep(this.dataOf(average), this.dataOf(source), decay, scale);
  }

  adamStepPacked(param: Storage, grad: Storage, m: Storage, v: Storage, steps: Storage, stepsOut: Storage, segment: Storage, args: AdamStep): void {
    adamStepPacked(
      this.dataOf(param), this.dataOf(grad), this.dataOf(m), this.dataOf(v), this.dataOf(steps), this.dataOf(stepsOut), this.dataOf(segment), args,
    );
  }

  runningStatsStep(runningMean: Storage, runningVar: Storage, tracked: Storage, mean: Storage, variance: Storage, momentum: number, unbias: number): void {
    runningStatsStep(this.dataOf(runningMean), this.dataOf(runningVar), this.dataOf(tracked), this.dataOf(mean), this.dataOf(variance), momentum, unbias);
  }

  conv2d(x: Storage, w: Storage, geo: ConvGeometry, epilogue: Epilogue | null = null): Storage {
    const y = conv2d(this.dataOf(x), this.dataOf(w), geo);
    return this.adopt(this.withEpilogue(y, geo.outChannels, geo.outH * geo.outW, epilogue));
  }

  conv2dInputGrad(dy: Storage, w: Storage, geo: ConvGeometry, epilogue: Epilogue | null = null): Storage {
    const dx = conv2dInputGrad(this.dataOf(dy), this.dataOf(w), geo);
    return this.adopt(this.withEpilogue(dx, geo.inChannels, geo.inH * geo.inW, epilogue));
  }

  // An epilogue as separate steps: the bias added per channel, z kept where asked, then the elementwise activation.
  private withEpilogue(y: Float64Array, channels: number, spatial: number, epilogue: Epilogue | null): Float64Array {
    if (!epilogue) return y;
    checkEpilogue('cpu epilogue', epilogue, y.length);
    if (epilogue.bias) {
      const bias = this.dataOf(epilogue.bias);
      for (let i = 0; i < y.length; i++) y[i] += bias[Math.floor(i / spatial) % channels]!;
    }
    if (epilogue.pre) this.dataOf(epilogue.pre).set(y);
    return epilogue.activation ? unary(epilogue.activation.op, y, epilogue.activation.alpha, 0) : y;
  }

  epilogueGrad(y: Storage, dy: Storage, geo: NormGeometry, activation: Activation | null, pre: Storage | null = null): { grad: Storage; dbias: Storage } {
    const { grad, dbias } = epilogueGrad(this.dataOf(y), this.dataOf(dy), geo, activation, pre ? this.dataOf(pre) : null);
    return { grad: this.adopt(grad), dbias: this.adopt(dbias) };
  }

  conv2dWeightGrad(x: Storage, dy: Storage, geo: ConvGeometry): Storage {
    return this.adopt(conv2dWeightGrad(this.dataOf(x), this.dataOf(dy), geo));
  }

  maxPool2d(x: Storage, geo: PoolGeometry): { out: Storage; argmax: Storage } {
    const { out, argmax } = maxPool2d(this.dataOf(x), geo);
    return { out: this.adopt(out), argmax: this.adopt(argmax) };
  }

  maxPool2dGrad(dy: Storage, argmax: Storage, geo: PoolGeometry): Storage {
    return this.adopt(maxPool2dGrad(this.dataOf(dy), this.dataOf(argmax), geo));
  }

  avgPool2d(x: Storage, geo: PoolGeometry): Storage {
    return this.adopt(avgPool2d(this.dataOf(x), geo));
  }

  avgPool2dGrad(dy: Storage, geo: PoolGeometry): Storage {
    return this.adopt(avgPool2dGrad(this.dataOf(dy), geo));
  }

  // With an activation: batchnorm, then the activation (and backward its
  // derivative at the pre-activation, recomputed) as separate steps, the
  // composition a fused GPU kernel is checked against.
  batchNorm(
    x: Storage,
    weight: Storage | null,
    bias: Storage | null,
    geo: NormGeometry,
    eps: number,
    activation: Activation | null = null,
  ): { out: Storage; mean: Storage; var: Storage } {
    return this.activated(batchNorm(this.dataOf(x), this.perChannel(weight, geo, 1), this.perChannel(bias, geo, 0), geo, eps), activation);
  }

  batchNormEval(
    x: Storage, mean: Storage, variance: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, eps: number,
    activation: Activation | null,
  ): Storage {
    const C = geo.channels;
    const z = normalized(
      this.dataOf(x), this.dataOf(mean), this.dataOf(variance),
      weight ? this.dataOf(weight) : new Float64Array(C).fill(1), bias ? this.dataOf(bias) : new Float64Array(C), geo, eps,
    );
    return this.adopt(activation ? unary(activation.op, z, activation.alpha, 0) : z);
  }

  batchNormGrad(
    dy: Storage,
    x: Storage,
    mean: Storage,
    variance: Storage,
    weight: Storage | null,
    geo: NormGeometry,
    eps: number,
    activation: Activation | null = null,
    bias: Storage | null = null,
  ): { dx: Storage; dweight: Storage; dbias: Storage } {
    const w = this.perChannel(weight, geo, 1);
    let g = this.dataOf(dy);
    if (activation) {
      const z = normalized(this.dataOf(x), this.dataOf(mean), this.dataOf(variance), w, this.perChannel(bias, geo, 0), geo, eps);
      g = unaryGrad(activation.op, z, g, activation.alpha, 0);
    }
    const { dx, dweight, dbias } = batchNormGrad(g, this.dataOf(x), this.dataOf(mean), this.dataOf(variance), w, geo, eps);
    return { dx: this.adopt(dx), dweight: this.adopt(dweight), dbias: this.adopt(dbias) };
  }

  groupNorm(
    x: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, groups: number, eps: number, activation: Activation | null = null,
  ): { out: Storage; mean: Storage; var: Storage } {
    return this.activated(groupNorm(this.dataOf(x), this.perChannel(weight, geo, 1), this.perChannel(bias, geo, 0), geo, groups, eps), activation);
  }

  groupNormGrad(
    dy: Storage, x: Storage, mean: Storage, variance: Storage, weight: Storage | null, bias: Storage | null,
    geo: NormGeometry, groups: number, eps: number, activation: Activation | null = null,
  ): { dx: Storage; dweight: Storage; dbias: Storage } {
    const w = this.perChannel(weight, geo, 1);
    let g = this.dataOf(dy);
    if (activation) {
      const z = groupNorm(this.dataOf(x), w, this.perChannel(bias, geo, 0), geo, groups, eps).out;
      g = unaryGrad(activation.op, z, g, activation.alpha, 0);
    }
    const { dx, dweight, dbias } = groupNormGrad(g, this.dataOf(x), this.dataOf(mean), this.dataOf(variance), w, geo, groups, eps);
    return { dx: this.adopt(dx), dweight: this.adopt(dweight), dbias: this.adopt(dbias) };
  }

  /** A normalization's result as storages, its output through `activation` (a separate step). */
  private activated(result: { out: Float64Array; mean: Float64Array; var: Float64Array }, activation: Activation | null) {
    const out = activation ? unary(activation.op, result.out, activation.alpha, 0) : result.out;
    return { out: this.adopt(out), mean: this.adopt(result.mean), var: this.adopt(result.var) };
  }

  /** A per-channel vector's values, or `fill` in every channel where there is none. */
  private perChannel(v: Storage | null, geo: NormGeometry, fill: number): Float64Array {
    return v ? this.dataOf(v) : new Float64Array(geo.channels).fill(fill);
  }

  // Wrap a freshly made array as a storage the caller owns, and count it.
  private adopt(data: Float64Array): CpuStorage {
    this.bytesInUse += BYTES_PER_ELEMENT * data.length;
    this.peakBytes = Math.max(this.peakBytes, this.bytesInUse);
    return new CpuStorage(this, data);
  }

  // The storage as this backend's own type; anything else is a caller's bug.
  private own(x: Storage): CpuStorage {
    if (!(x instanceof CpuStorage) || x.backend !== this) {
      throw new Error('cpu backend: storage belongs to another backend');
    }
    return x;
  }

  // The numbers of a live storage. Reading one already released is a
  // use-after-free on the GPU, so the reference refuses it too.
  private dataOf(x: Storage): Float64Array {
    const storage = this.own(x);
    if (storage.released) {
      throw new Error('cpu backend: storage used after release');
    }
    return storage.data;
  }
}
