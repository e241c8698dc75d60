// tools/flash.mjs (npm run flash): the --dry-run plan, the settings and errors, a refused
// connection, and (with ESPRUINO naming a Linux build) the real flow over telnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { crc32 } from 'node:zlib';
import { startInterpreter, waitFor, canConnect, telnetEval } from '../helpers/telnet.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FLASH = join(ROOT, 'tools', 'flash.mjs');
const BUILTINS = ['net', 'crypto', 'Storage', 'Wifi', 'fs', 'http', 'dgram', 'tls', 'Flash', 'ESP32', 'heatshrink'];

/** Runs the tool in `cwd` (a temp dir: no espruino.json or wifi.json unless the test writes one). */
function runFlash(args, { cwd, env = {}, timeout = 120000 } = {}) {
  return new Promise((resolve) => {
    const baseEnv = { ...process.env };
    delete baseEnv.WIFI_SSID;
    delete baseEnv.WIFI_PASSWORD;
    const child = spawn(process.execPath, [FLASH, ...args], { cwd, env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'flash-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The names of the planned steps, in order. */
function steps(out) {
  return [...out.matchAll(/^step \d+\/\d+: (.*)$/gm)].map((m) => m[1]);
}

test('default dry run: esp32 on /dev/ttyUSB0 at 115200, the plan of steps, nothing sent', async (t) => {
  const { code, out } = await runFlash(['--dry-run'], { cwd: tempDir(t) });
  assert.equal(code, 0, out);
  assert.match(out, /flash examples\/basic\.ts for board esp32 on \/dev\/ttyUSB0 at 115200 baud/);
  assert.match(out, /dry run, no device/);
  assert.match(out, /file: bundle dist\/flash\/basic\.esp32\.js \(\d+ bytes, CRC-32 0x[0-9a-f]{8}\) -> Storage app slot \.app0\/\.app1, booted by "\.bootcde"/);
  assert.match(out, /Wi-Fi: no credentials/);
  assert.doesNotMatch(out, /store the Wi-Fi/);
  assert.deepEqual(steps(out), ['check Storage space', 'upload the bundle to the app slot that is not booting',
    'switch ".bootcde" to the new app, then erase the old one', 'list what is on the board', 'reset the board and check that the app started']);
  assert.match(out, /dry run: nothing was sent/);
});

test('espruino.json gives port, baud and board; flags win', async (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'espruino.json'), JSON.stringify({ port: '/dev/ttyACM7', baud: 9600, board: 'esp32c3' }));
  let { code, out } = await runFlash(['--dry-run'], { cwd });
  assert.equal(code, 0, out);
  assert.match(out, /for board esp32c3 on \/dev\/ttyACM7 at 9600 baud \(settings: /);
  assert.match(out, /dist\/flash\/basic\.esp32c3\.js/);

  ({ code, out } = await runFlash([join(ROOT, 'examples/sse_simple.ts'), '--board', 'linux', '--port', 'tcp://127.0.0.1:2323', '--baud', '230400', '--dry-run'], { cwd }));
  assert.equal(code, 0, out);
  assert.match(out, /flash examples\/sse_simple\.ts for board linux on tcp:\/\/127\.0\.0\.1:2323 \(settings/);
  assert.match(out, /sse_simple\.linux\.js/);
});

test('web folder: gzipped when smaller, long names through the manifest', async (t) => {
  const cwd = tempDir(t);
  const www = join(cwd, 'site');
  mkdirSync(join(www, 'js'), { recursive: true });
  writeFileSync(join(www, 'index.html'), '<html>' + 'hello '.repeat(200) + '</html>');
  writeFileSync(join(www, 'a.txt'), 'x');
  writeFileSync(join(www, 'js', 'a-rather-long-script-name.js'), 'console.log(1);'.repeat(50));
  const { code, out } = await runFlash(['--www', 'site', '--storage-prefix', '', '--dry-run'], { cwd });
  assert.equal(code, 0, out);
  assert.match(out, /site\/index\.html -> Storage "index\.html\.gz" \(1213 bytes, gzipped to \d+\)/);
  assert.match(out, /site\/a\.txt -> Storage "a\.txt" \(1 bytes, stored as is\)/);
  const short = out.match(/js\/a-rather-long-script-name\.js -> Storage "(~[0-9a-f]{10}\.gz)"/);
  assert.ok(short, out);
  assert.match(out, new RegExp(`manifest -> Storage "www\\.manifest" .*"js/a-rather-long-script-name\\.js":"${short[1].replace('.', '\\.')}"`));
  assert.ok(steps(out).includes('upload the web folder (4 files, ' + out.match(/upload the web folder \(4 files, ([^)]+)\)/)[1] + ')'), out);
});

test('web folder: a long name is a clear error with --no-manifest; a missing folder too', async (t) => {
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'www'));
  writeFileSync(join(cwd, 'www', 'this-name-is-far-too-long-for-storage.html'), '<p>hi</p>');
  let { code, out } = await runFlash(['--www', 'www', '--no-manifest', '--dry-run'], { cwd });
  assert.equal(code, 1, out);
  assert.match(out, /flash failed: web file "this-name-is-far-too-long-for-storage\.html" needs the Storage name "www\/this-name.*" .* over Storage's 28/);
  ({ code, out } = await runFlash(['--www', 'nope', '--dry-run'], { cwd }));
  assert.equal(code, 1, out);
  assert.match(out, /flash failed: web folder not found: nope/);
});

test("the entry's own www folder is picked up when the app reads it", async (t) => {
  const cwd = tempDir(t);
  const app = (line) => `import { MicroServer, Response } from ${JSON.stringify(join(ROOT, 'src/index'))};\n` +
    `import { mountStatic } from ${JSON.stringify(join(ROOT, 'src/static'))};\n` +
    `const app = new MicroServer({ port: 80 });\napp.get('/', () => Response.plain('hi'));\n${line}\napp.run();\n`;
  writeFileSync(join(cwd, 'app.ts'), app("mountStatic(app, '/static', 'www/');"));
  writeFileSync(join(cwd, 'plain.ts'), app(''));
  mkdirSync(join(cwd, 'www'));
  writeFileSync(join(cwd, 'www', 'style.css'), 'body{margin:0}');
  let { code, out } = await runFlash(['app.ts', '--dry-run'], { cwd });
  assert.equal(code, 0, out);
  assert.match(out, /www\/style\.css -> Storage "www\/style\.css" \(14 bytes, stored as is\)/);
  ({ code, out } = await runFlash(['plain.ts', '--dry-run'], { cwd }));
  assert.equal(code, 0, out);
  assert.match(out, /file: no web folder \(none at <entry dir>\/www that the app reads/);
  assert.doesNotMatch(out, /style\.css/);
});

test('wifi.json: a separate Wi-Fi step with the password masked, never in the bundle', async (t) => {
  const cwd = tempDir(t);
  const password = 'sup3r-s3cret-pw';
  writeFileSync(join(cwd, 'wifi.json'), JSON.stringify({ ssid: 'HomeNet', password }));
  const { code, out } = await runFlash(['--dry-run'], { cwd });
  assert.equal(code, 0, out);
  assert.ok(!out.includes(password), 'the password is printed');
  assert.match(out, /Wi-Fi: ssid "HomeNet", password \*\*\*\* \(from .*wifi\.json/);
  assert.ok(steps(out).some((name) => /^store the Wi-Fi credentials \(from .*wifi\.json\)$/.test(name)), out);
  const bundle = readFileSync(join(ROOT, 'dist/flash/basic.esp32.js'), 'utf8');
  assert.ok(!bundle.includes(password) && !bundle.includes('HomeNet'), 'credentials in the bundle');
});

test('WIFI_SSID/WIFI_PASSWORD env work like wifi.json', async (t) => {
  const { code, out } = await runFlash(['--dry-run'], { cwd: tempDir(t), env: { WIFI_SSID: 'EnvNet', WIFI_PASSWORD: 'env-pass-123' } });
  assert.equal(code, 0, out);
  assert.ok(!out.includes('env-pass-123'));
  assert.match(out, /Wi-Fi: ssid "EnvNet", password \*\*\*\* \(from WIFI_SSID\/WIFI_PASSWORD/);
});

test('a missing entry or unknown board is a clear error', async (t) => {
  const cwd = tempDir(t);
  let { code, out } = await runFlash(['examples/nope.ts', '--dry-run'], { cwd });
  assert.equal(code, 1, out);
  assert.match(out, /flash failed: entry not found: examples\/nope\.ts/);
  ({ code, out } = await runFlash(['--board', 'esp8266', '--dry-run'], { cwd }));
  assert.equal(code, 1, out);
  assert.match(out, /unknown board "esp8266"/);
  ({ code, out } = await runFlash(['--bogus', '--dry-run'], { cwd }));
  assert.equal(code, 1, out);
  assert.match(out, /unknown option --bogus/);
});

test('no device: nothing listening, a missing port, a file that is no serial port: each a clear error', async (t) => {
  const cwd = tempDir(t);
  const port = await freePort();
  let { code, out } = await runFlash(['--port', `tcp://127.0.0.1:${port}`], { cwd });
  assert.equal(code, 1, out);
  assert.match(out, new RegExp(`flash failed: nothing listens at tcp://127\\.0\\.0\\.1:${port}`));
  ({ code, out } = await runFlash(['--port', join(cwd, 'ttyUSB9')], { cwd }));
  assert.equal(code, 1, out);
  assert.match(out, /flash failed: no serial port .*ttyUSB9 \(is the board plugged in\? `npm run flash -- --list` shows the ports\)/);
  writeFileSync(join(cwd, 'plain-file'), 'x');
  ({ code, out } = await runFlash(['--port', join(cwd, 'plain-file')], { cwd }));
  assert.equal(code, 1, out);
  assert.match(out, /flash failed: .*plain-file is not a serial device/);
});

test('--list names the serial ports without udev (a pty is used by its path)', async (t) => {
  const { code, out } = await runFlash(['--list'], { cwd: tempDir(t) });
  assert.equal(code, 0, out);
  assert.match(out, /^(\/dev\/\S+\t.+\n)+$|^no serial ports found/);
});

test('a port that is not an Espruino (a silent line) fails naming that, with no false success', async (t) => {
  const silent = net.createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => silent.close());
  const { code, out } = await runFlash(['--port', `tcp://127.0.0.1:${silent.address().port}`], { cwd: tempDir(t) });
  assert.equal(code, 1, out);
  assert.match(out, /flash failed: tcp:\/\/127\.0\.0\.1:\d+ opened, but no Espruino answered there: no answer from the board/);
  assert.doesNotMatch(out, /^flashed /m);
});

// ---- the real flow on Espruino's Linux build (its --telnet console is always port 2323) ----

const ESPRUINO = process.env.ESPRUINO;

test('real flow on the Linux build: flashed app and Storage survive a restart', { skip: ESPRUINO ? false : 'set ESPRUINO to an Espruino Linux binary to run the real flash flow', timeout: 180000 }, async (t) => {
  assert.ok(existsSync(ESPRUINO), `ESPRUINO=${ESPRUINO} does not exist`);
  assert.equal(await canConnect(2323), false, 'something already listens on 2323 (an old Espruino --telnet?): stop it first');
  const dir = tempDir(t);
  const www = join(dir, 'www');
  mkdirSync(join(www, 'img'), { recursive: true });
  const page = '<!doctype html><title>t</title>' + '<p>MicroServer</p>'.repeat(100);
  writeFileSync(join(www, 'index.html'), page);
  writeFileSync(join(www, 'img', 'an-icon-with-a-long-name.bin'), Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 97 + 13) & 255)));
  // An app of the user's: an API route and the web folder under /static.
  writeFileSync(join(dir, 'app.ts'), `import { MicroServer, Response } from ${JSON.stringify(join(ROOT, 'src/index'))};\n` +
    `import { mountStatic } from ${JSON.stringify(join(ROOT, 'src/static'))};\n` +
    `const app = new MicroServer({ port: 80 });\napp.get('/', () => Response.json({ message: 'Hello from MicroServer' }));\n` +
    `mountStatic(app, '/static', 'www/');\napp.run();\n`);
  const appPort = await freePort();

  let esp = startInterpreter(dir);
  t.after(() => esp.stop());
  await waitFor('the telnet console', () => canConnect(2323));

  const { code, out } = await runFlash(['app.ts', '--board', 'linux', '--app-port', String(appPort), '--port', 'tcp://127.0.0.1:2323', '--www', www, '--timeout', '60'], { cwd: dir });
  assert.equal(code, 0, out + '\n--- interpreter ---\n' + esp.output());
  assert.match(out, /"\.bootcde" boots "\.app0"/);
  assert.match(out, /ok \([\d.]+ s\): the app runs/);
  await waitFor('the app after the flash', async () => (await fetch(`http://127.0.0.1:${appPort}/`)).ok);

  // Restart in the same directory: espruino.flash keeps Storage, .bootcde runs at boot.
  await esp.stop();
  assert.ok(existsSync(join(dir, 'espruino.flash')));
  esp = startInterpreter(dir);
  const res = await waitFor('the app after a restart', async () => {
    const r = await fetch(`http://127.0.0.1:${appPort}/`);
    return r.ok && r;
  });
  assert.deepEqual(await res.json(), { message: 'Hello from MicroServer' });
  await waitFor('the telnet console after a restart', () => canConnect(2323));

  const manifest = JSON.parse(await telnetEval('require("Storage").read("www.manifest")'));
  const short = manifest['www/img/an-icon-with-a-long-name.bin'];
  assert.match(short, /^~[0-9a-f]{10}$/);
  const { gunzipSync } = await import('node:zlib');
  const gz = Buffer.from(await telnetEval('btoa(require("Storage").read("www/index.html.gz"))'), 'base64');
  assert.equal(gunzipSync(gz).toString(), page);
  const icon = Buffer.from(await telnetEval(`btoa(require("Storage").read(${JSON.stringify(short)}))`), 'base64');
  assert.deepEqual(icon, readFileSync(join(www, 'img', 'an-icon-with-a-long-name.bin')));
  assert.equal(Number(await telnetEval('E.CRC32(require("Storage").read(".app0"))')), crc32(readFileSync(join(ROOT, 'dist/flash/app.linux.js'))) >>> 0);

  // The flashed app serves the web folder, the long name through the manifest.
  const served = await fetch(`http://127.0.0.1:${appPort}/static/`);
  assert.equal(served.headers.get('content-encoding'), 'gzip');
  assert.equal(await served.text(), page);
  const iconRes = await fetch(`http://127.0.0.1:${appPort}/static/img/an-icon-with-a-long-name.bin`);
  assert.equal(iconRes.status, 200);
  assert.deepEqual(Buffer.from(await iconRes.arrayBuffer()), icon);
});

test('--module dry run: the core and each plug-in as Storage modules, no boot code', async (t) => {
  const cwd = tempDir(t);
  const { code, out } = await runFlash(['--module', '--dry-run'], { cwd });
  assert.equal(code, 0, out);
  assert.match(out, /flash the library as the Storage modules "MicroServer" and its plug-ins for board esp32/);
  const modules = [...out.matchAll(/^file: module dist\/flash\/modules\.esp32\/(\S+) \(\d+ bytes, CRC-32 0x[0-9a-f]{8}\) -> Storage "([^"]+)"$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(modules, [['MicroServer.js', 'MicroServer'], ['MicroServer.websocket.js', 'MicroServer/websocket'], ['MicroServer.sse.js', 'MicroServer/sse'],
    ['MicroServer.static.js', 'MicroServer/static'], ['MicroServer.middleware.js', 'MicroServer/middleware'], ['MicroServer.wifi.js', 'MicroServer/wifi'],
    ['MicroServer.files.js', 'MicroServer/files'], ['MicroServer.ota.js', 'MicroServer/ota'], ['MicroServer.mqtt.js', 'MicroServer/mqtt']]);
  assert.deepEqual(steps(out), ['check Storage space', 'store the library as the Storage modules "MicroServer", "MicroServer/websocket", "MicroServer/sse", ' +
    '"MicroServer/static", "MicroServer/middleware", "MicroServer/wifi", "MicroServer/files", "MicroServer/ota", "MicroServer/mqtt"', 'list what is on the board', 'reset the board and check that the app started']);
  assert.doesNotMatch(out, /app slot|switch/);
  const ws = readFileSync(join(ROOT, 'dist', 'flash', 'modules.esp32', 'MicroServer.websocket.js'), 'utf8');
  assert.match(ws, /require\("MicroServer"\)/, 'a plug-in takes the core from its module');
  assert.doesNotMatch(ws, /Method Not Allowed/, 'and does not carry the core');
  const ota = readFileSync(join(ROOT, 'dist', 'flash', 'modules.esp32', 'MicroServer.ota.js'), 'utf8');
  assert.match(ota, /require\("MicroServer\/files"\)/, 'a plug-in takes another plug-in from its module');
  assert.doesNotMatch(ota, /is being uploaded/, 'and does not carry its code');
  const again = await runFlash(['--module', 'examples/basic.ts', '--dry-run'], { cwd });
  assert.equal(again.code, 1);
  assert.match(again.out, /--module stores the library itself: it takes no entry/);
});

test('real --module on the Linux build: plain JavaScript typed at the REPL uses require("MicroServer"), also after a restart', { skip: ESPRUINO ? false : 'set ESPRUINO to an Espruino Linux binary to run the real flash flow', timeout: 180000 }, async (t) => {
  assert.equal(await canConnect(2323), false, 'something already listens on 2323 (an old Espruino --telnet?): stop it first');
  const dir = tempDir(t);
  let esp = startInterpreter(dir);
  t.after(() => esp.stop());
  await waitFor('the telnet console', () => canConnect(2323));
  const { code, out } = await runFlash(['--module', '--board', 'linux', '--port', 'tcp://127.0.0.1:2323', '--timeout', '60'], { cwd: dir });
  assert.equal(code, 0, out + '\n--- interpreter ---\n' + esp.output());
  assert.match(out, /ok \([\d.]+ s\): each loads with require\(\): MicroServer \(\d+ exports\), MicroServer\/websocket \(\d+ exports\)/);

  const serveFromRepl = async () => {
    const port = await freePort();
    const started = await telnetEval('(function(){var M=require("MicroServer"),S=require("MicroServer/sse");var app=new M.MicroServer({port:' + port + '});' +
      'app.get("/hi/<name>",function(req){return M.Response.json({hi:req.pathParams.name})});' +
      'app.get("/ev",function(){return S.sse(["data: 1\\n\\n"])});app.run();return "started"})()');
    assert.equal(started, 'started');
    const res = await waitFor('the REPL app', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/hi/board`);
      return r.ok && r;
    });
    assert.deepEqual(await res.json(), { hi: 'board' });
    const events = await fetch(`http://127.0.0.1:${port}/ev`);
    assert.equal(events.headers.get('content-type'), 'text/event-stream');
    assert.equal(await events.text(), 'data: 1\n\n');
  };
  await serveFromRepl();
  await esp.stop();
  esp = startInterpreter(dir);
  await waitFor('the telnet console after a restart', () => canConnect(2323));
  assert.equal(await telnetEval('require("Storage").read(".bootcde")'), 'undefined', 'nothing runs at boot');
  await serveFromRepl();
});
