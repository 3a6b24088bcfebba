import { connect } from 'node:net';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';

describe('hostile input gets a 400 naming what is wrong, and nothing is stored', () => {
  let t: TestApp;
  let server: Parameters<typeof request>[0];

  beforeAll(async () => {
    t = await createTestApp();
    server = t.app.getHttpServer();
  });

  afterAll(() => t.close());

  const stored = async () =>
    (await request(server).get('/api/feedback/stats').expect(200)).body.total as number;

  it.each([
    ['a top-level "prototype" field', '{"rating":3,"prototype":{"a":1}}', 'prototype: is a reserved name'],
    [
      'metadata keyed "constructor"',
      '{"rating":3,"metadata":{"constructor":"x"}}',
      'metadata.constructor: is a reserved name',
    ],
    [
      'metadata keyed "toString"',
      '{"rating":3,"metadata":{"toString":"x"}}',
      'metadata.toString: is a reserved name',
    ],
    [
      'metadata keyed "hasOwnProperty"',
      '{"rating":3,"metadata":{"hasOwnProperty":1}}',
      'metadata.hasOwnProperty: is a reserved name',
    ],
    ['a body of null', 'null', 'body: must be a JSON object'],
    ['a body that is an array', '[{"rating":3}]', 'body: must be a JSON object'],
    [
      'JSON nested 5,000 deep in metadata',
      `{"rating":3,"metadata":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
      'must not be nested more than 32 levels deep',
    ],
    // JSON.parse reads 1e400 as Infinity, which JSON would store as null.
    [
      'a metadata number beyond a double',
      '{"rating":3,"metadata":{"build":1e400}}',
      'metadata.build: must be a finite number',
    ],
    ['a rating of -1e400', '{"rating":-1e400}', 'rating: must be a finite number'],
    // A lone surrogate cannot be UTF-8: it would be stored and returned as U+FFFD.
    [
      'a comment with a lone surrogate',
      '{"rating":3,"comment":"nice \\ud83d work"}',
      'comment: must not contain a lone UTF-16 surrogate',
    ],
    [
      'a metadata value with a lone low surrogate',
      '{"rating":3,"metadata":{"note":"\\udc00"}}',
      'metadata.note: must not contain a lone UTF-16 surrogate',
    ],
  ])('%s', async (_name, body, message) => {
    const before = await stored();
    const res = await request(server)
      .post('/api/feedback/submit')
      .set('content-type', 'application/json')
      .send(body)
      .expect(400);
    expect(JSON.stringify(res.body.details)).toContain(message);
    expect(await stored()).toBe(before);
  });

  it('stores a surrogate pair and the largest double as sent', async () => {
    const comment = 'a star \ud83c\udf1f';
    const res = await request(server)
      .post('/api/feedback/submit')
      .set('content-type', 'application/json')
      .send(`{"rating":3,"comment":${JSON.stringify(comment)},"metadata":{"big":1.7976931348623157e308}}`)
      .expect(201);
    expect(res.body).toMatchObject({ comment, metadata: { big: 1.7976931348623157e308 } });
  });

  it('refuses a workflow input holding 1e400 or a lone surrogate', async () => {
    for (const [input, field] of [
      ['{"steps":[1,2,1e400]}', 'input.steps.2: must be a finite number'],
      ['{"prompt":"\\ud800"}', 'input.prompt: must not contain a lone UTF-16 surrogate'],
    ]) {
      const res = await request(server)
        .post('/api/workflows')
        .set('content-type', 'application/json')
        .send(`{"type":"map_rendering","input":${input}}`)
        .expect(400);
      expect(res.body.details[0]).toContain(field);
    }
  });

  it('refuses a workflow input keyed "constructor" and an artwork body of null', async () => {
    const input = await request(server)
      .post('/api/workflows')
      .set('content-type', 'application/json')
      .send('{"type":"map_rendering","input":{"constructor":{"a":1}}}')
      .expect(400);
    expect(input.body.details).toEqual(['input.constructor: is a reserved name and cannot be a field']);
    const artwork = await request(server)
      .post('/api/artworks')
      .set('content-type', 'application/json')
      .send('null')
      .expect(400);
    expect(artwork.body.details).toEqual(['body: must be a JSON object']);
  });

  it.each(['__proto__=x', 'constructor=x'])(
    'refuses the query %s like any unknown parameter',
    async (query) => {
      const res = await request(server).get(`/api/feedback/recent?${query}`).expect(400);
      expect(JSON.stringify(res.body.details)).toMatch(/reserved name|should not exist/);
    },
  );

  it.each([
    [
      'a date before 1970',
      Buffer.from(
        JSON.stringify(['-271821-04-20T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
      ).toString('base64url'),
    ],
    [
      'an id with a NUL',
      Buffer.from(JSON.stringify(['2026-11-30T00:00:00.000Z', 'a\u0000b'])).toString('base64url'),
    ],
    [
      'an id the service never issues',
      Buffer.from(JSON.stringify(['2026-11-30T00:00:00.000Z', "1' OR '1'='1"])).toString('base64url'),
    ],
    ['not base64 JSON', '!!!'],
  ])('refuses a cursor with %s', async (_name, cursor) => {
    const res = await request(server).get('/api/feedback/recent').query({ cursor }).expect(400);
    expect(res.body.details).toEqual(['cursor: must be a next_cursor returned by this endpoint']);
  });

  it('answers CONNECT with 400 and closes, rather than dropping the connection', async () => {
    await new Promise<void>((resolve) =>
      (server as import('node:http').Server).listen(0, '127.0.0.1', resolve),
    );
    const { port } = (server as import('node:http').Server).address() as { port: number };
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});

describe('an Upgrade the service does not speak', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp();
    const server = t.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ({ port } = server.address() as { port: number });
  });
  afterAll(() => t.close());

  /**
   * Everything the server sends on one connection until it closes it, `enough` holds of what it sent, or 5 s
   * pass (then `closed` is false).
   */
  const exchange = (bytes: string, enough: (text: string) => boolean = () => false) =>
    new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ text, closed: false });
      }, 5000);
      socket.on('data', (chunk) => {
        text += chunk;
        if (!enough(text)) return;
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closed: false });
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ text, closed: true });
      });
      socket.on('error', reject);
      socket.write(bytes);
    });

  it.each([
    [
      'websocket',
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13',
    ],
    [
      'h2c',
      'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
    ],
  ])(
    'answers a %s upgrade as HTTP/1.1 and closes, so a request pipelined behind it is not left waiting',
    async (_name, headers) => {
      const { text, closed } = await exchange(
        `GET / HTTP/1.1\r\nHost: x\r\n${headers}\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      expect(closed).toBe(true);
      expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text.toLowerCase()).toContain('\r\nconnection: close\r\n');
      expect(text).toContain('"service":"terra_constellata"');
      // One answer on the connection: the pipelined request is for the client to send again.
      expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    },
  );

  it('keeps a connection whose requests ask for no upgrade open for the next one', async () => {
    const { text, closed } = await exchange(
      'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n',
      (received) => received.includes('"status":"ok"'),
    );
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(closed).toBe(false);
  });
});

describe('framing on a kept-alive connection', () => {
  it("answers failing HEADs without a body and skips a GET's unread body, so the connection stays in step", async () => {
    const t = await createTestApp();
    try {
      const server = t.app.getHttpServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      // Two requests on one connection: a failing HEAD (400, then 404), then a GET that must parse cleanly.
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => {
          received += chunk;
          if (received.includes('"service":"terra_constellata"')) socket.end();
        });
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
        socket.write(
          'HEAD /api/feedback/recent?constructor=x HTTP/1.1\r\nHost: x\r\n\r\n' +
            'HEAD /no/such/route HTTP/1.1\r\nHost: x\r\n\r\n' +
            // A GET with a body nobody reads: the body is skipped, not taken for the next request.
            'GET /nope HTTP/1.1\r\nHost: x\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nGET /' +
            'DELETE /api/feedback/artwork/a HTTP/1.1\r\nHost: x\r\ncontent-type: x/y\r\ncontent-length: 1\r\n\r\nF' +
            'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
        );
      });
      // A body is followed directly by the next status line: its Content-Length is what separates them.
      const statusLines = [...text.matchAll(/HTTP\/1\.1 \d{3} [^\r]*/g)].map((m) => m[0]);
      expect(statusLines).toEqual([
        'HTTP/1.1 400 Bad Request',
        'HTTP/1.1 404 Not Found',
        'HTTP/1.1 404 Not Found',
        // DELETE on a path that only takes POST.
        'HTTP/1.1 405 Method Not Allowed',
        'HTTP/1.1 200 OK',
      ]);
      // The HEAD answers have no body: the only error bodies are those of the GET and the DELETE.
      expect(text.match(/"statusCode"/g)).toHaveLength(2);
    } finally {
      await t.close();
    }
  });
});
