// The Wi-Fi set-up portal's routes and the captive DNS responder, end to end
// (test/fixtures/wifi-portal.ts): over HTTP, and DNS over real UDP, in the
// emulation and on the real interpreter (which has dgram but no Wifi module,
// so the fixture's scan stands in for Wifi.scan).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { dnsQuery, firstReply, resolverFor } from './dns.mjs';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

// Both string modes: SSIDs are bytes on a device, and Unicode text on the Linux build.
for (const mode of ['esp32', 'linux']) describe(`Wi-Fi set-up portal and captive DNS (${lane()}, ${mode})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/wifi-portal.ts', { mode }); });
  after(() => app.stop());

  const post = (body) => fetch(app.url + '/wifi', { method: 'POST', headers: FORM, body });

  test('the page lists the scan strongest first, each SSID once, hidden ones left out, every SSID escaped', async () => {
    const res = await fetch(app.url + '/wifi');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await res.text();
    const options = [...html.matchAll(/<option value="([^"]*)">([^<]*)<\/option>/g)].map((m) => m[1]);
    assert.deepEqual(options, ['Café ☕', '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;', 'Weak']);
    assert.doesNotMatch(html, /<script/);
    assert.match(html, /<form method="post" action="\/wifi">/);
    assert.match(html, /<input name="password" type="password"/);
  });

  test("the operating systems' connectivity probes, and / (the app has none), redirect to the page", async () => {
    for (const path of ['/generate_204', '/gen_204', '/hotspot-detect.html', '/connecttest.txt', '/ncsi.txt', '/']) {
      const res = await fetch(app.url + path, { redirect: 'manual', headers: { host: 'connectivitycheck.gstatic.com' } });
      assert.equal(res.status, 302, path);
      assert.equal(res.headers.get('location'), 'http://192.168.4.1/wifi', path);
    }
    assert.equal(await (await fetch(app.url + '/api')).text(), 'the app');
  });

  test('a submitted network (UTF-8 name, percent-encoded) is handed over; a hidden network typed in wins', async () => {
    const res = await post('ssid=' + encodeURIComponent('Café ☕') + '&other=&password=secret+123');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<h1>Wi-Fi set-up<\/h1>/);
    let seen = await (await fetch(app.url + '/submitted')).json();
    assert.deepEqual(seen.submitted, { ssid: 'Café ☕', password: 'secret 123' });
    assert.equal((await post('ssid=Weak&other=Hidden%20one&password=')).status, 200);
    seen = await (await fetch(app.url + '/submitted')).json();
    assert.deepEqual(seen.submitted, { ssid: 'Hidden one', password: '' });
    assert.ok(seen.visits >= 3, 'page views and submissions are reported');
  });

  test('a bad form gets the page again with a 400 and is not handed over', async () => {
    const before = (await (await fetch(app.url + '/submitted')).json()).submitted;
    for (const body of ['ssid=&password=secret123', 'ssid=Home&password=short', `ssid=${'x'.repeat(33)}&password=secret123`,
      `ssid=Home&password=${'p'.repeat(65)}`, 'ssid=%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4%E0%A4%A4']) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      assert.match(await res.text(), /<strong>A (network name|Wi-Fi password) has/, body);
    }
    assert.deepEqual((await (await fetch(app.url + '/submitted')).json()).submitted, before);
  });

  test('the DNS responder answers any name with the board address, as a real resolver reads it', async () => {
    const resolver = resolverFor(app.port);
    assert.deepEqual(await resolver.resolve4('captive.apple.com', { ttl: true }), [{ address: '10.1.2.3', ttl: 60 }]);
    assert.deepEqual(await resolver.resolve4('a.very.long.name.that.does-not-exist.example'), ['10.1.2.3']);
    // AAAA: no answer (NODATA), so the client falls back to the A record.
    await assert.rejects(resolver.resolve6('connectivitycheck.gstatic.com'), { code: 'ENODATA' });
  });

  test('the reply echoes the id and the question, with QR, AA and RD set', async () => {
    const query = dnsQuery(0xbeef, 'www.msftconnecttest.com');
    const reply = await firstReply(app.port, [query]);
    assert.equal(reply.readUInt16BE(0), 0xbeef);
    assert.equal(reply.readUInt16BE(2), 0x8500);
    assert.deepEqual([reply.readUInt16BE(4), reply.readUInt16BE(6), reply.readUInt16BE(8), reply.readUInt16BE(10)], [1, 1, 0, 0]);
    const question = query.subarray(12);
    assert.deepEqual(reply.subarray(12, 12 + question.length), question);
    const answer = reply.subarray(12 + question.length);
    const name = question.subarray(0, question.length - 4);
    assert.deepEqual(answer.subarray(0, name.length), name);
    assert.deepEqual([...answer.subarray(name.length)], [0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
  });

  test('malformed packets and responses get no reply, and the responder keeps answering', async () => {
    const valid = dnsQuery(0x1234, 'example.com');
    const response = Buffer.from(valid);
    response[2] |= 0x80; // QR: a response, never answered (no loops between two responders)
    const notQuery = Buffer.from(valid);
    notQuery[2] |= 0x10; // opcode 2 (STATUS)
    const noQuestion = Buffer.from(valid);
    noQuestion[5] = 0;
    const pointer = Buffer.concat([valid.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    const longLabel = Buffer.concat([valid.subarray(0, 12), Buffer.from([64]), Buffer.alloc(64, 97), Buffer.from([0, 0, 1, 0, 1])]);
    const cutShort = valid.subarray(0, valid.length - 2);
    const unterminated = Buffer.concat([valid.subarray(0, 12), Buffer.from([5, 97, 98])]);
    const tooLong = Buffer.concat([valid.subarray(0, 12), ...Array(5).fill(Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 98)])), Buffer.from([0, 0, 1, 0, 1])]);
    const garbage = [Buffer.from([1, 2, 3]), Buffer.alloc(16, 0xff), Buffer.alloc(40, 0)];
    const reply = await firstReply(app.port, [response, notQuery, noQuestion, pointer, longLabel, cutShort, unterminated, tooLong, ...garbage, valid]);
    assert.equal(reply.readUInt16BE(0), 0x1234, 'the first reply answers the valid query, sent last');
    assert.equal(reply.readUInt16BE(6), 1);
  });

  test('an empty datagram, which closes an Espruino UDP socket, does not stop the responder', async () => {
    await firstReply(app.port, [Buffer.alloc(0)], 300).catch(() => {});
    // The query may be lost while the responder reopens its socket: ask again, as resolvers do.
    let reply;
    for (let tries = 0; !reply && tries < 10; tries++) reply = await firstReply(app.port, [dnsQuery(0x4321, 'example.com')], 500).catch(() => null);
    assert.ok(reply, 'answered after the empty datagram');
    assert.equal(reply.readUInt16BE(0), 0x4321);
  });

  test('close() removes the routes and stops the DNS responder', async () => {
    assert.equal(await (await fetch(app.url + '/close', { method: 'POST' })).text(), 'closed');
    assert.equal((await fetch(app.url + '/wifi')).status, 404);
    assert.equal((await fetch(app.url + '/generate_204', { redirect: 'manual' })).status, 404);
    await assert.rejects(firstReply(app.port, [dnsQuery(7, 'example.com')], 1000), /no DNS reply/);
    assert.equal(await (await fetch(app.url + '/api')).text(), 'the app');
  });
});
