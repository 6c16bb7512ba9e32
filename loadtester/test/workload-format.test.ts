import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parseWorkload, stagesFromWorkload, WorkloadFormatError } from '../src/workload-file.ts'

describe('workload file format', () => {
  const good: [string, string, number[]][] = [
    ['one line', '7 7 8 20', [7, 7, 8, 20]],
    ['one per line, trailing newline', '7\n7\n8\n', [7, 7, 8]],
    ['tabs, CRLF and blank lines', '1\t2\r\n\r\n3  4\r\n', [1, 2, 3, 4]],
    ['comments', '# header\n5 6 # inline\n#7\n8', [5, 6, 8]],
    ['zeros are seconds without requests', '0 0 3', [0, 0, 3]],
  ]
  for (const [name, text, expected] of good) test(name, () => assert.deepEqual(parseWorkload(text), expected))

  const bad: [string, string, RegExp, number, number][] = [
    ['a word', '1 2\n3 x4 5', /not a request count "x4"/, 2, 3],
    ['a negative count', '1\n  -3', /negative request count "-3"/, 2, 3],
    ['a fraction', '1 2.5', /non-integer request count "2.5"/, 1, 3],
    ['a comma-separated list', '1,2,3', /not a request count "1,2,3"/, 1, 1],
    ['nothing but comments', '# only a comment\n\n', /empty workload/, 1, 1],
    ['an empty file', '', /empty workload/, 1, 1],
  ]
  for (const [name, text, message, line, column] of bad) {
    test(`refuses ${name}, naming line and column`, () => {
      assert.throws(
        () => parseWorkload(text),
        (error: unknown) =>
          error instanceof WorkloadFormatError &&
          message.test(error.message) &&
          error.line === line &&
          error.column === column &&
          error.message.includes(`line ${line}, column ${column}`),
      )
    })
  }

  test('property: any whitespace layout of the same integers parses to the same list', () => {
    const whitespace = fc
      .array(fc.constantFrom(' ', '\t', '\n', '\r\n'), { minLength: 1, maxLength: 3 })
      .map((ws) => ws.join(''))
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 50 }),
        fc.infiniteStream(whitespace),
        fc.boolean(),
        (values, separators, trailing) => {
          const text = values.map((v) => `${v}${separators.next().value}`).join('') + (trailing ? '\n' : '')
          assert.deepEqual(parseWorkload(text), values)
          assert.deepEqual(parseWorkload(values.join(' ')), values)
          assert.deepEqual(parseWorkload(values.join('\n')), values)
        },
      ),
    )
  })

  test('k6 stages are one per second, equal to the (scaled) values', () => {
    assert.deepEqual(stagesFromWorkload([7, 0, 20]), [
      { target: 7, duration: '1s' },
      { target: 0, duration: '1s' },
      { target: 20, duration: '1s' },
    ])
    assert.deepEqual(
      stagesFromWorkload([7, 20], 10).map((s) => s.target),
      [70, 200],
    )
  })
})
