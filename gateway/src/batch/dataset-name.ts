/**
 * A dataset is named by its folder, but a name is never a path: one segment of letters, digits, `.`, `_` and `-`,
 * starting with a letter or digit (so never `.`, `..`, a hidden folder, a separator or an option-like `-x`).
 * The route's schema and the catalogue check the same pattern; the catalogue then looks the name up in a listing.
 */
export const DATASET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'

const DATASET_NAME = new RegExp(DATASET_NAME_PATTERN)

export function isDatasetName(name: string): boolean {
  return DATASET_NAME.test(name)
}
