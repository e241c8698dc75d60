// The streamed multipart/form-data parser (src/files/multipart.ts) end to end:
// test/fixtures/multipart.ts answers with every part it saw. Fields and files
// with their filenames and content types, bodies split anywhere (boundaries
// included), the limits per part, in parts and in total (413), and malformed
// bodies (400).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { randomBytes } from '../helpers/random.mjs';
import { multipart } from '../helpers/multipart.mjs';

/** Posts `body` to /parts in the pieces `cuts` gives (offsets into the body), and parses the answer. */
async function post(port, { body, contentType }, cuts = []) {
  const head = request('POST /parts HTTP/1.1', 'Host: t', `Content-Type: ${contentType}`, `Content-Length: ${body.length}`, 'Connection: close');
  const chunks = [];
  let from = 0;
  for (const cut of [...cuts, body.length]) {
    chunks.push(body.subarray(from, cut));
    from = cut;
  }
  chunks[0] = Buffer.concat([Buffer.from(head, 'latin1'), chunks[0]]);
  const [res] = parseResponses((await rawExchange(port, null, { chunks, idleMs: 8000 })).text);
  return res;
}

const every = (step, length) => Array.from({ length: Math.ceil(length / step) - 1 }, (_, i) => (i + 1) * step);

describe(`streamed multipart/form-data (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/multipart.ts'); });
  after(() => app.stop());

  test('fields and files arrive with their names, filenames and content types, the body split every 5 bytes', async () => {
    const picture = randomBytes(900, 40);
    // Data that starts like a delimiter without being one, up to its last bytes (followed by the real one).
    const tricky = Buffer.from('line\r\n--XyY\r\n--Xy\r\n-XyZ--\r\n\r\r\n--X', 'latin1');
    const form = multipart([
      { field: 'title', data: Buffer.from('Grüße', 'utf8') },
      { field: 'picture', filename: 'cat.png', type: 'image/png', data: picture },
      { field: 'notes', filename: 'notes.txt', type: 'text/plain; charset=utf-8', data: tricky },
      { field: 'empty', filename: 'empty.bin', data: '' },
    ], { boundary: 'XyZ', preamble: 'ignored preamble\r\n', epilogue: '\r\nignored epilogue' });
    const res = await post(app.port, form, every(5, form.body.length));
    assert.equal(res.status, 200, res.body);
    const parts = JSON.parse(res.body).parts;
    assert.deepEqual(parts.map(({ name, filename, contentType, size }) => ({ name, filename, contentType, size })), [
      { name: 'title', filename: null, contentType: 'text/plain', size: 7 },
      { name: 'picture', filename: 'cat.png', contentType: 'image/png', size: 900 },
      { name: 'notes', filename: 'notes.txt', contentType: 'text/plain; charset=utf-8', size: tricky.length },
      { name: 'empty', filename: 'empty.bin', contentType: 'application/octet-stream', size: 0 },
    ]);
    assert.ok(Buffer.from(parts[0].base64, 'base64').equals(Buffer.from('Grüße', 'utf8')));
    assert.ok(Buffer.from(parts[1].base64, 'base64').equals(picture));
    assert.ok(Buffer.from(parts[2].base64, 'base64').equals(tricky));
    // Handed on as it arrived, not gathered first.
    assert.ok(parts[1].pieces > 10, `the picture came in ${parts[1].pieces} pieces`);
  });

  test('a delimiter split at any byte is still found', async () => {
    const form = multipart([{ field: 'a', data: 'first value' }, { field: 'b', filename: 'b.bin', data: 'second' }], { boundary: 'B0undary' });
    const text = form.body.toString('latin1');
    const delimiter = text.indexOf('\r\n--B0undary\r\nContent-Disposition: form-data; name="b"');
    const closing = text.lastIndexOf('\r\n--B0undary--');
    const cuts = [];
    for (let at = delimiter - 1; at <= delimiter + 14; at++) cuts.push(at);
    for (let at = closing; at <= closing + 14; at++) cuts.push(at);
    for (const cut of cuts) {
      const res = await post(app.port, form, [cut]);
      assert.equal(res.status, 200, `cut at ${cut}: ${res.body}`);
      const parts = JSON.parse(res.body).parts;
      assert.deepEqual(parts.map((p) => Buffer.from(p.base64, 'base64').toString()), ['first value', 'second'], `cut at ${cut}`);
    }
  });

  test('a part over its limit, too many parts, or a body over the route\'s limit get 413; the receiver aborts', async () => {
    const bigPart = await post(app.port, multipart([{ filename: 'big.bin', data: randomBytes(1001, 41) }]), [500]);
    assert.equal(bigPart.status, 413);
    assert.match(bigPart.body, /A part larger than 1000 bytes/);
    await app.waitFor(/multipart aborted: A part larger than 1000 bytes/);
    const fiveParts = await post(app.port, multipart([1, 2, 3, 4, 5].map((n) => ({ field: 'f' + n, data: 'x' }))));
    assert.equal(fiveParts.status, 413);
    assert.match(fiveParts.body, /More than 4 parts/);
    const tooLong = await post(app.port, multipart([{ data: randomBytes(900, 42) }, { data: randomBytes(900, 43) }, { data: randomBytes(900, 44) }, { data: randomBytes(900, 45) }]));
    assert.equal(tooLong.status, 413);
    assert.match(tooLong.body, /larger than 3000 bytes/);
  });

  test('malformed bodies get 400 with the reason', async () => {
    const framed = (text) => ({ body: Buffer.from(text, 'latin1'), contentType: 'multipart/form-data; boundary=B' });
    const cases = [
      [framed('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nno closing delimiter'), /ended before its closing boundary/],
      [framed('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--Bjunk\r\n'), /Malformed multipart boundary line/],
      [framed('--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--'), /without Content-Disposition/],
      [framed('--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--'), /without a name/],
      [framed('--B\r\nContent-Disposition: form-data; name="a"\r\nno colon here\r\n\r\nx\r\n--B--'), /Malformed multipart header line/],
      [framed('--B\r\nContent-Disposition: form-data; name="a"\r\nX-Long: ' + 'y'.repeat(1100) + '\r\n\r\nx\r\n--B--'), /part headers too long/],
      [{ body: Buffer.from('--B--'), contentType: 'multipart/form-data' }, /Not multipart/],
    ];
    for (const [form, reason] of cases) {
      const res = await post(app.port, form);
      assert.equal(res.status, 400, `${form.body.toString('latin1').slice(0, 60)}: ${res.body}`);
      assert.match(res.body, reason);
    }
  });
});
