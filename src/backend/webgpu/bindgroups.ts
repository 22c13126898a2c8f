// The bind-group cache. A dispatch's bind group is fixed by its layout and
// the storage buffers it binds (the uniform ring is the same buffer every
// time, bound with a dynamic offset). The buffer pool hands buffers out in
// the same order whenever the same graph runs again, so a training or
// sampling step that repeats the last one finds every bind group it needs
// here: the step replays its recorded bindings and creates nothing.

/** Entries beyond this are dropped all at once: a graph that never repeats cannot grow the cache without bound. */
const MAX_ENTRIES = 8192;

export class BindGroupCache {
  private ids = new WeakMap<object, number>();
  private nextId = 1;
  private groups = new Map<string, GPUBindGroup>();
  /** bind groups created since the device was made (a replayed step adds none) */
  created = 0;

  constructor(private device: GPUDevice) {}

  private id(thing: object): number {
    let id = this.ids.get(thing);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(thing, id);
    }
    return id;
  }

  /** The bind group of `layout` over `entries`, made once per distinct set of buffers. */
  get(layout: GPUBindGroupLayout, entries: GPUBindGroupEntry[]): GPUBindGroup {
    let key = String(this.id(layout));
    for (const e of entries) {
      const { buffer, offset, size } = e.resource as GPUBufferBinding;
      key += `:${this.id(buffer)}`;
      if (offset !== undefined) key += `@${offset}+${size}`;
    }
    let group = this.groups.get(key);
    if (!group) {
      if (this.groups.size >= MAX_ENTRIES) this.groups.clear();
      group = this.device.createBindGroup({ layout, entries });
      this.groups.set(key, group);
      this.created++;
    }
    return group;
  }

  /** Forget every bind group (their buffers are about to be destroyed). */
  clear(): void {
    this.groups.clear();
  }
}
