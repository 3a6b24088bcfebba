// A Sentry ingest on loopback that accepts every envelope, so (c) and (d) run with a real DSN.
import { createServer } from 'node:http';

let envelopes = 0;
createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    envelopes++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  process.stdout.write(`${envelopes}\n`);
  process.exit(0);
});
