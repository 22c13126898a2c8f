// The shapes the peer benchmark runs: square matmuls, the models' linear
// layers, and the conv layers of DCGAN 64×64, the VAE and the U-Net at
// their real sizes. `--quick` divides channels by 8 and runs batch 2, so a
// CPU adapter (SwiftShader) gets through every case in a couple of minutes.

export interface ConvShape {
  name: string;
  batch: number;
  inC: number;
  outC: number;
  /** input height = width (of the conv; for a transposed conv, of its input too) */
  size: number;
  k: number;
  stride: number;
  pad: number;
}

export interface MatmulShape {
  name: string;
  batch: number;
  m: number;
  k: number;
  n: number;
}

export interface BenchShapes {
  matmul: MatmulShape[];
  /** conv2d forward, input gradient and weight gradient */
  conv: ConvShape[];
  /** convTranspose2d forward (generator and decoder layers) */
  convT: ConvShape[];
  /** batchnorm forward + backward: [n, c, h, w] */
  batchnorm: { name: string; shape: [number, number, number, number] }[];
}

const conv = (name: string, batch: number, inC: number, outC: number, size: number, k: number, stride: number, pad: number): ConvShape => ({ name, batch, inC, outC, size, k, stride, pad });

const FULL: BenchShapes = {
  matmul: [
    // 4096³ (137 GFLOP) is the one set against the GPU's f32 peak (bench/device/)
    ...[256, 512, 1024, 2048, 4096].map((s) => ({ name: `square ${s}`, batch: 1, m: s, k: s, n: s })),
    { name: 'VAE fc: 64×2048 @ 2048×256', batch: 1, m: 64, k: 2048, n: 256 },
    { name: 'U-Net time MLP: 32×128 @ 128×512', batch: 1, m: 32, k: 128, n: 512 },
    { name: 'U-Net attention QKᵀ: 32 × (64×64 @ 64×64)', batch: 32, m: 64, k: 64, n: 64 },
  ],
  conv: [
    conv('DCGAN64 D1: b64 3→64 64² k4s2', 64, 3, 64, 64, 4, 2, 1),
    conv('DCGAN64 D2: b64 64→128 32² k4s2', 64, 64, 128, 32, 4, 2, 1),
    conv('DCGAN64 D3: b64 128→256 16² k4s2', 64, 128, 256, 16, 4, 2, 1),
    conv('DCGAN64 D4: b64 256→512 8² k4s2', 64, 256, 512, 8, 4, 2, 1),
    conv('VAE enc: b64 32→64 16² k4s2', 64, 32, 64, 16, 4, 2, 1),
    conv('U-Net: b32 32→32 32² k3', 32, 32, 32, 32, 3, 1, 1),
    conv('U-Net: b32 64→64 16² k3', 32, 64, 64, 16, 3, 1, 1),
    conv('U-Net up: b32 128→64 16² k3', 32, 128, 64, 16, 3, 1, 1),
    conv('U-Net down: b32 32→32 32² k3s2', 32, 32, 32, 32, 3, 2, 1),
  ],
  convT: [
    conv('DCGAN64 G2: b64 512→256 4² k4s2', 64, 512, 256, 4, 4, 2, 1),
    conv('DCGAN64 G3: b64 256→128 8² k4s2', 64, 256, 128, 8, 4, 2, 1),
    conv('DCGAN64 G4: b64 128→64 16² k4s2', 64, 128, 64, 16, 4, 2, 1),
    conv('DCGAN64 G5: b64 64→3 32² k4s2', 64, 64, 3, 32, 4, 2, 1),
    conv('VAE dec: b64 64→32 8² k4s2', 64, 64, 32, 8, 4, 2, 1),
  ],
  batchnorm: [
    { name: 'DCGAN64 G3 out: [64, 128, 16, 16]', shape: [64, 128, 16, 16] },
    { name: 'DCGAN64 D3 out: [64, 256, 8, 8]', shape: [64, 256, 8, 8] },
    { name: 'DCGAN64 G4 out: [64, 64, 32, 32]', shape: [64, 64, 32, 32] },
  ],
};

function quickConv(s: ConvShape): ConvShape {
  return { ...s, batch: 2, inC: Math.max(1, Math.ceil(s.inC / 8)), outC: Math.max(1, Math.ceil(s.outC / 8)) };
}

const QUICK: BenchShapes = {
  matmul: [
    ...[64, 128, 256].map((s) => ({ name: `square ${s}`, batch: 1, m: s, k: s, n: s })),
    { name: 'VAE fc: 8×256 @ 256×32', batch: 1, m: 8, k: 256, n: 32 },
    { name: 'U-Net attention QKᵀ: 4 × (16×16 @ 16×16)', batch: 4, m: 16, k: 16, n: 16 },
  ],
  conv: FULL.conv.map(quickConv),
  convT: FULL.convT.map(quickConv),
  batchnorm: FULL.batchnorm.map(({ name, shape }) => ({ name, shape: [2, Math.ceil(shape[1] / 8), shape[2], shape[3]] })),
};

export function benchShapes(quick: boolean): BenchShapes {
  return quick ? QUICK : FULL;
}

/** A conv shape's label with its (possibly scaled) numbers. */
export function convLabel(s: ConvShape): string {
  return `${s.name.split(':')[0]}: b${s.batch} ${s.inC}→${s.outC} ${s.size}² k${s.k}s${s.stride}`;
}

/** A batchnorm case's label: its name with the (possibly scaled) shape. */
export function batchnormLabel(s: { name: string; shape: number[] }): string {
  return s.name.replace(/\[.*\]/, `[${s.shape.join(', ')}]`);
}

/**
 * The shapes with each case's label as the results name it (the PyTorch
 * bench, bench/device/torch_bench.py, reads them from the JSON).
 */
export function labelledShapes(quick: boolean) {
  const s = benchShapes(quick);
  return {
    matmul: s.matmul.map((m) => ({ ...m, label: m.name })),
    conv: s.conv.map((c) => ({ ...c, label: convLabel(c) })),
    convT: s.convT.map((c) => ({ ...c, label: convLabel(c) })),
    batchnorm: s.batchnorm.map((b) => ({ ...b, label: batchnormLabel(b) })),
  };
}

export function convOutSize(s: ConvShape): number {
  return Math.floor((s.size + 2 * s.pad - s.k) / s.stride) + 1;
}

/** Output size of the transposed conv with input size s.size. */
export function convTOutSize(s: ConvShape): number {
  return (s.size - 1) * s.stride - 2 * s.pad + s.k;
}
