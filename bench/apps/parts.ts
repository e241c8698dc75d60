// Route sets shared by the benchmark apps (bench/run.mjs builds each entry in
// this folder for a free port). Every app is meant for loopback load tests:
// connections may send many requests (the minimal reference server never
// closes a keep-alive connection either).
import { MicroServer, Response } from '../../src/index';
import { SSEHub } from '../../src/sse';
import { webSocket } from '../../src/websocket';

/** The hello JSON every server in the benchmark answers, the references included. */
export const HELLO = { message: 'Hello from MicroServer' };

/** Room for 8 clients and the memory figures' idle connections; keep-alive without a request cap. */
export const BENCH_SETTINGS = { port: 80, maxConns: 32, maxKeepAliveRequests: 1000000 };

/** GET / answers the hello JSON; POST /echo parses a JSON body and sends it back. */
export function addHello(app: MicroServer): void {
  app.get('/', () => Response.json(HELLO));
  app.post('/echo', (req) => Response.json(req.json));
}

/**
 * 50 routes, as an API of a few resources: static paths, one-parameter and
 * two-parameter ones. The benchmark requests /devices/<id>/readings/<n>, the
 * 50th route, so the router passes the others' segments first.
 */
export function addFiftyRoutes(app: MicroServer): void {
  const resources = ['users', 'sensors', 'relays', 'files', 'logs', 'jobs', 'alerts'];
  let added = 0;
  for (let i = 0; i < resources.length; i++) {
    const name = resources[i];
    app.get('/' + name, () => Response.json({ list: name }));
    app.post('/' + name, () => Response.json({ created: name }, 201));
    app.get('/' + name + '/<id>', (req) => Response.json({ id: req.pathParams.id }));
    app.put('/' + name + '/<id>', (req) => Response.json({ updated: req.pathParams.id }));
    app.delete('/' + name + '/<id>', () => Response.plain('', 204));
    app.get('/' + name + '/<id>/history', (req) => Response.json({ history: req.pathParams.id }));
    app.get('/' + name + '/<id>/status', (req) => Response.json({ status: req.pathParams.id }));
    added += 7;
  }
  app.get('/status', () => Response.json({ ok: true }));
  while (added < 49) app.get('/static/page' + ++added, () => Response.plain('page'));
  app.get('/devices/<device>/readings/<n>', (req) => Response.json({ device: req.pathParams.device, n: req.pathParams.n }));
}

/** A WebSocket at /ws that sends every message back, with Espruino-style events (no promise turns). */
export function addEchoWebSocket(app: MicroServer): void {
  app.get('/ws', webSocket((ws) => {
    ws.on('message', (message) => {
      ws.send(message);
    });
  }));
}

/**
 * GET /events joins the hub; POST /events/start and /events/stop start and stop
 * the broadcasting: one event on every main-loop pass while it runs, numbered
 * so that clients can count what the channels' queues dropped.
 */
export function addEventHub(app: MicroServer): void {
  const hub = new SSEHub({ heartbeat: 0 });
  let timer: number | undefined;
  let sequence = 0;
  app.get('/events', () => hub.response());
  app.post('/events/start', () => {
    if (timer === undefined) timer = setInterval(() => hub.broadcast(String(sequence++)), 0) as unknown as number;
    return Response.json({ clients: hub.size });
  });
  app.post('/events/stop', () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    return Response.json({ sent: sequence });
  });
}
