// Benchmark app for the latency figures: the hello routes (GET /, POST /echo)
// and GET /big?size=N, a text body of N bytes (at most 16384), to show how a
// response that takes several of Espruino's 536-byte socket pieces waits for
// the client's delayed ACK on a reused connection.
import { MicroServer, Response } from '../../src/index';
import { BENCH_SETTINGS, addHello } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
addHello(app);
let block = '';
app.get('/big', (req) => {
  const size = Math.min(16384, Math.max(0, parseInt(String(req.queryParams.size), 10) || 0));
  if (!block) {
    block = '0123456789abcdef';
    while (block.length < 16384) block += block;
  }
  return Response.plain(block.substring(0, size));
});
app.run();
