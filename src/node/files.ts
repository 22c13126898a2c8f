// Files in Node, with errors a person can act on: every failure names the
// path, says what went wrong in words (not only ENOSPC or EISDIR) and what
// to do, and a write that fails half-way leaves no `.partial` file behind.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const REASONS: Record<string, string> = {
  ENOENT: 'it does not exist',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only; write somewhere else',
  ENOSPC: 'the disk is full; free some space or write somewhere else',
  EDQUOT: 'the disk quota is used up; free some space or write somewhere else',
  EMFILE: 'too many files are open',
  ENAMETOOLONG: 'the name is too long',
};

/** An Error naming `path` and what `doing` there failed, in words, keeping the system error as its cause. */
export function fileError(doing: string, path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException)?.code;
  const reason = (code && REASONS[code]) ?? (error as Error)?.message ?? String(error);
  return new Error(`cannot ${doing} ${path}: ${reason}${code ? ` (${code})` : ''}`, { cause: error });
}

/** A file's bytes; `what` says what it should be ("checkpoint"), for a folder or a missing file. */
export function readInput(path: string, what: string): Uint8Array {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no ${what} at ${path}`);
    throw fileError('read', path, error);
  }
  if (isFolder) throw new Error(`${path} is a folder; give the ${what} file itself`);
  try {
    return readFileSync(path);
  } catch (error) {
    throw fileError('read', path, error);
  }
}

/** Creates `path` and the folders above it, if missing. */
export function makeFolder(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw fileError('create the folder', path, (error as NodeJS.ErrnoException).code === 'ENOENT' ? whyNoFolder(path) ?? error : error);
  }
}

/**
 * A recursive mkdir reports ENOENT for any failure on the way (a read-only
 * file system included): the real error, from making the first missing
 * folder below the deepest one that exists, or null if none shows.
 */
function whyNoFolder(path: string): unknown {
  let missing = resolve(path);
  while (!existsSync(dirname(missing)) && dirname(missing) !== missing) missing = dirname(missing);
  try {
    mkdirSync(missing);
    rmdirSync(missing);
    return null;
  } catch (error) {
    return error;
  }
}

/** Writes bytes to `path` (replacing it) in one go. */
export function writeOutput(path: string, bytes: Uint8Array | string): void {
  try {
    writeFileSync(path, bytes);
  } catch (error) {
    throw fileError('write', path, error);
  }
}

export function appendOutput(path: string, text: string): void {
  try {
    appendFileSync(path, text);
  } catch (error) {
    throw fileError('write', path, error);
  }
}

/**
 * Writes bytes to `path.partial`, then renames it to `path`: a crash never
 * leaves half a file under `path`, and a failed write (a full disk, a
 * read-only folder) removes the partial file before it throws.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const temporary = `${path}.partial`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // the write's own error is the one to report
    }
    throw fileError('write', path, error);
  }
}
