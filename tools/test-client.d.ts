// Types of the TestClient (tools/test-client.mjs), the package's "microserver-espruino/testing".

export class TestClientError extends Error {
  /** The answer, when a WebSocket upgrade or an event stream was refused. */
  response?: TestResponse;
}

export interface TestClientOptions {
  /** The board whose defaults are baked in (boards/<name>.json; default 'esp32'). */
  board?: string;
  /** 'esp32' (default): strings are bytes, as on a board; 'linux': Unicode strings. */
  mode?: 'esp32' | 'linux';
  /** How long to wait for each answer, in ms (default 5000). */
  timeoutMs?: number;
  /** Storage files present before the app starts: name → content. */
  storage?: { [name: string]: string };
  /** Receives each line the app prints; by default they are kept in `client.output`. */
  print?: (line: string) => void;
}

export interface RequestInit {
  /** Request headers; a Cookie header replaces the jar's cookies for this request. */
  headers?: HeadersInit;
  /** The body: a string (sent as UTF-8) or bytes. */
  body?: string | Uint8Array;
  /** A value sent as JSON (with Content-Type: application/json unless given). */
  json?: unknown;
  /** The port to reach when the app listens on more than one (else the first it listens on). */
  port?: number;
}

export interface WebSocketInit {
  headers?: HeadersInit;
  /** Subprotocols offered in Sec-WebSocket-Protocol. */
  protocols?: string[];
  /** The port to reach, as for requests. */
  port?: number;
}

export class TestResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The body's bytes (chunked bodies decoded). */
  readonly body: Buffer;
  /** status 200-299. */
  readonly ok: boolean;
  /** The body as UTF-8 text. */
  readonly text: string;
  /** The body parsed as JSON; throws a TestClientError when it is not JSON. */
  readonly json: any;
}

export class TestWebSocket {
  /** The subprotocol the app chose, if any. */
  readonly protocol: string | undefined;
  /** Set once the session is closed: the code the server sent (1006 when the connection just ended). */
  closeCode: number | undefined;
  closeReason: string | undefined;
  /** Sends a text message (string) or a binary one (bytes). */
  send(message: string | Uint8Array): void;
  ping(data?: string | Uint8Array): void;
  /** The next message (string for text, Buffer for binary); null once the server closed the session. */
  receive(): Promise<string | Buffer | null>;
  /** Closes the session; resolves with the close code the server answered. */
  close(code?: number, reason?: string): Promise<number>;
}

export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | undefined;
  retry: number | undefined;
}

export class TestEventStream {
  /** The response head (status, headers) of the stream. */
  readonly response: TestResponse;
  /** The next event; null when the server ends the stream. */
  next(): Promise<ServerSentEvent | null>;
  close(): void;
}

export class TestClient {
  /** Builds the app (a .ts entry, or a built .js bundle) and runs it in-process in the emulation. */
  static start(entry: string | URL, options?: TestClientOptions): Promise<TestClient>;
  /** The lines the app printed. */
  readonly output: string[];
  /** The cookie jar: name → value (paths and domains are not matched). */
  readonly cookies: Map<string, string>;
  request(method: string, path: string, init?: RequestInit): Promise<TestResponse>;
  get(path: string, init?: RequestInit): Promise<TestResponse>;
  head(path: string, init?: RequestInit): Promise<TestResponse>;
  post(path: string, init?: RequestInit): Promise<TestResponse>;
  put(path: string, init?: RequestInit): Promise<TestResponse>;
  patch(path: string, init?: RequestInit): Promise<TestResponse>;
  delete(path: string, init?: RequestInit): Promise<TestResponse>;
  options(path: string, init?: RequestInit): Promise<TestResponse>;
  /** Opens a WebSocket session; rejects with a TestClientError carrying `response` when the app does not upgrade. */
  webSocket(path: string, init?: WebSocketInit): Promise<TestWebSocket>;
  /** Opens a Server-Sent Events stream; rejects with a TestClientError carrying `response` when it is not one. */
  sse(path: string, init?: { headers?: HeadersInit; port?: number }): Promise<TestEventStream>;
  /** Stops the app: its timers, connections and servers. */
  close(): Promise<void>;
}
