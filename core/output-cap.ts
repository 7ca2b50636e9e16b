/**
 * Keeps command output within a byte budget. Output that was cut says so, with how much was
 * dropped, so neither a person nor a model mistakes it for the whole.
 */
export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly capBytes: number) {}

  append(chunk: Buffer): void {
    const room = this.capBytes - this.kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  get droppedBytes(): number {
    return this.dropped;
  }

  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    if (!this.truncated) return body;
    return `${body}\n[output truncated: ${this.dropped} more bytes not shown (cap ${this.capBytes} bytes)]`;
  }
}
