// examples/sse_dashboard.ts in a real browser: Debian's Chromium, driven by playwright-core
// (which never downloads a browser of its own). The page must go live over Server-Sent
// Events, show a sale made through the REST API without being reloaded, echo text over its
// WebSocket panel, and log no errors. A full-page screenshot goes to test/artifacts/.
//
// Without /usr/bin/chromium the suite is skipped (.ci/run installs it in CI).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { describeInChromium, openBrowserPage } from '../helpers/browser.mjs';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const SCREENSHOT = ARTIFACTS + 'dashboard.png';

const WAIT_MS = 8000; // for each thing the page should show

const TITLE = `examples/sse_dashboard.ts in Chromium (${lane()})`;

describeInChromium(TITLE, { timeout: 30000 }, () => {
  let app;
  let browser;
  let page;
  let errors; // console errors and uncaught exceptions in the page

  /** The trimmed text of a page element. */
  const textOf = async (selector) => (await page.textContent(selector))?.trim() ?? '';

  /**
   * Waits until the element's trimmed text equals `expected.equals`, or differs from
   * `expected.differsFrom`; fails saying what it showed instead.
   */
  async function waitForText(selector, expected) {
    try {
      await page.waitForFunction(({ selector, expected }) => {
        const el = document.querySelector(selector);
        if (!el) return false;
        const text = el.textContent.trim();
        return 'equals' in expected ? text === expected.equals : text !== expected.differsFrom;
      }, { selector, expected }, { timeout: WAIT_MS, polling: 50 });
    } catch (e) {
      const shown = await page.textContent(selector, { timeout: 100 }).catch(() => '(no such element)');
      throw new Error(`${selector} never showed ${JSON.stringify(expected)} within ${WAIT_MS} ms; it shows ` +
        `${JSON.stringify(shown)}\npage errors so far: ${JSON.stringify(errors)}\nserver output:\n${app.output()}`, { cause: e });
    }
  }

  before(async () => {
    app = await startApp('examples/sse_dashboard.ts', { board: 'linux' });
    ({ browser, page, errors } = await openBrowserPage());
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  test('the page loads and its EventSource goes live', async () => {
    const response = await page.goto(app.url + '/', { waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(response.status(), 200);
    for (const id of ['#total-sales', '#revenue', '#products', '#alerts', '#sse-status', '#ws-input', '#ws-send', '#ws-reply']) {
      assert.equal(await page.locator(id).count(), 1, `the page has one ${id}`);
    }
    await waitForText('#sse-status', { equals: 'live' });
  });

  test('a sale made through the REST API reaches the page over SSE, without a reload', async () => {
    // The example's simulator sells something every 1-3 s; pause it, so that the page
    // must end up showing exactly the totals our own sale reports.
    const paused = await fetch(app.url + '/api/simulator', { method: 'POST', body: JSON.stringify({ running: false }) });
    assert.deepEqual(await paused.json(), { simulator: false });
    await page.evaluate(() => { window.__notReloaded = true; });

    const products = await (await fetch(app.url + '/api/products')).json();
    assert.ok(Array.isArray(products) && products.length > 0, 'GET /api/products lists products');
    const product = products.reduce((a, b) => (b.stock > a.stock ? b : a)); // one surely in stock
    assert.ok(product.stock > 0, 'a product is in stock');
    const before = await textOf('#total-sales');

    const res = await fetch(`${app.url}/api/sell/${encodeURIComponent(product.id)}`, { method: 'POST' });
    const sale = await res.json();
    assert.equal(res.status, 200, `POST /api/sell/${product.id}: ${JSON.stringify(sale)}`);
    assert.equal(sale.stock, product.stock - 1);
    assert.notEqual(String(sale.totalSales), before);

    await waitForText('#total-sales', { equals: String(sale.totalSales) });
    await waitForText('#revenue', { equals: sale.revenue.toFixed(2) });
    await waitForText(`#p-${product.id} .stock`, { equals: String(sale.stock) });
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
  });

  test('the WebSocket panel echoes what is typed', async () => {
    const message = 'hello from Chromium ' + Date.now();
    await page.fill('#ws-input', message);
    await page.click('#ws-send');
    await waitForText('#ws-reply', { equals: 'Echo: ' + message });
  });

  test('a full-page screenshot is saved to test/artifacts/dashboard.png', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(fs.statSync(SCREENSHOT).size > 1000);
  });

  test('the page logged no console errors and threw no exceptions', () => {
    // Chromium asks for /favicon.ico on its own and logs a 404 as a console error;
    // <link rel="icon" href="data:,"> in the page's <head> tells it there is none.
    const hint = errors.some((e) => e.includes('/favicon.ico'))
      ? '\n(for the /favicon.ico 404: add <link rel="icon" href="data:,"> to the page\'s <head>, or serve an icon)'
      : '';
    assert.deepEqual(errors, [], `the page logged errors:\n${errors.join('\n')}${hint}`);
  });
});
