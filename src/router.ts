// Routes in a trie of path segments: static segments beat <param> segments,
// and each node keeps its handlers by method, so one lookup tells a match,
// 404 (no node) or 405 (a node without that method). Routes can be added and
// removed while the server runs (from the REPL); no cache needs invalidating.
import { decodeComponent } from './http/url';

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

class RouteNode<H> {
  /** Static children by segment. Looked up with hasOwnProperty: every Espruino object inherits on/emit. */
  children: { [segment: string]: RouteNode<H> } = {};
  param: RouteNode<H> | null = null;
  paramName = '';
  handlers: { [method: string]: H } | null = null;
}

export interface RouteMatch<H> {
  /** The handler for the method, or null for 405 (see `allow`). */
  handler: H | null;
  params: { [name: string]: string };
  /** Methods the path has, for the Allow header. */
  allow: string[];
}

export interface RouteInfo {
  method: string;
  path: string;
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function splitPath(path: string): string[] {
  if (path.charAt(0) !== '/') throw new Error('Route path must start with "/": ' + path);
  return path.split('/');
}

function isParam(segment: string): boolean {
  return segment.charAt(0) === '<' && segment.charAt(segment.length - 1) === '>';
}

/** Checks a route's segments before the trie changes, so a bad route leaves no trace. */
function checkSegments(segments: string[], path: string): void {
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    if (isParam(segment)) {
      const name = segment.substring(1, segment.length - 1);
      if (!PARAM_NAME.test(name) || name === '__proto__') throw new Error('Invalid parameter name <' + name + '> in route ' + path);
    } else if (segment.indexOf('<') >= 0 || segment.indexOf('>') >= 0) {
      throw new Error('A <param> must be a whole segment in route ' + path);
    } else if (segment === '__proto__') {
      throw new Error('Route ' + path + ': "__proto__" cannot be a path segment');
    }
  }
}

export class Router<H> {
  private root = new RouteNode<H>();
  /** Nodes of routes without parameters by their whole path: most requests need one lookup, no walk. */
  private exact: { [path: string]: RouteNode<H> } = {};
  /** Segments in the longest route: longer paths cannot match, and recursion stays shallow. */
  private maxSegments = 1;
  private list: RouteInfo[] = [];

  add(method: string, path: string, handler: H): void {
    const segments = splitPath(path);
    checkSegments(segments, path);
    let node = this.root;
    for (let i = 1; i < segments.length; i++) {
      const segment = segments[i];
      if (isParam(segment)) {
        const name = segment.substring(1, segment.length - 1);
        if (!node.param) {
          node.param = new RouteNode<H>();
          node.paramName = name;
        } else if (node.paramName !== name) {
          throw new Error('Route ' + path + ' names parameter <' + name + '> where another route has <' + node.paramName + '>');
        }
        node = node.param;
      } else {
        if (!hasOwn(node.children, segment)) node.children[segment] = new RouteNode<H>();
        node = node.children[segment];
      }
    }
    if (!node.handlers) node.handlers = {};
    if (path.indexOf('<') < 0) this.exact[path] = node;
    if (!hasOwn(node.handlers, method)) this.list.push({ method: method, path: path });
    node.handlers[method] = handler;
    if (segments.length > this.maxSegments) this.maxSegments = segments.length;
  }

  /** Removes a route's handlers (all methods unless one is named). Returns how many were removed. */
  remove(path: string, method?: string): number {
    const kept: RouteInfo[] = [];
    let removed = 0;
    for (let i = 0; i < this.list.length; i++) {
      const route = this.list[i];
      if (route.path === path && (method === undefined || route.method === method)) removed++;
      else kept.push(route);
    }
    if (!removed) return 0;
    // Rebuilding is simple and keeps the trie free of dead nodes; routes change rarely.
    const handlers: H[] = [];
    for (let i = 0; i < kept.length; i++) handlers.push(this.find(kept[i]) as H);
    this.root = new RouteNode<H>();
    this.exact = {};
    this.maxSegments = 1;
    this.list = [];
    for (let i = 0; i < kept.length; i++) this.add(kept[i].method, kept[i].path, handlers[i]);
    return removed;
  }

  /** Every route as { method, path }, in the order they were added. */
  routes(): RouteInfo[] {
    return this.list.slice();
  }

  /** Methods that some route accepts. */
  hasMethod(method: string): boolean {
    for (let i = 0; i < this.list.length; i++) if (this.list[i].method === method) return true;
    return false;
  }

  /**
   * Finds the route for a request. Returns null when no route has the path; a
   * match with a null handler when the path exists with other methods. GET
   * routes answer HEAD. Throws a 400 HttpError if a parameter is badly encoded.
   */
  match(method: string, path: string): RouteMatch<H> | null {
    const params: { [name: string]: string } = {};
    // Every key starts with "/", so no inherited property answers; a static route wins over parameters anyway.
    let node: RouteNode<H> | null = this.exact[path];
    if (!node) {
      const segments = path.split('/');
      if (segments.length > this.maxSegments || segments[0] !== '') return null;
      const raw: string[] = [];
      node = this.walk(this.root, segments, 1, raw);
      if (!node || !node.handlers) return null;
      for (let i = 0; i < raw.length; i += 2) params[raw[i]] = decodeComponent(raw[i + 1], false);
    }
    const handlers = node.handlers as { [method: string]: H };
    let handler = hasOwn(handlers, method) ? handlers[method] : null;
    if (!handler && method === 'HEAD' && hasOwn(handlers, 'GET')) handler = handlers.GET;
    return { handler: handler, params: params, allow: handler ? [] : this.allowed(handlers) };
  }

  private allowed(handlers: { [method: string]: H }): string[] {
    const allow: string[] = [];
    for (const method in handlers) if (hasOwn(handlers, method)) allow.push(method);
    if (hasOwn(handlers, 'GET') && !hasOwn(handlers, 'HEAD')) allow.push('HEAD');
    return allow;
  }

  /** Depth-first: the static child first, then the parameter, so /users/new beats /users/<id>. */
  private walk(node: RouteNode<H>, segments: string[], index: number, raw: string[]): RouteNode<H> | null {
    if (index === segments.length) return node.handlers ? node : null;
    const segment = segments[index];
    if (hasOwn(node.children, segment)) {
      const found = this.walk(node.children[segment], segments, index + 1, raw);
      if (found) return found;
    }
    if (node.param && segment !== '') {
      raw.push(node.paramName, segment);
      const found = this.walk(node.param, segments, index + 1, raw);
      if (found) return found;
      raw.pop();
      raw.pop();
    }
    return null;
  }

  private find(route: RouteInfo): H | undefined {
    const segments = splitPath(route.path);
    let node: RouteNode<H> | null = this.root;
    for (let i = 1; i < segments.length && node; i++) {
      const segment = segments[i];
      node = segment.charAt(0) === '<' ? node.param : hasOwn(node.children, segment) ? node.children[segment] : null;
    }
    return node && node.handlers ? node.handlers[route.method] : undefined;
  }
}
