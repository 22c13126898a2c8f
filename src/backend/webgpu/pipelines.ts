// The one place pipelines are made. A pipeline is cached by
// (shader, entry point, override constants); shapes travel in uniforms, so
// one pipeline serves every shape. Bind-group layouts are built from the
// reflected bindings of the entry point.
import { shaderInfo, type EntryInfo, type ShaderInfo } from './shaders';

export type Overrides = Record<string, number | boolean>;

export interface Kernel {
  shader: ShaderInfo;
  entry: EntryInfo;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private kernels = new Map<string, Kernel>();

  constructor(private device: GPUDevice) {}

  get(shaderName: string, entryName: string, overrides: Overrides = {}): Kernel {
    const key = `${shaderName}:${entryName}:${JSON.stringify(overrides)}`;
    let kernel = this.kernels.get(key);
    if (!kernel) {
      kernel = this.create(shaderName, entryName, overrides);
      this.kernels.set(key, kernel);
    }
    return kernel;
  }

  get size(): number {
    return this.kernels.size;
  }

  private module(shader: ShaderInfo): GPUShaderModule {
    let module = this.modules.get(shader.name);
    if (!module) {
      module = this.device.createShaderModule({ label: shader.name, code: shader.code });
      this.modules.set(shader.name, module);
    }
    return module;
  }

  private create(shaderName: string, entryName: string, overrides: Overrides): Kernel {
    const shader = shaderInfo(shaderName);
    const entry = shader.entries.get(entryName);
    if (!entry) {
      throw new Error(`webgpu: shader '${shaderName}' has no entry point '${entryName}'`);
    }
    const layout = this.device.createBindGroupLayout({
      label: `${shaderName}.${entryName}`,
      entries: entry.bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer:
          b.kind === 'uniform'
            ? { type: 'uniform' as const, hasDynamicOffset: true }
            : { type: b.kind === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
      })),
    });
    const constants: Record<string, number> = {};
    for (const [name, value] of Object.entries(overrides)) constants[name] = Number(value);
    const pipeline = this.device.createComputePipeline({
      label: `${shaderName}.${entryName}`,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: this.module(shader), entryPoint: entryName, constants },
    });
    return { shader, entry, pipeline, layout };
  }
}
