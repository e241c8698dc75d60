// examples/medium.ts: middleware, a JSON API, a body limit and static files.
import { MicroServer, Response } from '../src/index';
import { CORSMiddleware, LoggingMiddleware } from '../src/middleware';
import { mountStatic } from '../src/static';

const app = new MicroServer({ port: 80 });
app.maxBodySize = 4096; // 4 KB limit

app.addMiddleware(new LoggingMiddleware());
app.addMiddleware(new CORSMiddleware({
  origins: '*',
  methods: 'GET,POST,OPTIONS',
  headers: 'Content-Type,Authorization',
}));

app.get('/status', (req) => Response.json({ ok: true, ip: req.ip }));

app.post('/sum', (req) => {
  const data = req.json || {};
  const a = Number(data.a === undefined ? 0 : data.a);
  const b = Number(data.b === undefined ? 0 : data.b);
  if (isNaN(a) || isNaN(b)) return Response.error('Invalid numbers provided', 400);
  return Response.json({ result: a + b });
});

// Storage file "www/index.html" at /static/, "www/app.js" at /static/app.js (upload them with
// require('Storage').write(name, data); a pre-compressed "www/app.js.gz" is sent to gzip clients).
mountStatic(app, '/static', 'www/');

app.run();
