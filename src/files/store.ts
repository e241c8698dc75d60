// Files in Storage that are replaced whole or not at all.
//
// Storage has no rename, and replacing a file there erases the old one before
// the new one is written. So each file has two Storage names, "@0<name>" and
// "@1<name>" (slots), and a new version is written into the slot the current
// one does not use. A Storage file is created at its full size (filled with
// 0xFF) and its pieces fill it in; its last 12 bytes, the trailer, stay 0xFF
// until the upload is complete and verified. Then one small write fills in the
// trailer: "C", the length (8 hex digits), a generation (2 hex digits), "\n".
// That write is the commit; the old slot is erased after it. A file without a
// whole trailer is not a file: readers skip it, and tidyFiles() erases it.
// When both slots hold a committed trailer (power lost between the commit and
// the erase), the later generation is the file.
import { httpError } from '../http/errors';

/** Longest name of a stored file: Storage's 28 characters less the slot prefix. */
export const MAX_FILE_NAME = 26;
const PREFIX = '@';
const TRAILER = 12;
const TRAILER_SHAPE = /^C[0-9a-f]+\n$/;
const SLOTS = /^@[01]/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
/** Bytes Storage adds to a file (its header, and rounding): room kept beyond the data when checking free space. */
const STORAGE_OVERHEAD = 64;

/** A stored file: its name, its length, and where its bytes are. */
export interface StoredFile {
  name: string;
  size: number;
  storageName: string;
  generation: number;
}

function storage(): any {
  return require('Storage');
}

/** Throws a 400 unless `name` can name a stored file (letters, digits, "._-", not starting with a dot, at most 26). */
export function checkFileName(name: string): void {
  if (!FILE_NAME.test(name) || name.length > MAX_FILE_NAME) {
    throw httpError(400, 'File names are 1 to ' + MAX_FILE_NAME + ' letters, digits, ".", "_" or "-", not starting with "."');
  }
}

/** The committed version in one slot, or null (no file, or its trailer not written: an upload in progress or cut off). */
function committed(storageName: string): StoredFile | null {
  // Memory-mapped on a board and on the Linux build: only its length is used, nothing is copied.
  const whole = storage().read(storageName);
  if (whole === undefined || whole.length < TRAILER) return null;
  const capacity = whole.length - TRAILER;
  const trailer = storage().read(storageName, capacity, TRAILER);
  if (trailer.length !== TRAILER || !TRAILER_SHAPE.test(trailer)) return null;
  const size = parseInt(trailer.substr(1, 8), 16);
  if (!(size <= capacity)) return null;
  return { name: storageName.substring(2), size: size, storageName: storageName, generation: parseInt(trailer.substr(9, 2), 16) };
}

/** True when generation `a` was written after `b` (generations count modulo 256; only consecutive ones meet). */
function newer(a: StoredFile, b: StoredFile): boolean {
  const step = (a.generation - b.generation) & 255;
  return step > 0 && step < 128;
}

/** The current version of `name`, or null. */
export function findFile(name: string): StoredFile | null {
  const first = committed(PREFIX + '0' + name);
  const second = committed(PREFIX + '1' + name);
  if (!first || !second) return first || second;
  return newer(second, first) ? second : first;
}

/** Every stored file, by name. */
export function listFiles(): StoredFile[] {
  const names: string[] = storage().list(SLOTS);
  const found: StoredFile[] = [];
  const seen: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i].substring(2);
    if (seen.indexOf(name) >= 0) continue;
    seen.push(name);
    const file = findFile(name);
    if (file) found.push(file);
  }
  return found;
}

/** `length` bytes of a stored file from `offset` (memory-mapped on a board: nothing is copied until used). */
export function readFilePiece(file: StoredFile, offset: number, length: number): string {
  return storage().read(file.storageName, offset, length);
}

/** Names being written now: a second upload of the same name gets 409 rather than racing the first for the slot. */
const writing: string[] = [];

/** Removes a file (both slots). False when there was none, or it is being written. */
export function removeFile(name: string): boolean {
  if (writing.indexOf(name) >= 0) throw httpError(409, name + ' is being uploaded');
  const existed = !!findFile(name);
  storage().erase(PREFIX + '0' + name);
  storage().erase(PREFIX + '1' + name);
  return existed;
}

/**
 * Erases what a power loss left: slots never committed (an upload cut off) and
 * versions a later generation replaced. Run it at start-up, before serving.
 */
export function tidyFiles(): void {
  const names: string[] = storage().list(SLOTS);
  for (let i = 0; i < names.length; i++) {
    const name = names[i].substring(2);
    if (writing.indexOf(name) >= 0) continue;
    const current = findFile(name);
    if (!current || current.storageName !== names[i]) storage().erase(names[i]);
  }
}

/** Free bytes in Storage, counting what a compaction would reclaim (Storage.write compacts when it must). */
export function freeStorage(): number {
  const stats = storage().getStats ? storage().getStats() : null;
  return stats ? stats.freeBytes + stats.trashBytes : storage().getFree();
}

/** Bytes copied from Storage per step when a file must be hashed from a copy. */
const HASH_COPY_PIECE = 1024;

/**
 * The stored bytes of `name` as the crypto module can take them without a copy
 * on the C stack: where Storage is memory-mapped (a board) the string itself;
 * elsewhere (the Linux build's file) crypto would copy the string whole onto
 * the stack, which a 24 KB stack does not survive, so a flat copy in the heap.
 */
function hashableBytes(name: string, length: number): string | Uint8Array {
  const mapped = storage().read(name, 0, length);
  if (!length || E.getAddressOf(mapped, true)) return mapped;
  const copy = new Uint8Array(length);
  for (let at = 0; at < length; at += HASH_COPY_PIECE) copy.set(E.toUint8Array(storage().read(name, at, Math.min(HASH_COPY_PIECE, length - at))), at);
  return copy;
}

/** SHA-256 of `bytes` as lowercase hex, or undefined where the firmware has no crypto module. */
function sha256Hex(bytes: string | Uint8Array): string | undefined {
  let hash;
  try {
    hash = require('crypto').SHA256;
  } catch (e) {
    return undefined;
  }
  if (typeof hash !== 'function') return undefined;
  const digest = new Uint8Array(hash(bytes));
  let hex = '';
  for (let i = 0; i < digest.length; i++) hex += (digest[i] < 16 ? '0' : '') + digest[i].toString(16);
  return hex;
}

/**
 * Writes one new version of a file, a piece at a time, into the slot the
 * current version does not use. At most `capacity` bytes: that much Storage is
 * taken when the first piece arrives. Throws 507 at once when it does not fit,
 * 409 when the name is already being written.
 */
export class FileWriter {
  written = 0;
  private storageName: string;
  private generation: number;
  private open = true;

  constructor(public name: string, private capacity: number) {
    checkFileName(name);
    if (writing.indexOf(name) >= 0) throw httpError(409, name + ' is being uploaded');
    if (capacity + TRAILER + STORAGE_OVERHEAD > freeStorage()) {
      throw httpError(507, 'Not enough free Storage: ' + capacity + ' bytes needed, ' + freeStorage() + ' free');
    }
    const current = findFile(name);
    this.storageName = PREFIX + (current && current.storageName.charAt(1) === '0' ? '1' : '0') + name;
    this.generation = current ? (current.generation + 1) & 255 : 0;
    writing.push(name);
    // A slot left uncommitted by an earlier cut-off upload is reused from scratch.
    storage().erase(this.storageName);
  }

  /** Stores the next piece (the first creates the Storage file at its full size). */
  write(bytes: string): void {
    if (!bytes.length) return;
    if (this.written + bytes.length > this.capacity) throw httpError(413, this.name + ' is larger than ' + this.capacity + ' bytes');
    let stored;
    try {
      stored = this.written ? storage().write(this.storageName, bytes, this.written) : storage().write(this.storageName, bytes, 0, this.capacity + TRAILER);
    } catch (e) {
      stored = false;
    }
    if (!stored) throw httpError(507, 'Storage refused a write of ' + this.name + ' at byte ' + this.written);
    this.written += bytes.length;
  }

  /**
   * Verifies the stored bytes (their count, and their SHA-256 when `sha256` is
   * given as hex), then commits: one write of the trailer, then the old version
   * is erased. On a failed check the new bytes are erased and the old file stays.
   */
  commit(expectedLength: number | undefined, sha256: string | undefined): StoredFile {
    try {
      if (expectedLength !== undefined && expectedLength !== this.written) {
        throw httpError(400, this.name + ': ' + this.written + ' bytes arrived, ' + expectedLength + ' announced');
      }
      // An empty file is created by its trailer alone.
      if (!this.written) this.capacity = 0;
      else if (storage().read(this.storageName).length !== this.capacity + TRAILER) throw httpError(500, this.name + ': Storage holds a different size than was written');
      if (sha256 !== undefined) {
        const actual = sha256Hex(hashableBytes(this.storageName, this.written));
        if (actual === undefined) throw httpError(501, 'This firmware has no crypto module to check a SHA-256');
        if (actual !== sha256.toLowerCase()) throw httpError(400, this.name + ': SHA-256 mismatch (stored bytes hash to ' + actual + ')');
      }
      const length = this.written.toString(16);
      const generation = this.generation.toString(16);
      const trailer = 'C' + '00000000'.substring(length.length) + length + (generation.length < 2 ? '0' : '') + generation + '\n';
      if (!storage().write(this.storageName, trailer, this.capacity, this.written ? undefined : TRAILER)) throw httpError(507, 'Storage refused the commit of ' + this.name);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.release();
    const stored = committed(this.storageName) as StoredFile;
    const old = PREFIX + (this.storageName.charAt(1) === '0' ? '1' : '0') + this.name;
    storage().erase(old);
    return stored;
  }

  /** Drops the new bytes (and their Storage); the current version stays. */
  abort(): void {
    if (!this.open) return;
    storage().erase(this.storageName);
    this.release();
  }

  private release(): void {
    this.open = false;
    const at = writing.indexOf(this.name);
    if (at >= 0) writing.splice(at, 1);
  }
}
