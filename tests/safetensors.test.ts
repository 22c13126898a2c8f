// safetensors checkpoints: wgrad's own round trip, a file written here byte by
// byte from the format's spec (not by wgrad), and every malformed file refused
// with a message that names the file and the fault.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/node/index';
import { currentBackend } from '../src/runtime';

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

const SOURCE = 'ckpt.safetensors';

// ------------------------------------------------------------- a writer from the spec

/**
 * A safetensors file: u64 little-endian header length, the header text padded
 * with spaces to a multiple of 8, then `data`. `declaredLength` overrides the
 * length field, to write broken files.
 */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  out.set(data, 8 + padded);
  return out;
}

/** The header of a file, parsed here without wgrad. */
function headerOf(bytes: Uint8Array): { json: Record<string, any>; text: string; dataStart: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return { json: JSON.parse(text), text, dataStart: 8 + n };
}

function f32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

/** 16-bit words (F16 or BF16 bit patterns), little-endian. */
function u16Bytes(words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 2);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint16(2 * i, w, true));
  return out;
}

function i64Bytes(values: bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return out;
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function valuesOf(sd: wg.io.StateDict): Promise<Record<string, { shape: number[]; data: number[] }>> {
  const out: Record<string, { shape: number[]; data: number[] }> = {};
  for (const [k, t] of Object.entries(sd)) out[k] = { shape: t.shape, data: Array.from(await t.toArray()) };
  return out;
}

function disposeAll(sd: wg.io.StateDict): void {
  for (const t of Object.values(sd)) t.dispose();
}

// ------------------------------------------------------------- round trip

describe('saveSafetensors → loadSafetensors', () => {
  function stateDict(): wg.io.StateDict {
    return {
      'net.0.weight': wg.randn([4, 3, 3, 3]),
      'net.0.bias': wg.randn([4]),
      'net.1.running_mean': wg.randn([4]),
      'net.1.running_var': wg.rand([4]),
      'net.1.num_batches_tracked': wg.tensor(7, []),
      'fc.weight': wg.randn([5, 7]), // 35 floats: the tensor after it starts off 8-byte alignment
      'a.scale': wg.tensor(2.5, []),
      'empty': wg.zeros([0, 3]),
      'special': wg.tensor([Infinity, -Infinity, NaN, -0, 3.4e38, 1e-45]),
    };
  }

  it('gives back the same numbers and shapes', async () => {
    const sd = stateDict();
    const bytes = await wg.io.saveSafetensors(sd);
    const loaded = wg.io.loadSafetensors(bytes, SOURCE);
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(sd).sort());
    const want = await valuesOf(sd);
    const got = await valuesOf(loaded);
    for (const key of Object.keys(want)) {
      expect(got[key].shape, key).toEqual(want[key].shape);
      expect(got[key].data, key).toEqual(want[key].data); // toEqual: NaN equals NaN, -0 is checked by Object.is
    }
    expect(Object.is(got['special'].data[3], -0)).toBe(true);
    expect(loaded['a.scale'].shape).toEqual([]);
    expect(loaded['empty'].shape).toEqual([0, 3]);
    expect(loaded['net.0.weight'].requiresGrad).toBe(false);
    disposeAll(sd);
    disposeAll(loaded);
  });

  it('accepts anything with stateDict(), and round-trips metadata', async () => {
    const sd = stateDict();
    const module = { stateDict: () => sd };
    const metadata = { format: 'pt', epoch: '12', note: 'ünïcödé ✓' };
    const bytes = await wg.io.saveSafetensors(module, metadata);
    expect(wg.io.safetensorsMetadata(bytes)).toEqual(metadata);
    expect(wg.io.readSafetensors(bytes).metadata).toEqual(metadata);
    expect(wg.io.safetensorsMetadata(await wg.io.saveSafetensors(sd))).toEqual({});
    disposeAll(sd);
  });

  it('writes a sorted header, 8-aligned data, tensors laid out widest dtype first then by key, I64 for num_batches_tracked', async () => {
    const sd = stateDict();
    const bytes = await wg.io.saveSafetensors(sd, { format: 'pt' });
    const { json, text, dataStart } = headerOf(bytes);
    expect(dataStart % 8).toBe(0);
    expect(text.trimEnd()).toBe(JSON.stringify(json)); // only spaces after the JSON
    const keys = Object.keys(json);
    const tensorKeys = Object.keys(sd).sort();
    expect(keys).toEqual(['__metadata__', ...tensorKeys]);
    expect(json.__metadata__).toEqual({ format: 'pt' });

    // packed back to back, I64 first (each tensor aligned to its element size), then by key
    let cursor = 0;
    const laidOut = [...tensorKeys.filter((k) => json[k].dtype === 'I64'), ...tensorKeys.filter((k) => json[k].dtype !== 'I64')];
    for (const key of laidOut) {
      const [begin, end] = json[key].data_offsets;
      expect(begin, key).toBe(cursor);
      cursor = end;
    }
    expect(dataStart + cursor).toBe(bytes.length);

    expect(json['net.1.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: expect.any(Array) });
    const [begin] = json['net.1.num_batches_tracked'].data_offsets;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getBigInt64(dataStart + begin, true)).toBe(7n);
    for (const key of tensorKeys.filter((k) => !k.endsWith('num_batches_tracked'))) expect(json[key].dtype).toBe('F32');
    expect(json['empty']).toEqual({ dtype: 'F32', shape: [0, 3], data_offsets: [expect.any(Number), expect.any(Number)] });
    expect(json['empty'].data_offsets[0]).toBe(json['empty'].data_offsets[1]);
    disposeAll(sd);
  });

  it('an empty state dict is a valid file', async () => {
    const bytes = await wg.io.saveSafetensors({});
    expect(bytes.length).toBe(16); // 8-byte length, "{}" padded to 8
    expect(wg.io.loadSafetensors(bytes)).toEqual({});
  });

  it('refuses bad input with a clear error', async () => {
    const t = wg.ones([2]);
    await expect(wg.io.saveSafetensors({ w: t }, { epoch: 3 } as unknown as Record<string, string>)).rejects.toThrow(
      /saveSafetensors: metadata value for "epoch" must be a string, got number/,
    );
    await expect(wg.io.saveSafetensors({ w: [1, 2] } as unknown as wg.io.StateDict)).rejects.toThrow(
      /saveSafetensors: "w" is not a tensor/,
    );
    await expect(wg.io.saveSafetensors({ __metadata__: t })).rejects.toThrow(/"__metadata__" is reserved/);
    await expect(wg.io.saveSafetensors({ 'bn.num_batches_tracked': wg.tensor(1.5, []) })).rejects.toThrow(
      /"bn.num_batches_tracked" holds 1.5, which is not an integer and cannot be written as I64/,
    );
    const gone = wg.ones([3]);
    gone.dispose();
    await expect(wg.io.saveSafetensors({ w: gone })).rejects.toThrow(/cannot read "w": .*was disposed/);
    t.dispose();
  });
});

// ------------------------------------------------------------- a file written from the spec

describe('a file written byte by byte from the spec', () => {
  // Half-precision bit patterns and the numbers they hold.
  const f16 = [
    [0x3c00, 1.0],
    [0xc100, -2.5],
    [0x7bff, 65504], // largest finite half
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0400, 2 ** -14], // smallest normal
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x8000, -0],
    [0x3555, 0.333251953125],
  ];
  const bf16 = [
    [0x3f80, 1.0],
    [0xc020, -2.5],
    [0x4049, 3.140625],
    [0x7f80, Infinity],
    [0x0001, 2 ** -133], // a bfloat16 subnormal (float32 subnormal too)
    [0x7f7f, 3.3895313892515355e38], // largest finite bfloat16
  ];
  const i64 = [0n, 1n, -7n, 1234567n, -(2n ** 31n), 2n ** 40n];
  const f32 = [0.5, -1.25, 1e10, 3.4028234663852886e38];

  // Data laid out in yet another order than the JSON keys: I64 first (8-aligned), then F32, F16, BF16.
  const i64Data = i64Bytes(i64);
  const f32Data = f32Bytes(f32);
  const f16Data = u16Bytes(f16.map(([bits]) => bits));
  const bf16Data = u16Bytes(bf16.map(([bits]) => bits));
  const o1 = i64Data.length;
  const o2 = o1 + f32Data.length;
  const o3 = o2 + f16Data.length;
  const o4 = o3 + bf16Data.length;
  const header =
    '{' +
    `"zeta.half":{"dtype":"F16","shape":[2,5],"data_offsets":[${o2},${o3}]},` +
    `"__metadata__":{"format":"pt"},` +
    `"alpha.steps":{"data_offsets":[0,${o1}],"shape":[3,2],"dtype":"I64"},` +
    `"mid.brain":{"dtype":"BF16","shape":[6],"data_offsets":[${o3},${o4}]},` +
    `"beta.float":{"dtype":"F32","shape":[2,1,2],"data_offsets":[${o1},${o2}]},` +
    `"empty":{"dtype":"F16","shape":[4,0],"data_offsets":[${o4},${o4}]}` +
    '}';
  const file = rawFile(header, concatBytes(i64Data, f32Data, f16Data, bf16Data));

  it('reads every dtype to the right float32 values', () => {
    const { tensors, metadata } = wg.io.readSafetensors(file, SOURCE);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.keys(tensors).sort()).toEqual(['alpha.steps', 'beta.float', 'empty', 'mid.brain', 'zeta.half']);

    expect(tensors['zeta.half'].dtype).toBe('F16');
    expect(tensors['zeta.half'].shape).toEqual([2, 5]);
    expect(Array.from(tensors['zeta.half'].data)).toEqual(f16.map(([, v]) => Math.fround(v)));
    expect(Object.is(tensors['zeta.half'].data[8], -0)).toBe(true);

    expect(tensors['mid.brain'].dtype).toBe('BF16');
    expect(Array.from(tensors['mid.brain'].data)).toEqual(bf16.map(([, v]) => v));

    expect(tensors['alpha.steps'].dtype).toBe('I64');
    expect(tensors['alpha.steps'].shape).toEqual([3, 2]);
    expect(Array.from(tensors['alpha.steps'].data)).toEqual(i64.map((v) => Number(v)));

    expect(tensors['beta.float'].shape).toEqual([2, 1, 2]);
    expect(Array.from(tensors['beta.float'].data)).toEqual(f32.map(Math.fround));

    expect(tensors['empty']).toEqual({ dtype: 'F16', shape: [4, 0], data: new Float32Array(0) });
  });

  it('decodes F16 NaN', () => {
    const bytes = rawFile({ n: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, u16Bytes([0x7e00, 0xfc01]));
    const data = wg.io.readSafetensors(bytes).tensors['n'].data;
    expect(Number.isNaN(data[0]) && Number.isNaN(data[1])).toBe(true);
  });

  it('loads to tensors on the GPU, also from a view into a larger buffer', async () => {
    const padded = new Uint8Array(file.length + 13);
    padded.set(file, 5);
    const view = padded.subarray(5, 5 + file.length); // byteOffset 5: nothing may assume alignment
    const sd = wg.io.loadSafetensors(view, SOURCE);
    expect(sd['alpha.steps'].shape).toEqual([3, 2]);
    expect(Array.from(await sd['alpha.steps'].toArray())).toEqual(i64.map((v) => Number(v)));
    expect(Array.from(await sd['zeta.half'].toArray())).toEqual(f16.map(([, v]) => Math.fround(v)));
    expect(Array.from(await sd['mid.brain'].toArray())).toEqual(bf16.map(([, v]) => v));
    expect(sd['empty'].shape).toEqual([4, 0]);
    expect(wg.io.safetensorsMetadata(view)).toEqual({ format: 'pt' });
    disposeAll(sd);
  });

  it('a key named __proto__ stays a plain key', () => {
    const bytes = rawFile('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32Bytes([9]));
    const { tensors } = wg.io.readSafetensors(bytes);
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Array.from(tensors['__proto__'].data)).toEqual([9]);
  });
});

// ------------------------------------------------------------- malformed files

describe('malformed files are refused, naming the file and the fault', () => {
  const refuse = (bytes: Uint8Array, pattern: RegExp) => {
    expect(() => wg.io.readSafetensors(bytes, SOURCE)).toThrow(pattern);
    expect(() => wg.io.readSafetensors(bytes, SOURCE)).toThrow(/^ckpt\.safetensors: /);
  };
  /** One F32 tensor "w" with the given header entry and `dataBytes` zero bytes of data. */
  const oneEntry = (entry: unknown, dataBytes: number) => rawFile({ w: entry }, new Uint8Array(dataBytes));

  it('a file shorter than 8 bytes', () => {
    refuse(new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header length/);
    expect(() => wg.io.readSafetensors(new Uint8Array(0))).toThrow(/^safetensors file: file is 0 bytes/);
  });

  it('a header length past the end of the file', () => {
    refuse(rawFile({}, new Uint8Array(0), 1000n), /header length 1000 runs past the end of the file \(16 bytes\)/);
  });

  it('an unreasonably large header length', () => {
    refuse(rawFile({}, new Uint8Array(0), 200_000_000n), /header length 200000000 is unreasonably large/);
    refuse(rawFile({}, new Uint8Array(0), 2n ** 64n - 1n), /header length 18446744073709551615 is unreasonably large/);
  });

  it('malformed JSON, or JSON that is not an object', () => {
    refuse(rawFile('{"w": {"dtype": "F32",'), /header is not valid UTF-8 JSON/);
    const badUtf8 = rawFile('{"w":1}');
    badUtf8[10] = 0xff;
    refuse(badUtf8, /header is not valid UTF-8 JSON/);
    refuse(rawFile('[1, 2]'), /header is not a JSON object/);
    refuse(rawFile('null'), /header is not a JSON object/);
    refuse(rawFile('"w"'), /header is not a JSON object/);
  });

  it('an entry that is not an object', () => {
    refuse(oneEntry(3, 0), /entry "w" is not an object/);
  });

  it('a missing or wrong-typed dtype', () => {
    refuse(oneEntry({ shape: [1], data_offsets: [0, 4] }, 4), /entry "w" has no dtype/);
    refuse(oneEntry({ dtype: 4, shape: [1], data_offsets: [0, 4] }, 4), /entry "w" has a dtype that is not a string: 4/);
  });

  it('an unknown dtype, named', () => {
    refuse(oneEntry({ dtype: 'Q4_K', shape: [1], data_offsets: [0, 4] }, 4), /entry "w" has unsupported dtype "Q4_K"/);
    refuse(oneEntry({ dtype: 'F64', shape: [1], data_offsets: [0, 8] }, 8), /unsupported dtype "F64" \(wgrad reads F32, F16, BF16, I64\)/);
    refuse(oneEntry({ dtype: 'toString', shape: [1], data_offsets: [0, 4] }, 4), /unsupported dtype "toString"/);
  });

  it('a missing or wrong-typed shape', () => {
    refuse(oneEntry({ dtype: 'F32', data_offsets: [0, 4] }, 4), /entry "w" has no shape/);
    refuse(oneEntry({ dtype: 'F32', shape: '1', data_offsets: [0, 4] }, 4), /entry "w" has a shape that is not a list: "1"/);
    refuse(oneEntry({ dtype: 'F32', shape: ['1'], data_offsets: [0, 4] }, 4), /shape \["1"\]; dims must be non-negative integers/);
  });

  it('negative or non-integer shape dims', () => {
    refuse(oneEntry({ dtype: 'F32', shape: [-1, 2], data_offsets: [0, 0] }, 0), /entry "w" has shape \[-1,2\]; dims must be non-negative integers/);
    refuse(oneEntry({ dtype: 'F32', shape: [1.5], data_offsets: [0, 4] }, 4), /entry "w" has shape \[1.5\]; dims must be non-negative integers/);
  });

  it('missing or wrong-typed data_offsets', () => {
    refuse(oneEntry({ dtype: 'F32', shape: [1] }, 4), /entry "w" has no data_offsets/);
    refuse(oneEntry({ dtype: 'F32', shape: [1], data_offsets: [0] }, 4), /entry "w" has data_offsets \[0\]; expected \[begin, end\]/);
    refuse(oneEntry({ dtype: 'F32', shape: [1], data_offsets: ['0', 4] }, 4), /data_offsets \["0",4\]; expected \[begin, end\]/);
    refuse(oneEntry({ dtype: 'F32', shape: [1], data_offsets: [-4, 0] }, 4), /data_offsets \[-4,0\]; expected \[begin, end\], non-negative integers/);
    refuse(oneEntry({ dtype: 'F32', shape: [1], data_offsets: { begin: 0, end: 4 } }, 4), /data_offsets \{"begin":0,"end":4\}/);
    refuse(oneEntry({ dtype: 'F32', shape: [1], data_offsets: [8, 4] }, 8), /data_offsets \[8, 4\] that end before they begin/);
  });

  it('a byte length that disagrees with dtype size × shape', () => {
    refuse(oneEntry({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }, 8), /entry "w" has data_offsets \[0, 8\] spanning 8 bytes, but F32 of shape \[3\] needs 12 bytes/);
    refuse(oneEntry({ dtype: 'F16', shape: [2, 2], data_offsets: [0, 16] }, 16), /F16 of shape \[2, 2\] needs 8 bytes/);
  });

  it('offsets that run past the data', () => {
    refuse(oneEntry({ dtype: 'F32', shape: [2], data_offsets: [0, 8] }, 4), /tensor "w" has data_offsets \[0, 8\] that run past the data \(4 bytes\)/);
  });

  it('overlapping tensors', () => {
    const bytes = rawFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      new Uint8Array(12),
    );
    refuse(bytes, /tensor "b" \[4, 12\] overlaps tensor "a" \[0, 8\]/);
    const same = rawFile(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      },
      new Uint8Array(4),
    );
    refuse(same, /overlaps tensor/);
  });

  it('a gap between tensors, or before the first', () => {
    const between = rawFile(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      new Uint8Array(12),
    );
    refuse(between, /gap of 4 bytes in the data after tensor "a" \(tensor "b" begins at 8\)/);
    refuse(oneEntry({ dtype: 'F32', shape: [1], data_offsets: [4, 8] }, 8), /gap of 4 bytes in the data before the first tensor/);
  });

  it('data beyond the last tensor', () => {
    refuse(oneEntry({ dtype: 'F32', shape: [1], data_offsets: [0, 4] }, 12), /8 bytes of data beyond the last tensor/);
    refuse(rawFile({}, new Uint8Array(3)), /3 bytes of data beyond the last tensor/);
  });

  it('__metadata__ that is not an object of strings', () => {
    refuse(rawFile({ __metadata__: { format: 'pt', epoch: 3 } }), /__metadata__ value for "epoch" is not a string: 3/);
    refuse(rawFile({ __metadata__: ['pt'] }), /__metadata__ is not an object/);
    expect(() => wg.io.safetensorsMetadata(rawFile({ __metadata__: { a: null } }), SOURCE)).toThrow(
      /ckpt\.safetensors: __metadata__ value for "a" is not a string: null/,
    );
  });

  it('loadSafetensors refuses the same files and makes no tensors', () => {
    const before = wg.memory().tensors;
    expect(() => wg.io.loadSafetensors(oneEntry({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }, 8), SOURCE)).toThrow(
      /ckpt\.safetensors: entry "w" .* needs 12 bytes/,
    );
    expect(wg.memory().tensors).toBe(before);
  });

  it('loadSafetensors disposes what it made when making a later tensor fails', () => {
    const bytes = rawFile(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        c: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      f32Bytes([1, 2, 3]),
    );
    const backend = currentBackend();
    const fromArray = backend.fromArray;
    let calls = 0;
    backend.fromArray = function (data) {
      if (++calls === 3) throw new Error('simulated out of memory');
      return fromArray.call(this, data);
    };
    const before = wg.memory().tensors;
    try {
      expect(() => wg.io.loadSafetensors(bytes, SOURCE)).toThrow(/simulated out of memory/);
    } finally {
      backend.fromArray = fromArray;
    }
    expect(calls).toBe(3);
    expect(wg.memory().tensors).toBe(before);
  });
});
