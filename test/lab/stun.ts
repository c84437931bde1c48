// A minimal STUN/TURN client (RFC 5389, RFC 5766) over UDP: enough to ask
// coturn for our reflexive address, to allocate a relay with the short-lived
// credentials Prosody hands out and ask it for permissions to peers; and, over
// TCP, to ask for a TCP relay (RFC 6062).
import { createHash, createHmac, randomBytes } from "node:crypto";
import * as dgram from "node:dgram";
import * as net from "node:net";

const MAGIC = 0x2112a442;
const ATTR = { XOR_PEER_ADDRESS: 0x0012, USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, REALM: 0x0014, NONCE: 0x0015, XOR_RELAYED_ADDRESS: 0x0016, REQUESTED_TRANSPORT: 0x0019, XOR_MAPPED_ADDRESS: 0x0020, LIFETIME: 0x000d };

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function message(method: number, attrs: Buffer[], integrityKey?: Buffer): Buffer {
  const id = randomBytes(12);
  let body = Buffer.concat(attrs);
  const header = (len: number) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(method, 0);
    h.writeUInt16BE(len, 2);
    h.writeUInt32BE(MAGIC, 4);
    id.copy(h, 8);
    return h;
  };
  if (integrityKey) {
    const withLen = Buffer.concat([header(body.length + 24), body]);
    body = Buffer.concat([body, attr(ATTR.MESSAGE_INTEGRITY, createHmac("sha1", integrityKey).update(withLen).digest())]);
  }
  return Buffer.concat([header(body.length), body]);
}

export interface StunReply {
  cls: "success" | "error";
  attrs: Map<number, Buffer>;
  error?: number;
}

function parse(b: Buffer): StunReply {
  const type = b.readUInt16BE(0);
  const attrs = new Map<number, Buffer>();
  for (let i = 20; i + 4 <= b.length;) {
    const t = b.readUInt16BE(i);
    const l = b.readUInt16BE(i + 2);
    attrs.set(t, b.subarray(i + 4, i + 4 + l));
    i += 4 + l + ((4 - (l % 4)) % 4);
  }
  const err = attrs.get(ATTR.ERROR_CODE);
  // Class bits C1 (0x0100) and C0 (0x0010): success response 10, error response 11.
  return { cls: (type & 0x0110) === 0x0110 ? "error" : "success", attrs, error: err ? err[2] * 100 + err[3] : undefined };
}

/** The address a XOR-*-ADDRESS attribute carries. */
export function xorAddress(v: Buffer): string {
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = [0, 1, 2, 3].map((i) => v[4 + i] ^ ((MAGIC >>> (24 - 8 * i)) & 0xff)).join(".");
  return `${ip}:${port}`;
}

function ask(sock: dgram.Socket, host: string, port: number, msg: Buffer, timeoutMs = 3000): Promise<StunReply> {
  return new Promise<StunReply>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no STUN answer from ${host}:${port}`)), timeoutMs);
    sock.once("message", (m) => { clearTimeout(timer); resolve(parse(m)); });
    sock.send(msg, port, host);
  });
}

/** One UDP socket for a whole exchange: TURN ties the nonce and the allocation to it. */
async function withSocket<T>(f: (sock: dgram.Socket) => Promise<T>): Promise<T> {
  const sock = dgram.createSocket("udp4");
  try {
    return await f(sock);
  } finally {
    sock.close();
  }
}

export const binding = (host: string, port: number) => withSocket((s) => ask(s, host, port, message(0x0001, [])));

/** TURN Allocate with long-term credentials: first unauthenticated (401 gives realm and nonce), then signed. */
export function allocate(host: string, port: number, username: string, password: string): Promise<StunReply> {
  return withAllocation(host, port, username, password, async (a) => a.reply);
}

/** An XOR-PEER-ADDRESS (or any XOR-*-ADDRESS) value for an IPv4 address and port. */
export function xorPeer(ip: string, port: number): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt16BE(0x0001, 0);
  v.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
  ip.split(".").forEach((o, i) => { v[4 + i] = Number(o) ^ ((MAGIC >>> (24 - 8 * i)) & 0xff); });
  return v;
}

export interface TurnAllocation {
  /** The allocation's reply (success, or the error that refused it). */
  reply: StunReply;
  /** CreatePermission (RFC 5766 9) for a peer: coturn answers 403 for a peer it may not relay to. */
  createPermission(ip: string, port?: number): Promise<StunReply>;
}

/**
 * An allocation kept open for more requests on the same socket (UDP), signed with the
 * long-term credentials: Allocate, then as many CreatePermission as the test asks.
 */
export async function withAllocation<T>(host: string, port: number, username: string, password: string, f: (a: TurnAllocation) => Promise<T>): Promise<T> {
  return withSocket(async (sock) => {
    const transport = attr(ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const first = await ask(sock, host, port, message(0x0003, [transport]));
    if (first.error !== 401) throw new Error(`expected 401 asking for credentials, got ${first.error ?? first.cls}`);
    const realm = first.attrs.get(ATTR.REALM)!;
    const nonce = first.attrs.get(ATTR.NONCE)!;
    const key = createHash("md5").update(`${username}:${realm.toString()}:${password}`).digest();
    const signed = (extra: Buffer[]) => [...extra, attr(ATTR.USERNAME, Buffer.from(username)), attr(ATTR.REALM, realm), attr(ATTR.NONCE, nonce)];
    const reply = await ask(sock, host, port, message(0x0003, signed([transport]), key));
    return f({
      reply,
      createPermission: (ip, peerPort = 9) => ask(sock, host, port, message(0x0008, signed([attr(ATTR.XOR_PEER_ADDRESS, xorPeer(ip, peerPort))]), key)),
    });
  });
}

/**
 * Asks for a TCP relay (REQUESTED-TRANSPORT 6, RFC 6062) over a TCP control
 * connection, with the long-term credentials; returns the signed Allocate's reply.
 */
export function allocateTcpRelay(host: string, port: number, username: string, password: string, timeoutMs = 5000): Promise<StunReply> {
  return new Promise<StunReply>((resolve, reject) => {
    const sock = net.connect(port, host);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no TURN answer over TCP from ${host}:${port}`)); }, timeoutMs);
    let buf = Buffer.alloc(0);
    let step = 0;
    const transport = attr(ATTR.REQUESTED_TRANSPORT, Buffer.from([6, 0, 0, 0]));
    sock.on("error", (err) => { clearTimeout(timer); reject(err); });
    sock.on("connect", () => sock.write(message(0x0003, [transport])));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      // STUN over TCP: messages back to back, each 20 bytes of header plus its length.
      while (buf.length >= 20 && buf.length >= 20 + buf.readUInt16BE(2)) {
        const m = parse(buf.subarray(0, 20 + buf.readUInt16BE(2)));
        buf = buf.subarray(20 + buf.readUInt16BE(2));
        if (step === 0) {
          step = 1;
          if (m.error !== 401) { clearTimeout(timer); sock.destroy(); resolve(m); return; }
          const realm = m.attrs.get(ATTR.REALM)!;
          const nonce = m.attrs.get(ATTR.NONCE)!;
          const key = createHash("md5").update(`${username}:${realm.toString()}:${password}`).digest();
          sock.write(message(0x0003, [transport, attr(ATTR.USERNAME, Buffer.from(username)), attr(ATTR.REALM, realm), attr(ATTR.NONCE, nonce)], key));
        } else {
          clearTimeout(timer);
          sock.destroy();
          resolve(m);
          return;
        }
      }
    });
  });
}

export { ATTR };
