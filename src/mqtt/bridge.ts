// The app on the fleet's message bus. Every topic is under <prefix>/<id>/:
//   status        "online" (retained) once connected; "offline" as the will, and on stop()
//   events/<name> what a hub broadcasts, for the hubs the app forwards
//   cmd/<name>    commands, run by the handler the app registered under <name>
//   reply/<name>  what that handler returned
import { Response } from '../http/response';
import { Handler } from '../pipeline';
import { isThenable } from '../http/maybe';
import { decodeUtf8, jsonStringify } from '../platform/text';
import { LIMITS } from '../settings';
import { MqttClient, MqttOptions, MqttStatus } from './client';
import { topicMatches } from './packets';
import { startTimer } from '../platform/clock';

export interface MqttBridgeOptions extends Partial<MqttOptions> {
  /** The device id: the board's topics are under <prefix>/<id>/, and it is the MQTT client id unless clientId is given. */
  id: string;
  /** Default "microserver". */
  prefix?: string;
}

/** Runs a command: gets the payload as text; what it returns (or resolves to) is the reply, a string as is, anything else as JSON; undefined sends none. */
export type CommandHandler = (payload: string) => unknown;

/** A hub whose broadcasts can be watched: SSEHub and WebSocketHub. */
export interface BroadcastSource {
  onBroadcast: ((data: any) => void) | null;
}

/** Throws unless `value` is one level of a topic: not empty, no separator, no wildcard. */
function checkLevel(what: string, value: string): void {
  if (typeof value !== 'string' || !value || value.indexOf('/') >= 0 || value.indexOf('+') >= 0 || value.indexOf('#') >= 0) throw new Error('MqttBridge: ' + what + ' must be one topic level (no /, + or #), got ' + JSON.stringify(value));
}

/** A payload to publish: text and bytes (a Uint8Array) as they are, anything else as JSON text. */
function payloadOf(data: unknown): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  // jsonStringify keeps non-ASCII text intact on a byte-string board, and bounds the nesting.
  return decodeUtf8(jsonStringify(data, LIMITS.maxJsonDepth));
}

export class MqttBridge {
  readonly client: MqttClient;
  /** <prefix>/<id>/ */
  readonly base: string;
  private commands: { [name: string]: CommandHandler } = {};
  private listeners: { filter: string; listener: (topic: string, payload: string) => void }[] = [];
  /** Messages received and not handled yet: topic, payload, topic, payload, ... (see runLater). */
  readonly inbox: unknown[] = [];
  /** Hub broadcasts not published yet: name, data, name, data, ... */
  readonly outbox: unknown[] = [];

  constructor(options: MqttBridgeOptions) {
    const prefix = options.prefix === undefined ? 'microserver' : options.prefix;
    checkLevel('id', options.id);
    checkLevel('prefix', prefix);
    this.base = prefix + '/' + options.id + '/';
    const clientOptions = {} as MqttOptions;
    for (const key in options) (clientOptions as unknown as { [key: string]: unknown })[key] = (options as unknown as { [key: string]: unknown })[key];
    clientOptions.clientId = options.clientId || options.id;
    clientOptions.will = { topic: this.base + 'status', payload: 'offline', qos: 1, retain: true };
    const client = new MqttClient(clientOptions);
    this.client = client;
    client.subscribe(this.base + 'cmd/+');
    client.onConnect = () => { client.publish(this.base + 'status', 'online', { qos: 1, retain: true }); };
    const handle = (topic: string, payload: string) => dispatch(this, topic, payload);
    client.onMessage = (topic, payload) => runLater(this, this.inbox, handle, topic, payload);
  }

  /** Connects (and reconnects until stop()). */
  start(): this {
    this.client.start();
    return this;
  }

  /** Publishes "offline" (retained), disconnects cleanly and stops. */
  stop(): void {
    this.client.publish(this.base + 'status', 'offline', { qos: 1, retain: true });
    this.client.stop();
  }

  /** Runs `handler` for each message on <prefix>/<id>/cmd/<name>; its result goes to reply/<name>. */
  command(name: string, handler: CommandHandler): this {
    checkLevel('a command name', name);
    if (typeof handler !== 'function') throw new Error('MqttBridge.command(' + name + '): the handler must be a function');
    this.commands[name] = handler;
    return this;
  }

  /** Publishes `data` to <prefix>/<id>/events/<name> (QoS 0; a string as is, anything else as JSON). */
  publishEvent(name: string, data: unknown): boolean {
    return this.client.publish(this.base + 'events/' + name, payloadOf(data));
  }

  /**
   * Publishes everything `hub` (an SSEHub or a WebSocketHub) broadcasts to events/<name> too,
   * from a timer right after the broadcast (an object changed meanwhile goes out changed).
   */
  forward(hub: BroadcastSource, name: string): this {
    checkLevel('an event name', name);
    const publish = (eventName: string, data: unknown) => this.publishEvent(eventName, data);
    hub.onBroadcast = (data) => runLater(this, this.outbox, publish, name, data);
    return this;
  }

  /** Calls `listener` (topic and payload as text) for every message matching `filter` (+ and # allowed), e.g. the fleet's statuses. */
  subscribe(filter: string, listener: (topic: string, payload: string) => void): this {
    if (typeof listener !== 'function') throw new Error('MqttBridge.subscribe(' + filter + '): the listener must be a function');
    this.client.subscribe(filter);
    this.listeners.push({ filter: filter, listener: listener });
    return this;
  }

  status(): MqttStatus & { base: string } {
    const status = this.client.status() as MqttStatus & { base: string };
    status.base = this.base;
    return status;
  }

  /** A route handler that answers with status() as JSON: `app.get('/mqtt', fleet.statusHandler())`. */
  statusHandler(): Handler {
    return () => Response.json(this.status());
  }
}

/**
 * Calls `run(first, second)` from a timer, in order with the pairs already in
 * `queue` (one timer for all that come before it fires); a throw goes to
 * lastError. Incoming messages and forwarded broadcasts go this way: a command
 * handler then starts on a fresh C stack, not inside the socket's 'data'
 * listener, and a broadcast is published outside the (maybe deep) code that
 * broadcast it. Inline, a command that broadcasts to a forwarded hub needed more
 * than the device's 24 KB; this way 20 KB, what the app's HTTP side needs.
 */
function runLater(bridge: MqttBridge, queue: unknown[], run: (first: any, second: any) => void, first: unknown, second: unknown): void {
  if (!queue.length) startTimer(() => runQueued(bridge, queue, run), 0);
  queue.push(first, second);
}

function runQueued(bridge: MqttBridge, queue: unknown[], run: (first: any, second: any) => void): void {
  while (queue.length) {
    const first = queue.shift();
    const second = queue.shift();
    try {
      run(first, second);
    } catch (e) {
      bridge.client.lastError = 'handler failed: ' + ((e && (e as Error).message) || String(e));
    }
  }
}

/** An incoming message: a command of this board, and/or what the app subscribed to. */
function dispatch(bridge: MqttBridge, topic: string, payload: string): void {
  const text = decodeUtf8(payload);
  const commandPrefix = bridge.base + 'cmd/';
  if (topic.indexOf(commandPrefix) === 0) runCommand(bridge, topic.substring(commandPrefix.length), text);
  const listeners = (bridge as unknown as { listeners: { filter: string; listener: (topic: string, payload: string) => void }[] }).listeners;
  for (let i = 0; i < listeners.length; i++) if (topicMatches(listeners[i].filter, topic)) listeners[i].listener(topic, text);
}

function runCommand(bridge: MqttBridge, name: string, payload: string): void {
  const commands = (bridge as unknown as { commands: { [name: string]: CommandHandler } }).commands;
  // Own names only: cmd/toString must not find Object.prototype's.
  const handler = commands.hasOwnProperty(name) ? commands[name] : undefined;
  if (!handler) return reply(bridge, name, { error: 'Unknown command ' + name });
  let result: unknown;
  try {
    result = handler(payload);
  } catch (e) {
    return failed(bridge, name, e);
  }
  if (isThenable(result)) (result as Promise<unknown>).then((value) => reply(bridge, name, value), (e) => failed(bridge, name, e));
  else reply(bridge, name, result);
}

function failed(bridge: MqttBridge, name: string, error: unknown): void {
  reply(bridge, name, { error: (error && (error as Error).message) || String(error) });
}

function reply(bridge: MqttBridge, name: string, value: unknown): void {
  if (value !== undefined) bridge.client.publish(bridge.base + 'reply/' + name, payloadOf(value), { qos: 1 });
}
