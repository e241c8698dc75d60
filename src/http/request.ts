// One HTTP request as handlers see it.
import { jsonParse, decodeUtf8, indexOfWhole } from '../platform/text';
import { LIMITS } from '../settings';
import { parseQuery, QueryParams } from './url';
import { Headers, ParsedMessage } from './parser';
import { defaultsOnPrototype } from '../platform/memory';
import { IncomingBody, BodySink, receiveWhole } from './body';

/** Route parameters: text, or a number for an <int:name> segment. */
export type PathParams = { [name: string]: string | number };

type ParamEntry<S extends string> = S extends `int:${infer N}` ? { [K in N]: number } : S extends `path:${infer N}` ? { [K in N]: string } : { [K in S]: string };

/** The parameters a route path declares, typed from its text: "/a/<int:id>/<name>" gives { id: number; name: string }. */
export type RouteParams<P extends string> = string extends P ? PathParams
  : P extends `${string}<${infer Segment}>${infer Rest}` ? ParamEntry<Segment> & RouteParams<Rest> : {};

/** The path of a request target (`question`: where its "?" is, or -1); of an absolute-form one, only the path (RFC 9112 §3.2.2). */
export function targetPath(target: string, question: number): string {
  const path = question < 0 ? target : target.substring(0, question);
  const scheme = path.charAt(0) === '/' ? -1 : indexOfWhole(path, '://');
  if (scheme < 0) return path;
  const slash = path.indexOf('/', scheme + 3);
  return slash < 0 ? '/' : path.substring(slash);
}

export class Request<P extends object = PathParams> {
  method: string;
  /** The path of the request target, still percent-encoded: "/users/42". */
  path: string;
  /** The raw query string after "?", or "". */
  declare query: string;
  /** Header fields with lowercase names; repeated fields are joined with ", ". */
  headers: Headers;
  /** The body as a byte string, or null when the request had none. */
  declare body: string | null;
  /** A streamed body still arriving (routes with { streamBody: true }), else null. */
  declare incoming: IncomingBody | null;
  /** The client's address, when the firmware's sockets expose it ("-" otherwise). */
  declare ip: string;
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version: number;
  /** Values of the route's parameters, percent-decoded: text, or a number for <int:name>. */
  pathParams: P = {} as P;
  /**
   * Who BasicAuthMiddleware or BearerAuthMiddleware let in: the user name or
   * the token, or what their verify function returned instead of `true`.
   */
  user?: any;
  /** When LoggingMiddleware saw the request arrive (seconds, getTime()). */
  startedAt?: number;

  private parsedQuery?: QueryParams;
  private parsedJson?: unknown;

  constructor(message: ParsedMessage, ip: string) {
    const target = message.target;
    const question = target.indexOf('?');
    this.method = message.method;
    this.path = targetPath(target, question);
    this.headers = message.headers;
    this.version = message.version;
    // Kept when they differ from the defaults on the prototype (below): a request a WebSocket or event stream holds costs less.
    if (question >= 0) this.query = target.substring(question + 1);
    if (message.body !== null) this.body = message.body;
    if (ip !== '-') this.ip = ip;
  }

  /** Query parameters, decoded on first use: "+" is a space, a repeated key gives an array. */
  get queryParams(): QueryParams {
    if (!this.parsedQuery) this.parsedQuery = parseQuery(this.query);
    return this.parsedQuery;
  }

  /** The body parsed as JSON on first use, or null when it is missing, not valid JSON, or nested deeper than 12 levels (LIMITS.maxJsonDepth). */
  get json(): any {
    if (this.parsedJson === undefined) {
      let value: unknown = null;
      if (this.body) {
        try {
          value = jsonParse(this.body, LIMITS.maxJsonDepth);
        } catch (e) {
          value = null;
        }
      }
      this.parsedJson = value;
    }
    return this.parsedJson;
  }

  /** The body decoded as UTF-8 text ("" when there is none). */
  get text(): string {
    return this.body ? decodeUtf8(this.body) : '';
  }

  /**
   * Takes a streamed body (a route with { streamBody: true }) piece by piece
   * into `sink`, pausing while a write's promise is pending. Resolves once the
   * sink's end() has; rejects (an HttpError: 400, 413, 408, or the sink's own)
   * when the body cannot be complete, after the sink's abort(). A request
   * without a body, or one its route took whole, goes to the sink at once.
   */
  receive(sink: BodySink): Promise<void> {
    return this.incoming ? this.incoming.receive(sink) : receiveWhole(this.body, sink);
  }

  /** The Last-Event-ID a reconnecting EventSource sends, or undefined. */
  get lastEventId(): string | undefined {
    return this.header('last-event-id');
  }

  /** A header field by name (any case), or undefined. */
  header(name: string): string | undefined {
    const key = name.toLowerCase();
    return Object.prototype.hasOwnProperty.call(this.headers, key) ? this.headers[key] : undefined;
  }
}

defaultsOnPrototype(Request, {
  query: '',
  body: null,
  incoming: null,
  ip: '-',
});
