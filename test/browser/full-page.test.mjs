// examples/full.ts's page (examples/www, from Storage) in Chromium: status over
// fetch, the LED switched by a POST, an echo over the WebSocket, no errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { describeInChromium, openBrowserPage } from '../helpers/browser.mjs';

const TITLE = `examples/full.ts's page in Chromium (${lane()})`;
const WAIT_MS = 8000;

describeInChromium(TITLE, { timeout: 30000 }, () => {
  let app;
  let browser;
  let page;
  let errors;

  const waitForText = (selector, text) => page.waitForFunction(({ selector, text }) => {
    const el = document.querySelector(selector);
    return !!el && el.textContent.trim() === text;
  }, { selector, text }, { timeout: WAIT_MS, polling: 50 });

  before(async () => {
    app = await startApp('examples/full.ts', { board: 'linux', fromStorage: true });
    ({ browser, page, errors } = await openBrowserPage({ width: 800, height: 600 }));
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  test('the page shows the free memory, switches the LED and echoes over its WebSocket', async () => {
    const response = await page.goto(app.url + '/static/', { waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(response.status(), 200);
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('#memory').textContent.trim()), null, { timeout: WAIT_MS });
    await page.click('#led-on');
    await waitForText('#led', 'on');
    await page.click('#led-off');
    await waitForText('#led', 'off');
    await waitForText('#log li:first-child', 'Welcome!');
    await page.fill('#message', 'ça va, board?');
    await page.click('#echo button');
    await waitForText('#log li:nth-child(2)', 'Echo: ça va, board?');
    assert.deepEqual(errors, [], `the page logged errors:\n${errors.join('\n')}`);
  });
});
