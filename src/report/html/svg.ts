import type { TopLevelSpec } from 'vega-lite';

/**
 * A Vega-Lite spec compiled and rendered to SVG in this process: no browser, no canvas, no
 * network (every spec carries its data inline). vega and vega-lite are loaded on first use: a
 * run pays for them only when it writes its report.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  // Their warnings (a scale merged across layers) are for chart authors, not for an operator's terminal.
  const quiet = vega.logger(vega.None);
  const view = new vega.View(vega.parse(vegaLite.compile(spec, { logger: quiet }).spec), { renderer: 'none', logLevel: vega.None });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Text for HTML: element content and attribute values alike (anything else is shown as text too). */
export function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
