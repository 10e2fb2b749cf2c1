import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * Slack's Socket Mode side: `apps.connections.open` hands out a `ws://` URL, the server greets
 * with `hello`, pushes envelopes (`events_api`, `slash_commands`, `interactive`) and expects
 * each to be acknowledged with `{ envelope_id, payload? }` on the same socket.
 */
export class FakeSocketMode {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<WebSocket>();
  readonly #pending = new Map<string, (ack: { envelope_id: string; payload?: unknown }) => void>();
  readonly #tickets = new Set<string>();
  readonly #connectedWaiters: Array<() => void> = [];
  /** Every ack received, in order. */
  readonly acks: Array<{ envelope_id: string; payload?: unknown }> = [];
  connections = 0;

  constructor(private readonly baseUrl: () => string) {
    this.#wss.on('connection', (socket) => {
      this.connections += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('message', (data) => {
        let msg: { envelope_id?: string; payload?: unknown };
        try {
          msg = JSON.parse(String(data)) as typeof msg;
        } catch {
          return;
        }
        if (typeof msg.envelope_id !== 'string') return;
        const ack = { envelope_id: msg.envelope_id, ...(msg.payload === undefined ? {} : { payload: msg.payload }) };
        this.acks.push(ack);
        this.#pending.get(msg.envelope_id)?.(ack);
        this.#pending.delete(msg.envelope_id);
      });
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0GENGUARD' }, debug_info: { host: 'fake' } }));
      for (const waiter of this.#connectedWaiters.splice(0)) waiter();
    });
  }

  /** A fresh URL for apps.connections.open; each ticket is good for one connection. */
  openUrl(): string {
    const ticket = randomUUID();
    this.#tickets.add(ticket);
    return `${this.baseUrl().replace(/^http/, 'ws')}/socket?ticket=${ticket}`;
  }

  /** Upgrade handler for the fake's HTTP server. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/socket' || !this.#tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
  }

  get connected(): boolean {
    return [...this.#sockets].some((s) => s.readyState === WebSocket.OPEN);
  }

  waitConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.#connectedWaiters.push(resolve));
  }

  /** Pushes an envelope to the connected app; resolves with its ack. */
  send(type: 'events_api' | 'slash_commands' | 'interactive', payload: unknown): Promise<{ envelope_id: string; payload?: unknown }> {
    const socket = [...this.#sockets].find((s) => s.readyState === WebSocket.OPEN);
    if (!socket) return Promise.reject(new Error('fake socket mode: no app connected'));
    const envelopeId = randomUUID();
    const acked = new Promise<{ envelope_id: string; payload?: unknown }>((resolve) => this.#pending.set(envelopeId, resolve));
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: type !== 'events_api',
        ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
      }),
    );
    return acked;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
