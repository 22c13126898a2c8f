// `images:DIR` in Node: the PNG and JPEG files directly inside a folder,
// sorted by name, split by position (the last 10% are test), then decoded
// and fitted by imagesDataset (src/data/images.ts, which a page calls on
// dropped files). openDataset here is the core's with this folder reader.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { imagesDataset } from '../data/images';
import type { ImageFile } from '../data/images';
import { openDataset as openCoreDataset } from '../data/dataset';
import type { Dataset, DatasetOptions } from '../data/base';

const IMAGE_NAME = /\.(png|jpe?g)$/i;

/**
 * The files of one split: test is the last 10% by name (at least one file
 * when there are two or more), train the rest. Splitting by name before
 * decoding keeps the split stable when a file fails to decode.
 */
export function splitFileNames(names: readonly string[], split: 'train' | 'test'): string[] {
  const testCount = names.length >= 2 ? Math.max(1, Math.floor(names.length / 10)) : 0;
  const trainCount = names.length - testCount;
  return split === 'train' ? names.slice(0, trainCount) : names.slice(trainCount);
}

export async function openImageFolder(dir: string, options: DatasetOptions = {}): Promise<Dataset> {
  const name = `images:${dir}`;
  let isFolder: boolean;
  try {
    isFolder = (await stat(dir)).isDirectory();
  } catch (error) {
    throw new Error(`${name}: cannot open folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
  if (!isFolder) throw new Error(`${name}: ${dir} is not a folder`);

  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && IMAGE_NAME.test(entry.name))
    .map((entry) => entry.name)
    .sort(); // by UTF-16 code units: the same order on every machine and locale
  if (names.length === 0) throw new Error(`${name}: no PNG or JPEG files in ${dir}`);

  const split = options.split ?? 'train';
  const chosen = splitFileNames(names, split);
  if (chosen.length === 0) {
    throw new Error(`${name}: the ${split} split is empty (${names.length} image file in ${dir}; a test split needs at least 2)`);
  }
  const files: ImageFile[] = [];
  for (const file of chosen) { // one at a time: a big folder must not exhaust file handles
    const path = join(dir, file);
    files.push({ name: path, bytes: await readFile(path) });
  }
  return imagesDataset(name, files, options);
}

/** A dataset by name, as the core's openDataset, with `images:DIR` read from the disk. */
export function openDataset(spec: string, options: DatasetOptions = {}): Promise<Dataset> {
  return openCoreDataset(spec, options, openImageFolder);
}
