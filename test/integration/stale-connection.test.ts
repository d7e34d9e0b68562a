import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApi } from '../../src/target/admin-api.js';

/**
 * A server that, like any with a keep-alive timeout, drops a connection it considers idle: here
 * every second request on one connection is answered by a reset, deterministically.
 */
let server: Server;
let baseUrl: string;
const requestsPerSocket = new Map<Socket, number>();
let resets = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    const seen = (requestsPerSocket.get(request.socket) ?? 0) + 1;
    requestsPerSocket.set(request.socket, seen);
    if (seen > 1) {
      resets += 1;
      request.socket.resetAndDestroy();
      return;
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ success: true, connection: requestsPerSocket.size }));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('a kept-alive connection the server dropped', () => {
  it('is retried once on a new connection (the request never reached the app), for GET and POST', async () => {
    const api = new AdminApi(baseUrl, undefined, 5000);
    try {
      expect((await api.get('a')).body).toMatchObject({ success: true, connection: 1 });
      expect((await api.post('b', { enabled: false })).body).toMatchObject({ success: true, connection: 2 });
      expect((await api.get('c')).body).toMatchObject({ success: true, connection: 3 });
      expect(resets).toBe(2);
    } finally {
      api.close();
    }
  });
});
