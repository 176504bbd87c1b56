// The last lines of one run kept in memory for `worker-admin logs`: bounded by a line count and by their characters.

/** One line of worker output as the logs API serves it. */
export interface OutputLine {
  /** ISO time the admin read it. */
  at: string;
  identifier: string;
  version: string;
  run: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Keeps at most `maxLines` lines and `maxChars` characters of text, dropping the oldest first. */
export class TailRing {
  private lines: OutputLine[] = [];
  private head = 0;
  private chars = 0;

  constructor(private readonly maxLines: number, private readonly maxChars: number) {}

  push(line: OutputLine): void {
    this.lines.push(line);
    this.chars += line.text.length;
    while (this.size > this.maxLines || (this.chars > this.maxChars && this.size > 1)) {
      this.chars -= this.lines[this.head]!.text.length;
      this.lines[this.head] = undefined as unknown as OutputLine; // let the string go now
      this.head += 1;
    }
    // Compact once the dead prefix is as long as the live part: amortized O(1) per line.
    if (this.head > 64 && this.head >= this.size) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.lines.length - this.head;
  }

  /** The last `n` lines, oldest first. */
  last(n: number): OutputLine[] {
    return n <= 0 ? [] : this.lines.slice(Math.max(this.head, this.lines.length - n));
  }
}
