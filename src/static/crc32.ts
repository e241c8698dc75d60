// CRC-32 (IEEE, as zlib) for ETags: computed once per file, a piece at a time.
// A typed array: Espruino looks up plain array indexes in O(n).

let table: Int32Array | null = null;

function makeTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

/** Start with CRC32_START, feed every piece of bytes in order, then crc32Finish. */
export const CRC32_START = -1;

export function crc32Update(crc: number, bytes: string): number {
  const t = table || (table = makeTable());
  for (let i = 0; i < bytes.length; i++) crc = t[(crc ^ bytes.charCodeAt(i)) & 255] ^ (crc >>> 8);
  return crc;
}

export function crc32Finish(crc: number): number {
  return (crc ^ -1) >>> 0;
}

/** The CRC-32 of a byte string. */
export function crc32(bytes: string): number {
  return crc32Finish(crc32Update(CRC32_START, bytes));
}
