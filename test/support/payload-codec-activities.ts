import { heartbeat } from '@temporalio/activity';

/** Returns its text; heartbeats it first, so heartbeat details carry it too. */
export async function echoText(text: string): Promise<string> {
  heartbeat({ lastSeen: text });
  return `echo: ${text}`;
}
