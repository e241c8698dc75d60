// Benchmark app: a WebSocket echo at /ws.
import { MicroServer } from '../../src/index';
import { BENCH_SETTINGS, addEchoWebSocket } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
addEchoWebSocket(app);
app.run();
