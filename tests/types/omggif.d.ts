// The decoding half of omggif (https://github.com/deanm/omggif), used by the
// tests to read back the GIFs wgrad writes; the package ships no types.
declare module 'omggif' {
  export interface GifFrameInfo {
    x: number;
    y: number;
    width: number;
    height: number;
    has_local_palette: boolean;
    palette_offset: number | null;
    palette_size: number | null;
    data_offset: number;
    data_length: number;
    transparent_index: number | null;
    interlaced: boolean;
    /** Hundredths of a second. */
    delay: number;
    disposal: number;
  }

  export class GifReader {
    constructor(bytes: Uint8Array);
    readonly width: number;
    readonly height: number;
    numFrames(): number;
    /** null: no NETSCAPE2.0 block (plays once); 0: loops forever. */
    loopCount(): number | null;
    frameInfo(frame: number): GifFrameInfo;
    /** Draws the frame over `pixels` (width × height × 4 RGBA bytes). */
    decodeAndBlitFrameRGBA(frame: number, pixels: Uint8Array | Uint8ClampedArray | number[]): void;
  }
}
