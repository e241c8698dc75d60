// npm run flash -- APP --ota http://HOST:PORT --auth USER:PASSWORD: the bundle over Wi-Fi to an
// app that mounts the OTA plug-in (src/ota), instead of through the REPL:
//   1. GET /ota: the board answers, and boots from Storage;
//   2. POST /ota: the bundle, with its SHA-256, a piece per drain behind a progress bar;
//      the board verifies it, switches its boot code and restarts;
//   3. GET /ota until the board runs the new bundle and has kept it (healthy), or reports it
//      rolled back (the previous app runs again).
import { createHash } from 'node:crypto';
import http from 'node:http';
import { progressBar, kb } from './progress.mjs';

export class OtaError extends Error {}

/** Bytes written to the socket per step of the upload (the bar moves with each). */
const PIECE = 4096;
/** How often, and how long in all, the board is asked whether it kept the new app. */
const POLL_MS = 1000;
const KEEP_WAIT_MS = 120000;

/** The OTA route of the app at `url` (http://host:port, or the route itself). */
function otaUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new OtaError(`--ota needs the app's address, such as http://192.168.4.1 (got ${url})`);
  }
  if (parsed.protocol !== 'http:') throw new OtaError(`--ota takes an http:// address (got ${url})`);
  if (parsed.pathname === '/') parsed.pathname = '/ota';
  return parsed;
}

/**
 * A request and its whole answer. A body goes only once the board asks for it (Expect:
 * 100-continue): a refusal (401, 413, 507...) then comes before any of it is sent, rather than
 * racing the upload, whose next write fails with EPIPE once the board has answered and closed.
 */
function request(url, { method = 'GET', headers = {}, body = null, timeoutMs, progress }) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { ...headers, 'Content-Length': body.length, Expect: '100-continue' } : headers, timeout: timeoutMs });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, text, json });
        // Refused before the body was asked for: the request ends here.
        if (!req.writableEnded) req.destroy();
      });
    });
    if (!body) return req.end();
    let sent = 0;
    const next = () => {
      while (sent < body.length) {
        const piece = body.subarray(sent, sent + PIECE);
        sent += piece.length;
        const more = req.write(piece, () => progress(sent));
        if (!more) return req.once('drain', next);
      }
      req.end();
    };
    req.once('continue', next);
  });
}

async function status(url, timeoutMs) {
  const res = await request(url, { timeoutMs });
  if (res.status !== 200 || !res.json || !res.json.state) throw new OtaError(`GET ${url} answered ${res.status}, not the OTA plug-in's status: does the app mount it (src/ota)?`);
  return res.json;
}

/**
 * Sends `bytes` (a built bundle) to the app at `url` and waits until the board has kept it.
 * `auth` is "user:password" for the route's Basic auth.
 */
export async function flashOverTheAir({ url, auth, bytes, label, timeoutMs }) {
  const target = otaUrl(url);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const before = await status(target, timeoutMs).catch((e) => {
    throw e instanceof OtaError ? e : new OtaError(`no answer from ${target}: ${e.message}`);
  });
  console.log(`board: ${target.host} boots ${before.app ? `"${before.app.name}" (${before.app.size} bytes)` : 'nothing from Storage'}, state ${before.state}`);
  console.log(`ota: ${label} (${bytes.length} bytes, SHA-256 ${sha256}) -> POST ${target}`);

  const bar = progressBar('the bundle', bytes.length);
  let answer;
  try {
    answer = await request(target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'X-Content-SHA256': sha256, ...(auth ? { Authorization: 'Basic ' + Buffer.from(auth).toString('base64') } : {}) },
      body: bytes,
      timeoutMs,
      progress: (done) => bar.update(done),
    });
  } catch (e) {
    bar.end(undefined, 'failed');
    throw new OtaError(`the upload to ${target} failed: ${e.message} (the board keeps its app)`);
  }
  const why = answer.json && answer.json.error ? answer.json.error : answer.text.slice(0, 200);
  if (answer.status === 401) {
    bar.end(0, 'refused');
    throw new OtaError(`the board refused ${auth ? 'the user or password of --auth' : 'an upload without --auth user:password'} (401); nothing changed`);
  }
  if (answer.status !== 202) {
    bar.end(0, 'refused');
    throw new OtaError(`the board answered ${answer.status}: ${why}; nothing changed`);
  }
  bar.end(bytes.length, `verified on the board as "${answer.json.installed.name}"`);
  console.log(`ota: the board switched its boot code to the new app and restarts; waiting for it to keep it (up to ${KEEP_WAIT_MS / 1000} s)`);

  const end = Date.now() + KEEP_WAIT_MS;
  let last = null;
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    try {
      last = await status(target, timeoutMs);
    } catch {
      last = null; // restarting
    }
    if (last && last.lastFailure && last.lastFailure.sha256 === sha256) {
      throw new OtaError(`the new app was rolled back: it ${last.lastFailure.reason}; "${last.app && last.app.name}" runs again`);
    }
    if (last && last.app && last.app.sha256 === sha256 && last.state === 'healthy') {
      return `the board runs the new app and kept it ("${last.app.name}", ${kb(last.app.size)})`;
    }
    if (Date.now() > end) {
      throw new OtaError(`the board did not report the new app kept within ${KEEP_WAIT_MS / 1000} s (last answer: ${last ? JSON.stringify(last) : 'none'})`);
    }
  }
}
