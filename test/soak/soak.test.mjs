// The short soak in npm test (the long one: npm run soak): mixed HTTP traffic,
// WebSocket sessions and SSE clients, every answer checked; afterwards the
// server holds the sockets, and on the real interpreter the JsVars, it held
// before. See soak.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lane } from '../helpers/server.mjs';
import { soak, table } from './soak.mjs';

test(`soak: 2000 mixed requests, 40 WebSocket sessions, 10 SSE clients (${lane()})`, async (t) => {
  const stats = await soak({ requests: 2000, webSockets: 40, sseClients: 10 });
  for (const line of table(stats).split('\n')) t.diagnostic(line);
  assert.deepEqual(stats.failures, []);
  assert.ok(stats.requests >= 2000);
  for (const [kind, { requests }] of Object.entries(stats.byKind)) assert.ok(requests > 0, `${kind} was exercised`);
  assert.equal(stats.webSockets.messages, 120);
  assert.equal(stats.sseClients.sessions, 10);
  assert.equal(stats.sockets.after, stats.sockets.baseline);
  if (stats.lane === 'espruino') assert.ok(stats.jsVars.after - stats.jsVars.baseline <= 20, `JsVars ${stats.jsVars.baseline} → ${stats.jsVars.after}`);
});
