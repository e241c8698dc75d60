// Espruino's Storage (flash on a board, ./espruino.flash on Linux).
import { indexOfWhole } from './text';

/** Longest name a StorageFile (open()) may have: Storage's 28 minus the chunk number. */
export const MAX_STORAGE_FILE_NAME = 27;

export type StorageFile = EspruinoStorageFile;

export function openFile(name: string, mode: 'r' | 'w' | 'a'): StorageFile {
  return require('Storage').open(name, mode);
}

// Static files (src/static/) read through one of two backends: Storage names
// or require('fs') paths (the Linux build's file system, an SD card).

/** Longest Storage file name. */
export const MAX_STORAGE_NAME = 28;

/** Size in bytes and modification time in seconds (0 where the backend does not know it). */
export interface FileStat {
  size: number;
  mtime: number;
}

/** Reads a file forward from where it was opened; read() gives undefined at the end. */
export interface FileReader {
  read(length: number): string | undefined;
  close(): void;
}

export interface FileBackend {
  stat(name: string): FileStat | null;
  open(name: string, offset: number): FileReader;
  /** The CRC32 of the whole file where the firmware computes it natively without copying, else undefined. */
  crc32(name: string): number | undefined;
}

/**
 * Where `npm run flash` lists the short Storage names it gave files whose
 * names do not fit: JSON, {"www/long/name.js": "~1a2b3c4d5e.gz", ...}.
 * The value ends in ".gz" when the file was stored gzipped.
 */
export const MANIFEST_NAME = 'www.manifest';

/**
 * The Storage name holding `name` (a name ending in ".gz" asks for the gzipped
 * variant), or null. Names that fit are their own; longer ones are looked up
 * in the manifest, searched in place (memory-mapped on a device, so the
 * manifest is never parsed into RAM).
 */
function storageName(name: string): string | null {
  if (name.length <= MAX_STORAGE_NAME) return name;
  const manifest = require('Storage').read(MANIFEST_NAME);
  if (manifest === undefined) return null;
  const wantsGzip = name.substring(name.length - 3) === '.gz';
  const key = '"' + (wantsGzip ? name.substring(0, name.length - 3) : name) + '":"';
  const at = indexOfWhole(manifest, key);
  if (at < 0) return null;
  const start = at + key.length;
  const stored = manifest.substring(start, manifest.indexOf('"', start));
  return (stored.substring(stored.length - 3) === '.gz') === wantsGzip ? stored : null;
}

/** Storage: read(name, offset, length) is memory-mapped on a device, so a slice does not copy the file. */
export const STORAGE_BACKEND: FileBackend = {
  stat: (name) => {
    const stored = storageName(name);
    const data = stored === null ? undefined : require('Storage').read(stored);
    return data === undefined ? null : { size: data.length, mtime: 0 };
  },
  open: (name, offset) => {
    const stored = storageName(name) as string;
    let at = offset;
    return {
      read: (length) => {
        const piece = require('Storage').read(stored, at, length);
        at += length;
        return piece;
      },
      close: () => {},
    };
  },
  crc32: (name) => (typeof E.CRC32 === 'function' ? E.CRC32(require('Storage').read(storageName(name) as string) as string) >>> 0 : undefined),
};

/** require('fs'): statSync for the size and time, E.openFile to read a piece at a time. */
export const FS_BACKEND: FileBackend = {
  stat: (name) => {
    let st;
    try {
      st = require('fs').statSync(name);
    } catch (e) {
      return null;
    }
    if (!st || st.dir) return null;
    return { size: st.size, mtime: st.mtime ? Math.floor(st.mtime.getTime() / 1000) : 0 };
  },
  open: (name, offset) => {
    const file = E.openFile(name, 'r');
    if (offset) file.skip(offset);
    return { read: (length) => file.read(length), close: () => file.close() };
  },
  crc32: () => undefined,
};
