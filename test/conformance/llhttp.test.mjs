// Runs llhttp's strict request cases (nodejs/llhttp test/request/*.md, kept in
// ../shared/conformance/) against the server, over real sockets.
//
// One echo server (test/fixtures/echo.ts) answers every request with JSON
// describing what it parsed. Each case's bytes (with a Host line added where a
// message lacks one, see llhttp-cases.mjs) go over a new connection; the
// responses are compared with llhttp's log:
//   accept      one 2xx echo per message, same method, path + query, version,
//               header fields (duplicates combined, OWS trimmed), body.
//   reject      earlier complete messages echoed, then one 4xx/5xx, then the
//               connection closes; no 2xx for the malformed message.
//   incomplete  the complete messages echoed, nothing more, connection open.
// Cases answered differently on purpose are in DIFFERENCES below, each with
// the server's actual behaviour, and listed with reasons in DIFFERENCES.md
// (a test checks both lists name the same cases).
//
//   node --test test/conformance/                                  emulation
//   ESPRUINO=/path/to/espruino node --test test/conformance/       real interpreter
// Env LLHTTP_IDLE_MS (default 300) sets how long a connection may stay quiet
// before its answer is taken as complete.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CONFORMANCE_DIR,
  loadCases,
  caseId,
  expectedOutcome,
  withHostHeaders,
  hostInsertions,
  trimOws,
} from './llhttp-cases.mjs';
import { startApp, rawExchange, parseResponses } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const IDLE_MS = Number(process.env.LLHTTP_IDLE_MS) || 300;
const CONCURRENCY = 4; // the echo fixture allows 8 connections
const INSERTED_HOST = 'example.com'; // what withHostHeaders() adds

// ---------------------------------------------------------------------------
// Deliberate differences (reviewed; keep in step with DIFFERENCES.md).
//
// Each entry says what the server does instead of what llhttp does:
//   { expect: 'reject', statuses }   one error response with one of `statuses`,
//                                    no 2xx, the connection closes.
//   { expect: 'answer-then-wait' }   every complete message echoed (as for
//                                    accept); the bytes after them are the start
//                                    of a next request that never completes:
//                                    no more responses, connection open.
//   { expect: 'answer-then-close' }  every complete message echoed, then the
//                                    connection closes; what follows is ignored.
//   { expect: 'answer-then-reject', statuses }
//                                    every complete message echoed; the bytes
//                                    after them already prove the next request
//                                    malformed: one of `statuses`, then the
//                                    connection closes.

const UNKNOWN_METHOD = { expect: 'reject', statuses: [501] };
const NOT_HTTP = { expect: 'reject', statuses: [400] };
const UPGRADE = { expect: 'answer-then-wait' };
// An upgrade answered as a plain request, followed by bytes that cannot start a request line.
const UPGRADE_THEN_JUNK = { expect: 'answer-then-reject', statuses: [400] };
const CLOSE = { expect: 'answer-then-close' };

const DIFFERENCES = {
  // Methods llhttp knows that the server neither has as standard nor routes.
  'method.md:4 REPORT request': UNKNOWN_METHOD,
  'method.md:135 M-SEARCH request': UNKNOWN_METHOD,
  'method.md:217 PURGE request': UNKNOWN_METHOD,
  'method.md:245 SEARCH request': UNKNOWN_METHOD,
  'method.md:273 LINK request': UNKNOWN_METHOD,
  'method.md:311 LINK request': UNKNOWN_METHOD, // UNLINK
  'method.md:344 SOURCE request': UNKNOWN_METHOD,
  'method.md:482 QUERY request': UNKNOWN_METHOD,
  // RTSP/ICE request lines: not HTTP; the version check fails first.
  'method.md:372 SOURCE request with ICE': NOT_HTTP,
  'method.md:400 OPTIONS request with RTSP': NOT_HTTP,
  'method.md:430 ANNOUNCE request with RTSP': NOT_HTTP,
  // HTTP/0.9 simple request (no version).
  'sample.md:314 No HTTP version': NOT_HTTP,
  // CONNECT: no tunnelling.
  'method.md:27 CONNECT request': UNKNOWN_METHOD,
  'method.md:62 CONNECT request with CAPS': UNKNOWN_METHOD,
  'method.md:96 CONNECT with body': UNKNOWN_METHOD,
  'uri.md:188 Underscore in hostname': UNKNOWN_METHOD,
  // Upgrade requests: answered as ordinary requests, no protocol switch.
  'connection.md:542 Multiple tokens with folding and LWS': UPGRADE_THEN_JUNK,
  'connection.md:679 Setting a flag and pausing': UPGRADE,
  'connection.md:713 Emitting part of body and pausing': UPGRADE,
  'connection.md:753 Upgrade GET request': UPGRADE_THEN_JUNK,
  'connection.md:812 Upgrade POST request': UPGRADE_THEN_JUNK,
  // Bytes after a message that closes the connection: not parsed.
  'connection.md:81 No restart when keep-alive is off (1.0)': CLOSE,
  'connection.md:292 CRLF between requests, explicit `close`': CLOSE,
  'connection.md:342 CRLF between requests, explicit `close` followed by tab': CLOSE,
  // Transfer codings other than chunked: not decoded, so refused (RFC 9112 §6.1).
  'transfer-encoding.md:751 POST with `chunked` as last transfer-encoding': { expect: 'reject', statuses: [501] },
  'transfer-encoding.md:793 POST with `chunked` as last transfer-encoding (multiple headers)': { expect: 'reject', statuses: [501] },
};

// ---------------------------------------------------------------------------
// Expected views

/** Splits llhttp's url like the server does: absolute-form is reduced to its path. */
function expectedTarget(url) {
  let rest = url;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  if (absolute) {
    rest = url.slice(absolute[0].length);
    if (!rest.startsWith('/')) rest = '/' + rest;
  }
  const question = rest.indexOf('?');
  return question < 0
    ? { path: rest, query: '' }
    : { path: rest.slice(0, question), query: rest.slice(question + 1) };
}

/** llhttp's separate field lines as the server's header object (latin1 strings). */
function expectedHeaders(fields, hostInserted) {
  const headers = {};
  const all = hostInserted ? [['Host', INSERTED_HOST], ...fields] : fields;
  for (const [rawName, rawValue] of all) {
    const name = rawName.toLowerCase();
    const value = trimOws(rawValue);
    if (!Object.prototype.hasOwnProperty.call(headers, name)) headers[name] = value;
    else if (name === 'content-length' && headers[name] === value) continue; // identical repeats are one value
    else headers[name] += (name === 'cookie' ? '; ' : ', ') + value;
  }
  return headers;
}

const fromBase64 = (b64) => Buffer.from(b64, 'base64').toString('latin1');

/** The server's echo as latin1 strings, or an error string. */
function decodeEcho(res) {
  let echo;
  try {
    echo = JSON.parse(res.body);
  } catch (e) {
    return { error: `response body is not JSON: ${JSON.stringify(res.body.slice(0, 200))}` };
  }
  const headers = {};
  for (const name of Object.keys(echo.headers || {})) headers[name] = fromBase64(echo.headers[name]);
  return {
    method: echo.method,
    path: fromBase64(echo.path),
    query: fromBase64(echo.query),
    version: echo.version,
    headers,
    body: echo.body === null ? null : fromBase64(echo.body),
  };
}

/** Checks one response against one llhttp message; throws with a readable message. */
function assertEcho(res, msg, hostInserted, where) {
  assert.ok(res, `${where}: no response`);
  assert.ok(res.status >= 200 && res.status < 300, `${where}: status ${res.status} (${res.statusLine}), body ${JSON.stringify(res.body.slice(0, 200))}`);
  const target = expectedTarget(msg.url);
  if (msg.method === 'HEAD') {
    // No body to read the echo from: its Content-Length must be that of the
    // echo the server would send for what llhttp parsed.
    const toB64 = (s) => Buffer.from(s, 'latin1').toString('base64');
    const headers = {};
    for (const [name, value] of Object.entries(expectedHeaders(msg.headers, hostInserted))) headers[name] = toB64(value);
    const json = JSON.stringify({
      method: 'HEAD', path: toB64(target.path), query: toB64(target.query),
      version: msg.version === '1.0' ? 10 : 11, headers, body: msg.body ? toB64(msg.body) : null,
    });
    assert.equal(res.body, '', `${where}: a HEAD response carries no body`);
    assert.equal(Number(res.headers['content-length']), json.length, `${where}: HEAD response's Content-Length is not that of the expected echo ${json}`);
    return;
  }
  const echo = decodeEcho(res);
  assert.ok(!echo.error, `${where}: ${echo.error}`);
  const actual = {
    method: echo.method,
    path: echo.path,
    query: echo.query,
    version: echo.version,
    headers: echo.headers,
    body: echo.body ?? '',
  };
  const expected = {
    method: msg.method,
    path: target.path,
    query: target.query,
    version: msg.version === '1.0' ? 10 : msg.version === '1.1' ? 11 : msg.version,
    headers: expectedHeaders(msg.headers, hostInserted),
    body: msg.body,
  };
  assert.deepEqual(actual, expected, `${where}: the server's view differs from llhttp's`);
}


function isError(res) {
  return res.status >= 400 && res.status < 600;
}

// ---------------------------------------------------------------------------
// Running one case

function describeExchange(bytes, reply) {
  return `sent ${JSON.stringify(bytes.toString('latin1'))}\n` +
    `got ${JSON.stringify(reply.text.slice(0, 1200))}${reply.text.length > 1200 ? '...' : ''} (closed: ${reply.closed})`;
}

async function runCase(port, c) {
  const bytes = withHostHeaders(c);
  const inserted = new Set(hostInsertions(c).map((ins) => ins.messageIndex));
  const reply = await rawExchange(port, bytes, { idleMs: IDLE_MS });
  const responses = parseResponses(reply.text, c.messages.map((m) => m.method === 'HEAD'));
  const context = () => describeExchange(bytes, reply);
  const echoes = (messages) => messages.forEach((msg, i) => {
    assertEcho(responses[i], msg, inserted.has(c.messages.indexOf(msg)), `message ${i + 1} (${msg.method} ${msg.url})\n${context()}\n`);
  });
  const count = (n, what) => assert.equal(responses.length, n, `${what}: expected ${n} response(s), got ${responses.length}: ${responses.map((r) => r.status).join(', ')}\n${context()}`);

  const diff = DIFFERENCES[caseId(c)];
  if (diff) {
    switch (diff.expect) {
      case 'reject': {
        count(1, 'deliberate rejection');
        assert.ok(diff.statuses.includes(responses[0].status), `expected status ${diff.statuses.join('/')}, got ${responses[0].status}\n${context()}`);
        assert.ok(reply.closed, `connection should close after the error\n${context()}`);
        return;
      }
      case 'answer-then-wait': {
        const complete = c.messages.filter((m) => m.complete);
        count(complete.length, 'upgrade answered as a plain request');
        echoes(complete);
        assert.ok(!reply.closed, `connection should stay open\n${context()}`);
        return;
      }
      case 'answer-then-close': {
        const complete = c.messages.filter((m) => m.complete);
        count(complete.length, 'answer then close');
        echoes(complete);
        assert.ok(reply.closed, `connection should close after the answer\n${context()}`);
        return;
      }
      case 'answer-then-reject': {
        const complete = c.messages.filter((m) => m.complete);
        count(complete.length + 1, 'answer, then a refusal of the bytes after it');
        echoes(complete);
        const last = responses[responses.length - 1];
        assert.ok(diff.statuses.includes(last.status), `expected status ${diff.statuses.join('/')}, got ${last.status}\n${context()}`);
        assert.ok(reply.closed, `connection should close after the error\n${context()}`);
        return;
      }
      default:
        throw new Error(`unknown expectation ${diff.expect}`);
    }
  }

  const outcome = expectedOutcome(c);
  switch (outcome.kind) {
    case 'accept':
      count(outcome.messages.length, 'accepted by llhttp');
      echoes(outcome.messages);
      return;
    case 'incomplete': {
      const complete = outcome.messages.filter((m) => m.complete);
      count(complete.length, 'incomplete last message: only the complete ones are answered');
      echoes(complete);
      assert.ok(!reply.closed, `connection should stay open, waiting for the rest\n${context()}`);
      return;
    }
    case 'reject': {
      const before = outcome.acceptedBefore;
      count(before.length + 1, `rejected by llhttp (${c.error.reason})`);
      echoes(before);
      const last = responses[responses.length - 1];
      assert.ok(isError(last), `expected a 4xx/5xx for "${c.error.reason}", got ${last.status}\n${context()}`);
      const allowed = allowedStatuses(c.error.reason);
      assert.ok(allowed.includes(last.status), `status ${last.status} for "${c.error.reason}", expected ${allowed.join('/')}\n${context()}`);
      assert.ok(reply.closed, `connection should close after the error\n${context()}`);
      return;
    }
    default:
      throw new Error(`unknown outcome ${outcome.kind}`);
  }
}

/** Statuses acceptable for an llhttp error reason: 400, plus the specific ones that fit. */
function allowedStatuses(reason) {
  const allowed = [400];
  if (/method|PRI/i.test(reason)) allowed.push(501);
  if (/version|HTTP\/|PRI/i.test(reason)) allowed.push(505);
  if (/overflow/i.test(reason)) allowed.push(413);
  return allowed;
}

// ---------------------------------------------------------------------------
// Tests

const all = loadCases();

if (!all) {
  test('llhttp conformance', { skip: `conformance data not found at ${CONFORMANCE_DIR} (see ../shared/conformance/README.md)` }, () => {});
} else {
  const strict = all.filter((c) => c.strict);

  describe('llhttp conformance bookkeeping', () => {
    test('120 strict cases, unique ids', () => {
      assert.equal(strict.length, 120);
      assert.equal(new Set(strict.map(caseId)).size, strict.length);
    });

    test('every listed difference names a strict case', () => {
      const ids = new Set(strict.map(caseId));
      const stale = Object.keys(DIFFERENCES).filter((id) => !ids.has(id));
      assert.deepEqual(stale, []);
    });

    test('DIFFERENCES.md lists exactly the cases of the table in this test', () => {
      const text = fs.readFileSync(path.join(HERE, 'DIFFERENCES.md'), 'utf8');
      // Case ids are the first cell of a table row, as plain text: | file.md:line name | ...
      const documented = [];
      for (const line of text.split('\n')) {
        const m = /^\|\s*([\w-]+\.md:\d+ [^|]*?)\s*\|/.exec(line);
        if (m) documented.push(m[1]);
      }
      assert.deepEqual([...documented].sort(), Object.keys(DIFFERENCES).sort());
    });
  });

  describe(`llhttp request cases (${lane()})`, { concurrency: CONCURRENCY }, () => {
    let app;
    before(async () => {
      app = await startApp('test/fixtures/echo.ts', { mode: 'esp32' });
    });
    after(async () => {
      if (app) await app.stop();
    });

    for (const c of strict) {
      test(caseId(c), async () => {
        await runCase(app.port, c);
      });
    }
  });
}
