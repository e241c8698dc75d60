// The page of examples/sse_dashboard.ts: plain HTML, CSS and JavaScript with
// no external resources (it works offline), kept compact because it is a string
// in the board's flash. Stable ids for tests: #sse-status ("live" once the
// EventSource is open), #total-sales, #revenue, #products, #alerts, #sales,
// #sim, #ws-input, #ws-send, #ws-reply.
export const PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Vending Machine Dashboard</title><link rel="icon" href="data:,">
<style>
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,sans-serif;background:#eef2f7;color:#1d2733}
header{display:flex;align-items:center;justify-content:space-between;padding:12px 20px;background:#1d2733;color:#fff}
h1{font-size:20px;margin:0}h2{font-size:15px;margin:0 0 10px;text-transform:uppercase;letter-spacing:.05em;color:#556}
#sse-status{padding:2px 12px;border-radius:12px;background:#c0392b;font-size:13px}#sse-status.on{background:#27ae60}
main{display:grid;gap:16px;padding:16px;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));max-width:1200px;margin:auto}
.card{background:#fff;border-radius:10px;padding:16px;box-shadow:0 1px 3px #0002}.wide{grid-column:1/-1}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;align-items:center}
.kpi b{display:block;font-size:30px}.kpi>span,small{color:#667;font-size:13px}
#products{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px}
.p{border:2px solid #dde3ea;border-radius:8px;padding:10px}.p.low{border-color:#e67e22}.p.out{border-color:#c0392b}
.bar{height:8px;background:#e4e9ef;border-radius:4px;overflow:hidden;margin:6px 0}.bar i{display:block;height:100%;background:#27ae60;transition:width .4s}
.low .bar i{background:#e67e22}.out .bar i{background:#c0392b}.flash{animation:f .8s}@keyframes f{from{background:#fff3b0}}
button{font:inherit;border:0;border-radius:6px;padding:4px 12px;background:#2d6cdf;color:#fff;cursor:pointer}button:hover{background:#1f55b8}
ul{list-style:none;margin:0;padding:0;max-height:260px;overflow:auto}
#alerts li{padding:6px 8px;margin-bottom:6px;border-radius:6px;background:#fdebd0}#alerts li.out{background:#fadbd8}
#sales li{padding:4px 0;border-bottom:1px solid #eef1f5;font-size:14px}
input{font:inherit;padding:4px 8px;border:1px solid #ccd3dd;border-radius:6px;width:60%}
#ws-reply{margin-top:8px;min-height:1.4em;font-family:monospace}
</style></head><body>
<header><h1>Vending Machine</h1><span id="sse-status">offline</span></header>
<main>
<section class="card wide"><div class="kpis">
<div class="kpi"><b id="total-sales">0</b><span>items sold</span></div>
<div class="kpi"><b>€<span id="revenue">0.00</span></b><span>revenue</span></div>
<div class="kpi"><b id="low-count">0</b><span>products low on stock</span></div>
<div class="kpi"><button id="sim">Pause simulator</button></div>
</div></section>
<section class="card wide"><h2>Stock</h2><div id="products"></div></section>
<section class="card"><h2>Alerts</h2><ul id="alerts"></ul></section>
<section class="card"><h2>Recent sales</h2><ul id="sales"></ul></section>
<section class="card"><h2>WebSocket echo</h2><input id="ws-input" value="Hello, board!"> <button id="ws-send">Send</button><div id="ws-reply"></div></section>
</main>
<script>
var P = {}, LOW = 3, running = true, ws = null, pending = null;
function $(id) { return document.getElementById(id); }
function money(v) { return (+v).toFixed(2); }
function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
function totals(d) { $('total-sales').textContent = d.total; $('revenue').textContent = money(d.revenue); }
function prepend(list, text, cls) {
  var li = document.createElement('li');
  li.textContent = new Date().toLocaleTimeString() + '  ' + text;
  if (cls) li.className = cls;
  list.insertBefore(li, list.firstChild);
  while (list.children.length > 20) list.removeChild(list.lastChild);
}
function card(p, flash) {
  var e = $('p-' + p.id), low = 0, k;
  if (!e) { e = document.createElement('div'); e.id = 'p-' + p.id; $('products').appendChild(e); }
  P[p.id] = p;
  e.className = 'p' + (p.stock == 0 ? ' out' : p.stock <= LOW ? ' low' : '') + (flash ? ' flash' : '');
  e.innerHTML = '<b>' + esc(p.name) + '</b> <small>€' + money(p.price) + '</small>' +
    '<div class="bar"><i style="width:' + Math.round(100 * p.stock / p.capacity) + '%"></i></div>' +
    '<small><span class="stock">' + p.stock + '</span>/' + p.capacity + ' left, ' + p.sold + ' sold</small> ' +
    '<button data-id="' + esc(p.id) + '">Restock</button>';
  for (k in P) if (P[k].stock <= LOW) low++;
  $('low-count').textContent = low;
}
function sim(on) { running = on; $('sim').textContent = on ? 'Pause simulator' : 'Resume simulator'; }

var es = new EventSource('/events');
es.onopen = function () { $('sse-status').textContent = 'live'; $('sse-status').className = 'on'; };
es.onerror = function () { $('sse-status').textContent = 'reconnecting'; $('sse-status').className = ''; };
es.addEventListener('stock', function (e) {
  var d = JSON.parse(e.data), i;
  LOW = d.low; totals(d); sim(d.simulator);
  for (i = 0; i < d.products.length; i++) card(d.products[i]);
});
es.addEventListener('sale', function (e) {
  var d = JSON.parse(e.data), p = P[d.product];
  totals(d);
  if (p) { p.stock = d.stock; p.sold = d.sold; card(p, true); }
  prepend($('sales'), d.name + '  €' + money(d.price));
});
es.addEventListener('alert', function (e) {
  var d = JSON.parse(e.data);
  prepend($('alerts'), d.message, d.level);
});

$('products').onclick = function (e) {
  var id = e.target.getAttribute('data-id');
  if (!id) return;
  fetch('/api/restock/' + encodeURIComponent(id), { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ quantity: P[id].capacity }) });
};
$('sim').onclick = function () {
  fetch('/api/simulator', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ running: !running }) })
    .then(function (r) { return r.json(); }).then(function (d) { sim(d.simulator); });
};

function wsSend() {
  pending = $('ws-input').value;
  if (ws && ws.readyState == 1) { ws.send(pending); pending = null; return; }
  if (ws && ws.readyState == 0) return; // sent on open
  ws = new WebSocket('ws://' + location.host + '/ws/echo');
  ws.onopen = function () { if (pending !== null) ws.send(pending); pending = null; };
  ws.onmessage = function (e) { $('ws-reply').textContent = e.data; };
  ws.onclose = function () { ws = null; };
}
$('ws-send').onclick = wsSend;
$('ws-input').onkeydown = function (e) { if (e.key == 'Enter') wsSend(); };
</script>
</body></html>
`;
