// The part of gifenc (https://github.com/mattdesl/gifenc) that wgrad uses;
// the package ships no type declarations.
declare module 'gifenc' {
  /** Colours as [r, g, b] (or [r, g, b, a] for the rgba4444 format), bytes. */
  export type GifPalette = number[][];
  export type GifColorFormat = 'rgb565' | 'rgb444' | 'rgba4444';

  export interface GifFrameOptions {
    /** Required on the first frame (it becomes the global colour table); on a later frame it makes a local table. */
    palette?: GifPalette;
    /** Milliseconds; stored in hundredths of a second. */
    delay?: number;
    /** -1: play once, 0: loop forever, n: repeat n more times. Read on the first frame only. */
    repeat?: number;
    transparent?: boolean;
    transparentIndex?: number;
    dispose?: number;
    first?: boolean;
    colorDepth?: number;
  }

  export interface GifEncoderStream {
    writeFrame(index: Uint8Array, width: number, height: number, options?: GifFrameOptions): void;
    finish(): void;
    /** A copy of the bytes written so far. */
    bytes(): Uint8Array;
    /** A view of the bytes written so far, without copying. */
    bytesView(): Uint8Array;
    reset(): void;
    writeHeader(): void;
  }

  export function GIFEncoder(options?: { auto?: boolean; initialCapacity?: number }): GifEncoderStream;

  export function quantize(
    rgba: Uint8Array | Uint8ClampedArray,
    maxColors: number,
    options?: {
      format?: GifColorFormat;
      oneBitAlpha?: boolean | number;
      clearAlpha?: boolean;
      clearAlphaThreshold?: number;
      clearAlphaColor?: number;
    },
  ): GifPalette;

  /** One palette index per pixel, nearest in RGB(A) space. */
  export function applyPalette(
    rgba: Uint8Array | Uint8ClampedArray,
    palette: GifPalette,
    format?: GifColorFormat,
  ): Uint8Array;

  export default GIFEncoder;
}
