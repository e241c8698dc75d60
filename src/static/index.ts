// The static-files plug-in: files from Storage (or an fs directory) with types,
// ETags, ranges and gzip.
//   import { mountStatic, sendFile } from '../src/static';
//   mountStatic(app, '/static', 'www/', { maxAge: 600 });
//   app.get('/report', (req) => sendFile(req, 'report.csv'));
// Espruino's globals, for apps that import the package:
/// <reference path="../platform/espruino.d.ts" />
export { mountStatic } from './mount';
export { sendFile } from './serve';
export type { FileOptions } from './serve';
