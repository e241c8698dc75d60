// Benchmark app for the leak check: every kind of traffic the benchmark sends,
// behind CORS and Logging (to a NoOpLogger), plus the WebSocket echo.
import { MicroServer, NoOpLogger } from '../../src/index';
import { CORSMiddleware, LoggingMiddleware } from '../../src/middleware';
import { BENCH_SETTINGS, addHello, addFiftyRoutes, addEchoWebSocket } from './parts';

const app = new MicroServer(BENCH_SETTINGS);
app.addMiddleware(new CORSMiddleware());
app.addMiddleware(new LoggingMiddleware(new NoOpLogger()));
addHello(app);
addFiftyRoutes(app);
addEchoWebSocket(app);
app.run();
