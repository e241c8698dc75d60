// Benchmark app: the hello JSON (GET /) and a JSON echo (POST /echo).
import { MicroServer } from '../../src/index';
import { BENCH_SETTINGS, addHello } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
addHello(app);
app.run();
