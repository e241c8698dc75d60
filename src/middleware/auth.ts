// HTTP authentication (RFC 9110 §11): Basic (RFC 7617) and Bearer tokens
// (RFC 6750). Either is middleware for the whole app (optionally only some
// paths) or guards one route: app.get('/admin', auth.guard(handler)).
// Passwords and tokens are compared in constant time.
import { Request } from '../http/request';
import { Response } from '../http/response';
import { decodeComponent } from '../http/url';
import { decodeUtf8, encodeUtf8 } from '../platform/text';
import { Handler, compose } from '../pipeline';
import { MaybePromise, isThenable } from '../http/maybe';

/**
 * The requests an app-wide auth middleware covers: path prefixes ("/admin"
 * covers /admin and everything under /admin/), or a function deciding per request.
 */
export type AuthPaths = string[] | ((req: Request) => boolean);

/** A verify function's answer: falsy refuses; `true` lets the request in; any other value lets it in as req.user. */
export type AuthVerdict = unknown;

export interface BasicAuthOptions {
  /** Named in the challenge: browsers show it in their login prompt. Default "MicroServer". */
  realm?: string;
  /** Accepted user names and their passwords. */
  users?: { [user: string]: string };
  /** Decides instead of `users`, given the user name and password as text; may return a Promise. */
  verify?: (user: string, password: string, req: Request) => AuthVerdict | Promise<AuthVerdict>;
  /** As app-wide middleware, cover only these requests (default: all). `guard` always checks. */
  paths?: AuthPaths;
}

export interface BearerAuthOptions {
  /** Named in the challenge. Default "MicroServer". */
  realm?: string;
  /** Accepted tokens. */
  tokens?: string[];
  /** Decides instead of `tokens`; may return a Promise. */
  verify?: (token: string, req: Request) => AuthVerdict | Promise<AuthVerdict>;
  /** As app-wide middleware, cover only these requests (default: all). `guard` always checks. */
  paths?: AuthPaths;
}

const DEFAULT_REALM = 'MicroServer';
const BASE64 = /^[A-Za-z0-9+\/]+=*$/;
/** RFC 6750's b64token. */
const B64_TOKEN = /^[A-Za-z0-9._~+\/-]+=*$/;
/** Characters a quoted-string cannot hold (RFC 9110 §5.6.4): controls other than tab. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** 0 when `given` equals `expected`, else non-zero, after comparing every character of `expected` whatever `given` is. */
function difference(given: string, expected: string): number {
  let diff = given.length ^ expected.length;
  // Past the end of `given`, charCodeAt is NaN, which ^ treats as 0.
  for (let i = 0; i < expected.length; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff;
}

/**
 * True when `given` equals `expected`, in a time that depends on `expected`'s
 * length only: use it for secrets in your own verify functions.
 */
export function constantTimeEqual(given: string, expected: string): boolean {
  return difference(given, expected) === 0;
}

/** A realm as a quoted-string of UTF-8 bytes. */
function quotedRealm(realm: string | undefined): string {
  const text = realm === undefined ? DEFAULT_REALM : String(realm);
  if (CONTROL.test(text)) throw new Error('An auth realm cannot hold control characters');
  return '"' + encodeUtf8(text).split('\\').join('\\\\').split('"').join('\\"') + '"';
}

/**
 * The test `paths` describes. Prefixes are compared with the path
 * percent-decoded and in lowercase, so a request never escapes the check by
 * spelling its path differently from the route or mount it reaches.
 */
function coverage(paths: AuthPaths | undefined): ((req: Request) => boolean) | null {
  if (paths === undefined) return null;
  if (typeof paths === 'function') return paths;
  const exact: string[] = [];
  const under: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    let prefix = String(paths[i]).toLowerCase();
    if (prefix.charAt(0) !== '/') throw new Error('An auth path must start with "/": ' + paths[i]);
    if (prefix.charAt(prefix.length - 1) === '/') prefix = prefix.substring(0, prefix.length - 1);
    exact.push(prefix);
    under.push(prefix + '/');
  }
  return (req) => {
    let path: string;
    try {
      path = decodeComponent(req.path, false).toLowerCase();
    } catch (e) {
      return true; // not decodable: checked rather than let through
    }
    for (let i = 0; i < exact.length; i++) if (path === exact[i] || path.indexOf(under[i]) === 0) return true;
    return false;
  };
}

/** The credentials after `scheme` (lowercase) in the Authorization header; undefined when it has none in that scheme. */
function credentials(req: Request, scheme: string): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  if ((space < 0 ? header : header.substring(0, space)).toLowerCase() !== scheme) return undefined;
  return space < 0 ? '' : header.substring(space + 1).trim();
}

/** 401 (or 400 for a malformed request) with the challenge that tells the client how to authenticate. */
function refusal(status: number, challenge: string): Response {
  return Response.error(status === 400 ? 'Malformed Authorization header' : 'Unauthorized', status).addHeader('WWW-Authenticate', challenge);
}

/** Lets `req` in as `user` when `verdict` (or the promise of one) is truthy (undefined: go on); otherwise 401 with `challenge`. */
function admit(req: Request, verdict: AuthVerdict, user: string, challenge: string): MaybePromise<Response | undefined> {
  if (isThenable(verdict as MaybePromise<AuthVerdict>)) {
    return (verdict as Promise<AuthVerdict>).then((settled) => admit(req, settled, user, challenge));
  }
  if (!verdict) return refusal(401, challenge);
  req.user = verdict === true ? user : verdict;
  return undefined;
}

/** What both schemes share: which requests app-wide use covers, and guarding one handler. */
abstract class AuthMiddleware {
  private covers: ((req: Request) => boolean) | null;

  constructor(paths: AuthPaths | undefined) {
    this.covers = coverage(paths);
  }

  /** Refuses a request without valid credentials (401, or 400 when malformed); lets the others go on. */
  before(req: Request): MaybePromise<Response | undefined> {
    return this.covers && !this.covers(req) ? undefined : this.check(req);
  }

  /** `handler` behind this check, for one route: app.get('/admin', auth.guard(handler)). */
  guard(handler: Handler): Handler {
    return compose([{ before: (req: Request) => this.check(req) }], handler);
  }

  protected abstract check(req: Request): MaybePromise<Response | undefined>;
}

/** HTTP Basic authentication: a user name and password, sent by browsers after their login prompt. */
export class BasicAuthMiddleware extends AuthMiddleware {
  private challenge: string;
  /** User names and passwords as UTF-8 bytes, as they arrive. */
  private names: string[] = [];
  private passwords: string[] = [];
  private verify?: BasicAuthOptions['verify'];

  constructor(options: BasicAuthOptions) {
    super(options.paths);
    if (!options.users === !options.verify) throw new Error('BasicAuthMiddleware needs users or verify (one of them)');
    this.challenge = 'Basic realm=' + quotedRealm(options.realm) + ', charset="UTF-8"';
    this.verify = options.verify;
    const users = options.users || {};
    for (const name in users) {
      if (!Object.prototype.hasOwnProperty.call(users, name)) continue;
      if (name.indexOf(':') >= 0) throw new Error('A Basic auth user name cannot hold ":"');
      this.names.push(encodeUtf8(name));
      this.passwords.push(encodeUtf8(String(users[name])));
    }
  }

  protected check(req: Request): MaybePromise<Response | undefined> {
    const encoded = credentials(req, 'basic');
    const bytes = encoded && BASE64.test(encoded) ? atob(encoded) : '';
    const colon = bytes.indexOf(':');
    if (colon < 0) return refusal(401, this.challenge);
    const user = bytes.substring(0, colon);
    const password = bytes.substring(colon + 1);
    const verdict = this.verify ? this.verify(decodeUtf8(user), decodeUtf8(password), req) : this.known(user, password);
    return admit(req, verdict, decodeUtf8(user), this.challenge);
  }

  /** True when the pair is one of `users`; every user is compared, so the time does not tell which names exist. */
  private known(user: string, password: string): boolean {
    let found = false;
    for (let i = 0; i < this.names.length; i++) {
      if ((difference(user, this.names[i]) | difference(password, this.passwords[i])) === 0) found = true;
    }
    return found;
  }
}

/** Bearer tokens (RFC 6750) in the Authorization header, for API clients. */
export class BearerAuthMiddleware extends AuthMiddleware {
  private challenge: string;
  /** RFC 6750 §3.1: a malformed request (400) and a wrong token (401) are told apart. */
  private invalidRequest: string;
  private invalidToken: string;
  private tokens: string[];
  private verify?: BearerAuthOptions['verify'];

  constructor(options: BearerAuthOptions) {
    super(options.paths);
    if (!options.tokens === !options.verify) throw new Error('BearerAuthMiddleware needs tokens or verify (one of them)');
    this.challenge = 'Bearer realm=' + quotedRealm(options.realm);
    this.invalidRequest = this.challenge + ', error="invalid_request"';
    this.invalidToken = this.challenge + ', error="invalid_token"';
    this.verify = options.verify;
    this.tokens = (options.tokens || []).map(String);
    for (let i = 0; i < this.tokens.length; i++) {
      if (!B64_TOKEN.test(this.tokens[i])) throw new Error('A bearer token is letters, digits and -._~+/ (RFC 6750 b64token)');
    }
  }

  protected check(req: Request): MaybePromise<Response | undefined> {
    const token = credentials(req, 'bearer');
    // No token, or another scheme: the challenge alone, without an error code (RFC 6750 §3.1).
    if (token === undefined) return refusal(401, this.challenge);
    if (!B64_TOKEN.test(token)) return refusal(400, this.invalidRequest);
    const verdict = this.verify ? this.verify(token, req) : this.known(token);
    return admit(req, verdict, token, this.invalidToken);
  }

  /** True when `token` is one of `tokens`; every token is compared. */
  private known(token: string): boolean {
    let found = false;
    for (let i = 0; i < this.tokens.length; i++) if (difference(token, this.tokens[i]) === 0) found = true;
    return found;
  }
}
