/**
 * Who runs the agent's commands in a sandbox. `agent` is an unprivileged uid and gid (1000) that
 * owns /repo; `root` must be written out as such: a uid of 0 spelled any other way is refused, so
 * nobody runs the agent as root without having chosen it.
 */
export const AGENT_UID = 1000;

export interface SandboxUser {
  uid: number;
  gid: number;
}

export type UserParse = { ok: true; user: SandboxUser } | { ok: false; message: string };

const NUMERIC = /^(\d{1,10})(?::(\d{1,10}))?$/;

export function parseSandboxUser(value: string): UserParse {
  if (value === 'agent') return { ok: true, user: { uid: AGENT_UID, gid: AGENT_UID } };
  if (value === 'root') return { ok: true, user: { uid: 0, gid: 0 } };
  const match = NUMERIC.exec(value);
  if (!match) {
    if (/^root(:|$)/.test(value))
      return { ok: false, message: `"${value}" runs the agent as root: write "root" to choose that` };
    return { ok: false, message: `"${value}" is not a user: write "agent", "root" or "<uid>[:<gid>]"` };
  }
  const uid = Number(match[1]);
  const gid = match[2] === undefined ? uid : Number(match[2]);
  if (uid === 0)
    return { ok: false, message: `"${value}" runs the agent as root: write "root" to choose that` };
  return { ok: true, user: { uid, gid } };
}

/** The `uid:gid` form the engine's exec and create calls take. */
export function userSpec(user: SandboxUser): string {
  return `${user.uid}:${user.gid}`;
}
