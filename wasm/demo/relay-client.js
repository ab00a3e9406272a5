// A client of `callseal relay` (docs/RELAY.md) for the demo and the browser
// tests: a name on the relay, signals to other names, rooms, and media
// frames on the binary channel. An app with its own server replaces this
// file, not the package: the package only needs bytes carried.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Standard base64 of bytes (RFC 4648 §4), as the relay's call convention wants. */
export function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Bytes from standard base64. */
export function fromBase64(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * One connection to the relay. Events (`CustomEvent`, the relay's message
 * as `detail`): `signal`, `peer-joined`, `peer-left`, `room`,
 * `member-joined`, `member-left`, `commit`, `commit-rejected`, `broadcast`,
 * `error`, `frame` (`{ from, bytes }`) and `close`.
 */
export class RelayClient extends EventTarget {
  #socket;

  constructor(socket, name, peers) {
    super();
    this.#socket = socket;
    /** The name the relay gave this client. */
    this.name = name;
    /** The other clients when this one arrived. */
    this.peers = peers;
  }

  /** Connects to `url` as `name`; resolves once the relay welcomed it. */
  static connect(url, name) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.binaryType = 'arraybuffer';
      let client = null;
      socket.onopen = () => socket.send(JSON.stringify({ type: 'hello', name }));
      socket.onerror = () => {
        if (!client) reject(new Error(`cannot reach the relay at ${url}`));
      };
      socket.onclose = () => {
        if (client) client.dispatchEvent(new CustomEvent('close'));
        else reject(new Error('the relay closed the connection'));
      };
      socket.onmessage = (event) => {
        if (typeof event.data !== 'string') {
          const bytes = new Uint8Array(event.data);
          const len = bytes[0];
          const from = decoder.decode(bytes.subarray(1, 1 + len));
          client?.dispatchEvent(new CustomEvent('frame', { detail: { from, bytes: bytes.subarray(1 + len) } }));
          return;
        }
        const message = JSON.parse(event.data);
        if (!client) {
          if (message.type === 'welcome') {
            client = new RelayClient(socket, message.name, message.peers);
            resolve(client);
          } else {
            reject(new Error(`the relay refused ${name}: ${message.code}`));
          }
          return;
        }
        client.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      };
    });
  }

  #send(message) {
    this.#socket.send(JSON.stringify(message));
  }

  /** Sends `data` (an object) to client `to`. */
  signal(to, data) {
    this.#send({ type: 'signal', to, data });
  }

  join(room) {
    this.#send({ type: 'join', room });
  }

  leave(room) {
    this.#send({ type: 'leave', room });
  }

  /** A commit made in `epoch`, for the relay to order. */
  commit(room, epoch, data) {
    this.#send({ type: 'commit', room, epoch, data });
  }

  broadcast(room, data) {
    this.#send({ type: 'broadcast', room, data });
  }

  /** Sends one media frame to client `to` (or `#room`). */
  sendFrame(to, bytes) {
    const name = encoder.encode(to);
    const message = new Uint8Array(1 + name.length + bytes.length);
    message[0] = name.length;
    message.set(name, 1);
    message.set(bytes, 1 + name.length);
    this.#socket.send(message);
  }

  close() {
    this.#socket.close();
  }
}
