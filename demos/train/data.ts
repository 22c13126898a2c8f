// The training pages' data: the procedural shapes, the mnist digits, or the
// visitor's own photos. Photos are decoded by the browser (createImageBitmap
// reads every format it can show, JPEG, PNG, WebP, GIF...), drawn on a canvas
// to get RGBA bytes, then centre-cropped and resized by the same fitImage the
// CLI's image folders go through.
import { makeDataset, openDataset, type Dataset } from '../../src/data/dataset';
import { fitImage, type DecodedImage } from '../../src/data/images';

export type DataChoice = 'shapes' | 'mnist' | 'photos';

export const DATA_LABELS: Record<DataChoice, string> = {
  shapes: 'Shapes (procedural)',
  mnist: 'Digits (MNIST)',
  photos: 'Your photos',
};

/** How a checkpoint's config names the photos (the CLI writes images:DIR). */
export const PHOTOS_SPEC = 'images:photos';

/** The choice a checkpoint's data spec stands for. */
export function choiceOf(spec: string): DataChoice {
  if (spec === 'shapes' || spec === 'mnist') return spec;
  return 'photos';
}

/** The spec the trainer's config records. */
export function specOf(choice: DataChoice): string {
  return choice === 'photos' ? PHOTOS_SPEC : choice;
}

/** Decodes image files with the browser; files it cannot read are skipped and named. */
export async function decodePhotos(files: Iterable<File>): Promise<{ images: DecodedImage[]; skipped: string[] }> {
  const images: DecodedImage[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    try {
      const bitmap = await createImageBitmap(file);
      const canvas = document.createElement('canvas');
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      const context = canvas.getContext('2d', { willReadFrequently: true })!;
      context.drawImage(bitmap, 0, 0);
      bitmap.close();
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      images.push({ width: canvas.width, height: canvas.height, rgba: new Uint8Array(data.buffer) });
    } catch {
      skipped.push(file.name);
    }
  }
  return { images, skipped };
}

/** Photos as an unlabelled Dataset of size × size images (fitted once, up front). */
export function photosDataset(photos: readonly DecodedImage[], size: number, channels: 1 | 3): Dataset {
  if (photos.length === 0) throw new Error('no photos yet: drop some on the page or pick them with the file button');
  const fitted = photos.map((p) => fitImage(p.rgba, p.width, p.height, size, channels));
  return makeDataset({ name: PHOTOS_SPEC, size, channels, count: fitted.length, classNames: [] }, (index, out) => {
    out.set(fitted[index]);
    return 0;
  });
}

export interface DataRequest {
  choice: DataChoice;
  size: number;
  /** default: the data's own (shapes and digits gray, photos colour) */
  channels?: 1 | 3;
  split: 'train' | 'test';
  seed: number;
}

/**
 * The dataset for a request. Photos have no held-out split: the test split
 * is the same photos (a handful of them is all a visitor drops).
 */
export async function openPageDataset(request: DataRequest, photos: readonly DecodedImage[]): Promise<Dataset> {
  const { choice, size, channels, split, seed } = request;
  if (choice === 'photos') return photosDataset(photos, size, channels ?? 3);
  return openDataset(choice, { size, channels, split, seed });
}
