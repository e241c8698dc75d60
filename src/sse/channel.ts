// Push-style Server-Sent Events: code calls send() whenever it likes; the
// connection pulls queued events as the socket drains. A hub broadcasts to
// every open channel and forgets the ones whose client left.
import { Response } from '../http/response';
import { Puller } from '../http/stream';
import { formatEvent, sse } from './event-stream';
import { encodeUtf8 } from '../platform/text';
import { startTimer, SecondTicker } from '../platform/clock';
import { defaultsOnPrototype, appended, EMPTY_LIST } from '../platform/memory';

export interface SSEChannelOptions {
  /** Seconds of silence after which a comment is sent, so proxies and the client keep the stream (0: never). Default 15. */
  heartbeat?: number;
  /** Events kept while the client is slower than send(); older ones are dropped past this. Default 32. */
  maxQueue?: number;
}

type Waiter = (bytes: string | undefined) => void;
/** The connection's wake-up (Puller.subscribe): called with the token it gave. */
type Ready = (token?: unknown) => void;

/**
 * An open channel costs the heap little: fields keep their defaults on the
 * prototype (an instance holds what changed, under names of at most 8
 * characters: one JsVar each on a 64-bit build), heartbeats come from one
 * shared 1-second ticker instead of a timer and closure per channel, the
 * queue is an array only while events wait, and a hub is told of a closed
 * channel through a reference, not a closure per channel.
 */
export class SSEChannel implements Puller {
  // Fields declared without a value start on the prototype (set below).
  declare closed: boolean;
  /** Called once when the stream ends: close(), or the client left. */
  declare onClose: (() => void) | null;

  declare private queue: string[];
  declare private waiting: Waiter | null;
  /** The connection's wake-up once next() gave null (see Puller.subscribe), and what to call it with. */
  declare private ready: Ready | null;
  declare private token: unknown;
  declare private ending: boolean;
  /** Heartbeat interval in seconds (0: none). */
  declare private beat: number;
  /** The shared ticker's second at which a heartbeat is due (reset by every event). */
  declare private beatAt: number;
  declare private maxQueue: number;
  /** The hub this channel is in (told when it closes). */
  declare hub: SSEHub | null;

  /** `hub`: the hub the channel belongs to, whose options it then reads (no copy per channel). */
  constructor(options: SSEChannelOptions = {}, hub?: SSEHub) {
    if (hub) this.hub = hub;
    else {
      if (options.heartbeat !== undefined && options.heartbeat !== this.beat) this.beat = options.heartbeat;
      if (options.maxQueue && options.maxQueue !== this.maxQueue) this.maxQueue = options.maxQueue;
    }
    if (heartbeatOf(this) > 0) watch(this);
  }

  /** The response that streams this channel to one client. */
  response(): Response {
    return sse(this);
  }

  /** Queues an event; `data` that is not a string is sent as JSON. Returns false once the channel is closed. */
  send(data: unknown, options: { event?: string; id?: string | number; retry?: number } = {}): boolean {
    return push(this, formatEvent({ data: data, event: options.event, id: options.id, retry: options.retry }));
  }

  /** Queues a comment line (browsers ignore it). */
  comment(text: string): boolean {
    return push(this, formatEvent({ comment: text }));
  }

  /** Ends the stream once queued events are sent. */
  close(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    unwatch(this);
    if (this.waiting) deliver(this, undefined);
    else wake(this);
  }

  next(): string | undefined | null | Promise<string | undefined> {
    if (this.queue.length) {
      const bytes = this.queue.shift();
      if (!this.queue.length) unset(this, 'queue'); // back to the shared empty list
      return bytes;
    }
    if (this.ending || this.closed) {
      finish(this);
      return undefined;
    }
    if (this.ready) return null;
    return new Promise<string | undefined>((resolve) => { this.waiting = resolve; });
  }

  /**
   * `ready(token)` is called (from a timer, never inside send()) once next()
   * has more after giving null. A shared function and a token cost the channel
   * two JsVars; a closure made per stream costs its scope too.
   */
  subscribe(ready: Ready, token?: unknown): void {
    this.ready = ready;
    if (token !== undefined) this.token = token;
  }

  /** The client left. */
  cancel(): void {
    unset(this, 'queue');
    finish(this);
    if (this.waiting) deliver(this, undefined);
  }
}

defaultsOnPrototype(SSEChannel, {
  closed: false,
  onClose: null,
  queue: EMPTY_LIST,
  waiting: null,
  ready: null,
  token: undefined,
  ending: false,
  beat: 15,
  beatAt: 0,
  maxQueue: 32,
  hub: null,
});

/** Puts `field` back to its default on the prototype (an own field set to the default would still hold a JsVar or two). */
function unset(channel: SSEChannel, field: string): void {
  delete (channel as unknown as { [field: string]: unknown })[field];
}

// The channel's steps are plain functions, not methods: see src/http/connection.ts on
// Espruino's lock count of `this`. Private fields are reached through this view.
interface Fields {
  closed: boolean;
  onClose: (() => void) | null;
  queue: string[];
  waiting: Waiter | null;
  ready: Ready | null;
  token: unknown;
  ending: boolean;
  beat: number;
  beatAt: number;
  maxQueue: number;
  hub: SSEHub | null;
}

function push(channel: SSEChannel, text: string): boolean {
  const c = channel as unknown as Fields;
  if (c.closed || c.ending) return false;
  const bytes = encodeUtf8(text);
  if (c.waiting) deliver(channel, bytes);
  else {
    if (c.queue.length >= (c.hub ? c.hub.maxQueue : c.maxQueue)) c.queue.shift();
    c.queue = appended(c.queue, bytes);
    if (c.queue.length === 1) wake(channel);
  }
  const beat = heartbeatOf(channel);
  if (beat > 0) c.beatAt = beats.second + beat;
  return true;
}

function deliver(channel: SSEChannel, bytes: string | undefined): void {
  const c = channel as unknown as Fields;
  const waiting = c.waiting as Waiter;
  unset(channel, 'waiting');
  if (bytes === undefined) finish(channel);
  waiting(bytes);
}

/** Tells a subscriber there is more, from a timer: never inside the caller's send(). */
function wake(channel: SSEChannel): void {
  const c = channel as unknown as Fields;
  if (!c.ready) return;
  if (c.token === undefined) startTimer(c.ready, 0);
  else (setTimeout as unknown as (f: Ready, ms: number, token: unknown) => number)(c.ready, 0, c.token); // no closure: the timer passes the token

}

function finish(channel: SSEChannel): void {
  const c = channel as unknown as Fields;
  if (c.closed) return;
  c.closed = true;
  unwatch(channel);
  const hub = c.hub;
  if (hub) {
    unset(channel, 'hub');
    forget(hub, channel);
  }
  if (c.onClose) c.onClose();
}

// --- Heartbeats: one ticker for every channel that has them.

/** Channels with a heartbeat, checked once a second while there are any. */
const beats = new SecondTicker<SSEChannel>((channel, second) => {
  if (second >= (channel as unknown as Fields).beatAt) channel.comment('ping');
});

/** Seconds between heartbeats: the hub's setting, or the channel's own. */
function heartbeatOf(channel: SSEChannel): number {
  const c = channel as unknown as Fields;
  return c.hub ? c.hub.heartbeat : c.beat;
}

function watch(channel: SSEChannel): void {
  (channel as unknown as Fields).beatAt = beats.second + heartbeatOf(channel);
  beats.watch(channel);
}

function unwatch(channel: SSEChannel): void {
  beats.unwatch(channel);
}

/** Drops a closed channel from its hub's list. */
function forget(hub: SSEHub, channel: SSEChannel): void {
  const channels = (hub as unknown as { channels: SSEChannel[] }).channels;
  const index = channels.indexOf(channel);
  if (index >= 0) channels.splice(index, 1);
}

/** Every connected SSE client of one kind of stream. */
export class SSEHub {
  private channels: SSEChannel[] = [];
  /** Its channels' settings (read by them: not copied into each). */
  readonly heartbeat: number;
  readonly maxQueue: number;
  /** Called with the data of every broadcast (before it is sent), e.g. to pass it on over MQTT. */
  onBroadcast: ((data: unknown) => void) | null = null;

  constructor(options: SSEChannelOptions = {}) {
    this.heartbeat = options.heartbeat !== undefined ? options.heartbeat : 15;
    this.maxQueue = options.maxQueue || 32;
  }

  /** Clients connected now. */
  get size(): number {
    return this.channels.length;
  }

  /** A new channel in the hub (removed when it closes); return channel.response() from a handler. */
  channel(): SSEChannel {
    const channel = new SSEChannel(undefined, this);
    this.channels.push(channel);
    return channel;
  }

  /** Shorthand for a handler: `app.get('/events', () => hub.response())`. */
  response(): Response {
    return this.channel().response();
  }

  /** Sends an event to every connected client. Returns how many got it. */
  broadcast(data: unknown, options: { event?: string; id?: string | number; retry?: number } = {}): number {
    if (this.onBroadcast) this.onBroadcast(data);
    // Formatted once for every client.
    const text = formatEvent({ data: data, event: options.event, id: options.id, retry: options.retry });
    const open = this.channels.slice();
    let sent = 0;
    for (let i = 0; i < open.length; i++) if (push(open[i], text)) sent++;
    return sent;
  }

  /** Ends every stream. */
  closeAll(): void {
    const open = this.channels.slice();
    for (let i = 0; i < open.length; i++) open[i].close();
  }
}
