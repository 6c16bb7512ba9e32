// The workload file format, in plain JavaScript so that both the load tester (TypeScript, Node) and the k6 script
// (k6's own JS runtime) use the very same parser and stage builder.
//
// Format: non-negative integers, the requests to send in each consecutive second, separated by any whitespace
// (one line or one per line both work); `#` starts a comment that runs to the end of the line.

export class WorkloadFormatError extends Error {
  /**
   * @param {string} message
   * @param {number} line 1-based
   * @param {number} column 1-based
   */
  constructor(message, line, column) {
    super(`${message} at line ${line}, column ${column}`)
    this.name = 'WorkloadFormatError'
    this.line = line
    this.column = column
  }
}

/**
 * @param {string} text
 * @returns {number[]} requests per second, one entry per second
 */
export function parseWorkload(text) {
  const values = []
  const lines = text.split(/\r?\n/)
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l]
    const hash = line.indexOf('#')
    const content = hash === -1 ? line : line.slice(0, hash)
    const tokens = /\S+/g
    let match = tokens.exec(content)
    while (match !== null) {
      const token = match[0]
      if (!/^\d+$/.test(token)) {
        const what = /^-\d+$/.test(token)
          ? 'negative request count'
          : /^-?\d*\.\d+$/.test(token)
            ? 'non-integer request count'
            : 'not a request count'
        throw new WorkloadFormatError(`${what} ${JSON.stringify(token)}`, l + 1, match.index + 1)
      }
      const value = Number(token)
      if (!Number.isSafeInteger(value))
        throw new WorkloadFormatError(`request count too large ${token}`, l + 1, match.index + 1)
      values.push(value)
      match = tokens.exec(content)
    }
  }
  if (values.length === 0) throw new WorkloadFormatError('empty workload: no request counts', 1, 1)
  return values
}

/**
 * k6 `ramping-arrival-rate` stages that replay the workload: one stage per second, its target the scaled count.
 * @param {number[]} values
 * @param {number} [scale]
 * @returns {{ target: number, duration: string }[]}
 */
export function stagesFromWorkload(values, scale = 1) {
  return values.map((value) => ({ target: Math.round(value * scale), duration: '1s' }))
}
