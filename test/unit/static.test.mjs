// Unit tests of the static-file helpers (src/static/): MIME types, request
// paths to file names (traversal in every spelling), Range parsing and CRC-32,
// run as the real ES5 library build inside the Espruino emulation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { buildFixture, loadBundle, plain } from './library.mjs';

const CODE = await buildFixture('static');

for (const mode of ['esp32', 'linux']) {
  describe(`static helpers (${mode})`, () => {
    const S = loadBundle(CODE, mode, 'static');

    test('content types from the extension, text with charset, octet-stream otherwise', () => {
      const cases = {
        'a.html': 'text/html; charset=utf-8', 'A.HTML': 'text/html; charset=utf-8',
        'www/s.css': 'text/css; charset=utf-8', 'x.js': 'text/javascript; charset=utf-8',
        'x.mjs': 'text/javascript; charset=utf-8', 'x.json': 'application/json; charset=utf-8',
        'x.map': 'application/json; charset=utf-8', 'x.txt': 'text/plain; charset=utf-8',
        'x.csv': 'text/csv; charset=utf-8', 'x.xml': 'application/xml; charset=utf-8',
        'x.svg': 'image/svg+xml; charset=utf-8', 'x.png': 'image/png', 'x.jpg': 'image/jpeg',
        'x.jpeg': 'image/jpeg', 'x.ico': 'image/x-icon', 'x.webp': 'image/webp', 'x.woff2': 'font/woff2',
        'x.wasm': 'application/wasm', 'x.pdf': 'application/pdf', 'x.bin': 'application/octet-stream',
        'noext': 'application/octet-stream', 'dir.d/noext': 'application/octet-stream',
        'x.constructor': 'application/octet-stream', 'x.toString': 'application/octet-stream',
      };
      for (const [name, type] of Object.entries(cases)) assert.equal(S.contentTypeFor(name), type, name);
    });

    test('paths: plain names, index.html for directories', () => {
      assert.equal(S.staticPath('app.js'), 'app.js');
      assert.equal(S.staticPath('css/site.css'), 'css/site.css');
      assert.equal(S.staticPath(''), 'index.html');
      assert.equal(S.staticPath('sub/'), 'sub/index.html');
      assert.equal(S.staticPath('a%20b.txt'), 'a b.txt');
      assert.equal(S.staticPath('.well-known/x'), '.well-known/x');
      assert.equal(S.staticPath('a..b'), 'a..b');
    });

    test('paths: traversal in every spelling is refused (null)', () => {
      const bad = [
        '..', '../x', 'a/../../x', 'a/..', './x', 'a/./b', '%2e%2e/x', '%2E%2E/x', '%2e%2E', '.%2e/x', '%2e./x',
        'a%2fb', 'a%2F..%2Fb', '..%2fx', 'a%5cb', '..%5Cx', 'a\\b', '..\\x', 'a%00.txt', 'a\x00b',
        '/etc/passwd', '//etc', 'a//b', '%2fetc', '%zz', '%',
      ];
      for (const p of bad) assert.equal(S.staticPath(p), null, JSON.stringify(p));
    });

    test('ranges: one range, open ends, suffixes, clamping', () => {
      assert.deepEqual(plain(S.parseRange('bytes=0-9', 100)), [0, 9]);
      assert.deepEqual(plain(S.parseRange('bytes=90-', 100)), [90, 99]);
      assert.deepEqual(plain(S.parseRange('bytes=90-500', 100)), [90, 99]);
      assert.deepEqual(plain(S.parseRange('bytes=-10', 100)), [90, 99]);
      assert.deepEqual(plain(S.parseRange('bytes=-500', 100)), [0, 99]);
      assert.deepEqual(plain(S.parseRange(' bytes=5-5 ', 100)), [5, 5]);
    });

    test('ranges: the whole file (null) for no header, bad syntax, several ranges', () => {
      for (const h of [undefined, '', 'bytes=', 'bytes=-', 'items=0-5', 'bytes=5-2', 'bytes=0-1,5-6', 'bytes=a-b', 'bytes=1-2-3']) {
        assert.equal(S.parseRange(h, 100), null, JSON.stringify(h));
      }
    });

    test('ranges: unsatisfiable', () => {
      assert.equal(S.parseRange('bytes=100-', 100), S.UNSATISFIABLE);
      assert.equal(S.parseRange('bytes=200-300', 100), S.UNSATISFIABLE);
      assert.equal(S.parseRange('bytes=-0', 100), S.UNSATISFIABLE);
      assert.equal(S.parseRange('bytes=0-', 0), S.UNSATISFIABLE);
    });

    test('CRC-32 matches zlib, also fed in pieces', () => {
      let all = '';
      for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
      for (const s of ['', 'hello world', all, all.repeat(7)]) {
        assert.equal(S.crc32(s), zlib.crc32(Buffer.from(s, 'latin1')), `${s.length} bytes`);
      }
      let crc = S.CRC32_START;
      for (let at = 0; at < 1792; at += 512) crc = S.crc32Update(crc, all.repeat(7).slice(at, at + 512));
      assert.equal(S.crc32Finish(crc), zlib.crc32(Buffer.from(all.repeat(7), 'latin1')));
    });
  });
}
