import type { SvgRunProgress } from '../workflows/svg-run';

/** One line that says where a run stands; redrawn in place on a terminal. */
export function progressLine(p: SvgRunProgress, width = 24): string {
  const done = p.samples > 0 ? p.finished / p.samples : 0;
  const filled = Math.round(done * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  const eta = p.etaSeconds === undefined ? '' : `, ETA ${formatSeconds(p.etaSeconds)}`;
  const paused = p.paused ? ' PAUSED' : '';
  const reused = p.reused > 0 ? ` (${p.reused} reused from the earlier run)` : '';
  return `[${bar}] ${p.finished}/${p.samples} done${reused}, ${p.accepted} accepted, ${p.running} running, ${p.samplesPerMinute.toFixed(1)}/min${eta}, ${p.tokens} tokens, $${p.costUsd.toFixed(2)} (${p.stage})${paused}`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
