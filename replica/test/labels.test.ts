import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sampleImages } from '../../common/sample-images.ts'
import { loadImagenetClasses } from '../src/labels.ts'

test('class i is the i-th sample image in name order (<synset>_<label>.JPEG)', () => {
  const classes = loadImagenetClasses()
  const images = sampleImages()
  assert.equal(classes.length, 1000)
  assert.equal(images.length, 1000)
  for (const [i, image] of images.entries()) {
    const klass = classes[i]!
    assert.equal(image.name, `${klass.synset}_${klass.label.replaceAll(' ', '_')}.JPEG`)
  }
  assert.deepEqual(classes[0], { synset: 'n01440764', label: 'tench' })
  assert.deepEqual(classes[999], { synset: 'n15075141', label: 'toilet tissue' })
})
