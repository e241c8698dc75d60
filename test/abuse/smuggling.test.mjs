// Request smuggling and response splitting end to end, on the emulation or
// (ESPRUINO set) the real interpreter. Each smuggling attempt carries a second
// request for /smuggled behind an ambiguously framed first one: the server
// must answer 400 (RFC 9112 §6.3, §5.2, §2.2, §7.1), close the connection, and
// never run the smuggled request. Fixture: test/fixtures/abuse.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, rawExchange, parseResponses } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { GET } from './lib.mjs';

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n';
const chunk = (text) => text.length.toString(16) + '\r\n' + text + '\r\n';
const POST = (...headers) => ['POST /echo HTTP/1.1', 'Host: t', ...headers].join('\r\n') + '\r\n\r\n';

const attempts = [
  ['Content-Length with Transfer-Encoding (CL.TE)', POST('Content-Length: 5', 'Transfer-Encoding: chunked') + '0\r\n\r\n' + SMUGGLED],
  ['Transfer-Encoding with Content-Length (TE.CL)', POST('Transfer-Encoding: chunked', `Content-Length: 4`) + chunk(SMUGGLED) + '0\r\n\r\n'],
  ['two different Content-Lengths', POST('Content-Length: 0', `Content-Length: ${SMUGGLED.length}`) + SMUGGLED],
  ['a Content-Length list of different values', POST(`Content-Length: 0, ${SMUGGLED.length}`) + SMUGGLED],
  ['obs-fold continuing Transfer-Encoding', POST('Content-Length: 0', 'Transfer-Encoding: identity', ' chunked') + chunk(SMUGGLED) + '0\r\n\r\n'],
  ['obs-fold hiding a header line', POST('X-Note: a', ` Content-Length: ${SMUGGLED.length}`) + SMUGGLED],
  ['a bare CR inside a header line', POST('X-Junk: a\rTransfer-Encoding: chunked', 'Content-Length: 0') + chunk(SMUGGLED) + '0\r\n\r\n'],
  ['a bare CR ending a header line', 'POST /echo HTTP/1.1\r\nHost: t\rContent-Length: 0\r\n\r\n' + SMUGGLED],
  ['a space before the colon', POST('Transfer-Encoding : chunked', 'Content-Length: 0') + chunk(SMUGGLED) + '0\r\n\r\n'],
  ['a tab before the colon', POST('Content-Length\t: 0') + SMUGGLED],
  ['a chunk size with junk after it', POST('Transfer-Encoding: chunked') + '0 junk\r\n\r\n' + SMUGGLED],
  ['a chunk size with letters in it', POST('Transfer-Encoding: chunked') + '0x5\r\nhello\r\n0\r\n\r\n' + SMUGGLED],
  ['a chunk size with a sign', POST('Transfer-Encoding: chunked') + '+5\r\nhello\r\n0\r\n\r\n' + SMUGGLED],
  ['Transfer-Encoding not ending in chunked', POST('Transfer-Encoding: chunked, identity') + '0\r\n\r\n' + SMUGGLED],
];

describe(`request smuggling → 400 (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/abuse.ts'); });
  after(() => app.stop());

  for (const [name, payload] of attempts) {
    test(`${name}: a well-formed request before it is answered, then 400 and close`, async () => {
      const { text, closed } = await rawExchange(app.port, GET('/users/1') + payload);
      const responses = parseResponses(text);
      assert.equal(responses.length, 2, text);
      assert.equal(responses[0].body, '{"id":"1"}');
      assert.equal(responses[1].status, 400, text);
      assert.equal(responses[1].headers.connection, 'close');
      assert.equal(closed, true);
    });
  }

  test('no smuggled request ever reached its route', async () => {
    const [res] = parseResponses((await rawExchange(app.port, GET('/smuggled/count'))).text);
    assert.deepEqual(JSON.parse(res.body), { smuggled: 0 });
    // The route itself works when asked openly.
    assert.equal(parseResponses((await rawExchange(app.port, SMUGGLED)).text)[0].body, 'smuggled');
  });
});

describe(`response splitting by user code → an error, never sent (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/abuse.ts'); });
  after(() => app.stop());

  const attempts = [
    ['name-crlf', 'CRLF in a header name'],
    ['name-lf', 'LF in a header name'],
    ['value-lf', 'LF in a header value'],
    ['value-cr', 'CR in a header value'],
    ['redirect', 'CRLF in a redirect location'],
    ['redirect-lf', 'LF in a redirect location'],
  ];
  for (const [route, name] of attempts) {
    test(`${name}: 500, no injected line, the connection serves on`, async () => {
      const { text, closed } = await rawExchange(app.port, GET('/split/' + route) + GET('/users/2'));
      const [res, next] = parseResponses(text);
      assert.equal(res.status, 500, text);
      assert.deepEqual(JSON.parse(res.body), { error: 'Internal Server Error', code: 500 });
      assert.doesNotMatch(text, /Injected/);
      assert.doesNotMatch(text, /\r(?!\n)|(?<!\r)\n(?!$)/, 'every line ends in CRLF');
      assert.equal(next.body, '{"id":"2"}');
      assert.equal(closed, false);
      await app.waitFor(new RegExp(`\\[ERROR\\].*GET /split/${route}: Invalid header`), 2000);
    });
  }
});
