// Chat file upload (XEP-0363) as a client does it: ask the pod's upload
// service for a slot, PUT the bytes, GET them back, over HTTPS to the pod's
// host with the certificate checked for the URL's name.
import * as https from "node:https";
import type { LabPod, Pods } from "./pods";
import { type Session, xmlLib } from "./xmppclients";

/** HTTPS to the pod's host by address, the certificate checked for the URL's name. */
export function podRequest(pods: Pods, pod: LabPod, method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: pod.ip, port: u.port, path: u.pathname + u.search, method, servername: u.hostname, ca: pods.ca,
      headers: { host: u.host, ...headers, ...(body ? { "content-length": String(body.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A slot from upload.<domain>, the file PUT into it; returns the PUT status and the URL to GET it from. */
export async function upload(pods: Pods, pod: LabPod, session: Session, file: Buffer, filename: string, contentType: string): Promise<{ putUrl: string; putStatus: number; getUrl: string }> {
  const { xml } = xmlLib();
  const slot = await session.iq(xml("iq", { type: "get", to: `upload.${pod.domain}` },
    xml("request", { xmlns: "urn:xmpp:http:upload:0", filename, size: String(file.length), "content-type": contentType })));
  const s = slot.getChild("slot", "urn:xmpp:http:upload:0")!;
  const put = s.getChild("put")!;
  const headers = Object.fromEntries(put.getChildren("header").map((h) => [h.attrs.name, h.getText()]));
  const up = await podRequest(pods, pod, "PUT", put.attrs.url, file, { ...headers, "content-type": contentType });
  return { putUrl: put.attrs.url, putStatus: up.status, getUrl: s.getChild("get")!.attrs.url };
}
