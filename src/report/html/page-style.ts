/** The pages' only styling, inline: system fonts, print-friendly, no external resource. */
export const PAGE_STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; max-width: 980px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 2px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; } dt { color: #666; } dd { margin: 0; }
code { font: 12px ui-monospace, Menlo, Consolas, monospace; background: #f4f4f4; padding: 1px 4px; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eee; }
thead th { color: #555; font-weight: 600; border-bottom: 1px solid #ccc; }
.status { font-size: 13px; padding: 2px 8px; border-radius: 10px; color: #fff; background: #757575; vertical-align: middle; }
.status.succeeded, .status.passed { background: #2e7d32; } .status.failed, .status.interrupted { background: #c62828; } .status.declined, .status.aborted { background: #ef6c00; }
tr.failed td, tr.fail td { color: #b71c1c; } tr.warned td, tr.warn td { color: #8d6e00; }
.warning { color: #8d6e00; font-size: 12px; }
.muted { color: #777; } .missing { color: #b71c1c; }
figure.chart { margin: 10px 0 18px; } figcaption { font-weight: 600; margin-bottom: 4px; }
figure.chart svg { max-width: 100%; height: auto; }
table.scorecard td:nth-child(5) { min-width: 270px; } table.scorecard figcaption { font-weight: normal; color: #777; font-size: 12px; }
blockquote.notice { border-left: 4px solid #1f77b4; margin: 8px 0; padding: 6px 14px; background: #f5f9fd; }
.answer { color: #999; font-style: italic; margin: 0 0 6px; }
footer { margin-top: 32px; color: #777; font-size: 12px; }
`;
