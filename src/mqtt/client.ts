// An MQTT 3.1.1 client on Espruino's `net`: CONNECT (keep-alive, client id,
// user name and password, clean session, last will), PUBLISH at QoS 0 and 1
// with retain, SUBSCRIBE (filters with + and #), PINGREQ.
//
// It reconnects by itself with a growing delay, and keeps what is published
// meanwhile in a bounded queue (the oldest is dropped past maxQueue). A QoS 1
// message stays "in flight" until its PUBACK; after a reconnect it is sent
// again with the DUP flag (§4.4). Whatever the broker sends that is malformed
// or longer than maxPacket closes the connection, which then reconnects.
//
// Steps are plain functions, not methods: see src/http/connection.ts on
// Espruino's lock count of `this`.
import { connect, writeSocket, Socket } from '../platform/net';
import { SecondTicker, startTimer, stopTimer } from '../platform/clock';
import { encodeUtf8, decodeUtf8 } from '../platform/text';
import {
  PacketParser, Will, topicNameProblem, topicFilterProblem, NEED_MORE, PACKET, CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP,
  encodeConnect, encodePublish, encodePuback, encodeSubscribe, markDuplicate, connackRefusal,
  readUint16, publishTopic, payloadStart, PINGREQ_PACKET, DISCONNECT_PACKET,
} from './packets';

export type { Will } from './packets';

export interface MqttOptions {
  /** The broker. Default 127.0.0.1:1883. */
  host?: string;
  port?: number;
  clientId: string;
  username?: string;
  password?: string;
  /** Seconds between the client's packets at most: a PINGREQ fills silences (0: no keep-alive). Default 60. */
  keepAlive?: number;
  /** Start each connection with no session state on the broker. Default true. */
  clean?: boolean;
  /** Published by the broker when the connection is lost without a DISCONNECT. */
  will?: Will;
  /** Seconds before the first reconnect, doubled after each failure up to reconnectMax. Defaults 1 and 30. */
  reconnectMin?: number;
  reconnectMax?: number;
  /** Messages kept while they cannot be sent yet (offline, or too many in flight); the oldest are dropped past it. Default 32. */
  maxQueue?: number;
  /** QoS 1 messages sent and not yet acknowledged at a time. Default 16. */
  maxInflight?: number;
  /** Largest packet accepted from the broker, in bytes (more closes the connection). Default 4096. */
  maxPacket?: number;
}

export type MqttState = 'offline' | 'connecting' | 'online' | 'stopped';

/** A message from a subscription: topic as text, payload as the bytes received. */
export type MessageListener = (topic: string, payload: string, retained: boolean) => void;

export interface MqttStatus {
  state: MqttState;
  broker: string;
  clientId: string;
  /** Successful connections so far. */
  connects: number;
  queued: number;
  inflight: number;
  /** Messages dropped from a full queue. */
  dropped: number;
  /** Why the last connection ended or failed ('' if none did). */
  lastError: string;
}

/** The socket's side of its client: where the shared listeners find it. */
interface OwnedSocket extends Socket {
  client?: MqttClient;
}

export class MqttClient {
  state: MqttState = 'offline';
  connects = 0;
  dropped = 0;
  lastError = '';
  /** Called with every message from a subscription. */
  onMessage: MessageListener | null = null;
  /** Called after each CONNACK that accepted the connection. */
  onConnect: (() => void) | null = null;
  /** Called with the reason each time the client goes offline. */
  onDisconnect: ((reason: string) => void) | null = null;

  readonly host: string;
  readonly port: number;
  readonly options: MqttOptions;
  socket: OwnedSocket | null = null;
  parser: PacketParser | null = null;
  /** Encoded PUBLISH packets waiting to be sent, oldest first. */
  queue: string[] = [];
  /** QoS 1 messages sent and not acknowledged: their ids, and their packets (for a resend). */
  inflightIds: number[] = [];
  inflightPackets: string[] = [];
  filters: string[] = [];
  lastId = 0;
  reconnectDelay: number;
  reconnectTimer: number | undefined = undefined;
  /** Seconds of the shared ticker at which something was last sent, and heard. */
  sentAt = 0;
  heardAt = 0;

  constructor(options: MqttOptions) {
    if (!options || typeof options.clientId !== 'string' || !options.clientId) throw new Error('MqttClient: options.clientId must be a non-empty string');
    this.options = options;
    this.host = options.host || '127.0.0.1';
    this.port = options.port || 1883;
    this.reconnectDelay = reconnectMin(this);
  }

  /** Connects, and keeps reconnecting until stop(). */
  start(): void {
    if (this.state !== 'offline' && this.state !== 'stopped') return;
    this.state = 'offline';
    open(this);
  }

  /**
   * Publishes `payload` (text, sent as UTF-8, or bytes in a Uint8Array) to `topic`.
   * QoS 1 is resent until acknowledged. Returns false for a stopped client;
   * offline, or with maxInflight messages unacknowledged, the message waits in
   * the queue (a full queue drops its oldest: pace bursts by status().queued).
   * Throws for a topic with a wildcard, or empty.
   */
  publish(topic: string, payload: string | Uint8Array, options: { qos?: 0 | 1; retain?: boolean } = {}): boolean {
    const problem = topicNameProblem(topic);
    if (problem) throw new Error('MqttClient.publish: ' + problem);
    if (this.state === 'stopped') return false;
    const qos = options.qos ? 1 : 0;
    const id = qos ? nextId(this) : 0;
    const queue = this.queue;
    if (queue.length >= (this.options.maxQueue || 32)) {
      queue.shift();
      this.dropped++;
    }
    const bytes = typeof payload === 'string' ? encodeUtf8(payload) : E.toString(payload);
    queue.push(encodePublish(topic, bytes, qos, options.retain === true, id));
    flush(this);
    return true;
  }

  /** Subscribes to `filter` (+ and # allowed) at QoS 1, now and on every reconnect. Throws for a malformed filter. */
  subscribe(filter: string): void {
    const problem = topicFilterProblem(filter);
    if (problem) throw new Error('MqttClient.subscribe: ' + problem);
    if (this.filters.indexOf(filter) >= 0) return;
    this.filters.push(filter);
    if (this.state === 'online') send(this, encodeSubscribe(nextId(this), [filter], 1));
  }

  /** Ends the connection with a DISCONNECT (so the will is not published) and stops reconnecting. */
  stop(): void {
    if (this.state === 'stopped') return;
    if (this.state === 'online') send(this, DISCONNECT_PACKET);
    close(this, '');
    this.state = 'stopped';
  }

  status(): MqttStatus {
    return {
      state: this.state,
      broker: this.host + ':' + this.port,
      clientId: this.options.clientId,
      connects: this.connects,
      queued: this.queue.length,
      inflight: this.inflightIds.length,
      dropped: this.dropped,
      lastError: this.lastError,
    };
  }
}

function reconnectMin(client: MqttClient): number {
  return client.options.reconnectMin || 1;
}

function keepAliveOf(client: MqttClient): number {
  const keepAlive = client.options.keepAlive;
  return keepAlive === undefined ? 60 : keepAlive;
}

/** Packet identifiers 1-65535, skipping those in flight. */
function nextId(client: MqttClient): number {
  do client.lastId = client.lastId >= 65535 ? 1 : client.lastId + 1;
  while (client.inflightIds.indexOf(client.lastId) >= 0);
  return client.lastId;
}

// --- The connection

/** One ticker for every client: keep-alive pings, a silent broker, a CONNACK that never comes. */
const ticker = new SecondTicker<MqttClient>((client, second) => {
  const keepAlive = keepAliveOf(client);
  // Without keep-alive, a connection attempt still gets 30 seconds for its CONNACK.
  const patience = keepAlive ? keepAlive + (keepAlive >> 1) : 30;
  if (second - client.heardAt > patience && (keepAlive || client.state === 'connecting')) {
    drop(client, 'no answer from the broker for ' + patience + ' s');
  } else if (client.state === 'online' && keepAlive && second - client.sentAt >= keepAlive) {
    send(client, PINGREQ_PACKET);
  }
});

function open(client: MqttClient): void {
  client.reconnectTimer = stopTimer(client.reconnectTimer);
  client.state = 'connecting';
  const socket = connect(client.host, client.port, () => greet(client)) as OwnedSocket | null;
  if (!socket) return drop(client, 'cannot connect to ' + client.host + ':' + client.port);
  socket.client = client;
  client.socket = socket;
  client.parser = new PacketParser(client.options.maxPacket || 4096);
  socket.on('data', socketData);
  socket.on('close', socketClose);
  client.heardAt = client.sentAt = ticker.second;
  ticker.watch(client);
}

/** The TCP connection is up: CONNECT. */
function greet(client: MqttClient): void {
  const o = client.options;
  send(client, encodeConnect({
    clientId: o.clientId,
    keepAlive: keepAliveOf(client),
    clean: o.clean !== false,
    username: o.username,
    password: o.password,
    will: o.will,
  }));
}

function send(client: MqttClient, bytes: string): void {
  if (!client.socket) return;
  writeSocket(client.socket, bytes);
  client.sentAt = ticker.second;
}

function socketClose(this: OwnedSocket): void {
  const client = this.client;
  if (client && client.socket === this) drop(client, 'connection closed');
}

/** The socket's 'data' listener: every whole packet in what arrived. */
function socketData(this: OwnedSocket, data: string): void {
  const client = this.client;
  const parser = client && client.socket === this ? client.parser : null;
  if (!client || !parser) return;
  client.heardAt = ticker.second;
  parser.feed(data);
  for (;;) {
    const result = parser.next();
    if (result === NEED_MORE) return;
    if (result !== PACKET) return drop(client, 'bad packet from the broker: ' + parser.error);
    const type = parser.type;
    const body = parser.body;
    parser.body = '';
    if (type === PUBLISH) received(client, parser.flags, body);
    else if (type === PUBACK) acknowledged(client, readUint16(body, 0));
    else if (type === CONNACK) {
      const refusal = client.state === 'connecting' ? connackRefusal(body) : 'CONNACK while connected';
      if (refusal) return drop(client, refusal);
      accepted(client);
    } else if (type === SUBACK && body.indexOf('\x80', 2) >= 0) client.lastError = 'the broker refused a subscription';
    // PINGRESP: hearing it was the point.
    else if (type !== SUBACK && type !== PINGRESP) return drop(client, 'unexpected packet type ' + type);
    // A handler may have stopped the client or dropped this connection.
    if (client.socket !== this) return;
  }
}

/** CONNACK accepted: resend what was in flight, subscribe again, then send what waited. */
function accepted(client: MqttClient): void {
  client.state = 'online';
  client.connects++;
  client.reconnectDelay = reconnectMin(client);
  const packets = client.inflightPackets;
  for (let i = 0; i < packets.length; i++) {
    packets[i] = markDuplicate(packets[i]);
    send(client, packets[i]);
  }
  if (client.filters.length) send(client, encodeSubscribe(nextId(client), client.filters, 1));
  if (client.onConnect) client.onConnect();
  flush(client);
}

/** An incoming PUBLISH: acknowledged first (QoS 1), then handed to onMessage. */
function received(client: MqttClient, flags: number, body: string): void {
  const qos = (flags >> 1) & 3;
  const start = payloadStart(body, qos);
  if (qos) send(client, encodePuback(readUint16(body, start - 2)));
  const listener = client.onMessage;
  if (!listener) return;
  try {
    listener(decodeUtf8(publishTopic(body)), body.substring(start), (flags & 1) === 1);
  } catch (e) {
    client.lastError = 'message handler failed: ' + ((e && (e as Error).message) || String(e));
  }
}

function acknowledged(client: MqttClient, id: number): void {
  const index = client.inflightIds.indexOf(id);
  if (index < 0) return;
  client.inflightIds.splice(index, 1);
  client.inflightPackets.splice(index, 1);
  flush(client);
}

/** Sends queued messages while online and the in-flight window has room. */
function flush(client: MqttClient): void {
  const queue = client.queue;
  const maxInflight = client.options.maxInflight || 16;
  while (client.state === 'online' && queue.length) {
    const packet = queue[0];
    const qos = (packet.charCodeAt(0) >> 1) & 3;
    if (qos) {
      if (client.inflightIds.length >= maxInflight) return;
      client.inflightIds.push(queuedId(packet));
      client.inflightPackets.push(packet);
    }
    queue.shift();
    send(client, packet);
  }
}

/** The packet identifier of an encoded QoS 1 PUBLISH: after the fixed header and the topic. */
function queuedId(packet: string): number {
  let at = 1;
  while (packet.charCodeAt(at) & 128) at++;
  at++;
  return readUint16(packet, at + 2 + readUint16(packet, at));
}

/** Closes the socket, if any, without a reason to reconnect. */
function close(client: MqttClient, reason: string): void {
  client.reconnectTimer = stopTimer(client.reconnectTimer);
  ticker.unwatch(client);
  const socket = client.socket;
  client.socket = null;
  client.parser = null;
  if (socket) {
    socket.client = undefined;
    try {
      socket.end();
    } catch (e) {
      // already closed by the peer
    }
  }
  if (reason) client.lastError = reason;
}

/** The connection failed or broke: close it and try again after the back-off delay. */
function drop(client: MqttClient, reason: string): void {
  if (client.state === 'stopped') return;
  const wasOnline = client.state === 'online';
  close(client, reason);
  client.state = 'offline';
  const delay = client.reconnectDelay;
  client.reconnectDelay = Math.min(delay * 2, client.options.reconnectMax || 30);
  // Jitter, so a fleet does not come back all in the same second after a broker restart.
  client.reconnectTimer = startTimer(() => open(client), delay * (750 + Math.random() * 500));
  if (wasOnline && client.onDisconnect) client.onDisconnect(reason);
}
