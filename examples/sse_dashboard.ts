// examples/sse_dashboard.ts: a vending machine's live dashboard.
//   npm start -- examples/sse_dashboard.ts      then open http://127.0.0.1:8080/
//
// REST API and Server-Sent Events together: every sale, restock and low-stock
// alert is pushed to each open page through an SSEHub, while a simulator sells
// something every 1-3 seconds. The page (sse_dashboard_page.ts) also has a
// WebSocket echo panel.
//
//   GET  /                    the dashboard page
//   GET  /events              SSE: "stock" (the table, at once and after a restock),
//                             "sale", "alert" (stock at or below LOW_STOCK)
//   GET  /api/status          totals
//   GET  /api/products        the stock table
//   POST /api/sell/<id>       sells one (404 unknown, 409 sold out)
//   POST /api/restock/<id>    {"quantity": 1..1000}, capped at the capacity (400 bad input, 404 unknown)
//   POST /api/simulator       {"running": true|false} pauses or resumes the simulator
//   WS   /ws/echo             answers "Echo: " + each text message
import { MicroServer, Response } from '../src/index';
import { SSEHub } from '../src/sse';
import { webSocket } from '../src/websocket';
import { PAGE } from './sse_dashboard_page';

interface Product {
  id: string;
  name: string;
  price: number;
  stock: number;
  capacity: number;
  sold: number;
}

/** An alert is sent whenever a sale leaves this many or fewer. */
const LOW_STOCK = 3;
const MAX_RESTOCK = 1000;

const app = new MicroServer({ port: 80 });
app.maxBodySize = 1024; // the API's bodies are tiny JSON objects

const hub = new SSEHub({ heartbeat: 15 });
const started = getTime();

function product(id: string, name: string, price: number): Product {
  return { id: id, name: name, price: price, stock: 8, capacity: 10, sold: 0 };
}

const products: Product[] = [
  product('cola', 'Cola', 1.5),
  product('water', 'Water', 1),
  product('juice', 'Orange juice', 2),
  product('coffee', 'Iced coffee', 2.5),
  product('chips', 'Chips', 1.75),
  product('choco', 'Chocolate bar', 1.25),
];

let totalSales = 0;
let revenueCents = 0; // whole cents: no float drift in the sum
let simulating = true;

function find(id: string): Product | undefined {
  for (let i = 0; i < products.length; i++) if (products[i].id === id) return products[i];
  return undefined;
}

function revenue(): number {
  return revenueCents / 100;
}

/** The "stock" event's data: the table and the totals. */
function table() {
  return { products: products, total: totalSales, revenue: revenue(), low: LOW_STOCK, simulator: simulating };
}

function sell(p: Product): void {
  p.stock--;
  p.sold++;
  totalSales++;
  revenueCents += Math.round(p.price * 100);
  hub.broadcast({ product: p.id, name: p.name, price: p.price, stock: p.stock, sold: p.sold, total: totalSales, revenue: revenue() }, { event: 'sale' });
  if (p.stock <= LOW_STOCK) {
    const message = p.stock ? p.name + ': only ' + p.stock + ' left' : p.name + ' is sold out';
    hub.broadcast({ product: p.id, name: p.name, stock: p.stock, level: p.stock ? 'low' : 'out', message: message }, { event: 'alert' });
  }
}

// The page and the event stream.
app.get('/', () => Response.html(PAGE));

app.get('/events', () => {
  const channel = hub.channel();
  channel.send(table(), { event: 'stock' }); // so a new page draws at once
  return channel.response();
});

// The REST API.
app.get('/api/status', () => {
  const low: string[] = [];
  let units = 0;
  for (let i = 0; i < products.length; i++) {
    units += products[i].stock;
    if (products[i].stock <= LOW_STOCK) low.push(products[i].id);
  }
  return Response.json({
    totalSales: totalSales,
    revenue: revenue(),
    products: products.length,
    unitsInStock: units,
    lowStock: low,
    clients: hub.size,
    simulator: simulating,
    uptime: Math.floor(getTime() - started),
  });
});

app.get('/api/products', () => Response.json(products));

app.post('/api/sell/<id>', (req) => {
  const p = find(req.pathParams.id);
  if (!p) return Response.error('Unknown product', 404);
  if (p.stock <= 0) return Response.error(p.name + ' is sold out', 409);
  sell(p);
  return Response.json({ product: p.id, stock: p.stock, totalSales: totalSales, revenue: revenue() });
});

app.post('/api/restock/<id>', (req) => {
  const p = find(req.pathParams.id);
  if (!p) return Response.error('Unknown product', 404);
  const data = req.json;
  const quantity = data && typeof data === 'object' ? data.quantity : undefined;
  if (typeof quantity !== 'number' || quantity % 1 !== 0 || quantity < 1 || quantity > MAX_RESTOCK) {
    return Response.error('quantity must be a whole number from 1 to ' + MAX_RESTOCK, 400);
  }
  const before = p.stock;
  p.stock = Math.min(p.capacity, p.stock + quantity);
  hub.broadcast(table(), { event: 'stock' });
  return Response.json({ product: p.id, stock: p.stock, added: p.stock - before });
});

app.post('/api/simulator', (req) => {
  const data = req.json;
  const running = data && typeof data === 'object' ? data.running : undefined;
  if (typeof running !== 'boolean') return Response.error('running must be true or false', 400);
  simulating = running;
  return Response.json({ simulator: simulating });
});

// A WebSocket next to the event stream.
app.get('/ws/echo', webSocket((ws) => {
  ws.on('message', (message) => {
    ws.send(typeof message === 'string' ? 'Echo: ' + message : message);
  });
}));

// The simulator: a customer every 1-3 seconds buys something that is in stock.
function simulate(): void {
  if (simulating) {
    const available = products.filter((p) => p.stock > 0);
    if (available.length) sell(available[Math.floor(Math.random() * available.length)]);
  }
  setTimeout(simulate, 1000 + Math.floor(Math.random() * 2000));
}
setTimeout(simulate, 1000 + Math.floor(Math.random() * 2000));

app.run();
