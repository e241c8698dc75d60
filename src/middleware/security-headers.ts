// Response headers that tell browsers to be careful with what the server
// sends. Like CORS, the header text is built once, at construction; a header
// the handler already set is left as it is.
import { Request } from '../http/request';
import { Response } from '../http/response';
import { indexOfWhole } from '../platform/text';

/** Each header's value, or false to leave it out. */
export interface SecurityHeadersOptions {
  /** X-Content-Type-Options: browsers must not guess a type other than Content-Type. Default "nosniff". */
  contentTypeOptions?: string | false;
  /** X-Frame-Options: whether other sites may show pages in a frame. Default "DENY" ("SAMEORIGIN" allows this site). */
  frameOptions?: string | false;
  /** Referrer-Policy: what browsers tell other sites about the page a link was on. Default "no-referrer". */
  referrerPolicy?: string | false;
  /** Content-Security-Policy. Default "default-src 'self'": no inline scripts or styles, nothing from other origins. */
  contentSecurityPolicy?: string | false;
}

export class SecurityHeadersMiddleware {
  /** Every header line, for responses that have none of them yet (most do not). */
  private all: string;
  /** Per header: "\n" + its lowercase name + ":", to find it in a response's head, and its line. */
  private markers: string[] = [];
  private lines: string[] = [];

  constructor(options: SecurityHeadersOptions = {}) {
    const chosen: [string, string | false | undefined, string][] = [
      ['X-Content-Type-Options', options.contentTypeOptions, 'nosniff'],
      ['X-Frame-Options', options.frameOptions, 'DENY'],
      ['Referrer-Policy', options.referrerPolicy, 'no-referrer'],
      ['Content-Security-Policy', options.contentSecurityPolicy, "default-src 'self'"],
    ];
    // addHeader checks each value once (no CR, LF or NUL) and writes its line.
    const lines = new Response();
    for (let i = 0; i < chosen.length; i++) {
      const name = chosen[i][0];
      const value = chosen[i][1];
      if (value === false) continue;
      const before = lines.head.length;
      lines.addHeader(name, value === undefined ? chosen[i][2] : value);
      this.markers.push('\n' + name.toLowerCase() + ':');
      this.lines.push(lines.head.substring(before));
    }
    this.all = lines.head;
  }

  after(_req: Request, res: Response): void {
    if (!res.head) res.head = this.all;
    else {
      const present = '\n' + res.head.toLowerCase();
      for (let i = 0; i < this.markers.length; i++) if (indexOfWhole(present, this.markers[i]) < 0) res.head += this.lines[i];
    }
  }
}
