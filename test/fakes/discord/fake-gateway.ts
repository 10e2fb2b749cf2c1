import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Json } from './payloads.js';

/**
 * The gateway half of the fake Discord: the real v10 protocol over a `ws` server, plain JSON
 * (discord.js asks for `encoding=json` and only compresses when zlib-sync is installed; a test
 * checks that no `compress` parameter arrives).
 *
 * HELLO → IDENTIFY → READY → GUILD_CREATE…; heartbeats are acknowledged; RESUME replays every
 * dispatch after the client's sequence, including those sent while it was away, then RESUMED.
 */

export const GATEWAY_OPS = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  RESUME: 6,
  RECONNECT: 7,
  INVALID_SESSION: 9,
  HELLO: 10,
  HEARTBEAT_ACK: 11,
} as const;

interface Session {
  id: string;
  seq: number;
  intents: number;
  /** Every dispatch of the session, for RESUME replays. */
  log: Array<{ s: number; t: string; d: unknown }>;
  socket: WebSocket | undefined;
}

export interface GatewayHooks {
  token: () => string;
  /** READY's `d` minus session fields. */
  ready: () => Json;
  /** Dispatches that follow READY (GUILD_CREATE for each guild). */
  afterReady: () => Array<{ t: string; d: unknown }>;
  /** Intents the "developer portal" has not enabled: IDENTIFY asking for any of them is closed with 4014. */
  refusedIntents: () => number;
}

export interface GatewayStats {
  identifies: Array<{ intents: number; compress: unknown }>;
  resumes: Array<{ sessionId: string; seq: number }>;
  heartbeats: number;
  connections: Array<{ url: string }>;
  closes: number[];
}

export class FakeGateway extends EventEmitter {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #hooks: GatewayHooks;
  readonly #heartbeatInterval: number;
  #session: Session | undefined;
  readonly stats: GatewayStats = { identifies: [], resumes: [], heartbeats: 0, connections: [], closes: [] };

  constructor(hooks: GatewayHooks, options: { heartbeatInterval?: number } = {}) {
    super();
    this.#hooks = hooks;
    this.#heartbeatInterval = options.heartbeatInterval ?? 1_000;
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req));
    });
  }

  /** Whether a client is connected and identified (or resumed). */
  get connected(): boolean {
    return this.#session?.socket !== undefined;
  }

  get sessionId(): string | undefined {
    return this.#session?.id;
  }

  /** Intents of the current session (after a refused IDENTIFY, those of the retry). */
  get intents(): number | undefined {
    return this.#session?.intents;
  }

  /** Sends a dispatch to the session; kept for replay when the client is between connections. */
  dispatch(t: string, d: unknown): void {
    const session = this.#session;
    if (!session) throw new Error(`no gateway session to dispatch ${t} to`);
    session.seq += 1;
    const entry = { s: session.seq, t, d };
    session.log.push(entry);
    if (session.socket) send(session.socket, { op: GATEWAY_OPS.DISPATCH, ...entry });
  }

  /** op 7: Discord asks the client to reconnect and resume. */
  requestReconnect(): void {
    const socket = this.#session?.socket;
    if (!socket) throw new Error('no connected client');
    // Events dispatched from now until the RESUME are buffered, like Discord does.
    this.#session!.socket = undefined;
    send(socket, { op: GATEWAY_OPS.RECONNECT, d: null });
  }

  /** The connection dies without a close frame (the client sees 1006); the session stays resumable and buffers dispatches. */
  drop(): void {
    const socket = this.#session?.socket;
    if (!socket) throw new Error('no connected client');
    this.#session!.socket = undefined;
    socket.terminate();
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    this.stats.connections.push({ url: req.url ?? '' });
    send(ws, { op: GATEWAY_OPS.HELLO, d: { heartbeat_interval: this.#heartbeatInterval } });
    ws.on('message', (raw) => this.#onMessage(ws, raw.toString()));
    ws.on('close', (code) => {
      this.stats.closes.push(code);
      if (this.#session?.socket === ws) this.#session.socket = undefined;
      // 1000/1001 from the client end the session (Discord invalidates it); others keep it resumable.
      if ((code === 1000 || code === 1001) && this.#session?.socket === undefined) this.#session = undefined;
      this.emit('close', code);
    });
  }

  #onMessage(ws: WebSocket, raw: string): void {
    let payload: { op: number; d: any };
    try {
      payload = JSON.parse(raw);
    } catch {
      ws.close(4002, 'Decode error');
      return;
    }
    switch (payload.op) {
      case GATEWAY_OPS.HEARTBEAT:
        this.stats.heartbeats += 1;
        send(ws, { op: GATEWAY_OPS.HEARTBEAT_ACK });
        return;
      case GATEWAY_OPS.IDENTIFY:
        this.#identify(ws, payload.d);
        return;
      case GATEWAY_OPS.RESUME:
        this.#resume(ws, payload.d);
        return;
      default:
        // op 3 (presence), op 8 (request members) …: accepted and ignored.
        return;
    }
  }

  #identify(ws: WebSocket, d: { token: string; intents: number; compress?: unknown }): void {
    this.stats.identifies.push({ intents: d.intents, compress: d.compress });
    if (d.token !== this.#hooks.token()) {
      ws.close(4004, 'Authentication failed.');
      return;
    }
    if ((d.intents & this.#hooks.refusedIntents()) !== 0) {
      this.emit('refused', d.intents);
      ws.close(4014, 'Disallowed intent(s).');
      return;
    }
    const session: Session = { id: randomBytes(16).toString('hex'), seq: 0, intents: d.intents, log: [], socket: ws };
    this.#session = session;
    this.dispatch('READY', { ...this.#hooks.ready(), session_id: session.id, shard: [0, 1] });
    for (const event of this.#hooks.afterReady()) this.dispatch(event.t, event.d);
    this.emit('identified', session.id);
  }

  #resume(ws: WebSocket, d: { token: string; session_id: string; seq: number }): void {
    this.stats.resumes.push({ sessionId: d.session_id, seq: d.seq });
    const session = this.#session;
    if (!session || session.id !== d.session_id || d.token !== this.#hooks.token()) {
      send(ws, { op: GATEWAY_OPS.INVALID_SESSION, d: false });
      return;
    }
    session.socket = ws;
    for (const entry of session.log.filter((e) => e.s > d.seq)) send(ws, { op: GATEWAY_OPS.DISPATCH, ...entry });
    this.dispatch('RESUMED', null);
    this.emit('resumed', session.id);
  }
}

function send(ws: WebSocket, payload: Json): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
}
