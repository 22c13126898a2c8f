// Loads the WGSL files of shaders/ and reads what TypeScript must know about
// each (bindings by name, the Params struct's layout, entry points) with
// wgsl_reflect, so no fact about a shader is written twice.
//
// The sources arrive as text through vite's import.meta.glob: inlined into
// the bundle by `vite build`, served by the dev server in the browser, and
// transformed the same way under vitest. There is no copy in TypeScript.
import { WgslReflect, ResourceType } from 'wgsl_reflect';

const sources = import.meta.glob('../../../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

export type ScalarKind = 'f32' | 'u32' | 'i32';

export interface ParamField {
  name: string;
  offset: number; // bytes
  slots: number; // 4-byte slots the member occupies (arrays of vec4 hold several)
  kind: ScalarKind;
}

export interface BindingInfo {
  name: string;
  binding: number;
  kind: 'uniform' | 'read' | 'read_write';
}

export interface EntryInfo {
  name: string;
  bindings: BindingInfo[];
}

export interface ShaderInfo {
  name: string;
  code: string;
  paramsSize: number; // bytes of struct Params
  params: ParamField[];
  entries: Map<string, EntryInfo>;
  /** values of the module's consts and the defaults of its overrides */
  constants: Map<string, number>;
}

/**
 * Pieces of WGSL that several shaders share (shaders/parts/): a line
 * `// #include name` in a shader is replaced by parts/name.wgsl before
 * anything reads the shader, so the piece is written once.
 */
const parts = import.meta.glob('../../../shaders/parts/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const cache = new Map<string, ShaderInfo>();

export function shaderNames(): string[] {
  return Object.keys(sources).map((path) => path.replace(/^.*\//, '').replace(/\.wgsl$/, ''));
}

export function shaderInfo(name: string): ShaderInfo {
  let info = cache.get(name);
  if (!info) {
    info = reflectShader(name);
    cache.set(name, info);
  }
  return info;
}

/** A const (or an override's default) of a shader, e.g. a kernel's tile size. */
export function shaderConstant(shaderName: string, constName: string): number {
  const value = shaderInfo(shaderName).constants.get(constName);
  if (value === undefined) throw new Error(`webgpu: shader '${shaderName}' has no constant '${constName}'`);
  return value;
}

function sourceOf(name: string): string {
  const key = Object.keys(sources).find((path) => path.endsWith(`/${name}.wgsl`));
  if (key === undefined) {
    throw new Error(`webgpu: no shader named '${name}' in shaders/ (have: ${shaderNames().join(', ')})`);
  }
  return spliced(name, sources[key], new Set());
}

/** `text` with its includes replaced, theirs too; a part already in (`done`) is not spliced twice. */
function spliced(name: string, text: string, done: Set<string>): string {
  return text.replace(/^\/\/ #include (\S+)$/gm, (_, part: string) => {
    const source = parts[`../../../shaders/parts/${part}.wgsl`];
    if (source === undefined) throw new Error(`webgpu: shader '${name}' includes '${part}', which is not in shaders/parts/`);
    if (done.has(part)) return '';
    done.add(part);
    return spliced(name, source, done);
  });
}

function scalarKind(typeName: string): ScalarKind {
  if (typeName.includes('f32')) return 'f32';
  if (typeName.includes('i32')) return 'i32';
  return 'u32';
}

function reflectShader(name: string): ShaderInfo {
  const code = sourceOf(name);
  const reflect = new WgslReflect(code);
  const struct = reflect.getStructInfo('Params');
  if (!struct) throw new Error(`webgpu: shader '${name}' has no struct Params`);
  const params: ParamField[] = struct.members.map((m) => ({
    name: m.name,
    offset: m.offset,
    slots: m.size / 4,
    kind: scalarKind(m.type.getTypeName()),
  }));
  const entries = new Map<string, EntryInfo>();
  for (const fn of reflect.entry.compute) {
    const bindings: BindingInfo[] = fn.resources.map((r) => ({
      name: r.name,
      binding: r.binding,
      kind: r.resourceType === ResourceType.Uniform ? 'uniform' : r.access === 'read' ? 'read' : 'read_write',
    }));
    bindings.sort((x, y) => x.binding - y.binding);
    entries.set(fn.name, { name: fn.name, bindings });
  }
  return { name, code, paramsSize: struct.size, params, entries, constants: new Map(reflect._constValues) };
}
