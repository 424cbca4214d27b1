/**
 * The agent side of a LiveKit server, just enough for a worker to register: a WebSocket at
 * /agent that answers RegisterWorkerRequest (protobuf, as the real server) and remembers what
 * each worker asked for.
 */
import { RegisterWorkerResponse, ServerInfo, ServerMessage, WorkerMessage } from '@livekit/protocol';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Registration {
  agentName: string;
  /** Authorization header of the WebSocket upgrade (a JWT signed with the API secret). */
  authorization: string;
}

export class FakeAgentServer {
  readonly registrations: Registration[] = [];
  /** Worker status updates received (e.g. WS_FULL while draining). */
  readonly statusUpdates: number[] = [];
  private server?: Server;
  private wss?: WebSocketServer;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.wss = new WebSocketServer({ server: this.server, path: '/agent' });
    this.wss.on('connection', (socket, req) => {
      const authorization = String(req.headers.authorization ?? '');
      socket.on('message', (data: Buffer) => {
        const msg = WorkerMessage.fromBinary(new Uint8Array(data));
        if (msg.message.case === 'register') {
          this.registrations.push({ agentName: msg.message.value.agentName, authorization });
          const reply = new ServerMessage({
            message: { case: 'register', value: new RegisterWorkerResponse({ workerId: `W_test_${this.registrations.length}`, serverInfo: new ServerInfo({ version: 'fake' }) }) },
          });
          socket.send(reply.toBinary());
        } else if (msg.message.case === 'updateWorker' && msg.message.value.status !== undefined) {
          this.statusUpdates.push(msg.message.value.status);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
