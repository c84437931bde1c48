// A minimal STUN/TURN client (RFC 5389, RFC 5766) over UDP: enough to ask
// coturn for our reflexive address and to allocate a relay with the
// short-lived credentials Prosody hands out.
import { createHash, createHmac, randomBytes } from "node:crypto";
import * as dgram from "node:dgram";

const MAGIC = 0x2112a442;
const ATTR = { USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, REALM: 0x0014, NONCE: 0x0015, XOR_RELAYED_ADDRESS: 0x0016, REQUESTED_TRANSPORT: 0x0019, XOR_MAPPED_ADDRESS: 0x0020, LIFETIME: 0x000d };

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
  return withSocket(async (sock) => {
    const transport = attr(ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const first = await ask(sock, host, port, message(0x0003, [transport]));
    if (first.error !== 401) throw new Error(`expected 401 asking for credentials, got ${first.error ?? first.cls}`);
    const realm = first.attrs.get(ATTR.REALM)!;
    const nonce = first.attrs.get(ATTR.NONCE)!;
    const key = createHash("md5").update(`${username}:${realm.toString()}:${password}`).digest();
    return ask(sock, host, port, message(0x0003, [transport, attr(ATTR.USERNAME, Buffer.from(username)), attr(ATTR.REALM, realm), attr(ATTR.NONCE, nonce)], key));
  });
}

export { ATTR };
