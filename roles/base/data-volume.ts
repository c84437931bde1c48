// The data volume, when the host has one (profile.dataVolume): mounted at
// /srv/podkit, and each directory where the pod keeps data bind-mounted from
// it before any daemon writes there, so mailboxes, chat archives and uploads,
// and the backup staging copy outlive the server. The base role runs first on
// every host, so the mounts exist before the mail, chat and backup roles
// install their packages; at boot, mount units come before the daemons, and
// each daemon's drop-in makes it wait for (and require) its mount.
import { renderTemplate } from "../../lib/converge/template";
import type { FileSpec, HandlerSpec, ServiceSpec } from "../../lib/converge/types";

export const DATA_MOUNT = "/srv/podkit";

/** Where the pod keeps data, the name of its home on the volume, and the daemons that write there. */
export const DATA_DIRS = [
  { path: "/var/mail/vhosts", name: "mail", units: ["dovecot.service", "postfix.service"] },
  { path: "/var/lib/prosody", name: "prosody", units: ["prosody.service"] },
  { path: "/var/backups/podkit", name: "backup-stage", units: ["podkit-backup.service"] },
] as const;

/** systemd's unit name for a mount point (systemd-escape --path; our paths hold only [a-z/]). */
export function mountUnit(path: string): string {
  if (!/^\/[a-z/]+$/.test(path)) throw new Error(`${path}: not a path this escaper handles`);
  return `${path.slice(1).replace(/\//g, "-")}.mount`;
}

export interface DataVolumeParts {
  files: FileSpec[];
  handlers: HandlerSpec[];
  services: ServiceSpec[];
}

export function dataVolume(fqdn: string, device: string): DataVolumeParts {
  const volumeUnit = mountUnit(DATA_MOUNT);
  const dirs = DATA_DIRS.map((d) => ({ ...d, source: `${DATA_MOUNT}/${d.name}`, unit: mountUnit(d.path) }));
  const t = (template: string, view: Record<string, unknown>) => renderTemplate("base", `etc/systemd/system/${template}`, { fqdn, ...view });
  const unitPath = (unit: string) => `/etc/systemd/system/${unit}`;
  const files: FileSpec[] = [
    { path: unitPath(volumeUnit), content: t("srv-podkit.mount", { device, mountPoint: DATA_MOUNT }) },
    { path: unitPath("podkit-data-dirs.service"), content: t("podkit-data-dirs.service", { volumeUnit, dirs }) },
    ...dirs.map((d) => ({ path: unitPath(d.unit), content: t("podkit-bind.mount", d) })),
    ...dirs.flatMap((d) => d.units.map((unit) => ({ path: unitPath(`${unit}.d/10-podkit-data.conf`), content: t("podkit-requires-data.conf", { unit, path: d.path }) }))),
  ];
  const watched = (unit: string) => ({ unit, watch: [unitPath(unit)], onChange: "restart" as const });
  return {
    files,
    // New or changed unit files are read only after a daemon-reload; before the mounts start.
    handlers: [{ name: "systemctl daemon-reload", when: files.map((f) => f.path), run: "systemctl daemon-reload" }],
    services: [watched(volumeUnit), watched("podkit-data-dirs.service"), ...dirs.map((d) => watched(d.unit))],
  };
}
