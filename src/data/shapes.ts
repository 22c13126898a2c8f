// `shapes`: a procedural data set of geometric images, any amount, no
// download. Each image is a pure function of (seed, index), so a batch can
// be regenerated anywhere without storing it. Shapes are rasterised into a
// 4×4-supersampled coverage mask and averaged down, which anti-aliases
// edges. Plain CPU code; the caller uploads the result.

export const SHAPE_CLASSES = [
  'square', 'square-outline', 'circle', 'circle-outline',
  'triangle', 'triangle-outline', 'line', 'molnar-grid',
] as const;

export interface ShapesOptions {
  size: number;       // images are size × size
  channels: 1 | 3;    // 1: white on -1; 3: bright colour on a dark colour
  seed: number;
}

const SUPERSAMPLE = 4; // samples per pixel along each axis
const PAD = 0.5;       // px kept clear between a shape and the frame edge

// --- The local random stream -------------------------------------------

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A mulberry32 stream seeded from (seed, index, salt); independent of src/random.ts. */
function localStream(seed: number, index: number, salt: number): () => number {
  let s = mix32(mix32(mix32(seed ^ 0x9e3779b9) ^ index) ^ salt);
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296; // uniform in [0, 1)
  };
}

// Separate streams, so the label sequence, the geometry and the colours do
// not shift one another: a gray and a colour image share their geometry.
const GEOMETRY_SALT = 0x1234567;
const COLOUR_SALT = 0x2345678;
const LABEL_SALT = 0x7654321;

// --- Primitives: a bounding box and an inside test, in pixel units --------

type Point = [number, number];

interface Primitive {
  x0: number; y0: number; x1: number; y1: number; // bounding box
  inside(x: number, y: number): boolean;
}

/** The squared distance from (x, y) to the segment a–b (squared, so the inside tests need no square root). */
function squaredDistanceToSegment(x: number, y: number, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / len2));
  const ex = x - (a[0] + t * dx);
  const ey = y - (a[1] + t * dy);
  return ex * ex + ey * ey;
}

function boundsOf(points: Point[], grow: number) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return {
    x0: Math.min(...xs) - grow, y0: Math.min(...ys) - grow,
    x1: Math.max(...xs) + grow, y1: Math.max(...ys) + grow,
  };
}

/** Even–odd point-in-polygon. */
function filledPolygon(points: Point[]): Primitive {
  return {
    ...boundsOf(points, 0),
    inside(x, y) {
      let inside = false;
      for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
        const [xi, yi] = points[i];
        const [xj, yj] = points[j];
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    },
  };
}

/** Everything within stroke/2 of the closed polygon's edges. */
function polygonOutline(points: Point[], stroke: number): Primitive {
  const half = stroke / 2;
  const half2 = half * half;
  return {
    ...boundsOf(points, half),
    inside(x, y) {
      for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
        if (squaredDistanceToSegment(x, y, points[j], points[i]) <= half2) return true;
      }
      return false;
    },
  };
}

function disc(cx: number, cy: number, r: number): Primitive {
  return {
    x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r,
    inside: (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r,
  };
}

function ring(cx: number, cy: number, r: number, stroke: number): Primitive {
  const half = stroke / 2;
  // |distance − r| ≤ half, as a band of squared distances
  const inner = Math.max(0, r - half) ** 2;
  const outer = (r + half) ** 2;
  return {
    x0: cx - r - half, y0: cy - r - half, x1: cx + r + half, y1: cy + r + half,
    inside: (x, y) => {
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      return d2 >= inner && d2 <= outer;
    },
  };
}

function thickSegment(a: Point, b: Point, stroke: number): Primitive {
  const half = stroke / 2;
  const half2 = half * half;
  return { ...boundsOf([a, b], half), inside: (x, y) => squaredDistanceToSegment(x, y, a, b) <= half2 };
}

// --- Geometry per class ---------------------------------------------------

/** `n` vertices on a circle of radius r, starting at angle `theta`, each angle jittered. */
function regularPolygon(cx: number, cy: number, r: number, n: number, theta: number,
                        jitter: () => number = () => 0): Point[] {
  const points: Point[] = [];
  for (let k = 0; k < n; k++) {
    const a = theta + (2 * Math.PI * k) / n + jitter();
    points.push([cx + r * Math.cos(a), cy + r * Math.sin(a)]);
  }
  return points;
}

/**
 * A centre and radius such that a disc of radius r + reach stays PAD px
 * inside the frame; r is drawn between 22% of the frame and the largest
 * that fits.
 */
function placeInFrame(size: number, reach: number, rand: () => number) {
  const rMax = size / 2 - PAD - reach;
  const rMin = Math.min(0.22 * size, rMax);
  const r = rMin + (rMax - rMin) * rand();
  const lo = r + reach + PAD;
  const hi = size - lo;
  return { cx: lo + (hi - lo) * rand(), cy: lo + (hi - lo) * rand(), r };
}

function shapePrimitives(label: number, size: number, stroke: number, rand: () => number): Primitive[] {
  const name = SHAPE_CLASSES[label];
  const outline = name.endsWith('-outline');
  const reach = outline ? stroke / 2 : 0;
  switch (name) {
    case 'square':
    case 'square-outline': {
      const { cx, cy, r } = placeInFrame(size, reach, rand);   // r: centre to corner
      const corners = regularPolygon(cx, cy, r, 4, 2 * Math.PI * rand());
      return [outline ? polygonOutline(corners, stroke) : filledPolygon(corners)];
    }
    case 'circle':
    case 'circle-outline': {
      const { cx, cy, r } = placeInFrame(size, reach, rand);
      return [outline ? ring(cx, cy, r, stroke) : disc(cx, cy, r)];
    }
    case 'triangle':
    case 'triangle-outline': {
      // Vertices near 120° apart, jittered so triangles vary but never collapse.
      const { cx, cy, r } = placeInFrame(size, reach, rand);
      const corners = regularPolygon(cx, cy, r, 3, 2 * Math.PI * rand(), () => 0.6 * (rand() - 0.5));
      return [outline ? polygonOutline(corners, stroke) : filledPolygon(corners)];
    }
    case 'line': {
      // Half-length first, then the centre range that keeps both ends (with caps) inside.
      const margin = PAD + stroke / 2;
      const maxHalf = size / 2 - margin;
      const half = maxHalf * (0.5 + 0.5 * rand());
      const theta = Math.PI * rand();
      const dx = half * Math.cos(theta);
      const dy = half * Math.sin(theta);
      const cx = margin + Math.abs(dx) + (size - 2 * margin - 2 * Math.abs(dx)) * rand();
      const cy = margin + Math.abs(dy) + (size - 2 * margin - 2 * Math.abs(dy)) * rand();
      return [thickSegment([cx - dx, cy - dy], [cx + dx, cy + dy], stroke)];
    }
    case 'molnar-grid': {
      // Vera Molnár's (Dés)Ordres: a k×k grid of squares, each corner nudged.
      // Half-side 0.35 cell plus a nudge of at most 0.12 cell keeps squares in
      // their cells. Small frames get fewer cells and a thinner stroke (down to
      // half a pixel, drawn at half intensity), or the grid fills solid.
      const kMax = Math.max(3, Math.min(5, Math.floor(size / 4)));
      const k = 3 + Math.floor((kMax - 2) * rand());
      const cell = (size - 2 * PAD - stroke) / k;
      const gridStroke = Math.max(0.5, Math.min(stroke, 0.12 * cell));
      const margin = (size - k * cell) / 2; // centred; at least PAD + gridStroke / 2
      const nudge = () => 0.24 * cell * (rand() - 0.5);
      const squares: Primitive[] = [];
      for (let row = 0; row < k; row++) {
        for (let col = 0; col < k; col++) {
          const cx = margin + (col + 0.5) * cell;
          const cy = margin + (row + 0.5) * cell;
          const h = 0.35 * cell;
          const corners: Point[] = [[-h, -h], [h, -h], [h, h], [-h, h]].map(
            ([x, y]) => [cx + x + nudge(), cy + y + nudge()] as Point,
          );
          squares.push(polygonOutline(corners, gridStroke));
        }
      }
      return squares;
    }
  }
}

// --- Colours ----------------------------------------------------------------

/** HSV (all in [0, 1]) to RGB in [0, 1]. */
function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6) % 6;
  const f = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  return ([[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]] as const)[i].slice() as
    [number, number, number];
}

// --- Validation ---------------------------------------------------------------

function checkOptions(fn: string, options: ShapesOptions): void {
  const { size, channels, seed } = options;
  if (!Number.isInteger(size) || size < 8) {
    throw new Error(`${fn}: size must be an integer >= 8, got ${size}`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new Error(`${fn}: channels must be 1 or 3, got ${channels}`);
  }
  if (!Number.isInteger(seed)) {
    throw new Error(`${fn}: seed must be an integer, got ${seed}`);
  }
}

function checkIndex(fn: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${fn}: ${name} must be a non-negative integer, got ${value}`);
  }
}

// --- Public API ---------------------------------------------------------------

/**
 * The class of image `index`: each aligned block of 8 indices holds every
 * class once, in an order shuffled per block, so any 64 consecutive images
 * cover all classes and the sequence shows no period.
 */
export function shapeLabel(index: number, seed: number): number {
  checkIndex('shapeLabel', 'index', index);
  const block = Math.floor(index / SHAPE_CLASSES.length);
  const rand = localStream(seed, block, LABEL_SALT);
  const order = SHAPE_CLASSES.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) { // Fisher–Yates
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order[index % SHAPE_CLASSES.length];
}

/** One image [channels, size, size] in [-1, 1] of class `label`, a pure function of (seed, index). */
export function renderShape(label: number, options: ShapesOptions & { index: number }): Float32Array {
  checkOptions('renderShape', options);
  checkIndex('renderShape', 'index', options.index);
  if (!Number.isInteger(label) || label < 0 || label >= SHAPE_CLASSES.length) {
    throw new Error(`renderShape: label must be an integer in [0, ${SHAPE_CLASSES.length - 1}], got ${label}`);
  }
  const { size, channels, seed, index } = options;
  let background: number[];
  let foreground: number[];
  if (channels === 1) {
    background = [-1];
    foreground = [1];
  } else {
    const rand = localStream(seed, index, COLOUR_SALT);
    background = [0, 1, 2].map(() => -1 + 0.4 * rand());                  // dark: [-1, -0.6)
    foreground = hsvToRgb(rand(), 0.5 + 0.5 * rand(), 1).map((c) => 2 * c - 1); // brightest channel = 1
  }

  const stroke = Math.max(1, size / 16);
  const primitives = shapePrimitives(label, size, stroke, localStream(seed, index, GEOMETRY_SALT));

  // Coverage mask at SUPERSAMPLE× resolution; each primitive only visits its bounding box.
  const fine = size * SUPERSAMPLE;
  const mask = new Uint8Array(fine * fine);
  for (const p of primitives) {
    const i0 = Math.max(0, Math.floor(p.y0 * SUPERSAMPLE));
    const i1 = Math.min(fine - 1, Math.ceil(p.y1 * SUPERSAMPLE));
    const j0 = Math.max(0, Math.floor(p.x0 * SUPERSAMPLE));
    const j1 = Math.min(fine - 1, Math.ceil(p.x1 * SUPERSAMPLE));
    for (let i = i0; i <= i1; i++) {
      const y = (i + 0.5) / SUPERSAMPLE;
      for (let j = j0; j <= j1; j++) {
        if (!mask[i * fine + j] && p.inside((j + 0.5) / SUPERSAMPLE, y)) mask[i * fine + j] = 1;
      }
    }
  }

  // Average each pixel's samples and blend background → foreground by coverage.
  const image = new Float32Array(channels * size * size);
  const samples = SUPERSAMPLE * SUPERSAMPLE;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let covered = 0;
      for (let a = 0; a < SUPERSAMPLE; a++) {
        const row = (y * SUPERSAMPLE + a) * fine + x * SUPERSAMPLE;
        for (let b = 0; b < SUPERSAMPLE; b++) covered += mask[row + b];
      }
      const coverage = covered / samples;
      for (let c = 0; c < channels; c++) {
        image[(c * size + y) * size + x] = background[c] + coverage * (foreground[c] - background[c]);
      }
    }
  }
  return image;
}

/** Images start .. start+count-1: images [count, channels, size, size] (NCHW), labels [count]. */
export function shapesBatch(start: number, count: number, options: ShapesOptions):
    { images: Float32Array; labels: Float32Array } {
  checkOptions('shapesBatch', options);
  checkIndex('shapesBatch', 'start', start);
  checkIndex('shapesBatch', 'count', count);
  const { size, channels } = options;
  const imageLength = channels * size * size;
  const images = new Float32Array(count * imageLength);
  const labels = new Float32Array(count);
  for (let n = 0; n < count; n++) {
    const index = start + n;
    const label = shapeLabel(index, options.seed);
    labels[n] = label;
    images.set(renderShape(label, { ...options, index }), n * imageLength);
  }
  return { images, labels };
}
