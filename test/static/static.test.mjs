// Static files end to end (test/fixtures/static.ts): a Storage mount at /static
// and at /, an fs mount at /files, sendFile from routes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const GET = (path, ...headers) => request(`GET ${path} HTTP/1.1`, 'Host: test', ...headers);

let ALL_BYTES = '';
for (let i = 0; i < 256; i++) ALL_BYTES += String.fromCharCode(i);
let BIG = '0123456789abcdefghijklmnopqrstu\n';
while (BIG.length < 20480) BIG += BIG;

/** One request on its own connection, parsed: { status, headers, body (latin1) }. */
async function one(port, raw, isHead = false, idleMs = 400) {
  const { text } = await rawExchange(port, raw, { idleMs });
  const [res] = parseResponses(text, [isHead]);
  assert.ok(res, `a response to ${JSON.stringify(raw.split('\r\n')[0])}`);
  return res;
}

const etagOf = (bytes) => `"${zlib.crc32(Buffer.from(bytes, 'latin1')).toString(16)}-${bytes.length.toString(16)}"`;

for (const mode of ['esp32', 'linux']) {
  describe(`static files (${lane()}, ${mode})`, () => {
    let app;
    before(async () => { app = await startApp('test/fixtures/static.ts', { mode }); });
    after(() => app.stop());

    test('content types, Content-Length, ETag (CRC-32), Cache-Control, Accept-Ranges', async () => {
      const cases = [
        ['/static/app.js', 'text/javascript; charset=utf-8', 'console.log("app");\n'],
        ['/static/style.css', 'text/css; charset=utf-8', 'body { color: red }'],
        ['/static/data.json', 'application/json; charset=utf-8', '{"ok":true}'],
        ['/static/bytes.png', 'image/png', ALL_BYTES],
        ['/static/big.txt', 'text/plain; charset=utf-8', BIG],
        ['/static/utf8.txt', 'text/plain; charset=utf-8', Buffer.from('héllo €', 'utf8').toString('latin1')],
        ['/static/blob.unknownext', 'application/octet-stream', 'x'],
      ];
      for (const [path, type, body] of cases) {
        const res = await one(app.port, GET(path));
        assert.equal(res.status, 200, path);
        assert.equal(res.headers['content-type'], type, path);
        assert.equal(res.headers['content-length'], String(body.length), path);
        assert.equal(res.headers['transfer-encoding'], undefined, path);
        assert.equal(res.body, body, path);
        assert.equal(res.headers.etag, etagOf(body), path);
        assert.equal(res.headers['cache-control'], 'max-age=3600', path);
        assert.equal(res.headers['accept-ranges'], 'bytes', path);
        assert.equal(res.headers['last-modified'], undefined, 'Storage knows no times');
      }
      const utf8 = await fetch(app.url + '/static/utf8.txt');
      assert.equal(await utf8.text(), 'héllo €');
    });

    test('index.html for directories; a mount path without its slash redirects', async () => {
      assert.equal((await one(app.port, GET('/static/'))).body, '<h1>Index</h1>');
      assert.equal((await one(app.port, GET('/static/sub/'))).body, '<h1>Sub</h1>');
      assert.equal((await one(app.port, GET('/'))).body, '<h1>Index</h1>');
      assert.equal((await one(app.port, GET('/files/'))).body, '<h1>fs index</h1>');
      const redirect = await one(app.port, GET('/static'));
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.location, '/static/');
    });

    test('the fs mount: bytes, Last-Modified, its own max-age; a 20 KB file', async () => {
      const res = await one(app.port, GET('/files/bytes.png'));
      assert.equal(res.status, 200);
      assert.equal(res.body, ALL_BYTES);
      assert.equal(res.headers['cache-control'], 'max-age=60');
      assert.match(res.headers['last-modified'], /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
      // The first request for a file computes its CRC-32 (in JavaScript for fs: slow on the interpreter).
      const big = await one(app.port, GET('/files/big.txt'), false, 5000);
      assert.equal(big.body, BIG);
      assert.equal(big.headers.etag, etagOf(BIG));
      const older = await one(app.port, GET('/files/bytes.png', 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT'));
      assert.equal(older.status, 200, 'another time');
      const cond = await one(app.port, GET('/files/bytes.png', `If-Modified-Since: ${res.headers['last-modified']}`));
      assert.equal(cond.status, 304);
    });

    test('sendFile from routes', async () => {
      const dl = await one(app.port, GET('/download'));
      assert.equal(dl.status, 200);
      assert.equal(dl.headers['content-type'], 'text/x-custom');
      assert.equal(dl.headers['cache-control'], 'max-age=10');
      assert.equal(dl.body, 'console.log("app");\n');
      const send = await one(app.port, GET('/send'));
      assert.equal(send.body, '<p>fs page</p>');
      assert.equal(send.headers['content-type'], 'text/html; charset=utf-8');
      const missing = await one(app.port, GET('/missing'));
      assert.equal(missing.status, 404);
      assert.deepEqual(JSON.parse(missing.body), { error: 'Not Found', code: 404 });
    });

    test('If-None-Match answers 304 without a body, keeping the validators', async () => {
      const first = await one(app.port, GET('/static/app.js'));
      for (const value of [first.headers.etag, `W/${first.headers.etag}`, `"other", ${first.headers.etag}`, '*']) {
        const { text } = await rawExchange(app.port, GET('/static/app.js', `If-None-Match: ${value}`) + GET('/api/hello'));
        const [res, next] = parseResponses(text);
        assert.equal(res.status, 304, value);
        assert.equal(res.headers.etag, first.headers.etag);
        assert.equal(res.headers['cache-control'], 'max-age=3600');
        assert.equal(res.headers['content-length'], undefined);
        assert.equal(next.status, 200, 'no body: the next response follows at once');
      }
      assert.equal((await one(app.port, GET('/static/app.js', 'If-None-Match: "nope"'))).status, 200);
    });

    test('gzip: the .gz variant with Content-Encoding and Vary when accepted, else the plain file; .gz only: sent without Accept-Encoding, 406 when refused', async () => {
      const zipped = await one(app.port, GET('/static/zip.js', 'Accept-Encoding: br, gzip;q=0.8'));
      assert.equal(zipped.status, 200);
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.equal(zipped.headers.vary, 'Accept-Encoding');
      assert.equal(zipped.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(zlib.gunzipSync(Buffer.from(zipped.body, 'latin1')).toString(), 'console.log("gzipped");\n');
      const plainRes = await one(app.port, GET('/static/zip.js'));
      assert.equal(plainRes.headers['content-encoding'], undefined);
      assert.equal(plainRes.headers.vary, 'Accept-Encoding');
      assert.equal(plainRes.body, 'console.log("plain");\n');
      assert.notEqual(plainRes.headers.etag, zipped.headers.etag);
      for (const refusing of ['gzip;q=0', 'br, gzip; q=0.000', 'GZIP;Q=0, br']) {
        const plain = await one(app.port, GET('/static/zip.js', 'Accept-Encoding: ' + refusing));
        assert.equal(plain.headers['content-encoding'], undefined, refusing);
        assert.equal(plain.body, 'console.log("plain");\n', refusing);
      }
      const weighted = await one(app.port, GET('/static/zip.js', 'Accept-Encoding: gzip;q=0.5'));
      assert.equal(weighted.headers['content-encoding'], 'gzip');
      const viaFetch = await fetch(app.url + '/static/only.js');
      assert.equal(await viaFetch.text(), 'console.log("gzipped");\n', 'fetch sends Accept-Encoding: gzip');
      const noPreference = await one(app.port, GET('/static/only.js'));
      assert.equal(noPreference.status, 200, 'no Accept-Encoding: any coding will do (RFC 9110 §12.5.3)');
      assert.equal(noPreference.headers['content-encoding'], 'gzip');
      assert.equal(zlib.gunzipSync(Buffer.from(noPreference.body, 'latin1')).toString(), 'console.log("gzipped");\n');
      const refused = await one(app.port, GET('/static/only.js', 'Accept-Encoding: identity'));
      assert.equal(refused.status, 406);
      assert.match(JSON.parse(refused.body).error, /gzip/);
    });

    test('names too long for Storage are found through www.manifest (plain and gzipped), others stay 404', async () => {
      const plain = await one(app.port, GET('/static/docs/a-rather-long-file-name.txt'));
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(plain.body, 'long plain\n');
      const ranged = await one(app.port, GET('/docs/a-rather-long-file-name.txt', 'Range: bytes=5-9'));
      assert.equal(ranged.status, 206);
      assert.equal(ranged.body, 'plain');
      const zipped = await fetch(app.url + '/static/js/another-long-script-name.js');
      assert.equal(zipped.status, 200);
      assert.equal(zipped.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(await zipped.text(), 'console.log("gzipped");\n');
      assert.equal((await one(app.port, GET('/static/js/another-long-script-name.js', 'Accept-Encoding: br'))).status, 406, 'only stored gzipped');
      assert.equal((await one(app.port, GET('/static/docs/a-rather-long-file-name.txt.gz'))).status, 404, 'stored plain, no gzip variant');
      assert.equal((await one(app.port, GET('/static/docs/not-in-the-manifest-at-all.txt'))).status, 404);
    });

    test('ranges: 206 with Content-Range, suffix and open ranges, 416, several ranges → 200', async () => {
      const part = await one(app.port, GET('/static/bytes.png', 'Range: bytes=10-19'));
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], 'bytes 10-19/256');
      assert.equal(part.headers['content-length'], '10');
      assert.equal(part.body, ALL_BYTES.slice(10, 20));
      const suffix = await one(app.port, GET('/files/big.txt', 'Range: bytes=-100'));
      assert.equal(suffix.status, 206);
      assert.equal(suffix.headers['content-range'], `bytes ${BIG.length - 100}-${BIG.length - 1}/${BIG.length}`);
      assert.equal(suffix.body, BIG.slice(-100));
      const open = await one(app.port, GET('/static/big.txt', 'Range: bytes=1000-'));
      assert.equal(open.body, BIG.slice(1000));
      const mid = await one(app.port, GET('/files/big.txt', 'Range: bytes=700-1300'));
      assert.equal(mid.body, BIG.slice(700, 1301));
      const bad = await one(app.port, GET('/static/bytes.png', 'Range: bytes=256-'));
      assert.equal(bad.status, 416);
      assert.equal(bad.headers['content-range'], 'bytes */256');
      const several = await one(app.port, GET('/static/bytes.png', 'Range: bytes=0-1,5-6'));
      assert.equal(several.status, 200);
      assert.equal(several.body, ALL_BYTES);
    });

    test('HEAD: the same headers, no body, and keep-alive goes on', async () => {
      const { text } = await rawExchange(app.port,
        request('HEAD /static/big.txt HTTP/1.1', 'Host: test') + request('HEAD /files/big.txt HTTP/1.1', 'Host: test') + GET('/static/app.js'));
      const [head, fsHead, next] = parseResponses(text, [true, true]);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(BIG.length));
      assert.equal(head.headers.etag, etagOf(BIG));
      assert.equal(fsHead.headers['content-length'], String(BIG.length));
      assert.equal(next.body, 'console.log("app");\n');
    });

    test('traversal in every spelling → 403', async () => {
      const paths = [
        '/static/../x', '/static/%2e%2e/x', '/static/%2E%2E/x', '/static/.%2e/x', '/static/%2e./x',
        '/static/a/%2e%2e/%2e%2e/x', '/static/..%2fx', '/static/..%2Fx', '/static/..%5cx', '/static/..%5Cx',
        '/static/..\\x', '/static/a%00.txt', '/static//etc/passwd', '/files//etc/passwd', '/files/%2e%2e/%2e%2e/etc/passwd',
        '/files/..%2f..%2fetc%2fpasswd', '/%2e%2e/x', '//etc/passwd', '/static/./app.js',
      ];
      for (const p of paths) {
        const res = await one(app.port, GET(p));
        assert.equal(res.status, 403, p);
        assert.equal(JSON.parse(res.body).code, 403, p);
      }
    });

    test('a missing file → 404 JSON; other methods → 405 with Allow', async () => {
      for (const p of ['/static/nope.js', '/files/nope.html', '/nope.txt', '/static/a-very-long-name-over-the-storage-limit.js']) {
        const res = await one(app.port, GET(p));
        assert.equal(res.status, 404, p);
        assert.deepEqual(JSON.parse(res.body), { error: 'Not Found', code: 404 });
      }
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await one(app.port, request(`${method} /static/app.js HTTP/1.1`, 'Host: test', 'Content-Length: 0'));
        assert.equal(res.status, 405, method);
        assert.equal(res.headers.allow, 'GET, HEAD');
      }
    });

    test('an API route wins over the / mount', async () => {
      const res = await one(app.port, GET('/api/hello'));
      assert.deepEqual(JSON.parse(res.body), { api: true });
      assert.equal((await one(app.port, GET('/app.js'))).body, 'console.log("app");\n');
    });

    test('a client leaving mid-file: the server keeps serving', async () => {
      for (const path of ['/static/big.txt', '/files/big.txt']) {
        await new Promise((resolve, reject) => {
          const socket = net.connect(app.port, '127.0.0.1');
          let got = 0;
          socket.on('data', (d) => {
            got += d.length;
            if (got > 600) { socket.destroy(); resolve(); }
          });
          socket.on('error', reject);
          socket.on('connect', () => socket.write(GET(path)));
        });
      }
      await new Promise((r) => setTimeout(r, 200));
      const res = await one(app.port, GET('/static/big.txt'));
      assert.equal(res.body, BIG);
      const fsRes = await one(app.port, GET('/files/big.txt'));
      assert.equal(fsRes.body, BIG);
    });
  });
}
