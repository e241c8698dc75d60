// Sources of streamed bodies, pulled one chunk at a time so a chunk is only
// produced once the socket has drained the previous one.
import { encodeUtf8 } from '../platform/text';
import { MaybePromise, isThenable } from './maybe';

/** A chunk: text (sent as UTF-8), or bytes as a Uint8Array or ArrayBuffer. */
export type Chunk = string | Uint8Array | ArrayBuffer;

/**
 * An array of chunks; a function returning the next chunk (or a Promise of
 * one), undefined at the end; or an iterator, such as a generator object.
 */
export type StreamSource<T = Chunk> =
  | T[]
  | (() => MaybePromise<T | undefined>)
  | Iterator<MaybePromise<T | undefined>, unknown>;

/** Pulls byte strings out of a source; undefined means the end. */
export interface Puller {
  /** A chunk, the end (undefined), a promise of either, or null (subscribers only): nothing yet, `ready` will be called. */
  next(): MaybePromise<string | undefined> | null;
  /** Stops the source early (the client left): a generator's finally blocks run. */
  cancel(): void;
  /**
   * For a source that is mostly waiting (an SSE channel): next() may then give
   * null and the source calls `ready` once there is more. One callback for the
   * whole stream holds far less heap than a promise and its reactions per wait;
   * a shared function and a token (what to call it with) less than a closure.
   */
  subscribe?(ready: (token: any) => void, token: any): void;
}

function toBytes(chunk: unknown): string | undefined {
  if (chunk === undefined || chunk === null) return undefined;
  if (typeof chunk === 'string') return encodeUtf8(chunk);
  return E.toString(chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : (chunk as Uint8Array));
}

/** True for an object that already pulls (an SSE channel, say): next() and cancel(). */
function isPuller(source: unknown): source is Puller {
  return !!source && typeof (source as Puller).next === 'function' && typeof (source as Puller).cancel === 'function';
}

/**
 * A Puller over any source. `map` turns each item into a chunk first (SSE
 * events into text); a source that is already a Puller is used as it is.
 */
export function puller(source: StreamSource<unknown> | Puller, map?: (item: unknown) => Chunk | undefined): Puller {
  if (isPuller(source)) return source;
  // Never f(g()) where g is user code that may throw: on Espruino a call whose
  // argument expression throws never frees the function called (a closure
  // here: it and its scope, ~40 JsVars per response).
  const convert = map ? (item: unknown) => {
    const chunk = map(item);
    return toBytes(chunk);
  } : toBytes;
  const settle = (value: MaybePromise<unknown>): MaybePromise<string | undefined> =>
    isThenable(value) ? value.then(convert) : convert(value as Chunk | undefined);
  if (Array.isArray(source)) {
    let index = 0;
    return {
      next: () => (index < source.length ? convert(source[index++]) : undefined),
      cancel: () => { index = source.length; },
    };
  }
  if (typeof source === 'function') {
    let cancelled = false;
    return {
      next: () => {
        if (cancelled) return undefined;
        const value = source();
        return settle(value);
      },
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
