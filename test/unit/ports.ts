// Ports for tests that talk to local servers.
import { createServer, type AddressInfo } from "node:net";

/** A port nothing listens on: taken, then released. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}
