// examples/basic.ts: the smallest useful server.
//   npm start                      (this host, port 8080)
//   npm run flash -- examples/basic.ts   (a board)
import { MicroServer, Response } from '../src/index';

const app = new MicroServer({ port: 80 });

app.get('/', () => Response.json({ message: 'Hello from MicroServer' }));

app.post('/echo', (req) => {
  if (!req.body) return Response.error('Empty body', 400);
  return Response.plain(req.text);
});

// Five chunks, half a second apart. A generator may yield promises of chunks.
app.get('/stream', () => {
  function* chunks() {
    for (let i = 0; i < 5; i++) {
      yield new Promise<string>((resolve) => setTimeout(() => resolve('chunk ' + i + '\n'), 500));
    }
  }
  return Response.stream(chunks(), 'text/plain');
});

app.run();
