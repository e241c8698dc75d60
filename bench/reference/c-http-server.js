// The reference: Espruino's built-in C `http` module answering the hello JSON.
// It always closes the connection (no keep-alive). The harness puts `var PORT = n;` before it.
require('http').createServer(function (req, res) {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end('{"message":"Hello from MicroServer"}');
}).listen(PORT);
console.log('listening on port ' + PORT);
