// The lab CA: Debian's pebble (an ACME server for tests) on the gateway, validating
// HTTP-01 on port 80 of lab hosts (and dns-01/tls-alpn-01) with names resolved by the lab
// resolver. Two roots are involved:
// - the *lab CA* (openssl, made once and cached in LAB_DIR/ca) signs pebble's own HTTPS
//   listener for acme.lab.test and the gateway IP, so ACME clients can verify who they talk to;
// - *pebble's root* signs the certificates it issues. Pebble makes a new one on every start;
//   `up` fetches it from the management port into RUN_DIR/acme.
// Both are trusted inside every lab host and bundled for test clients.
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { $ } from "./sh";
import { LAB, PATHS, RUN_DIR } from "./config";
import { startDaemon, stopDaemon, waitFor } from "./proc";

const ACME_DIR = path.join(RUN_DIR, "acme");
export const CA_FILES = {
  labCaKey: path.join(PATHS.caDir, "lab-ca.key"),
  labCa: path.join(PATHS.caDir, "lab-ca.pem"),
  listenerKey: path.join(PATHS.caDir, "acme-listener.key"),
  listener: path.join(PATHS.caDir, "acme-listener.pem"),
  pebbleConf: path.join(ACME_DIR, "pebble.json"),
  pebbleRoot: path.join(ACME_DIR, "pebble-root.pem"),
  pebbleIntermediate: path.join(ACME_DIR, "pebble-intermediate.pem"),
  trustBundle: path.join(ACME_DIR, "trust-bundle.pem"),
};

export const ACME_DIRECTORY = `https://${LAB.gateway}:${LAB.acmePort}/dir`;
const ACME_NAME = `acme.${LAB.labZone}`;

/** Creates the lab CA and pebble's listener certificate once (EC P-256: fast to make). */
export async function ensureLabCa(): Promise<void> {
  fs.mkdirSync(PATHS.caDir, { recursive: true, mode: 0o700 });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  if (!fs.existsSync(CA_FILES.labCa) || !fs.existsSync(CA_FILES.labCaKey)) {
    fs.rmSync(CA_FILES.listener, { force: true }); // a new CA invalidates the old listener certificate
    await $({ quiet: true })`openssl req -x509 -new ${ec} -keyout ${CA_FILES.labCaKey} -out ${CA_FILES.labCa} -days 3650 -subj ${"/CN=podkit lab CA (lab only, not for production)"} -addext ${"basicConstraints=critical,CA:TRUE"} -addext ${"keyUsage=critical,keyCertSign,cRLSign"}`;
  }
  if (!fs.existsSync(CA_FILES.listener) || !fs.existsSync(CA_FILES.listenerKey)) {
    await $({ quiet: true })`openssl req -x509 -new ${ec} -keyout ${CA_FILES.listenerKey} -out ${CA_FILES.listener} -CA ${CA_FILES.labCa} -CAkey ${CA_FILES.labCaKey} -days 825 -subj ${`/CN=${ACME_NAME}`} -addext ${`subjectAltName=DNS:${ACME_NAME},IP:${LAB.gateway}`} -addext ${"basicConstraints=critical,CA:FALSE"} -addext ${"extendedKeyUsage=serverAuth"}`;
  }
  for (const f of [CA_FILES.labCaKey, CA_FILES.listenerKey]) fs.chmodSync(f, 0o600);
}

function fetchPem(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: fs.readFileSync(CA_FILES.labCa), timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => (res.statusCode === 200 && body.includes("BEGIN CERTIFICATE") ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timeout`)));
    req.on("error", reject);
  });
}

/**
 * Starts pebble (ACME on gateway:14000, management on gateway:15000, challenges to ports
 * 80/443 of lab hosts, DNS through the lab resolver), then saves its new root and the trust bundle.
 */
export async function caUp(): Promise<void> {
  fs.mkdirSync(ACME_DIR, { recursive: true });
  fs.writeFileSync(
    CA_FILES.pebbleConf,
    JSON.stringify(
      {
        pebble: {
          listenAddress: `${LAB.gateway}:${LAB.acmePort}`,
          managementListenAddress: `${LAB.gateway}:${LAB.acmeManagementPort}`,
          certificate: CA_FILES.listener,
          privateKey: CA_FILES.listenerKey,
          httpPort: 80,
          tlsPort: 443,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      },
      null,
      2,
    ) + "\n",
  );
  // NOSLEEP: validate at once instead of after a random 0-15 s. NONCEREJECT=0: pebble rejects 5%
  // of good nonces by default to test client retries; the lab wants reliable, fast issuance.
  startDaemon("pebble", "pebble", ["-config", CA_FILES.pebbleConf, "-dnsserver", `${LAB.gateway}:53`], {
    PEBBLE_VA_NOSLEEP: "1",
    PEBBLE_WFE_NONCEREJECT: "0",
  });
  const mgmt = `https://${LAB.gateway}:${LAB.acmeManagementPort}`;
  let root = "";
  await waitFor("pebble's root certificate", async () => ((root = await fetchPem(`${mgmt}/roots/0`)), true), 15000, 100);
  fs.writeFileSync(CA_FILES.pebbleRoot, root);
  fs.writeFileSync(CA_FILES.pebbleIntermediate, await fetchPem(`${mgmt}/intermediates/0`));
  fs.writeFileSync(CA_FILES.trustBundle, fs.readFileSync(CA_FILES.labCa, "utf8").trim() + "\n" + root.trim() + "\n");
}

export async function caDown(): Promise<void> {
  await stopDaemon("pebble");
}

/** The roots lab hosts must trust, with OpenSSL subject hashes for their CApath links. */
export async function labRoots(): Promise<{ name: string; pem: string; hash: string }[]> {
  const roots = [
    { name: "podkit-lab-ca", file: CA_FILES.labCa },
    { name: "podkit-lab-acme-root", file: CA_FILES.pebbleRoot },
  ];
  return Promise.all(
    roots.map(async (r) => ({
      name: r.name,
      pem: fs.readFileSync(r.file, "utf8"),
      hash: (await $({ quiet: true })`openssl x509 -subject_hash -noout -in ${r.file}`).stdout.trim(),
    })),
  );
}
