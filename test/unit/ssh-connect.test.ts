// The one pinned SSH connect: a booting host (nothing listening yet) is waited
// for until the deadline, a wrong host key and a refused login end it at once.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { closedPort } from "./ports";
import { connectPinned, HostKeyMismatch, isRetryable, type HostTarget } from "../../lib/ssh/connect";

/** The part of ssh2's server (node-ssh's own dependency; it ships no types) this test uses. */
interface SshServer {
  listen(port: number, host: string, done: () => void): void;
  address(): AddressInfo;
  close(): void;
}
type Client = { on(event: "authentication", f: (ctx: { reject(): void }) => void): void; on(event: "error", f: () => void): void };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Server } = require("ssh2") as { Server: new (config: { hostKeys: Buffer[] }, onClient: (client: Client) => void) => SshServer };

const dir = mkdtempSync(join(tmpdir(), "podkit-connect-"));
const keygen = (name: string) => {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", join(dir, name)]);
  return { priv: readFileSync(join(dir, name)), pub: readFileSync(join(dir, `${name}.pub`), "utf8").trim() };
};
const hostKey = keygen("host");
const otherKey = keygen("other");
keygen("client"); // a key the server refuses, like any other

/** An SSH server that presents `hostKey` and accepts no login. */
let server: SshServer;
let port = 0;
before(async () => {
  server = new Server({ hostKeys: [hostKey.priv] }, (client) => {
    client.on("authentication", (ctx) => ctx.reject());
    client.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = server.address().port;
});
after(() => server.close());


const target = (over: Partial<HostTarget>): HostTarget =>
  ({ name: "mx", address: "127.0.0.1", port, user: "root", hostKey: hostKey.pub, privateKeyPath: join(dir, "client"), ...over });

test("a refused connection is retried until the deadline, then named with the attempts", async () => {
  const started = Date.now();
  await assert.rejects(
    connectPinned(target({ port: await closedPort() }), { attemptTimeoutMs: 1000, waitMs: 600, retryEveryMs: 100 }),
    (err: Error) => /^mx \(127\.0\.0\.1:\d+\): cannot connect over SSH \(\d+ attempts in 1 s\): .*ECONNREFUSED/.test(err.message),
  );
  assert.ok(Date.now() - started >= 600, "waited until the deadline");
});

test("a wait says what it waits for, at the first retry and then now and then", async () => {
  const lines: string[] = [];
  await assert.rejects(connectPinned(target({ port: await closedPort() }),
    { attemptTimeoutMs: 1000, waitMs: 700, retryEveryMs: 100, sayEveryMs: 60_000, say: (m) => lines.push(m) }));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0], /^mx \(127\.0\.0\.1:\d+\): waiting for SSH to answer with the pinned host key \(a new server boots and runs cloud-init first; last: .*ECONNREFUSED.*\); \d+ s left$/);
});

test("a wait ends early when giveUp says why", async () => {
  const reason = new Error("host stopped while booting");
  await assert.rejects(
    connectPinned(target({ port: await closedPort() }), { attemptTimeoutMs: 1000, waitMs: 60_000, retryEveryMs: 50, giveUp: () => reason }),
    (err) => err === reason,
  );
});

test("a host key other than the pinned one fails at once, whatever the wait", async () => {
  const started = Date.now();
  await assert.rejects(connectPinned(target({ hostKey: otherKey.pub }), { attemptTimeoutMs: 5000, waitMs: 60_000, retryEveryMs: 100 }), HostKeyMismatch);
  assert.ok(Date.now() - started < 5000, "not retried");
});

test("a refused login fails at once, whatever the wait", async () => {
  const started = Date.now();
  await assert.rejects(
    connectPinned(target({}), { attemptTimeoutMs: 5000, waitMs: 60_000, retryEveryMs: 100 }),
    (err: Error) => !(err instanceof HostKeyMismatch) && /cannot connect over SSH: All configured authentication methods failed/.test(err.message),
  );
  assert.ok(Date.now() - started < 5000, "not retried");
});

test("only what a booting host answers is retryable", () => {
  const socket = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:22"), { level: "client-socket", code: "ECONNREFUSED" });
  const handshake = Object.assign(new Error("Timed out while waiting for handshake"), { level: "client-timeout" });
  const auth = Object.assign(new Error("All configured authentication methods failed"), { level: "client-authentication" });
  assert.deepEqual([socket, handshake, auth, new HostKeyMismatch("x")].map(isRetryable), [true, true, false, false]);
});
