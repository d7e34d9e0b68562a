// The reliability table: docs/reliability.json (what runs of `npm run test:reliability` counted,
// one entry per family, each with its own date, commit and seed) rendered as docs/RELIABILITY.md.
// One renderer, used by the run that writes both and by the CI test that checks the page is
// exactly the rendering of the counts.

/** Every family the suite has, in the table's order: one that has not run yet is said, never left out. */
export const FAMILIES = [
  ['crash', 'SIGKILL and SIGINT at seeded moments in every scenario'],
  ['faults', 'the fault matrix: each scenario against each fault'],
  ['fuzz', 'generated runbooks, configs, journals and command lines'],
  ['secrets', 'every artifact of every scenario, and the arguments of every child, searched for the secrets'],
  ['soak', 'rehearse --all again and again: leaks and the CLI memory'],
];

const cell = (text) => String(text).replace(/\|/g, '\\|');

export function renderTable(report) {
  const runs = FAMILIES.map(([name]) => report.families.find((f) => f.family === name)).filter(Boolean);
  const parts = runs.flatMap((run) => run.parts);
  const total = parts.reduce((n, p) => n + p.cases, 0);
  const held = parts.reduce((n, p) => n + p.held, 0);
  const missing = FAMILIES.filter(([name]) => !runs.some((run) => run.family === name));
  return [
    '# Reliability',
    '',
    "Written by `npm run test:reliability` from its own counts (docs/reliability.json). Do not edit: each run of a family rewrites that family's rows.",
    '',
    `${held} of ${total} cases held.`,
    '',
    '| family | what it does | mode | run at | commit | seed | took |',
    '|---|---|---|---|---|---|---|',
    ...runs.map(
      (run) =>
        `| ${run.family} | ${cell(FAMILIES.find(([name]) => name === run.family)[1])} | ${run.mode} | ${run.started_at} | \`${run.commit.slice(0, 12)}\`${run.dirty ? ' (with uncommitted changes)' : ''} | ${run.seed} | ${run.duration_s == null ? '—' : `${Math.round(run.duration_s / 60)} min`} |`,
    ),
    '',
    '| family | part | cases | held | did not hold (replay with) |',
    '|---|---|---|---|---|',
    ...parts.map(
      (p) => `| ${p.family} | ${cell(p.part)} | ${p.cases} | ${p.held} | ${p.failed.length ? p.failed.map(cell).join('<br>') : '—'} |`,
    ),
    '',
    ...(missing.length ? ['## Not run yet', '', ...missing.map(([name, what]) => `- ${name}: ${what}`), ''] : []),
  ].join('\n');
}
