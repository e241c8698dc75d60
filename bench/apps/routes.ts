// Benchmark app: 50 routes, one of them /devices/<device>/readings/<n>.
import { MicroServer } from '../../src/index';
import { BENCH_SETTINGS, addFiftyRoutes } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
addFiftyRoutes(app);
app.run();
