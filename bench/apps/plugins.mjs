// The hello app (bench/apps/hello.ts) with one plug-in registered, for the cost of each
// plug-in: its bytes and boot JsVars over the hello app's. Written as entries into a
// folder of the bench's choosing; each is built for the ESP32 like the examples.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../servers.mjs';

const SRC = (name) => JSON.stringify(path.join(ROOT, 'src', name));

/** name → [import line, registration, how the app starts]. */
const PLUGINS = {
  websocket: [`import { webSocket } from ${SRC('websocket')};`, `app.get('/ws', webSocket((ws) => { ws.close(); }));`],
  sse: [`import { sse, SSEHub } from ${SRC('sse')};`, `const hub = new SSEHub();\napp.get('/events', () => hub.response());\napp.get('/once', () => sse(['data: 1\\n\\n']));`],
  static: [`import { mountStatic, sendFile } from ${SRC('static')};`, `mountStatic(app, '/static', 'www/');\napp.get('/file', (req) => sendFile(req, 'data.txt'));`],
  cors: [`import { CORSMiddleware } from ${SRC('middleware')};`, `app.addMiddleware(new CORSMiddleware({ origins: '*' }));`],
  logging: [`import { LoggingMiddleware } from ${SRC('middleware')};`, `app.addMiddleware(new LoggingMiddleware());`],
  auth: [`import { BasicAuthMiddleware } from ${SRC('middleware')};`, `app.addMiddleware(new BasicAuthMiddleware({ users: { admin: 'change-me' }, paths: ['/admin'] }));`],
  'security-headers': [`import { SecurityHeadersMiddleware } from ${SRC('middleware')};`, `app.addMiddleware(new SecurityHeadersMiddleware());`],
  wifi: [`import { startWifi } from ${SRC('wifi')};`, '', `startWifi(app);`],
};

/** Writes one entry per plug-in into `dir`; resolves [{ name, entry }]. */
export function writePluginApps(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(PLUGINS).map(([name, [importLine, register, start = 'app.run();']]) => {
    const entry = path.join(dir, `plugin-${name}.ts`);
    fs.writeFileSync(entry, `import { MicroServer } from ${SRC('index')};\n${importLine}\n` +
      `import { BENCH_SETTINGS, addHello } from ${JSON.stringify(path.join(ROOT, 'bench/apps/parts'))};\n\n` +
      `const app = new MicroServer(BENCH_SETTINGS);\naddHello(app);\n${register}\n${start}\n`);
    return { name, entry };
  });
}
