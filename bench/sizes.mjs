// Minified sizes: the library alone (as `npm run build:module` stores it on a
// board) and each example bundle, built for the ESP32 as `npm run flash` builds them.
import fs from 'node:fs';
import path from 'node:path';
import { buildBundle } from '../build.mjs';
import { ROOT } from './servers.mjs';
import { errorSummary } from './report.mjs';

/** Example entries: the .ts files of examples/ that no other example imports. */
function exampleEntries() {
  const dir = path.join(ROOT, 'examples');
  const files = fs.readdirSync(dir).filter((name) => name.endsWith('.ts'));
  const imported = new Set();
  for (const name of files) {
    for (const match of fs.readFileSync(path.join(dir, name), 'utf8').matchAll(/from '\.\/([\w-]+)'/g)) imported.add(match[1] + '.ts');
  }
  return files.filter((name) => !imported.has(name)).sort();
}

/** Resolves with [{ key, label, bytes } | { key, label, error }], the library first. */
export async function measureSizes() {
  const builds = [{ key: 'library', label: 'library alone (src/index.ts)', entry: 'src/index.ts', library: true }];
  for (const name of exampleEntries()) builds.push({ key: 'example.' + path.basename(name, '.ts'), label: `examples/${name} bundle`, entry: 'examples/' + name });
  const sizes = [];
  for (const { key, label, entry, library } of builds) {
    try {
      const { size } = await buildBundle(path.join(ROOT, entry), { board: 'esp32', library, write: false });
      sizes.push({ key, label, bytes: size });
    } catch (e) {
      sizes.push({ key, label, error: errorSummary(e) });
    }
  }
  return sizes;
}
