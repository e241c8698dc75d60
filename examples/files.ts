// examples/files.ts: files uploaded into the board's flash, and a page to drop them on.
//   npm start -- examples/files.ts      then open http://127.0.0.1:8080/
//
// Uploads stream from the socket into Storage a packet at a time (the heap
// never holds a file), and a file is replaced only once its new version is
// complete and verified (docs/uploads.md).
//
//   GET    /               the page: drag and drop files, with a progress bar
//   GET    /files          {"files": [{name, size}], "free": bytes}
//   GET    /files/<name>   the stored bytes
//   POST   /files          multipart/form-data, each file part stored under its filename: 201 {"stored": [...]}
//   PUT    /files/<name>   the raw body stored as <name>: 201
//   DELETE /files/<name>   204
//   GET    /status         the heap's JsVars (used, free, total) and Storage's free bytes
//   POST   /ota            a new app bundle (npm run flash -- APP --ota http://board --auth admin:PASSWORD):
//                          booted on trial, rolled back unless healthy (docs/ota.md)
//   GET    /ota            which app boots, the one before it, the last rollback
//
// Writes need Basic auth. CHANGE THE PASSWORD below before the board joins a
// network you share: whoever knows it can replace every file, and the app itself.
import { MicroServer, Response } from '../src/index';
import { BasicAuthMiddleware } from '../src/middleware';
import { mountFiles, freeStorage } from '../src/files';
import { mountOta } from '../src/ota';
import { PAGE } from './files_page';

const ADMIN_PASSWORD = 'change-me';

const auth = new BasicAuthMiddleware({ realm: 'files', users: { admin: ADMIN_PASSWORD } });
const app = new MicroServer({ port: 80 });

// The page sends its own password and shows a refusal itself (its requests carry
// X-Requested-With): a 401 to it goes without the challenge, which would make the
// browser pop up its login prompt as well.
app.addMiddleware({ after: (req, res) => { if (res.status === 401 && req.header('x-requested-with')) res.head = ''; } });
mountFiles(app, { guard: (handler) => auth.guard(handler), maxFileSize: 200 * 1024 });
mountOta(app, { guard: (handler) => auth.guard(handler) });
app.get('/', () => Response.html(PAGE));
app.get('/status', () => {
  const memory = process.memory();
  return Response.json({ jsVars: { used: memory.usage, free: memory.free, total: memory.total }, storageFree: freeStorage() });
});

app.run();
