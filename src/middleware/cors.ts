// CORS (Fetch standard). Options are turned into precomputed header text once,
// at construction, so a request costs a lookup and a string append.
import { Request } from '../http/request';
import { Response } from '../http/response';
import { indexOfWhole } from '../platform/text';

export interface CORSOptions {
  /** "*" (default), a list of allowed origins, or a function deciding per origin. */
  origins?: '*' | string | string[] | ((origin: string) => boolean);
  /** Allowed methods for preflight, "*" for any. */
  methods?: string;
  /** Allowed request headers for preflight, "*" for any. */
  headers?: string;
  /** Send Access-Control-Allow-Credentials; the origin is then echoed, never "*". */
  allowCredentials?: boolean;
  /** Seconds a browser may cache a preflight answer. */
  maxAge?: number;
  /** Response headers scripts may read. */
  exposeHeaders?: string;
}

export class CORSMiddleware {
  private allowOrigin: (origin: string) => boolean;
  /** Allow-Origin text for every response when any origin is fine and credentials are off. */
  private wildcard: string;
  private extra: string;
  private preflight: string;

  constructor(options: CORSOptions = {}) {
    const origins = options.origins === undefined ? '*' : options.origins;
    const credentials = !!options.allowCredentials;
    if (typeof origins === 'function') this.allowOrigin = origins;
    else if (origins === '*') this.allowOrigin = () => true;
    else {
      const list = typeof origins === 'string' ? origins.split(',').map((o) => o.trim()) : origins.slice();
      this.allowOrigin = (origin) => list.indexOf(origin) >= 0;
    }
    this.wildcard = origins === '*' && !credentials ? 'Access-Control-Allow-Origin: *\r\n' : '';
    this.extra = (credentials ? 'Access-Control-Allow-Credentials: true\r\n' : '') +
      (options.exposeHeaders ? 'Access-Control-Expose-Headers: ' + options.exposeHeaders + '\r\n' : '');
    this.preflight = 'Access-Control-Allow-Methods: ' + (options.methods || 'GET,POST,PUT,DELETE,OPTIONS') + '\r\n' +
      'Access-Control-Allow-Headers: ' + (options.headers || 'Content-Type,Authorization') + '\r\n' +
      (options.maxAge !== undefined ? 'Access-Control-Max-Age: ' + options.maxAge + '\r\n' : '');
  }

  /**
   * The Allow-Origin header text for this request. Unless every origin gets
   * "*", the answer depends on Origin, so caches are told (Vary) either way.
   */
  private originHead(origin: string | undefined): string {
    if (this.wildcard) return this.wildcard;
    if (origin === undefined || !this.allowOrigin(origin)) return 'Vary: Origin\r\n';
    return 'Access-Control-Allow-Origin: ' + origin + '\r\nVary: Origin\r\n';
  }

  /** A preflight is answered here; other requests go on. */
  before(req: Request): Response | undefined {
    const origin = req.headers.origin;
    if (req.method !== 'OPTIONS' || origin === undefined || req.headers['access-control-request-method'] === undefined) return undefined;
    const head = this.originHead(origin);
    const res = new Response(null, 204);
    res.head += indexOfWhole(head, 'Allow-Origin') >= 0 ? head + this.extra + this.preflight : head;
    return res;
  }

  after(req: Request, res: Response): void {
    const head = this.originHead(req.headers.origin);
    res.head += indexOfWhole(head, 'Allow-Origin') >= 0 ? head + this.extra : head;
  }
}
