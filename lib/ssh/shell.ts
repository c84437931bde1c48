// Quoting for the remote shell: every value podkit puts into a script it runs
// over SSH goes through here, so there is one rule to get right.

/** `s` as one single-quoted bash word (a quote inside becomes '\''). */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
