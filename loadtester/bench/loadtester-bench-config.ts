/** The settings of `npm run bench:loadtester` (and its --help summary), importable without running the command. */
export const loadtesterBenchSpec = {}

export const loadtesterBenchSummary =
  'How fast the load tester keeps its schedule: open-loop rates of increasing size against a trivial local server,\n' +
  'with tiny and 110 KB bodies, and wrk and hey (when installed) for comparison. Writes out/bench/loadtester.json.'
