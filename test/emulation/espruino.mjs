// A Node-hosted emulation of the Espruino 2v29 interpreter's API, so the same
// ES5 bundle that runs on a board (or on Espruino's Linux build) can run in
// Node for tests.
//
// The bundle runs in its own V8 context (node:vm), never in Node's global
// scope. That context holds only what Espruino has: the JS builtins Espruino
// lacks are deleted (tools/espruino-missing.json), and Espruino's own globals
// (require, E, print, getTime, process, ...) are added. Device quirks that a
// bundle can trip over are reproduced on purpose; each is marked "Device
// quirk" below. Most were checked against Espruino's C source
// (src/jswrap_*.c, libs/network/socketserver.c).
//
// Two modes:
//   'esp32'  the released ESP32 firmware: strings are byte strings. The bundle
//            file is read as latin1, so a UTF-8 "é" in the source is the two
//            chars "\xC3\xA9", exactly as on the device.
//   'linux'  Espruino's Linux build, which has Unicode strings: the bundle is
//            read as UTF-8.
//
// Strings that cross the socket and Storage boundaries are byte strings (each
// char 0-255, i.e. Buffer#toString('latin1')).

import { MAX_NESTED_METHOD_CALLS, MAX_CALL_DEPTH } from '../../tools/gate.mjs';
import vm from 'node:vm';
import net from 'node:net';
import dgram from 'node:dgram';
import nodeCrypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { types } from 'node:util';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const THIS_FILE = fileURLToPath(import.meta.url);
const MISSING_FILE = fileURLToPath(new URL('../../tools/espruino-missing.json', import.meta.url));

export const VERSION = '2v29';

/** Bytes per recv()/send() on the device: one TCP segment (MSS). 'data' events never carry more. */
export const CHUNK_SIZE = 536;

/** Node's setTimeout cannot wait longer than this (2^31-1 ms); longer waits are chained. */
const MAX_NODE_DELAY = 0x7fffffff;
/** Espruino refuses timers longer than 100 years. */
const MAX_TIMER_MS = 3153600000000;

/** Bytes of a string that is not flat the crypto functions copy onto the C stack before they fail (about what a board's stack has left under a request). */
const CRYPTO_STACK_COPY_MAX = 8192;

// Storage geometry of the ESP32 build (jsflash.c / jswrap_storage.c).
const STORAGE_TOTAL_BYTES = 917504;
const STORAGE_HEADER_BYTES = 32; // JsfFileHeader: uint32 size + 28-byte name
const STORAGE_NAME_MAX = 28;
const STORAGEFILE_NAME_MAX = 27; // the 28th char holds the chunk number
const STORAGEFILE_CHUNK = 4096 - STORAGE_HEADER_BYTES;
const STORAGEFILE_MAX_CHUNKS = 255;

/**
 * Globals that Node's vm contexts have but Espruino does not, and that
 * tools/espruino-missing.json does not list (it was made by probing names
 * one would expect a bundle to use).
 */
const EXTRA_MISSING_GLOBALS = [
  'AggregateError', 'BigInt64Array', 'BigUint64Array', 'FinalizationRegistry',
  'SharedArrayBuffer', 'Atomics', 'WebAssembly',
];

/** Built-in prototypes whose methods listed in espruino-missing.json "methods" are deleted. */
const PROTOTYPE_OWNERS = ['Object', 'Function', 'Array', 'String', 'Number', 'Date', 'RegExp', 'Promise'];

// ---------------------------------------------------------------------------
// Unhandled promise rejections. Espruino reports one as an exception and
// carries on; Node would crash, and under `node --test` the runner's own
// 'unhandledRejection' listener fails the test. So process.emit is wrapped
// (once, for the life of the process) to take rejections of promises made in
// an emulation's context before any other listener sees them. A promise
// belongs to the emulation whose Promise.prototype is on its prototype chain.

const rejectionOwners = new WeakMap(); // context Promise.prototype -> (reason) => void
let emitWrapped = false;

function ownerOf(promise) {
  for (let proto = promise && Object.getPrototypeOf(promise); proto; proto = Object.getPrototypeOf(proto)) {
    const owner = rejectionOwners.get(proto);
    if (owner) return owner;
  }
  return undefined;
}

function takeEmulatedRejections(promisePrototype, onRejection) {
  rejectionOwners.set(promisePrototype, onRejection);
  if (emitWrapped) return;
  emitWrapped = true;
  const originalEmit = process.emit;
  process.emit = function (event, ...args) {
    if (event === 'unhandledRejection') {
      const owner = ownerOf(args[1]);
      if (owner) {
        owner(args[0]);
        return true; // handled: Node neither crashes nor warns
      }
    }
    return originalEmit.call(this, event, ...args);
  };
}

// ---------------------------------------------------------------------------

/**
 * Creates an emulated Espruino.
 *
 * @param {object} [options]
 * @param {'esp32'|'linux'} [options.mode='esp32']
 * @param {string} [options.storageFile] JSON file where Storage persists (else in memory only).
 * @param {string} [options.fsRoot] Directory behind require('fs') (else a temp dir made on first use).
 * @param {number} [options.totalJsVars] process.memory().total (16383 for esp32, 4096 for linux).
 * @param {(line: string) => void} [options.stdout] Receives each line printed by the bundle,
 *   without its newline. Default: written to process.stdout.
 * @param {() => void} [options.onQuit] Called after quit() has stopped the emulation.
 * @param {() => void} [options.onReboot] What E.reboot() does (run.mjs: what the Linux build
 *   does, print "Not implemented" and exit with status 1). Without it E.reboot() throws.
 * @param {string} [options.listenHost='127.0.0.1'] Address servers listen on.
 * @param {'tcp'|'memory'} [options.network='tcp'] 'memory': listen() opens no port; the handle's
 *   connect() gives in-process connections to the servers (the TestClient's way in).
 * @param {object} [options.wifi] An ESP32's Wifi module (the Linux build has none): { networks:
 *   [{ ssid, password, rssi }] in range, saved: { ssid, password } as a past Wifi.save() left it,
 *   failConnects (the next n attempts fail), hangConnects (the next n never call back),
 *   latencyMs (each connect and scan), ip, apIp }.
 *   Steered and watched through the handle's `wifi` (see "Wifi" below).
 * @param {{[name: string]: any}} [options.modules] Extra modules for require(): a value, or a
 *   function (emulation) => value called on first require.
 * @returns {{ context: object, run: (code: string|Uint8Array, filename?: string) => any,
 *   stop: () => Promise<void>, storage: object, memory: { setUsage(n: number): void, usage: number, total: number },
 *   mode: string, stopped: boolean }}
 */
export function createEspruino(options = {}) {
  const mode = options.mode ?? 'esp32';
  if (mode !== 'esp32' && mode !== 'linux') throw new Error(`unknown mode ${mode} (esp32 or linux)`);
  const linux = mode === 'linux';
  const totalJsVars = options.totalJsVars ?? (linux ? 4096 : 16383);
  const listenHost = options.listenHost ?? '127.0.0.1';
  const inMemory = options.network === 'memory';
  const writeLine = options.stdout ?? ((line) => process.stdout.write(Buffer.from(line + '\n', linux ? 'utf8' : 'latin1')));

  let stopped = false;
  let memoryUsage = 400;

  // ----- The context and its intrinsics ------------------------------------

  const context = vm.createContext({}, { name: `Espruino ${VERSION} emulation (${mode})` });
  const g = vm.runInContext('globalThis', context);
  // The context's own constructors: values handed to the bundle are made with
  // these, so `x instanceof Array`, `e instanceof Error` work in bundle code.
  const C = vm.runInContext('({ Object: Object, Array: Array, Error: Error, String: String, Promise: Promise,' +
    ' Uint8Array: Uint8Array, ArrayBuffer: ArrayBuffer, JSON: JSON, Date: Date })', context);
  const nativeStringify = C.JSON.stringify;
  const nativeParse = C.JSON.parse;

  // Host functions are exposed through a wrapper made inside the context, so
  // the bundle sees ordinary context functions (call/apply/bind, instanceof Function).
  const wrapInContext = vm.runInContext(`(function (impl, name) {
    var f = function () { return impl.apply(this, arguments); };
    Object.defineProperty(f, 'name', { value: name });
    return f;
  })`, context);

  function fn(impl, name = impl.name) {
    return wrapInContext(impl, name);
  }

  /** Defines non-enumerable wrapped methods (Espruino's built-ins do not show up in for-in or JSON). */
  function defineMethods(target, methods) {
    for (const [name, impl] of Object.entries(methods)) {
      Object.defineProperty(target, name, { value: fn(impl, name), writable: true, configurable: true, enumerable: false });
    }
    return target;
  }

  function newObject(proto) {
    return proto ? C.Object.create(proto) : new C.Object();
  }

  function newArray(items) {
    const a = new C.Array();
    for (const item of items) a.push(item);
    return a;
  }

  function error(message) {
    return new C.Error(message);
  }

  function newArrayBuffer(bytes) {
    const ab = new C.ArrayBuffer(bytes.length);
    new C.Uint8Array(ab).set(bytes);
    return ab;
  }

  // ----- Output and uncaught exceptions ------------------------------------

  function print(text) {
    for (const line of String(text).split('\n')) writeLine(line);
  }

  /** String form of a thrown value, as Espruino's "%v" prints it. */
  function describe(value) {
    try {
      return String(value);
    } catch {
      try { return Object.prototype.toString.call(value); } catch { return '?'; }
    }
  }

  /**
   * Stack frames of a thrown error that point into bundle code: not this
   * file, not Node internals, not host ES modules (those show as file:// URLs).
   */
  function bundleFrames(value) {
    let stack;
    try { stack = value !== null && typeof value === 'object' ? value.stack : undefined; } catch { return []; }
    if (typeof stack !== 'string') return [];
    return stack.split('\n').filter((line) => /^\s+at /.test(line) &&
      !line.includes(THIS_FILE) && !line.includes('node:') && !line.includes('file://'));
  }

  // Like Espruino's idle loop: an exception escaping a callback is printed as
  // "Uncaught ..." (or given to process.on('uncaughtException')) and the
  // interpreter carries on.
  function reportUncaught(value) {
    if (stopped) return;
    const handlers = listenersOf(processObject, 'uncaughtException');
    if (handlers.length) {
      if (callListeners(processObject, handlers, [value], false)) return;
    }
    print('Uncaught ' + describe(value));
    for (const frame of bundleFrames(value)) print(frame);
  }

  /** Calls fn, reporting what it throws. Returns false if it threw. */
  function guarded(run) {
    try {
      run();
      return true;
    } catch (e) {
      reportUncaught(e);
      return false;
    }
  }

  function formatArg(value) {
    if (typeof value === 'string') return value;
    if (value === undefined) return 'undefined';
    if (typeof value === 'function') return Function.prototype.toString.call(value);
    if (value !== null && typeof value === 'object') {
      if (value instanceof C.Error || value instanceof Error) return describe(value);
      try {
        const json = espruinoStringify(value);
        if (json !== undefined) return json;
      } catch { /* circular: fall through */ }
    }
    return describe(value);
  }

  function printArgs(...args) {
    print(args.map(formatArg).join(' '));
  }

  // ----- Bytes and strings -------------------------------------------------

  /** The bytes a string stands for on the device. */
  function stringBytes(s, what = 'string') {
    if (!/[^\x00-\xff]/.test(s)) return Buffer.from(s, 'latin1');
    if (!linux) {
      // A byte-string device cannot hold such a char; in the emulation it can
      // only come from a \uXXXX escape the device would have cut to its low byte.
      throw error(`${what} holds a char above 0xFF: impossible on a byte-string device (esp32 mode)`);
    }
    // The Linux build keeps Unicode-flagged strings as UTF-8 and hands those
    // bytes on. Chars 0x80-0xFF are taken as plain bytes here.
    const parts = [];
    let run = '';
    for (const ch of s) {
      if (ch.codePointAt(0) <= 0xff) {
        run += ch;
      } else {
        if (run) parts.push(Buffer.from(run, 'latin1'));
        run = '';
        parts.push(Buffer.from(ch, 'utf8'));
      }
    }
    if (run) parts.push(Buffer.from(run, 'latin1'));
    return Buffer.concat(parts);
  }

  /** Bytes of a string, typed array, ArrayBuffer, array of numbers or number. */
  function toBytes(data, what) {
    if (typeof data === 'string') return stringBytes(data, what);
    if (typeof data === 'number') return Buffer.from([data & 0xff]);
    if (types.isArrayBuffer(data)) return Buffer.from(new Uint8Array(data));
    if (types.isUint8Array(data) || types.isUint8ClampedArray(data) || types.isInt8Array(data)) {
      return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    if (types.isDataView(data)) return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (types.isTypedArray(data) || Array.isArray(data)) {
      const out = Buffer.alloc(data.length);
      for (let i = 0; i < data.length; i++) out[i] = Number(data[i]) & 0xff;
      return out;
    }
    if (data !== null && typeof data === 'object' && 'data' in data) {
      // E.toString({data: ..., count: n}): data repeated n times
      const one = toBytes(data.data, what);
      return Buffer.concat(Array(Math.max(0, Number(data.count) | 0 || 1)).fill(one));
    }
    return stringBytes(describe(data), what);
  }

  function bytesToString(bytes) {
    return Buffer.from(bytes).toString('latin1');
  }

  // ----- JSON, String and URI quirks ---------------------------------------

  // Device quirk (both builds, jsutils.c escapeCharacter): JSON.stringify
  // escapes every char below 0x20 (except \b \t \n \f \r) and every char from
  // 0x7F up as \uXXXX with UPPERCASE hex. On an ESP32 a UTF-8 "é" is two
  // bytes, so it comes out as "\u00C3\u00A9".
  function escapeJsonOutput(json) {
    return json.replace(/\\u([0-9a-fA-F]{4})|\\[\s\S]|[^\x00-\x7e]/g, (match, hex) => {
      if (hex) return '\\u' + hex.toUpperCase();
      if (match.length === 2) return match; // some other escape, such as \\ or \"
      return '\\u' + match.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    });
  }

  // Device quirk: typed arrays and ArrayBuffers are written as arrays (Node writes {"0":1,...}).
  function typedArraysAsArrays(key, value) {
    if (types.isArrayBuffer(value)) return Array.from(new Uint8Array(value));
    if (types.isTypedArray(value)) return Array.from(value);
    return value;
  }

  function espruinoStringify(value, replacer, space) {
    // Device quirk: the replacer argument is ignored (jswrap_json.c: NOT_USED(replacer)).
    const json = nativeStringify(value, typedArraysAsArrays, space);
    return json === undefined ? undefined : escapeJsonOutput(json);
  }

  function espruinoParse(text, reviver) {
    let source = String(text);
    if (!linux) {
      // Device quirk (esp32): a \uXXXX escape above 0xFF keeps only its low byte.
      source = source.replace(/\\u([0-9a-fA-F]{4})|\\[\s\S]/g, (match, hex) => {
        if (!hex) return match;
        const code = parseInt(hex, 16);
        return code > 0xff ? '\\u00' + (code & 0xff).toString(16).padStart(2, '0') : match;
      });
    }
    // Device quirk (2v29, both builds): outside strings the lexer reads bytes
    // above 0x7F as its pretokenised tokens (0xB4 is `true`, 0xD2 a string
    // whose length follows); 0xD2 then another such byte fails an assert and
    // the interpreter exits. The emulation stops too, whatever catches this.
    const outside = source.replace(/"(?:[^"\\]|\\[\s\S])*"/g, '""');
    if (/[^\x00-\x7f]/.test(outside)) {
      const message = 'JSON.parse met a character above ASCII outside a string: Espruino reads it as a token (0xD2 then another byte crashes it)';
      printArgs('ASSERT FAILED: ' + message);
      setImmediate(() => {
        stop();
        options.onQuit?.();
      });
      throw error(message);
    }
    return reviver === undefined ? nativeParse(source) : nativeParse(source, reviver);
  }

  // Device quirk (both builds, jswrap_string.c): String.fromCharCode keeps only
  // the low 8 bits of each code.
  function fromCharCode(...codes) {
    let out = '';
    for (let i = 0; i < codes.length; i += 4096) {
      out += String.fromCharCode(...codes.slice(i, i + 4096).map((c) => Number(c) & 0xff));
    }
    return out;
  }

  // Device quirk (both builds, jswrap_functions.c): the URI functions work on
  // single bytes held in a signed char, so any char >= 0x80 or %XX >= %80 is
  // mangled (encode) or throws (decode). Both throw here, so tests catch it.
  function encodeURIComponentImpl(value) {
    const s = String(value);
    if (/[^\x00-\x7f]/.test(s)) throw error('Invalid URI');
    return encodeURIComponent(s);
  }

  function decodeURIComponentImpl(value) {
    const s = String(value);
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const ch = s[i];
      if (ch.charCodeAt(0) >= 0x80) throw error('Invalid URI');
      if (ch !== '%') {
        out += ch;
        continue;
      }
      const hex = s.substr(i + 1, 2);
      if (!/^[0-9a-fA-F]{2}$/.test(hex) || parseInt(hex, 16) >= 0x80) throw error('Invalid URI');
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    }
    return out;
  }

  // ----- Events ------------------------------------------------------------
  // Espruino keeps listeners in hidden "#on<event>" properties; here they live
  // in a WeakMap. Only sockets, servers, E and process have on/emit.

  const listenerTable = new WeakMap();

  function listenersOf(target, event) {
    return listenerTable.get(target)?.get(String(event))?.slice() ?? [];
  }

  /** Calls each listener with this=target. Stops at the first exception, like Espruino. */
  function callListeners(target, listeners, args, report = true) {
    for (const listener of listeners) {
      try {
        if (typeof listener === 'string') vm.runInContext(listener, context);
        else Reflect.apply(listener, target, args);
      } catch (e) {
        if (report) reportUncaught(e);
        return false;
      }
    }
    return true;
  }

  // Espruino runs events from its idle loop: a queued callback runs on a later
  // tick. One setImmediate per event keeps them in order and lets promise
  // jobs run between them.
  const pendingImmediates = new Set();

  function enqueue(task) {
    if (stopped) return;
    const handle = setImmediate(() => {
      pendingImmediates.delete(handle);
      if (!stopped) guarded(task);
    });
    pendingImmediates.add(handle);
  }

  /** Emits an event the emulation raises (data, close...): listeners are looked up when it runs. */
  function raise(target, event, args = []) {
    enqueue(() => callListeners(target, listenersOf(target, event), args));
  }

  const eventMethods = {
    on(event, listener) {
      if (typeof listener !== 'function' && typeof listener !== 'string') {
        throw error('Expecting a function to call, got ' + typeof listener);
      }
      let byEvent = listenerTable.get(this);
      if (!byEvent) listenerTable.set(this, (byEvent = new Map()));
      const name = String(event);
      if (!byEvent.has(name)) byEvent.set(name, []);
      byEvent.get(name).push(listener);
      // Espruino: data that arrived before there was a 'data' listener is delivered now.
      if (name === 'data') sockets.get(this)?.flushBuffered();
    },
    addListener(event, listener) {
      return eventMethods.on.call(this, event, listener);
    },
    prependListener(event, listener) {
      eventMethods.on.call(this, event, listener);
      const list = listenerTable.get(this).get(String(event));
      list.unshift(list.pop());
    },
    // Asynchronous on Espruino: the listeners present now run on a later tick.
    emit(event, ...args) {
      const listeners = listenersOf(this, event);
      enqueue(() => callListeners(this, listeners, args));
    },
    removeListener(event, listener) {
      const list = listenerTable.get(this)?.get(String(event));
      const at = list ? list.indexOf(listener) : -1;
      if (at >= 0) list.splice(at, 1);
    },
    removeAllListeners(event) {
      const byEvent = listenerTable.get(this);
      if (!byEvent) return;
      if (event === undefined) byEvent.clear();
      else byEvent.delete(String(event));
    },
  };

  // ----- Timers --------------------------------------------------------------

  const timers = new Map(); // id -> { id, callback, args, ms, repeat, handle }

  // Device quirk (jsinteractive.c jsiTimerAdd): a new timer's id is the id of
  // the most recently added live timer plus one, or 1 when none are left, so
  // ids are reused and a stale id can clear somebody else's timer.
  function nextTimerId() {
    let last = 0;
    for (const id of timers.keys()) last = id;
    return last + 1;
  }

  function schedule(timer, ms) {
    if (ms > MAX_NODE_DELAY) {
      timer.handle = setTimeout(() => schedule(timer, ms - MAX_NODE_DELAY), MAX_NODE_DELAY);
    } else {
      timer.handle = setTimeout(() => fire(timer), ms);
    }
  }

  function fire(timer) {
    if (stopped || timers.get(timer.id) !== timer) return;
    if (timer.repeat) schedule(timer, timer.ms);
    else timers.delete(timer.id);
    guarded(() => {
      if (typeof timer.callback === 'string') vm.runInContext(timer.callback, context);
      else Reflect.apply(timer.callback, undefined, timer.args);
    });
  }

  function addTimer(callback, ms, args, repeat) {
    if (typeof callback !== 'function' && typeof callback !== 'string') {
      throw error('Function or String not supplied!');
    }
    ms = Number(ms);
    if (!(ms >= 0)) ms = 0; // NaN, undefined and negative run as soon as possible
    if (ms > MAX_TIMER_MS) throw error('Interval is too long (>100 years)');
    const timer = { id: nextTimerId(), callback, args, ms, repeat, handle: null };
    timers.set(timer.id, timer);
    schedule(timer, ms);
    return timer.id;
  }

  function removeTimer(timer) {
    clearTimeout(timer.handle);
    timers.delete(timer.id);
  }

  // Device quirks (jswrap_interactive.c): with no argument every timer is
  // cleared; an explicit undefined throws; an unknown or finished id is
  // ignored. clearTimeout and clearInterval share one timer table. null
  // throws here too (the device ignores it): stricter on purpose, as it is
  // almost always a cleared-field bug.
  function makeClear(kind) {
    return function (...args) {
      if (args.length === 0) {
        for (const timer of [...timers.values()]) removeTimer(timer);
        return;
      }
      const id = args[0];
      if (id === undefined || id === null) {
        throw error(`clear${kind}(${id}) not allowed. Use clear${kind}() instead`);
      }
      const timer = timers.get(Number(id));
      if (timer) removeTimer(timer);
    };
  }

  function changeInterval(id, ms) {
    const timer = timers.get(Number(id));
    if (!timer) throw error('Unknown Interval');
    ms = Number(ms);
    timer.ms = ms >= 0 ? ms : 0;
    clearTimeout(timer.handle);
    schedule(timer, timer.ms);
  }

  // ----- net -----------------------------------------------------------------

  const sockets = new WeakMap(); // emulated socket -> its SocketState
  const liveSockets = new Set();
  const liveServers = new Set();
  const serversBound = []; // a promise per listen(): settles once Node has bound (or failed to bind) the port

  const SocketProto = defineMethods(newObject(), {
    ...eventMethods,
    // Device quirk: a string is sent as bytes; anything else is sent as its
    // text form (String(data)), so a Uint8Array [1,2,3] goes out as "1,2,3".
    // Always returns false; 'drain' follows once the data is sent.
    // Device (socketserver.c): once end() was called, or the peer's FIN or
    // reset was seen (its 'end' and 'close' events still queued), it throws.
    write(data) {
      const state = sockets.get(this);
      if (state && (state.closeRequested || state.closed)) throw error('This socket is closed');
      state?.write(data);
      return false;
    },
    end(data) {
      const state = sockets.get(this);
      if (!state) return;
      if (data !== undefined) state.write(data);
      state.requestClose();
    },
  });

  class SocketState {
    constructor(nodeSocket) {
      this.node = nodeSocket;
      this.socket = newObject(SocketProto);
      this.pendingWrites = 0;
      this.closeRequested = false; // end() was called: no more 'drain'
      this.nodeEnded = false; // node.end() was called: later writes are dropped
      this.closed = false;
      this.buffered = ''; // data that arrived while there was no 'data' listener
      sockets.set(this.socket, this);
      liveSockets.add(this);

      if (!inMemory) nodeSocket.setNoDelay(true);
      nodeSocket.on('data', (buffer) => {
        for (let at = 0; at < buffer.length; at += CHUNK_SIZE) {
          const piece = buffer.toString('latin1', at, Math.min(at + CHUNK_SIZE, buffer.length));
          enqueue(() => this.deliver(piece));
        }
      });
      // Espruino closes the whole socket when the client half-closes. The
      // close is queued after the data events, so replies written by the
      // 'data' handlers still go out; the device may cut those short.
      nodeSocket.on('end', () => enqueue(() => this.closeAfterFlush()));
      // ECONNRESET, EPIPE...: never surfaced; 'close' follows.
      nodeSocket.on('error', () => {});
      nodeSocket.on('close', () => {
        this.closed = true;
        liveSockets.delete(this);
        // Espruino queues 'end' then 'close' (with hadError) whoever closed the socket,
        // to the listeners it has now (jsiQueueObjectCallbacks): a socket closed before
        // its 'connect' handler ran never tells the listeners added there.
        const ended = listenersOf(this.socket, 'end');
        const closed = listenersOf(this.socket, 'close');
        enqueue(() => callListeners(this.socket, ended, []));
        enqueue(() => callListeners(this.socket, closed, [false]));
      });
    }

    deliver(piece) {
      const listeners = listenersOf(this.socket, 'data');
      if (listeners.length) callListeners(this.socket, listeners, [piece]);
      else this.buffered += piece;
    }

    flushBuffered() {
      if (!this.buffered) return;
      const data = this.buffered;
      this.buffered = '';
      raise(this.socket, 'data', [data]);
    }

    write(data) {
      if (data === undefined) return;
      let bytes;
      if (typeof data === 'string') bytes = stringBytes(data, 'socket.write data');
      else if (types.isArrayBuffer(data)) bytes = stringBytes(Array.prototype.join.call(new Uint8Array(data), ','));
      else bytes = stringBytes(describe(data), 'socket.write data');
      if (this.nodeEnded || this.closed || this.node.destroyed || bytes.length === 0) return;
      this.pendingWrites++;
      this.node.write(bytes, (err) => {
        this.pendingWrites--;
        if (err || this.pendingWrites > 0 || this.closeRequested || this.closed) return;
        if (this.node.writableLength === 0) raise(this.socket, 'drain', [this.socket]);
      });
    }

    requestClose() {
      this.closeRequested = true;
      // Writes made in this same tick still go out before the FIN.
      enqueue(() => this.closeAfterFlush());
    }

    // Send what is queued, then FIN, then close the socket completely.
    closeAfterFlush() {
      if (this.nodeEnded || this.closed) return;
      this.nodeEnded = true;
      this.closeRequested = true;
      this.node.end(() => this.node.destroy());
    }

    destroy() {
      this.nodeEnded = true;
      this.node.destroy();
    }
  }

  const servers = new WeakMap(); // emulated server -> { node }
  const memoryServers = new Map(); // port -> emulated server, with options.network 'memory'

  function accept(server, nodeSocket) {
    const socketState = new SocketState(nodeSocket);
    raise(server, 'connect', [socketState.socket]);
  }

  /** An in-process connection to the server listening on `port` (the first one without): the client's end, a Duplex. */
  function connect(port) {
    if (!inMemory) throw new Error('connect() needs options.network "memory"');
    if (stopped) throw new Error('this emulation has been stopped');
    const server = port === undefined ? memoryServers.values().next().value : memoryServers.get(Number(port));
    if (!server) throw new Error(port === undefined ? 'no server listens' : `nothing listens on port ${port}`);
    const [serverEnd, clientEnd] = duplexPair();
    accept(server, serverEnd);
    return clientEnd;
  }

  const ServerProto = defineMethods(newObject(), {
    ...eventMethods,
    listen(port) {
      const state = servers.get(this);
      if (!state || state.node) return this;
      if (inMemory) {
        const number = Number(port) | 0;
        memoryServers.set(number, this);
        state.node = { close: (done) => { memoryServers.delete(number); done?.(); } };
        liveServers.add(state.node);
        return this;
      }
      const nodeServer = net.createServer({ allowHalfOpen: true });
      state.node = nodeServer;
      liveServers.add(nodeServer);
      nodeServer.on('connection', (nodeSocket) => {
        if (stopped) {
          nodeSocket.destroy();
          return;
        }
        accept(this, nodeSocket);
      });
      nodeServer.on('error', () => {
        // On the device listen() throws InternalError synchronously; Node only
        // knows later, so print what Espruino would and carry on.
        liveServers.delete(nodeServer);
        if (!stopped) print('Uncaught InternalError: Unable to create socket');
      });
      serversBound.push(new Promise((resolve) => {
        nodeServer.once('listening', resolve);
        nodeServer.once('error', resolve);
      }));
      nodeServer.listen({ port: Number(port) | 0, host: listenHost });
      return this;
    },
    // Stops accepting; open connections stay and nothing is emitted.
    close() {
      const state = servers.get(this);
      if (state?.node) {
        liveServers.delete(state.node);
        state.node.close();
      }
    },
  });

  const netModule = defineMethods(newObject(), {
    createServer(onConnect) {
      if (typeof onConnect !== 'function') throw error('Expecting Callback Function but got ' + typeof onConnect);
      const server = newObject(ServerProto);
      servers.set(server, { node: null });
      eventMethods.on.call(server, 'connect', onConnect);
      return server;
    },
    // A client connection (jswrap_net.c): `onConnect(socket)` once it is up. A connection
    // that fails later (refused on a board, reset, unreachable) shows as 'end' then 'close';
    // the Linux build throws "Unable to create socket" at once for a refused one instead.
    connect(options, onConnect) {
      if (!options || typeof options !== 'object') throw error('Expecting an options object but got ' + typeof options);
      const nodeSocket = net.connect({ host: String(options.host || '127.0.0.1'), port: Number(options.port) | 0, allowHalfOpen: true });
      const socketState = new SocketState(nodeSocket);
      nodeSocket.once('connect', () => {
        if (stopped) return nodeSocket.destroy();
        if (typeof onConnect === 'function') enqueue(() => callListeners(socketState.socket, [onConnect], [socketState.socket]));
      });
      return socketState.socket;
    },
  });

  // ----- dgram (UDP) ---------------------------------------------------------
  // As on the ESP32 and the Linux build (libs/network/jswrap_net.c,
  // socketserver.c): a datagram arrives as a 'message' with a byte string and
  // rinfo { address, port, size }; send(msg, [offset, length,] port, address)
  // takes a String; bind(port, callback) queues callback(socket) at once.

  const udpSockets = new WeakMap(); // emulated dgramSocket -> its node:dgram socket
  const liveUdpSockets = new Set();

  function nodeUdpSocket(socket) {
    let node = udpSockets.get(socket);
    if (node) return node;
    node = dgram.createSocket('udp4');
    udpSockets.set(socket, node);
    liveUdpSockets.add(node);
    node.on('message', (buffer, rinfo) => {
      // Device quirk (seen on 2v29's Linux builds; socketserver.c is shared with the
      // ESP32): an empty datagram reads as 0 bytes, taken for "closed": the socket closes.
      if (buffer.length === 0) {
        node.close();
        return;
      }
      const info = Object.assign(newObject(), { address: rinfo.address, port: rinfo.port, size: rinfo.size });
      raise(socket, 'message', [buffer.toString('latin1'), info]);
    });
    node.on('error', () => {
      // The device throws "Unable to create socket" from bind(); Node only knows later.
      liveUdpSockets.delete(node);
      if (!stopped) print('Uncaught InternalError: Unable to create socket');
    });
    node.on('close', () => {
      liveUdpSockets.delete(node);
      // Device quirk (seen on 2v29's Linux builds): 'close' comes twice.
      raise(socket, 'close', [false]);
      raise(socket, 'close', [false]);
    });
    return node;
  }

  const DgramSocketProto = defineMethods(newObject(), {
    ...eventMethods,
    bind(port, callback) {
      nodeUdpSocket(this).bind(Number(port) | 0, listenHost);
      if (typeof callback === 'function') enqueue(() => callListeners(this, [callback], [this]));
      return this;
    },
    send(message, offset, length, ...rest) {
      if (typeof message !== 'string') throw error('dgram send: the message must be a String');
      let bytes = stringBytes(message, 'dgram message');
      let port = offset;
      let address = length;
      if (typeof rest[0] === 'number') {
        bytes = bytes.subarray(Number(offset) | 0, (Number(offset) | 0) + (Number(length) | 0));
        port = rest[0];
        address = rest[1];
      }
      const node = nodeUdpSocket(this);
      if (liveUdpSockets.has(node)) node.send(bytes, Number(port) | 0, String(address));
    },
    close() {
      const node = udpSockets.get(this);
      if (node && liveUdpSockets.has(node)) node.close();
    },
  });

  const dgramModule = defineMethods(newObject(), {
    createSocket() {
      return newObject(DgramSocketProto);
    },
  });

  // ----- crypto --------------------------------------------------------------

  // The crypto functions take a string that is not flat (a string built in pieces, one
  // read from the Linux build's Storage, which is not memory-mapped) by copying it whole
  // onto the C stack: a board throws when it does not fit, the Linux build under
  // `ulimit -s 24` crashed with a 60 KB one. Flat data (typed arrays) is read in place.
  function digest(algorithm) {
    return (data) => {
      if (typeof data === 'string' && data.length > CRYPTO_STACK_COPY_MAX) throw error('Not enough stack memory to decode data');
      return newArrayBuffer(nodeCrypto.createHash(algorithm).update(toBytes(data, 'crypto data')).digest());
    };
  }

  const cryptoModule = defineMethods(newObject(), {
    SHA1: digest('sha1'),
    SHA224: digest('sha224'),
    SHA256: digest('sha256'),
    SHA384: digest('sha384'),
    SHA512: digest('sha512'),
  });

  // ----- Storage -------------------------------------------------------------

  const files = new Map(); // name -> Buffer (normal files)
  const storageFiles = new Map(); // StorageFile name -> Buffer (its whole content)

  if (options.storageFile && fs.existsSync(options.storageFile)) {
    const saved = JSON.parse(fs.readFileSync(options.storageFile, 'utf8'));
    for (const [name, b64] of Object.entries(saved.files ?? {})) files.set(name, Buffer.from(b64, 'base64'));
    for (const [name, b64] of Object.entries(saved.storageFiles ?? {})) storageFiles.set(name, Buffer.from(b64, 'base64'));
  }

  function persist() {
    if (!options.storageFile) return;
    const saved = { format: 'espruino-emulation-storage', files: {}, storageFiles: {} };
    for (const [name, data] of files) saved.files[name] = data.toString('base64');
    for (const [name, data] of storageFiles) saved.storageFiles[name] = data.toString('base64');
    const temp = options.storageFile + '.tmp';
    fs.writeFileSync(temp, JSON.stringify(saved));
    fs.renameSync(temp, options.storageFile);
  }

  // On the device a longer name is silently cut to 28 bytes; failing loudly is more useful.
  function storageName(name, max = STORAGE_NAME_MAX) {
    const s = String(name);
    if (s.length > max) throw error('Name too long');
    return s;
  }

  /** Device quirk: a StorageFile ends at its first 0xFF byte (erased flash). */
  function storageFileContent(name) {
    const data = storageFiles.get(name);
    if (!data) return Buffer.alloc(0);
    const end = data.indexOf(0xff);
    return end < 0 ? data : data.subarray(0, end);
  }

  function storageStats() {
    let fileBytes = 0;
    let fileCount = 0;
    for (const data of files.values()) {
      fileBytes += STORAGE_HEADER_BYTES + Math.ceil(data.length / 4) * 4;
      fileCount++;
    }
    for (const data of storageFiles.values()) {
      const chunks = Math.max(1, Math.ceil(data.length / STORAGEFILE_CHUNK));
      fileBytes += chunks * (STORAGE_HEADER_BYTES + STORAGEFILE_CHUNK);
      fileCount += chunks;
    }
    return { totalBytes: STORAGE_TOTAL_BYTES, freeBytes: STORAGE_TOTAL_BYTES - fileBytes, fileBytes, fileCount };
  }

  function isErased(buffer, from, length) {
    for (let i = from; i < from + length; i++) if (buffer[i] !== 0xff) return false;
    return true;
  }

  function isPlainObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value) &&
      !types.isArrayBuffer(value) && !types.isTypedArray(value) && !types.isDataView(value);
  }

  const storageFileStates = new WeakMap(); // StorageFile object -> { name, mode, position }

  const StorageFileProto = defineMethods(newObject(), {
    // Appends; only in 'w' and 'a' modes.
    write(data) {
      const state = storageFileStates.get(this);
      if (state.mode !== 'w' && state.mode !== 'a') throw error("Can't write in this mode");
      const bytes = stringBytes(String(data), 'StorageFile data');
      if (!bytes.length) return;
      const content = storageFileContent(state.name);
      if (content.length + bytes.length > STORAGEFILE_MAX_CHUNKS * STORAGEFILE_CHUNK) throw error('File too big!');
      storageFiles.set(state.name, Buffer.concat([content, bytes]));
      persist();
    },
    // Reading is only allowed in 'r' mode on the device.
    read(length) {
      const state = storageFileStates.get(this);
      if (state.mode !== 'r') throw error("Can't read in this mode");
      const content = storageFileContent(state.name);
      if (state.position >= content.length) return undefined;
      const n = Math.max(0, Number(length) | 0);
      const piece = content.subarray(state.position, state.position + n);
      state.position += piece.length;
      return bytesToString(piece);
    },
    readLine() {
      const state = storageFileStates.get(this);
      if (state.mode !== 'r') throw error("Can't read in this mode");
      const content = storageFileContent(state.name);
      if (state.position >= content.length) return undefined;
      const newline = content.indexOf(0x0a, state.position);
      const end = newline < 0 ? content.length : newline + 1;
      const piece = content.subarray(state.position, end);
      state.position = end;
      return bytesToString(piece);
    },
    getLength() {
      return storageFileContent(storageFileStates.get(this).name).length;
    },
    // After erase() the file can no longer be written or read through this object.
    erase() {
      const state = storageFileStates.get(this);
      storageFiles.delete(state.name);
      state.mode = 0;
      state.position = 0;
      persist();
    },
  });

  const storageModule = defineMethods(newObject(), {
    read(name, offset, length) {
      const n = storageName(name);
      let data = files.get(n);
      if (!data && n.endsWith('\x01') && storageFiles.has(n.slice(0, -1))) {
        // The first chunk of a StorageFile, as flash holds it (padded with 0xFF).
        const content = storageFiles.get(n.slice(0, -1)).subarray(0, STORAGEFILE_CHUNK);
        data = Buffer.concat([content, Buffer.alloc(STORAGEFILE_CHUNK - content.length, 0xff)]);
      }
      if (!data) return undefined;
      const from = Math.max(0, Number(offset) | 0);
      const len = Number(length) | 0;
      return bytesToString(data.subarray(from, len > 0 ? from + len : data.length));
    },
    readJSON(name, noExceptions) {
      const text = storageModule.read(name);
      if (text === undefined) return undefined;
      try {
        return espruinoParse(text);
      } catch (e) {
        if (noExceptions) return undefined;
        throw e;
      }
    },
    readArrayBuffer(name) {
      const data = files.get(storageName(name));
      return data ? newArrayBuffer(data) : undefined;
    },
    // Semantics of jsfWriteFile: offset 0 (or none) creates the file, `size`
    // bytes long (default: the data's length) and filled with 0xFF; a later
    // write at an offset fills in part of it, but only where still 0xFF.
    // An object (not an array) is written as its JSON.
    write(name, data, offset, size) {
      const n = storageName(name);
      let bytes;
      if (isPlainObject(data)) {
        bytes = stringBytes(espruinoStringify(data), 'Storage data');
        offset = 0;
        size = 0;
      } else {
        bytes = typeof data === 'string' || typeof data === 'object' ? toBytes(data, 'Storage data') : stringBytes(describe(data));
      }
      offset = Number(offset) | 0;
      size = Number(size) | 0;
      if (offset < 0 || size < 0) return false;
      if (!size) size = bytes.length;
      if (!size) throw error("Can't create zero length file");
      let file = files.get(n);
      if (offset === 0) {
        if (file && file.length === size && bytes.length === size && file.equals(bytes)) return true;
        if (!file || file.length !== size || !isErased(file, 0, size)) {
          const existing = file ? STORAGE_HEADER_BYTES + file.length : 0;
          if (storageStats().freeBytes + existing < STORAGE_HEADER_BYTES + size) {
            throw error('Unable to find or create file');
          }
          file = Buffer.alloc(size, 0xff);
          files.set(n, file);
        }
      }
      if (!file) throw error('Unable to find or create file');
      if (offset + bytes.length > file.length) throw error('Too much data for file size');
      if (!isErased(file, offset, bytes.length)) throw error('File already written with different data');
      bytes.copy(file, offset);
      persist();
      return true;
    },
    writeJSON(name, data) {
      return storageModule.write(name, espruinoStringify(data));
    },
    erase(name) {
      const n = storageName(name);
      files.delete(n);
      if (n.endsWith('\x01')) storageFiles.delete(n.slice(0, -1));
      persist();
    },
    // StorageFiles show as "name\x01" (their first chunk), or as "name" with
    // {sf:true}; {sf:false} lists only normal files. A string pattern is a
    // regular expression, as with String#match.
    list(pattern, filter) {
      const sf = filter !== null && typeof filter === 'object' && 'sf' in filter ? Boolean(filter.sf) : undefined;
      const names = [];
      if (sf !== true) names.push(...files.keys());
      if (sf !== false) for (const name of storageFiles.keys()) names.push(sf ? name : name + '\x01');
      const matching = pattern === undefined || pattern === null ? names : names.filter((name) => name.match(pattern) !== null);
      return newArray(matching);
    },
    getFree() {
      return storageStats().freeBytes;
    },
    getStats() {
      return Object.assign(newObject(), storageStats(), { trashBytes: 0, trashCount: 0 });
    },
    compact() {},
    eraseAll() {
      files.clear();
      storageFiles.clear();
      persist();
    },
    open(name, openMode) {
      const n = storageName(name, STORAGEFILE_NAME_MAX);
      if (openMode !== 'r' && openMode !== 'w' && openMode !== 'a') {
        throw error('Invalid mode ' + JSON.stringify(openMode));
      }
      if (openMode === 'w' && storageFiles.has(n)) {
        storageFiles.delete(n);
        persist();
      }
      const file = newObject(StorageFileProto);
      file.name = n;
      storageFileStates.set(file, { name: n, mode: openMode, position: 0 });
      return file;
    },
  });

  // ----- fs (a host directory) -----------------------------------------------

  let fsRoot = options.fsRoot;

  function fsPath(p) {
    if (!fsRoot) fsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'espruino-fs-'));
    const relative = path.posix.normalize('/' + String(p ?? '')).slice(1);
    return path.join(fsRoot, relative);
  }

  const fsModule = defineMethods(newObject(), {
    readFileSync(p) {
      try {
        return fs.readFileSync(fsPath(p)).toString('latin1');
      } catch {
        throw error('Unable to open file : NO_FILE');
      }
    },
    writeFileSync(p, data) {
      fs.writeFileSync(fsPath(p), toBytes(data === undefined ? '' : data, 'file data'));
      return true;
    },
    appendFileSync(p, data) {
      fs.appendFileSync(fsPath(p), toBytes(data === undefined ? '' : data, 'file data'));
      return true;
    },
    readdirSync(p) {
      try {
        return newArray(fs.readdirSync(fsPath(p)));
      } catch {
        throw error('Unable to list files : NO_PATH');
      }
    },
    statSync(p) {
      try {
        const st = fs.statSync(fsPath(p));
        return Object.assign(newObject(), { size: st.size, dir: st.isDirectory(), mtime: new C.Date(st.mtimeMs) });
      } catch {
        return undefined;
      }
    },
    existsSync(p) {
      return fs.existsSync(fsPath(p));
    },
    unlinkSync(p) {
      try {
        fs.unlinkSync(fsPath(p));
        return true;
      } catch {
        throw error('Unable to delete file : NO_FILE');
      }
    },
    mkdirSync(p) {
      fs.mkdirSync(fsPath(p), { recursive: true });
      return true;
    },
  });

  // E.openFile(path, 'r'): a File reading a host file forward (only 'r' is emulated).
  const fileStates = new WeakMap(); // File object -> { data: Buffer | null, position }

  const FileProto = defineMethods(newObject(), {
    read(length) {
      const state = fileStates.get(this);
      if (!state.data || state.position >= state.data.length) return undefined;
      const piece = state.data.subarray(state.position, state.position + Math.max(0, Number(length) | 0));
      state.position += piece.length;
      return bytesToString(piece);
    },
    skip(n) {
      fileStates.get(this).position += Math.max(0, Number(n) | 0);
    },
    seek(n) {
      fileStates.get(this).position = Math.max(0, Number(n) | 0);
    },
    close() {
      fileStates.get(this).data = null;
    },
  });

  function openFile(p, openMode) {
    if (openMode !== 'r') throw error('E.openFile: only mode "r" is emulated');
    let data;
    try {
      data = fs.readFileSync(fsPath(p));
    } catch {
      throw error('Could not open file : NO_FILE');
    }
    const file = newObject(FileProto);
    fileStates.set(file, { data, position: 0 });
    return file;
  }

  // ----- Wifi (ESP32 firmware) -----------------------------------------------
  // Only with options.wifi: the Linux build has no Wifi module. Follows
  // libs/network/esp32/jswrap_esp32_network.c: connect(ssid, {password}, cb)
  // calls back null once it has an address (then 'connected' {ip, netmask, gw}),
  // or, after a 'disconnected' {ssid, mac, reason, msg}, the reason's name
  // ("NO_AP_FOUND", "AUTH_FAIL"); a connect() made while another is under way
  // drops the earlier callback. scan(cb) calls back with the list alone.
  // Wifi.save() writes ".wificfg" to Storage; at "boot" (jswrap_wifi_restore)
  // a saved station network is joined with no callback. Not emulated: the
  // ESP32-C3's dropping the access point when it joins a network.

  const WIFI_CONFIG = '.wificfg';
  const WIFI_STA = 1;
  const WIFI_AP = 2;
  const WIFI_REASONS = { BEACON_TIMEOUT: '200', NO_AP_FOUND: '201', AUTH_FAIL: '202' };
  const wifiScenario = options.wifi;
  let wifiModule;
  let wifiControl;
  const wifiTimers = new Set();

  function wifiLater(ms, run) {
    const handle = setTimeout(() => {
      wifiTimers.delete(handle);
      if (!stopped) guarded(run);
    }, ms);
    wifiTimers.add(handle);
    return handle;
  }

  if (wifiScenario) {
    const latencyMs = wifiScenario.latencyMs ?? 20;
    const stationIp = wifiScenario.ip ?? '192.168.1.50';
    const apIp = wifiScenario.apIp ?? '192.168.4.1';
    const mac = '24:0a:c4:00:00:01';
    const wifi = { mode: 0, ssid: '', password: '', connected: false, attempt: null, scanning: false, ap: null, hostname: '' };
    const attempts = [];
    const details = (fields) => Object.assign(newObject(), fields);
    const expectCallback = (callback) => {
      if (callback !== undefined && typeof callback !== 'function') throw error('Expecting a callback function but got ' + typeof callback);
    };

    function finishAttempt(attempt) {
      wifi.attempt = null;
      const network = (wifiScenario.networks ?? []).find((n) => n.ssid === attempt.ssid);
      let reason = '';
      if (wifiControl.failConnects > 0) {
        wifiControl.failConnects--;
        reason = 'NO_AP_FOUND';
      } else if (!network) reason = 'NO_AP_FOUND';
      else if ((network.password ?? '') !== attempt.password) reason = 'AUTH_FAIL';
      attempts.push({ ssid: attempt.ssid, password: attempt.password, ok: !reason });
      if (reason) {
        raise(wifiModule, 'disconnected', [details({ ssid: attempt.ssid, mac, reason: WIFI_REASONS[reason], msg: reason })]);
        if (attempt.callback) enqueue(() => callListeners(wifiModule, [attempt.callback], [reason]));
        return;
      }
      wifi.connected = true;
      if (attempt.callback) enqueue(() => callListeners(wifiModule, [attempt.callback], [null]));
      raise(wifiModule, 'connected', [details({ ip: stationIp, netmask: '255.255.255.0', gw: '192.168.1.1' })]);
    }

    function startAttempt(ssid, password, callback, fromConnect) {
      if (wifi.attempt?.handle) {
        clearTimeout(wifi.attempt.handle);
        wifiTimers.delete(wifi.attempt.handle);
      }
      wifi.mode |= WIFI_STA;
      wifi.ssid = ssid;
      wifi.password = password;
      wifi.connected = false;
      const attempt = { ssid, password, callback, handle: null };
      wifi.attempt = attempt;
      if (fromConnect && wifiControl.hangConnects > 0) {
        // The firmware keeps trying and never calls back, until the next connect().
        wifiControl.hangConnects--;
        attempts.push({ ssid, password, ok: undefined });
        return;
      }
      attempt.handle = wifiLater(latencyMs, () => finishAttempt(attempt));
    }

    function ipInfo(ip) {
      return details({ ip, netmask: '255.255.255.0', gw: ip === apIp ? apIp : '192.168.1.1', mac });
    }

    wifiModule = defineMethods(newObject(), {
      ...eventMethods,
      connect(ssid, connectOptions, callback) {
        if (typeof ssid !== 'string') throw error('No SSID provided');
        if (connectOptions !== undefined && (connectOptions === null || typeof connectOptions !== 'object')) {
          throw error('Expecting an options object but got ' + typeof connectOptions);
        }
        expectCallback(callback);
        const password = connectOptions?.password;
        if (password !== undefined && typeof password !== 'string') {
          throw error('Expecting options.password to be a string but got ' + typeof password);
        }
        startAttempt(ssid, password ?? '', callback, true);
      },
      getIP() {
        return ipInfo(wifi.connected ? stationIp : '0.0.0.0');
      },
      getAPIP() {
        return ipInfo(apIp);
      },
      scan(callback) {
        if (wifi.scanning) throw error('A scan is already in progress');
        if (typeof callback !== 'function') throw error('Expecting a callback function but got ' + typeof callback);
        wifi.scanning = true;
        wifi.mode |= WIFI_STA;
        wifiLater(latencyMs, () => {
          wifi.scanning = false;
          const list = newArray((wifiScenario.networks ?? []).map((n) => details({
            rssi: n.rssi ?? -60, authMode: n.password ? 'wpa2' : 'open', ssid: n.ssid, mac: '00:11:22:33:44:55', channel: '6',
          })));
          callListeners(wifiModule, [callback], [list]);
        });
      },
      startAP(ssid, apOptions, callback) {
        expectCallback(callback);
        if (typeof ssid !== 'string') throw error('No SSID');
        const password = apOptions?.password;
        if (password !== undefined && (typeof password !== 'string' || password.length < 8)) {
          throw error('Password must be string of at least 8 characters');
        }
        wifi.ap = { ssid, password: password ?? '', authMode: password ? 'wpa2' : 'open' };
        wifi.mode |= WIFI_AP;
        if (callback) enqueue(() => callListeners(wifiModule, [callback], [null]));
      },
      stopAP(callback) {
        expectCallback(callback);
        wifi.ap = null;
        wifi.mode &= ~WIFI_AP;
        if (callback) enqueue(() => callListeners(wifiModule, [callback], []));
      },
      save(what) {
        if (what === 'clear') {
          storageModule.erase(WIFI_CONFIG);
          return;
        }
        storageModule.erase(WIFI_CONFIG);
        storageModule.write(WIFI_CONFIG, details({
          ssid: wifi.ssid, password: wifi.password, mode: wifi.mode, sleepType: 0,
          ssidAP: wifi.ap?.ssid ?? '', passwordAP: wifi.ap?.password ?? '', authmodeAP: wifi.ap?.password ? 3 : 0,
          hiddenAP: 0, channelAP: 0, hostname: wifi.hostname,
        }));
      },
      setHostname(hostname, callback) {
        wifi.hostname = String(hostname);
        if (typeof callback === 'function') enqueue(() => callListeners(wifiModule, [callback], []));
      },
    });

    /** What a test sees and steers: the station, the access point, every attempt, drops. */
    wifiControl = {
      /** The next this many attempts fail with NO_AP_FOUND, whatever the network. */
      failConnects: wifiScenario.failConnects ?? 0,
      /** The next this many connect() calls never call back (ok: undefined in attempts). */
      hangConnects: wifiScenario.hangConnects ?? 0,
      /** Every attempt, in order: { ssid, password, ok }. */
      attempts,
      get connected() { return wifi.connected; },
      get ssid() { return wifi.ssid; },
      /** The access point while it is up: { ssid, password, authMode }, else null. */
      get ap() { return wifi.ap; },
      get hostname() { return wifi.hostname; },
      /** The configuration Wifi.save() left in Storage, or undefined. */
      get saved() { return storageModule.readJSON(WIFI_CONFIG, true); },
      /** Loses the connection, as when the router goes away: 'disconnected' with BEACON_TIMEOUT. */
      drop() {
        if (!wifi.connected) return false;
        wifi.connected = false;
        raise(wifiModule, 'disconnected', [details({ ssid: wifi.ssid, mac, reason: WIFI_REASONS.BEACON_TIMEOUT, msg: 'BEACON_TIMEOUT' })]);
        return true;
      },
    };

    // A network saved before this "boot", then the firmware's restore.
    if (wifiScenario.saved) {
      storageModule.erase(WIFI_CONFIG);
      storageModule.write(WIFI_CONFIG, details({ ssid: wifiScenario.saved.ssid, password: wifiScenario.saved.password ?? '', mode: WIFI_STA }));
    }
    const restored = storageModule.readJSON(WIFI_CONFIG, true);
    if (restored && restored.ssid && (restored.mode & WIFI_STA)) startAttempt(restored.ssid, restored.password ?? '', undefined, false);
    if (restored && (restored.mode & WIFI_AP) && restored.ssidAP) {
      wifi.ap = { ssid: restored.ssidAP, password: restored.passwordAP ?? '', authMode: restored.passwordAP ? 'wpa2' : 'open' };
      wifi.mode |= WIFI_AP;
    }
  }

  // ----- require -------------------------------------------------------------

  const moduleCache = new Map([
    ['net', netModule],
    ['crypto', cryptoModule],
    ['Storage', storageModule],
    ['fs', fsModule],
    ['dgram', dgramModule],
    ...(wifiModule ? [['Wifi', wifiModule]] : []),
  ]);

  function requireImpl(name) {
    const n = String(name);
    if (moduleCache.has(n)) return moduleCache.get(n);
    if (options.modules && Object.prototype.hasOwnProperty.call(options.modules, n)) {
      let value = options.modules[n];
      if (typeof value === 'function') value = value(emulation);
      moduleCache.set(n, value);
      return value;
    }
    // As on the device: a Storage file of that name is a module (what `npm run flash -- --module` stores).
    const stored = files.get(n);
    if (stored) {
      const source = stored.toString(linux ? 'utf8' : 'latin1');
      const run = new vm.Script('(function (exports, module) {' + source + '\n})', { filename: n }).runInContext(context);
      const module = newObject();
      module.exports = newObject();
      moduleCache.set(n, module.exports);
      run(module.exports, module);
      moduleCache.set(n, module.exports);
      return module.exports;
    }
    throw error('Module ' + n + ' not found');
  }

  // ----- E -------------------------------------------------------------------

  /** Decodes UTF-8 in a byte string; invalid sequences stay as their raw bytes. */
  function decodeUtf8Lenient(s) {
    let out = '';
    for (let i = 0; i < s.length;) {
      const b0 = s.charCodeAt(i);
      const need = b0 >= 0xf0 && b0 <= 0xf4 ? 3 : b0 >= 0xe0 && b0 <= 0xef ? 2 : b0 >= 0xc2 && b0 <= 0xdf ? 1 : 0;
      let cp = need === 3 ? b0 & 0x07 : need === 2 ? b0 & 0x0f : b0 & 0x1f;
      let ok = need > 0 && i + need < s.length;
      for (let k = 1; ok && k <= need; k++) {
        const b = s.charCodeAt(i + k);
        if (!(b >= 0x80 && b <= 0xbf)) ok = false;
        else cp = (cp << 6) | (b & 0x3f);
      }
      // Reject overlong forms, surrogates and values past U+10FFFF.
      if (ok && ((need === 2 && cp < 0x800) || (need === 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) ok = false;
      if (ok) {
        out += String.fromCodePoint(cp);
        i += need + 1;
      } else {
        out += s[i];
        i += 1;
      }
    }
    return out;
  }

  /** Rough JsVar count of a value: Espruino uses about one 14-byte block per property or 12 chars. */
  function sizeOf(value, seen = new Set()) {
    if (typeof value === 'string') return 1 + Math.ceil(value.length / 12);
    if (value === null || typeof value !== 'object' && typeof value !== 'function') return 1;
    if (seen.has(value)) return 0;
    seen.add(value);
    if (types.isArrayBuffer(value)) return 2 + Math.ceil(value.byteLength / 12);
    if (types.isTypedArray(value)) return 3 + Math.ceil(value.byteLength / 12);
    let total = 1;
    for (const key of Object.keys(value)) total += 1 + sizeOf(value[key], seen);
    return total;
  }

  const E = defineMethods(newObject(), {
    ...eventMethods,
    toString(...args) {
      if (args.length === 1 && typeof args[0] === 'string') return args[0];
      return bytesToString(Buffer.concat(args.map((a) => toBytes(a, 'E.toString data'))));
    },
    // Strings are never flat here (as the Linux build's Storage strings are not memory-mapped);
    // typed arrays and ArrayBuffers are.
    getAddressOf(value) {
      return types.isArrayBuffer(value) || types.isTypedArray(value) ? 0x3ffb0000 : 0;
    },
    toUint8Array(...args) {
      const bytes = Buffer.concat(args.map((a) => toBytes(a, 'E.toUint8Array data')));
      const out = new C.Uint8Array(bytes.length);
      out.set(bytes);
      return out;
    },
    getSizeOf(value) {
      return Math.max(1, sizeOf(value));
    },
    // jswrap_espruino_CRC32: the standard CRC-32 (as zlib's) of each element as a byte.
    CRC32(data) {
      if (data === undefined || data === null || typeof data === 'number') return undefined;
      return zlib.crc32(toBytes(data, 'E.CRC32 data')) >>> 0;
    },
    // The interpreter's error flags (MEMORY, LOW_MEMORY, ...), cleared by reading; the emulation sets none.
    getErrorFlags() {
      return newArray([]);
    },
    // The Linux build flags strings as UTF-8; a JS string here has no flag, so
    // "holds a char above 0xFF" stands in for it. The ESP32 build has no UTF-8 strings.
    isUTF8(s) {
      return linux && typeof s === 'string' && /[^\x00-\xff]/.test(s);
    },
    asUTF8(s) {
      return linux ? decodeUtf8Lenient(String(s)) : s;
    },
    fromUTF8(s) {
      if (!linux) return false;
      return Buffer.from(String(s), 'utf8').toString('latin1');
    },
    openFile(p, openMode) {
      return openFile(p, openMode);
    },
    getTemperature() {
      return 25 + Math.random();
    },
    reboot() {
      if (!options.onReboot) throw error('E.reboot() is not emulated');
      options.onReboot();
    },
  });

  // ----- process -------------------------------------------------------------

  const processObject = defineMethods(newObject(), {
    ...eventMethods,
    memory() {
      const usage = Math.min(memoryUsage, totalJsVars);
      return Object.assign(newObject(), {
        free: totalJsVars - usage, usage, total: totalJsVars, history: 0, gc: 0, gctime: 0, blocksize: 14,
      });
    },
  });
  processObject.env = Object.assign(newObject(), { VERSION, BOARD: linux ? 'LINUX' : 'ESP32' });
  processObject.version = VERSION;

  // ----- console, btoa/atob --------------------------------------------------

  const consoleObject = defineMethods(newObject(), {
    log: printArgs, info: printArgs, debug: printArgs, warn: printArgs, error: printArgs, trace: printArgs,
  });

  function btoaImpl(data) {
    if (typeof data === 'string') {
      if (/[^\x00-\xff]/.test(data)) throw error('btoa: char above 0xFF in a binary string');
      return Buffer.from(data, 'latin1').toString('base64');
    }
    if (Array.isArray(data) || types.isTypedArray(data) || types.isArrayBuffer(data)) return toBytes(data).toString('base64');
    throw error('Expecting String or Array, got ' + typeof data);
  }

  function atobImpl(data) {
    if (typeof data !== 'string') throw error('Expecting String, got ' + typeof data);
    if (/[^\x00-\xff]/.test(data)) throw error('atob: char above 0xFF in a base64 string');
    return Buffer.from(data.replace(/[^A-Za-z0-9+/]/g, ''), 'base64').toString('latin1');
  }

  // ----- Build the global scope ------------------------------------------------

  const missing = JSON.parse(fs.readFileSync(MISSING_FILE, 'utf8'));
  const undeletable = [];

  for (const name of [...missing.globals, ...EXTRA_MISSING_GLOBALS, 'console']) Reflect.deleteProperty(g, name);
  for (const dotted of missing.statics) {
    const [owner, member] = dotted.split('.');
    const target = g[owner];
    if (target && Object.prototype.hasOwnProperty.call(target, member) && !Reflect.deleteProperty(target, member)) {
      undeletable.push(dotted); // Number.MAX_SAFE_INTEGER and Number.EPSILON are non-configurable in V8
    }
  }
  for (const owner of PROTOTYPE_OWNERS) {
    const proto = g[owner]?.prototype;
    for (const method of missing.methods) {
      if (proto && Object.prototype.hasOwnProperty.call(proto, method)) Reflect.deleteProperty(proto, method);
    }
  }

  // Espruino's InternalError (used for "Unable to create socket" and out-of-memory errors).
  vm.runInContext(`(function (g) {
    function InternalError(message) {
      if (!(this instanceof InternalError)) return new InternalError(message);
      this.message = message === undefined ? '' : String(message);
    }
    InternalError.prototype = Object.create(Error.prototype);
    InternalError.prototype.constructor = InternalError;
    InternalError.prototype.name = 'InternalError';
    g.InternalError = InternalError;
  })(globalThis)`, context);

  // Device quirk: Object.create with a second (descriptors) argument throws.
  const nativeObjectCreate = C.Object.create;
  C.Object.create = fn(function create(proto, descriptors) {
    if (descriptors !== undefined) throw error('propertiesObject is not supported yet');
    return nativeObjectCreate(proto);
  }, 'create');

  C.JSON.stringify = fn(espruinoStringify, 'stringify');
  C.JSON.parse = fn(espruinoParse, 'parse');
  C.String.fromCharCode = fn(fromCharCode, 'fromCharCode');

  // Device quirk (Linux build, seen on 2v29): replace() with a RegExp pattern
  // returns Unicode text as a binary string of its UTF-8 bytes, match or no
  // match ('Café€'.replace(/x/, '') has 8 chars). Only text holding a char
  // above 0xFF is known to be Unicode here, so only that is turned into bytes.
  if (linux) {
    const stringPrototype = vm.runInContext('String.prototype', context);
    const nativeReplace = stringPrototype.replace;
    Object.defineProperty(stringPrototype, 'replace', {
      value: fn(function replace(pattern, replacement) {
        let text = String(this);
        if (types.isRegExp(pattern) && /[^\x00-\xff]/.test(text)) text = Buffer.from(text, 'utf8').toString('latin1');
        return nativeReplace.call(text, pattern, replacement);
      }, 'replace'),
      writable: true, configurable: true, enumerable: false,
    });
  }

  // Device quirk (2v29, every build: jswrap_string_indexOf compares with
  // equalAtEndOfString): a needle that runs off the end of the text counts as
  // found where its start matches the text's tail. "abc".indexOf("cd") is 2,
  // "abc".includes("cd") is true, "abc".replace("cd", "X") is "abX"; and an
  // empty needle is found only before a character ("".indexOf("") is -1).
  {
    const stringPrototype = vm.runInContext('String.prototype', context);
    const nativeIndexOf = stringPrototype.indexOf;
    const espruinoIndexOf = (text, needle, fromIndex) => {
      if (needle.length > text.length) return -1;
      let from = 0;
      if (typeof fromIndex === 'number' && !Number.isNaN(fromIndex)) from = Math.min(Math.max(Math.trunc(fromIndex), 0), text.length - needle.length + 1);
      if (!needle.length) return from < text.length ? from : -1;
      const whole = nativeIndexOf.call(text, needle, from);
      if (whole >= 0) return whole;
      for (let at = Math.max(from, text.length - needle.length + 1); at < text.length; at++) {
        if (needle.startsWith(text.slice(at))) return at;
      }
      return -1;
    };
    const method = (name, impl) => Object.defineProperty(stringPrototype, name, { value: fn(impl, name), writable: true, configurable: true, enumerable: false });
    method('indexOf', function indexOf(needle, fromIndex) { return espruinoIndexOf(String(this), String(needle), fromIndex); });
    method('includes', function includes(needle, fromIndex) { return espruinoIndexOf(String(this), String(needle), fromIndex) >= 0; });
    const replaceBefore = stringPrototype.replace; // the Linux build's RegExp quirk, if installed above
    method('replace', function replace(pattern, replacement) {
      const text = String(this);
      if (!types.isRegExp(pattern) && typeof replacement !== 'function') {
        const needle = String(pattern);
        const at = espruinoIndexOf(text, needle);
        if (at >= 0 && at + needle.length > text.length) return text.slice(0, at) + String(replacement);
      }
      return replaceBefore.call(this, pattern, replacement);
    });
  }

  // Device quirk: each method call locks `this` about twice and the lock count
  // saturates at 15, after which the object is never freed
  // (espruino/Espruino#2616). Bundles built with countMethodDepth call these
  // around every function body; a seventh nested call on one object throws
  // here, as loudly as a leak on the device is quiet.
  const methodDepth = new WeakMap();
  /** The bundle's functions on the stack now, innermost first. */
  const callPath = () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 200;
    const frames = bundleFrames(new Error());
    Error.stackTraceLimit = limit;
    return frames.map((line) => line.trim().replace(/^at /, '').replace(/ \(.*$/, '')).filter((name) => name !== '__thisEnter').join(' < ');
  };
  // The same hooks count how deep the bundle's own calls nest in one event (the C stack
  // they would take on a board): the deepest nesting seen, and the names on that path.
  const callDepth = { now: 0, deepest: 0, path: '' };
  const thisEnter = (self) => {
    if (++callDepth.now > callDepth.deepest) {
      callDepth.deepest = callDepth.now;
      callDepth.path = callPath();
      if (callDepth.now > MAX_CALL_DEPTH) {
        callDepth.now--;
        throw error(`${callDepth.now + 1} nested calls (${callDepth.path}): deeper than the ${MAX_CALL_DEPTH} a board's C stack has room for (tools/gate.mjs MAX_CALL_DEPTH)`);
      }
    }
    if (self === null || (typeof self !== 'object' && typeof self !== 'function') || self === g) return;
    const depth = (methodDepth.get(self) || 0) + 1;
    methodDepth.set(self, depth);
    if (depth > MAX_NESTED_METHOD_CALLS) {
      methodDepth.set(self, depth - 1);
      throw error(`${depth} nested method calls on one object: on Espruino its lock count saturates and it is never freed (espruino/Espruino#2616)`);
    }
  };
  const thisLeave = (self) => {
    callDepth.now--;
    if (self === null || (typeof self !== 'object' && typeof self !== 'function') || self === g) return;
    methodDepth.set(self, methodDepth.get(self) - 1);
  };

  const clearTimeoutImpl = makeClear('Timeout');
  const clearIntervalImpl = makeClear('Interval');

  const globals = {
    require: requireImpl,
    print: printArgs,
    getTime: () => Date.now() / 1000,
    setTimeout: (callback, ms, ...args) => addTimer(callback, ms, args, false),
    setInterval: (callback, ms, ...args) => addTimer(callback, ms, args, true),
    clearTimeout: clearTimeoutImpl,
    clearInterval: clearIntervalImpl,
    changeInterval,
    btoa: btoaImpl,
    atob: atobImpl,
    encodeURIComponent: encodeURIComponentImpl,
    decodeURIComponent: decodeURIComponentImpl,
    quit: () => {
      stop();
      options.onQuit?.();
    },
    save: () => { throw error('save() is not emulated'); },
    load: () => { throw error('load() is not emulated'); },
    reset: () => { throw error('reset() is not emulated'); },
    __thisEnter: thisEnter,
    __thisLeave: thisLeave,
  };
  for (const [name, impl] of Object.entries(globals)) {
    Object.defineProperty(g, name, { value: fn(impl, name), writable: true, configurable: true, enumerable: false });
  }
  for (const [name, value] of Object.entries({ global: g, E, process: processObject, console: consoleObject })) {
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // ----- The handle --------------------------------------------------------------

  let lastRunThrew = false;

  /**
   * Runs code at the top level; returns its completion value. An exception is
   * printed as "Uncaught ..." (see lastRunThrew), not thrown.
   */
  function run(code, filename = 'bundle.js') {
    if (stopped) throw new Error('this emulation has been stopped');
    const source = typeof code === 'string' ? code : Buffer.from(code).toString(linux ? 'utf8' : 'latin1');
    let result;
    lastRunThrew = !guarded(() => {
      result = new vm.Script(source, { filename }).runInContext(context);
    });
    return result;
  }

  function stop() {
    if (stopped) return Promise.resolve();
    stopped = true;
    for (const timer of timers.values()) clearTimeout(timer.handle);
    timers.clear();
    for (const handle of pendingImmediates) clearImmediate(handle);
    pendingImmediates.clear();
    for (const socket of liveSockets) socket.destroy();
    liveSockets.clear();
    const closing = [...liveServers].map((server) => new Promise((resolve) => server.close(() => resolve())));
    liveServers.clear();
    for (const handle of wifiTimers) clearTimeout(handle);
    wifiTimers.clear();
    for (const node of liveUdpSockets) node.close();
    liveUdpSockets.clear();
    return Promise.all(closing).then(() => undefined);
  }

  const memory = {
    setUsage(n) { memoryUsage = Math.max(0, Number(n) | 0); },
    get usage() { return memoryUsage; },
    total: totalJsVars,
  };

  const emulation = {
    mode,
    context,
    run,
    stop,
    storage: storageModule,
    memory,
    /** In bundles built with countMethodDepth: the deepest nesting of the bundle's calls so far, and its path. */
    callDepth,
    /** Names from espruino-missing.json that V8 would not let us delete. */
    undeletable,
    get stopped() { return stopped; },
    /** True when the last run() ended in an exception (the Linux build then exits with code 1). */
    get lastRunThrew() { return lastRunThrew; },
    get fsRoot() { return fsRoot; },
    /** With options.network 'memory': the ports servers listen on, and connect(port?) to one of them. */
    listeningPorts: () => [...memoryServers.keys()],
    connect,
    /** Resolves once the servers listen() was called for so far are bound (Node binds asynchronously). */
    serversBound: () => Promise.all(serversBound).then(() => undefined),
    /** With options.wifi: the emulated Wifi module's state and controls, else undefined. */
    wifi: wifiControl,
  };
  // Espruino reports a rejection nobody handles as an exception (jswrap_promise.c).
  // After stop() they are dropped silently.
  takeEmulatedRejections(C.Promise.prototype, (reason) => {
    if (!stopped) reportUncaught(error('Unhandled promise rejection: ' + describe(reason)));
  });
  return emulation;
}

/**
 * Two connected in-memory stream ends, like the two sides of a TCP connection: what one writes
 * the other reads, end() is a FIN (each side half-closes on its own), destroy() a reset.
 */
function duplexPair() {
  const ends = [0, 1].map((side) => new Duplex({
    allowHalfOpen: true,
    read() {},
    write(chunk, encoding, done) {
      ends[1 - side].push(chunk);
      done();
    },
    final(done) {
      ends[1 - side].push(null);
      done();
    },
    destroy(err, done) {
      const other = ends[1 - side];
      if (!other.destroyed) other.destroy();
      done(err);
    },
  }));
  return ends;
}

/** Loads a bundle file (UTF-8 bytes) into a new emulation and runs it. Returns the emulation. */
export function runBundleFile(file, options = {}) {
  const emulation = createEspruino(options);
  emulation.run(fs.readFileSync(file), path.resolve(file));
  return emulation;
}
