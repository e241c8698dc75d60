// Benchmark app: three async middlewares (an async one of the app's own, Bearer
// auth with an async verify, CORS) around async handlers: the deepest shape the
// stack figure measures.
import { MicroServer, Response, Request } from '../../src/index';
import { BearerAuthMiddleware, CORSMiddleware } from '../../src/middleware';
import { Next } from '../../src/pipeline';
import { BENCH_SETTINGS, HELLO } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
app.addMiddleware(async (req: Request, next: Next) => {
  const res = await next(req);
  res.addHeader('X-Timing', 'app');
  return res;
});
app.addMiddleware(new BearerAuthMiddleware({ verify: async (token) => token === 'secret', paths: ['/private'] }));
app.addMiddleware(new CORSMiddleware());
app.get('/', async () => Response.json(HELLO));
app.get('/private/<id>', async (req) => Response.json({ id: req.pathParams.id }));
app.post('/echo', async (req) => Response.json(req.json));
app.run();
