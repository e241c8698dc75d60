// Broadcast for the chat pattern: every open socket gets the message; the
// ones that closed are dropped.
import { WebSocket, added } from './websocket';
import { unset } from './frames';

export class WebSocketHub {
  private sockets: WebSocket[] = [];
  /** Called with the data of every broadcast (before it is sent), e.g. to pass it on over MQTT. */
  onBroadcast: ((data: string | Uint8Array) => void) | null = null;

  /** Sockets open now. */
  get size(): number {
    return this.sockets.length;
  }

  /** Adds a socket; it leaves the hub by itself when it closes. */
  add(ws: WebSocket): void {
    if (ws.closed || this.sockets.indexOf(ws) >= 0) return;
    this.sockets.push(ws);
    // The socket tells its hubs when it closes: no closure per socket.
    ws.hubs = added(ws.hubs, this);
  }

  remove(ws: WebSocket): void {
    const index = this.sockets.indexOf(ws);
    if (index >= 0) this.sockets.splice(index, 1);
    if (ws.hubs === this) unset(ws, 'hubs');
  }

  /** Sends to every open socket except `except`; returns how many got it. */
  broadcast(data: string | Uint8Array, except?: WebSocket): number {
    if (this.onBroadcast) this.onBroadcast(data);
    const open = this.sockets.slice();
    let sent = 0;
    for (let i = 0; i < open.length; i++) {
      const ws = open[i];
      if (ws === except) continue;
      if (ws.closed) this.remove(ws);
      else {
        ws.send(data);
        sent++;
      }
    }
    return sent;
  }
}
