// Pure plans (the DNS plan, zone files) need concrete values, but under Pulumi
// some values are Outputs known only after their resource exists (a new
// server's addresses, a generated DKIM key). Creating resources inside
// `.apply()` would hide them from `pulumi preview`, so instead:
//   1. plan once with a unique placeholder text standing for each Output, so
//      the *set* of records (and so of resources) is known at plan time;
//   2. give each resource an input built by putting the real values back in
//      place of the placeholders (`resolve`), which is an Output like any other.
import * as pulumi from "@pulumi/pulumi";

const PATTERN = /@@podkit:[a-z0-9:._-]+@@/g;

export class Placeholders {
  private readonly values = new Map<string, pulumi.Input<string>>();

  /** A text that stands for `value` in a pure plan. Labels must be unique ("mx:ipv4"). */
  add(label: string, value: pulumi.Input<string>): string {
    const text = `@@podkit:${label}@@`;
    if (!/^[a-z0-9:._-]+$/.test(label)) throw new Error(`placeholder label "${label}": lower-case letters, digits and :._- only`);
    if (this.values.has(text)) throw new Error(`placeholder "${label}" is defined twice`);
    this.values.set(text, value);
    return text;
  }

  /**
   * `plan` with the real values in place of the placeholders it holds. Only
   * the values it actually uses become dependencies, so a record that does not
   * name the DKIM key neither waits for it nor inherits its secretness.
   */
  resolve<T>(plan: T): pulumi.Output<T> {
    const used = [...new Set(JSON.stringify(plan).match(PATTERN) ?? [])];
    const unknown = used.filter((p) => !this.values.has(p));
    if (unknown.length) throw new Error(`no value for placeholder ${unknown.join(", ")}`);
    const inputs: Record<string, pulumi.Input<string>> = {};
    for (const p of used) inputs[p] = this.values.get(p)!;
    return pulumi.all(inputs).apply((values) => substitute(plan, values as Record<string, string>));
  }
}

/** Replaces placeholder texts with their values in every string of `plan` (a copy); fails if one is left. */
export function substitute<T>(plan: T, values: Record<string, string>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      const out = v.replace(PATTERN, (p) => {
        const value = values[p];
        if (value === undefined) throw new Error(`no value for placeholder ${p}`);
        return value;
      });
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(plan) as T;
}
