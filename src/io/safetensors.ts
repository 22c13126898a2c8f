// Checkpoints in the safetensors format, so weights move to and from PyTorch.
//
// A file is: 8 bytes holding N, the header length (unsigned 64-bit, little
// endian); N bytes of UTF-8 JSON mapping each tensor name to
// { dtype, shape, data_offsets: [begin, end) } plus an optional
// "__metadata__" of string → string; then the data buffer, which the offsets
// index. Tensors are contiguous, row-major and little-endian.
//
// readSafetensors only parses and checks bytes; loadSafetensors makes tensors.
import { Tensor } from '../tensor';
import { tensor } from '../ops/creation';

export type StateDict = Record<string, Tensor>;

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** The values converted to float32, row-major. */
  data: Float32Array;
}

const METADATA_KEY = '__metadata__';
/** A header bigger than this is a corrupt length, not a real checkpoint. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Bytes per element of the dtypes wgrad reads. */
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8 };

/** PyTorch keeps BatchNorm's step counter as int64, so it is written as I64. */
function dtypeForKey(key: string): 'F32' | 'I64' {
  return key.endsWith('num_batches_tracked') ? 'I64' : 'F32';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Compares strings by code unit, as the header's key order is defined here. */
function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- writing

export async function saveSafetensors(
  source: { stateDict(): StateDict } | StateDict,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  const dict: StateDict =
    typeof (source as { stateDict?: unknown }).stateDict === 'function'
      ? (source as { stateDict(): StateDict }).stateDict()
      : (source as StateDict);
  if (!isPlainObject(dict)) throw new Error('saveSafetensors: expected a module or a state dict (an object of tensors)');

  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new Error('saveSafetensors: metadata must be an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new Error(`saveSafetensors: metadata value for "${k}" must be a string, got ${typeof v}`);
      }
    }
  }

  const keys = Object.keys(dict).sort(byKey);
  for (const key of keys) {
    if (key === METADATA_KEY) throw new Error(`saveSafetensors: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (!(dict[key] instanceof Tensor)) throw new Error(`saveSafetensors: "${key}" is not a tensor`);
  }

  // Read every tensor first, then lay the file out in key order.
  const values: Float32Array[] = [];
  for (const key of keys) {
    try {
      values.push(await dict[key].toArray());
    } catch (err) {
      throw new Error(`saveSafetensors: cannot read "${key}": ${(err as Error).message}`);
    }
  }

  // The data goes widest dtype first (I64 before F32), then by key, as the
  // reference writer does: every tensor then starts at a multiple of its own
  // element size, so readers that map the file can view it in place.
  // The header lists the keys sorted.
  const order = keys.map((_, i) => i);
  order.sort((a, b) => DTYPE_BYTES[dtypeForKey(keys[b])] - DTYPE_BYTES[dtypeForKey(keys[a])] || a - b);
  const offsets = new Array<[number, number]>(keys.length);
  let offset = 0;
  for (const i of order) {
    const end = offset + values[i].length * DTYPE_BYTES[dtypeForKey(keys[i])];
    offsets[i] = [offset, end];
    offset = end;
  }
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header[METADATA_KEY] = { ...metadata };
  keys.forEach((key, i) => {
    header[key] = { dtype: dtypeForKey(key), shape: [...dict[key].shape], data_offsets: offsets[i] };
  });
  const dataBytes = offset;

  // Pad with spaces so the data buffer starts at a multiple of 8 (8 + N is).
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);

  for (const i of order) {
    const key = keys[i];
    const data = values[i];
    let at = 8 + headerBytes + offsets[i][0];
    if (dtypeForKey(key) === 'I64') {
      for (const v of data) {
        if (!Number.isInteger(v)) {
          throw new Error(`saveSafetensors: "${key}" holds ${v}, which is not an integer and cannot be written as I64`);
        }
        view.setBigInt64(at, BigInt(v), true);
        at += 8;
      }
    } else {
      for (const v of data) {
        view.setFloat32(at, v, true);
        at += 4;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- reading

/** IEEE 754 half precision: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Converts one tensor's bytes (little-endian) to float32. */
function decode(view: DataView, start: number, dtype: string, count: number): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(start + 4 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(start + 2 * i, true));
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, view.getUint16(start + 2 * i, true) << 16);
        out[i] = word.getFloat32(0);
      }
      break;
    }
    case 'I64':
      // Exact as a number for |v| < 2^53; float32 then rounds past 2^24.
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(start + 8 * i, true));
      break;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Checks one header entry's fields, naming the tensor and the fault. */
function parseEntry(fail: (msg: string) => never, name: string, raw: unknown): HeaderEntry {
  if (!isPlainObject(raw)) fail(`entry "${name}" is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (dtype === undefined) fail(`entry "${name}" has no dtype`);
  if (typeof dtype !== 'string') fail(`entry "${name}" has a dtype that is not a string: ${JSON.stringify(dtype)}`);
  if (!Object.hasOwn(DTYPE_BYTES, dtype)) {
    fail(`entry "${name}" has unsupported dtype "${dtype}" (wgrad reads ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (shape === undefined) fail(`entry "${name}" has no shape`);
  if (!Array.isArray(shape)) fail(`entry "${name}" has a shape that is not a list: ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(`entry "${name}" has shape ${JSON.stringify(shape)}; dims must be non-negative integers`);
    }
  }
  if (offsets === undefined) fail(`entry "${name}" has no data_offsets`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    offsets.some((o) => typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)
  ) {
    fail(`entry "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end], non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) fail(`entry "${name}" has data_offsets [${begin}, ${end}] that end before they begin`);
  const expected = DTYPE_BYTES[dtype] * product(shape as number[]);
  if (end - begin !== expected) {
    fail(
      `entry "${name}" has data_offsets [${begin}, ${end}] spanning ${end - begin} bytes, ` +
        `but ${dtype} of shape [${(shape as number[]).join(', ')}] needs ${expected} bytes`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

interface ParsedFile {
  view: DataView;
  /** Where the data buffer starts in the file. */
  dataStart: number;
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

/** Sets an own property, so a key like "__proto__" from a file stays a plain key. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Parses the header and checks it against the file, without decoding any data. */
function parseFile(bytes: Uint8Array, source: string): ParsedFile {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected the file as a Uint8Array');
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${declared} is unreasonably large (over ${MAX_HEADER_BYTES} bytes); the file is likely corrupt`);
  }
  const headerBytes = Number(declared);
  if (8 + headerBytes > bytes.length) {
    fail(`header length ${headerBytes} runs past the end of the file (${bytes.length} bytes)`);
  }

  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
    header = JSON.parse(text);
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) fail('header is not a JSON object');
  const fields = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  if (Object.hasOwn(fields, METADATA_KEY)) {
    const raw = fields[METADATA_KEY];
    if (!isPlainObject(raw)) fail(`${METADATA_KEY} is not an object`);
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`${METADATA_KEY} value for "${k}" is not a string: ${JSON.stringify(v)}`);
      setOwn(metadata, k, v as string);
    }
  }

  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(fields)) {
    if (name !== METADATA_KEY) entries.push(parseEntry(fail, name, raw));
  }

  // The tensors must tile the data buffer exactly: from 0, no gaps, no overlaps, nothing after.
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.length - dataStart;
  for (const e of entries) {
    if (e.end > dataBytes) {
      fail(`tensor "${e.name}" has data_offsets [${e.begin}, ${e.end}] that run past the data (${dataBytes} bytes)`);
    }
  }
  const laidOut = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: HeaderEntry | null = null;
  for (const e of laidOut) {
    if (e.begin < cursor) {
      fail(`tensor "${e.name}" [${e.begin}, ${e.end}] overlaps tensor "${previous!.name}" [${previous!.begin}, ${previous!.end}]`);
    }
    if (e.begin > cursor) {
      const where = previous ? `after tensor "${previous.name}"` : 'before the first tensor';
      fail(`gap of ${e.begin - cursor} bytes in the data ${where} (tensor "${e.name}" begins at ${e.begin})`);
    }
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataBytes) {
    fail(`${dataBytes - cursor} bytes of data beyond the last tensor (tensors end at ${cursor}, data is ${dataBytes} bytes)`);
  }
  return { view, dataStart, entries, metadata };
}

/** Parses and checks a safetensors file; returns its tensors as float32 data, making no tensors. */
export function readSafetensors(
  bytes: Uint8Array,
  source = 'safetensors file',
): { tensors: Record<string, SafetensorsEntry>; metadata: Record<string, string> } {
  const { view, dataStart, entries, metadata } = parseFile(bytes, source);
  const tensors: Record<string, SafetensorsEntry> = {};
  for (const e of entries) {
    const data = decode(view, dataStart + e.begin, e.dtype, product(e.shape));
    setOwn(tensors, e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Makes a tensor for every entry of the file, on the current backend. */
export function loadSafetensors(bytes: Uint8Array, source?: string): StateDict {
  const { tensors } = readSafetensors(bytes, source);
  const made: StateDict = {};
  try {
    for (const [name, entry] of Object.entries(tensors)) setOwn(made, name, tensor(entry.data, entry.shape));
  } catch (err) {
    for (const t of Object.values(made)) t.dispose();
    throw err;
  }
  return made;
}

/** The file's "__metadata__" strings (empty if it has none). */
export function safetensorsMetadata(bytes: Uint8Array, source = 'safetensors file'): Record<string, string> {
  return parseFile(bytes, source).metadata;
}
