// The Server-Sent Events plug-in: `sse(source)` answers with an event stream;
// SSEChannel and SSEHub push events to one client or to many.
//   import { sse, SSEHub } from '../src/sse';
// Espruino's globals, for apps that import the package:
/// <reference path="../platform/espruino.d.ts" />
export { sse, formatEvent } from './event-stream';
export type { ServerSentEvent } from './event-stream';
export { SSEChannel, SSEHub } from './channel';
export type { SSEChannelOptions } from './channel';
