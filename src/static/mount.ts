// mountStatic: a URL prefix served from Storage names or an fs directory, as
// routes: "<prefix>/" (its index.html) and "<prefix>/<path:file>", so the app's
// own routes win (static segments beat <path:>) and a longer prefix wins over a
// shorter one; "<prefix>" redirects to "<prefix>/".
import type { MicroServer } from '../server';
import { Request } from '../http/request';
import { Response } from '../http/response';
import { sendFile, FileOptions } from './serve';
import { staticPath } from './paths';

export function mountStatic(app: MicroServer, urlPath: string, root: string, options: FileOptions = {}): MicroServer {
  const prefix = urlPath.charAt(urlPath.length - 1) === '/' ? urlPath.substring(0, urlPath.length - 1) : urlPath;
  if (prefix && prefix.charAt(0) !== '/') throw new Error('mountStatic: the URL path must start with "/"');
  if (prefix.indexOf('<') >= 0) throw new Error('mountStatic: the URL path ' + urlPath + ' cannot hold parameters');
  if (options.fs && root && root.charAt(root.length - 1) !== '/') root += '/';
  const serve = (req: Request) => {
    // The raw path, not the decoded parameter: staticPath refuses what an encoding could hide.
    const name = staticPath(req.path.substring(prefix.length + 1));
    return name === null ? Response.error('Forbidden', 403) : sendFile(req, root + name, options);
  };
  app.get(prefix + '/<path:file>', serve);
  // The app's own route at "<prefix>/" (its "/" page, say) stays.
  const index = prefix + '/';
  if (!app.routes().some((route) => route.method === 'GET' && route.path === index)) app.get(index, serve);
  if (prefix) app.get(prefix, () => Response.redirect(prefix + '/', 301));
  return app;
}
