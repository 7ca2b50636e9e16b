/** Plain SVG charts (line and bar), so figures and reports can be looked at, not only read. No dependencies. */
export interface Series {
  label: string;
  points: Array<[number, number]>;
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const width = 640;
  const height = 360;
  const pad = { left: 70, right: 20, top: 40, bottom: 50 };
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p[0]), 1);
  const yMax = Math.max(...all.map((p) => p[1]), 1e-9) * 1.1;
  const x = (v: number): number => pad.left + (v / xMax) * (width - pad.left - pad.right);
  const y = (v: number): number => height - pad.bottom - (v / yMax) * (height - pad.top - pad.bottom);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts = [
    ...frame(title, width, height, pad),
    ...ticks.map(
      (t) =>
        `<text x="${x(t * xMax)}" y="${height - pad.bottom + 16}" text-anchor="middle">${format(t * xMax)}</text>`,
    ),
    ...ticks.map(
      (t) => `<text x="${pad.left - 6}" y="${y(t * yMax) + 4}" text-anchor="end">${format(t * yMax)}</text>`,
    ),
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(16 ${height / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  series.forEach((s, i) => {
    const color = colors[i % colors.length];
    const d = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points)
      parts.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(
      `<text x="${width - pad.right - 4}" y="${pad.top + 16 * (i + 1)}" text-anchor="end" fill="${color}">${escape(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface Bar {
  label: string;
  value: number;
}

/** A vertical bar chart; long category labels are written at an angle under their bars. */
export function barChart(title: string, xLabel: string, yLabel: string, bars: Bar[]): string {
  const longest = Math.max(0, ...bars.map((b) => b.label.length));
  const width = Math.max(640, 90 + bars.length * 26);
  const labelRoom = Math.min(160, 20 + longest * 6);
  const height = 320 + labelRoom;
  // Room on the left for the first bar's slanted label.
  const pad = { left: Math.max(70, Math.min(140, longest * 5)), right: 20, top: 40, bottom: labelRoom + 30 };
  const yMax = Math.max(...bars.map((b) => b.value), 1e-9) * 1.1;
  const slot = (width - pad.left - pad.right) / Math.max(bars.length, 1);
  const y = (v: number): number => height - pad.bottom - (v / yMax) * (height - pad.top - pad.bottom);
  const parts = [
    ...frame(title, width, height, pad),
    ...[0, 0.25, 0.5, 0.75, 1].map(
      (t) => `<text x="${pad.left - 6}" y="${y(t * yMax) + 4}" text-anchor="end">${format(t * yMax)}</text>`,
    ),
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(16 ${height / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  bars.forEach((bar, i) => {
    const x0 = pad.left + i * slot + slot * 0.15;
    const top = y(bar.value);
    const cx = x0 + slot * 0.35;
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(height - pad.bottom - top).toFixed(1)}" fill="#1f77b4"/>`,
      `<text x="${cx.toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10">${format(bar.value)}</text>`,
      `<text transform="translate(${cx.toFixed(1)} ${height - pad.bottom + 14}) rotate(-40)" text-anchor="end" font-size="11">${escape(bar.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The canvas, the title and the two axes. */
function frame(
  title: string,
  width: number,
  height: number,
  pad: { left: number; right: number; top: number; bottom: number },
): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="black"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="black"/>`,
  ];
}

function format(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/** A series of an xy chart: markers only (measurements), a line (a fit), or a dashed line (a guide). */
export interface StyledSeries extends Series {
  style: 'points' | 'line' | 'dashed';
}

/**
 * An xy chart whose x axis is logarithmic (x > 0), for quantities that grow by factors, such as
 * training samples or cost; y is linear from 0. Ticks fall on 1, 2 and 5 times powers of ten.
 */
export function logXChart(title: string, xLabel: string, yLabel: string, series: StyledSeries[]): string {
  const width = 640;
  // The legend sits above the plot, one line a series, so it never covers a curve.
  const legend = 16 * series.length;
  const height = 360 + legend;
  const pad = { left: 70, right: 20, top: 44 + legend, bottom: 50 };
  const all = series.flatMap((s) => s.points).filter((p) => p[0] > 0);
  const logMin = Math.log10(Math.min(...all.map((p) => p[0])));
  let logMax = Math.log10(Math.max(...all.map((p) => p[0])));
  if (logMax - logMin < 1e-9) logMax = logMin + 1;
  const yMax = Math.max(...all.map((p) => p[1]), 1e-9) * 1.1;
  const x = (v: number): number =>
    pad.left + ((Math.log10(v) - logMin) / (logMax - logMin)) * (width - pad.left - pad.right);
  const y = (v: number): number => height - pad.bottom - (v / yMax) * (height - pad.top - pad.bottom);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const decades = logMax - logMin;
  const steps = decades > 4 ? [1] : [1, 2, 5];
  const xTicks: number[] = [];
  for (let k = Math.floor(logMin); k <= Math.ceil(logMax); k += 1)
    for (const m of steps) {
      const v = m * 10 ** k;
      const l = Math.log10(v);
      if (l >= logMin - 1e-9 && l <= logMax + 1e-9) xTicks.push(v);
    }
  const parts = [
    ...frame(title, width, height, pad),
    ...xTicks.map(
      (v) =>
        `<text x="${x(v).toFixed(1)}" y="${height - pad.bottom + 16}" text-anchor="middle">${format(v)}</text>`,
    ),
    ...[0, 0.25, 0.5, 0.75, 1].map(
      (t) => `<text x="${pad.left - 6}" y="${y(t * yMax) + 4}" text-anchor="end">${format(t * yMax)}</text>`,
    ),
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${escape(`${xLabel} (log scale)`)}</text>`,
    `<text transform="translate(16 ${height / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  series.forEach((s, i) => {
    const color = colors[i % colors.length];
    const points = s.points.filter((p) => p[0] > 0);
    if (s.style === 'points') {
      for (const p of points)
        parts.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="4" fill="${color}"/>`);
    } else {
      const d = points
        .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
        .join(' ');
      const dash = s.style === 'dashed' ? ' stroke-dasharray="6 4"' : '';
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    parts.push(
      `<text x="${pad.left + 8}" y="${40 + 16 * i}" fill="${color}">${s.style === 'points' ? '●' : s.style === 'dashed' ? '- -' : '—'} ${escape(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
