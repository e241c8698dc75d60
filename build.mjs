#!/usr/bin/env node
// Builds one minified ES5 bundle that runs on Espruino.
//
//   microserver build [entry.ts] [--out <file>] [--board <name>] [--port <n>] [--no-check]
//
// Pipeline: esbuild bundles the TypeScript (modules resolved, syntax kept),
// TypeScript lowers the whole bundle to ES5 once (so its helpers are not
// duplicated per module), Espruino-safe helpers replace TypeScript's, esbuild
// minifies, then the gate parses the result as ES5 and looks for known
// Espruino traps. Board defaults from boards/<name>.json are baked in.
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { dirname, basename, extname, resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { fixForEspruino, checkBundle, formatFindings, instrumentMethodDepth } from './tools/gate.mjs';
import { TRAPS } from './tools/traps.mjs';
import { libraryNames, publicNames, shortenNames, aliasGlobals } from './tools/short-names.mjs';
import { defaultEntry, typeCheck, ProjectError } from './tools/project.mjs';

const ROOT = dirname(fileURLToPath(import.meta.url));
export const PLUGINS = ['websocket', 'sse', 'static', 'middleware', 'wifi', 'files', 'ota', 'mqtt'];
/** The core's and each plug-in's public entry: their names stay whole in bundles (for the REPL). */
export const PUBLIC_ENTRIES = [join(ROOT, 'src/index.ts'), ...PLUGINS.map((p) => join(ROOT, 'src', p, 'index.ts'))];
/** The Storage module of the core (`require("MicroServer")`); a plug-in's is "MicroServer/<plug-in>". */
export const CORE_MODULE = 'MicroServer';
/**
 * Core files whose classes and state a plug-in module must share with the core module (a
 * Response made by a plug-in must be the core's Response): a plug-in module takes them from
 * require("MicroServer"). Other core code a plug-in uses (pure helpers) is bundled into it.
 */
const SHARED_CORE_FILES = ['src/server.ts', 'src/pipeline.ts', 'src/http/request.ts', 'src/http/response.ts', 'src/http/errors.ts', 'src/log/logger.ts', 'src/router.ts'].map((f) => join(ROOT, f));

// Modules the Espruino firmware provides; left as require() calls for it.
export const ESPRUINO_MODULES = ['net', 'crypto', 'Storage', 'Wifi', 'fs', 'http', 'dgram', 'tls', 'Flash', 'ESP32', 'heatshrink', 'Telnet'];

const HELPERS = parseHelpers(readFileSync(join(ROOT, 'tools/espruino-helpers.js'), 'utf8'));

// Helpers TypeScript may emit that have no Espruino-safe version, with what to do instead.
const UNSUPPORTED_HELPERS = {
  __asyncGenerator: 'async generator functions (async function*) are not supported: use a generator or a pull function',
  __asyncValues: '`for await` is not supported',
  __await: 'async generator functions (async function*) are not supported',
  __asyncDelegator: 'async generator functions (async function*) are not supported',
  __classPrivateFieldGet: '#private class members are not supported (they need WeakMap): use a normal property',
  __classPrivateFieldSet: '#private class members are not supported (they need WeakMap): use a normal property',
  __classPrivateFieldIn: '#private class members are not supported (they need WeakMap)',
  __decorate: 'decorators are not supported',
  __esDecorate: 'decorators are not supported',
  __runInitializers: 'decorators are not supported',
};

export class BuildError extends Error {}

function parseHelpers(source) {
  const helpers = {};
  const parts = source.split(/^\/\/ @helper /m).slice(1);
  for (const part of parts) {
    const name = part.slice(0, part.indexOf('\n')).trim();
    helpers[name] = part.slice(part.indexOf('\n') + 1).trim();
  }
  return helpers;
}

/** The board's defaults, or {} without a board. Throws a BuildError naming the boards there are. */
export function loadBoard(name) {
  if (!name) return {};
  const file = join(ROOT, 'boards', name + '.json');
  const known = readdirSync(join(ROOT, 'boards')).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
  if (!known.includes(name)) {
    throw new BuildError(`unknown board "${name}" (no boards/${name}.json); boards: ${known.join(', ')}`);
  }
  const board = JSON.parse(readFileSync(file, 'utf8'));
  delete board.$comment;
  return board;
}

function withoutComments(source) {
  return source.replace(/\/\/[^\n]*/g, '');
}

/** Adds the helpers the code references (and the helpers those use), in dependency order. */
function withHelpers(code) {
  const needed = [];
  const visit = (name) => {
    if (needed.includes(name)) return;
    for (const other of Object.keys(HELPERS)) {
      if (other !== name && new RegExp('\\b' + other + '\\b').test(withoutComments(HELPERS[name]))) visit(other);
    }
    needed.push(name);
  };
  for (const name of Object.keys(UNSUPPORTED_HELPERS)) {
    if (new RegExp('\\b' + name + '\\b').test(code)) throw new BuildError(UNSUPPORTED_HELPERS[name]);
  }
  for (const name of Object.keys(HELPERS)) {
    if (new RegExp('\\b' + name + '\\b').test(code)) visit(name);
  }
  return needed.map((name) => HELPERS[name]).join('\n') + '\n' + code;
}

/** Lowers the esbuild bundle (modern JavaScript) to ES5 with TypeScript, leaving helper calls to us. */
function lowerToES5(code, fileName) {
  const out = ts.transpileModule(code, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES5,
      module: ts.ModuleKind.CommonJS,
      isolatedModules: false,
      noEmitHelpers: true,
      importHelpers: false,
      downlevelIteration: true,
      removeComments: true,
      useDefineForClassFields: false,
      allowJs: true,
    },
  });
  const errors = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    throw new BuildError('TypeScript could not lower the bundle to ES5:\n' +
      errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
  }
  return out.outputText;
}

/**
 * Builds `entry` into one ES5 file.
 * options: out (file path; default dist/<entry-name>.js), board (boards/<name>.json),
 * port (forces the port the code asks for), plugin (a plug-in's Storage module: with `library`,
 * the shared core comes from require("MicroServer")), library (keep the entry's exports on
 * `module.exports`), countMethodDepth (test builds for the emulation: count nested
 * method calls per object, see tools/gate.mjs), write (default true).
 * Returns { code, size, outFile, warnings }.
 */
/**
 * An esbuild plug-in for a plug-in's Storage module: imports of the shared core files
 * become the core module, loaded with require("MicroServer"), whose exports they name;
 * an import of another plug-in (ota uses files) becomes that plug-in's module.
 */
function coreFromModule() {
  const entryOf = (module) => (module === CORE_MODULE ? join(ROOT, 'src/index.ts') : join(ROOT, 'src', module.slice(CORE_MODULE.length + 1), 'index.ts'));
  return {
    name: 'core-from-module',
    setup(build) {
      build.onResolve({ filter: /^\./ }, (args) => {
        const file = resolve(args.resolveDir, args.path);
        const plugin = PLUGINS.find((p) => join(ROOT, 'src', p) === file || join(ROOT, 'src', p, 'index.ts') === file);
        if (plugin && args.importer !== join(ROOT, 'src', plugin, 'index.ts')) return { path: CORE_MODULE + '/' + plugin, namespace: 'core-module' };
        return SHARED_CORE_FILES.includes(file + (extname(args.path) ? '' : '.ts')) ? { path: CORE_MODULE, namespace: 'core-module' } : undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'core-module' }, (args) => ({
        loader: 'js',
        contents: `var module_ = require(${JSON.stringify(args.path)});\n` + [...publicNames(entryOf(args.path))].map((n) => `export var ${n} = module_.${n};`).join('\n'),
      }));
    },
  };
}

export async function buildBundle(entry, options = {}) {
  const entryPath = resolve(entry);
  if (!existsSync(entryPath)) throw new BuildError(`entry not found: ${entry}`);
  const board = loadBoard(options.board);
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BuildError(`--port must be 1-65535, got ${options.port}`);
    board.forcePort = port;
  }
  let bundled;
  try {
    bundled = await esbuild.build({
      entryPoints: [entryPath],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'esnext',
      charset: 'utf8', // keep non-ASCII literals as UTF-8 bytes, not \xNN escapes (Latin-1 on a device)
      legalComments: 'none',
      logLevel: 'silent',
      external: options.plugin ? [...ESPRUINO_MODULES, CORE_MODULE, ...PLUGINS.map((p) => CORE_MODULE + '/' + p)] : ESPRUINO_MODULES,
      plugins: options.plugin ? [coreFromModule()] : [],
      define: { __BOARD__: JSON.stringify(board) },
      tsconfig: join(ROOT, 'tsconfig.json'),
      // Module comments ("// src/...") are relative to this: the library's names are found by them, whatever the cwd.
      absWorkingDir: ROOT,
    });
  } catch (e) {
    throw new BuildError('esbuild failed:\n' + (e.errors || []).map((m) =>
      `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`).join('\n'));
  }
  let code = bundled.outputFiles[0].text;
  const internal = libraryNames(code);
  for (const name of publicNames(PUBLIC_ENTRIES)) internal.delete(name);
  if (!options.library) code = code.replace(/^module\.exports = __toCommonJS\(\w+\);$/m, '');
  code = withHelpers(lowerToES5(code, basename(entryPath)));
  const early = checkBundle(code, TRAPS.filter((trap) => trap.stage === 'before-minify'));
  if (early.length) throw new BuildError(`${basename(entryPath)}: the bundle would fail on Espruino:\n${formatFindings(early, code)}`);
  const minified = await esbuild.transform(code, {
    minify: true,
    target: 'es5',
    charset: 'utf8',
    legalComments: 'none',
  }).catch((e) => { throw new BuildError('minify failed: ' + e.message); });
  if (process.env.DUMP_MIN) writeFileSync(process.env.DUMP_MIN, minified.code);
  code = shortenNames(fixForEspruino(minified.code), internal);
  const findings = checkBundle(code, TRAPS.filter((trap) => trap.stage !== 'before-minify'));
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) throw new BuildError(`${basename(entryPath)}: the bundle would fail on Espruino:\n${formatFindings(errors, code)}`);
  if (options.aliasGlobals !== false) code = await aliasGlobals(code);
  if (options.countMethodDepth) code = instrumentMethodDepth(code);
  const outFile = resolve(options.out || join(ROOT, 'dist', basename(entryPath, extname(entryPath)) + '.js'));
  if (options.write !== false) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, code);
  }
  return { code, size: Buffer.byteLength(code), outFile, warnings: findings.filter((f) => f.severity === 'warning') };
}

/**
 * The Storage modules: the core ("MicroServer") and one per plug-in ("MicroServer/websocket",
 * ...), each requiring only the core. Written to `outDir` as MicroServer.js,
 * MicroServer.websocket.js, ... Resolves [{ name, outFile, size, code }], the core first.
 */
export async function buildModules({ board, outDir = join(ROOT, 'dist'), write = true } = {}) {
  const modules = [{ name: CORE_MODULE, entry: join(ROOT, 'src/index.ts') }, ...PLUGINS.map((p) => ({ name: CORE_MODULE + '/' + p, entry: join(ROOT, 'src', p, 'index.ts'), plugin: true }))];
  const built = [];
  for (const { name, entry, plugin } of modules) {
    const outFile = join(outDir, name.replace('/', '.') + '.js');
    const { code, size } = await buildBundle(entry, { board, library: true, plugin, out: outFile, write });
    built.push({ name, outFile, size, code });
  }
  return built;
}

export function parseArgs(argv) {
  const args = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split('=');
      if (['dry-run', 'library', 'help', 'modules', 'no-check'].includes(key)) args[key] = true;
      else if (inline !== undefined) args[key] = inline;
      else if (i + 1 < argv.length) args[key] = argv[++i];
      else throw new BuildError(`${arg} needs a value`);
    } else args._.push(arg);
  }
  return args;
}

export const USAGE = `usage: microserver build [entry.ts] [--out <file>] [--board esp32|esp32c3|linux] [--port <n>] [--library] [--no-check]
       microserver build --modules [--out <dir>] [--board ...]   the core and each plug-in as Storage modules

Type-checks the app (default: espruino.json's "entry", else app.ts) with the package's types,
then bundles it into one minified ES5 file for Espruino (default dist/<entry>.js).

  --board     bake in the board's defaults (boards/<name>.json)
  --port      the port the app listens on, whatever its code says
  --library   keep the entry's exports (a module for require())
  --no-check  skip the type check`;

export async function build(argv) {
  const args = parseArgs(argv);
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.modules) {
    for (const module of await buildModules({ board: args.board, outDir: resolve(args.out || 'dist') })) console.log(`${module.outFile}: ${module.size} bytes (require("${module.name}"))`);
    return 0;
  }
  if (args._.length > 1) throw new BuildError(`one entry only, got ${args._.join(', ')}\n${USAGE}`);
  const entry = args._[0] || defaultEntry();
  if (!args['no-check']) typeCheck({ entry });
  const out = args.out || resolve('dist', basename(entry, extname(entry)) + '.js');
  const result = await buildBundle(entry, { out, board: args.board, port: args.port, library: args.library });
  if (result.warnings.length) console.warn(formatFindings(result.warnings, result.code));
  console.log(`${result.outFile}: ${result.size} bytes`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  build(process.argv.slice(2)).then((status) => process.exit(status), (e) => {
    console.error(e instanceof BuildError || e instanceof ProjectError ? `build failed: ${e.message}` : e);
    process.exit(1);
  });
}
