// The uniform ring: every dispatch's Params go into one buffer, each in its
// own slot at an aligned offset, bound with a dynamic offset. The slots are
// filled on the CPU and uploaded with one writeBuffer just before the
// command buffer that reads them is submitted; after a submit the ring
// starts again at 0 (the queue runs that write after the earlier submit).
import type { ShaderInfo } from './shaders';

export type ParamValues = Record<string, number | readonly number[]>;

export class UniformRing {
  readonly buffer: GPUBuffer;
  private staging: ArrayBuffer;
  private view: DataView;
  private used = 0;

  constructor(
    private device: GPUDevice,
    readonly capacity: number,
    private align: number,
  ) {
    this.buffer = device.createBuffer({
      label: 'uniform ring',
      size: capacity,
      usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */,
    });
    this.staging = new ArrayBuffer(capacity);
    this.view = new DataView(this.staging);
  }

  /** Room for a Params of `bytes`? */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.capacity;
  }

  /** Writes `values` laid out as the shader's Params; returns the slot's offset. */
  push(shader: ShaderInfo, values: ParamValues): number {
    const offset = this.used;
    new Uint8Array(this.staging, offset, shader.paramsSize).fill(0);
    for (const field of shader.params) {
      const value = values[field.name];
      if (value === undefined) continue; // padding or unused: zero
      const list = typeof value === 'number' ? [value] : value;
      if (list.length > field.slots) {
        throw new Error(`webgpu: ${shader.name}.Params.${field.name} holds ${field.slots} values, got ${list.length}`);
      }
      list.forEach((v, i) => {
        const at = offset + field.offset + 4 * i;
        if (field.kind === 'f32') this.view.setFloat32(at, v, true);
        else if (field.kind === 'i32') this.view.setInt32(at, v, true);
        else this.view.setUint32(at, v, true);
      });
    }
    this.used += Math.ceil(shader.paramsSize / this.align) * this.align;
    return offset;
  }

  /** Uploads the filled slots; call right before submitting. */
  upload(): void {
    if (this.used > 0) this.device.queue.writeBuffer(this.buffer, 0, this.staging, 0, this.used);
  }

  reset(): void {
    this.used = 0;
  }
}
