// The page of examples/full.ts: status and LED over HTTP, an echo over a WebSocket.
var $ = function (id) { return document.getElementById(id); };

function refresh() {
  fetch('/').then(function (r) { return r.json(); }).then(function (s) { $('memory').textContent = s.memoryFree; });
}

function setLed(state) {
  fetch('/led', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ state: state }) })
    .then(function (r) { return r.json(); })
    .then(function (s) { $('led').textContent = s.led; });
}

function log(text) {
  var item = document.createElement('li');
  item.textContent = text;
  $('log').appendChild(item);
}

var socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/echo');
socket.onmessage = function (e) { log(e.data); };
socket.onclose = function () { log('(closed)'); };

$('refresh').onclick = refresh;
$('led-on').onclick = function () { setLed('on'); };
$('led-off').onclick = function () { setLed('off'); };
$('echo').onsubmit = function (e) {
  e.preventDefault();
  socket.send($('message').value);
};
refresh();
