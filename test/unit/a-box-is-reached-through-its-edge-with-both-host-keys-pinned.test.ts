// SSH through a jump host, for real: two in-process SSH servers on 127.0.0.1,
// the edge (which opens direct-tcpip channels as sshd does) and the box behind
// it. podkit connects to the edge, reaches the box through it, pins both keys,
// and falls back to the box's own address when the way through the edge fails.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect as tcpConnect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { after, before, test } from "node:test";
import { connectPinned, HostKeyMismatch, type HostTarget } from "../../lib/ssh/connect";

/** The part of ssh2's server (node-ssh's own dependency; it ships no types) this test uses. */
interface SshServer {
  listen(port: number, host: string, done: () => void): void;
  address(): AddressInfo;
  close(): void;
}
interface TcpipInfo { destIP: string; destPort: number }
interface Session { on(event: "exec", f: (accept: () => Duplex & { exit(code: number): void; end(): void }, reject: () => void, info: { command: string }) => void): void }
interface Client {
  on(event: "authentication", f: (ctx: { accept(): void }) => void): Client;
  on(event: "ready", f: () => void): Client;
  on(event: "close" | "error", f: () => void): Client;
  on(event: "tcpip", f: (accept: () => Duplex, reject: () => void, info: TcpipInfo) => void): Client;
  on(event: "session", f: (accept: () => Session) => void): Client;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Server } = require("ssh2") as { Server: new (config: { hostKeys: Buffer[] }, onClient: (client: Client) => void) => SshServer };

const dir = mkdtempSync(join(tmpdir(), "podkit-jump-"));
const keygen = (name: string) => {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", join(dir, name)]);
  return { priv: readFileSync(join(dir, name)), pub: readFileSync(join(dir, `${name}.pub`), "utf8").trim() };
};
const edgeKey = keygen("edge");
const boxKey = keygen("box");
const otherKey = keygen("other");
keygen("client");

/** What the edge is told to do with a channel podkit asks it for. */
let tcpip: "forward" | "refuse" | "ignore" = "forward";
const opened: TcpipInfo[] = [];
let edgeClosed = 0;
let edgeClients = 0;

/** The box: accepts any login and answers `hostname` with "box". */
let box: SshServer;
/** The edge: accepts any login and forwards direct-tcpip channels to the address asked for, as sshd does. */
let edge: SshServer;

function answering(client: Client, name: string): void {
  client.on("authentication", (ctx) => ctx.accept()).on("error", () => {});
  client.on("session", (accept) => accept().on("exec", (acceptExec, _reject, info) => {
    const stream = acceptExec();
    stream.write(info.command === "hostname" ? `${name}\n` : "");
    stream.exit(0);
    stream.end();
  }));
}

before(async () => {
  box = new Server({ hostKeys: [boxKey.priv] }, (client) => answering(client, "box"));
  edge = new Server({ hostKeys: [edgeKey.priv] }, (client) => {
    edgeClients++;
    answering(client, "edge");
    client.on("close", () => edgeClosed++);
    client.on("tcpip", (accept, reject, info) => {
      opened.push(info);
      if (tcpip === "refuse") return reject();
      if (tcpip === "ignore") return;
      const channel = accept();
      const sock = tcpConnect(info.destPort, info.destIP);
      sock.on("error", () => channel.destroy());
      channel.pipe(sock).pipe(channel);
    });
  });
  await Promise.all([box, edge].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()))));
});
after(() => {
  box.close();
  edge.close();
});

const POLICY = { attemptTimeoutMs: 3000, waitMs: 0, retryEveryMs: 100 };
const edgeTarget = (over: Partial<HostTarget> = {}): HostTarget =>
  ({ name: "gw", address: "127.0.0.1", port: edge.address().port, user: "root", hostKey: edgeKey.pub, privateKeyPath: join(dir, "client"), ...over });
/** The box as its target says it: its "tunnel address" is where the edge finds it. */
const boxTarget = (over: Partial<HostTarget> = {}): HostTarget =>
  ({ name: "box", address: "127.0.0.1", port: box.address().port, user: "root", hostKey: boxKey.pub, privateKeyPath: join(dir, "client"), via: edgeTarget(), ...over });
const reset = (mode: typeof tcpip) => {
  tcpip = mode;
  opened.length = 0;
};
const waitFor = async (ok: () => boolean) => {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
};

test("the box is reached through the edge: the edge opens a channel to the box's address, and commands run on the box", async () => {
  reset("forward");
  const ssh = await connectPinned(boxTarget(), POLICY);
  try {
    assert.deepEqual(opened.map((o) => [o.destIP, o.destPort]), [["127.0.0.1", box.address().port]]);
    assert.equal((await ssh.execCommand("hostname")).stdout, "box");
  } finally {
    ssh.dispose();
  }
});

test("closing the box's connection closes the edge's too", async () => {
  reset("forward");
  const before = edgeClosed;
  const ssh = await connectPinned(boxTarget(), POLICY);
  ssh.dispose();
  await waitFor(() => edgeClosed > before);
  assert.equal(edgeClosed, before + 1);
});

test("a box key other than the pinned one fails, and no direct address is tried instead", async () => {
  reset("forward");
  const said: string[] = [];
  await assert.rejects(
    connectPinned(boxTarget({ hostKey: otherKey.pub, direct: { address: "127.0.0.1", port: box.address().port } }), { ...POLICY, say: (m) => said.push(m) }),
    (err) => err instanceof HostKeyMismatch && /^box \(127\.0\.0\.1:\d+\): host key SHA256:\S+ does not match the pinned/.test(err.message),
  );
  assert.deepEqual(said, []);
});

test("an edge key other than the pinned one fails before any channel to the box is asked for", async () => {
  reset("forward");
  await assert.rejects(
    connectPinned(boxTarget({ via: edgeTarget({ hostKey: otherKey.pub }), direct: { address: "127.0.0.1", port: box.address().port } }), POLICY),
    (err) => err instanceof HostKeyMismatch && /^gw \(/.test(err.message),
  );
  assert.equal(opened.length, 0);
});

test("when the edge cannot reach the box (no tunnel yet), the box is reached once at its direct address, saying so", async () => {
  reset("refuse");
  const said: string[] = [];
  const ssh = await connectPinned(boxTarget({ address: "10.201.0.2", port: 22, direct: { address: "127.0.0.1", port: box.address().port } }),
    { ...POLICY, say: (m) => said.push(m) });
  try {
    assert.equal((await ssh.execCommand("hostname")).stdout, "box");
    assert.equal(opened.length, 1, "one try through the edge");
    assert.equal(said.length, 1);
    assert.match(said[0], /^box: not reachable through its edge gw \(.*gw could not open a connection to 10\.201\.0\.2:22.*\); connecting directly to 127\.0\.0\.1:\d+ instead, as before its first apply/);
  } finally {
    ssh.dispose();
  }
});

test("without a direct address, the edge's refusal is the error, naming the box and the edge", async () => {
  reset("refuse");
  await assert.rejects(connectPinned(boxTarget({ address: "10.201.0.2", port: 22 }), POLICY),
    /^Error: box \(10\.201\.0\.2:22\): cannot connect over SSH: gw could not open a connection to 10\.201\.0\.2:22/);
});

test("a channel the edge never answers (a tunnel whose far side is gone) is given up within the attempt's limit", async () => {
  reset("ignore");
  const started = Date.now();
  await assert.rejects(connectPinned(boxTarget({ address: "10.201.0.2", port: 22 }), { ...POLICY, attemptTimeoutMs: 400 }),
    /gw could not open a connection to 10\.201\.0\.2:22 within 0 s/);
  assert.ok(Date.now() - started < 3000);
});

test("each connection to the box is one connection to the edge, closed with it", async () => {
  reset("forward");
  const [clients, closed] = [edgeClients, edgeClosed];
  const ssh = await connectPinned(boxTarget(), { attemptTimeoutMs: 3000, waitMs: 1000, retryEveryMs: 50 });
  ssh.dispose();
  await waitFor(() => edgeClosed > closed);
  assert.deepEqual([edgeClients - clients, edgeClosed - closed], [1, 1]);
});
