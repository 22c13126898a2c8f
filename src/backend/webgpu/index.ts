// The WebGPU backend: every Backend call becomes one or two dispatches of a
// kernel in shaders/, recorded into the context's command encoder. Storages
// are float32 buffers from the pool.
import type {
  Activation, AdamStep, Backend, Epilogue, BackendMemory, BinaryOp, ConvGeometry, DenoiseStep, LossKind, MatmulArgs, NormGeometry, Pack, PoolGeometry, ReduceOp, SgdStep, Storage,
  UnaryOp,
} from '../backend';
import { checkDenoise, checkEpilogue, checkLossTarget, needsPreActivation, packOffsets } from '../backend';
import { convCandidates, planConv, tableConvChoice, type AdapterKind, type ConvChoice, type ConvMode } from './conv';
import { GpuContext, gridFor, threadsToCover } from './context';
import type { Overrides } from './pipelines';
import { requestGpu, softwareAdapter, type GpuProvider } from './device';
import { ReadPacer } from './read-pacer';
import { shaderConstant } from './shaders';
import { Tuner, sameChoice, type TuneChoice, type TuneJob } from './tune';
import { checkStorageFits, contiguousStrides, shapeSize, type StorageLimit } from '../../shape';

const MAX_RANK = 8; // the uniforms hold shapes and strides of up to 8 dims (array<vec4u, 2>)

export class GpuStorage implements Storage {
  released = false;
  constructor(
    readonly backend: WebGpuBackend,
    readonly size: number,
    readonly buffer: GPUBuffer,
    /** where it starts in `buffer`, in elements: 0 but for a slice of a pack */
    readonly offset = 0,
    /** the pack it belongs to (its buffer goes back to the pool with the last of its storages), or null */
    readonly pack: { refs: number } | null = null,
  ) {}
}

function checkRank(op: string, shape: number[]): void {
  if (shape.length > MAX_RANK) {
    throw new Error(`${op}: rank ${shape.length} (shape [${shape}]) is more than the ${MAX_RANK} dims the GPU kernels take`);
  }
}

/** The override ACT of shaders/parts/activation.wgsl: which activation a fused kernel applies (0 none). */
const ACTIVATION_NUMBER: Record<Activation['op'], number> = { relu: 1, leakyRelu: 2, tanh: 3, sigmoid: 4, silu: 5 };

/** loss.wgsl's LOSS override for each kind. */
const LOSS_NUMBERS: Record<LossKind, number> = { bce: 0, mse: 1, hinge: 2, gaussianKl: 3, linear: 4 };

function activationNumber(activation: Activation | null): number {
  return activation ? ACTIVATION_NUMBER[activation.op] : 0;
}

/** Rows up to this long are reduced by one thread each: a loop of ≤ 1024 adds is short on any GPU. */
const SHORT_ROW = 1024;

/** matmul_direct's workgroup and register block (4·RV rows × 4·CV columns a thread), a CPU adapter's table. */
const MATMUL_DIRECT = { WG_X: 4, WG_Y: 8, RV: 2, CV: 2 };

/**
 * The matmul candidates: the table's workgroup, square and lopsided ones, a
 * shorter k step, and matmul_direct's register blocks (8 × 8, 8 × 4, 4 × 8).
 */
function matmulCandidates(table: TuneChoice): TuneChoice[] {
  const shapes = [[16, 16], [8, 8], [16, 8], [8, 16], [16, 4], [4, 16]];
  const slabs = table.TILE_K === undefined ? shaderConstant('matmul', 'TILE_K') : table.TILE_K;
  return uniqueChoices([
    table,
    ...shapes.map(([x, y]) => ({ WG_X: x, WG_Y: y, TILE_K: slabs })),
    { WG_X: table.WG_X, WG_Y: table.WG_Y, TILE_K: 8 },
    { ...MATMUL_DIRECT },
    { WG_X: 4, WG_Y: 16, RV: 2, CV: 1 },
    { WG_X: 8, WG_Y: 4, RV: 1, CV: 2 },
  ]);
}

function uniqueChoices(choices: TuneChoice[]): TuneChoice[] {
  return choices.filter((choice, i) => choices.findIndex((other) => sameChoice(other, choice)) === i);
}

/** A conv's shape as the tuning cache names it. */
function convShape(geo: ConvGeometry): string {
  return `b${geo.batch} ${geo.inChannels}→${geo.outChannels} ${geo.inH}×${geo.inW}→${geo.outH}×${geo.outW} ` +
    `k${geo.kernelH}×${geo.kernelW} s${geo.strideH}×${geo.strideW} p${geo.padH}×${geo.padW} d${geo.dilationH}×${geo.dilationW} g${geo.groups}`;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly largestStorage: StorageLimit;
  /** Picks tuned configurations for conv, matmul, batchnorm and the reductions (tune.ts); off until configured. */
  readonly tuner: Tuner;

  /** A GPU, or a CPU adapter (software: SwiftShader, llvmpipe, WARP), for the tile tables. */
  readonly adapterKind: AdapterKind;

  constructor(readonly ctx: GpuContext, readonly limits: 'adapter' | 'default' = 'adapter') {
    const { vendor, architecture, device, description } = ctx.adapterInfo;
    this.tuner = new Tuner(this, [vendor, architecture, device, description].join(' | '));
    this.adapterKind = softwareAdapter(ctx.adapterInfo) ? 'cpu' : 'gpu';
    // A storage is bound whole, so the binding limit counts as well as the buffer's.
    const { maxBufferSize, maxStorageBufferBindingSize } = ctx.device.limits;
    const [bytes, name] = maxStorageBufferBindingSize <= maxBufferSize
      ? [maxStorageBufferBindingSize, 'maxStorageBufferBindingSize'] : [maxBufferSize, 'maxBufferSize'];
    this.largestStorage = { elements: Math.floor(bytes / 4), bytesPerElement: 4, limit: `this adapter's ${name}` };
  }

  /** 'default' limits: WebGPU's defaults, not the adapter's own, as the weakest adapter would give. */
  static async create(limits: 'adapter' | 'default' = 'adapter', provider?: GpuProvider): Promise<WebGpuBackend> {
    const { gpu, adapter, device } = await requestGpu(limits, provider);
    const pacer = provider?.pollsWhileWaiting && softwareAdapter(adapter.info) ? new ReadPacer() : null;
    const backend = new WebGpuBackend(new GpuContext(gpu, device, adapter.info, pacer), limits);
    backend.subgroups = await backend.subgroupsUsable();
    return backend;
  }

  /**
   * Whether the reductions, softmax and batchnorm run their *_subgroups.wgsl
   * kernels: where the device has 'subgroups' and lays a workgroup's
   * subgroups out as consecutive invocations (checked once, below). Tests
   * turn it off to check the workgroup-memory kernels on the same device.
   */
  subgroups = false;

  private async subgroupsUsable(): Promise<boolean> {
    if (!this.ctx.device.features.has('subgroups')) return false;
    const threads = shaderConstant('reduce_subgroups', 'WG');
    const out = this.alloc(threads);
    this.ctx.dispatch({
      shader: 'reduce_subgroups', entry: 'subgroup_layout', params: { rows: 1, cols: threads },
      buffers: { out: out.buffer }, groups: [1, 1, 1],
    });
    const misplaced = await this.ctx.read(out.buffer, threads);
    this.release(out);
    return misplaced.every((v) => v === 0);
  }

  /** The shader of a reduction-like kernel: its subgroup version where that is in use. */
  private withSubgroups(shader: 'reduce' | 'softmax' | 'batchnorm'): string {
    return this.subgroups ? `${shader}_subgroups` : shader;
  }

  private own(x: Storage): GpuStorage {
    const s = x as GpuStorage;
    if (s.backend !== this) throw new Error('webgpu: storage belongs to another backend');
    if (s.released) throw new Error('webgpu: storage used after release');
    return s;
  }

  /** What a dispatch binds for `x`: its buffer, or for a slice of a pack that range of the pack's buffer. */
  private buf(x: Storage): GPUBuffer | GPUBufferBinding {
    const s = this.own(x);
    return s.offset === 0 ? s.buffer : { buffer: s.buffer, offset: s.offset * 4, size: Math.max(4, s.size * 4) };
  }

  // Ops whose output shape is known check it first (checkStorageFits); this
  // is the backstop for the rest, before any buffer exists.
  private alloc(size: number): GpuStorage {
    this.ctx.check();
    checkStorageFits('webgpu: an op\'s output', [size], this.largestStorage);
    return new GpuStorage(this, size, this.ctx.pool.acquire(Math.max(4, size * 4)));
  }

  fromArray(data: ArrayLike<number>): Storage {
    checkStorageFits('webgpu: an upload', [data.length], this.largestStorage);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    return new GpuStorage(this, f32.length, this.ctx.upload(f32));
  }

  empty(size: number): Storage {
    return this.alloc(size);
  }

  full(size: number, value: number): Storage {
    const out = this.alloc(size);
    if (size > 0) {
      this.ctx.dispatch({
        shader: 'fill', entry: 'fill', params: { n: size, value },
        buffers: { out: out.buffer }, groups: gridFor(size, shaderConstant('fill', 'WG')),
      });
    }
    return out;
  }

  write(x: Storage, data: Float32Array): void {
    if (data.length !== x.size) throw new Error(`webgpu: write() of ${data.length} values into a storage of ${x.size}`);
    const s = this.own(x);
    if (data.length > 0) this.ctx.write(s.buffer, data, s.offset * 4);
  }

  async read(x: Storage): Promise<Float32Array> {
    // Shapes met since the last readback with no tuned choice (mode 'on') are tuned here, the first await after them.
    if (this.tuner.pendingCount > 0) await this.tuner.tunePending();
    const s = this.own(x);
    return this.ctx.read(s.buffer, x.size, s.offset * 4);
  }

  /** For the tuner: milliseconds of GPU time the dispatches `record` makes take. */
  timeDispatches(record: () => void): Promise<number> {
    return this.ctx.timeDispatches(record);
  }

  release(x: Storage): void {
    const s = x as GpuStorage;
    if (s.released) throw new Error('webgpu: storage released twice');
    s.released = true;
    if (!s.pack || --s.pack.refs === 0) this.ctx.pool.release(s.buffer);
  }

  pack(sizes: number[]): Pack {
    const at = packOffsets(sizes, this.ctx.device.limits.minStorageBufferOffsetAlignment / 4);
    const total = at.length ? at[at.length - 1] + sizes[sizes.length - 1] : 0;
    checkStorageFits('webgpu: a pack', [total], this.largestStorage);
    const whole = this.full(total, 0) as GpuStorage;
    const pack = { refs: 1 + sizes.length };
    const packed = new GpuStorage(this, total, whole.buffer, 0, pack);
    const slices = sizes.map((size, i) => new GpuStorage(this, size, whole.buffer, at[i], pack));
    return { whole: packed, slices, offsets: at };
  }

  packedRun(storages: Storage[]): Storage | null {
    const s = storages.map((x) => this.own(x));
    const first = s[0];
    if (!first?.pack) return null;
    const at = packOffsets(s.map((x) => x.size), this.ctx.device.limits.minStorageBufferOffsetAlignment / 4);
    if (!s.every((x, i) => x.pack === first.pack && x.offset === first.offset + at[i])) return null;
    const last = s[s.length - 1];
    first.pack.refs++;
    return new GpuStorage(this, last.offset + last.size - first.offset, first.buffer, first.offset, first.pack);
  }

  /** One storage holding `parts` one after another, by buffer copies (no dispatch). */
  private concatenated(parts: Storage[]): Storage {
    const out = this.alloc(parts.reduce((n, part) => n + part.size, 0));
    let at = out.offset;
    for (const part of parts.map((x) => this.own(x))) {
      this.ctx.copy(part.buffer, part.offset * 4, out.buffer, at * 4, part.size * 4);
      at += part.size;
    }
    return out;
  }

  copy(target: Storage, source: Storage): void {
    const [t, s] = [this.own(target), this.own(source)];
    if (t.size !== s.size) throw new Error(`webgpu: copy of ${s.size} values into a storage of ${t.size}`);
    this.ctx.copy(s.buffer, s.offset * 4, t.buffer, t.offset * 4, s.size * 4);
  }

  memory(): BackendMemory {
    const { bytesInUse, bytesPooled, peakBytes } = this.ctx.pool;
    return { bytesInUse, bytesPooled, peakBytes, bindGroups: this.ctx.bindGroups.created, buffersCreated: this.ctx.buffersCreated };
  }

  unary(op: UnaryOp, x: Storage, alpha: number, beta: number): Storage {
    const out = this.alloc(x.size);
    if (x.size > 0) {
      this.ctx.dispatch({
        shader: 'elementwise', entry: `unary_${op}`, params: { n: x.size, alpha, beta },
        buffers: { a: this.buf(x), out: out.buffer }, groups: gridFor(x.size, shaderConstant('elementwise', 'WG')),
      });
    }
    return out;
  }

  unaryGrad(op: UnaryOp, x: Storage, g: Storage, alpha: number, beta: number): Storage {
    const out = this.alloc(x.size);
    if (x.size > 0) {
      this.ctx.dispatch({
        shader: 'elementwise', entry: `grad_${op}`, params: { n: x.size, alpha, beta },
        buffers: { a: this.buf(x), b: this.buf(g), out: out.buffer }, groups: gridFor(x.size, shaderConstant('elementwise', 'WG')),
      });
    }
    return out;
  }

  binary(op: BinaryOp, a: Storage, aShape: number[], b: Storage, bShape: number[], outShape: number[]): Storage {
    checkRank(op, outShape);
    const n = shapeSize(outShape);
    const out = this.alloc(n);
    if (n > 0) {
      // A broadcast dim (size 1 against a larger output dim) reads with stride 0.
      const strides = (shape: number[]) =>
        contiguousStrides(shape).map((s, d) => (shape[d] === 1 && outShape[d] !== 1 ? 0 : s));
      this.ctx.dispatch({
        shader: 'elementwise', entry: `binary_${op}`,
        params: { n, rank: outShape.length, out_shape: outShape, a_strides: strides(aShape), b_strides: strides(bShape) },
        buffers: { a: this.buf(a), b: this.buf(b), out: out.buffer }, groups: gridFor(n, shaderConstant('elementwise', 'WG')),
      });
    }
    return out;
  }

  gather(x: Storage, shape: number[], strides: number[], offset: number): Storage {
    checkRank('gather', shape);
    const n = shapeSize(shape);
    const out = this.alloc(n);
    if (n > 0) {
      this.ctx.dispatch({
        shader: 'layout', entry: 'gather', params: { n, rank: shape.length, offset, shape, strides },
        buffers: { src: this.buf(x), dst: out.buffer }, groups: gridFor(n, shaderConstant('layout', 'WG')),
      });
    }
    return out;
  }

  scatter(x: Storage, shape: number[], dst: Storage, strides: number[], offset: number): void {
    checkRank('scatter', shape);
    const n = shapeSize(shape);
    if (n === 0) return;
    this.ctx.dispatch({
      shader: 'layout', entry: 'scatter', params: { n, rank: shape.length, offset, shape, strides },
      buffers: { src: this.buf(x), dst: this.buf(dst) }, groups: gridFor(n, shaderConstant('layout', 'WG')),
    });
  }

  reduce(op: ReduceOp, x: Storage, rows: number, cols: number, force?: TuneChoice): Storage {
    const out = this.alloc(rows);
    if (rows > 0) {
      // A thread per row while rows are short (shaders/reduce.wgsl says why), a workgroup per row past that.
      const table: TuneChoice = { perRow: cols <= SHORT_ROW ? 'thread' : 'workgroup', WG: shaderConstant('reduce', 'WG') };
      const choice = force ?? this.tuner.choose(`reduce.${op}`, `${rows}×${cols}`, () => ({
        kernel: `reduce.${op}`, shape: `${rows}×${cols}`, inputs: [rows * cols],
        candidates: uniqueChoices([table, { perRow: 'thread', WG: 64 }, { perRow: 'workgroup', WG: 64 }, { perRow: 'workgroup', WG: 256 }]),
        run: ([input], c) => this.reduce(op, input, rows, cols, c),
      })) ?? table;
      const short = choice.perRow === 'thread';
      const threads = Number(choice.WG);
      const entry = short ? `${op}_short` : op === 'sum' ? 'sum' : `${op}_op`;
      this.ctx.dispatch({
        shader: short ? 'reduce' : this.withSubgroups('reduce'), entry, params: { rows, cols }, overrides: { WG: threads },
        buffers: { x: this.buf(x), out: out.buffer }, groups: gridFor(rows, short ? threads : 1),
      });
    }
    return out;
  }

  matmul(a: Storage, b: Storage, args: MatmulArgs, epilogue: Epilogue | null = null, force?: TuneChoice): Storage {
    const { batch, m, n, k } = args;
    checkEpilogue('matmul', epilogue, batch * m * n);
    const out = this.alloc(batch * m * n);
    if (batch * m * n === 0) return out;
    if (k === 0 && !epilogue) {
      this.release(out);
      return this.full(batch * m * n, 0);
    }
    // A small output gets a workgroup no larger than it: an 8 × 32 output in the default 64 × 64
    // tile would leave 15 of 16 threads multiplying zeros. A CPU adapter runs matmul_direct
    // (register blocks of 8 × 8, no workgroup memory; matmul.wgsl says why).
    const [tn, tm] = [shaderConstant('matmul', 'TN'), shaderConstant('matmul', 'TM')];
    const table: TuneChoice = this.adapterKind === 'cpu'
      ? { WG_X: threadsToCover(n, MATMUL_DIRECT.WG_X, tn * MATMUL_DIRECT.CV), WG_Y: threadsToCover(m, MATMUL_DIRECT.WG_Y, tm * MATMUL_DIRECT.RV), RV: MATMUL_DIRECT.RV, CV: MATMUL_DIRECT.CV }
      : {
        WG_X: threadsToCover(n, shaderConstant('matmul', 'WG_X'), tn),
        WG_Y: threadsToCover(m, shaderConstant('matmul', 'WG_Y'), tm),
        TILE_K: shaderConstant('matmul', 'TILE_K'),
      };
    const shape = `b${batch} ${m}×${k}${args.transA ? 'ᵀ' : ''} · ${k}×${n}${args.transB ? 'ᵀ' : ''} strides ${args.aBatchStride},${args.bBatchStride}`;
    const choice = force ?? this.tuner.choose('matmul', shape, () => ({
      kernel: 'matmul', shape,
      inputs: [a.size, b.size],
      candidates: matmulCandidates(table),
      run: ([ta, tb], c) => this.matmul(ta, tb, args, null, c),
    })) ?? table;
    const [wgX, wgY] = [Number(choice.WG_X), Number(choice.WG_Y)];
    const direct = choice.RV !== undefined;
    const [rows, cols] = direct ? [tm * Number(choice.RV), tn * Number(choice.CV)] : [tm, tn];
    const fused = this.epilogueOverrides(epilogue);
    const overrides: Overrides = direct
      ? { TRANS_A: args.transA, TRANS_B: args.transB, WG_X: wgX, WG_Y: wgY, RV: Number(choice.RV), CV: Number(choice.CV), ...fused }
      : { TRANS_A: args.transA, TRANS_B: args.transB, WG_X: wgX, WG_Y: wgY, TILE_K: Number(choice.TILE_K), ...fused };
    // A grid longer than one dispatch takes along an axis (65535 by default) runs as several, each told its first blocks.
    const grid = [Math.ceil(n / (wgX * cols)), Math.ceil(m / (wgY * rows)), batch];
    const most = this.ctx.maxGroupsPerAxis;
    for (let z = 0; z < grid[2]; z += most) {
      for (let y = 0; y < grid[1]; y += most) {
        for (let x = 0; x < grid[0]; x += most) {
          this.ctx.dispatch({
            shader: 'matmul', entry: direct ? 'matmul_direct' : 'matmul', overrides,
            params: { m, n, k, a_batch_stride: args.aBatchStride, b_batch_stride: args.bBatchStride, block_offset: [x, y, z], alpha: epilogue?.activation?.alpha ?? 0 },
            buffers: { a: this.buf(a), b: this.buf(b), out: out.buffer, ...this.epilogueBuffers(epilogue, a) },
            groups: [Math.min(most, grid[0] - x), Math.min(most, grid[1] - y), Math.min(most, grid[2] - z)],
          });
        }
      }
    }
    return out;
  }

  /** The one-thread-per-output yardstick of the benchmarks (not used by ops). */
  matmulNaive(a: Storage, b: Storage, m: number, n: number, k: number): Storage {
    const out = this.alloc(m * n);
    this.ctx.dispatch({
      shader: 'matmul_naive', entry: 'matmul_naive', params: { m, n, k },
      buffers: { a: this.buf(a), b: this.buf(b), out: out.buffer },
      groups: [Math.ceil(n / shaderConstant('matmul_naive', 'WG_X')), Math.ceil(m / shaderConstant('matmul_naive', 'WG_Y')), 1],
    });
    return out;
  }

  softmax(x: Storage, rows: number, cols: number, log: boolean): Storage {
    const out = this.alloc(rows * cols);
    if (rows * cols > 0) {
      this.ctx.dispatch({
        shader: this.withSubgroups('softmax'), entry: log ? 'log_softmax' : 'softmax', params: { rows, cols },
        buffers: { x: this.buf(x), out: out.buffer }, groups: gridFor(rows, 1),
      });
    }
    return out;
  }

  /** shaders/loss.wgsl: one workgroup folds the n terms. */
  loss(kind: LossKind, x: Storage, target: Storage | number, divisor: number): Storage {
    const out = this.alloc(1);
    this.ctx.dispatch({
      shader: 'loss', entry: 'loss', overrides: { LOSS: LOSS_NUMBERS[kind] }, params: this.lossParams(x, target, divisor),
      buffers: { x: this.buf(x), t: this.target(x, target), out: out.buffer }, groups: [1, 1, 1],
    });
    return out;
  }

  lossGrad(kind: LossKind, x: Storage, target: Storage | number, grad: Storage, divisor: number): Storage {
    const out = this.alloc(x.size);
    this.ctx.dispatch({
      shader: 'loss', entry: 'loss_grad', overrides: { LOSS: LOSS_NUMBERS[kind] }, params: this.lossParams(x, target, divisor),
      buffers: { x: this.buf(x), t: this.target(x, target), g: this.buf(grad), out: out.buffer },
      groups: gridFor(x.size, shaderConstant('loss', 'WG'), this.ctx.maxGroupsPerAxis),
    });
    return out;
  }

  gaussianKlGrad(mean: Storage, logvar: Storage, grad: Storage, divisor: number): { mean: Storage; logvar: Storage } {
    const [dmean, dlogvar] = [this.alloc(mean.size), this.alloc(mean.size)];
    this.ctx.dispatch({
      shader: 'loss', entry: 'kl_grad', params: this.lossParams(mean, logvar, divisor),
      buffers: { x: this.buf(mean), t: this.buf(logvar), g: this.buf(grad), out: dmean.buffer, out2: dlogvar.buffer },
      groups: gridFor(mean.size, shaderConstant('loss', 'WG'), this.ctx.maxGroupsPerAxis),
    });
    return { mean: dmean, logvar: dlogvar };
  }

  /** shaders/denoise.wgsl: the guidance, x̂_0 and the update, one thread an element. */
  denoiseStep(xt: Storage, eps: Storage, noise: Storage | null, step: DenoiseStep): { prev: Storage; x0: Storage } {
    const n = xt.size;
    checkDenoise(n, eps.size, noise?.size ?? null, step);
    const [prev, x0] = [this.alloc(n), this.alloc(n)];
    this.ctx.dispatch({
      shader: 'denoise', entry: 'denoise_step', overrides: { GUIDED: step.guidance !== null },
      params: {
        n, guidance: step.guidance ?? 1, noise_level: step.noiseLevel, signal_inverse: step.signalInverse,
        x0_coef: step.x0Coef, xt_coef: step.xtCoef, noise_coef: step.noiseCoef,
      },
      // without noise the kernel reads none: xt stands in for the binding
      buffers: { xt: this.buf(xt), eps: this.buf(eps), noise: this.buf(noise ?? xt), prev: prev.buffer, x0: x0.buffer },
      groups: gridFor(n, shaderConstant('denoise', 'WG'), this.ctx.maxGroupsPerAxis),
    });
    return { prev, x0 };
  }

  private lossParams(x: Storage, target: Storage | number, divisor: number) {
    checkLossTarget(x.size, target);
    return { n: x.size, scalar: Number(typeof target === 'number'), value: typeof target === 'number' ? target : 0, divisor };
  }

  /** A loss's target binding: its buffer, or for a number (a uniform) x standing in. */
  private target(x: Storage, target: Storage | number): GPUBuffer | GPUBufferBinding {
    return this.buf(typeof target === 'number' ? x : target);
  }


  /** The overrides of a layer kernel's epilogue (conv2d.wgsl, matmul.wgsl). */
  private epilogueOverrides(epilogue: Epilogue | null): Overrides {
    return { BIAS: epilogue?.bias != null, PRE: epilogue?.pre != null, ACT: activationNumber(epilogue?.activation ?? null) };
  }

  /** Its bindings: without a bias the kernel reads none (`readable` stands in), without pre it writes none (unwritten stands in). */
  private epilogueBuffers(epilogue: Epilogue | null, readable: Storage): { bias: GPUBuffer | GPUBufferBinding; pre: GPUBuffer | GPUBufferBinding } {
    return { bias: this.buf(epilogue?.bias ?? readable), pre: epilogue?.pre ? this.buf(epilogue.pre) : this.ctx.unwritten };
  }

  // ---- convolution: shaders/conv2d.wgsl, one mode per GEMM (see conv.ts)

  /** One conv kernel, as the tuner or the table chooses; `force` for the tuner's runs and bench/conv.ts's tile sweep. */
  conv(mode: ConvMode, a: Storage, b: Storage, geo: ConvGeometry, force?: ConvChoice, epilogue: Epilogue | null = null): Storage {
    if (epilogue && mode === 'weightGrad') throw new Error('webgpu: a weight gradient takes no epilogue');
    const shape = convShape(geo);
    const choice = force ?? (this.tuner.choose(`conv.${mode}`, shape, () => ({
      kernel: `conv.${mode}`, shape, inputs: [a.size, b.size],
      candidates: convCandidates(mode, geo, this.subgroups, this.adapterKind) as unknown as TuneChoice[],
      run: ([ta, tb], c) => this.conv(mode, ta, tb, geo, c as unknown as ConvChoice),
    })) as unknown as ConvChoice | null) ?? tableConvChoice(mode, geo, this.adapterKind);
    const plan = planConv(mode, geo, choice);
    checkEpilogue('conv', epilogue, plan.total);
    const out = this.alloc(plan.total);
    if (plan.total === 0) return out;
    if (plan.params.k === 0 && !epilogue) {
      this.release(out);
      return this.full(plan.total, 0);
    }
    // Split-K writes one layer of partial sums per split, added up after.
    const layers = plan.splits > 1 ? this.alloc(plan.total * plan.splits) : out;
    // A grid of more row blocks than one dispatch takes (65535 along an
    // axis by default) runs as several dispatches, each told its first block.
    const blocks = plan.groups[plan.rowAxis];
    const most = this.ctx.maxGroupsPerAxis;
    for (let first = 0; first < blocks; first += most) {
      const groups: [number, number, number] = [...plan.groups];
      groups[plan.rowAxis] = Math.min(most, blocks - first);
      this.ctx.dispatch({
        shader: 'conv2d', entry: plan.entry,
        overrides: { ...plan.overrides, ...this.epilogueOverrides(epilogue) },
        params: { ...plan.params, block_offset: first, alpha: epilogue?.activation?.alpha ?? 0 },
        buffers: { a: this.buf(a), b: this.buf(b), out: layers.buffer, ...this.epilogueBuffers(epilogue, a) }, groups,
      });
    }
    if (layers !== out) {
      if (choice?.sum === 'subgroups' && this.subgroups) {
        // a subgroup per weight; the grid is sized for the adapter's largest subgroups (128 where it does not say)
        const largest = (this.ctx.adapterInfo as { subgroupMaxSize?: number }).subgroupMaxSize ?? 128;
        const perGroup = Math.max(1, shaderConstant('sum_splits_subgroups', 'WG') / largest);
        this.ctx.dispatch({
          shader: 'sum_splits_subgroups', entry: 'sum_splits', params: plan.params,
          buffers: { a: layers.buffer, out: out.buffer }, groups: gridFor(plan.total, perGroup),
        });
      } else {
        this.ctx.dispatch({
          shader: 'conv2d', entry: 'sum_splits', params: plan.params,
          buffers: { a: layers.buffer, out: out.buffer }, groups: gridFor(plan.total, shaderConstant('conv2d', 'WG')),
        });
      }
      this.release(layers);
    }
    return out;
  }

  conv2d(x: Storage, w: Storage, geo: ConvGeometry, epilogue: Epilogue | null = null): Storage {
    return this.conv('forward', x, w, geo, undefined, epilogue);
  }

  conv2dInputGrad(dy: Storage, w: Storage, geo: ConvGeometry, epilogue: Epilogue | null = null): Storage {
    return this.conv('inputGrad', dy, w, geo, undefined, epilogue);
  }

  /** shaders/epilogue.wgsl: a workgroup per channel, the activation's gradient and the bias's in one pass. */
  epilogueGrad(y: Storage, dy: Storage, geo: NormGeometry, activation: Activation | null, pre: Storage | null = null): { grad: Storage; dbias: Storage } {
    if (activation && needsPreActivation(activation) !== (pre !== null)) {
      throw new Error(`webgpu: epilogueGrad of ${activation.op} (slope ${activation.alpha}) ${pre ? 'takes no' : 'needs the'} pre-activation`);
    }
    const grad = this.alloc(y.size);
    const dbias = this.alloc(geo.channels);
    if (geo.channels > 0) {
      this.ctx.dispatch({
        shader: 'epilogue', entry: 'epilogue_backward', params: { ...geo, alpha: activation?.alpha ?? 0 },
        overrides: { WG: this.normThreads(geo), ACT: activationNumber(activation), PRE: pre !== null },
        // without pre the kernel reads none: y stands in for the binding
        buffers: { y: this.buf(y), dy: this.buf(dy), out: grad.buffer, dbias: dbias.buffer, pre: this.buf(pre ?? y) },
        groups: gridFor(geo.channels, 1, this.ctx.maxGroupsPerAxis),
      });
    }
    return { grad, dbias };
  }

  conv2dWeightGrad(x: Storage, dy: Storage, geo: ConvGeometry): Storage {
    return this.conv('weightGrad', dy, x, geo);
  }


  // ---- pooling: shaders/pool2d.wgsl

  private poolParams(geo: PoolGeometry): Record<string, number> {
    return {
      planes: geo.batch * geo.channels, in_h: geo.inH, in_w: geo.inW, out_h: geo.outH, out_w: geo.outW,
      k_h: geo.kernelH, k_w: geo.kernelW, stride_h: geo.strideH, stride_w: geo.strideW, pad_h: geo.padH, pad_w: geo.padW,
    };
  }

  private pool(entry: string, buffers: Record<string, GPUBuffer | GPUBufferBinding>, geo: PoolGeometry, count: number): void {
    if (count === 0) return;
    this.ctx.dispatch({
      shader: 'pool2d', entry, params: this.poolParams(geo), buffers, groups: gridFor(count, shaderConstant('pool2d', 'WG')),
    });
  }

  maxPool2d(x: Storage, geo: PoolGeometry): { out: Storage; argmax: Storage } {
    const count = geo.batch * geo.channels * geo.outH * geo.outW;
    const out = this.alloc(count);
    const argmax = this.alloc(count);
    this.pool('max_pool', { src: this.buf(x), out: out.buffer, argmax_out: argmax.buffer }, geo, count);
    return { out, argmax };
  }

  maxPool2dGrad(dy: Storage, argmax: Storage, geo: PoolGeometry): Storage {
    const count = geo.batch * geo.channels * geo.inH * geo.inW;
    const dx = this.alloc(count);
    this.pool('max_pool_grad', { src: this.buf(dy), argmax_in: this.buf(argmax), out: dx.buffer }, geo, count);
    return dx;
  }

  avgPool2d(x: Storage, geo: PoolGeometry): Storage {
    const count = geo.batch * geo.channels * geo.outH * geo.outW;
    const out = this.alloc(count);
    this.pool('avg_pool', { src: this.buf(x), out: out.buffer }, geo, count);
    return out;
  }

  avgPool2dGrad(dy: Storage, geo: PoolGeometry): Storage {
    const count = geo.batch * geo.channels * geo.inH * geo.inW;
    const dx = this.alloc(count);
    this.pool('avg_pool_grad', { src: this.buf(dy), out: dx.buffer }, geo, count);
    return dx;
  }

  // ---- batchnorm: shaders/batchnorm.wgsl, one workgroup per channel

  /**
   * Threads per channel: about 64 elements each, between 32 and 256. A
   * channel of a few hundred elements (DCGAN's 4×4 and 8×8 maps, the
   * U-Net's groups) gets 32 threads and 5 barrier rounds per sum instead of
   * 256 threads and 8: 10× faster on SwiftShader, where a barrier over 256
   * threads is expensive; large channels keep 256.
   */
  private normThreads(geo: NormGeometry): number {
    const perThread = (geo.batch * geo.spatial) / 64;
    return Math.min(256, Math.max(32, 2 ** Math.floor(Math.log2(Math.max(1, perThread)))));
  }

  /** Threads per channel for a batchnorm pass: the tuner's where it has one, else normThreads. */
  private normChoice(kernel: string, geo: NormGeometry, job: () => Omit<TuneJob, 'kernel' | 'shape' | 'candidates'>): number {
    const table = { WG: this.normThreads(geo) };
    const shape = `${geo.channels} channels of ${geo.batch}×${geo.spatial}`;
    const choice = this.tuner.choose(kernel, shape, () => ({
      kernel, shape, candidates: uniqueChoices([table, { WG: 32 }, { WG: 64 }, { WG: 128 }, { WG: 256 }]), ...job(),
    }));
    return Number((choice ?? table).WG);
  }

  batchNorm(x: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, eps: number, activation: Activation | null = null, threads?: number) {
    if (!weight !== !bias) throw new Error('webgpu: batchNorm takes a weight and a bias, or neither');
    const out = this.alloc(x.size);
    const mean = this.alloc(geo.channels);
    const variance = this.alloc(geo.channels);
    if (geo.channels > 0) {
      const wg = threads ?? this.normChoice('batchnorm.forward', geo, () => ({
        inputs: [x.size, geo.channels, geo.channels],
        run: ([tx, tw, tb], c) => {
          const stats = this.batchNorm(tx, tw, tb, geo, eps, null, Number(c.WG));
          this.release(stats.mean);
          this.release(stats.var);
          return stats.out;
        },
      }));
      this.ctx.dispatch({
        shader: this.withSubgroups('batchnorm'), entry: 'batchnorm_forward',
        params: { ...geo, eps, affine: Number(weight !== null), alpha: activation?.alpha ?? 0 },
        overrides: { WG: wg, ACT: activationNumber(activation) },
        buffers: {
          // without weight and bias the kernel reads neither: x stands in for both bindings
          x: this.buf(x), weight: this.buf(weight ?? x), bias: this.buf(bias ?? x),
          out: out.buffer, mean: mean.buffer, variance: variance.buffer,
        },
        groups: gridFor(geo.channels, 1, this.ctx.maxGroupsPerAxis), // a workgroup per channel
      });
    }
    return { out, mean, var: variance };
  }

  /** shaders/batchnorm_eval.wgsl: one thread an element. */
  batchNormEval(
    x: Storage, mean: Storage, variance: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, eps: number,
    activation: Activation | null,
  ): Storage {
    if (!weight !== !bias) throw new Error('webgpu: batchNormEval takes a weight and a bias, or neither');
    const out = this.alloc(x.size);
    if (x.size > 0) {
      this.ctx.dispatch({
        shader: 'batchnorm_eval', entry: 'batchnorm_eval',
        params: { channels: geo.channels, spatial: geo.spatial, n: x.size, eps, affine: Number(weight !== null), alpha: activation?.alpha ?? 0 },
        overrides: { ACT: activationNumber(activation) },
        // without weight and bias the kernel reads neither: x stands in for both bindings
        buffers: { x: this.buf(x), weight: this.buf(weight ?? x), bias: this.buf(bias ?? x), mean: this.buf(mean), variance: this.buf(variance), out: out.buffer },
        groups: gridFor(x.size, shaderConstant('batchnorm_eval', 'WG'), this.ctx.maxGroupsPerAxis),
      });
    }
    return out;
  }

  batchNormGrad(
    dy: Storage, x: Storage, mean: Storage, variance: Storage, weight: Storage | null, geo: NormGeometry, eps: number,
    activation: Activation | null = null, bias: Storage | null = null, threads?: number,
  ) {
    if (activation && !weight !== !bias) throw new Error('webgpu: batchNormGrad with an activation takes a weight and a bias, or neither');
    const dx = this.alloc(x.size);
    const dweight = this.alloc(geo.channels);
    const dbias = this.alloc(geo.channels);
    if (geo.channels > 0) {
      const wg = threads ?? this.normChoice('batchnorm.backward', geo, () => ({
        // the variance must be positive, or every candidate's output is NaN
        inputs: [dy.size, x.size, mean.size, { count: variance.size, positive: true }, geo.channels],
        run: ([tdy, tx, tmean, tvar, tw], c) => {
          const grads = this.batchNormGrad(tdy, tx, tmean, tvar, tw, geo, eps, null, null, Number(c.WG));
          this.release(grads.dweight);
          this.release(grads.dbias);
          return grads.dx;
        },
      }));
      // With an activation the kernel recomputes its input, which needs the bias: it reads
      // [weight; bias] from the weight binding (8 storage bindings, WebGPU's default limit).
      const affine = activation && weight && bias ? this.concatenated([weight, bias]) : null;
      this.ctx.dispatch({
        shader: this.withSubgroups('batchnorm'), entry: 'batchnorm_backward',
        params: { ...geo, eps, affine: Number(weight !== null), alpha: activation?.alpha ?? 0 },
        overrides: { WG: wg, ACT: activationNumber(activation) },
        buffers: {
          dy: this.buf(dy), x: this.buf(x), mean: this.buf(mean), variance: this.buf(variance),
          weight: this.buf(affine ?? weight ?? x), out: dx.buffer, dweight: dweight.buffer, dbias: dbias.buffer,
        },
        groups: gridFor(geo.channels, 1, this.ctx.maxGroupsPerAxis), // a workgroup per channel
      });
      if (affine) this.release(affine);
    }
    return { dx, dweight, dbias };
  }

  // ---- groupnorm: the same shaders' groupnorm_* entries, a workgroup per (sample, group)

  groupNorm(x: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, groups: number, eps: number, activation: Activation | null = null) {
    if (!weight !== !bias) throw new Error('webgpu: groupNorm takes a weight and a bias, or neither');
    const rows = geo.batch * groups;
    const out = this.alloc(x.size);
    const mean = this.alloc(rows);
    const variance = this.alloc(rows);
    if (rows > 0) {
      this.ctx.dispatch({
        shader: this.withSubgroups('batchnorm'), entry: 'groupnorm_forward',
        params: { ...geo, groups, eps, affine: Number(weight !== null), alpha: activation?.alpha ?? 0 },
        overrides: { WG: this.normThreads({ batch: 1, channels: rows, spatial: x.size / rows }), ACT: activationNumber(activation) },
        buffers: {
          x: this.buf(x), weight: this.buf(weight ?? x), bias: this.buf(bias ?? x),
          out: out.buffer, mean: mean.buffer, variance: variance.buffer,
        },
        groups: gridFor(rows, 1, this.ctx.maxGroupsPerAxis),
      });
    }
    return { out, mean, var: variance };
  }

  groupNormGrad(
    dy: Storage, x: Storage, mean: Storage, variance: Storage, weight: Storage | null, bias: Storage | null,
    geo: NormGeometry, groups: number, eps: number, activation: Activation | null = null,
  ) {
    if (!weight !== !bias) throw new Error('webgpu: groupNormGrad takes a weight and a bias, or neither');
    const rows = geo.batch * groups;
    const dx = this.alloc(x.size);
    const dweight = this.alloc(geo.channels);
    const dbias = this.alloc(geo.channels);
    if (rows > 0) {
      const params = { ...geo, groups, eps, affine: Number(weight !== null), alpha: activation?.alpha ?? 0 };
      const buffers = {
        dy: this.buf(dy), x: this.buf(x), mean: this.buf(mean), variance: this.buf(variance),
        weight: this.buf(weight ?? x), bias: this.buf(bias ?? x), out: dx.buffer, dweight: dweight.buffer, dbias: dbias.buffer,
      };
      const shader = this.withSubgroups('batchnorm');
      this.ctx.dispatch({
        shader, entry: 'groupnorm_backward', params, buffers,
        overrides: { WG: this.normThreads({ batch: 1, channels: rows, spatial: x.size / rows }), ACT: activationNumber(activation) },
        groups: gridFor(rows, 1, this.ctx.maxGroupsPerAxis),
      });
      // the weight's and bias's gradients sum over the batch: a workgroup per channel
      this.ctx.dispatch({
        shader, entry: 'groupnorm_params', params, buffers,
        overrides: { WG: this.normThreads(geo), ACT: activationNumber(activation) },
        groups: gridFor(geo.channels, 1, this.ctx.maxGroupsPerAxis),
      });
    }
    return { dx, dweight, dbias };
  }

  // ---- optimizers: shaders/optimizer.wgsl, one fused dispatch per parameter

  sgdStep(param: Storage, grad: Storage, momentum: Storage | null, args: SgdStep): void {
    if (param.size === 0) return;
    const buffers: Record<string, GPUBuffer | GPUBufferBinding> = { param: this.buf(param), grad: this.buf(grad) };
    if (momentum) buffers.buf = this.buf(momentum);
    this.ctx.dispatch({
      shader: 'optimizer', entry: momentum ? 'sgd' : 'sgd_plain',
      params: {
        n: param.size, lr: args.lr, weight_decay: args.weightDecay, momentum: args.momentum,
        dampening: args.dampening, nesterov: Number(args.nesterov), first_step: Number(args.firstStep),
      },
      buffers, groups: gridFor(param.size, shaderConstant('optimizer', 'WG')),
    });
  }

  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, step: Storage, stepOut: Storage, args: AdamStep): void {
    this.adam('adam', { param, grad, buf: m, buf2: v, step, step_out: stepOut }, args);
  }

  adamStepPacked(param: Storage, grad: Storage, m: Storage, v: Storage, steps: Storage, stepsOut: Storage, segment: Storage, args: AdamStep): void {
    this.adam('adam_packed', { param, grad, buf: m, buf2: v, step: steps, step_out: stepsOut, segment }, args);
  }

  /** One Adam dispatch over `storages.param` (adam: one parameter; adam_packed: a pack of them). */
  private adam(entry: 'adam' | 'adam_packed', storages: Record<string, Storage>, args: AdamStep): void {
    const n = storages.param.size;
    if (n === 0) return;
    this.ctx.dispatch({
      shader: 'optimizer', entry,
      params: {
        n, lr: args.lr, weight_decay: args.weightDecay, beta1: args.beta1, beta2: args.beta2, eps: args.eps, decoupled: Number(args.decoupled),
      },
      buffers: Object.fromEntries(Object.entries(storages).map(([name, s]) => [name, this.buf(s)])),
      groups: gridFor(n, shaderConstant('optimizer', 'WG'), this.ctx.maxGroupsPerAxis),
    });
  }

  emaStep(average: Storage, source: Storage, decay: number, scale = 1): void {
    if (average.size === 0) return;
    this.ctx.dispatch({
      shader: 'optimizer', entry: 'ema', params: { n: average.size, decay, scale },
      buffers: { param: this.buf(average), source: this.buf(source) },
      groups: gridFor(average.size, shaderConstant('optimizer', 'WG')),
    });
  }

  runningStatsStep(runningMean: Storage, runningVar: Storage, tracked: Storage, mean: Storage, variance: Storage, momentum: number, unbias: number): void {
    this.ctx.dispatch({
      shader: 'optimizer', entry: 'running_stats', params: { n: runningMean.size, decay: 1 - momentum, scale: unbias },
      buffers: { param: this.buf(runningMean), buf: this.buf(runningVar), step_out: this.buf(tracked), source: this.buf(mean), grad: this.buf(variance) },
      groups: gridFor(runningMean.size, shaderConstant('optimizer', 'WG')),
    });
  }
}
