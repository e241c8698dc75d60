// The web folder of an app as Storage files, the way a board keeps them:
// "www/<path>" (the prefix is a choice), gzipped when that is smaller (stored
// as name + ".gz"), names over Storage's 28 characters given short ones listed
// in "www.manifest" (src/platform/storage.ts reads it). `npm run flash`
// uploads these; `npm start` writes the same into the host's Storage.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

export const MAX_STORAGE_NAME = 28;
export const MANIFEST_NAME = 'www.manifest';
// Storage names of the web folder's files start with this: mountStatic(app, '/static', 'www/') serves them.
export const DEFAULT_PREFIX = 'www/';

export class AssetError extends Error {}

/**
 * The folder "www" beside the entry file, if the app's bundle `code` names
 * Storage files under `prefix` (through mountStatic or sendFile): an app
 * that never reads them (examples/basic.ts beside examples/www) gets none.
 */
export function webFolderOf(entry, code, prefix = DEFAULT_PREFIX) {
  const dir = join(dirname(entry), 'www');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  return code.includes(JSON.stringify(prefix)) ? dir : null;
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(dir);
  return out;
}

/**
 * The web folder's files as Storage entries: { path (URL path relative to the folder),
 * source, storageName, data (Buffer to store), size, gzipped }.
 * Plus the manifest entry when a name is too long for Storage.
 */
export function planAssets(wwwDir, useManifest, prefix) {
  const assets = [];
  const manifest = {};
  for (const file of listFiles(wwwDir)) {
    const path = relative(wwwDir, file).split(sep).join('/');
    const raw = readFileSync(file);
    const gz = gzipSync(raw, { level: 9 });
    const gzipped = gz.length < raw.length;
    const data = gzipped ? gz : raw;
    let storageName = prefix + path + (gzipped ? '.gz' : '');
    if (storageName.length > MAX_STORAGE_NAME) {
      if (!useManifest) {
        throw new AssetError(`web file "${path}" needs the Storage name "${storageName}" (${storageName.length} characters), ` +
          `over Storage's ${MAX_STORAGE_NAME}: rename it, or drop --no-manifest to give it a short name through ${MANIFEST_NAME}`);
      }
      storageName = '~' + createHash('sha1').update(path).digest('hex').slice(0, 10) + (gzipped ? '.gz' : '');
      manifest[prefix + path] = storageName;
    }
    assets.push({ path, source: file, storageName, data, size: raw.length, gzipped });
  }
  const seen = new Map();
  for (const a of assets) {
    if (seen.has(a.storageName)) throw new AssetError(`web files "${seen.get(a.storageName)}" and "${a.path}" both map to the Storage name "${a.storageName}"`);
    seen.set(a.storageName, a.path);
  }
  if (Object.keys(manifest).length) {
    if (seen.has(MANIFEST_NAME)) throw new AssetError(`the web folder has a file named "${MANIFEST_NAME}", the name the manifest needs`);
    const data = Buffer.from(JSON.stringify(manifest));
    assets.push({ path: null, source: null, storageName: MANIFEST_NAME, data, size: data.length, gzipped: false, manifest });
  }
  return assets;
}


/**
 * Statements that put the entry's web folder (if it has one and the bundle
 * `code` reads it) into Storage before the app runs, for hosts: prepended to
 * the bundle by `npm start` and the tests. Returns { code, count, folder }.
 */
export function webFolderPreamble(entry, bundle) {
  const www = webFolderOf(entry, bundle);
  if (!www) return { code: '', count: 0, folder: null };
  const assets = planAssets(www, true, DEFAULT_PREFIX);
  const code = assets.map((a) => `require("Storage").write(${JSON.stringify(a.storageName)},atob(${JSON.stringify(a.data.toString('base64'))}));\n`).join('');
  return { code, count: assets.length, folder: www };
}
