// eslint-disable-next-line no-control-regex -- terminal control sequences start with the ESC character
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Text without terminal colour and cursor codes, as tools print them for a terminal. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}
