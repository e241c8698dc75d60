// Sources of streamed bodies, pulled one chunk at a time so a chunk is only
// produced once the socket has drained the previous one.
import { encodeUtf8 } from '../platform/text';
import { MaybePromise, isThenable } from '../middleware/types';

/** A chunk: text (sent as UTF-8), or bytes as a Uint8Array or ArrayBuffer. */
export type Chunk = string | Uint8Array | ArrayBuffer;

/**
 * An array of chunks; a function returning the next chunk (or a Promise of
 * one), undefined at the end; or an iterator, such as a generator object.
 */
export type StreamSource =
  | Chunk[]
  | (() => MaybePromise<Chunk | undefined>)
  | Iterator<MaybePromise<Chunk | undefined>, unknown>;

/** Pulls byte strings out of a source; undefined means the end. */
export interface Puller {
  next(): MaybePromise<string | undefined>;
  /** Stops the source early (the client left): a generator's finally blocks run. */
  cancel(): void;
}

export function toBytes(chunk: Chunk | undefined): string | undefined {
  if (chunk === undefined || chunk === null) return undefined;
  if (typeof chunk === 'string') return encodeUtf8(chunk);
  return E.toString(chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : chunk);
}

function settle(value: MaybePromise<Chunk | undefined>): MaybePromise<string | undefined> {
  return isThenable(value) ? value.then(toBytes) : toBytes(value);
}

export function puller(source: StreamSource): Puller {
  if (Array.isArray(source)) {
    let index = 0;
    return {
      next: () => (index < source.length ? toBytes(source[index++]) : undefined),
      cancel: () => { index = source.length; },
    };
  }
  if (typeof source === 'function') {
    let cancelled = false;
    return {
      next: () => (cancelled ? undefined : settle(source())),
      cancel: () => { cancelled = true; },
    };
  }
  if (source && typeof source.next === 'function') {
    return {
      next: () => {
        const step = source.next();
        return step.done ? undefined : settle(step.value as MaybePromise<Chunk | undefined>);
      },
      cancel: () => { if (typeof source.return === 'function') source.return(); },
    };
  }
  throw new Error('A stream source must be an array, a function or an iterator');
}
