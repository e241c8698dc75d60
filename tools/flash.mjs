#!/usr/bin/env node
// microserver flash [entry.ts | bundle.js] [--port /dev/ttyUSB0 | tcp://host:23] [--board esp32]
//                   [--baud 115200] [--www <dir>] [--storage-prefix www/] [--wifi <wifi.json>]
//                   [--no-manifest] [--app-port <n>] [--config espruino.json] [--piece-size <bytes>]
//                   [--timeout <s>] [--verbose] [--dry-run]
//       microserver flash APP --ota http://HOST:PORT --auth USER:PASSWORD   over Wi-Fi, through the app's
//                                           OTA plug-in (tools/flash/ota.mjs, docs/ota.md)
//       microserver flash --module [...]     the library as Storage modules: "MicroServer" and its plug-ins
//       microserver flash --list             the serial ports of this host
//
// Builds the entry for a board (a .js file is taken as a built bundle) and puts it on the
// board through its REPL, over a serial port or the telnet console:
//   1. the running app is stopped (reset()), which frees its heap for the upload;
//   2. the web folder (--www, default <entry dir>/www) goes to Storage as "www/<path>",
//      gzipped when smaller, long names through "www.manifest"; files already there with
//      the same bytes are left alone, stale variants (name vs name.gz) erased;
//   3. Wi-Fi credentials (wifi.json or WIFI_SSID/WIFI_PASSWORD) are saved with Wifi.save();
//   4. the bundle goes to the app slot that is not booting (".app0" or ".app1");
//   5. only then ".bootcde" becomes the few bytes that boot that slot, and the old slot goes;
//   6. the board is reset and its boot output watched for errors.
// Every file travels in acknowledged pieces sized for the board's free heap and is checked
// on the board (size and CRC-32) before the next step; a flash cut off anywhere before step
// 5 leaves the previous app booting. The report at the end lists the board's Storage.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, buildModules, BuildError, CORE_MODULE } from '../build.mjs';
import { planAssets, webFolderOf, AssetError, MAX_STORAGE_NAME, MANIFEST_NAME, DEFAULT_PREFIX } from './web-assets.mjs';
import { openTransport, listPorts, TransportError, isTcpPort } from './flash/transport.mjs';
import { BoardConsole, BoardError, checksum, hex } from './flash/board.mjs';
import { progressBar, kb } from './flash/progress.mjs';
import { defaultEntry, typeCheck, ProjectError } from './project.mjs';
import { APP_SLOTS, bootLoader, slotOf } from './flash/boot-code.mjs';
import { flashOverTheAir, OtaError } from './flash/ota.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULTS = { port: '/dev/ttyUSB0', baud: 115200, board: 'esp32' };
const BOOT_CODE = '.bootcde';
const MASK = '****';
// Storage adds a header to each file and rounds its size up: room to keep per file.
const STORAGE_OVERHEAD = 64;
// After a reset: how long the boot output is watched, and how long a port that went away is tried again.
const BOOT_WAIT_MS = 2500;
const RECONNECT_MS = 20000;

class FlashError extends Error {}

const USAGE = `usage: microserver flash [entry.ts | bundle.js] [--port <device | tcp://host:port>] [--board esp32|esp32c3|linux]
         [--baud <n>] [--www <dir>] [--storage-prefix www/] [--wifi <wifi.json>] [--no-manifest] [--app-port <n>]
         [--config espruino.json] [--piece-size <bytes>] [--timeout <seconds>] [--verbose] [--dry-run] [--no-check]
       microserver flash [entry.ts | bundle.js] --ota http://HOST:PORT [--auth user:password] [--board ...] [--app-port <n>] [--no-check]
       microserver flash --module [--port ...] [--board ...] [--www <dir>] [--wifi <wifi.json>] [--dry-run]
       microserver flash --list

  --port        a serial device (/dev/ttyUSB0, /dev/ttyACM0, COM3, a pty) or tcp://host:port (the telnet console)
  --list        the serial ports of this host (no udev needed)
  --ota         send the bundle over the network to the app's OTA plug-in (POST /ota), not through the REPL
  --auth        user:password for the OTA route's Basic auth
  --piece-size  bytes per acknowledged piece (default: from the board's free heap, 256-2048)
  --timeout     seconds to wait for each answer from the board (default 10)
  --verbose     show the console traffic (pieces shortened)
  --dry-run     print the plan, touch nothing
  --no-check    skip the type check of the entry (default: espruino.json's "entry", else app.ts)`;

function parseArgs(argv) {
  const args = { _: [] };
  const valued = new Set(['port', 'board', 'baud', 'www', 'storage-prefix', 'wifi', 'app-port', 'timeout', 'config', 'piece-size', 'ota', 'auth']);
  const flags = new Set(['dry-run', 'no-manifest', 'help', 'module', 'list', 'verbose', 'no-check']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') { args.help = true; continue; }
    if (!a.startsWith('--')) { args._.push(a); continue; }
    let name = a.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
    if (flags.has(name)) { args[name] = true; continue; }
    if (!valued.has(name)) throw new FlashError(`unknown option --${name}\n${USAGE}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new FlashError(`--${name} needs a value`);
    }
    args[name] = value;
  }
  if (args._.length > 1) throw new FlashError(`one entry only, got ${args._.join(', ')}`);
  if (args.module && args._.length) throw new FlashError(`--module stores the library itself: it takes no entry (got ${args._[0]})`);
  if (args.module && args['app-port']) throw new FlashError('--module stores the library itself: --app-port does not apply');
  if (args.ota && args.module) throw new FlashError('--ota sends an app bundle: --module does not apply');
  if (args.auth && !args.ota) throw new FlashError('--auth is for --ota');
  return args;
}

function readJson(file, what) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FlashError(`${what} ${file} is not valid JSON: ${e.message}`);
  }
}

function positiveInt(value, what) {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new FlashError(`${what} must be a positive integer, got ${value}`);
  return n;
}

/** espruino.json in the current directory (or --config), then the flags. */
function loadSettings(args, cwd) {
  const configFile = args.config ? resolve(cwd, args.config) : join(cwd, 'espruino.json');
  let config = {};
  if (args.config && !existsSync(configFile)) throw new FlashError(`config file not found: ${configFile}`);
  if (existsSync(configFile)) config = readJson(configFile, 'config');
  return {
    port: args.port || config.port || DEFAULTS.port,
    baud: positiveInt(args.baud || config.baud || DEFAULTS.baud, 'baud'),
    board: args.board || config.board || DEFAULTS.board,
    configFile: existsSync(configFile) ? configFile : null,
    pieceSize: args['piece-size'] ? positiveInt(args['piece-size'], '--piece-size') : null,
    timeoutMs: positiveInt(args.timeout || 10, '--timeout') * 1000,
  };
}

/** Credentials from wifi.json (or --wifi), else WIFI_SSID/WIFI_PASSWORD, else null. */
function loadWifi(args, cwd) {
  const file = args.wifi ? resolve(cwd, args.wifi) : join(cwd, 'wifi.json');
  if (args.wifi && !existsSync(file)) throw new FlashError(`Wi-Fi file not found: ${file}`);
  if (existsSync(file)) {
    const w = readJson(file, 'Wi-Fi file');
    if (!w || typeof w.ssid !== 'string' || !w.ssid) throw new FlashError(`${file} needs { "ssid": "...", "password": "..." }`);
    return { ssid: w.ssid, password: w.password == null ? '' : String(w.password), source: file };
  }
  if (process.env.WIFI_SSID) {
    return { ssid: process.env.WIFI_SSID, password: process.env.WIFI_PASSWORD || '', source: 'WIFI_SSID/WIFI_PASSWORD' };
  }
  return null;
}

/** Pieces that fit the board's free heap: a piece is held about three times (the line, its base64, the bytes). */
function pieceSizeFor(probe) {
  const spare = (probe.free * (probe.blockSize || 14)) / 8;
  let size = 2048;
  while (size > 256 && size > spare) size /= 2;
  return size;
}

function wifiBody(wifi, mask) {
  const pw = mask ? MASK : wifi.password;
  return `var W=require("Wifi");W.connect(${JSON.stringify(wifi.ssid)},{password:${JSON.stringify(pw)}},function(e){print(e?"Wi-Fi: "+e:"Wi-Fi connected")});W.save();return "saved"`;
}

/** Loads a stored module and reports how many names it exports (the name in a variable, so no tool takes it for a module to fetch). */
function moduleCheckBody(name) {
  return `var n=${JSON.stringify(name)},M=require(n),k=Object.keys(M).length;return k?"ok "+k:"no exports"`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) { console.log(USAGE); return; }
  if (args.list) return printPorts();
  const cwd = process.cwd();
  const dry = !!args['dry-run'];
  const settings = loadSettings(args, cwd);
  const asModule = !!args.module;
  const entry = asModule ? join(ROOT, 'src', 'index.ts') : resolve(cwd, args._[0] || defaultEntry(cwd, join(ROOT, 'examples', 'basic.ts')));
  if (!existsSync(entry) || !statSync(entry).isFile()) throw new FlashError(`entry not found: ${args._[0] || entry}`);
  const prebuilt = extname(entry) === '.js';
  if (!prebuilt && !asModule && !args['no-check']) typeCheck({ entry });
  if (prebuilt && args['app-port']) throw new FlashError(`${args._[0]} is a built bundle: --app-port applies to entries that are built (.ts)`);

  let wwwDir = null;
  if (args.www) {
    wwwDir = resolve(cwd, args.www);
    if (!existsSync(wwwDir) || !statSync(wwwDir).isDirectory()) throw new FlashError(`web folder not found: ${args.www}`);
  }
  const prefix = args['storage-prefix'] === undefined ? DEFAULT_PREFIX : args['storage-prefix'];
  if (prefix.length > MAX_STORAGE_NAME - 4) throw new FlashError(`--storage-prefix "${prefix}" leaves no room in Storage's ${MAX_STORAGE_NAME}-character names`);
  const wifi = loadWifi(args, cwd);

  // Paths as the user knows them: from their project folder, else from the package's (its examples).
  const rel = (p) => (p.startsWith(cwd + sep) ? relative(cwd, p) : p.startsWith(ROOT + sep) ? relative(ROOT, p) : p);
  console.log(`flash ${asModule ? `the library as the Storage modules "${CORE_MODULE}" and its plug-ins` : rel(entry)} for board ${settings.board} on ${args.ota || settings.port}` +
    `${args.ota || isTcpPort(settings.port) ? '' : ` at ${settings.baud} baud`}` +
    (settings.configFile ? ` (settings: ${rel(settings.configFile)})` : ' (no espruino.json: defaults)') +
    (dry ? ' -- dry run, no device' : ''));

  // What goes to Storage as code: the app's bundle, or with --module the core and each plug-in.
  let files;
  if (asModule) {
    const modules = await buildModules({ board: settings.board, outDir: join(ROOT, 'dist', 'flash', `modules.${settings.board}`) });
    files = modules.map((m) => ({ name: m.name, code: m.code, bytes: readFileSync(m.outFile), outFile: m.outFile }));
  } else if (prebuilt) {
    files = [{ code: readFileSync(entry, 'latin1'), bytes: readFileSync(entry), outFile: entry }];
  } else {
    const out = join(ROOT, 'dist', 'flash', `${basename(entry, extname(entry))}.${settings.board}.js`);
    const built = await buildBundle(entry, { board: settings.board, out, port: args['app-port'] });
    files = [{ code: built.code, bytes: readFileSync(built.outFile), outFile: built.outFile }];
  }
  const bundle = files[0];
  if (args.ota) {
    const note = await flashOverTheAir({ url: args.ota, auth: args.auth, bytes: bundle.bytes, label: rel(bundle.outFile), timeoutMs: settings.timeoutMs });
    console.log(`flashed ${rel(entry)} over the air to ${args.ota}: ${note}`);
    return;
  }
  for (const f of files) {
    if (wifi && wifi.password.length >= 6 && f.code.includes(wifi.password)) {
      throw new FlashError('the bundle contains the Wi-Fi password: credentials must not be compiled in');
    }
    const target = asModule ? `"${f.name}"` : `app slot ${APP_SLOTS.join('/')}, booted by "${BOOT_CODE}"`;
    console.log(`file: ${asModule ? 'module' : 'bundle'} ${rel(f.outFile)} (${f.bytes.length} bytes, CRC-32 ${hex(checksum(f.bytes))}) -> Storage ${target}`);
  }
  if (!args.www && !asModule && !prebuilt) wwwDir = webFolderOf(entry, bundle.code, prefix);
  const assets = wwwDir ? planAssets(wwwDir, !args['no-manifest'], prefix) : [];
  for (const a of assets) {
    if (a.manifest) console.log(`file: manifest -> Storage "${a.storageName}" (${a.size} bytes): ${JSON.stringify(a.manifest)}`);
    else console.log(`file: ${rel(a.source)} -> Storage "${a.storageName}" (${a.size} bytes${a.gzipped ? `, gzipped to ${a.data.length}` : ', stored as is'})`);
  }
  if (!wwwDir) console.log(asModule || prebuilt ? 'file: no web folder (--www <dir> names one)' : 'file: no web folder (none at <entry dir>/www that the app reads; --www <dir> names one)');
  if (wifi) console.log(`Wi-Fi: ssid ${JSON.stringify(wifi.ssid)}, password ${MASK} (from ${wifi.source}; never written into the bundle)`);
  else console.log('Wi-Fi: no credentials (wifi.json or WIFI_SSID/WIFI_PASSWORD): the board keeps its saved Wi-Fi settings');

  const steps = planSteps({ settings, assets, wifi, bundle, modules: asModule ? files : null, prefix });
  if (dry) {
    steps.forEach((s, i) => console.log(`step ${i + 1}/${steps.length}: ${s.name}`));
    console.log('dry run: nothing was sent');
    return;
  }

  const verbose = args.verbose ? traffic() : null;
  const context = { settings, bundle, pieceSize: settings.pieceSize, state: {} };
  // (Re)connects: a board whose USB port goes away when it resets is opened again.
  context.connect = async ({ retryMs = 0, reset = false } = {}) => {
    const end = Date.now() + retryMs;
    for (;;) {
      try {
        context.board = new BoardConsole(await openTransport(settings.port, { baud: settings.baud }), { verbose, timeoutMs: settings.timeoutMs });
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const board = context.board;
    if (reset) {
      // Stops the running app, so its heap is free for the upload (and a board whose app
      // used up its memory answers again); Storage is untouched and the app boots as before.
      await board.interrupt();
      await board.send('\x10reset();\n');
      await board.watch(300); // the reset's banner
    }
    await board.sync().catch((e) => {
      throw new FlashError(`${settings.port} opened, but no Espruino answered there: ${e.message}`);
    });
  };
  const started = Date.now();
  try {
    await context.connect({ reset: true });
    const p = (context.probe = await context.board.probe());
    context.pieceSize = context.pieceSize || pieceSizeFor(p);
    console.log(`board: Espruino ${p.version} (${p.board}), app stopped with reset(): ${p.free} of ${p.total} JsVars free, ` +
      `${kb(p.storageFree)} of Storage free; pieces of ${context.pieceSize} bytes`);
    if (p.crc !== 'function') throw new FlashError(`the firmware has no E.CRC32, which the flash checks need: update it (Espruino 2v00 or later)`);
    for (const [i, s] of steps.entries()) {
      console.log(`step ${i + 1}/${steps.length}: ${s.name}`);
      const stepStarted = Date.now();
      const note = await s.run(context);
      console.log(`  ok (${((Date.now() - stepStarted) / 1000).toFixed(1)} s)${note ? ': ' + note : ''}`);
    }
  } finally {
    if (context.board) await context.board.transport.close();
  }
  console.log(`flashed ${asModule ? `the modules ${files.map((f) => `"${f.name}"`).join(', ')}` : rel(entry)} to ${settings.port} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The steps, each with its name and what it does on the board (given the shared context). */
function planSteps({ settings, assets, wifi, bundle, modules, prefix }) {
  const asModule = !!modules;
  const steps = [];
  steps.push({
    name: 'check Storage space',
    run: async (ctx) => {
      const bootCode = await ctx.board.call(`var b=require("Storage").read(${JSON.stringify(BOOT_CODE)});return b===undefined?"":b.substr(0,200)`, { what: 'the boot code check' });
      ctx.state.oldSlot = slotOf(bootCode);
      ctx.state.newSlot = APP_SLOTS.find((s) => s !== ctx.state.oldSlot);
      const files = new Map((await ctx.board.listFiles()).map((f) => [f.name, f.size]));
      const writes = assets.map((a) => [a.storageName, a.data.length]);
      if (asModule) for (const m of modules) writes.push([m.name, m.bytes.length]);
      else writes.push([ctx.state.newSlot, bundle.bytes.length], [BOOT_CODE, bootLoader(ctx.state.newSlot).length]);
      // A rewritten file frees its old copy once Storage compacts; an unchanged one is skipped later.
      let needed = 0;
      let freed = 0;
      for (const [name, size] of writes) {
        needed += size + STORAGE_OVERHEAD;
        if (files.has(name)) freed += files.get(name) + STORAGE_OVERHEAD;
      }
      const { storageFree, trash } = ctx.probe;
      if (needed > storageFree + trash + freed) {
        throw new FlashError(`the board's Storage is too full: ${kb(storageFree)} free and ${kb(trash + freed)} to reclaim, the upload needs ${kb(needed)} ` +
          `(see require("Storage").list() at the REPL; erase what is not needed)`);
      }
      return `${kb(needed)} to write, ${kb(storageFree)} free + ${kb(trash + freed)} to reclaim` + (asModule ? '' : `; the new app goes to slot "${ctx.state.newSlot}"`);
    },
  });
  if (assets.length) {
    steps.push({
      name: `upload the web folder (${assets.length} file${assets.length > 1 ? 's' : ''}, ${kb(assets.reduce((n, a) => n + a.data.length, 0))})`,
      run: async (ctx) => {
        let unchanged = 0;
        for (const a of assets) {
          const stored = await ctx.board.fileInfo(a.storageName);
          if (stored && stored.size === a.data.length && stored.crc === checksum(a.data)) {
            unchanged++;
            continue;
          }
          await upload(ctx, a.storageName, a.data);
        }
        const stale = [];
        for (const a of assets) {
          if (a.path !== null) stale.push(a.gzipped ? a.storageName.slice(0, -3) : a.storageName + '.gz');
        }
        if (!assets.some((a) => a.manifest)) stale.push(MANIFEST_NAME);
        const names = new Set(assets.map((a) => a.storageName));
        const erase = stale.filter((n) => !names.has(n) && n.length <= MAX_STORAGE_NAME && n.startsWith(prefix));
        const erased = await ctx.board.call(`var S=require("Storage"),n=0;${JSON.stringify(erase)}.forEach(function(f){if(S.read(f)!==undefined){S.erase(f);n++}});return n`,
          { what: 'the erase of stale web files' });
        return `${assets.length - unchanged} written and checked, ${unchanged} unchanged` + (Number(erased) ? `, ${erased} stale erased` : '');
      },
    });
  }
  if (wifi) {
    steps.push({
      name: `store the Wi-Fi credentials (from ${wifi.source})`,
      run: async (ctx) => {
        await ctx.board.call(wifiBody(wifi, false), { what: 'Wi-Fi' });
        return `network ${JSON.stringify(wifi.ssid)} saved with Wifi.save()`;
      },
    });
  }
  if (asModule) {
    steps.push({
      name: `store the library as the Storage modules ${modules.map((m) => `"${m.name}"`).join(', ')}`,
      run: async (ctx) => {
        const loaded = [];
        for (const m of modules) {
          await upload(ctx, m.name, m.bytes);
          const answer = await ctx.board.call(moduleCheckBody(m.name), { what: `require("${m.name}")` });
          if (!answer.startsWith('ok')) throw new FlashError(`require("${m.name}") on the board: ${answer}`);
          loaded.push(`${m.name} (${answer.slice(3)} exports)`);
        }
        return `each loads with require(): ${loaded.join(', ')}`;
      },
    });
  } else {
    steps.push({
      name: 'upload the bundle to the app slot that is not booting',
      run: async (ctx) => {
        await upload(ctx, ctx.state.newSlot, bundle.bytes);
        return `"${ctx.state.newSlot}" holds ${bundle.bytes.length} bytes, CRC-32 ${hex(checksum(bundle.bytes))}`;
      },
    });
    steps.push({
      name: `switch "${BOOT_CODE}" to the new app, then erase the old one`,
      run: async (ctx) => {
        const loader = Buffer.from(bootLoader(ctx.state.newSlot));
        await ctx.board.call(`require("Storage").write(${JSON.stringify(BOOT_CODE)},atob("${loader.toString('base64')}"));return 1`, { what: 'the switch of the boot code' });
        await ctx.board.verifyFile(BOOT_CODE, loader);
        const old = APP_SLOTS.filter((s) => s !== ctx.state.newSlot);
        await ctx.board.call(`var S=require("Storage");${JSON.stringify(old)}.forEach(function(f){S.erase(f)});S.erase(".bootrst");return 1`, { what: 'the erase of the old app' });
        return `"${BOOT_CODE}" boots "${ctx.state.newSlot}"`;
      },
    });
  }
  steps.push({
    name: 'list what is on the board',
    run: async (ctx) => {
      const files = await ctx.board.listFiles();
      const width = Math.max(...files.map((f) => f.name.length), 4);
      for (const f of files.sort((a, b) => a.name.localeCompare(b.name))) console.log(`    ${f.name.padEnd(width)}  ${String(f.size).padStart(7)} bytes`);
      const probe = await ctx.board.probe();
      return `${files.length} files, ${kb(probe.storageFree)} of Storage free`;
    },
  });
  steps.push({
    name: 'reset the board and check that the app started',
    run: async (ctx) => {
      await ctx.board.call('E.getErrorFlags();delete global.bootError;return 1', { what: 'the board' });
      // Deferred, so the answer comes back before the board goes away.
      await ctx.board.call(`setTimeout(function(){${settings.board === 'linux' ? 'load()' : 'E.reboot()'}},200);return 1`, { what: 'the reset' });
      // A serial console shows the boot; a telnet one may not (the board prints where it boots).
      const boot = await ctx.board.watch(BOOT_WAIT_MS);
      const printed = boot.match(/Uncaught[^\n]*/);
      let state;
      try {
        if (ctx.board.closedWhy) {
          await ctx.board.transport.close();
          await ctx.connect({ retryMs: RECONNECT_MS });
        } else {
          await ctx.board.sync();
        }
        state = JSON.parse(await ctx.board.call(
          'var m=process.memory();return JSON.stringify({error:global.bootError,flags:E.getErrorFlags(),free:m.free,total:m.total})',
          { what: 'the board after its reset' }));
      } catch (e) {
        if (/out of memory|Execution Interrupted/.test(e.message)) throw new FlashError(`the new app ran out of memory at boot: it is too big for this board (the flash itself worked): ${e.message}`);
        if (/^no answer/.test(e.message)) {
          throw new FlashError('the new app does not let the board answer after its reset: it ran out of memory at boot, or keeps the interpreter busy ' +
            `(a loop that never returns); the flash itself worked: ${e.message}`);
        }
        throw e;
      }
      const error = state.error || (printed && printed[0]);
      if (error) throw new FlashError(`the new app failed at boot: ${error} (the flash itself worked; fix the app and flash again)`);
      if (state.flags.some((f) => /MEMORY/.test(f))) {
        throw new FlashError(`the new app ran out of memory at boot (${state.free} of ${state.total} JsVars free, error flags ${state.flags.join(',')}): ` +
          'it is too big for this board; the flash itself worked');
      }
      return `the app runs, ${state.free} of ${state.total} JsVars free`;
    },
  });
  return steps;
}

/** One file to the board in acknowledged pieces, with a progress bar, then checked. */
async function upload(ctx, name, bytes) {
  const bar = progressBar(`"${name}"`, bytes.length);
  try {
    await ctx.board.writeFile(name, bytes, { pieceSize: ctx.pieceSize, progress: (done) => bar.update(done) });
  } catch (e) {
    bar.end(undefined, 'failed');
    throw e;
  }
  bar.end(bytes.length, `CRC-32 ${hex(checksum(bytes))} checked`);
}

function traffic() {
  const shorten = (text) => text
    .replace(/atob\("([A-Za-z0-9+/=]{40})[A-Za-z0-9+/=]*"\)/g, (m, head) => `atob("${head}...")`)
    .replace(/\x10/g, '^P').replace(/\x03/g, '^C');
  return (dir, text) => {
    for (const line of shorten(text).split(/\r?\n/)) if (line.trim()) process.stderr.write(`  ${dir} ${line}\n`);
  };
}

async function printPorts() {
  const ports = await listPorts();
  if (!ports.length) {
    console.log('no serial ports found (is the board plugged in? a pty or a port without a driver is used by its path: --port /dev/pts/3)');
    return;
  }
  for (const p of ports) console.log(`${p.path}\t${p.description}`);
}

main().catch((e) => {
  if (e instanceof FlashError || e instanceof BuildError || e instanceof ProjectError || e instanceof AssetError || e instanceof TransportError || e instanceof BoardError || e instanceof OtaError) {
    console.error(`flash failed: ${e.message}`);
  } else {
    console.error(e);
  }
  process.exit(1);
});
