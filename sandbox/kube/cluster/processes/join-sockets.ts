/** Two connections joined both ways, as a proxy joins them. */
import type { Socket } from 'node:net';

export function joinSockets(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  // Either end going away, cleanly or not, ends the other: no half-open connection lingers.
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}
