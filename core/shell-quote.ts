/** One word for /bin/sh: as it is when it needs no quoting, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[\w./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
