// Content types by file extension.

const TYPES: { [ext: string]: string } = {
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript', mjs: 'text/javascript',
  json: 'application/json', map: 'application/json', txt: 'text/plain', csv: 'text/csv', xml: 'application/xml',
  svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', ico: 'image/x-icon',
  webp: 'image/webp', woff2: 'font/woff2', wasm: 'application/wasm', pdf: 'application/pdf',
};

/** Types that are text: they get "; charset=utf-8". */
const TEXT = ['text/html', 'text/css', 'text/javascript', 'application/json', 'text/plain', 'text/csv', 'application/xml', 'image/svg+xml'];

export const DEFAULT_TYPE = 'application/octet-stream';

/** The Content-Type for a file name (a ".gz" suffix is not part of the type). */
export function contentTypeFor(name: string): string {
  const segments = name.split('/');
  const parts = segments[segments.length - 1].split('.');
  if (parts.length < 2) return DEFAULT_TYPE;
  const ext = parts[parts.length - 1].toLowerCase();
  const type = TYPES.hasOwnProperty(ext) ? TYPES[ext] : DEFAULT_TYPE;
  return TEXT.indexOf(type) >= 0 ? type + '; charset=utf-8' : type;
}
