// Routes in a trie of path segments: static segments beat <int:n>, which beats
// <param>, which beats <path:rest>; each node keeps its handlers (and each
// route's parameter names) by method, so one lookup tells a match,
// 404 (no node) or 405 (a node without that method). Routes can be added and
// removed while the server runs (from the REPL); no cache needs invalidating.
import { decodeComponent } from './http/url';

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DIGITS = /^[0-9]+$/;

/** Kinds of segment, in the order they are tried: a static segment first, then these. */
const INT = 1;
const PARAM = 2;
const PATH = 3;

class RouteNode<H> {
  /** Static children by segment. Looked up with hasOwnProperty: every Espruino object inherits on/emit. */
  children: { [segment: string]: RouteNode<H> } = {};
  /** <int:name>: digits only, given as a number. */
  int: RouteNode<H> | null = null;
  /** <name>: any non-empty segment. */
  param: RouteNode<H> | null = null;
  /** <path:name> (the last segment): the rest of the path, slashes included. */
  path: RouteNode<H> | null = null;
  handlers: { [method: string]: H } | null = null;
  /** Each method's parameter names, in path order: two routes may name the same position differently. */
  names: { [method: string]: string[] } | null = null;
}

export interface RouteMatch<H> {
  /** The handler for the method, or null for 405 (see `allow`). */
  handler: H | null;
  params: { [name: string]: string | number };
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

/** The kind of a route segment (0 for a static one) and its parameter's name. */
function parseSegment(segment: string, path: string): { kind: number; name: string } {
  if (segment.charAt(0) !== '<' || segment.charAt(segment.length - 1) !== '>') {
    if (segment.indexOf('<') >= 0 || segment.indexOf('>') >= 0) throw new Error('A <param> must be a whole segment in route ' + path);
    if (segment === '__proto__') throw new Error('Route ' + path + ': "__proto__" cannot be a path segment');
    // How other frameworks write a parameter: ":id" (Express, Hono) or "{id}" (OpenAPI, FastAPI).
    const first = segment.charAt(0);
    const foreign = first === ':' ? segment.substring(1) : first === '{' && segment.charAt(segment.length - 1) === '}' ? segment.substring(1, segment.length - 1) : '';
    if (PARAM_NAME.test(foreign)) throw new Error('Route ' + path + ': write the parameter "' + segment + '" as <' + foreign + '> (or <int:...>, <path:...>)');
    return { kind: 0, name: '' };
  }
  let name = segment.substring(1, segment.length - 1);
  let kind = PARAM;
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const type = name.substring(0, colon);
    name = name.substring(colon + 1);
    if (type === 'int') kind = INT;
    else if (type === 'path') kind = PATH;
    else throw new Error('Route ' + path + ': unknown parameter type "' + type + '" in <' + type + ':' + name + '> (types: int, path)');
  }
  if (!PARAM_NAME.test(name) || name === '__proto__') throw new Error('Invalid parameter name <' + name + '> in route ' + path);
  return { kind: kind, name: name };
}

/** A route's segments, each one's kind and its parameter names, checked before the trie changes, so a bad route leaves no trace. */
function parseRoute(path: string): { segments: string[]; kinds: number[]; names: string[] } {
  const segments = splitPath(path);
  const kinds: number[] = [0];
  const names: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const parsed = parseSegment(segments[i], path);
    kinds.push(parsed.kind);
    if (!parsed.kind) continue;
    if (parsed.kind === PATH && i !== segments.length - 1) throw new Error('Route ' + path + ': <path:' + parsed.name + '> must be the last segment');
    if (names.indexOf(parsed.name) >= 0) throw new Error('Route ' + path + ' names parameter <' + parsed.name + '> twice');
    names.push(parsed.name);
  }
  return { segments: segments, kinds: kinds, names: names };
}

/** The child of `node` for a segment of `kind`, created when `create`. */
function childOf<H>(node: RouteNode<H>, kind: number, segment: string, create: boolean): RouteNode<H> | null {
  if (!kind) {
    if (!hasOwn(node.children, segment)) {
      if (!create) return null;
      node.children[segment] = new RouteNode<H>();
    }
    return node.children[segment];
  }
  const key = kind === INT ? 'int' : kind === PARAM ? 'param' : 'path';
  if (!node[key] && create) node[key] = new RouteNode<H>();
  return node[key];
}

export class Router<H> {
  private root = new RouteNode<H>();
  /** Nodes of routes without parameters by their whole path: most requests need one lookup, no walk. */
  private exact: { [path: string]: RouteNode<H> } = {};
  /** Segments in the longest route: longer paths cannot match, and recursion stays shallow. */
  private maxSegments = 1;
  private list: RouteInfo[] = [];

  add(method: string, path: string, handler: H): void {
    const route = parseRoute(path);
    const segments = route.segments;
    let node = this.root;
    for (let i = 1; i < segments.length; i++) node = childOf(node, route.kinds[i], segments[i], true) as RouteNode<H>;
    if (!node.handlers) node.handlers = {};
    if (!node.names) node.names = {};
    if (path.indexOf('<') < 0) this.exact[path] = node;
    if (!hasOwn(node.handlers, method)) this.list.push({ method: method, path: path });
    node.handlers[method] = handler;
    node.names[method] = route.names;
    if (path.indexOf('<path:') >= 0) this.maxSegments = Infinity;
    else if (segments.length > this.maxSegments) this.maxSegments = segments.length;
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
    const params: { [name: string]: string | number } = {};
    // Every key starts with "/", so no inherited property answers; a static route wins over parameters anyway.
    let node: RouteNode<H> | null = this.exact[path];
    const values: (string | number)[] = [];
    if (!node) {
      const segments = path.split('/');
      if (segments.length > this.maxSegments || segments[0] !== '') return null;
      node = this.walk(segments, values);
      if (!node || !node.handlers) return null;
    }
    const handlers = node.handlers as { [method: string]: H };
    let handler = hasOwn(handlers, method) ? handlers[method] : null;
    if (!handler && method === 'HEAD' && hasOwn(handlers, 'GET')) handler = handlers.GET;
    if (values.length) {
      const all = node.names as { [method: string]: string[] };
      const names = handler ? all[hasOwn(handlers, method) ? method : 'GET'] : all[this.allowed(handlers)[0]];
      for (let i = 0; i < names.length; i++) {
        const value = values[i];
        params[names[i]] = typeof value === 'number' ? value : decodeComponent(value, false);
      }
    }
    return { handler: handler, params: params, allow: handler ? [] : this.allowed(handlers) };
  }

  private allowed(handlers: { [method: string]: H }): string[] {
    const allow: string[] = [];
    for (const method in handlers) if (hasOwn(handlers, method)) allow.push(method);
    if (hasOwn(handlers, 'GET') && !hasOwn(handlers, 'HEAD')) allow.push('HEAD');
    return allow;
  }

  /**
   * Depth-first: the static child, then <int:>, <param>, <path:>, so /users/new
   * beats /users/<id>. A loop with its own stack of levels, not recursion: each
   * level of JavaScript recursion would take C stack, as deep as the path is long.
   */
  private walk(segments: string[], values: (string | number)[]): RouteNode<H> | null {
    // Per level (segment index - 1): the node reached, and the kind of child to try next from it.
    const nodes: RouteNode<H>[] = [this.root];
    const next: number[] = [0];
    while (nodes.length) {
      const level = nodes.length - 1;
      const node = nodes[level];
      const index = level + 1;
      let child: RouteNode<H> | null = null;
      if (index === segments.length) {
        if (node.handlers) return node;
      } else {
        const segment = segments[index];
        while (!child && next[level] <= PATH) {
          const kind = next[level]++;
          if (kind === 0) child = hasOwn(node.children, segment) ? node.children[segment] : null;
          else if (kind === INT) {
            if (node.int && DIGITS.test(segment)) {
              child = node.int;
              values.push(Number(segment));
            }
          } else if (kind === PARAM) {
            if (node.param && segment !== '') {
              child = node.param;
              values.push(segment);
            }
          } else if (node.path && node.path.handlers) {
            const rest = segments.slice(index).join('/');
            if (rest !== '') {
              values.push(rest);
              return node.path;
            }
          }
        }
      }
      if (child) {
        nodes.push(child);
        next.push(0);
        continue;
      }
      // This level is exhausted: back to its parent, taking back the value the step down took.
      nodes.pop();
      next.pop();
      const entered = nodes.length ? next[nodes.length - 1] - 1 : 0;
      if (entered === INT || entered === PARAM) values.pop();
    }
    return null;
  }

  private find(route: RouteInfo): H | undefined {
    const parsed = parseRoute(route.path);
    let node: RouteNode<H> | null = this.root;
    for (let i = 1; i < parsed.segments.length && node; i++) node = childOf(node, parsed.kinds[i], parsed.segments[i], false);
    return node && node.handlers ? node.handlers[route.method] : undefined;
  }
}
