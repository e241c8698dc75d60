// Benchmark app: the 50 routes of routes.ts behind CORS and Logging (to a NoOpLogger).
import { MicroServer, NoOpLogger } from '../../src/index';
import { CORSMiddleware, LoggingMiddleware } from '../../src/middleware';
import { BENCH_SETTINGS, addFiftyRoutes } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
app.addMiddleware(new CORSMiddleware());
app.addMiddleware(new LoggingMiddleware(new NoOpLogger()));
addFiftyRoutes(app);
app.run();
