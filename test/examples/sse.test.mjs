// The SSE examples as a browser uses them: the page, an EventSource, the REST
// API and the WebSocket echo of the dashboard.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

/**
 * An EventSource that records every event of the given types (data parsed as JSON).
 * waitFor(predicate, from) resolves with the first recorded event at index >= from
 * that matches; mark() is the index the next event will get.
 */
function record(url, types) {
  const source = new EventSource(url);
  const events = [];
  const watchers = new Set();
  const opened = new Promise((resolve, reject) => {
    source.onopen = resolve;
    source.onerror = (e) => reject(new Error('EventSource failed: ' + (e.message || e.code)));
  });
  for (const type of types) {
    source.addEventListener(type, (e) => {
      events.push({ type, data: JSON.parse(e.data), at: Date.now() });
      for (const watcher of [...watchers]) watcher();
    });
  }
  function waitFor(predicate, from = 0, what = 'an event', ms = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < events.length; i++) {
          if (predicate(events[i])) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve(events[i]);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        watchers.delete(check);
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(from))}`));
      }, ms);
      watchers.add(check);
      check();
    });
  }
  return { source, events, opened, waitFor, mark: () => events.length, close: () => source.close() };
}

async function until(check, what, ms = 3000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function getJson(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return res.json();
}

function post(url, body) {
  const init = { method: 'POST' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  return fetch(url, init);
}

/** Fetches a page and checks it is UTF-8 HTML whose Content-Length is its byte length. */
async function page(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(Number(res.headers.get('content-length')), bytes.length);
  return { bytes, text: bytes.toString('utf8') };
}

const near = (a, b) => Math.abs(a - b) < 0.005;

describe(`examples/sse_simple.ts (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('examples/sse_simple.ts', { board: 'linux' }); });
  after(() => app.stop());

  test('GET / serves the page as UTF-8 HTML: the °C arrives as C2 B0', async () => {
    const { bytes, text } = await page(app.url + '/');
    assert.ok(bytes.includes(Buffer.from([0xc2, 0xb0, 0x43])), 'the UTF-8 bytes of °C');
    assert.match(text, /<strong id="temp">--<\/strong>°C/);
    assert.match(text, /new EventSource\('\/events'\)/);
  });

  test('GET /events: a reading at once, then one every 2 seconds', async () => {
    const started = Date.now() / 1000;
    const events = record(app.url + '/events', ['message']);
    try {
      await events.opened;
      const first = await events.waitFor(() => true, 0, 'the first reading', 2000);
      const { temperature, humidity, timestamp } = first.data;
      assert.deepEqual(Object.keys(first.data).sort(), ['humidity', 'temperature', 'timestamp']);
      assert.ok(Number.isInteger(temperature) && temperature >= 20 && temperature <= 30, `temperature ${temperature}`);
      assert.ok(Number.isInteger(humidity) && humidity >= 50 && humidity <= 80, `humidity ${humidity}`);
      assert.ok(Number.isInteger(timestamp) && Math.abs(timestamp - started) < 60, `timestamp ${timestamp}`);
      const second = await events.waitFor(() => true, 1, 'the second reading', 4000);
      const gap = second.at - first.at;
      assert.ok(gap > 1700 && gap < 3500, `${gap} ms between readings`);
    } finally {
      events.close();
    }
  });
});

describe(`examples/sse_dashboard.ts (${lane()})`, () => {
  let app;
  let events;
  before(async () => { app = await startApp('examples/sse_dashboard.ts', { board: 'linux' }); });
  after(async () => {
    if (events) events.close();
    await app.stop();
  });

  test('GET / serves the dashboard: UTF-8 HTML with the ids the page is driven by, nothing external', async () => {
    const { bytes, text } = await page(app.url + '/');
    assert.ok(bytes.includes(Buffer.from('€', 'utf8')));
    for (const id of ['sse-status', 'total-sales', 'revenue', 'products', 'alerts', 'ws-input', 'ws-send', 'ws-reply']) {
      assert.match(text, new RegExp(`id="${id}"`), `#${id}`);
    }
    assert.match(text, /new EventSource\('\/events'\)/);
    assert.match(text, /new WebSocket\('ws:\/\/' \+ location\.host \+ '\/ws\/echo'\)/);
    assert.doesNotMatch(text, /(src|href)=["']?(https?:)?\/\//, 'no external resources');
    assert.ok(bytes.length < 12000, `page is ${bytes.length} bytes`);
  });

  test('the event stream starts with the stock table; the simulator sells; it can be paused', async () => {
    events = record(app.url + '/events', ['stock', 'sale', 'alert']);
    await events.opened;
    const snapshot = (await events.waitFor((e) => e.type === 'stock', 0, 'the stock table', 2000)).data;
    assert.equal(snapshot.products.length, 6);
    assert.deepEqual(Object.keys(snapshot.products[0]).sort(), ['capacity', 'id', 'name', 'price', 'sold', 'stock']);
    assert.equal(snapshot.low, 3);
    assert.equal(snapshot.simulator, true);
    // A sale every 1-3 s.
    const sale = (await events.waitFor((e) => e.type === 'sale', 0, 'a simulated sale', 4000)).data;
    assert.ok(snapshot.products.some((p) => p.id === sale.product && p.name === sale.name && p.price === sale.price));
    assert.ok(sale.total >= 1 && sale.revenue > 0 && sale.stock >= 0);

    assert.equal((await post(app.url + '/api/simulator', { running: 'no' })).status, 400);
    assert.deepEqual(await (await post(app.url + '/api/simulator', { running: false })).json(), { simulator: false });
    const status = await getJson(app.url + '/api/status');
    assert.equal(status.simulator, false);
    await new Promise((r) => setTimeout(r, 3200)); // longer than the simulator's longest pause
    assert.equal((await getJson(app.url + '/api/status')).totalSales, status.totalSales, 'no sale while paused');
  });

  test('GET /api/status and /api/products', async () => {
    const status = await getJson(app.url + '/api/status');
    const products = await getJson(app.url + '/api/products');
    assert.equal(products.length, 6);
    assert.equal(status.products, 6);
    assert.equal(status.unitsInStock, products.reduce((n, p) => n + p.stock, 0));
    assert.equal(status.totalSales, products.reduce((n, p) => n + p.sold, 0));
    assert.ok(near(status.revenue, products.reduce((n, p) => n + p.sold * p.price, 0)));
    assert.deepEqual(status.lowStock, products.filter((p) => p.stock <= 3).map((p) => p.id));
    assert.equal(status.clients, 1);
    assert.ok(Number.isInteger(status.uptime) && status.uptime >= 0);
  });

  test('POST /api/restock/<id>: capped at the capacity, pushes the stock table; bad input 400, unknown 404', async () => {
    const from = events.mark();
    const res = await post(app.url + '/api/restock/water', { quantity: 1000 });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.product, 'water');
    assert.equal(body.stock, 10);
    const update = await events.waitFor((e) => e.type === 'stock', from, 'the stock update');
    assert.equal(update.data.products.find((p) => p.id === 'water').stock, 10);

    const small = await (await post(app.url + '/api/restock/cola', { quantity: 1 })).json();
    assert.ok(small.added <= 1 && small.stock <= 10);

    for (const bad of [{ quantity: 0 }, { quantity: -2 }, { quantity: 2.5 }, { quantity: '5' }, { quantity: 1001 }, {}, [], 'not json', undefined]) {
      const r = await post(app.url + '/api/restock/water', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.deepEqual(await r.json(), { error: 'quantity must be a whole number from 1 to 1000', code: 400 });
    }
    const unknown = await post(app.url + '/api/restock/beer', { quantity: 1 });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { error: 'Unknown product', code: 404 });
  });

  test('POST /api/sell/<id>: "sale" events, "alert"s from 3 left down to sold out, then 409', async () => {
    const second = record(app.url + '/events', ['alert']);
    try {
      await second.opened;
      const base = await getJson(app.url + '/api/status');
      const from = events.mark();
      for (let i = 1; i <= 10; i++) {
        const res = await post(app.url + '/api/sell/water');
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.stock, 10 - i);
        assert.equal(body.totalSales, base.totalSales + i);
        assert.ok(near(body.revenue, base.revenue + i), `revenue ${body.revenue}`);
      }
      const first = await events.waitFor((e) => e.type === 'sale' && e.data.total === base.totalSales + 1, from, 'the first sale');
      assert.equal(first.data.product, 'water');
      assert.equal(first.data.name, 'Water');
      assert.equal(first.data.price, 1);
      assert.equal(first.data.stock, 9);
      await events.waitFor((e) => e.type === 'sale' && e.data.stock === 0, from, 'the last sale');
      await events.waitFor((e) => e.type === 'alert' && e.data.level === 'out', from, 'the sold-out alert');
      const alerts = events.events.slice(from).filter((e) => e.type === 'alert').map((e) => e.data);
      assert.deepEqual(alerts.map((a) => [a.stock, a.level]), [[3, 'low'], [2, 'low'], [1, 'low'], [0, 'out']]);
      assert.equal(alerts[0].message, 'Water: only 3 left');
      assert.equal(alerts[3].message, 'Water is sold out');
      // Broadcast: the second client got the alerts too.
      await second.waitFor((e) => e.data.level === 'out', 0, 'the sold-out alert on the second client');

      const soldOut = await post(app.url + '/api/sell/water');
      assert.equal(soldOut.status, 409);
      assert.deepEqual(await soldOut.json(), { error: 'Water is sold out', code: 409 });
      assert.equal((await post(app.url + '/api/sell/beer')).status, 404);
      const status = await getJson(app.url + '/api/status');
      assert.equal(status.totalSales, base.totalSales + 10);
      assert.ok(status.lowStock.includes('water'));
      assert.equal(status.clients, 2);
    } finally {
      second.close();
    }
    // The hub forgets a client that leaves.
    await until(async () => (await getJson(app.url + '/api/status')).clients === 1, 'the hub to forget the second client');
  });

  test('WS /ws/echo answers "Echo: " + the message', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws/echo`);
    try {
      await once(ws, 'open');
      for (const text of ['hello', 'café ☕']) {
        ws.send(text);
        const [data, isBinary] = await once(ws, 'message');
        assert.equal(isBinary, false);
        assert.equal(data.toString('utf8'), 'Echo: ' + text);
      }
      ws.close(1000);
      const [code] = await once(ws, 'close');
      assert.equal(code, 1000);
    } finally {
      ws.terminate();
    }
  });
});
