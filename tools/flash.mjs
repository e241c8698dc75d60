#!/usr/bin/env node
// npm run flash -- [entry.ts] [--port /dev/ttyUSB0] [--board esp32] [--baud 115200]
//                  [--www <dir>] [--storage-prefix www/] [--wifi <wifi.json>] [--no-manifest]
//                  [--app-port <n>] [--config espruino.json] [--keep]
//                  [--timeout <s>] [--dry-run]
//       npm run flash -- --module [--port ...] [--board ...] [--www <dir>] [--wifi ...]
//
// Builds the entry for a board and puts it on the device with the `espruino` CLI:
//   1. the web folder (--www, default <entry dir>/www) goes to Storage as "www/<path>"
//      (--storage-prefix; app.mountStatic('/', 'www/') serves it), each file gzipped when
//      that is smaller (stored as name + ".gz"); names over 28 characters get a short name
//      listed in the Storage file "www.manifest" (or an error with --no-manifest);
//   2. Wi-Fi credentials (wifi.json in the current directory, or WIFI_SSID/WIFI_PASSWORD)
//      are stored with Wifi.connect + Wifi.save, sent as an expression, never in the bundle;
//   3. the bundle is saved to flash (SAVE_ON_SEND=1: Storage ".bootcde", runs at every boot);
//   4. the board is reset (E.reboot(); load() on the Linux build).
// With --module, the library itself (src/index.ts, minified) is stored as the Storage
// module "MicroServer" instead, for plain JavaScript on the board or in the Web IDE:
// var M = require("MicroServer"); new M.MicroServer().get(...).run(). Nothing runs at boot.
// Port, baud and board come from espruino.json in the current directory; flags win.
// Works offline: the CLI gets a local board file naming the built-in modules and an
// empty MODULE_URL, so it downloads nothing. --dry-run prints every file and step.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, BuildError, ESPRUINO_MODULES } from '../build.mjs';
import { planAssets, webFolderOf, AssetError, MAX_STORAGE_NAME, MANIFEST_NAME, DEFAULT_PREFIX } from './web-assets.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'node_modules', 'espruino', 'bin', 'espruino-cli.js');
const DEFAULTS = { port: '/dev/ttyUSB0', baud: 115200, board: 'esp32' };
// The Storage module name of `npm run flash -- --module`: require("MicroServer") loads it.
const MODULE_NAME = 'MicroServer';
const BUILTIN_MODULES = [...new Set(['net', 'crypto', 'Storage', 'Wifi', 'fs', 'http', 'dgram', 'tls', 'Flash', 'ESP32', 'heatshrink', ...ESPRUINO_MODULES])];
const MASK = '****';

class FlashError extends Error {}

const USAGE = `usage: npm run flash -- [entry.ts] [--port <dev|tcp://host:port>] [--board esp32|esp32c3|linux]
         [--baud <n>] [--www <dir>] [--storage-prefix www/] [--wifi <wifi.json>] [--no-manifest] [--app-port <n>]
         [--timeout <seconds per step>] [--dry-run]
       npm run flash -- --module [--port ...] [--board ...] [--www <dir>] [--wifi <wifi.json>] [--dry-run]`;

function parseArgs(argv) {
  const args = { _: [] };
  const valued = new Set(['port', 'board', 'baud', 'www', 'storage-prefix', 'wifi', 'app-port', 'timeout', 'config']);
  const flags = new Set(['dry-run', 'no-manifest', 'help', 'keep', 'module']);
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
  return args;
}

function readJson(file, what) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FlashError(`${what} ${file} is not valid JSON: ${e.message}`);
  }
}

/** espruino.json in the current directory (or --config), then the flags. */
function loadSettings(args, cwd) {
  const configFile = args.config ? resolve(cwd, args.config) : join(cwd, 'espruino.json');
  let config = {};
  if (args.config && !existsSync(configFile)) throw new FlashError(`config file not found: ${configFile}`);
  if (existsSync(configFile)) config = readJson(configFile, 'config');
  const settings = {
    port: args.port || config.port || DEFAULTS.port,
    baud: Number(args.baud || config.baud || DEFAULTS.baud),
    board: args.board || config.board || DEFAULTS.board,
    configFile: existsSync(configFile) ? configFile : null,
  };
  if (!Number.isInteger(settings.baud) || settings.baud <= 0) throw new FlashError(`baud must be a positive integer, got ${args.baud || config.baud}`);
  return settings;
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

/** An expression that erases stale variants (name vs name.gz) and checks each stored length. */
function assetCheckExpr(assets) {
  const expect = {};
  const stale = [];
  for (const a of assets) {
    expect[a.storageName] = a.data.length;
    if (a.path !== null) stale.push(a.gzipped ? a.storageName.slice(0, -3) : a.storageName + '.gz');
  }
  if (!assets.some((a) => a.manifest)) stale.push(MANIFEST_NAME);
  const staleList = stale.filter((n) => !(n in expect) && n.length <= MAX_STORAGE_NAME);
  return `(function(){var S=require("Storage"),e=${JSON.stringify(expect)},s=${JSON.stringify(staleList)},bad=[],k;` +
    `s.forEach(function(n){if(S.read(n)!==undefined)S.erase(n);});` +
    `for(k in e){var d=S.read(k);if(d===undefined||d.length!==e[k])bad.push(k);}` +
    `print(bad.length?"FLASH-ASSETS-BAD "+bad.join(","):"FLASH-ASSETS-OK "+Object.keys(e).length);})()`;
}

function wifiExpr(wifi, mask) {
  const pw = mask ? MASK : wifi.password;
  return `var W=require("Wifi");W.connect(${JSON.stringify(wifi.ssid)},{password:${JSON.stringify(pw)}},function(e){print(e?"Wi-Fi: "+e:"Wi-Fi connected")});W.save();print("FLASH-WIFI-SAVED")`;
}

/** An expression that loads the stored module and reports what it exports (the name in a variable: the CLI would fetch a literal require). */
function moduleCheckExpr() {
  return `(function(){var n=${JSON.stringify(MODULE_NAME)},M=require(n);` +
    `print(typeof M.MicroServer==="function"?"FLASH-MODULE-OK "+Object.keys(M).length:"FLASH-MODULE-BAD");})()`;
}

/** The steps: each one CLI run with a job file. */
function planSteps({ settings, boardFile, assets, assetDir, wifi, bundleFile, workDir, asModule }) {
  const common = (extra) => ({
    ports: [{ type: 'path', name: settings.port }],
    baudRate: settings.baud,
    board: boardFile,
    noBle: true,
    espruino: {
      BAUD_RATE: settings.baud,
      MODULE_URL: '',
      BOARD_JSON_URL: '',
      PRETOKENISE: 0,
      MINIFICATION_LEVEL: '',
      MODULE_MINIFICATION_LEVEL: '',
      SET_TIME_ON_WRITE: false,
      ...extra,
    },
  });
  const steps = [];
  if (assets.length) {
    const storageContents = {};
    for (const a of assets) storageContents[a.storageName] = join(assetDir, storageFileName(a.storageName));
    steps.push({
      name: 'upload the web folder to Storage',
      job: { ...common({ SAVE_ON_SEND: 0, SERIAL_THROTTLE_SEND: 1 }), storageContents, expr: assetCheckExpr(assets) },
      expect: 'FLASH-ASSETS-OK',
    });
  }
  if (wifi) {
    steps.push({
      name: `store the Wi-Fi credentials (from ${wifi.source})`,
      job: { ...common({ SAVE_ON_SEND: 0, SERIAL_THROTTLE_SEND: 1 }), expr: wifiExpr(wifi, false) },
      masked: { ...common({ SAVE_ON_SEND: 0, SERIAL_THROTTLE_SEND: 1 }), expr: wifiExpr(wifi, true) },
      expect: 'FLASH-WIFI-SAVED',
      secret: true,
    });
  }
  if (asModule) {
    steps.push({
      name: `store the library as the Storage module "${MODULE_NAME}"`,
      job: { ...common({ SAVE_ON_SEND: 0, SERIAL_THROTTLE_SEND: 1 }), storageContents: { [MODULE_NAME]: bundleFile }, expr: moduleCheckExpr() },
      expect: 'FLASH-MODULE-OK',
    });
    steps.forEach((s, i) => { s.jobFile = join(workDir, `step${i + 1}.job.json`); });
    return steps;
  }
  steps.push({
    name: 'save the bundle to flash (runs at every boot)',
    job: { ...common({ SAVE_ON_SEND: 1, SERIAL_THROTTLE_SEND: 0 }), file: bundleFile },
    expect: 'Upload Complete',
  });
  // Deferred, so the CLI sees the expression accepted before the board goes away.
  const resetExpr = `setTimeout(function(){${settings.board === 'linux' ? 'load()' : 'E.reboot()'}},300);print("FLASH-RESET")`;
  steps.push({
    name: 'reset the board',
    job: { ...common({ SAVE_ON_SEND: 0, SERIAL_THROTTLE_SEND: 1 }), expr: resetExpr },
    expect: 'FLASH-RESET',
  });
  steps.forEach((s, i) => { s.jobFile = join(workDir, `step${i + 1}.job.json`); });
  return steps;
}

/** Storage names may hold '/', local file names may not. */
function storageFileName(name) {
  return encodeURIComponent(name).replace(/%/g, '_');
}

function cliCommand(jobFile) {
  return [process.execPath, CLI, '--no-ble', '-j', jobFile];
}

function runCli(step, settings, timeoutMs, password) {
  return new Promise((resolvePromise, reject) => {
    const [cmd, ...cmdArgs] = cliCommand(step.jobFile);
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d) => { output += d.toString('latin1'); };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(new FlashError(`could not start the espruino CLI: ${e.message}`)); });
    child.on('close', (code) => {
      clearTimeout(timer);
      const shown = password ? output.split(password).join(MASK) : output;
      const fail = (why) => reject(new FlashError(`${step.name}: ${why}\n--- espruino CLI output ---\n${tail(shown)}`));
      if (/Unable to connect|Port named .* not found|No Ports Found/.test(output) || !/\bConnected\b/.test(output)) {
        return fail(`could not connect to ${settings.port} (is the board plugged in, the port right, nothing else using it?)`);
      }
      if (/Disconnected\./.test(output) && !output.includes(step.expect)) return fail(`the connection to ${settings.port} dropped`);
      const moduleMissing = output.match(/^(--\] )?.*Module (\S+) not found/m);
      if (moduleMissing) {
        return fail(moduleMissing[1] ? `the board has no module ${moduleMissing[2]} (wrong --board, or firmware without it?)`
          : `the CLI tried to download the module ${moduleMissing[2]}: add it to the board file's built-in modules`);
      }
      const uncaught = output.match(/Uncaught [^\n]*/);
      if (uncaught) return fail(`the board reported: ${uncaught[0]}`);
      if (/FLASH-ASSETS-BAD/.test(output)) return fail('Storage does not hold every file with its full length');
      if (timedOut) return fail(`no answer within ${timeoutMs / 1000} s on ${settings.port}`);
      if (code !== 0) return fail(`the CLI exited with ${code}`);
      if (!output.includes(step.expect)) return fail(`the CLI did not report "${step.expect}"`);
      resolvePromise(shown);
    });
  });
}

function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) { console.log(USAGE); return; }
  const cwd = process.cwd();
  const dry = !!args['dry-run'];
  const settings = loadSettings(args, cwd);

  const asModule = !!args.module;
  const entry = asModule ? join(ROOT, 'src', 'index.ts') : args._[0] ? resolve(cwd, args._[0]) : join(ROOT, 'examples', 'basic.ts');
  if (!existsSync(entry) || !statSync(entry).isFile()) throw new FlashError(`entry not found: ${args._[0] || entry}`);

  let wwwDir = null;
  if (args.www) {
    wwwDir = resolve(cwd, args.www);
    if (!existsSync(wwwDir) || !statSync(wwwDir).isDirectory()) throw new FlashError(`web folder not found: ${args.www}`);
  }
  const prefix = args['storage-prefix'] === undefined ? DEFAULT_PREFIX : args['storage-prefix'];
  if (prefix.length > MAX_STORAGE_NAME - 4) throw new FlashError(`--storage-prefix "${prefix}" leaves no room in Storage's ${MAX_STORAGE_NAME}-character names`);
  const wifi = loadWifi(args, cwd);
  const timeoutMs = Number(args.timeout || 180) * 1000;

  const rel = (p) => (p.startsWith(ROOT + sep) ? relative(ROOT, p) : p);
  console.log(`flash ${asModule ? `the library as the Storage module "${MODULE_NAME}"` : rel(entry)} for board ${settings.board} on ${settings.port} at ${settings.baud} baud` +
    (settings.configFile ? ` (settings: ${rel(settings.configFile)})` : ' (no espruino.json: defaults)') +
    (dry ? ' -- dry run, no device' : ''));

  const bundleFile = join(ROOT, 'dist', 'flash', `${asModule ? MODULE_NAME : basename(entry, extname(entry))}.${settings.board}.js`);
  const built = await buildBundle(entry, { board: settings.board, out: bundleFile, port: args['app-port'], library: asModule });
  if (wifi && wifi.password.length >= 6 && built.code.includes(wifi.password)) {
    throw new FlashError('the bundle contains the Wi-Fi password: credentials must not be compiled in');
  }
  console.log(`file: bundle ${rel(built.outFile)} (${built.size} bytes) -> Storage "${asModule ? MODULE_NAME : '.bootcde'}"`);
  if (!args.www && !asModule) wwwDir = webFolderOf(entry, built.code, prefix);
  const assets = wwwDir ? planAssets(wwwDir, !args['no-manifest'], prefix) : [];
  for (const a of assets) {
    if (a.manifest) console.log(`file: manifest -> Storage "${a.storageName}" (${a.size} bytes): ${JSON.stringify(a.manifest)}`);
    else console.log(`file: ${rel(a.source)} -> Storage "${a.storageName}" (${a.size} bytes${a.gzipped ? `, gzipped to ${a.data.length}` : ', stored as is'})`);
  }
  if (!wwwDir) console.log(asModule ? 'file: no web folder (--www <dir> names one)' : 'file: no web folder (none at <entry dir>/www that the app reads; --www <dir> names one)');
  if (wifi) console.log(`Wi-Fi: ssid ${JSON.stringify(wifi.ssid)}, password ${MASK} (from ${wifi.source}; never written into the bundle)`);
  else console.log('Wi-Fi: no credentials (wifi.json or WIFI_SSID/WIFI_PASSWORD): the board keeps its saved Wi-Fi settings');

  const workDir = dry ? join(tmpdir(), 'microserver-flash-XXXXXX') : mkdtempSync(join(tmpdir(), 'microserver-flash-'));
  const boardFile = join(workDir, 'board.json');
  const assetDir = join(workDir, 'storage');
  const steps = planSteps({ settings, boardFile, assets, assetDir, wifi, bundleFile: built.outFile, workDir, asModule });
  const boardJson = { BOARD: settings.board.toUpperCase(), info: { builtin_modules: BUILTIN_MODULES } };
  console.log(`file: CLI board file ${boardFile}: ${JSON.stringify(boardJson)}`);

  try {
    if (!dry) {
      writeFileSync(boardFile, JSON.stringify(boardJson));
      mkdirSync(assetDir);
      for (const a of assets) writeFileSync(join(assetDir, storageFileName(a.storageName)), a.data);
      for (const s of steps) writeFileSync(s.jobFile, JSON.stringify(s.job, null, 1), { mode: 0o600 });
    }
    for (const [i, s] of steps.entries()) {
      console.log(`step ${i + 1}/${steps.length}: ${s.name}`);
      console.log(`  $ ${cliCommand(s.jobFile).map((x) => (/[\s"]/.test(x) ? JSON.stringify(x) : x)).join(' ')}`);
      console.log(`  job ${basename(s.jobFile)}: ${JSON.stringify(s.masked || s.job)}`);
      if (dry) continue;
      const started = Date.now();
      await runCli(s, settings, timeoutMs, s.secret ? wifi.password : null);
      console.log(`  ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    if (!dry && !args.keep) rmSync(workDir, { recursive: true, force: true });
  }
  console.log(dry ? 'dry run: nothing was sent' : `flashed ${asModule ? `the module "${MODULE_NAME}"` : rel(entry)} to ${settings.port}`);
}

main().catch((e) => {
  if (e instanceof FlashError || e instanceof BuildError || e instanceof AssetError) {
    console.error(`flash failed: ${e.message}`);
  } else {
    console.error(e);
  }
  process.exit(1);
});
