// examples/fleet.ts: one board of a fleet on an MQTT broker (docs/fleet.md).
//   mosquitto -p 1883 &  then  npm start -- examples/fleet.ts
//   mosquitto_sub -v -t 'microserver/#'                       watch the fleet
//   mosquitto_pub -t microserver/board-1/cmd/led -m on         switch the LED
// The broker and the board's id are the options below (BROKER): change them there.
// GET / shows the LED, GET /events streams its changes, GET /mqtt the connection state.
import { MicroServer, Response } from '../src/index';
import { SSEHub } from '../src/sse';
import { MqttBridge } from '../src/mqtt';

const BROKER = { host: '127.0.0.1', port: 1883, id: 'board-1' };

const app = new MicroServer({ port: 80 });
const ledEvents = new SSEHub();

/** A simulated LED: on a board, drive a pin with digitalWrite instead. */
let led = 'off';

const fleet = new MqttBridge(BROKER);
// What the hub broadcasts also goes to microserver/board-1/events/led.
fleet.forward(ledEvents, 'led');

// microserver/board-1/cmd/led with "on" or "off"; the new state goes to reply/led.
fleet.command('led', (payload) => {
  if (payload !== 'on' && payload !== 'off') throw new Error("led takes 'on' or 'off'");
  led = payload;
  ledEvents.broadcast(led);
  return led;
});

app.get('/', () => Response.json({ led: led }));
app.get('/events', () => ledEvents.response());
app.get('/mqtt', fleet.statusHandler());

fleet.start();
app.run();
