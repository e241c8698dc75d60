// Minified sizes: the library alone (as `npm run build:module` stores it on a
// board) and each example bundle, built for the ESP32 as `npm run flash` builds them.
import fs from 'node:fs';
import path from 'node:path';
import { buildBundle } from '../build.mjs';
import { ROOT } from './servers.mjs';
import { errorSummary } from './report.mjs';
import { writePluginApps } from './apps/plugins.mjs';

/** Where the plug-in apps are written (next to the bench's other build output). */
export const PLUGIN_APPS_DIR = path.join(ROOT, 'dist', 'bench', 'plugins');

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
  const builds = [{ key: 'library', label: 'the core alone (src/index.ts)', entry: 'src/index.ts', library: true }];
  builds.push({ key: 'hello', label: 'hello app (bench/apps/hello.ts: one JSON route, no plug-in)', entry: 'bench/apps/hello.ts' });
  for (const name of exampleEntries()) builds.push({ key: 'example.' + path.basename(name, '.ts'), label: `examples/${name} bundle`, entry: 'examples/' + name });
  for (const { name, entry } of writePluginApps(PLUGIN_APPS_DIR)) builds.push({ key: 'plugin.' + name, label: `hello app + the ${name} plug-in`, entry, plugin: true });
  const sizes = [];
  for (const { key, label, entry, library } of builds) {
    try {
      const { size, code } = await buildBundle(path.resolve(ROOT, entry), { board: 'esp32', library, write: false });
      const hello = sizes.find((s) => s.key === 'hello');
      const extra = key.startsWith('plugin.') && hello ? { over: size - hello.bytes } : {};
      if (key === 'hello') extra.protocolCode = /Sec-WebSocket|text\/event-stream/.test(code);
      sizes.push({ key, label, bytes: size, ...extra });
    } catch (e) {
      sizes.push({ key, label, error: errorSummary(e) });
    }
  }
  return sizes;
}
