// Benchmark app: Server-Sent Events from a hub at /events, broadcast between
// POST /events/start and POST /events/stop.
import { MicroServer } from '../../src/index';
import { BENCH_SETTINGS, addEventHub } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
addEventHub(app);
app.run();
