// The reference: a minimal hand-written HTTP server on Espruino's `net` that
// answers every request with the hello JSON, keeping the connection unless the
// client sends `Connection: close`. The harness puts `var PORT = n;` before it.
var BODY = '{"message":"Hello from MicroServer"}';
var HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ' + BODY.length + '\r\n';
require('net').createServer(function (socket) {
  var received = '';
  socket.on('data', function (data) {
    received += data;
    var end = received.indexOf('\r\n\r\n');
    while (end >= 0) {
      var close = /\r\nconnection: *close/i.test(received.substring(0, end));
      received = received.substring(end + 4);
      socket.write(HEAD + (close ? 'Connection: close\r\n\r\n' : '\r\n') + BODY);
      if (close) return socket.end();
      end = received.indexOf('\r\n\r\n');
    }
  });
}).listen(PORT);
console.log('listening on port ' + PORT);
