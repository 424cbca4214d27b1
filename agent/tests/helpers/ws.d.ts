// ws ships no types and @types/ws is not a dependency: the little the fake LiveKit server uses.
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, Server } from 'node:http';

  export class WebSocket extends EventEmitter {
    send(data: Uint8Array): void;
    terminate(): void;
    on(event: 'message', listener: (data: Buffer) => void): this;
  }

  export class WebSocketServer extends EventEmitter {
    constructor(options: { server: Server; path?: string });
    readonly clients: Set<WebSocket>;
    close(): void;
    on(event: 'connection', listener: (socket: WebSocket, request: IncomingMessage) => void): this;
  }
}
