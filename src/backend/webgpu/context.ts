// The GPU context: one device, one command encoder filled by dispatches and
// submitted once per flush (at a readback, or every `flushEvery`
// dispatches), one pipeline cache, one buffer pool, one bind-group cache,
// one uniform ring, and the one readback path. A lost device or an uncaptured error is remembered
// and thrown from the next call, so nothing waits on a dead device.
import { BindGroupCache } from './bindgroups';
import { BufferPool } from './buffers';
import { PipelineCache, type Overrides } from './pipelines';
import type { ReadPacer } from './read-pacer';
import { UniformRing, type ParamValues } from './uniforms';

const MAX_GROUPS = 65535;
const USAGE_MAP_READ = 0x01;
const USAGE_COPY_SRC = 0x04;
const USAGE_COPY_DST = 0x08;
const USAGE_QUERY_RESOLVE = 0x200;
const USAGE_STORAGE = 0x80;

export interface DispatchSpec {
  shader: string;
  entry: string;
  overrides?: Overrides;
  params: ParamValues;
  /** storage buffers by the names the shader gives them: a whole buffer, or a range of one (a slice of a pack) */
  buffers: Record<string, GPUBuffer | GPUBufferBinding>;
  /** workgroups along x, y, z */
  groups: [number, number, number];
}

/** A range of a buffer, as against the whole buffer. */
export function isRange(bound: GPUBuffer | GPUBufferBinding): bound is GPUBufferBinding {
  return (bound as GPUBufferBinding).buffer !== undefined;
}

/**
 * Threads of a workgroup along one side of a kernel's output: `threads`
 * (the tile's), or for a side shorter than the tile the smallest power of
 * two whose `perThread`-wide blocks still cover it. Powers of two keep the
 * pipelines few (each workgroup size is its own compile).
 */
export function threadsToCover(length: number, threads: number, perThread: number): number {
  let t = 1;
  while (t < threads && t * perThread < length) t *= 2;
  return t;
}

/** Workgroups for `count` work items of `perGroup` each, folded into a 2-D grid past `most` (65535) along x. */
export function gridFor(count: number, perGroup: number, most = MAX_GROUPS): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / perGroup));
  if (groups <= most) return [groups, 1, 1];
  const y = Math.ceil(groups / most);
  return [Math.ceil(groups / y), y, 1];
}

export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  readonly bindGroups: BindGroupCache;
  private ring: UniformRing;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private stagingToDestroy: GPUBuffer[] = [];
  private failure: string | null = null;
  private flushEvery = 64;
  dispatches = 0;
  /** buffer-to-buffer copies recorded (packing gradients for a multi-tensor optimizer step) */
  copies = 0;
  /**
   * Workgroups one dispatch may have along an axis (the device's
   * maxComputeWorkgroupsPerDimension); kernels whose grid can outgrow it
   * split into several dispatches. Tests lower it to exercise the split.
   */
  maxGroupsPerAxis: number;
  /** staging buffers created for uploads and readbacks */
  private stagingMade = 0;
  /**
   * Stands in for a writable binding a kernel leaves alone (its override
   * off, as an epilogue's pre-activation): a binding must be there, and two
   * writable bindings of one buffer in a dispatch are refused.
   */
  readonly unwritten: GPUBuffer;

  /** Workgroups dispatched so far: with the dispatches and copies, how much work a readback waits for. */
  private workgroups = 0;
  /** Those counts when the last readback settled: what a new one waits for is the rest. */
  private settled = { commands: 0, workgroups: 0 };

  constructor(
    // Dawn's instance: were it garbage-collected, the device would die with it.
    readonly gpu: GPU,
    readonly device: GPUDevice,
    readonly adapterInfo: GPUAdapterInfo,
    /** Naps before a readback's mapAsync where the host polls while it waits (read-pacer.ts); null: map at once. */
    readonly pacer: ReadPacer | null = null,
  ) {
    this.maxGroupsPerAxis = device.limits.maxComputeWorkgroupsPerDimension;
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool(device);
    this.bindGroups = new BindGroupCache(device);
    this.unwritten = device.createBuffer({ label: 'unwritten', size: 16, usage: USAGE_STORAGE });
    const align = device.limits.minUniformBufferOffsetAlignment;
    this.ring = new UniformRing(device, 256 * 1024, align);
    device.lost.then((info) => {
      this.failure ??= `WebGPU device was lost (${info.reason}): ${info.message || 'no message'}`;
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.failure ??= `WebGPU error: ${error.message}`;
    });
  }

  /** Throws if the device was lost or reported an error; every call starts here. */
  check(): void {
    if (this.failure !== null) {
      throw new Error(`${this.failure}. Call wg.init() again to get a new device.`);
    }
  }

  lostOrFailed(): boolean {
    return this.failure !== null;
  }

  private currentPass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.encoder;
  }

  dispatch(spec: DispatchSpec): void {
    this.check();
    const kernel = this.pipelines.get(spec.shader, spec.entry, spec.overrides);
    const paramsSize = kernel.shader.paramsSize;
    if (!this.ring.fits(paramsSize + 256)) this.flush();
    const offset = this.ring.push(kernel.shader, spec.params);
    const entries: GPUBindGroupEntry[] = kernel.entry.bindings.map((b) => {
      if (b.kind === 'uniform') {
        return { binding: b.binding, resource: { buffer: this.ring.buffer, offset: 0, size: paramsSize } };
      }
      const bound = spec.buffers[b.name];
      if (!bound) throw new Error(`webgpu: ${spec.shader}.${spec.entry} needs a buffer for '${b.name}'`);
      return { binding: b.binding, resource: isRange(bound) ? bound : { buffer: bound } };
    });
    const bindGroup = this.bindGroups.get(kernel.layout, entries);
    const pass = this.currentPass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup, [offset]);
    pass.dispatchWorkgroups(spec.groups[0], spec.groups[1], spec.groups[2]);
    this.dispatches++;
    this.workgroups += spec.groups[0] * spec.groups[1] * spec.groups[2];
    if (++this.pending >= this.flushEvery) this.flush();
  }

  /** A pooled buffer holding `data`, written in command order (see below). */
  upload(data: Float32Array): GPUBuffer {
    this.check();
    const buffer = this.pool.acquire(Math.max(4, data.byteLength));
    if (data.byteLength === 0) return buffer;
    // A pooled buffer may still be read by dispatches recorded but not yet
    // submitted; queue.writeBuffer would overtake them. A copy recorded in
    // the encoder keeps the order.
    const staging = this.device.createBuffer({ size: data.byteLength, usage: USAGE_COPY_SRC, mappedAtCreation: true });
    this.stagingMade++;
    new Float32Array(staging.getMappedRange()).set(data);
    staging.unmap();
    this.endPass().copyBufferToBuffer(staging, 0, buffer, 0, data.byteLength);
    this.stagingToDestroy.push(staging);
    this.pending++;
    return buffer;
  }

  /**
   * Overwrites `buffer` from byte `offset` with `data`, with no staging buffer of
   * ours: what is recorded is submitted first, so queue.writeBuffer lands
   * after the dispatches that came before it and before those that follow.
   */
  write(buffer: GPUBuffer, data: Float32Array, offset = 0): void {
    this.check();
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data as Float32Array<ArrayBuffer>);
  }

  /** Copies `bytes` bytes between two buffers, recorded in command order. */
  copy(source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, bytes: number): void {
    this.check();
    if (bytes === 0) return;
    this.endPass().copyBufferToBuffer(source, sourceOffset, target, targetOffset, bytes);
    this.copies++;
    if (++this.pending >= this.flushEvery) this.flush();
  }

  /** GPU buffers created so far: the pool's and the staging ones. */
  get buffersCreated(): number {
    return this.pool.made + this.stagingMade;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.check();
    if (!this.encoder) return;
    const encoder = this.endPass();
    this.ring.upload();
    this.device.queue.submit([encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.ring.reset();
    for (const b of this.stagingToDestroy) b.destroy();
    this.stagingToDestroy = [];
  }

  /** The one readback path: `count` floats of `buffer` from byte `offset`. */
  async read(buffer: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
    this.check();
    const bytes = count * 4;
    if (bytes === 0) {
      this.flush();
      return new Float32Array(0);
    }
    const staging = this.device.createBuffer({ size: bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    this.stagingMade++;
    this.endPass().copyBufferToBuffer(buffer, offset, staging, 0, bytes);
    const recorded = { commands: this.dispatches + this.copies, workgroups: this.workgroups };
    this.flush();
    const lost = this.device.lost.then((info) => {
      throw new Error(`WebGPU device was lost (${info.reason}) while reading back: ${info.message || 'no message'}`);
    });
    lost.catch(() => {}); // only the race below cares; a later loss is not an unhandled rejection
    const map = () => staging.mapAsync(0x0001 /* GPUMapMode.READ */);
    const pending = `${recorded.commands - this.settled.commands} commands, ${recorded.workgroups - this.settled.workgroups} workgroups`;
    const mapped = this.pacer ? this.pacer.wait(pending, map) : map();
    mapped.catch(() => {}); // lost may win the race; the buffer is destroyed below either way
    try {
      await Promise.race([mapped, lost]);
      this.check();
      if (recorded.commands > this.settled.commands) this.settled = recorded;
      return new Float32Array(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }

  /**
   * Milliseconds the dispatches `record` makes take on the GPU, for the
   * tuner: with 'timestamp-query', the span between timestamps written at
   * the start and end of one compute pass holding them all; without it, the
   * wall clock from their submit to onSubmittedWorkDone, after the queue has
   * drained of earlier work. Nothing else may be recorded meanwhile.
   */
  async timeDispatches(record: () => void): Promise<number> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    if (!this.device.features.has('timestamp-query')) {
      const started = performance.now();
      this.holdFlush(record);
      this.flush();
      await this.device.queue.onSubmittedWorkDone();
      this.check();
      return performance.now() - started;
    }
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 });
    const resolved = this.device.createBuffer({ size: 16, usage: USAGE_QUERY_RESOLVE | USAGE_COPY_SRC });
    const staging = this.device.createBuffer({ size: 16, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    try {
      this.encoder = this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
      this.holdFlush(record);
      const encoder = this.endPass();
      encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16);
      this.flush();
      await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
      this.check();
      const [start, end] = new BigUint64Array(staging.getMappedRange());
      return Number(end - start) / 1e6;
    } finally {
      staging.destroy();
      resolved.destroy();
      querySet.destroy();
    }
  }

  /** Runs `record` with no flush in the middle (so its dispatches share one pass). */
  private holdFlush(record: () => void): void {
    const every = this.flushEvery;
    this.flushEvery = Number.POSITIVE_INFINITY;
    try {
      record();
    } finally {
      this.flushEvery = every;
    }
  }

  /** Destroys the pooled buffers; the bind groups that name them go first. */
  trim(): void {
    this.bindGroups.clear();
    this.pool.trim();
  }

  destroy(): void {
    this.trim();
    this.device.destroy();
  }
}
