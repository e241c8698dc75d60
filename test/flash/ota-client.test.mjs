// The --ota client (tools/flash/ota.mjs) against a board that refuses the upload at its
// headers and closes at once, as the OTA plug-in does for a wrong password: the refusal must
// reach the user as such, never as the EPIPE of an upload still being written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { flashOverTheAir, OtaError } from '../../tools/flash/ota.mjs';

/** A board's OTA routes in miniature: GET /ota answers a status; a POST is refused with 401 at its head, then the socket is destroyed. */
function refusingBoard() {
  const posts = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let post = null;
    socket.on('error', () => {});
    socket.on('data', (data) => {
      if (post) {
        post.bodyBytes += data.length;
        return;
      }
      buffer += data.toString('latin1');
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.slice(0, end);
      if (head.startsWith('GET ')) {
        const status = JSON.stringify({ state: 'flashed', app: { name: '.app0', size: 100 }, previous: null, lastFailure: null });
        socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${status.length}\r\nConnection: close\r\n\r\n${status}`);
        return;
      }
      post = { head, bodyBytes: buffer.length - end - 4 };
      posts.push(post);
      const refusal = '{"error":"Unauthorized"}';
      socket.write(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${refusal.length}\r\nConnection: close\r\n\r\n${refusal}`);
      // The rest of the body will not be read: the board closes, and unread bytes reset the connection.
      setTimeout(() => socket.destroy(), 50);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, posts, url: `http://127.0.0.1:${server.address().port}` })));
}

test('--ota: a board that refuses the upload at its headers is reported as the refusal (401), and no byte of the bundle was sent before it asked', async (t) => {
  const board = await refusingBoard();
  t.after(() => board.server.close());
  const bytes = Buffer.alloc(200 * 1024, 0x61);
  await assert.rejects(
    flashOverTheAir({ url: board.url, auth: 'admin:wrong', bytes, label: 'app.js', timeoutMs: 5000 }),
    (e) => e instanceof OtaError && /the board refused the user or password of --auth \(401\); nothing changed/.test(e.message),
  );
  assert.equal(board.posts.length, 1);
  assert.match(board.posts[0].head, /^expect: 100-continue$/im);
  assert.equal(board.posts[0].bodyBytes, 0, 'the bundle was sent before the board asked for it (Expect: 100-continue)');
});
