// Unit tests of the time helpers (src/platform/clock.ts), run as the real ES5
// library build inside the Espruino emulation, in both modes.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadEmulated, prng } from './library.mjs';


// ---------------------------------------------------------------------------
// Loading the build output


const CODE = await buildFixture('clock');

/** RFC 9110 §5.6.7 IMF-fixdate, as Node writes it. */
const expected = (second) => new Date(second * 1000).toUTCString();
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;

for (const mode of ['esp32', 'linux']) {
  describe(`clock (${mode})`, () => {
    const { emu, exports: C, lines } = loadEmulated(CODE, mode, 'clock');

    /** Makes getTime() return `seconds` until restored. */
    function setClock(t, seconds) {
      const saved = emu.context.getTime;
      emu.context.getTime = () => seconds;
      t.after(() => { emu.context.getTime = saved; });
      return (s) => { seconds = s; };
    }

    describe('imfFixdate', () => {
      test('known dates', () => {
        assert.equal(C.imfFixdate(0), 'Thu, 01 Jan 1970 00:00:00 GMT');
        assert.equal(C.imfFixdate(784111777), 'Sun, 06 Nov 1994 08:49:37 GMT'); // the RFC's example
        assert.equal(C.imfFixdate(951782400), 'Tue, 29 Feb 2000 00:00:00 GMT');
        assert.equal(C.imfFixdate(1700000000), 'Tue, 14 Nov 2023 22:13:20 GMT');
        assert.equal(C.imfFixdate(2147483647), 'Tue, 19 Jan 2038 03:14:07 GMT');
        assert.equal(C.imfFixdate(2147483648), 'Tue, 19 Jan 2038 03:14:08 GMT');
        assert.equal(C.imfFixdate(4102444799), 'Thu, 31 Dec 2099 23:59:59 GMT');
        assert.equal(C.imfFixdate(4102444800), 'Fri, 01 Jan 2100 00:00:00 GMT');
        assert.equal(C.imfFixdate(4107542400), 'Mon, 01 Mar 2100 00:00:00 GMT'); // 2100 is not a leap year
      });

      test('every day of the week and every month, zero-padded day and time', () => {
        const start = Date.UTC(2024, 0, 1) / 1000; // Mon
        for (let day = 0; day < 366 + 365; day++) {
          const second = start + day * 86400 + (day % 24) * 3600 + (day % 60) * 61;
          assert.equal(C.imfFixdate(second), expected(second), String(second));
        }
      });

      test('matches Date#toUTCString for 2000 random seconds from 1970 to 2100', () => {
        const random = prng(42);
        for (let i = 0; i < 2000; i++) {
          const second = Math.floor(random() * 4102444800);
          const got = C.imfFixdate(second);
          assert.match(got, IMF_FIXDATE);
          assert.equal(got, expected(second), String(second));
        }
      });

      test('around midnight and month ends', () => {
        for (const iso of ['1999-12-31T23:59:59Z', '2000-01-01T00:00:00Z', '2024-02-28T23:59:59Z', '2024-02-29T00:00:00Z',
          '2024-02-29T23:59:59Z', '2024-03-01T00:00:00Z', '2023-02-28T23:59:59Z', '2023-03-01T00:00:00Z']) {
          const second = Date.parse(iso) / 1000;
          assert.equal(C.imfFixdate(second), expected(second), iso);
        }
      });
    });

    describe('httpDate', () => {
      test('the current time as an IMF-fixdate, recomputed when the second changes', (t) => {
        const set = setClock(t, 1700000000.25);
        assert.equal(C.httpDate(), 'Tue, 14 Nov 2023 22:13:20 GMT');
        set(1700000000.99);
        assert.equal(C.httpDate(), 'Tue, 14 Nov 2023 22:13:20 GMT');
        set(1700000001.01);
        assert.equal(C.httpDate(), 'Tue, 14 Nov 2023 22:13:21 GMT');
        set(784111777);
        assert.equal(C.httpDate(), 'Sun, 06 Nov 1994 08:49:37 GMT');
      });
    });

    describe('now, logTimestamp, timers', () => {
      test('now() is getTime() in milliseconds', (t) => {
        setClock(t, 1234.5);
        assert.equal(C.now(), 1234500);
      });

      test('logTimestamp() is "YYYY-MM-DD HH:MM:SS" in UTC', (t) => {
        setClock(t, 1705314645.9);
        assert.equal(C.logTimestamp(), '2024-01-15 10:30:45');
      });

      test('stopTimer() is safe without a timer and clears one that runs', async () => {
        assert.equal(C.stopTimer(undefined), undefined);
        let fired = false;
        const timer = C.startTimer(() => { fired = true; }, 5);
        assert.equal(C.stopTimer(timer), undefined);
        await new Promise((resolve) => setTimeout(resolve, 30));
        assert.equal(fired, false);
        let firedToo = false;
        C.startTimer(() => { firedToo = true; }, 1);
        await new Promise((resolve) => setTimeout(resolve, 30));
        assert.equal(firedToo, true);
        assert.deepEqual(lines, [], 'nothing was reported as uncaught');
      });
    });
  });
}
