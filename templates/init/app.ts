// Your MicroServer app: `npm start` serves it on http://127.0.0.1:8080/, `npm test` tests it,
// `npm run flash` puts it on a board. On the board it listens on port 80 once the board is on
// Wi-Fi: `npm run flash` saves the network from wifi.json ({ "ssid": ..., "password": ... }), or
// use the Wi-Fi plug-in (microserver-espruino/wifi) for a set-up page.
import { MicroServer, Response } from 'microserver-espruino';
import { mountStatic } from 'microserver-espruino/static';
import { webSocket } from 'microserver-espruino/websocket';

const app = new MicroServer({ port: 80 });

// The files of www/ (flashed to Storage as "www/...") at /.
mountStatic(app, '', 'www/');

app.get('/api/hello/<name>', (req) => Response.json({ hello: req.pathParams.name }));
app.post('/api/echo', (req) => (req.json === null ? Response.error('Send JSON', 400) : Response.json({ received: req.json })));
app.get('/ws/echo', webSocket((ws) => {
  ws.on('message', (message) => ws.send(message));
}));

app.run();
