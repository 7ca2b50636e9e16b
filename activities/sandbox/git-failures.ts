/**
 * What git says when the repository is not there, may not be read, or is named wrongly: retrying
 * cannot help. Anything else a clone or fetch prints (a host that does not resolve or answer, a
 * dropped connection, a 5xx or 429, a TLS handshake cut short, a full or failing disk) may pass.
 */
const PERMANENT = [
  /repository '[^']*' (not found|does not exist)/i,
  /Repository not found/i,
  /does not appear to be a git repository/i,
  /The requested URL returned error: (400|401|403|404|410)\b/i,
  /Authentication failed/i,
  /could not read (Username|Password)/i,
  /Permission denied \(publickey/i,
  /Host key verification failed/i,
  /Unable to find remote helper/i,
  /protocol '[^']*' is not supported/i,
  /URL using bad\/illegal format|URL rejected/i,
];

/** True when a failed clone or fetch (git's own words) may succeed if tried again later. */
export function isTransientGitFailure(detail: string): boolean {
  return !PERMANENT.some((pattern) => pattern.test(detail));
}
