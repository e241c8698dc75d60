// Push-style Server-Sent Events: code calls send() whenever it likes; the
// connection pulls queued events as the socket drains. A hub broadcasts to
// every open channel and forgets the ones whose client left.
import { Response } from '../http/response';
import { Puller } from '../http/stream';
import { formatEvent, sse } from './event-stream';
import { encodeUtf8 } from '../platform/text';
import { startTimer, stopTimer } from '../platform/clock';
import { defaultsOnPrototype, appended, EMPTY_LIST } from '../platform/memory';

export interface SSEChannelOptions {
  /** Seconds of silence after which a comment is sent, so proxies and the client keep the stream (0: never). Default 15. */
  heartbeat?: number;
  /** Events kept while the client is slower than send(); older ones are dropped past this. Default 32. */
  maxQueue?: number;
}

type Waiter = (bytes: string | undefined) => void;

export class SSEChannel implements Puller {
  // Fields declared without a value start on the prototype (set below): a
  // connected client's channel holds only what differs, JsVars being scarce.
  declare closed: boolean;
  /** Called once when the stream ends: close(), or the client left. */
  declare onClose: (() => void) | null;

  declare private queue: string[];
  declare private waiting: Waiter | null;
  /** The connection's wake-up once next() gave null (see Puller.subscribe). */
  declare private ready: (() => void) | null;
  declare private ending: boolean;
  declare private heartbeatTimer: number | undefined;
  declare private readonly heartbeat: number;
  declare private readonly maxQueue: number;

  constructor(options: SSEChannelOptions = {}) {
    if (options.heartbeat !== undefined) this.heartbeat = options.heartbeat;
    if (options.maxQueue) this.maxQueue = options.maxQueue;
    this.armHeartbeat();
  }

  /** The response that streams this channel to one client. */
  response(): Response {
    return sse(this);
  }

  /** Queues an event; `data` that is not a string is sent as JSON. Returns false once the channel is closed. */
  send(data: unknown, options: { event?: string; id?: string | number; retry?: number } = {}): boolean {
    return this.push(formatEvent({ data: data, event: options.event, id: options.id, retry: options.retry }));
  }

  /** Queues a comment line (browsers ignore it). */
  comment(text: string): boolean {
    return this.push(formatEvent({ comment: text }));
  }

  /** Ends the stream once queued events are sent. */
  close(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.heartbeatTimer = stopTimer(this.heartbeatTimer);
    if (this.waiting) this.deliver(undefined);
    else this.wake();
  }

  next(): string | undefined | null | Promise<string | undefined> {
    if (this.queue.length) return this.queue.shift();
    if (this.ending || this.closed) {
      this.finish();
      return undefined;
    }
    if (this.ready) return null;
    return new Promise<string | undefined>((resolve) => { this.waiting = resolve; });
  }

  subscribe(ready: () => void): void {
    this.ready = ready;
  }

  /** The client left. */
  cancel(): void {
    this.queue = EMPTY_LIST;
    this.finish();
    if (this.waiting) this.deliver(undefined);
  }

  private push(text: string): boolean {
    if (this.closed || this.ending) return false;
    const bytes = encodeUtf8(text);
    if (this.waiting) this.deliver(bytes);
    else {
      if (this.queue.length >= this.maxQueue) this.queue.shift();
      this.queue = appended(this.queue, bytes);
      if (this.queue.length === 1) this.wake();
    }
    this.armHeartbeat();
    return true;
  }

  private deliver(bytes: string | undefined): void {
    const waiting = this.waiting as Waiter;
    this.waiting = null;
    if (bytes === undefined) this.finish();
    waiting(bytes);
  }

  /** Tells a subscriber there is more, from a timer: never inside the caller's send(). */
  private wake(): void {
    if (this.ready) startTimer(this.ready, 0);
  }

  private armHeartbeat(): void {
    this.heartbeatTimer = stopTimer(this.heartbeatTimer);
    if (this.heartbeat > 0 && !this.closed && !this.ending) {
      this.heartbeatTimer = startTimer(() => {
        this.heartbeatTimer = undefined;
        this.comment('ping');
      }, this.heartbeat * 1000);
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.heartbeatTimer = stopTimer(this.heartbeatTimer);
    if (this.onClose) this.onClose();
  }
}

defaultsOnPrototype(SSEChannel, {
  closed: false,
  onClose: null,
  queue: EMPTY_LIST,
  waiting: null,
  ready: null,
  ending: false,
  heartbeat: 15,
  maxQueue: 32,
});

/** Every connected SSE client of one kind of stream. */
export class SSEHub {
  private channels: SSEChannel[] = [];

  constructor(private options: SSEChannelOptions = {}) {}

  /** Clients connected now. */
  get size(): number {
    return this.channels.length;
  }

  /** A new channel in the hub (removed when it closes); return channel.response() from a handler. */
  channel(): SSEChannel {
    const channel = new SSEChannel(this.options);
    this.channels.push(channel);
    channel.onClose = () => {
      const index = this.channels.indexOf(channel);
      if (index >= 0) this.channels.splice(index, 1);
    };
    return channel;
  }

  /** Shorthand for a handler: `app.get('/events', () => hub.response())`. */
  response(): Response {
    return this.channel().response();
  }

  /** Sends an event to every connected client. Returns how many got it. */
  broadcast(data: unknown, options: { event?: string; id?: string | number; retry?: number } = {}): number {
    const open = this.channels.slice();
    let sent = 0;
    for (let i = 0; i < open.length; i++) if (open[i].send(data, options)) sent++;
    return sent;
  }

  /** Ends every stream. */
  closeAll(): void {
    const open = this.channels.slice();
    for (let i = 0; i < open.length; i++) open[i].close();
  }
}
