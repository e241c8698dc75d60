// Unit tests for the llhttp conformance-case loader (llhttp-cases.mjs).
// Data-dependent tests skip when ../shared/conformance/ is absent.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import {
  CONFORMANCE_DIR,
  conformanceDir,
  loadCases,
  caseId,
  decodeHttpText,
  decodeHttpBlock,
  parseMarkdown,
  parseLog,
  buildMessages,
  isRejection,
  expectedOutcome,
  withHostHeaders,
  hostInsertions,
  hostShiftedOffsets,
  trimOws,
} from './llhttp-cases.mjs';

const dir = conformanceDir();
const cases = loadCases();
const SKIP_MSG = `conformance data not found at ${CONFORMANCE_DIR}`;

/** Define a test that needs the data; skips with a clear message without it. */
function dataTest(name, fn) {
  test(name, (t) => {
    if (!cases) {
      t.skip(SKIP_MSG);
      return;
    }
    return fn(t);
  });
}

function find(file, name, nth = 0) {
  const found = cases.filter((c) => c.file === file && c.name === name);
  assert.ok(found.length > nth, `case ${file} "${name}" not found`);
  return found[nth];
}

const latin1 = (s) => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------------------

describe('decoding ```http blocks (mirrors llhttp test/md-test.ts)', () => {
  test('line breaks become CRLF, the last newline is dropped', () => {
    assert.equal(decodeHttpText('GET / HTTP/1.1\nA: b\n\n\n'), 'GET / HTTP/1.1\r\nA: b\r\n\r\n');
  });

  test('backslash-newline joins lines; \\r \\n \\t \\f escapes', () => {
    assert.equal(decodeHttpText('GET / HTTP/1.1\nA: 1\\n\\\nB:\\t2\\r\\n\\f\\\n\n'),
      'GET / HTTP/1.1\r\nA: 1\nB:\t2\r\n\f');
  });

  test('\\xHH and octal escapes; bytes above 0x7F are UTF-8 encoded as llhttp passed them', () => {
    assert.equal(decodeHttpText('a\\x41\\x7f\\101\\01\n'), 'aA\x7fA\x01');
    assert.deepEqual(decodeHttpBlock('\\xff\\325\n'), Buffer.from([0xc3, 0xbf, 0xc3, 0x95]));
    // literal non-ASCII text in the .md file: its UTF-8 bytes
    assert.deepEqual(decodeHttpBlock('ü\n'), Buffer.from([0xc3, 0xbc]));
  });

  test('escapes apply in order: \\t before octal ("Foo\\01\\test")', () => {
    assert.equal(decodeHttpText('Foo\\01\\test\n'), 'Foo\x01\test');
  });

  test('${...} is evaluated as JavaScript', () => {
    assert.equal(decodeHttpText('GET /${"a".repeat(5)} HTTP/1.1\n'), 'GET /aaaaa HTTP/1.1');
    assert.equal(decodeHttpText('X: ${1 + 2}${"-".repeat(3)}\n'), 'X: 3---');
    const big = decodeHttpBlock('GET /${"a".repeat(100)} HTTP/1.1\n\n\n');
    assert.equal(big.length, 'GET / HTTP/1.1\r\n\r\n'.length + 100);
  });
});

describe('parsing markdown and logs', () => {
  const md = [
    'Title',
    '=====',
    '',
    '## Group',
    '',
    '### A case',
    '',
    '<!-- meta={"type": "request", "noScan": true} -->',
    '',
    '```http',
    'GET / HTTP/1.1',
    '',
    '',
    '```',
    '_a note_',
    '```log',
    'off=0 message begin',
    'off=0 len=3 span[method]="GET"',
    '```',
    '',
  ].join('\n');

  test('parseMarkdown finds heading, meta, http and log blocks', () => {
    const entries = parseMarkdown(md, 'x.md');
    assert.equal(entries.length, 1);
    assert.equal(entries[0].name, 'A case');
    assert.equal(entries[0].line, 6);
    assert.deepEqual(entries[0].meta, { type: 'request', noScan: true });
    assert.equal(entries[0].http, 'GET / HTTP/1.1\n\n\n');
    assert.equal(entries[0].log, 'off=0 message begin\noff=0 len=3 span[method]="GET"\n');
  });

  test('parseLog: spans, cr/lf spans, errors, headers complete, escaped tabs', () => {
    const events = parseLog([
      'off=0 message begin',
      'off=5 len=4 span[header_value]="a\\tb"',
      'off=9 len=1 span[body]=cr',
      'off=10 len=1 span[body]=lf',
      'off=20 headers complete method=3 v=1/1 flags=208 content_length=0',
      'off=30 chunk header len=10',
      'off=40 error code=5 reason="Data after `Connection: close`"',
      'off=NULL finish=2',
      '',
    ].join('\n'));
    assert.deepEqual(events[1], { type: 'span', off: 5, len: 4, span: 'header_value', text: 'a\tb' });
    assert.equal(events[2].text, '\r');
    assert.equal(events[3].text, '\n');
    assert.deepEqual(events[4], {
      type: 'headers complete', off: 20, methodCode: 3, version: '1.1', flags: 0x208, contentLength: 0,
    });
    assert.deepEqual(events[5], { type: 'chunk header', off: 30, len: 10 });
    assert.deepEqual(events[6], { type: 'error', off: 40, code: 5, reason: 'Data after `Connection: close`' });
    assert.deepEqual(events[7], { type: 'finish', off: null, code: 2 });
  });

  test('buildMessages joins split spans and separates trailers', () => {
    const { messages } = buildMessages(parseLog([
      'off=0 message begin',
      'off=0 len=4 span[method]="POST"',
      'off=5 len=1 span[url]="/"',
      'off=16 len=3 span[header_field]="Foo"',
      'off=19 len=2 span[header_field]="-X"',
      'off=21 header_field complete',
      'off=22 len=2 span[header_value]="ab"',
      'off=24 len=2 span[header_value]="cd"',
      'off=28 header_value complete',
      'off=30 headers complete method=3 v=1/1 flags=208 content_length=0',
      'off=33 chunk header len=2',
      'off=33 len=2 span[body]="hi"',
      'off=37 chunk complete',
      'off=40 chunk header len=0',
      'off=40 len=1 span[header_field]="T"',
      'off=41 header_field complete',
      'off=42 len=1 span[header_value]="v"',
      'off=45 header_value complete',
      'off=47 chunk complete',
      'off=47 message complete',
      '',
    ].join('\n')));
    assert.equal(messages.length, 1);
    const m = messages[0];
    assert.deepEqual(m.headers, [['Foo-X', 'abcd']]);
    assert.deepEqual(m.trailers, [['T', 'v']]);
    assert.equal(m.body, 'hi');
    assert.equal(m.version, '1.1');
    assert.equal(m.obsFold, false);
    assert.deepEqual(m.chunks, [{ size: 2, data: 'hi' }, { size: 0, data: '' }]);
    assert.equal(m.complete, true);
    assert.equal(m.end, 47);
  });

  test('expectedOutcome on a synthetic rejection after a completed message', () => {
    const done = { complete: true };
    const partial = { complete: false };
    const c = { messages: [done, partial], error: { code: 10, reason: 'x', offset: 9 }, complete: false };
    assert.equal(isRejection(c), true);
    assert.deepEqual(expectedOutcome(c), { kind: 'reject', acceptedBefore: [done] });
  });

  test('trimOws', () => {
    assert.equal(trimOws(' \t42\t  '), '42');
  });
});

// ---------------------------------------------------------------------------

describe('llhttp request cases', () => {
  test('data folder', (t) => {
    if (!dir) {
      t.skip(SKIP_MSG);
      return;
    }
    assert.equal(dir, CONFORMANCE_DIR);
    assert.ok(Array.isArray(cases));
  });

  dataTest('every .md file parses; every case has a type, raw bytes and a log', () => {
    const files = new Set(cases.map((c) => c.file));
    assert.ok(files.size >= 13, `only ${files.size} files`);
    assert.equal(cases.length, 166);
    for (const c of cases) {
      assert.equal(typeof c.name, 'string', caseId(c));
      assert.equal(typeof c.type, 'string', caseId(c));
      assert.ok(Buffer.isBuffer(c.raw), caseId(c));
      assert.ok(c.messages.length >= 1, `${caseId(c)}: no message`);
    }
  });

  dataTest('every span in every log is found at its offset in raw', () => {
    let spans = 0;
    for (const c of cases) {
      for (const e of c.events) {
        if (e.type !== 'span') continue;
        spans++;
        assert.equal(c.raw.subarray(e.off, e.off + e.len).toString('utf8'), e.text,
          `${caseId(c)}: span[${e.span}] at off=${e.off}`);
      }
      for (const m of c.messages) {
        const at = c.raw.subarray(m.offset, m.offset + m.method.length).toString('latin1');
        assert.equal(at, m.method, `${caseId(c)}: message start`);
      }
    }
    assert.ok(spans > 1000);
  });

  dataTest('120 strict cases (type request, no pause/skipBody)', (t) => {
    const strict = cases.filter((c) => c.strict);
    assert.equal(strict.length, 120);
    for (const c of strict) {
      assert.equal(c.type, 'request');
      assert.ok(!('pause' in c.meta) && !('skipBody' in c.meta));
    }
    const dist = {};
    for (const c of strict) {
      const o = expectedOutcome(c);
      dist[o.kind] = (dist[o.kind] ?? 0) + 1;
      if (o.kind === 'accept') assert.ok(o.messages.every((m) => m.complete), caseId(c));
      if (o.kind === 'reject') assert.ok(c.error, caseId(c));
      if (o.kind === 'incomplete') assert.equal(c.error, null, caseId(c));
    }
    t.diagnostic(`strict outcomes: ${JSON.stringify(dist)}`);
  });

  dataTest('sample.md "Simple request"', () => {
    const c = find('sample.md', 'Simple request');
    assert.equal(c.type, 'request');
    assert.equal(c.strict, true);
    assert.deepEqual(c.raw, latin1('OPTIONS /url HTTP/1.1\r\nHeader1: Value1\r\nHeader2:\t Value2\r\n\r\n'));
    assert.equal(c.messages.length, 1);
    const m = c.messages[0];
    assert.equal(m.offset, 0);
    assert.equal(m.method, 'OPTIONS');
    assert.equal(m.url, '/url');
    assert.equal(m.protocol, 'HTTP');
    assert.equal(m.version, '1.1');
    assert.deepEqual(m.headers, [['Header1', 'Value1'], ['Header2', 'Value2']]);
    assert.equal(m.body, '');
    assert.equal(m.complete, true);
    assert.equal(c.complete, true);
    assert.equal(c.error, null);
    assert.equal(isRejection(c), false);
    assert.deepEqual(expectedOutcome(c), { kind: 'accept', messages: c.messages });
  });

  dataTest('sample.md "Request with method starting with `H`" keeps extra meta keys', () => {
    const c = find('sample.md', 'Request with method starting with `H`');
    assert.deepEqual(c.meta, { type: 'request', noScan: true });
    assert.equal(c.strict, true);
  });

  dataTest('sample.md "No HTTP version": version from headers complete (0.9)', () => {
    const c = find('sample.md', 'No HTTP version');
    assert.deepEqual(c.raw, latin1('GET /\r\n\r\n'));
    assert.equal(c.messages[0].version, '0.9');
    assert.equal(c.messages[0].protocol, null);
  });

  dataTest('transfer-encoding.md chunked body', () => {
    const c = find('transfer-encoding.md', 'Two chunks and triple zero prefixed end chunk');
    assert.deepEqual(c.raw, latin1('POST /two_chunks_mult_zero_end HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'
      + '5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n'));
    const m = c.messages[0];
    assert.equal(m.method, 'POST');
    assert.deepEqual(m.headers, [['Transfer-Encoding', 'chunked']]);
    assert.equal(m.chunked, true);
    assert.deepEqual(m.chunks.map((ch) => ch.size), [5, 6, 0]);
    assert.equal(m.body, 'hello world');
    assert.equal(expectedOutcome(c).kind, 'accept');
  });

  dataTest('transfer-encoding.md trailing headers go to trailers', () => {
    const m = find('transfer-encoding.md', 'Trailing headers').messages[0];
    assert.deepEqual(m.headers, [['Transfer-Encoding', 'chunked']]);
    assert.deepEqual(m.trailers, [['Vary', '*'], ['Content-Type', 'text/plain']]);
    assert.equal(m.body, 'hello world');
    assert.equal(m.complete, true);
  });

  dataTest('transfer-encoding.md "Chunk extensions" ends without the final CRLF: incomplete', () => {
    const c = find('transfer-encoding.md', 'Chunk extensions');
    assert.equal(c.messages[0].body, 'hello world');
    assert.equal(c.complete, false);
    assert.equal(c.error, null);
    assert.equal(expectedOutcome(c).kind, 'incomplete');
  });

  dataTest('\\xHH escape: sample.md "255 ASCII in header value"', () => {
    const c = find('sample.md', '255 ASCII in header value');
    // llhttp's runner passes U+00FF as UTF-8 (C3 BF): its log has len=8 for "ÿValue2"
    const expected = Buffer.concat([latin1('OPTIONS /url HTTP/1.1\r\nHeader1: Value1\r\nHeader2: '),
      Buffer.from([0xc3, 0xbf]), latin1('Value2\r\n\r\n')]);
    assert.deepEqual(c.raw, expected);
    assert.equal(c.raw.length, 61);
    assert.deepEqual(c.messages[0].headers[1], ['Header2', '\xc3\xbfValue2']);
    assert.equal(expectedOutcome(c).kind, 'accept');
  });

  dataTest('octal escapes: invalid.md "Invalid header token #2" and "Corrupted Connection header"', () => {
    const a = find('invalid.md', 'Invalid header token #2');
    assert.deepEqual(a.raw, latin1('GET / HTTP/1.1\r\nFoo\x01\test: Bar\r\n\r\n'));
    assert.deepEqual(a.error, { code: 10, reason: 'Invalid header token', offset: 19 });
    const b = find('invalid.md', 'Corrupted Connection header');
    const i = b.raw.indexOf('Connection');
    assert.deepEqual(b.raw.subarray(i, i + 16), Buffer.from('Connection\r\x1b5\xc3\x95e', 'latin1'));
  });

  dataTest('literal UTF-8 in the .md: sample.md "Extended Characters"', () => {
    const c = find('sample.md', 'Extended Characters');
    assert.deepEqual(c.messages[0].headers, [['Test', Buffer.from('Düsseldorf', 'utf8').toString('latin1')]]);
    assert.equal(c.raw.length, 37);
  });

  dataTest('pipelining.md: three messages, the last one incomplete', () => {
    const c = find('pipelining.md', 'Should parse multiple events');
    assert.deepEqual(c.raw, latin1('POST /aaa HTTP/1.1\r\nContent-Length: 3\r\n\r\nAAA\r\n'
      + 'PUT /bbb HTTP/1.1\r\nContent-Length: 4\r\n\r\nBBBB\r\n'
      + 'PATCH /ccc HTTP/1.1\r\nContent-Length: 5\r\n\r\nCCCC'));
    assert.deepEqual(c.messages.map((m) => [m.offset, m.method, m.url, m.body, m.complete]), [
      [0, 'POST', '/aaa', 'AAA', true],
      [46, 'PUT', '/bbb', 'BBBB', true],
      [92, 'PATCH', '/ccc', 'CCCC', false],
    ]);
    assert.equal(c.complete, false);
    const o = expectedOutcome(c);
    assert.equal(o.kind, 'incomplete');
    assert.equal(o.messages.length, 3);
  });

  dataTest('connection.md: two keep-alive messages accepted', () => {
    const c = find('connection.md', 'Restarting when keep-alive is explicitly');
    assert.deepEqual(c.messages.map((m) => [m.offset, m.method, m.complete]), [[0, 'PUT', true], [45, 'PUT', true]]);
    assert.equal(expectedOutcome(c).kind, 'accept');
  });

  dataTest('error line: content-length.md "Error on duplicate `Content-Length`"', () => {
    const c = find('content-length.md', 'Error on duplicate `Content-Length`');
    assert.deepEqual(c.error, { code: 4, reason: 'Duplicate Content-Length', offset: 54 });
    assert.equal(isRejection(c), true);
    assert.equal(c.complete, false);
    assert.deepEqual(expectedOutcome(c), { kind: 'reject', acceptedBefore: [] });
    assert.deepEqual(c.messages[0].headers, [['Content-Length', '1'], ['Content-Length', '']]);
  });

  dataTest('non-rejections: CONNECT/Upgrade pause and data after Connection: close', () => {
    const connect = find('method.md', 'CONNECT request');
    assert.equal(connect.error.reason, 'Pause on CONNECT/Upgrade');
    assert.equal(isRejection(connect), false);
    assert.equal(expectedOutcome(connect).kind, 'accept');

    const close = find('connection.md', 'No restart when keep-alive is off (1.0)');
    assert.deepEqual(close.error, { code: 5, reason: 'Data after `Connection: close`', offset: 22 });
    assert.equal(isRejection(close), false);
    assert.deepEqual(expectedOutcome(close), { kind: 'accept', messages: close.messages });

    const pri = find('method.md', 'PRI request HTTP2');
    assert.equal(isRejection(pri), true);
  });

  dataTest('duplicate case names are told apart by line', () => {
    const links = cases.filter((c) => c.file === 'method.md' && c.name === 'LINK request');
    assert.equal(links.length, 2);
    assert.deepEqual(links.map((c) => c.messages[0].method), ['LINK', 'UNLINK']);
    assert.notEqual(caseId(links[0]), caseId(links[1]));
  });
});

describe('withHostHeaders', () => {
  dataTest('pipelined case: a Host line after each request line, offsets shifted', () => {
    const c = find('pipelining.md', 'Should parse multiple events');
    const H = 'Host: example.com\r\n';
    assert.deepEqual(withHostHeaders(c), latin1('POST /aaa HTTP/1.1\r\n' + H + 'Content-Length: 3\r\n\r\nAAA\r\n'
      + 'PUT /bbb HTTP/1.1\r\n' + H + 'Content-Length: 4\r\n\r\nBBBB\r\n'
      + 'PATCH /ccc HTTP/1.1\r\n' + H + 'Content-Length: 5\r\n\r\nCCCC'));
    assert.deepEqual(hostInsertions(c).map((i) => [i.messageIndex, i.at]), [[0, 20], [1, 65], [2, 113]]);
    assert.deepEqual(hostShiftedOffsets(c), [0, 46 + H.length, 92 + 2 * H.length]);
    assert.deepEqual(c.raw.length + 3 * H.length, withHostHeaders(c).length);
  });

  dataTest('keep-alive pair: both messages get a Host line', () => {
    const c = find('connection.md', 'Restarting when keep-alive is explicitly');
    const out = withHostHeaders(c).toString('latin1');
    assert.equal(out, 'PUT /url HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n'
      + 'PUT /url HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n');
  });

  dataTest('leading CRLF before the request', () => {
    const c = find('sample.md', 'Prefix newline');
    assert.equal(withHostHeaders(c).toString('latin1'), '\r\nGET /test HTTP/1.1\r\nHost: example.com\r\n\r\n');
  });

  dataTest('messages that have Host are left alone (case-insensitive, also past the error point)', () => {
    const curl = find('sample.md', 'curl GET');
    assert.deepEqual(withHostHeaders(curl), curl.raw);
    const msearch = find('method.md', 'M-SEARCH request'); // "HOST:"
    assert.deepEqual(withHostHeaders(msearch), msearch.raw);
    const ice = find('invalid.md', 'ICE protocol and GET method'); // error before the Host line
    assert.deepEqual(withHostHeaders(ice), ice.raw);
  });

  dataTest('first message has Host, second request line never ends: nothing inserted', () => {
    const c = find('connection.md', 'CRLF between requests, implicit `keep-alive`');
    assert.equal(c.messages.length, 2);
    assert.deepEqual(withHostHeaders(c), c.raw); // 1st has Host, 2nd request line never ends
  });

  dataTest('bare LF case gets a bare-LF Host line', () => {
    const c = find('invalid.md', 'Only LFs present');
    const out = withHostHeaders(c).toString('latin1');
    assert.ok(out.startsWith('POST / HTTP/1.1\nHost: example.com\nTransfer-Encoding: chunked\n'), JSON.stringify(out.slice(0, 70)));
  });

  dataTest('no insertion where it would change what the case tests', () => {
    const sp = find('invalid.md', 'Invalid space after start line'); // "GET / HTTP/1.1\r\n Host: foo"
    assert.deepEqual(withHostHeaders(sp), sp.raw);
    const cr = find('sample.md', 'No LF after CR'); // bare CR ends the request line
    assert.deepEqual(withHostHeaders(cr), cr.raw);
  });

  dataTest('every case: output = raw plus the inserted lines, nothing else', () => {
    for (const c of cases) {
      const out = withHostHeaders(c);
      const ins = hostInsertions(c);
      assert.equal(out.length, c.raw.length + ins.reduce((n, i) => n + i.bytes.length, 0), caseId(c));
      const shifted = hostShiftedOffsets(c);
      c.messages.forEach((m, k) => {
        assert.equal(out.subarray(shifted[k], shifted[k] + m.method.length).toString('latin1'), m.method, caseId(c));
      });
    }
  });
});
