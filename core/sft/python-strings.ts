/** Python's `str.strip(chars)`, `lstrip` and `rstrip` for a set of characters, as chat templates use them. */
export function lstripChars(text: string, chars: string): string {
  let start = 0;
  while (start < text.length && chars.includes(text[start]!)) start += 1;
  return text.slice(start);
}

export function rstripChars(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1]!)) end -= 1;
  return text.slice(0, end);
}

export function stripChars(text: string, chars: string): string {
  return lstripChars(rstripChars(text, chars), chars);
}
