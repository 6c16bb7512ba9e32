import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { SAMPLE_IMAGES_DIR } from '../sample-images.ts'

test('the sample images are looked for in ../shared beside the repository root, wherever this module lives', () => {
  // Tests that need the images skip without them, so a wrong path would silently skip them all.
  const root = fileURLToPath(new URL('../../', import.meta.url))
  assert.equal(SAMPLE_IMAGES_DIR, join(root, '..', 'shared', 'images', 'imagenet-sample'))
})
