// A request body handed over in pieces as it arrives (a route with
// { streamBody: true }): the handler gives req.receive() a sink, the
// connection feeds it what the socket delivers and reads no further while a
// write's promise is pending. Nothing holds the whole body.
import { HttpError, httpError } from './errors';
import { defaultsOnPrototype } from '../platform/memory';
import { MaybePromise, isThenable } from './maybe';

/** Where a streamed body goes. */
export interface BodySink {
  /**
   * The next piece (a byte string). A promise pauses reading until it settles.
   * Throwing or rejecting refuses the body: an HttpError's status is answered.
   */
  write(chunk: string): MaybePromise<void>;
  /** The whole body arrived; a promise delays receive()'s until it settles. */
  end(): MaybePromise<void>;
  /** The body will not be complete (the client left, timed out, sent a malformed body, or a write failed): free what it holds. */
  abort(reason: string): void;
}

/** Why a body failed, as an HttpError: a 400 unless the error has a status. */
function bodyFailure(error: unknown): HttpError {
  return error && typeof (error as HttpError).status === 'number' ? (error as HttpError) : httpError(400, error && (error as Error).message ? (error as Error).message : String(error));
}

function abortQuietly(sink: BodySink, failure: HttpError): void {
  try {
    sink.abort(failure.message);
  } catch (e) {
    // the sink is being dropped either way
  }
}

/**
 * A body that is not arriving (the request had none, or its route took it
 * whole) handed to `sink` at once, settling as IncomingBody.receive() does.
 */
export function receiveWhole(body: string | null, sink: BodySink): Promise<void> {
  return new Promise<void>((resolve) => resolve(body ? sink.write(body) : undefined)).then(() => sink.end()).then(undefined, (error) => {
    const failure = bodyFailure(error);
    abortQuietly(sink, failure);
    throw failure;
  });
}

export class IncomingBody {
  declare sink: BodySink | null;
  /** A write's promise is pending: the connection reads no further. */
  declare writing: boolean;
  declare private settle: ((error: HttpError | null) => void) | null;

  /** `wake(owner)` has the connection feed the sink (from a timer, on a fresh stack). */
  constructor(private wake: (owner: any) => void, private owner: any) {}

  /** Starts feeding `sink`; resolves once its end() did, rejects when the body fails. */
  receive(sink: BodySink): Promise<void> {
    if (this.sink) return Promise.reject(new Error('The body is already being received'));
    return new Promise<void>((resolve, reject) => {
      this.sink = sink;
      this.settle = (error) => (error ? reject(error) : resolve());
      this.wake(this.owner);
    });
  }

  /** The body ended: the sink's end() runs, then receive() resolves (or rejects with what end() threw). */
  finish(): void {
    const sink = this.sink as BodySink;
    let ended;
    try {
      ended = sink.end();
    } catch (e) {
      this.fail(e);
      return;
    }
    if (isThenable(ended)) ended.then(() => this.done(null), (e) => this.fail(e));
    else this.done(null);
  }

  /** The body will not be complete: the sink aborts, receive() rejects (a 400 unless the error has a status). */
  fail(error: unknown): void {
    const failure = bodyFailure(error);
    if (this.sink) abortQuietly(this.sink, failure);
    this.done(failure);
  }

  private done(error: HttpError | null): void {
    const settle = this.settle;
    this.settle = null;
    if (settle) settle(error);
  }
}

defaultsOnPrototype(IncomingBody, {
  sink: null,
  writing: false,
  settle: null,
});
