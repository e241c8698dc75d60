// The text/event-stream format (HTML Living Standard, Server-sent events).
import { jsonStringify } from '../platform/text';
import { LIMITS } from '../settings';
import { Response } from '../http/response';
import { Chunk, Puller, StreamSource, puller } from '../http/stream';

export interface ServerSentEvent {
  /** A string is sent as is (split over "data:" lines); anything else as JSON. */
  data?: unknown;
  event?: string;
  id?: string | number;
  /** Milliseconds the browser waits before reconnecting. */
  retry?: number;
  /** A comment line, ignored by browsers: a heartbeat. */
  comment?: string;
}

const LINE_BREAK = /\r\n|\r|\n/;

function field(name: string, value: string | number): string {
  const text = String(value);
  if (text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0) throw new Error('SSE ' + name + ' must be one line');
  return name + ': ' + text + '\n';
}

/** One event as text, ending with the blank line that dispatches it. */
export function formatEvent(message: ServerSentEvent): string {
  let text = '';
  if (message.comment !== undefined) text += ': ' + String(message.comment).split(LINE_BREAK).join('\n: ') + '\n';
  if (message.event !== undefined) text += field('event', message.event);
  if (message.id !== undefined) text += field('id', message.id);
  if (message.retry !== undefined) text += field('retry', Math.floor(message.retry));
  if (message.data !== undefined) {
    const data = typeof message.data === 'string' ? message.data : jsonStringify(message.data, LIMITS.maxJsonDepth);
    text += 'data: ' + data.split(LINE_BREAK).join('\ndata: ') + '\n';
  }
  return text + '\n';
}

/** An SSE item: event objects are formatted, text and bytes pass as they are. */
function sseText(item: unknown): Chunk | undefined {
  const isEvent = item !== null && typeof item === 'object' && !(item instanceof Uint8Array) && !(item instanceof ArrayBuffer);
  return isEvent ? formatEvent(item as ServerSentEvent) : (item as Chunk | undefined);
}

/**
 * A Server-Sent Events response (text/event-stream) from any stream source or an
 * SSEChannel. Each item is either text in the event-stream format ("data: 42\n\n")
 * or an event object ({ data, event, id, retry, comment }).
 */
export function sse(source: StreamSource<ServerSentEvent | Chunk> | Puller): Response {
  const res = new Response(null, 200, 'text/event-stream');
  res.stream = puller(source, sseText);
  res.head = 'Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n';
  return res;
}
