// app.mountStatic: URL prefixes served from Storage names or fs directories.
import { Request } from '../http/request';
import { Response, FileOptions } from '../http/response';
import { serveFile } from './serve';
import { staticPath } from './paths';

export interface Mount {
  /** The URL prefix without its trailing slash ("" for "/"). */
  prefix: string;
  root: string;
  options: FileOptions;
}

/** The mounts with `mount` added, longest prefix first (a later mount of the same prefix replaces the earlier). */
export function addMount(mounts: Mount[], urlPath: string, root: string, options: FileOptions): Mount[] {
  const prefix = urlPath.charAt(urlPath.length - 1) === '/' ? urlPath.substring(0, urlPath.length - 1) : urlPath;
  if (prefix && prefix.charAt(0) !== '/') throw new Error('mountStatic: the URL path must start with "/"');
  if (options.fs && root && root.charAt(root.length - 1) !== '/') root += '/';
  const list = mounts.filter((m) => m.prefix !== prefix).concat([{ prefix: prefix, root: root, options: options }]);
  list.sort((a, b) => b.prefix.length - a.prefix.length);
  return list;
}

/** The response of the mount `req.path` falls under, or null when none does. */
export function serveMounted(mounts: Mount[], req: Request): Response | null {
  const path = req.path;
  for (let i = 0; i < mounts.length; i++) {
    const mount = mounts[i];
    if (path === mount.prefix && mount.prefix) return Response.redirect(mount.prefix + '/', 301);
    if (path.indexOf(mount.prefix + '/') !== 0) continue;
    if (req.method === 'OPTIONS') return new Response(null, 204).addHeader('Allow', 'GET, HEAD, OPTIONS');
    if (req.method !== 'GET' && req.method !== 'HEAD') return Response.error('Method Not Allowed', 405).addHeader('Allow', 'GET, HEAD');
    const name = staticPath(path.substring(mount.prefix.length + 1));
    if (name === null) return Response.error('Forbidden', 403);
    return serveFile(req, mount.root + name, mount.options);
  }
  return null;
}
