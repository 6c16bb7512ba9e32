/**
 * The value of one sample in Prometheus text format, e.g. metric(text, 'gateway_rejected_total{reason="deadline"}');
 * 0 when absent (a counter never incremented). For tests and benchmarks reading /metrics.
 */
export function metric(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}
