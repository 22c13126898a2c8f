// The buffer pool. Storage buffers are rounded up to a size class (four per
// octave, so at most ~19% is wasted) and a released buffer waits in its
// class's free list for the next request of that class, instead of being
// destroyed and made again. Reuse inside one command encoder is safe: the
// dispatches run in the order they were recorded.
//
// A request takes the oldest free buffer of its class (the lowest serial
// number), whatever order the buffers came back in. So the buffers a step
// gets depend only on which are free, not on the order the last step
// disposed its tensors: a repeated step gets the same buffers and the
// bind-group cache serves it whole.

const USAGE_STORAGE = 0x80; // GPUBufferUsage.STORAGE
const USAGE_COPY_SRC = 0x04;
const USAGE_COPY_DST = 0x08;

export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private serial = new WeakMap<GPUBuffer, number>();
  /** buffers created so far */
  made = 0;
  bytesInUse = 0;
  bytesPooled = 0;
  peakBytes = 0;

  constructor(private device: GPUDevice) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer: GPUBuffer;
    if (list && list.length > 0) {
      let oldest = 0;
      for (let i = 1; i < list.length; i++) {
        if (this.serial.get(list[i])! < this.serial.get(list[oldest])!) oldest = i;
      }
      buffer = list[oldest];
      list[oldest] = list[list.length - 1];
      list.pop();
      this.bytesPooled -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
      this.serial.set(buffer, this.made++);
    }
    this.bytesInUse += size;
    this.peakBytes = Math.max(this.peakBytes, this.bytesInUse);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.bytesInUse -= size;
    this.bytesPooled += size;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
  }

  /** Destroys the pooled (free) buffers, keeping those in use. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.bytesPooled = 0;
  }
}
