// Talking to Espruino's REPL over a transport, one acknowledged line at a time.
// Each line starts with Ctrl-P (0x10: the REPL neither echoes it nor prints its value)
// and prints a marker with its number and outcome; the next line goes only once that
// marker is back, so the board's input buffer never overflows and nothing sent is
// lost when a step ends. Every line is ASCII: file contents travel as base64.
import { crc32 } from 'node:zlib';

export class BoardError extends Error {}

const MARK_OPEN = '<<ms:';
const MARK_CLOSE = ':ms>>';
// What the interpreter prints when it runs out of JsVars, whatever it was doing.
const OUT_OF_MEMORY = /Out of Memory|New interpreter error: MEMORY|MEMORY_BUSY/;

/** The CRC-32 of a Buffer, as E.CRC32 computes it on the board (unsigned). */
export function checksum(bytes) {
  return crc32(bytes) >>> 0;
}

export class BoardConsole {
  constructor(transport, { verbose = null, timeoutMs = 10000 } = {}) {
    this.transport = transport;
    this.timeoutMs = timeoutMs; // for one answer, unless a call says otherwise
    this.verbose = verbose; // a function that prints console traffic, or null
    this.received = '';
    this.seq = 0;
    this.answers = 0;
    this.waiter = null;
    this.closedWhy = null;
    transport.onData((text) => {
      if (this.verbose) this.verbose('<', text);
      this.received += text;
      if (this.received.length > 65536) this.received = this.received.slice(-32768);
      if (this.waiter) this.waiter.check();
    });
    transport.onClose((why) => {
      this.closedWhy = why;
      if (this.waiter) this.waiter.check();
    });
  }

  async send(text) {
    if (this.verbose) this.verbose('>', text);
    try {
      await this.transport.write(Buffer.from(text, 'latin1'));
    } catch (e) {
      throw new BoardError(`could not write to ${this.transport.name}: ${e.message}`);
    }
  }

  /**
   * Interrupts whatever runs and clears the input line (a half-sent line of a flash cut
   * off would swallow the next one), so the next line starts clean. The "x" keeps the line
   * from being empty: Espruino's Linux build exits on two Ctrl-Cs on an empty line.
   */
  async interrupt() {
    await this.send('x');
    await delay(100);
    await this.send('\x03');
    await delay(200);
    await this.send('\x10\n');
    await delay(100);
    this.received = '';
  }

  /**
   * Brings the REPL to a clean line that answers: interrupts, then asks for an answer,
   * again until `timeoutMs` (the board may be booting, or busy with a reset).
   */
  async sync(timeoutMs = 8000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await this.interrupt();
      try {
        await this.call('return 1', { timeoutMs: 1000 });
        return;
      } catch (e) {
        if (this.closedWhy || Date.now() > end) throw e;
      }
    }
  }

  /**
   * Runs `body` (a function body: `return` gives the answer) on the board and resolves
   * with what it returned, as a string. An exception there rejects with its message.
   */
  call(body, { timeoutMs = this.timeoutMs, what = 'the board' } = {}) {
    const id = ++this.seq;
    // The marker is put together on the board, so an echo of the line never matches.
    const line = `\x10(function(){var m="<<"+"ms:${id}:";try{print(m+"ok:"+(function(){${body}})()+"${MARK_CLOSE}")}` +
      `catch(e){print(m+"err:"+e+"${MARK_CLOSE}")}})()\n`;
    return new Promise((resolve, reject) => {
      const open = `${MARK_OPEN}${id}:`;
      const finish = (fn, value) => {
        clearTimeout(timer);
        this.waiter = null;
        fn(value);
      };
      const timer = setTimeout(() => finish(reject, new BoardError(
        `no answer from ${what} within ${timeoutMs / 1000} s on ${this.transport.name}` +
        (this.received.trim() ? ` (it printed: ${lastLines(this.received)})`
          : this.answers ? ' (it answered before: did it hang, reset or lose power?)' : ' (is it an Espruino board, the port and baud rate right?)'))), timeoutMs);
      this.waiter = {
        check: () => {
          const start = this.received.indexOf(open);
          const end = start < 0 ? -1 : this.received.indexOf(MARK_CLOSE, start);
          if (end >= 0) {
            const answer = this.received.slice(start + open.length, end);
            this.received = this.received.slice(end + MARK_CLOSE.length);
            this.answers++;
            if (answer.startsWith('ok:')) return finish(resolve, answer.slice(3));
            return finish(reject, new BoardError(`${what} reported: ${answer.slice(4)}`));
          }
          if (OUT_OF_MEMORY.test(this.received)) {
            return finish(reject, new BoardError(`${what} ran out of memory (its JsVars) while doing this: ${lastLines(this.received)}`));
          }
          if (this.closedWhy) return finish(reject, new BoardError(`${this.closedWhy} while waiting for ${what}`));
        },
      };
      this.send(line).then(() => this.waiter && this.waiter.check(), (e) => finish(reject, e));
    });
  }

  /** Facts about the board: firmware, board name, heap, Storage space. */
  async probe() {
    const json = await this.call(
      'var m=process.memory(),S=require("Storage"),st=S.getStats?S.getStats():null;' +
      'return JSON.stringify({version:process.env.VERSION,board:process.env.BOARD,free:m.free,total:m.total,blockSize:m.blocksize,' +
      'storageFree:st?st.freeBytes:S.getFree(),trash:st?st.trashBytes:0,crc:typeof E.CRC32})',
      { what: 'the board' });
    return JSON.parse(json);
  }

  /** { size, crc } of a Storage file, or null when there is none. */
  async fileInfo(name) {
    const answer = await this.call(`var d=require("Storage").read(${JSON.stringify(name)});return d===undefined?"none":d.length+","+E.CRC32(d)`,
      { what: `the check of "${name}"`, timeoutMs: Math.max(this.timeoutMs, 30000) });
    if (answer === 'none') return null;
    const [size, crc] = answer.split(',').map(Number);
    return { size, crc: crc >>> 0 };
  }

  /**
   * Writes `bytes` to the Storage file `name` in pieces of `pieceSize`, each acknowledged,
   * then checks the stored size and CRC-32. `progress(done)` follows the bytes.
   */
  async writeFile(name, bytes, { pieceSize, progress = () => {} }) {
    if (!bytes.length) throw new BoardError(`"${name}" is empty: Storage cannot hold an empty file`);
    const quoted = JSON.stringify(name);
    for (let offset = 0; offset < bytes.length; offset += pieceSize) {
      const piece = bytes.subarray(offset, offset + pieceSize);
      const done = offset + piece.length;
      await this.call(`require("Storage").write(${quoted},atob("${piece.toString('base64')}"),${offset},${bytes.length});return ${done}`,
        { what: `the write of "${name}" at byte ${offset}` });
      progress(done);
    }
    await this.verifyFile(name, bytes);
  }

  /** Fails unless the board's `name` holds exactly `bytes`. */
  async verifyFile(name, bytes) {
    const stored = await this.fileInfo(name);
    if (!stored) throw new BoardError(`"${name}" is not in the board's Storage after it was written`);
    const crc = checksum(bytes);
    if (stored.size !== bytes.length || stored.crc !== crc) {
      throw new BoardError(`checksum mismatch for "${name}": the board holds ${stored.size} bytes with CRC-32 ${hex(stored.crc)}, ` +
        `sent were ${bytes.length} bytes with CRC-32 ${hex(crc)} (a noisy line? try a lower --baud)`);
    }
  }

  /** Every Storage file with its size: [{ name, size }]. */
  async listFiles() {
    const json = await this.call('var S=require("Storage");return JSON.stringify(S.list().map(function(n){return [n,S.read(n).length]}))',
      { what: 'the Storage listing', timeoutMs: Math.max(this.timeoutMs, 30000) });
    return JSON.parse(json).map(([name, size]) => ({ name, size }));
  }

  /** Waits `ms`, or until the board prints something matching `pattern`; resolves with the text seen. */
  async watch(ms, pattern = null) {
    const end = Date.now() + ms;
    while (Date.now() < end && !(pattern && pattern.test(this.received)) && !this.closedWhy) await delay(50);
    const seen = this.received;
    this.received = '';
    return seen;
  }
}

export function hex(n) {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

function lastLines(text, n = 4) {
  return text.replace(/\r/g, '').trim().split('\n').slice(-n).join(' | ').slice(-400);
}

function delay(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
