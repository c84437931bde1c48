// `podkit zone` short of printing, for the CLI and the lab: load and validate
// the stack, look up host addresses (through the adapters the caller hands in),
// make sure the DKIM key exists, plan the records, render one file per zone.
// Kept apart from zonefile.ts so the Pulumi program does not load the stack file twice.
import { loadPod, type LoadPodOptions } from "../stack/pod";
import { planDns } from "./plan";
import { renderZones, type ZoneFile, type ZoneOptions } from "./zonefile";

export async function zoneFilesForStackFile(stackPath: string, opts: LoadPodOptions & ZoneOptions): Promise<ZoneFile[]> {
  const pod = loadPod(stackPath, { generate: true, requireAddresses: true, ...opts });
  return renderZones(pod.stack, planDns(pod.stack, pod.dns), opts);
}
