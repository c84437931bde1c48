// mailauth ships no type declarations; the tests use authenticate() only.
declare module "mailauth" {
  export function authenticate(message: Buffer | string, opts: Record<string, unknown>): Promise<any>;
}
