// The Wi-Fi bootstrap (test/fixtures/wifi-bootstrap.ts) against the
// emulation's scripted ESP32 Wifi module: joining, retries with back-off, a
// drop and rejoining, the set-up portal saving a network. Emulation lane only:
// Espruino's Linux build has no Wifi module (test/wifi/portal.test.mjs runs
// the portal and the DNS responder on the real interpreter too).
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../build.mjs';
import { createEspruino } from '../emulation/espruino.mjs';
import { freePort } from '../helpers/ports.mjs';
import { dnsQuery, firstReply, resolverFor } from './dns.mjs';

const FIXTURE = fileURLToPath(new URL('../fixtures/wifi-bootstrap.ts', import.meta.url));
const HOME = { ssid: 'Home', password: 'secret123' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const LISTENING = /MicroServer listening on/;

describe('Wi-Fi bootstrap (emulation: the Linux build has no Wifi module)', () => {
  let board;
  afterEach(() => board.emu.stop());

  /** Builds the fixture for a port of its own and runs it on an emulated ESP32 whose Wifi module follows `wifi`. */
  async function boot(wifi) {
    const port = await freePort();
    const { code } = await buildBundle(FIXTURE, { port, write: false, countMethodDepth: true });
    const lines = [];
    const waiters = new Set();
    const emu = createEspruino({
      mode: 'esp32',
      wifi,
      stdout: (line) => {
        lines.push(line);
        for (const waiter of [...waiters]) waiter();
      },
    });
    /** Resolves with the output once `count` lines match `regex`. */
    const waitFor = (regex, count = 1, ms = 5000) => new Promise((resolve, reject) => {
      const check = () => {
        if (lines.filter((line) => regex.test(line)).length < count) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(lines);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${count} × ${regex}; output:\n${lines.join('\n')}`));
      }, ms);
      waiters.add(check);
      check();
    });
    /** Once the app's server has started and accepts connections. */
    const listening = () => waitFor(LISTENING).then(() => emu.serversBound());
    const url = `http://127.0.0.1:${port}`;
    emu.run(code, 'wifi-bootstrap.js');
    board = {
      emu, wifi: emu.wifi, lines, waitFor, listening, port, url,
      /** Index of the first output line matching regex. */
      at: (regex) => lines.findIndex((line) => regex.test(line)),
      status: async () => (await fetch(url + '/status')).json(),
    };
    return board;
  }

  test('joins the saved network, logs its address, then starts the app', async () => {
    const { wifi, waitFor, listening, at, url, status } = await boot({ networks: [HOME], saved: HOME });
    await listening();
    await waitFor(/^online at 192\.168\.1\.50$/);
    assert.ok(at(/\| IP: 192\.168\.1\.50$/) >= 0 && at(/\| IP: 192\.168\.1\.50$/) < at(LISTENING), 'the IP is printed before the server starts');
    assert.equal(await (await fetch(url + '/')).text(), 'the app');
    assert.deepEqual(await status(), { state: 'online', ssid: 'Home', ip: '192.168.1.50', error: '', failures: 0 });
    assert.equal(wifi.hostname, 'board');
    assert.equal(wifi.ap, null);
    assert.deepEqual(wifi.attempts, [{ ...HOME, ok: true }]);
  });

  test('retries with a doubling back-off until it joins, and only then listens', async () => {
    const { wifi, listening, at, lines } = await boot({ networks: [HOME], saved: HOME, failConnects: 2 });
    await listening();
    const first = at(/could not join "Home" \(NO_AP_FOUND\), retrying in 0\.05 s/);
    const second = at(/could not join "Home" \(NO_AP_FOUND\), retrying in 0\.1 s/);
    const joined = at(/joined "Home"/);
    assert.ok(first >= 0 && second > first && joined > second && at(LISTENING) > joined, lines.join('\n'));
    assert.deepEqual(wifi.attempts.map((a) => a.ok), [false, false, true]);
    assert.equal(wifi.ap, null, 'no set-up access point for two failures');
  });

  test('an attempt that never calls back counts as failed after connectTimeout', async () => {
    const { wifi, listening, at, lines } = await boot({ networks: [HOME], saved: HOME, hangConnects: 1 });
    await listening();
    const gaveUp = at(/could not join "Home" \(no answer in 0\.3 s\), retrying in 0\.05 s/);
    assert.ok(gaveUp >= 0 && at(/joined "Home"/) > gaveUp, lines.join('\n'));
    assert.deepEqual(wifi.attempts.map((a) => a.ok), [undefined, true]);
  });

  test('after a drop it joins again (through a failure) while the app keeps its one server', async () => {
    const { wifi, waitFor, listening, url, status, lines } = await boot({ networks: [HOME], saved: HOME });
    await listening();
    wifi.failConnects = 1;
    assert.equal(wifi.drop(), true);
    await waitFor(/lost "Home" \(BEACON_TIMEOUT\), joining again in 0\.05 s/);
    await waitFor(/could not join "Home" \(NO_AP_FOUND\), retrying in 0\.05 s/);
    await waitFor(/joined "Home"/, 2);
    await waitFor(/^online at 192\.168\.1\.50$/, 2);
    assert.deepEqual(await status(), { state: 'online', ssid: 'Home', ip: '192.168.1.50', error: '', failures: 0 });
    assert.equal(await (await fetch(url + '/')).text(), 'the app');
    assert.equal(lines.filter((line) => LISTENING.test(line)).length, 1);
    assert.ok(!lines.some((line) => /Uncaught/.test(line)), lines.join('\n'));
    assert.deepEqual(wifi.attempts.map((a) => a.ok), [true, false, true]);
  });

  test('with no saved network: a set-up access point and page; a wrong password, then the right one, saved', async () => {
    const neighbour = { ssid: 'Neighbour', password: 'other-pass', rssi: -80 };
    const { wifi, waitFor, listening, port, url, status } = await boot({ networks: [{ ...HOME, rssi: -40 }, neighbour] });
    await waitFor(/Wi-Fi: no saved network/);
    await waitFor(/join the "MicroServer-setup" network and open http:\/\/192\.168\.4\.1\/wifi/);
    await listening();
    assert.deepEqual(wifi.ap, { ssid: 'MicroServer-setup', password: '', authMode: 'open' });
    assert.equal((await status()).state, 'portal');
    assert.deepEqual(await resolverFor(port).resolve4('connectivitycheck.gstatic.com'), ['192.168.4.1']);
    const probe = await fetch(url + '/hotspot-detect.html', { redirect: 'manual' });
    assert.equal(probe.headers.get('location'), 'http://192.168.4.1/wifi');
    assert.equal(await (await fetch(url + '/')).text(), 'the app', 'the app keeps its own /');

    const page = await (await fetch(url + '/wifi')).text();
    assert.deepEqual([...page.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]), ['Home', 'Neighbour']);
    const post = (body) => fetch(url + '/wifi', { method: 'POST', headers: FORM, body });

    assert.match(await (await post('ssid=Home&password=wrong-pass')).text(), /Joining "Home"/);
    await waitFor(/could not join "Home" \(AUTH_FAIL\)/);
    assert.deepEqual(await status(), { state: 'portal', ssid: 'Home', ip: '', error: 'AUTH_FAIL', failures: 1 });
    assert.match(await (await fetch(url + '/wifi')).text(), /Could not join "Home": AUTH_FAIL\./);
    assert.notEqual(wifi.ap, null, 'the access point stays up');
    assert.equal(wifi.saved, undefined);

    await post('ssid=Home&password=secret123');
    await waitFor(/saved "Home"/);
    assert.equal(wifi.ap, null, 'the access point stopped before saving');
    assert.equal(wifi.saved.ssid, 'Home');
    assert.equal(wifi.saved.password, 'secret123');
    assert.equal(wifi.saved.mode, 1, 'saved as a station only, so the access point stays off at boot');
    assert.equal(wifi.saved.hostname, 'board');
    assert.deepEqual(await status(), { state: 'online', ssid: 'Home', ip: '192.168.1.50', error: '', failures: 0 });
    assert.equal((await fetch(url + '/wifi')).status, 404);
    assert.equal((await fetch(url + '/generate_204', { redirect: 'manual' })).status, 404);
    await assert.rejects(firstReply(port, [dnsQuery(1, 'example.com')], 500), /no DNS reply/);
    assert.deepEqual(wifi.attempts.map((a) => [a.password, a.ok]), [['wrong-pass', false], ['secret123', true]]);
  });

  test('after portalAfter failures the portal opens, and the saved network is tried again once nobody uses the page', async () => {
    const { wifi, waitFor, listening, url } = await boot({ networks: [HOME], saved: HOME, failConnects: 3 });
    await waitFor(/could not join "Home" \(NO_AP_FOUND\) 3 times/);
    await waitFor(/join the "MicroServer-setup" network/);
    await listening();
    assert.notEqual(wifi.ap, null);
    // Someone on the page: no retry (joining would take the access point's radio), for 1.5 × portalRetry.
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      assert.equal((await fetch(url + '/wifi')).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(wifi.attempts.length, 3);
    await waitFor(/joined "Home"/);
    assert.equal(wifi.ap, null);
    assert.equal((await fetch(url + '/wifi')).status, 404);
    assert.ok(!board.lines.some((line) => /saved "/.test(line)), 'a network that was already saved is not saved again');
    assert.deepEqual(wifi.attempts.map((a) => a.ok), [false, false, false, true]);
  });
});
