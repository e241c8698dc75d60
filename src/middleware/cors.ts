// CORS (Fetch standard). Options are turned into precomputed header text once,
// at construction, so a request costs a lookup and a string append.
import { Request } from '../http/request';
import { Response } from '../http/response';

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

/** What a response to a refused (or absent) origin gets: caches are told the answer depends on Origin. */
const VARY_ONLY = 'Vary: Origin\r\n';

export class CORSMiddleware {
  private allowOrigin: (origin: string) => boolean;
  /** The lines every response gets when any origin is fine and credentials are off ("*"); else '' (they depend on Origin). */
  private everywhere: string;
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
    this.extra = (credentials ? 'Access-Control-Allow-Credentials: true\r\n' : '') +
      (options.exposeHeaders ? 'Access-Control-Expose-Headers: ' + options.exposeHeaders + '\r\n' : '');
    this.everywhere = origins === '*' && !credentials ? 'Access-Control-Allow-Origin: *\r\n' + this.extra : '';
    this.preflight = 'Access-Control-Allow-Methods: ' + (options.methods || 'GET,POST,PUT,DELETE,OPTIONS') + '\r\n' +
      'Access-Control-Allow-Headers: ' + (options.headers || 'Content-Type,Authorization') + '\r\n' +
      (options.maxAge !== undefined ? 'Access-Control-Max-Age: ' + options.maxAge + '\r\n' : '');
  }

  /** The lines for a request from `origin` when they depend on it: the origin echoed if allowed, and Vary either way. */
  private originLines(origin: string | undefined): string {
    if (origin === undefined || !this.allowOrigin(origin)) return VARY_ONLY;
    return 'Access-Control-Allow-Origin: ' + origin + '\r\n' + VARY_ONLY + this.extra;
  }

  /** A preflight is answered here; other requests go on. */
  before(req: Request): Response | undefined {
    const origin = req.headers.origin;
    if (req.method !== 'OPTIONS' || origin === undefined || req.headers['access-control-request-method'] === undefined) return undefined;
    const lines = this.everywhere || this.originLines(origin);
    const res = new Response(null, 204);
    res.head += lines === VARY_ONLY ? lines : lines + this.preflight;
    return res;
  }

  after(req: Request, res: Response): void {
    res.head += this.everywhere || this.originLines(req.headers.origin);
  }
}
