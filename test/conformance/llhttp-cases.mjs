// Loader for llhttp's request test cases (nodejs/llhttp test/request/*.md),
// kept outside the repo in ../shared/conformance/llhttp/request/.
// See ../shared/conformance/README.md for the format. Data is read, never copied.
//
// Byte model: llhttp's runner (test/md-test.ts + llparse-test-fixture) builds
// a JS string from the ```http block and hands it to the parser binary as a
// command-line argument, i.e. UTF-8 encoded; the log's offsets and lengths are
// byte counts in that encoding. `raw` mirrors this exactly, so every span in
// the log can be found at raw[off, off+len). Consequences:
//   - literal non-ASCII text in the .md ("Düsseldorf") is its UTF-8 bytes;
//   - a `\xHH` or octal escape above 0x7F yields the UTF-8 encoding of
//     U+00HH (e.g. `\xff` -> C3 BF), which is what llhttp actually parsed
//     (its log says len=8 for "\xffValue2").
// All strings in `messages` (method, url, header names/values, body) are
// latin1 strings of the exact bytes (one char per byte), so they compare
// directly with what a server that reads bytes as latin1 sees.
//
// Case object: { file, name, line, type, meta, raw, messages, error, complete,
// strict, finish, events }. Each message: { offset, method, url, protocol,
// version, headers: [[name, value]...], trailers, body, chunked, chunks,
// obsFold, headersComplete, end, complete }.

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');

/** Where the data is expected, whether or not it exists. */
export const CONFORMANCE_DIR = path.resolve(REPO_ROOT, '../shared/conformance/llhttp/request');

/** The absolute path of the llhttp request cases, or null when absent. */
export function conformanceDir() {
  try {
    return fs.statSync(CONFORMANCE_DIR).isDirectory() ? CONFORMANCE_DIR : null;
  } catch {
    return null;
  }
}

/** Error reasons that are not rejections for a server (README). */
export const NON_REJECTION_REASONS = Object.freeze([
  'Pause on CONNECT/Upgrade',
  'Data after `Connection: close`',
]);

// ---------------------------------------------------------------------------
// Markdown

/**
 * Split one .md file into raw test entries: { name, line, meta, http, log }.
 * `name` is the nearest preceding ATX heading; `http`/`log` are fenced block
 * bodies with a newline after every line (as mdgator returns them).
 */
export function parseMarkdown(text, file = '<md>') {
  const lines = text.split('\n');
  const entries = [];
  let heading = null;
  let headingLine = 0;
  let meta = null;
  let current = null;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^```\s*([\w-]*)\s*$/.exec(line);
    if (fence) {
      const lang = fence[1];
      // collect the block
      const body = [];
      let j = i + 1;
      while (j < lines.length && !/^```\s*$/.test(lines[j])) body.push(lines[j++]);
      if (j >= lines.length) throw new Error(`${file}:${i + 1}: unterminated code fence`);
      const value = body.map((l) => l + '\n').join('');
      if (lang === 'http') {
        if (meta === null) throw new Error(`${file}:${i + 1}: http block without meta`);
        current = { name: heading, line: headingLine, meta, http: value, log: null };
        entries.push(current);
        meta = null;
      } else if (lang === 'log') {
        if (!current || current.log !== null) throw new Error(`${file}:${i + 1}: log block without http block`);
        current.log = value;
      }
      i = j;
      continue;
    }
    const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      heading = h[2];
      headingLine = i + 1;
      current = null;
      continue;
    }
    const m = /^<!--\s*meta=(.*?)\s*-->\s*$/.exec(line);
    if (m) {
      try {
        meta = JSON.parse(m[1]);
      } catch (e) {
        throw new Error(`${file}:${i + 1}: bad meta JSON: ${e.message}`);
      }
    }
  }
  for (const e of entries) {
    if (e.log === null) throw new Error(`${file}:${e.line}: case "${e.name}" has no log block`);
  }
  return entries;
}

// ---------------------------------------------------------------------------
// ```http block -> bytes (mirrors llhttp test/md-test.ts step by step)

/** Decode an ```http block to the JS string llhttp's runner builds. */
export function decodeHttpText(input) {
  // Remove trailing newline
  input = input.replace(/\n$/, '');
  // Remove escaped newlines
  input = input.replace(/\\(\r\n|\r|\n)/g, '');
  // Normalize all newlines
  input = input.replace(/\r\n|\r|\n/g, '\r\n');
  // Escapes, in the runner's order
  input = input.replace(/\\r/g, '\r');
  input = input.replace(/\\n/g, '\n');
  input = input.replace(/\\t/g, '\t');
  input = input.replace(/\\f/g, '\f');
  input = input.replace(/\\x([0-9a-fA-F]+)/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  input = input.replace(/\\([0-7]{1,3})/g, (_, digits) => String.fromCharCode(parseInt(digits, 8)));
  // Evaluate inline JavaScript
  input = input.replace(/\$\{(.+?)\}/g, (_, code) => vm.runInNewContext(code) + '');
  return input;
}

/** The bytes llhttp parsed for an ```http block (UTF-8, as its runner passes argv). */
export function decodeHttpBlock(block) {
  return Buffer.from(decodeHttpText(block), 'utf8');
}

// ---------------------------------------------------------------------------
// ```log block -> events -> messages

const SPAN_RE = /^off=(\d+)\s+len=(\d+)\s+span\[([^\]]+)\]="(.*)"$/;
const SPAN_CRLF_RE = /^off=(\d+)\s+len=(\d+)\s+span\[([^\]]+)\]=(cr|lf)$/;
const EVENT_RE = /^off=(\d+|NULL)\s+(.*)$/;

/** Parse the log block into a list of events. */
export function parseLog(log) {
  // The runner replaces escaped tabs / form-feeds in the expected text too.
  log = log.replace(/\\t/g, '\t').replace(/\\f/g, '\f');
  const lines = log.split('\n').slice(0, -1);
  const events = [];
  for (const line of lines) {
    if (line.startsWith('/')) {
      events.push({ type: 'regex', source: line.trim().slice(1, -1) });
      continue;
    }
    let m = SPAN_RE.exec(line);
    if (m) {
      events.push({ type: 'span', off: +m[1], len: +m[2], span: m[3], text: m[4] });
      continue;
    }
    m = SPAN_CRLF_RE.exec(line);
    if (m) {
      events.push({ type: 'span', off: +m[1], len: +m[2], span: m[3], text: m[4] === 'cr' ? '\r' : '\n' });
      continue;
    }
    m = EVENT_RE.exec(line);
    if (!m) throw new Error(`unrecognised log line: ${JSON.stringify(line)}`);
    const off = m[1] === 'NULL' ? null : +m[1];
    const rest = m[2];
    let e;
    if ((e = /^error code=(\d+) reason="(.*)"$/.exec(rest))) {
      events.push({ type: 'error', off, code: +e[1], reason: e[2] });
    } else if ((e = /^headers complete method=(\d+) v=(\d+)\/(\d+) flags=([0-9a-fA-F]+) content_length=(\d+)$/.exec(rest))) {
      events.push({
        type: 'headers complete', off,
        methodCode: +e[1], version: `${e[2]}.${e[3]}`, flags: parseInt(e[4], 16), contentLength: +e[5],
      });
    } else if ((e = /^chunk header len=(\d+)$/.exec(rest))) {
      events.push({ type: 'chunk header', off, len: +e[1] });
    } else if ((e = /^finish=(\d+)$/.exec(rest))) {
      events.push({ type: 'finish', off, code: +e[1] });
    } else {
      // message begin, method complete, url complete, protocol complete,
      // version complete, header_field complete, header_value complete,
      // chunk complete, chunk_extension_* complete, message complete,
      // reset, pause, skip body
      events.push({ type: rest, off });
    }
  }
  return events;
}

/** Convert a span's log text (UTF-8 decoded by the runner) to latin1-per-byte. */
function toByteString(text) {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Build messages and the error from log events. */
export function buildMessages(events) {
  const messages = [];
  let msg = null;
  let cur = null; // current header / trailer entry
  let error = null;
  let finish = null;

  const need = (e) => {
    if (!msg) throw new Error(`log event ${e.type}${e.span ? `[${e.span}]` : ''} at off=${e.off} outside a message`);
    return msg;
  };

  for (const e of events) {
    if (e.type === 'message begin') {
      msg = {
        offset: e.off,
        method: '', url: '', protocol: null, version: null,
        headers: [], trailers: [], body: '',
        chunked: false, chunks: [], obsFold: false,
        headersComplete: null, end: null, complete: false,
      };
      cur = null;
      messages.push(msg);
      continue;
    }
    if (e.type === 'span') {
      const m = need(e);
      const value = toByteString(e.text);
      switch (e.span) {
        case 'method': m.method += value; break;
        case 'url': m.url += value; break;
        case 'protocol': m.protocol = (m.protocol ?? '') + value; break;
        case 'version': m.version = (m.version ?? '') + value; break;
        case 'header_field': {
          const list = m.headersComplete ? m.trailers : m.headers;
          if (!cur || cur.done || cur.list !== list) {
            cur = { list, pair: ['', ''], done: false, lastValueEnd: null };
            list.push(cur.pair);
          }
          cur.pair[0] += value;
          break;
        }
        case 'header_value': {
          if (!cur) throw new Error(`header_value at off=${e.off} without a field`);
          if (cur.lastValueEnd !== null && cur.lastValueEnd !== e.off) m.obsFold = true;
          cur.pair[1] += value;
          cur.lastValueEnd = e.off + e.len;
          break;
        }
        case 'body':
          m.body += value;
          if (m.chunks.length) m.chunks[m.chunks.length - 1].data += value;
          break;
        case 'chunk_extension_name':
        case 'chunk_extension_value':
          break; // not part of the message a server hands to a handler
        default:
          throw new Error(`unknown span kind ${e.span}`);
      }
      continue;
    }
    switch (e.type) {
      case 'header_field complete': if (cur) cur.done = true; break;
      case 'header_value complete': if (cur) cur.done = true; break;
      case 'headers complete': {
        const m = need(e);
        m.headersComplete = { methodCode: e.methodCode, version: e.version, flags: e.flags, contentLength: e.contentLength };
        if (m.version === null) m.version = e.version;
        cur = null;
        break;
      }
      case 'chunk header': need(e).chunked = true; need(e).chunks.push({ size: e.len, data: '' }); break;
      case 'message complete': { const m = need(e); m.complete = true; m.end = e.off; cur = null; break; }
      case 'error': error = { code: e.code, reason: e.reason, offset: e.off }; break;
      case 'finish': finish = e.code; break;
      default: break; // *_complete, reset, pause, skip body, regex
    }
  }
  return { messages, error, finish };
}

// ---------------------------------------------------------------------------
// Cases

function makeCase(file, entry) {
  const meta = entry.meta;
  const raw = decodeHttpBlock(entry.http);
  const events = parseLog(entry.log);
  const { messages, error, finish } = buildMessages(events);
  const strict = meta.type === 'request' && !('pause' in meta) && !('skipBody' in meta);
  const last = messages[messages.length - 1];
  return {
    file,
    name: entry.name,
    line: entry.line,
    type: meta.type,
    meta,
    raw,
    messages,
    error,
    complete: Boolean(last && last.complete),
    strict,
    finish,
    events,
  };
}

/**
 * Every case of every .md file, in file then document order, or null when
 * the data folder is absent.
 */
export function loadCases(dir = conformanceDir()) {
  if (!dir) return null;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.md')).sort();
  const cases = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const entry of parseMarkdown(text, file)) {
      try {
        cases.push(makeCase(file, entry));
      } catch (e) {
        throw new Error(`${file}:${entry.line} "${entry.name}": ${e.message}`);
      }
    }
  }
  return cases;
}

/** A short unique label: "file.md:line name". */
export function caseId(c) {
  return `${c.file}:${c.line} ${c.name}`;
}

/** True only when llhttp's error is a real rejection of the input. */
export function isRejection(c) {
  return c.error !== null && !NON_REJECTION_REASONS.includes(c.error.reason);
}

/**
 * What a server should do with the case's bytes (parsing-wise).
 *  - accept:     all messages parsed and completed (pipelined cases hold several);
 *                for CONNECT/Upgrade and data-after-close, bytes after the last
 *                message are not HTTP and are not answered.
 *  - reject:     llhttp rejected the input; acceptedBefore are the messages that
 *                completed before the error (still answered normally).
 *  - incomplete: the input ends inside a message; `messages` holds the
 *                completed ones first and the partial one last.
 */
export function expectedOutcome(c) {
  if (isRejection(c)) {
    return { kind: 'reject', acceptedBefore: c.messages.filter((m) => m.complete) };
  }
  if (c.complete) return { kind: 'accept', messages: c.messages };
  return { kind: 'incomplete', messages: c.messages };
}

// ---------------------------------------------------------------------------
// Host header insertion

const HOST_LINE = 'Host: example.com';

function hasHostHeader(c, msg, index) {
  if (msg.headers.some(([name]) => name.toLowerCase() === 'host')) return true;
  // The log stops at an error: look at the raw header section too, so a Host
  // line after the error point is not duplicated.
  const next = c.messages[index + 1];
  const end = next ? next.offset : c.raw.length;
  const text = c.raw.subarray(msg.offset, end).toString('latin1');
  const headEnd = text.search(/\r?\n\r?\n/);
  const head = headEnd === -1 ? text : text.slice(0, headEnd);
  return /(^|[\r\n])host[ \t]*:/i.test(head.replace(/^[^\n]*\n/, ''));
}

/**
 * Where withHostHeaders() inserts: [{ messageIndex, at, bytes }], `at` being a
 * byte offset in the original raw, in increasing order.
 *
 * The request line ends at the first CR or LF after the message start: CRLF,
 * or a bare LF in cases written with bare LFs; the inserted line uses the same
 * ending. No insertion is made for a message that
 *  - has a Host header (per the log, or in its raw header section, since the
 *    log stops at an error),
 *  - has a request line that never ends (within the message) or holds a bare
 *    CR before its end (malformed; nothing sensible follows it),
 *  - has SP/HTAB right after the request line ("Invalid space after start
 *    line"): a Host line there would turn that whitespace into an obs-fold and
 *    change what the case tests.
 */
export function hostInsertions(c) {
  const inserts = [];
  c.messages.forEach((msg, i) => {
    if (hasHostHeader(c, msg, i)) return;
    const next = c.messages[i + 1];
    const limit = next ? next.offset : c.raw.length;
    let eolAt = -1;
    for (let p = msg.offset; p < limit; p++) {
      if (c.raw[p] === 0x0a || c.raw[p] === 0x0d) { eolAt = p; break; }
    }
    if (eolAt === -1) return;
    let eol;
    if (c.raw[eolAt] === 0x0a) eol = '\n';
    else if (c.raw[eolAt + 1] === 0x0a && eolAt + 1 < limit) eol = '\r\n';
    else return; // bare CR in the request line
    const at = eolAt + eol.length;
    if (c.raw[at] === 0x20 || c.raw[at] === 0x09) return;
    inserts.push({ messageIndex: i, at, bytes: Buffer.from(HOST_LINE + eol, 'latin1') });
  });
  return inserts;
}

/**
 * The case's bytes with `Host: example.com` inserted right after the request
 * line of each message that lacks a Host header (see hostInsertions).
 */
export function withHostHeaders(c) {
  const parts = [];
  let pos = 0;
  for (const ins of hostInsertions(c)) {
    parts.push(c.raw.subarray(pos, ins.at), ins.bytes);
    pos = ins.at;
  }
  parts.push(c.raw.subarray(pos));
  return Buffer.concat(parts);
}

/** Each message's start offset in withHostHeaders(c), i.e. after earlier insertions. */
export function hostShiftedOffsets(c) {
  const inserts = hostInsertions(c);
  return c.messages.map((m) => m.offset + inserts
    .filter((ins) => ins.at <= m.offset)
    .reduce((n, ins) => n + ins.bytes.length, 0));
}

/**
 * llhttp's header_value spans drop leading whitespace but keep trailing
 * SP/HTAB ("close\t", "42 "); a server strips both (RFC 9110 §5.5 OWS).
 * Use this on expected values before comparing with a server's view.
 */
export function trimOws(value) {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}
