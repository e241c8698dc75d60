// examples/files.ts in a real browser: Debian's Chromium, driven by playwright-core.
// Files dropped on the page's drop zone are uploaded (multipart, Basic auth) with
// the progress bar moving, then listed; what the server stored is byte for byte
// what was dropped. A wrong password shows the 401 and stores nothing.
//
// Without /usr/bin/chromium the suite is skipped (.ci/run installs it in CI).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { describeInChromium, openBrowserPage } from '../helpers/browser.mjs';
import { randomBytes } from '../helpers/random.mjs';

const WAIT_MS = 30000; // an upload of 120 KB through the real interpreter, on a shared machine

const TITLE = `examples/files.ts in Chromium: drag and drop upload (${lane()})`;

/** Drops `files` ([{ name, bytes: Buffer }]) on the element `selector`, as a user dragging them from the desktop would. */
async function dropFiles(page, selector, files) {
  const transfer = await page.evaluateHandle((list) => {
    const data = new DataTransfer();
    for (const file of list) data.items.add(new File([new Uint8Array(file.bytes)], file.name, { type: 'application/octet-stream' }));
    return data;
  }, files.map((file) => ({ name: file.name, bytes: [...file.bytes] })));
  await page.dispatchEvent(selector, 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: transfer });
}

describeInChromium(TITLE, { timeout: 120000 }, () => {
  let app;
  let browser;
  let page;
  let errors;

  before(async () => {
    app = await startApp('examples/files.ts', { board: 'linux' });
    ({ browser, page, errors } = await openBrowserPage());
    const response = await page.goto(app.url + '/', { waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(response.status(), 200);
    // Every value the progress bar takes (<progress>.value reflects its attribute).
    await page.evaluate(() => {
      window.progressSeen = [];
      new MutationObserver(() => window.progressSeen.push(Number(document.getElementById('progress').value)))
        .observe(document.getElementById('progress'), { attributes: true, attributeFilter: ['value'] });
    });
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  const statusText = () => page.textContent('#status');

  test('dropped files are uploaded with a moving progress bar, listed, and stored byte for byte', async () => {
    const files = [
      { name: 'dropped.bin', bytes: randomBytes(120 * 1024, 31) },
      { name: 'notes.txt', bytes: Buffer.from('dropped from the desktop\n') },
    ];
    await page.fill('#password', 'change-me');
    // Uploads at 64 KB/s, as over a slow Wi-Fi: on localhost the whole body would be sent before the first progress event.
    const devtools = await page.context().newCDPSession(page);
    await devtools.send('Network.enable');
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 64 * 1024 });
    await dropFiles(page, '#drop', files);
    await page.waitForFunction(() => document.getElementById('status').textContent.indexOf('Stored') === 0, null, { timeout: WAIT_MS })
      .catch(async (e) => { throw new Error(`the page shows ${JSON.stringify(await statusText())}; errors ${JSON.stringify(errors)}\n${app.output()}`, { cause: e }); });
    assert.equal(await statusText(), 'Stored dropped.bin (122880 bytes), notes.txt (25 bytes)');
    const seen = await page.evaluate(() => window.progressSeen);
    assert.equal(seen[seen.length - 1], 100, `progress values: ${seen}`);
    assert.ok(seen.some((value) => value > 0 && value < 100), `the bar moved through values between 0 and 100: ${seen}`);
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.waitForSelector('#files li >> text=dropped.bin (122880 bytes)', { timeout: WAIT_MS });
    for (const file of files) {
      const back = Buffer.from(await (await fetch(`${app.url}/files/${file.name}`)).arrayBuffer());
      assert.ok(back.equals(file.bytes), `${file.name} downloads as it was dropped`);
    }
  });

  test('a wrong password shows the 401 and stores nothing', async () => {
    const before = await (await fetch(app.url + '/files')).json();
    await page.fill('#password', 'wrong');
    await dropFiles(page, '#drop', [{ name: 'intruder.bin', bytes: randomBytes(2000, 32) }]);
    await page.waitForFunction(() => document.getElementById('status').textContent.indexOf('Failed') === 0, null, { timeout: WAIT_MS });
    assert.match(await statusText(), /^Failed: 401/);
    assert.deepEqual(await (await fetch(app.url + '/files')).json(), before);
  });

  test('the delete button removes a file from the list and from Storage', async () => {
    await page.fill('#password', 'change-me');
    await page.click('#files li:has-text("notes.txt") button');
    await page.waitForFunction(() => !document.getElementById('files').textContent.includes('notes.txt'), null, { timeout: WAIT_MS });
    assert.equal((await fetch(app.url + '/files/notes.txt')).status, 404);
  });

  test('the page logged no console errors other than the refused upload', () => {
    const unexpected = errors.filter((e) => !/401/.test(e));
    assert.deepEqual(unexpected, [], `the page logged errors:\n${unexpected.join('\n')}`);
  });
});
