// examples/sse_simple.ts: a live sensor monitor with Server-Sent Events.
//   npm start -- examples/sse_simple.ts      then open http://127.0.0.1:8080/
// GET / serves the page; GET /events pushes a reading every 2 seconds until
// the browser leaves (the generator is then stopped).
import { MicroServer, Response } from '../src/index';
import { sse } from '../src/sse';

const app = new MicroServer({ port: 80 });

/** A pretend sensor: swap in a real one (DHT22, BME280...) on a board. */
function readSensor() {
  return {
    temperature: 20 + Math.floor(Math.random() * 11), // 20..30
    humidity: 50 + Math.floor(Math.random() * 31), // 50..80
    timestamp: Math.floor(getTime()), // seconds (since boot on a board without a clock)
  };
}

const PAGE = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sensor Monitor</title><link rel="icon" href="data:,"></head>
<body>
<h1>Sensor Monitor (SSE)</h1>
<p>Temperature: <strong id="temp">--</strong>°C</p>
<p>Humidity: <strong id="hum">--</strong>%</p>
<p><small id="status">connecting…</small></p>
<script>
var es = new EventSource('/events');
function $(id) { return document.getElementById(id); }
es.onopen = function () { $('status').textContent = 'live'; };
es.onerror = function () { $('status').textContent = 'reconnecting…'; };
es.onmessage = function (e) {
  var d = JSON.parse(e.data);
  $('temp').textContent = d.temperature;
  $('hum').textContent = d.humidity;
  $('status').textContent = 'live, updated ' + new Date().toLocaleTimeString();
};
</script>
</body>
</html>
`;

app.get('/', () => Response.html(PAGE));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

app.get('/events', () => {
  // A reading at once, then one every 2 s. Each yielded promise is awaited
  // before the event is sent; a client that leaves stops the generator.
  function* readings() {
    yield { data: readSensor() };
    for (;;) yield sleep(2000).then(() => ({ data: readSensor() }));
  }
  return sse(readings());
});

app.run();
