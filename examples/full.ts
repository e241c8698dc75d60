// examples/full.ts: Wi-Fi, hardware control (an LED), a WebSocket echo and a web page (/static/).
// On a board it joins the network saved with Wifi.save() (npm run flash saves one),
// or opens the "MicroServer-setup" access point with a set-up page to choose one;
// then it serves. On a host there is no Wi-Fi: it serves at once and the LED is virtual.
import { MicroServer, Response } from '../src/index';
import { CORSMiddleware, LoggingMiddleware } from '../src/middleware';
import { mountStatic } from '../src/static';
import { webSocket } from '../src/websocket';
import { startWifi } from '../src/wifi';
import { writePin, memory } from '../src/platform/board';

const LED_PIN = 2; // the ESP32 DevKit's onboard LED

const app = new MicroServer(); // the port comes from the board file (80 on an ESP32)
app.maxBodySize = 4096;
app.addMiddleware(new LoggingMiddleware());
app.addMiddleware(new CORSMiddleware({ origins: '*', methods: '*' }));

app.get('/', () => Response.json({ status: 'online', memoryFree: memory().free }));

app.get('/gc', () => {
  const before = memory().free;
  const after = memory(true).free;
  return Response.json({ freed: after - before, free: after });
});

app.post('/led', (req) => {
  const data = req.json || {};
  const state = data.state;
  if (state === undefined || state === null) return Response.error("Missing 'state' field", 400);
  const on = state === 1 || state === true || state === 'on';
  writePin(LED_PIN, on);
  return Response.json({ led: on ? 'on' : 'off' });
});

// The page in examples/www: `npm run flash` puts it in Storage, `npm start` in the host's.
mountStatic(app, '/static', 'www/', { maxAge: 600 });

app.get('/ws/echo', webSocket(async (ws) => {
  await ws.send('Welcome!');
  for (;;) {
    const message = await ws.receive();
    if (message === null) break;
    await ws.send('Echo: ' + message);
  }
}));

// Serves once online (also at http://microserver.local/); logs "IP: ...".
startWifi(app, { hostname: 'microserver' });
