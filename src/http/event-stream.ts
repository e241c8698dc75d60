// The text/event-stream format (HTML Living Standard, Server-sent events).
import { jsonStringify } from '../platform/text';
import { LIMITS } from '../settings';

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
