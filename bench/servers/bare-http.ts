// (a) The floor: node:http answering the same JSON as the service's GET /.
import { createServer } from 'node:http';

const body = JSON.stringify({ service: 'terra_constellata', version: '1.0.0', environment: 'production' });
createServer((_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
