export declare class WorkloadFormatError extends Error {
  readonly line: number
  readonly column: number
  constructor(message: string, line: number, column: number)
}
export declare function parseWorkload(text: string): number[]
export declare function stagesFromWorkload(values: number[], scale?: number): { target: number; duration: string }[]
